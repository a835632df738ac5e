"""Sparse-matrix read unit: walks a column's entries, one ``(v, z)`` per cycle (EIE section IV).

Line format (one 64-bit word of the sparse-matrix memory): entry ``k`` (0..7) occupies bits
``8k .. 8k+7``; its weight index ``v`` is the low nibble, its relative row index ``z`` the high
nibble. Entry address ``e`` is in line ``e // 8``, slot ``e % 8``.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Shape, Signal, Value
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from accelgen.spec.eie import ENTRIES_PER_LINE, LINE_BITS

from ..common.ports import ENTRY_INDEX_BITS, HOST_ONLY, HostWriteSignature, entry_stream
from .pointer import span_layout

__all__ = ["SpMatReader", "is_successor", "is_successor2"]


def is_successor(a: Value, b: Value) -> Value:
    """``a + 1 == b`` (modulo ``2 ** len(a)``) without an adder: one 4-input function per bit.

    Bit ``i`` of ``a + 1`` is ``a[i] ^ c[i]`` with the carry ``c[0] = 1``, ``c[i] = a[i-1] &
    c[i-1]``. When the bits below ``i`` already match ``b``, the carry into bit ``i`` is
    ``a[i-1] & ~b[i-1]`` (a carry left bit ``i-1`` exactly when it flipped a one to a zero),
    so every bit is checked from ``a`` and ``b`` at ``i`` and ``i-1`` alone and the results
    are ANDed: a compare tree instead of a carry chain (EIE N = 4 on ECP5: the pointer
    block-RAM read -> ``lo + 1`` carry chain was the critical path, docs/synth.md).
    """
    n = len(a)
    assert len(b) == n
    bits = [b[0] == ~a[0]]
    bits += [b[i] == (a[i] ^ (a[i - 1] & ~b[i - 1])) for i in range(1, n)]
    return Cat(*bits).all()


def is_successor2(a: Value, b: Value) -> Value:
    """``a + 2 == b`` (modulo ``2 ** len(a)``) without an adder: the low bits equal and
    ``a[1:] + 1 == b[1:]`` (:func:`is_successor`)."""
    if len(a) == 1:
        return a[0] == b[0]
    return (a[0] == b[0]) & is_successor(a[1:], b[1:])


class SpMatReader(wiring.Component):
    """Issues the entries ``[lo, hi)`` of each column span, one per cycle, with its activation.

    A 64-bit line is read from the sparse-matrix memory only when the walk enters a new line
    (the line is kept in the read port's output register, the paper's line buffer), so each line
    costs one SRAM read per column visit, not one per entry.

    Timing: the walker takes a span in the cycle ``span.valid & span.ready``; it issues entry
    ``lo`` in the next cycle and one entry per cycle after that. An entry issued in cycle ``t``
    is read from the line in ``t + 1`` (the memory output registered as it is, in the line
    register: the block RAM's clock to data is most of a cycle on an FPGA, so nothing follows it
    in that cycle), selected from the line register in ``t + 2`` (8:1 slot select, registered)
    and appears on ``entries`` in cycle ``t + 3`` (**latency 3 cycles**). ``span.ready`` is high
    while the walker is idle or issuing the last entry of its span, so consecutive columns
    follow each other without a bubble. An empty span (``lo == hi``) is consumed without
    issuing anything.

    Members
    -------
    span : In(stream.Signature(span_layout))
        From the pointer-read unit.
    flush : In(1)
        Forget the buffered line (asserted between layers; the host may have rewritten it).
    entries : Out(entry_stream(act_bits))
        The entry stream to the arithmetic unit (always ready); ``first`` marks the first
        entry of a column.
    issue : Out(1)
        An entry is issued this cycle (the PE is busy).
    reading : Out(1)
        An issued entry is being read from the line (it is selected in the next cycle).
    selecting : Out(1)
        An entry is being selected from the line register (it appears on ``entries`` next
        cycle).
    line_reads : Out(1)
        A line is read from memory this cycle.
    wr : In(HostWriteSignature(line address, 64))
        Host write port (line address, 64-bit line).
    """

    def __init__(
        self, *, words: int, ptr_bits: int, act_bits: int, merge_padding: bool = False
    ) -> None:
        self.words = words
        self.merge_padding = merge_padding
        super().__init__(
            {
                "span": In(stream.Signature(span_layout(ptr_bits, act_bits))),
                "flush": In(1),
                "entries": Out(entry_stream(act_bits, merged=merge_padding)),
                "issue": Out(1),
                "reading": Out(1),
                "selecting": Out(1),
                "line_reads": Out(1),
                "wr": In(
                    HostWriteSignature(
                        addr_width=Shape.cast(range(words)).width, data_shape=LINE_BITS
                    )
                ),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        m.submodules.mem = mem = Memory(shape=LINE_BITS, depth=self.words, init=[], attrs=HOST_ONLY)
        rd = mem.read_port()
        wr = mem.write_port()
        m.d.comb += [wr.addr.eq(self.wr.addr), wr.data.eq(self.wr.data), wr.en.eq(self.wr.en)]

        ptr_bits = len(self.span.payload.lo)
        slot_bits = (ENTRIES_PER_LINE - 1).bit_length()
        # The span's pointers are the pointer unit's block-RAM read data (slow on an FPGA): they
        # go straight into registers. Nothing is computed from them in the cycle they arrive;
        # an empty span is recognised one cycle later, from the registers (``empty``).
        active = Signal()  # a span is held (the first cycle of an empty one included)
        e = Signal(ptr_bits)
        end = Signal(ptr_bits)
        act = Signal.like(self.entries.payload.act)
        first = Signal()
        issue = Signal()
        empty = Signal()  # the span just taken is empty: nothing issued, the walker is free
        last = Signal()
        take = Signal()
        merge = Signal()  # the issued entry is a padding entry, issued with the next one
        # ``merge`` without its ``issue`` term (its compares run in parallel with ``empty``'s):
        # the step and ``last`` only matter while issuing
        merge_at = Signal()
        m.d.comb += [
            empty.eq(first & (e == end)),
            issue.eq(active & ~empty),
            merge.eq(issue & merge_at),
            # e + 1 == end (e + 2 for a merged pair) without a carry chain: a compare only
            last.eq(issue & Mux(merge_at, is_successor2(e, end), is_successor(e, end))),
            self.issue.eq(issue),
            self.span.ready.eq(~active | empty | last),
            take.eq(self.span.valid & self.span.ready),
        ]
        # every span offered is taken (an empty one issues nothing and is dropped in the next
        # cycle, in which the walker takes the next span: one cycle per empty span, as when the
        # compare came before the registers)
        # both steps are added in parallel and selected after (``merge`` is late); while not
        # issuing (an empty span) ``e`` is not used again before the next ``take``. ``step`` is
        # kept as a net of its own, so that ``e``'s next value is one 5-input function of
        # ``take``, the pointer unit's bank select, the two banks' block-RAM outputs and
        # ``step``: the block-RAM data (5.8 ns clock to output) meets one LUT level before
        # ``e`` instead of the bank multiplexer and the take multiplexer in series.
        step = Signal(ptr_bits, attrs={"keep": 1})
        m.d.comb += step.eq(Mux(merge_at, e + 2, e + 1))
        with m.If(take):
            m.d.sync += [
                active.eq(1),
                e.eq(self.span.payload.lo),
                end.eq(self.span.payload.hi),
                act.eq(self.span.payload.act),
                first.eq(1),
            ]
        with m.Elif(active):
            m.d.sync += [e.eq(step), first.eq(0)]
            with m.If(empty | last):
                m.d.sync += active.eq(0)

        # line buffer: read only when the issued entry is in a different line
        line = Signal(range(self.words))
        held = Signal(range(self.words))
        held_valid = Signal()
        m.d.comb += [
            line.eq(e >> slot_bits),
            rd.addr.eq(line),
            rd.en.eq(issue & (~held_valid | (held != line))),
            self.line_reads.eq(rd.en),
        ]
        with m.If(self.flush):
            m.d.sync += held_valid.eq(0)
        with m.Elif(issue):
            m.d.sync += [held.eq(line), held_valid.eq(1)]
        if self.merge_padding:
            # padding mask of the line on the memory output, registered every cycle: it is
            # the held line's once no line was read in the previous cycle (``pm_ok``); a
            # padding entry it shows (not in the last slot: the next entry is in the same
            # line) is issued with the next entry
            pm = Signal(ENTRIES_PER_LINE)
            pm_ok = Signal()
            pads = [rd.data.word_select(i, 8)[:ENTRY_INDEX_BITS] == 0 for i in range(8)]
            m.d.sync += [pm.eq(Cat(*pads)), pm_ok.eq(~self.flush & ~rd.en & held_valid)]
            m.d.comb += merge_at.eq(
                pm_ok
                & (held == line)
                & (e[:slot_bits] != ENTRIES_PER_LINE - 1)
                & pm.bit_select(e[:slot_bits], 1)
            )

        # the slot is registered one-hot: the entry is an AND-OR of the line's eight entries
        # (two LUT levels) instead of a binary 8:1 multiplexer
        slot_next = Signal(slot_bits)
        slot = Signal(ENTRIES_PER_LINE)
        s_act = Signal.like(act)
        s_first = Signal()
        m.d.comb += slot_next.eq(e[:slot_bits] + merge_at)  # read only when issued
        m.d.sync += [
            self.reading.eq(issue),
            slot.eq(Cat(*[slot_next == k for k in range(ENTRIES_PER_LINE)])),
            s_act.eq(act),
            s_first.eq(first),
        ]
        # the line register: the block RAM's output (5.8 ns clock to data on the ECP5, no
        # output register) goes straight into flip-flops; the slot select follows in the next
        # cycle (one cycle of latency, docs/synth.md session 9)
        lreg = Signal(LINE_BITS)
        slot2 = Signal(ENTRIES_PER_LINE)
        s2_act = Signal.like(act)
        s2_first = Signal()
        m.d.sync += [
            lreg.eq(rd.data),
            self.selecting.eq(self.reading),
            slot2.eq(slot),
            s2_act.eq(s_act),
            s2_first.eq(s_first),
        ]
        entry = lreg.word_select(0, 8) & slot2[0].replicate(8)
        for k in range(1, ENTRIES_PER_LINE):
            entry = entry | (lreg.word_select(k, 8) & slot2[k].replicate(8))
        e = self.entries.payload
        m.d.sync += [
            self.entries.valid.eq(self.selecting),
            e.act.eq(s2_act),
            e.first.eq(s2_first),
            e.v.eq(entry[:ENTRY_INDEX_BITS]),
            e.z.eq(entry[ENTRY_INDEX_BITS:]),
        ]
        if self.merge_padding:
            s_pad = Signal()
            s2_pad = Signal()
            m.d.sync += [s_pad.eq(merge), s2_pad.eq(s_pad), e.pad.eq(s2_pad)]
        return m
