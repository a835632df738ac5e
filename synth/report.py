"""Turn Yosys' ``stat -json``, the RTL inventory and nextpnr's ``--report`` into one report.

:func:`build_report` reads the files a :func:`accelgen.synth.flow.run_synth` run left in its
directory and returns a JSON-ready dict; :func:`write_report` writes it as ``report.json`` and a
short ``report.md``. Report keys:

``resources``
    LUT / FF / carry / BRAM / DSP / LUT-RAM counts after technology mapping (``generic``: gate
    and flip-flop counts and ``transistors``, the ``stat -tech cmos`` estimate, plus
    ``sram_transistors`` = 6 per memory bit); ``wrapper_ffs`` is the part the I/O wrapper adds.
``cells``
    Every cell type and its count.
``multipliers``, ``memories``
    The RTL ``$mul`` cells and memories before mapping, each memory with the primitive Yosys
    mapped it to (from its ``mapping memory ... via ...`` log lines; ``logic`` if none).
``checks``
    ``dsp``: every multiplier went to a DSP block (targets with DSPs); ``bram``: every memory of
    at least half a block RAM went to block RAM; ``fmax``: the clock met ``freq_mhz``. Each has
    ``ok`` (``None`` when not applicable) and a ``detail`` sentence.
``timing``
    nextpnr's Fmax per clock and the critical path (whether or not the goal is met): its start
    and end cells (and their RTL names), delay, logic levels, routing share, the RTL nets, and
    the Verilog statements it runs through, each with its module and source line.
``utilization``
    nextpnr's used / available count of the main resources.
``nextpnr``
    The place-and-route options of the run (``placer``, ``router``, ``seed``, ``freq_mhz``);
    present when nextpnr ran.
"""

from __future__ import annotations

import json
import re
import sysconfig
from pathlib import Path
from typing import Any

from accelgen.spec.textio import md_table

__all__ = [
    "CELL_CLASSES",
    "build_report",
    "critical_path_markdown",
    "critical_path_summary",
    "parse_memory_mapping",
    "to_markdown",
    "write_report",
]

# target -> resource -> cell types counted in it.
CELL_CLASSES: dict[str, dict[str, tuple[str, ...]]] = {
    "ecp5": {
        "lut": ("LUT4",),
        "ff": ("TRELLIS_FF",),
        "carry": ("CCU2C",),
        "lutram": ("TRELLIS_DPR16X4",),
        "bram": ("DP16KD", "PDPW16KD"),
        "dsp": ("MULT18X18D", "ALU54B"),
    },
    "ice40": {
        "lut": ("SB_LUT4",),
        "ff": ("SB_DFF",),  # prefix: SB_DFF, SB_DFFE, SB_DFFSR, ...
        "carry": ("SB_CARRY",),
        "bram": ("SB_RAM40_4K",),
        "spram": ("SB_SPRAM256KA",),
        "dsp": ("SB_MAC16",),
    },
    "generic": {
        "gate": (
            "$_NAND_",
            "$_NOR_",
            "$_NOT_",
            "$_AND_",
            "$_OR_",
            "$_XOR_",
            "$_XNOR_",
            "$_ANDNOT_",
            "$_ORNOT_",
            "$_MUX_",
            "$_AOI3_",
            "$_OAI3_",
            "$_AOI4_",
            "$_OAI4_",
        ),
        "ff": ("$_DFF", "$_SDFF", "$_DFFE", "$_SDFFE", "$_SDFFCE", "$_ALDFF", "$_DLATCH"),
        "memory": ("$mem_v2",),
    },
}
# Bits of one block RAM: ECP5 DP16KD 18 kbit, iCE40 SB_RAM40_4K 4 kbit.
BRAM_BITS = {"ecp5": 18432, "ice40": 4096}
# What Yosys' memory_libmap reports for a memory put in block RAM.
BRAM_PRIMITIVES = ("DP16KD", "PDPW16KD", "ICE40_RAM4K")
# nextpnr bel types worth reporting.
UTIL_BELS = {
    "ecp5": ("TRELLIS_COMB", "TRELLIS_FF", "TRELLIS_RAMW", "DP16KD", "MULT18X18D", "TRELLIS_IO"),
    "ice40": ("ICESTORM_LC", "ICESTORM_RAM", "ICESTORM_DSP", "ICESTORM_SPRAM", "SB_IO"),
}
SRAM_TRANSISTORS_PER_BIT = 6

