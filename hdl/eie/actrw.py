"""Activation read/write unit: a PE's source and destination register files (EIE Fig. 4)."""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Shape, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..common.ports import HostWriteSignature, ReadPortSignature

__all__ = ["ActRW"]


class ActRW(wiring.Component):
    """Two register files whose roles (source / destination) swap between layers.

    The source file holds this PE's share of the layer input (element ``j`` at ``j // N``), the
    destination file its accumulators (local row ``i // N``). Both are ``acc_bits`` wide so that
    a layer's accumulators become the next layer's inputs by a role swap, without a copy.
    ``swap`` exchanges the roles at the next clock edge; reads are synchronous (**latency 1
    cycle**), writes take effect at the clock edge.

    Members
    -------
    src : In(ReadPortSignature(range(depth), signed(acc_bits)))
        Source read port.
    src_wr : In(HostWriteSignature(range(depth), signed(acc_bits)))
        Source write port (host input writes, end-of-layer output finishing).
    dst : In(ReadPortSignature(...)); dst_wr : In(HostWriteSignature(...))
        Destination read port (accumulate) and write port (bias initialisation, accumulate).
    swap : In(1)
        Exchange the roles.
    src_wtag, dst_wtag : In(1); src_tag : Out(1)
        Only with ``tag=True``: one more bit stored with every source / destination write and
        read with ``src.data`` (the EIE PE stores "the finished value is non-zero" there). The
        tags are a memory of their own per file (``tag_a``, ``tag_b``: 1 x ``depth``, small
        enough for LUT RAM with a registered read on an FPGA), read at the same address and
        time: the tag then comes from a flip-flop, not from a block RAM's slow output (the
        CCU's next-mask logic follows it in the same cycle).
    """

    def __init__(self, *, depth: int, acc_bits: int, tag: bool = False) -> None:
        self.depth = depth
        self.tag = tag
        port = dict(addr_width=Shape.cast(range(depth)).width, data_shape=signed(acc_bits))
        members = {}
        for role in ("src", "dst"):
            members[role] = In(ReadPortSignature(**port))
            members[f"{role}_wr"] = In(HostWriteSignature(**port))
        if tag:
            members.update({"src_wtag": In(1), "dst_wtag": In(1), "src_tag": Out(1)})
        super().__init__({**members, "swap": In(1)})

    def elaborate(self, platform) -> Module:
        m = Module()
        acc = len(self.src.data)
        m.submodules.rf_a = a = Memory(shape=signed(acc), depth=self.depth, init=[])
        m.submodules.rf_b = b = Memory(shape=signed(acc), depth=self.depth, init=[])
        files = [(a, None), (b, None)]
        if self.tag:
            m.submodules.tag_a = ta = Memory(shape=1, depth=self.depth, init=[])
            m.submodules.tag_b = tb = Memory(shape=1, depth=self.depth, init=[])
            files = [(a, ta), (b, tb)]
        sel = Signal()  # 0: a is the source file, 1: b is
        m.d.sync += sel.eq(sel ^ self.swap)
        for mine, (mem, tmem) in enumerate(files):
            is_src = sel == mine
            ports = [(mem, self.src_wr.data, self.dst_wr.data)]
            if tmem is not None:
                ports.append((tmem, self.src_wtag, self.dst_wtag))
            reads = []
            for memory, src_wdata, dst_wdata in ports:
                rd, wr = memory.read_port(), memory.write_port()
                m.d.comb += [
                    rd.addr.eq(Mux(is_src, self.src.addr, self.dst.addr)),
                    rd.en.eq(Mux(is_src, self.src.en, self.dst.en)),
                    wr.addr.eq(Mux(is_src, self.src_wr.addr, self.dst_wr.addr)),
                    wr.data.eq(Mux(is_src, src_wdata, dst_wdata)),
                    wr.en.eq(Mux(is_src, self.src_wr.en, self.dst_wr.en)),
                ]
                reads.append(rd.data)
            with m.If(is_src):
                m.d.comb += self.src.data.eq(reads[0])
                if tmem is not None:
                    m.d.comb += self.src_tag.eq(reads[1])
            with m.Else():
                m.d.comb += self.dst.data.eq(reads[0])
        return m
