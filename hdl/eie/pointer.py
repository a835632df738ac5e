"""Pointer-read unit: reads a column's ``p_j`` and ``p_{j+1}`` in one cycle (EIE section IV)."""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Shape, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..common.ports import HOST_ONLY, HostWriteSignature
from .queue import column_layout

__all__ = ["PointerUnit", "span_layout"]


def span_layout(ptr_bits: int, act_bits: int) -> data.StructLayout:
    """A column's work: its activation and the entry range ``[lo, hi)`` in the sparse matrix."""
    return data.StructLayout({"act": signed(act_bits), "lo": ptr_bits, "hi": ptr_bits})


class PointerUnit(wiring.Component):
    """Turns a queued ``(col, act)`` into ``(act, lo=p_j, hi=p_{j+1})``.

    The pointers of a PE live in two single-ported banks: even addresses in one, odd in the
    other, so the two consecutive words ``ptr_base + col`` and ``ptr_base + col + 1`` are always
    in different banks and are read in the same cycle. The pointer values are absolute entry
    addresses in the PE's sparse-matrix memory.

    **Latency 1 cycle**: a word taken from ``col_in`` appears on ``out`` in the next cycle and
    stays there until ``out.ready``. Throughput one column per cycle.

    With ``skip_empty`` (``EIEConfig.skip_empty``, option (a)) a column without
    entries in this PE (``p_j == p_{j+1}``) never appears on ``out``: it is dropped in the cycle
    its pointers are read, and the next column is taken from ``col_in`` in the same cycle, so
    empty columns pass at one per cycle without holding up the entry walker.

    Parameters
    ----------
    depth : int
        Pointer words per PE (``EIEConfig.ptr_depth``).
    ptr_bits, col_bits, act_bits : int
        Widths of a pointer, a column index and an activation.
    skip_empty : bool
        Drop columns without entries (see above). Default False.

    Members
    -------
    col_in : In(stream.Signature(column_layout))
        From the activation queue.
    ptr_base : In(range(depth))
        Pointer-memory address of column 0 of the current layer.
    out : Out(stream.Signature(span_layout))
        To the sparse-matrix read unit.
    wr : In(HostWriteSignature(range(depth), ptr_bits))
        Host write port (pointer-memory address, value).
    busy : Out(1)
        A column is held in the pointer register.
    """

    def __init__(
        self, *, depth: int, ptr_bits: int, col_bits: int, act_bits: int, skip_empty: bool = False
    ) -> None:
        self.depth = depth
        self.skip_empty = skip_empty
        self.bank_depth = (depth + 1) // 2
        super().__init__(
            {
                "col_in": In(stream.Signature(column_layout(col_bits, act_bits))),
                "ptr_base": In(range(depth)),
                "out": Out(stream.Signature(span_layout(ptr_bits, act_bits))),
                "wr": In(
                    HostWriteSignature(
                        addr_width=Shape.cast(range(depth)).width, data_shape=ptr_bits
                    )
                ),
                "busy": Out(1),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        ptr_bits = len(self.wr.data)
        m.submodules.even = even = Memory(
            shape=ptr_bits, depth=self.bank_depth, init=[], attrs=HOST_ONLY
        )
        m.submodules.odd = odd = Memory(
            shape=ptr_bits, depth=self.bank_depth, init=[], attrs=HOST_ONLY
        )
        banks = (even, odd)
        rd = [b.read_port() for b in banks]
        wr = [b.write_port() for b in banks]
        for i in range(2):
            m.d.comb += [
                wr[i].addr.eq(self.wr.addr >> 1),
                wr[i].data.eq(self.wr.data),
                wr[i].en.eq(self.wr.en & (self.wr.addr[0] == i)),
            ]

        valid = Signal()
        act = Signal.like(self.col_in.payload.act)
        odd_first = Signal()  # p_j is in the odd bank
        addr = Signal(range(2 * self.depth + 1))
        load = Signal()
        empty = Signal()  # the held column is dropped (skip_empty and p_j == p_{j+1})
        freed = Signal()  # the pointer register is passed on or dropped this cycle
        if self.skip_empty:
            m.d.comb += empty.eq(valid & (self.out.payload.lo == self.out.payload.hi))
        m.d.comb += [
            freed.eq(self.out.ready | empty),
            self.col_in.ready.eq(~valid | freed),
            load.eq(self.col_in.valid & self.col_in.ready),
            addr.eq(self.ptr_base + self.col_in.payload.col),
            rd[0].addr.eq((addr + 1) >> 1),
            rd[1].addr.eq(addr >> 1),
            # the banks read whenever the pointer register is free, whether or not a column
            # is waiting (without one, ``valid`` stays low and the data is not used): their
            # read enable is then a function of its own, without the queue's state, placed
            # by the block RAMs instead of shared with the ~20 flip-flops ``load`` enables
            rd[0].en.eq(~valid | freed),
            rd[1].en.eq(~valid | freed),
            self.out.valid.eq(valid & ~empty),
            self.out.payload.act.eq(act),
            self.out.payload.lo.eq(Mux(odd_first, rd[1].data, rd[0].data)),
            self.out.payload.hi.eq(Mux(odd_first, rd[0].data, rd[1].data)),
            self.busy.eq(valid),
        ]
        with m.If(load):
            m.d.sync += [
                valid.eq(1),
                act.eq(self.col_in.payload.act),
                odd_first.eq(addr[0]),
            ]
        with m.Elif(freed):
            m.d.sync += valid.eq(0)
        return m