# Net names nextpnr/Yosys derive from technology cells; the RTL names are the informative ones.
_TECH_NET = re.compile(r"_LUT4_|_CCU2C_|_TRELLIS_|\$CCU2|_PFUMX|_L6MUX|SB_CARRY|_SB_LUT4|\$abc\$")
_MAP_LINE = re.compile(r"^mapping memory (\S+) via (\S+)", re.M)
# Where the technology part of a mapped cell's name begins.
_TECH_SUFFIX = re.compile(
    r"_(?=TRELLIS_|LUT4_|CCU2C|PFUMX|L6MUX|MULT18X18D|ALU54B|DP16KD|PDPW16KD|SB_)|\$(?=CCU2|abc)"
)
# A flip-flop or pin of a mapped block RAM: ``core.pe1.actrw.rf_b.0.0_DIB4``.
_MEM_PORT = re.compile(
    r"^(?P<mem>.+?)\.\d+\.\d+_"
    r"(?P<port>(?:DI|DO|AD|WE|CE|OCE)[A-Z]?\d*|(?:[RW]DATA|[RW]ADDR|MASK)(?:_\d+)?)$"
)
_PY_SRC = re.compile(r"^(?P<file>.+\.py):(?P<line>\d+)$")
_SRC = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+)\.\d+-\d+\.\d+$")
_MODULE = re.compile(r"^\s*module\s+(\S+)\s*\(")
MAX_STATEMENTS = 16
# The repository root (the `accelgen` package's parent of hdl/, cli/, ...): Python sources on a
# critical path are shown relative to it.
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _int_param(v: Any) -> int:
    if isinstance(v, int):
        return v
    s = str(v)
    return int(s, 2) if set(s) <= {"0", "1"} else int(s)


def parse_memory_mapping(log: str) -> dict[str, str]:
    """``{memory name: primitive}`` from a Yosys log's ``mapping memory X via Y`` lines."""
    out = {}
    for mem, prim in _MAP_LINE.findall(log):
        name = mem.split(".", 1)[1] if "." in mem else mem
        out[name.lstrip("\\")] = prim.strip("$_").rstrip("_")
    return out


def _inventory(path: Path) -> tuple[list[dict], list[dict]]:
    if not path.exists():
        return [], []
    data = json.loads(path.read_text())
    muls, mems = [], []
    for module in data.get("modules", {}).values():
        for name, cell in module.get("cells", {}).items():
            p = cell.get("parameters", {})
            if cell["type"] == "$mul":
                muls.append(
                    {
                        "name": name,
                        "a_bits": _int_param(p["A_WIDTH"]),
                        "b_bits": _int_param(p["B_WIDTH"]),
                    }
                )
            elif cell["type"] == "$mem_v2":
                width, depth = _int_param(p["WIDTH"]), _int_param(p["SIZE"])
                memid = str(p.get("MEMID", name)).lstrip("\\")
                mems.append({"name": memid, "width": width, "depth": depth, "bits": width * depth})
    return muls, mems


def _stat(path: Path) -> tuple[dict[str, int], str | None]:
    data = json.loads(path.read_text())
    design = data.get("design") or next(iter(data["modules"].values()))
    cells = {k: int(v) for k, v in design.get("num_cells_by_type", {}).items()}
    cells.pop("$scopeinfo", None)
    return cells, design.get("estimated_num_transistors")


def _count(cells: dict[str, int], types: tuple[str, ...], prefix: bool) -> int:
    if prefix:
        return sum(n for t, n in cells.items() if any(t.startswith(p) for p in types))
    return sum(cells.get(t, 0) for t in types)


