"""Activation queue: the per-PE FIFO of broadcast (column, activation) pairs (EIE Fig. 4)."""

from __future__ import annotations

from amaranth.hdl import Array, Module, Mux, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from accelgen.spec.config import require

__all__ = ["ActivationQueue", "RegisterFIFO", "column_layout"]


def column_layout(col_bits: int, act_bits: int) -> data.StructLayout:
    """Payload of a broadcast: input column index ``col`` and its activation ``act``."""
    return data.StructLayout({"col": col_bits, "act": signed(act_bits)})


class RegisterFIFO(wiring.Component):
    """First-in first-out queue of ``depth`` words of ``layout``, held in registers.

    The head is visible on ``r`` (first-word fall-through). A word written at a rising edge is
    readable in the next cycle (**latency 1 cycle**). ``w.ready`` is low while the queue holds
    ``depth`` words, even if the head is read in the same cycle, so ``w.ready`` never depends
    on ``r.ready`` combinationally.

    Parameters
    ----------
    layout : amaranth.lib.data.Layout
        Payload layout.
    depth : int
        Number of entries, >= 1.

    Members
    -------
    w : In(stream.Signature(layout))
        Write side.
    r : Out(stream.Signature(layout))
        Read side.
    level : Out(range(depth + 1))
        Number of words held.
    """

    def __init__(self, layout: data.Layout, *, depth: int) -> None:
        require(isinstance(depth, int) and depth >= 1, f"depth must be >= 1, got {depth!r}")
        self.depth = depth
        super().__init__(
            {
                "w": In(stream.Signature(layout)),
                "r": Out(stream.Signature(layout)),
                "level": Out(range(depth + 1)),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        width = len(self.w.payload.as_value())
        store = Array(Signal(width, name=f"slot{i}") for i in range(self.depth))
        rd = Signal(range(self.depth))
        wr = Signal(range(self.depth))
        push = self.w.valid & self.w.ready
        pop = self.r.valid & self.r.ready
        full = Signal()  # level == depth, registered (w.ready feeds the CCU's broadcast stall)
        m.d.comb += [
            self.w.ready.eq(~full),
            self.r.valid.eq(self.level != 0),
            self.r.payload.eq(store[rd]),
        ]
        with m.If(push):
            m.d.sync += [
                store[wr].eq(self.w.payload),
                wr.eq(_next(wr, self.depth)),
            ]
        with m.If(pop):
            m.d.sync += rd.eq(_next(rd, self.depth))
        with m.If(push & ~pop):
            m.d.sync += [self.level.eq(self.level + 1), full.eq(self.level == self.depth - 1)]
        with m.Elif(pop & ~push):
            m.d.sync += [self.level.eq(self.level - 1), full.eq(0)]
        return m


class ActivationQueue(RegisterFIFO):
    """The per-PE activation queue: a :class:`RegisterFIFO` of ``(col, act)`` broadcasts.

    ``w.ready`` is low while the queue is full even if the head is read in the same cycle, so
    the CCU's broadcast stalls on a full queue, as in the paper.

    Parameters
    ----------
    depth : int
        Number of entries, >= 1.
    col_bits, act_bits : int
        Widths of the column index and of the (signed) activation.
    """

    def __init__(self, *, depth: int, col_bits: int, act_bits: int) -> None:
        super().__init__(column_layout(col_bits, act_bits), depth=depth)


def _next(ptr: Signal, depth: int):
    """``ptr + 1`` modulo ``depth``."""
    return Mux(ptr == depth - 1, 0, ptr + 1)
