"""Activation queue: the per-PE FIFO of broadcast (column, activation) pairs (EIE Fig. 4)."""

from __future__ import annotations

from amaranth.hdl import Array, Module, Mux, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..common.config import require

__all__ = ["ActivationQueue", "column_layout"]


def column_layout(col_bits: int, act_bits: int) -> data.StructLayout:
    """Payload of a broadcast: input column index ``col`` and its activation ``act``."""
    return data.StructLayout({"col": col_bits, "act": signed(act_bits)})


class ActivationQueue(wiring.Component):
    """First-in first-out queue of ``depth`` broadcast activations, held in registers.

    The head is visible on ``r`` (first-word fall-through). A word written at a rising edge is
    readable in the next cycle (**latency 1 cycle**). ``w.ready`` is low while the queue holds
    ``depth`` words, even if the head is read in the same cycle (the CCU's broadcast therefore
    stalls on a full queue, as in the paper).

    Parameters
    ----------
    depth : int
        Number of entries, >= 1.
    col_bits, act_bits : int
        Widths of the column index and of the (signed) activation.

    Members
    -------
    w : In(stream.Signature(column_layout))
        Write side (from the CCU broadcast).
    r : Out(stream.Signature(column_layout))
        Read side (to the pointer-read unit).
    level : Out(range(depth + 1))
        Number of words held.
    """

    def __init__(self, *, depth: int, col_bits: int, act_bits: int) -> None:
        require(isinstance(depth, int) and depth >= 1, f"depth must be >= 1, got {depth!r}")
        self.depth = depth
        layout = column_layout(col_bits, act_bits)
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
        m.d.comb += [
            self.w.ready.eq(self.level != self.depth),
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
            m.d.sync += self.level.eq(self.level + 1)
        with m.Elif(pop & ~push):
            m.d.sync += self.level.eq(self.level - 1)
        return m


def _next(ptr: Signal, depth: int):
    """``ptr + 1`` modulo ``depth``."""
    return Mux(ptr == depth - 1, 0, ptr + 1)