def _rtl_name(cell: str | None) -> str | None:
    """The RTL part of a technology cell's name (``core.pe1.arith.m_w_TRELLIS_FF_Q_11`` ->
    ``core.pe1.arith.m_w``)."""
    if cell is None:
        return None
    name = _TECH_SUFFIX.split(cell, maxsplit=1)[0] or cell
    port = _MEM_PORT.match(name)
    return f"{port['mem']} (block RAM port {port['port']})" if port else name


def _source_line(path: Path, line: int, cache: dict[Path, list[str] | None]) -> str | None:
    if path not in cache:
        cache[path] = path.read_text(errors="replace").splitlines() if path.is_file() else None
    lines = cache[path]
    if not lines or not 0 < line <= len(lines):
        return None
    return " ".join(lines[line - 1].split())[:160]


_STDLIB = tuple(str(Path(sysconfig.get_paths()[k]).resolve()) for k in ("stdlib", "platstdlib"))


def _library_source(file: str) -> bool:
    """Whether a Python source path is library code, not the design's: installed packages,
    Amaranth, the interpreter's standard library (``contextlib.py``, from the
    ``with m.If(...)`` machinery)."""
    if "site-packages" in file or "/amaranth/" in file:
        return True
    try:
        resolved = str(Path(file).resolve())
    except OSError:
        return False
    return resolved.startswith(_STDLIB)


def _statements(out: Path, sources: list[str]) -> list[dict[str, str]]:
    """Resolve a path's ``src`` attributes to source statements.

    ``/.../hdl/x.py:N`` (Amaranth's Python source attributes) become ``hdl/x.py:N`` with the
    Python line; ``top.v:L.C-L.C`` (Yosys' Verilog locations) the Verilog statement and its
    module. Yosys' techmap files and the Amaranth library are skipped.
    """
    cache: dict[Path, list[str] | None] = {}
    found = []
    for src in sources:
        py = _PY_SRC.match(src)
        if py is not None:
            if _library_source(py["file"]):
                continue
            path = Path(py["file"])
            text = _source_line(path, int(py["line"]), cache)
            if text is None:
                continue
            try:
                name = path.resolve().relative_to(PROJECT_ROOT).as_posix()
            except ValueError:
                name = path.name
            found.append({"source": f"{name}:{py['line']}", "module": name, "statement": text})
            continue
        m = _SRC.match(src)
        if m is None or "/" in m["file"]:
            continue  # Yosys' own techmap library files
        path = out / m["file"]
        i = int(m["line"])
        text = _source_line(path, i, cache)
        if text is None:
            continue
        lines = cache[path] or []
        module = next((mm[1] for ln in reversed(lines[:i]) if (mm := _MODULE.match(ln))), "?")
        found.append(
            {"source": f"{m['file']}:{i}", "module": module.lstrip("\\"), "statement": text}
        )
    return found


def _cell_sources(out: Path, cells: set[str]) -> dict[str, str]:
    """The ``src`` attributes of the named cells in the netlist nextpnr read (``synth.json``).

    nextpnr's report gives sources for nets only; the logic cells on a path (a DSP multiplier,
    a LUT) carry the Python line of the operator they implement.
    """
    try:
        netlist = json.loads((out / "synth.json").read_text())
    except (OSError, ValueError):
        return {}
    found: dict[str, str] = {}
    for module in netlist.get("modules", {}).values():
        for name, cell in module.get("cells", {}).items():
            if name in cells and "src" in cell.get("attributes", {}):
                found[name] = cell["attributes"]["src"]
    return found


