"""The ASIC target: liberty-mapped area, SRAM macro estimates, OpenSTA timing, area by block.

Pieces of the ``--target asic`` flow (:func:`accelgen.synth.flow.run_synth` drives it):

* the liberty: the default OSU 0.18 um standard cells of Debian's ``qflow-tech-osu018``, found
  at run time with ``dpkg-query``, or any user file; :func:`read_liberty` checks it before any
  tool starts (readable, a ``library`` group, cells with ``area``, at least one ``ff`` cell);
* the memories kept as macros (:mod:`accelgen.hdl.macros`): their area from the per-bit SRAM
  model :func:`macro_area_um2` (an estimate), and a liberty of them (:func:`macro_liberty`,
  area plus an assumed access / setup time) so that OpenSTA times the paths through them;
* static timing with OpenSTA (:func:`sta_script`, :func:`parse_sta`) on the mapped netlist:
  worst slack, Fmax and the critical path, its registers' Python source lines from the
  netlist's ``src`` attributes;
* the area of the paper blocks (:func:`block_areas`): EIE's Table II (per PE) and DianNao's
  Table 6 layouts with the papers' figures, and the scaling of ours to the papers' processes.

SRAM area model (an estimate)
-----------------------------
``area = bits x bitcell(node) / efficiency``. Bit cells are published 6T SRAM cells: 5.59 um^2
at 180 nm (Yang et al., "A high performance 180 nm generation logic technology", IEDM 1998),
0.57 um^2 at 65 nm (Intel 65 nm 70 Mbit SRAM, 2004) and 0.346 um^2 at 45 nm (Mistry et al.,
IEDM 2007). ``efficiency`` (bit cells over macro area) is 0.75, from EIE's Table II: its 128 KB
sparse-matrix SRAM per PE takes 469,412 um^2 at 45 nm, i.e. 0.448 um^2 per bit = 0.346 / 0.77.
Small, wide buffers have far more periphery per bit (DianNao's 2 KB NBin: 26 um^2 per bit at
65 nm), so the model underestimates them.

Scaling rule (an estimate)
--------------------------
Standard-cell logic area scales with the square of the feature size (``(45/180)^2`` to 45 nm,
``(65/180)^2`` to 65 nm); macro area is recomputed with the target node's bit cell. Neither
covers wires, clock tree, filler cells or the libraries' different cell architectures.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import SynthError

__all__ = [
    "BITCELL_UM2",
    "DEFAULT_LIBERTY",
    "DIANNAO_TABLE6",
    "EIE_TABLE2",
    "LibertyInfo",
    "block_areas",
    "default_liberty",
    "macro_area_um2",
    "macro_liberty",
    "parse_sta",
    "read_liberty",
    "sta_script",
]

DEFAULT_LIBERTY = "osu018_stdcells.lib"
DEFAULT_LIBERTY_PACKAGE = "qflow-tech-osu018"
DEFAULT_PROCESS_NM = 180

# 6T SRAM bit cell (um^2) per process node (nm); sources in the module docstring.
BITCELL_UM2 = {180: 5.59, 65: 0.57, 45: 0.346}
SRAM_EFFICIENCY = 0.75
# Assumed timing of a macro (no SRAM compiler here): clock-to-data of a read, setup of the
# inputs, in ns at 180 nm, scaled linearly with the node. A placeholder, reported as such.
MACRO_ACCESS_NS = 2.0
MACRO_SETUP_NS = 0.3

# EIE (Han et al., ISCA 2016) Table II: one PE at 45 nm, area in um^2 (docs/papers.md).
EIE_TABLE2 = {
    "process_nm": 45,
    "total": 638024,
    "by_type": {
        "memory": 594786,
        "clock network": 866,
        "register": 9465,
        "combinational": 8946,
        "filler cell": 23961,
    },
    "by_block": {
        "activation queue": 758,
        "pointer read": 121849,
        "sparse-matrix read": 469412,
        "arithmetic": 3110,
        "activation R/W": 18934,
        "filler cell": 23961,
    },
}
# DianNao (Chen et al., ASPLOS 2014) Table 6: the accelerator at 65 nm, area in um^2
# (docs/papers.md).
DIANNAO_TABLE6 = {
    "process_nm": 65,
    "total": 3023077,
    "by_type": {
        "combinational": 608842,
        "memory": 1158000,
        "registers": 375882,
        "clock network": 68721,
        "filler cell": 811632,
    },
    "by_block": {
        "SB": 1153814,
        "NBin": 427992,
        "NBout": 433906,
        "NFU": 846563,
        "CP": 141809,
        "AXIMUX": 9767,
        "other": 9226,
    },
}


class LibertyError(ValueError):
    """A liberty file that cannot be used (one line naming the file and the problem)."""


@dataclass(frozen=True)
class LibertyInfo:
    """A checked liberty: its library name, cell count, flip-flop cells, and the smallest
    buffer with its input capacitance (ABC's driving cell and load for buffering), if any."""

    path: Path
    name: str
    cells: int
    ff_cells: tuple[str, ...]
    buffer: str | None = None
    buffer_cap: float | None = None

    def abc_constraints(self) -> str | None:
        """``abc -constr`` text: inputs driven by the buffer, outputs loaded by four of them
        (without it ABC neither buffers nor sizes, and a register's fan-out of hundreds is one
        minimum-size gate's load)."""
        if self.buffer is None:
            return None
        load = 4 * (self.buffer_cap or 0.0025)
        return f"set_driving_cell {self.buffer}\nset_load {load:g}\n"


def default_liberty() -> Path | None:
    """The installed ``osu018_stdcells.lib`` of Debian's qflow-tech-osu018 (None if absent)."""
    if shutil.which("dpkg-query") is None:
        return None
    try:
        files = subprocess.run(
            ["dpkg-query", "-L", DEFAULT_LIBERTY_PACKAGE],
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout.splitlines()
    except (OSError, subprocess.SubprocessError):
        return None
    for f in files:
        if f.endswith("/" + DEFAULT_LIBERTY) and Path(f).is_file():
            return Path(f)
    return None


_CELL = re.compile(r"^\s*cell\s*\(\s*\"?([^\s\")]+)\"?\s*\)\s*\{", re.M)
_FF = re.compile(r"^\s*ff\s*\(", re.M)
_INPUT = re.compile(r"direction\s*:\s*input", re.M)
_FUNC = re.compile(r"function\s*:\s*\"\s*\(?\s*([A-Za-z_]\w*)\s*\)?\s*\"")
_AREA = re.compile(r"\barea\s*:\s*([0-9.eE+-]+)")
_CAP = re.compile(r"\bcapacitance\s*:\s*([0-9.eE+-]+)")
_LIB = re.compile(r"^\s*library\s*\(\s*\"?([^\s\")]+)\"?\s*\)", re.M)


def read_liberty(path: str | Path) -> LibertyInfo:
    """Check a liberty file; raises :class:`LibertyError` with a one-line reason."""
    p = Path(path)
    if not p.is_file():
        raise LibertyError(f"liberty file {str(path)!r} does not exist")
    try:
        text = p.read_text(errors="replace")
    except OSError as e:
        raise LibertyError(f"liberty file {str(path)!r} cannot be read: {e.strerror}") from None
    lib = _LIB.search(text)
    cells = list(_CELL.finditer(text))
    if lib is None or not cells:
        raise LibertyError(f"{str(path)!r} is not a liberty file (no library group with cells)")
    ffs = []
    buffers = []
    for i, c in enumerate(cells):
        end = cells[i + 1].start() if i + 1 < len(cells) else len(text)
        body = text[c.end() : end]
        if _FF.search(body):
            ffs.append(c[1])
        elif len(_INPUT.findall(body)) == 1 and _FUNC.search(body) and "clock" not in body:
            area, cap = _AREA.search(body), _CAP.search(body)
            if area:
                buffers.append((float(area[1]), c[1], float(cap[1]) if cap else None))
    if not ffs:
        raise LibertyError(
            f"liberty {str(path)!r} has no flip-flop cell (no ff group): the registers cannot "
            "be mapped"
        )
    if "area" not in text:
        raise LibertyError(f"liberty {str(path)!r} gives no cell area")
    # a one-input cell whose function is its input (not an inverter: "!A" does not match)
    buf = min(buffers) if buffers else None
    return LibertyInfo(
        path=p,
        name=lib[1],
        cells=len(cells),
        ff_cells=tuple(ffs),
        buffer=buf[1] if buf else None,
        buffer_cap=buf[2] if buf else None,
    )


def macro_area_um2(bits: int, node_nm: int) -> float:
    """Estimated area of an SRAM macro of ``bits`` bits at ``node_nm`` (see the docstring)."""
    return bits * bitcell_um2(node_nm) / SRAM_EFFICIENCY


def _timing(related: str, kind: str, value: float) -> list[str]:
    if kind == "setup_rising":
        tables = ("rise_constraint", "fall_constraint")
    else:
        tables = ("cell_rise", "cell_fall", "rise_transition", "fall_transition")
    out = [
        "      timing () {",
        f'        related_pin : "{related}";',
        f"        timing_type : {kind};",
    ]
    for t in tables:
        v = 0.1 if "transition" in t else value
        out.append(f'        {t} (scalar) {{ values ("{v:.3f}"); }}')
    out.append("      }")
    return out


def macro_liberty(shapes, node_nm: int) -> str:
    """A liberty of the RAM macros (``MacroShape`` items): estimated area and assumed timing.

    Multi-bit ports are liberty buses (one ``type`` per width), so OpenSTA connects them to the
    netlist's vector ports; the delays are scalar (no slew or load dependence).
    """
    scale = node_nm / DEFAULT_PROCESS_NM
    access, setup = MACRO_ACCESS_NS * scale, MACRO_SETUP_NS * scale
    lines = [
        "library (accelgen_macros) {",
        "  delay_model : table_lookup;",
        '  time_unit : "1ns";',
        '  voltage_unit : "1V";',
        '  current_unit : "1uA";',
        "  capacitive_load_unit (1,pf);",
        '  leakage_power_unit : "1nW";',
        '  pulling_resistance_unit : "1kohm";',
    ]
    for edge in ("rise", "fall"):
        lines += [
            f"  input_threshold_pct_{edge} : 50;",
            f"  output_threshold_pct_{edge} : 50;",
            f"  slew_lower_threshold_pct_{edge} : 20;",
            f"  slew_upper_threshold_pct_{edge} : 80;",
        ]
    widths = sorted({w for s in shapes for w in (s.addr_bits, s.width, s.lanes) if w > 1})
    for w in widths:
        lines.append(
            f"  type (bus{w}) {{ base_type : array; data_type : bit; bit_width : {w}; "
            f"bit_from : {w - 1}; bit_to : 0; downto : true; }}"
        )
    for s in shapes:
        lines += [
            f"  cell ({s.name}) {{",
            f"    area : {macro_area_um2(s.bits, node_nm):.1f};",
            "    dont_use : true;",
            "    pin (clk) { direction : input; clock : true; capacitance : 0.01; }",
        ]
        setup_arc = _timing("clk", "setup_rising", setup)
        for i in range(s.read_ports):
            lines += _port(f"r{i}_en", 1, "input", setup_arc)
            lines += _port(f"r{i}_addr", s.addr_bits, "input", setup_arc)
        for j in range(s.write_ports):
            lines += _port(f"w{j}_en", s.lanes, "input", setup_arc)
            lines += _port(f"w{j}_addr", s.addr_bits, "input", setup_arc)
            lines += _port(f"w{j}_data", s.width, "input", setup_arc)
        for i in range(s.read_ports):
            if s.async_read:
                arcs = _timing(f"r{i}_addr", "combinational", access)
            else:
                arcs = _timing("clk", "rising_edge", access)
            lines += _port(f"r{i}_data", s.width, "output", arcs)
        lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _port(name: str, width: int, direction: str, arcs: list[str]) -> list[str]:
    cap = " capacitance : 0.01;" if direction == "input" else ""
    head = f"    pin ({name}) {{" if width == 1 else f"    bus ({name}) {{ bus_type : bus{width};"
    return [head, f"      direction : {direction};{cap}", *arcs, "    }"]


def sta_script(top: str, period_ns: float, libs: list[str], netlist: str) -> str:
    """OpenSTA commands: read, link, constrain ``clk``, report the worst path and slack."""
    lines = [f"read_liberty {lib}" for lib in libs]
    lines += [
        f"read_verilog {netlist}",
        f"link_design {top}",
        f"create_clock -name clk -period {period_ns:g} [get_ports clk]",
        "set_input_delay 0 -clock clk [delete_from_list [all_inputs] [get_ports clk]]",
        "set_output_delay 0 -clock clk [all_outputs]",
        'puts "ACCELGEN-PATH-BEGIN"',
        "report_checks -path_delay max -fields {fanout} -digits 3",
        'puts "ACCELGEN-PATH-END"',
        "report_wns",
        "report_tns",
        "exit",
    ]
    return "\n".join(lines) + "\n"


_SLACK = re.compile(r"^\s*(-?[0-9.]+)\s+slack \((MET|VIOLATED)\)", re.M)
_ARRIVAL = re.compile(r"^\s*(-?[0-9.]+)\s+data arrival time", re.M)
_POINT = re.compile(r"^(Startpoint|Endpoint): (\S+)", re.M)
_STEP = re.compile(r"^\s*(?:\d+\s+)?(-?[0-9.]+)\s+(-?[0-9.]+)\s+[v^]\s+(\S+)\s+\((\S+)\)\s*$")


def parse_sta(text: str, period_ns: float) -> dict[str, Any]:
    """Worst slack, Fmax and the critical path from :func:`sta_script`'s output."""
    if "ACCELGEN-PATH-BEGIN" not in text:
        raise ValueError("OpenSTA printed no path report")
    body = text.split("ACCELGEN-PATH-BEGIN", 1)[1].split("ACCELGEN-PATH-END", 1)[0]
    slack = _SLACK.search(body)
    if slack is None:
        raise ValueError("OpenSTA found no constrained path (is there a register on clk?)")
    points = dict(_POINT.findall(body))
    arrival = _ARRIVAL.search(body)
    steps = []
    for line in body.splitlines():
        m = _STEP.match(line)
        if m and "/" in m[3]:
            steps.append({"pin": m[3], "cell_type": m[4], "delay_ns": float(m[1])})
    worst = float(slack[1])
    delay = period_ns - worst
    return {
        "period_ns": period_ns,
        "wns_ns": min(0.0, worst),
        "worst_slack_ns": worst,
        "met": worst >= 0,
        "fmax_mhz": round(1000.0 / delay, 2) if delay > 0 else None,
        "start": points.get("Startpoint"),
        "end": points.get("Endpoint"),
        "arrival_ns": float(arrival[1]) if arrival else None,
        "cells": [s for s in steps if s["cell_type"] not in ("in", "out")],
    }


def _instances(netlist: dict, top: str) -> dict[str, dict]:
    """``{hierarchical instance path (OpenSTA's '/' form): cell}`` of a Yosys JSON netlist."""
    modules = netlist.get("modules", {})
    found: dict[str, dict] = {}

    def walk(module: str, prefix: str) -> None:
        for name, cell in modules.get(module, {}).get("cells", {}).items():
            path = prefix + name
            found[path] = cell
            if cell["type"] in modules:
                walk(cell["type"], path + "/")

    walk(top, "")
    return found


def path_sources(netlist_json: Path, top: str, sta: dict[str, Any]) -> list[dict[str, str]]:
    """The Python source lines of the critical path's registers and cells (``src``
    attributes survive on the flip-flops; ABC's gates carry none)."""
    try:
        netlist = json.loads(netlist_json.read_text())
    except (OSError, ValueError):
        return []
    cells = _instances(netlist, top)
    wanted = [sta.get("start"), *[s["pin"].rsplit("/", 1)[0] for s in sta["cells"]]]
    wanted.append(sta.get("end"))
    out: list[dict[str, str]] = []
    seen = set()
    for inst in wanted:
        if not inst or inst not in cells:
            continue
        src = cells[inst].get("attributes", {}).get("src")
        if not src:
            continue
        for s in src.split("|"):
            if s not in seen:
                seen.add(s)
                out.append({"instance": inst, "src": s})
    return out


OUTSIDE_PES = "outside the PEs (top, CCU)"

# Paper blocks: (block, patterns on the hierarchical module names of the design).
EIE_BLOCKS = (
    ("activation queue", r"\.queue$"),
    ("pointer read", r"\.pointer$"),
    ("sparse-matrix read", r"\.spmat$"),
    ("arithmetic", r"\.arith$"),
    ("activation R/W", r"\.actrw$"),
)
DIANNAO_BLOCKS = (
    ("NBin", r"\.nbin$"),
    ("NBout", r"\.nbout$"),
    ("SB", r"\.sb$"),
    ("NFU", r"\.nfu$"),
    ("CP", r"\.cp$"),
)


def module_areas(stat: dict, key: str = "area") -> dict[str, float]:
    """``{module: own area}`` from ``stat -json -liberty``, without its submodules.

    Yosys' per-module ``area`` (and ``sequential_area``, with ``key``) includes the area of
    the submodule instances (``num_cells_by_type`` counts them by module name); they are
    subtracted here, so the values add up to the design's total.
    """
    mods = {name.lstrip("\\"): m for name, m in stat["modules"].items()}
    out = {}
    for name, m in mods.items():
        subs = sum(
            int(n) * float(mods[t.lstrip("\\")].get(key, 0.0))
            for t, n in m.get("num_cells_by_type", {}).items()
            if t.lstrip("\\") in mods
        )
        out[name] = float(m.get(key, 0.0)) - subs
    return out


def bitcell_um2(node_nm: int) -> float:
    """The 6T bit cell at ``node_nm``: published (180, 65, 45 nm) or 170 F^2 otherwise (the
    published 180 and 45 nm cells are 172 and 171 F^2)."""
    return BITCELL_UM2.get(node_nm, 170 * (node_nm / 1000) ** 2)


def block_areas(
    design: str,
    modules: dict[str, float],
    macros: list[dict[str, Any]],
    node_nm: int,
    registers: dict[str, float] | None = None,
) -> dict[str, Any] | None:
    """Area by paper block (logic from the mapped modules, memory from the macro model).

    ``modules``: ``{hierarchical module name: own cell area}``; ``macros``: the report's macro
    list (``path``, ``area_um2``). Each module or macro counts toward the first block whose
    pattern matches it or one of its parents; the rest is "other". Returns ``None`` for designs
    without a paper table.
    """
    if design == "eie":
        blocks, paper, per = EIE_BLOCKS, EIE_TABLE2, "pe"
    elif design == "diannao":
        blocks, paper, per = DIANNAO_BLOCKS, DIANNAO_TABLE6, "core"
    else:
        return None

    # EIE: what the PE holds besides the five blocks (bias and counter memories, span FIFO,
    # per-PE registers), and what is outside the PEs (the top's host interface, descriptors,
    # codebooks and counters; the CCU), which Table II (one PE) does not include
    extra = (("PE, other", r"\.pe\d+$"), (OUTSIDE_PES, r".")) if design == "eie" else ()

    def block_of(name: str) -> str:
        parts = name.split(".")
        prefixes = [".".join(parts[:k]) for k in range(len(parts), 0, -1)]
        for p in prefixes:  # the innermost paper block
            for block, pattern in blocks:
                if re.search(pattern, p):
                    return block
        for block, pattern in extra:  # else the first catch-all that matches
            if any(re.search(pattern, p) for p in prefixes):
                return block
        return "other"

    names = [b for b, _ in blocks] + ([b for b, _ in extra] if extra else ["other"])
    rows: dict[str, dict[str, float]] = {b: {"logic": 0.0, "memory": 0.0} for b in names}
    for name, area in modules.items():
        rows[block_of(name)]["logic"] += area
    for m in macros:
        rows[block_of(m["module"] + "." + m["name"])]["memory"] += m["area_um2"]
    n_pes = 1
    if design == "eie":
        n_pes = max(1, len({re.search(r"\.pe(\d+)", n)[1] for n in modules if ".pe" in n}))
    scale_to = paper["process_nm"]
    logic_scale = (scale_to / node_nm) ** 2
    mem_scale = bitcell_um2(scale_to) / bitcell_um2(node_nm)
    out_rows = []
    div = n_pes if per == "pe" else 1
    for block, a in rows.items():
        scaled = (a["logic"] * logic_scale + a["memory"] * mem_scale) / div
        out_rows.append(
            {
                "block": block,
                "logic_um2": round(a["logic"], 1),
                "memory_um2": round(a["memory"], 1),
                "total_um2": round(a["logic"] + a["memory"], 1),
                f"per_{per}_scaled_um2": None if block == OUTSIDE_PES else round(scaled, 1),
                "paper_um2": paper["by_block"].get(block),
            }
        )
    # by type, as in the papers' tables: the PEs (EIE, per PE) or the core, scaled
    regs = registers or {}
    inside = [n for n in modules if block_of(n) != OUTSIDE_PES]
    reg_area = sum(regs.get(n, 0.0) for n in inside)
    logic_area = sum(modules[n] for n in inside)
    mem_area = sum(
        m["area_um2"] for m in macros if block_of(m["module"] + "." + m["name"]) != OUTSIDE_PES
    )
    by_type = {
        "memory": round(mem_area * mem_scale / div, 1),
        "registers": round(reg_area * logic_scale / div, 1),
        "combinational": round((logic_area - reg_area) * logic_scale / div, 1),
    }
    if design == "eie":
        pe = [r for r in out_rows if r["block"] != OUTSIDE_PES]
        out_rows.append(
            {
                "block": "PE total",
                "logic_um2": round(sum(r["logic_um2"] for r in pe), 1),
                "memory_um2": round(sum(r["memory_um2"] for r in pe), 1),
                "total_um2": round(sum(r["total_um2"] for r in pe), 1),
                "per_pe_scaled_um2": round(sum(r["per_pe_scaled_um2"] for r in pe), 1),
                "paper_um2": paper["total"],
            }
        )
    return {
        "table": "EIE Table II (one PE)" if design == "eie" else "DianNao Table 6",
        "paper_process_nm": scale_to,
        "per": per,
        "n_pes": n_pes if design == "eie" else None,
        "rows": out_rows,
        "by_type_scaled_um2": by_type,
        "paper": paper,
        "scaling": f"logic x ({scale_to}/{node_nm})^2, memory at the {scale_to} nm bit cell "
        f"({bitcell_um2(scale_to)} um^2); an estimate",
    }


def _macro_rows(top: str, uses, node_nm: int) -> list[dict[str, Any]]:
    rows = []
    for u in uses:
        module, _, name = u.path.rpartition(".")
        rows.append(
            {
                "path": u.path,
                "module": f"{top}.{module}" if module else top,
                "name": name,
                "macro": u.shape.name,
                "depth": u.shape.depth,
                "width": u.shape.width,
                "bits": u.shape.bits,
                "area_um2": round(macro_area_um2(u.shape.bits, node_nm), 1),
            }
        )
    return rows


def build_report(
    out: Path,
    *,
    design: str,
    top: str,
    synth,
    liberty: LibertyInfo,
    macro_uses,
    wrapper_bits: int,
    data_bits: int,
    design_config: dict | None,
    times: dict[str, float],
    tools: dict[str, str],
    wrapper_top: str = "synth_top",
) -> dict[str, Any]:
    """The report of an ``asic`` run in ``out`` (``stat.json``, ``sta.log``, ``netlist.json``).

    Keys: ``area`` (logic cell area of the design and of the I/O wrapper, macro estimate,
    total), ``modules`` (own cell area per module), ``macros``, ``blocks`` (the paper table),
    ``timing`` (OpenSTA: worst slack, Fmax, critical path with source lines), ``checks``.
    """
    from .report import _inventory, _statements

    out = Path(out)
    stat = json.loads((out / "stat.json").read_text())
    modules = module_areas(stat)
    wrapper_area = modules.pop(wrapper_top, 0.0)
    macro_names = {u.shape.name for u in macro_uses}
    for name in macro_names:
        modules.pop(name, None)
    cells: dict[str, int] = {}
    for name, m in stat["modules"].items():
        if name.lstrip("\\") in macro_names or name.lstrip("\\") == wrapper_top:
            continue
        for t, n in m.get("num_cells_by_type", {}).items():
            if t.lstrip("\\") in modules or t.lstrip("\\") == top or t in macro_names:
                continue  # a submodule instance, counted in its own module
            cells[t] = cells.get(t, 0) + int(n)
    ffs = sum(n for t, n in cells.items() if t in liberty.ff_cells)
    macros = _macro_rows(top, macro_uses, synth.process_nm)
    logic = sum(modules.values())
    memory = sum(m["area_um2"] for m in macros)
    seq = module_areas(stat, "sequential_area")
    registers = sum(seq.get(name, 0.0) for name in modules)
    sta_text = (out / "sta.log").read_text(errors="replace") if (out / "sta.log").exists() else ""
    # an error (a netlist line it cannot parse, a liberty it rejects) makes the timing wrong
    errors = [ln for ln in sta_text.splitlines() if ln.startswith("Error")]
    if errors:
        raise SynthError(f"OpenSTA: {errors[0]} (in {out / 'sta.log'})")
    try:
        sta = parse_sta(sta_text, synth.period_ns)
    except ValueError as e:
        raise SynthError(f"OpenSTA: {e} (in {out / 'sta.log'})") from None
    sources = path_sources(out / "netlist.json", wrapper_top, sta)
    statements = _statements(out, [s["src"] for s in sources])
    timing = {
        **sta,
        "goal_mhz": round(1000.0 / synth.period_ns, 2),
        "statements": statements,
        "macro_timing": f"assumed: access {MACRO_ACCESS_NS * synth.process_nm / 180:.2f} ns, "
        f"setup {MACRO_SETUP_NS * synth.process_nm / 180:.2f} ns (no SRAM compiler; a "
        "placeholder)"
        if macros
        else None,
    }
    _, mems = _inventory(out / "inventory.json")
    report: dict[str, Any] = {
        "design": design,
        "top": top,
        "target": "asic",
        "device": liberty.name,
        "package": "",
        "liberty": {"name": liberty.name, "path": str(liberty.path), "cells": liberty.cells},
        "process_nm": synth.process_nm,
        "memories_mode": synth.memories,
        "io_mode": "parallel",
        "port_bits": data_bits,
        "design_config": design_config,
        "tools": tools,
        "area": {
            "logic_um2": round(logic, 1),
            "macros_um2": round(memory, 1),
            "total_um2": round(logic + memory, 1),
            "wrapper_um2": round(wrapper_area, 1),
            "register_um2": round(registers, 1),
            "combinational_um2": round(logic - registers, 1),
            "macro_model": f"{bitcell_um2(synth.process_nm)} um^2 per bit cell / "
            f"{SRAM_EFFICIENCY} array efficiency (an estimate)",
        },
        "resources": {
            "cells": sum(cells.values()),
            "ff": ffs,
            "area_um2": round(logic, 1),
            "macros": len(macros),
            "wrapper_ffs": wrapper_bits,
        },
        "cells": dict(sorted(cells.items())),
        "modules": {k: round(v, 1) for k, v in sorted(modules.items())},
        "macros": macros,
        "memories": mems,
        "multipliers": [],
        "blocks": block_areas(
            design,
            modules,
            macros,
            synth.process_nm,
            seq,
        ),
        "timing": timing,
        "checks": {
            "fmax": {
                "ok": sta["met"],
                "detail": f"worst slack {sta['worst_slack_ns']:.3f} ns at a "
                f"{synth.period_ns:g} ns clock (Fmax {sta['fmax_mhz']} MHz)",
            }
        },
        "tool_seconds": {k: round(v, 1) for k, v in times.items()},
    }
    return report


def _um2(v: float | None) -> str:
    return "-" if v is None else f"{v:,.0f}"


def to_markdown(report: dict[str, Any]) -> str:
    """The ``report.md`` of an ``asic`` run."""
    a, t = report["area"], report["timing"]
    lib = report["liberty"]
    mem = {"macros": "RAM macros (area: SRAM model)", "flops": "flip-flops (inferred)"}
    if not report["macros"] and report["memories_mode"] == "macros":
        mem["macros"] = "RAM macros (the design has no memory)"
    rows = [
        ("liberty", f"{lib['name']} ({lib['cells']} cells), {report['process_nm']} nm"),
        ("memories", mem[report["memories_mode"]]),
        ("standard-cell area (um^2)", _um2(a["logic_um2"])),
        ("RAM macro area (um^2, estimate)", _um2(a["macros_um2"]) if report["macros"] else "-"),
        ("total (um^2)", _um2(a["total_um2"])),
        ("flip-flops", str(report["resources"]["ff"])),
        ("I/O wrapper (um^2, not in the total)", _um2(a["wrapper_um2"])),
        ("clock", f"{t['period_ns']:g} ns ({t['goal_mhz']} MHz)"),
        ("worst slack (OpenSTA)", f"{t['worst_slack_ns']:.3f} ns"),
        ("Fmax (OpenSTA)", f"{t['fmax_mhz']} MHz"),
    ]
    lines = [
        f"# ASIC synthesis of `{report['top']}` ({report['design']})",
        "",
        "| quantity | value |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in rows],
        "",
    ]
    b = report.get("blocks")
    if b:
        per = "per PE" if b["per"] == "pe" else "whole core"
        nm = b["paper_process_nm"]
        lines += [
            f"## Area by block, beside {b['table']}",
            "",
            f"Ours: {report['process_nm']} nm standard cells and macro estimate; scaled to "
            f"{nm} nm ({per}): {b['scaling']}. Paper: {nm} nm, after layout.",
            "",
            f"| block | logic um^2 | memory um^2 | total um^2 | scaled to {nm} nm, {per} "
            f"| paper um^2 ({nm} nm) |",
            "|---|---|---|---|---|---|",
        ]
        for r in b["rows"]:
            scaled = r.get("per_pe_scaled_um2", r.get("per_core_scaled_um2"))
            lines.append(
                f"| {r['block']} | {_um2(r['logic_um2'])} | {_um2(r['memory_um2'])} | "
                f"{_um2(r['total_um2'])} | {_um2(scaled)} | {_um2(r['paper_um2'])} |"
            )
        paper = b["paper"]
        mem_share = paper["by_type"]["memory"] / paper["total"]
        ours = a["macros_um2"] / a["total_um2"] if a["total_um2"] else 0.0
        if b["per"] != "pe":
            lines.append(
                f"| total | {_um2(a['logic_um2'])} | {_um2(a['macros_um2'])} | "
                f"{_um2(a['total_um2'])} | | {_um2(paper['total'])} |"
            )
        else:
            pe = b["rows"][-1]
            ours = pe["memory_um2"] / pe["total_um2"] if pe["total_um2"] else 0.0
        by_type = paper["by_type"]
        ours_t = b["by_type_scaled_um2"]
        regs = by_type.get("register", by_type.get("registers"))
        lines += [
            "",
            f"By type, as in the paper's table ({per}, scaled to {nm} nm as above):",
            "",
            f"| type | ours um^2 ({nm} nm, estimate) | paper um^2 |",
            "|---|---|---|",
            f"| memory | {_um2(ours_t['memory'])} | {_um2(by_type['memory'])} |",
            f"| registers | {_um2(ours_t['registers'])} | {_um2(regs)} |",
            f"| combinational | {_um2(ours_t['combinational'])} | "
            f"{_um2(by_type['combinational'])} |",
            f"| clock network | - | {_um2(by_type['clock network'])} |",
            f"| filler cells | - | {_um2(by_type['filler cell'])} |",
        ]
        extra = ", filler cells " + _um2(paper["by_type"]["filler cell"])
        lines += [
            "",
            f"Memory share{' of the PEs' if b['per'] == 'pe' else ''}: ours {ours:.1%}, paper "
            f"{mem_share:.1%}. The paper's totals include clock network and filler cells "
            f"(paper: clock {_um2(paper['by_type']['clock network'])}{extra}); ours has "
            "neither (no placement).",
            "",
        ]
    lines += [
        "## Critical path (OpenSTA)",
        f"`{t['start']}` -> `{t['end']}`: arrival {t['arrival_ns']} ns, "
        f"{len(t['cells'])} cells, slack {t['worst_slack_ns']:.3f} ns.",
    ]
    if t.get("macro_timing"):
        lines.append(f"RAM macro timing {t['macro_timing']}.")
    if t["statements"]:
        lines += ["", "| # | module or file | statement | source |", "|---|---|---|---|"]
        for i, st in enumerate(t["statements"], 1):
            text = st["statement"].replace("|", "\\|")
            lines.append(f"| {i} | `{st['module']}` | `{text}` | {st['source']} |")
    if report["macros"]:
        lines += [
            "",
            "## RAM macros",
            "| memory | macro | words x bits | area um^2 (estimate) |",
            "|---|---|---|---|",
        ]
        for m in report["macros"]:
            lines.append(
                f"| {m['path']} | `{m['macro']}` | {m['depth']} x {m['width']} | "
                f"{_um2(m['area_um2'])} |"
            )
    return "\n".join(lines) + "\n"