def _critical_path(path: dict, out: Path) -> dict[str, Any]:
    steps = path.get("path", [])
    nets: list[str] = []
    sources: list[str] = []
    logic = {s["from"]["cell"] for s in steps if s.get("type") == "logic" and "from" in s}
    cell_src = _cell_sources(out, logic) if logic else {}
    for s in steps:
        net = s.get("net")
        if net and net not in nets and not _TECH_NET.search(net):
            nets.append(net)
        fields = list(s.get("sources", []))
        if s.get("type") == "logic" and s.get("from", {}).get("cell") in cell_src:
            fields.append(cell_src[s["from"]["cell"]])
        for field in fields:
            for src in field.split("|"):
                if src not in sources:
                    sources.append(src)
    statements = _statements(out, sources)
    delay = sum(float(s.get("delay", 0.0)) for s in steps)
    start = steps[0]["from"]["cell"] if steps else None
    end = steps[-1]["to"]["cell"] if steps else None
    modules: list[str] = []
    for st in statements:
        if st["module"] not in modules:
            modules.append(st["module"])
    return {
        "from_clock": path.get("from"),
        "to_clock": path.get("to"),
        "start": start,
        "end": end,
        "start_rtl": _rtl_name(start),
        "end_rtl": _rtl_name(end),
        "delay_ns": round(delay, 3),
        "logic_levels": sum(1 for s in steps if s.get("type") == "logic"),
        "routing_ns": round(sum(float(s["delay"]) for s in steps if s.get("type") == "routing"), 3),
        "nets": nets,
        "modules": modules,
        "statements": statements[:MAX_STATEMENTS],
        "sources": [st["source"] for st in statements][:20],
    }


def _timing(pnr: dict, freq: float, out: Path) -> dict[str, Any]:
    fmax = {
        clk: {"achieved_mhz": round(float(v["achieved"]), 2), "constraint_mhz": v["constraint"]}
        for clk, v in pnr.get("fmax", {}).items()
    }
    worst = min((v["achieved_mhz"] for v in fmax.values()), default=None)
    timing: dict[str, Any] = {"fmax": fmax, "fmax_mhz": worst, "goal_mhz": freq}
    internal = [
        p
        for p in pnr.get("critical_paths", [])
        if "<async>" not in (p.get("from"), p.get("to")) and p.get("path")
    ]
    if internal:
        worst_path = max(internal, key=lambda p: sum(float(s["delay"]) for s in p["path"]))
        timing["critical_path"] = _critical_path(worst_path, out)
    return timing


def build_report(
    out: Path,
    *,
    design: str,
    top: str,
    synth,
    io_mode: str,
    wrapper_bits: int,
    data_bits: int,
    design_config: dict | None,
    times: dict[str, float],
    unrouted: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Collect the results in directory ``out`` into a report dict (see the module docstring).

    ``synth`` is the run's :class:`~accelgen.synth.flow.SynthConfig`; ``wrapper_bits`` the
    flip-flops the I/O wrapper adds; ``data_bits`` the design's port bits (without clock and
    reset). ``unrouted`` (``placement_estimate_mhz``, ``timeout_s``, ``stopped``) describes a
    run whose routing was stopped at its time limit: the timing section then holds nextpnr's
    post-placement estimate, ``routed: false`` and no Fmax, and the Fmax check fails.
    """
    out = Path(out)
    target = synth.target
    cells, transistors = _stat(out / "stat.json")
    prefix = target != "ecp5"
    resources = {res: _count(cells, types, prefix) for res, types in CELL_CLASSES[target].items()}
    resources["wrapper_ffs"] = wrapper_bits
    resources["cells"] = sum(cells.values())
    muls, mems = _inventory(out / "inventory.json")
    log = (out / "yosys.log").read_text(errors="replace") if (out / "yosys.log").exists() else ""
    mapping = parse_memory_mapping(log)
    for mem in mems:
        mem["mapped_to"] = mapping.get(mem["name"], "macro" if target == "generic" else "logic")
    if target == "generic":
        resources["transistors"] = (
            int(str(transistors).rstrip("+")) if transistors is not None else None
        )
        resources["sram_bits"] = sum(m["bits"] for m in mems)
        resources["sram_transistors"] = SRAM_TRANSISTORS_PER_BIT * resources["sram_bits"]

    checks: dict[str, dict[str, Any]] = {}
    if synth.has_dsp:
        ok = resources["dsp"] >= len(muls)
        checks["dsp"] = {
            "ok": ok,
            "detail": f"{len(muls)} RTL multiplier(s), {resources['dsp']} DSP block(s)"
            + ("" if ok else ": some multipliers were built from LUTs"),
        }
    else:
        checks["dsp"] = {"ok": None, "detail": f"{synth.device} has no DSP blocks"}
    if synth.has_bram:
        half = BRAM_BITS[target] // 2
        big = [m for m in mems if m["bits"] >= half]
        missed = [m["name"] for m in big if m["mapped_to"] not in BRAM_PRIMITIVES]
        checks["bram"] = {
            "ok": not missed,
            "detail": (
                f"{len(big)} memory(ies) of >= {half} bits, all in block RAM"
                if not missed
                else f"not in block RAM: {', '.join(missed)}"
            ),
        }
    else:
        checks["bram"] = {"ok": None, "detail": "generic target: memories kept as macros"}

    report: dict[str, Any] = {
        "design": design,
        "top": top,
        "target": target,
        "device": synth.device,
        "package": synth.package,
        "io_mode": io_mode,
        "port_bits": data_bits,
        "design_config": design_config,
        "resources": resources,
        "cells": dict(sorted(cells.items())),
        "multipliers": muls,
        "memories": mems,
        "checks": checks,
        "tool_seconds": {k: round(v, 1) for k, v in times.items()},
    }
    pnr_path = out / "pnr.json"
    if pnr_path.exists():
        pnr = json.loads(pnr_path.read_text())
        timing = _timing(pnr, synth.freq_mhz, out)
        met = timing["fmax_mhz"] is not None and timing["fmax_mhz"] >= synth.freq_mhz
        report["timing"] = timing
        checks["fmax"] = {
            "ok": met,
            "detail": f"Fmax {timing['fmax_mhz']} MHz vs goal {synth.freq_mhz:g} MHz",
        }
        util = pnr.get("utilization", {})
        report["utilization"] = {
            bel: {"used": util[bel]["used"], "available": util[bel]["available"]}
            for bel in UTIL_BELS[target]
            if bel in util
        }
        report["fits"] = True  # nextpnr exits non-zero when the design does not fit
    elif unrouted is not None:
        estimate = unrouted["placement_estimate_mhz"]
        report["timing"] = {
            "fmax": {},
            "fmax_mhz": None,
            "goal_mhz": synth.freq_mhz,
            "routed": False,
            "placement_estimate_mhz": estimate,
            "note": f"{unrouted['stopped']}: routing did not finish within the limit; nextpnr "
            "names no critical path before routing",
        }
        checks["fmax"] = {
            "ok": False,
            "detail": f"not routed within {unrouted['timeout_s']:g} s; post-placement estimate "
            f"{estimate} MHz vs goal {synth.freq_mhz:g} MHz",
        }
        report["fits"] = True  # placement succeeded
    if "timing" in report:
        report["nextpnr"] = {
            "placer": synth.placer,
            "router": synth.router,
            "seed": synth.seed,
            "freq_mhz": synth.freq_mhz,
        }
    return report


def to_markdown(report: dict[str, Any]) -> str:
    """A short markdown summary of a report."""
    r = report["resources"]
    rows = [("target", f"{report['target']} {report['device']} {report['package']}".strip())]
    rows.append(("cells", str(r["cells"])))
    for key in ("lut", "ff", "carry", "lutram", "bram", "spram", "dsp", "gate", "memory"):
        if key in r:
            rows.append((key.upper() if key in ("lut", "ff", "dsp") else key, str(r[key])))
    rows.append(("of which I/O-wrapper FFs", str(r["wrapper_ffs"])))
    if "transistors" in r:
        rows.append(("CMOS transistors (logic, `stat -tech cmos`)", str(r["transistors"])))
        rows.append(("SRAM transistors (6T x memory bits)", str(r["sram_transistors"])))
    timing = report.get("timing")
    if timing and timing.get("routed", True):
        rows.append(("Fmax (MHz)", f"{timing['fmax_mhz']} (goal {timing['goal_mhz']:g})"))
    elif timing:
        rows.append(
            (
                "Fmax (MHz)",
                f"not routed (stopped at the time limit); post-placement estimate "
                f"{timing['placement_estimate_mhz']} (goal {timing['goal_mhz']:g})",
            )
        )
    pnr = report.get("nextpnr")
    if pnr:
        rows.append(
            ("nextpnr", f"placer {pnr['placer']}, router {pnr['router']}, seed {pnr['seed']}")
        )
    for bel, u in report.get("utilization", {}).items():
        rows.append((f"{bel} used", f"{u['used']} / {u['available']}"))
    table = md_table([{"quantity": k, "value": v} for k, v in rows])
    lines = [f"# Synthesis of `{report['top']}` ({report['design']})", "", *table, ""]
    lines.append("## Checks")
    for name, c in report["checks"].items():
        mark = {True: "pass", False: "**FAIL**", None: "n/a"}[c["ok"]]
        lines.append(f"- {name}: {mark}: {c['detail']}")
    if report["memories"]:
        lines += [
            "",
            "## Memories",
            "| memory | width x depth | bits | mapped to |",
            "|---|---|---|---|",
        ]
        for m in report["memories"]:
            lines.append(
                f"| {m['name']} | {m['width']} x {m['depth']} | {m['bits']} | {m['mapped_to']} |"
            )
    cp = (timing or {}).get("critical_path")
    if cp:
        lines += ["", *critical_path_markdown(cp, timing)]
    return "\n".join(lines) + "\n"


def critical_path_summary(cp: dict[str, Any]) -> str:
    """One line: ``start -> end: delay, levels (routing)``, with RTL names."""
    return (
        f"`{cp['start_rtl']}` -> `{cp['end_rtl']}`: {cp['delay_ns']} ns, "
        f"{cp['logic_levels']} logic levels ({cp['routing_ns']} ns routing)"
    )


def critical_path_markdown(cp: dict[str, Any], timing: dict[str, Any]) -> list[str]:
    """The report's critical-path section: the path, whether it limits the goal, and the
    statements it runs through (``hdl/*.py`` lines and Verilog statements with their module)."""
    fmax, goal = timing.get("fmax_mhz"), timing.get("goal_mhz")
    verdict = (
        f"meets the {goal:g} MHz goal"
        if fmax is not None and fmax >= goal
        else f"limits the clock to {fmax} MHz (goal {goal:g} MHz: **missed**)"
    )
    lines = [
        "## Critical path",
        f"{critical_path_summary(cp)}; {verdict}.",
        "",
        f"Cells: `{cp['start']}` -> `{cp['end']}`.",
    ]
    if cp["modules"]:
        lines += ["", "Through modules: " + " -> ".join(f"`{m}`" for m in cp["modules"]) + "."]
    if cp["statements"]:
        lines += ["", "| # | module or file | statement | source |", "|---|---|---|---|"]
        for i, st in enumerate(cp["statements"], 1):
            text = st["statement"].replace("|", "\\|")
            lines.append(f"| {i} | `{st['module']}` | `{text}` | {st['source']} |")
    if cp["nets"]:
        lines += ["", "RTL nets: " + ", ".join(f"`{n}`" for n in cp["nets"][:12])]
    return lines


def write_report(out: Path, report: dict[str, Any], markdown: str | None = None) -> None:
    """Write ``report.json`` and ``report.md`` (``markdown``, else :func:`to_markdown`) into
    ``out``, each atomically."""
    md = to_markdown(report) if markdown is None else markdown
    for name, text in (("report.json", json.dumps(report, indent=2) + "\n"), ("report.md", md)):
        tmp = Path(out, f".{name}.tmp")
        tmp.write_text(text)
        tmp.replace(Path(out, name))
