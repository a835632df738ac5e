"""Activation read/write unit: a PE's source and destination register files (EIE Fig. 4)."""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Shape, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..common.ports import HostWriteSignature, ReadPortSignature
from ..common.replica import replica

__all__ = ["NO_COLLISION", "ActRW"]

#: Attributes of the two register files. Yosys' ``no_rw_check``: the synthesized block RAMs do
#: not emulate the old-word rule (a read and a write of one word in one cycle return the old
#: word; ECP5's ``DP16KD`` leaves it undefined across ports), so no compare and multiplexer sit
#: behind their read data. No result depends on such a read: in the source role the CCU reads
#: window ``next_w`` while the bias loader writes only below it; in the destination role the
#: arithmetic unit's distance-3 bypass replaces the data of a read that meets the (registered)
#: write of the same row (``arith.py``); the host's input writes and result reads come while
#: the core is idle, and a same-cycle host write and host read of one input word is undefined
#: on the synthesized core. ``tests/eie/test_eie_blocks.py`` runs the EIE core with every such read
#: poisoned and checks that nothing changes.
NO_COLLISION = {"no_rw_check": 1}


class ActRW(wiring.Component):
    """Two register files whose roles (source / destination) swap between layers.

    The source file holds this PE's share of the layer input (element ``j`` at ``j // N``), the
    destination file its accumulators (local row ``i // N``). Both are ``acc_bits`` wide so that
    a layer's accumulators become the next layer's inputs by a role swap, without a copy.
    ``swap`` exchanges the roles at the next clock edge; reads are synchronous (**latency 1
    cycle**), writes are registered and take effect at the clock edge **after** the next one
    (a read issued in the cycle after a write still returns the old word; the write lands in
    the file that had the role at the write, whatever ``swap`` does).

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
    file_data : Out(signed(acc_bits)).array(2); sel_copy : Out(1)
        Both files' read data (``file_data[0]`` is file a) and a copy of the role register
        (1: b is the source file), so that a consumer of the source data can fold the role
        select into its own logic: ``src.data == file_data[sel_copy]``.
    poison_collisions : bool
        Tests only: a register-file read that meets a write of the same word in the same
        cycle returns the inverted word (what ``no_rw_check`` leaves undefined on the
        synthesized RAM, ``NO_COLLISION``) until the port reads again, and ``collision``
        is high while it does.
    """

    def __init__(
        self, *, depth: int, acc_bits: int, tag: bool = False, poison_collisions: bool = False
    ) -> None:
        self.depth = depth
        self.tag = tag
        self.poison_collisions = poison_collisions
        #: With ``poison_collisions`` (a simulation aid for tests): high while a register file's
        #: read data is poisoned (from the cycle after a read met a write of the same word).
        self.collision = Signal()
        port = dict(addr_width=Shape.cast(range(depth)).width, data_shape=signed(acc_bits))
        members = {}
        for role in ("src", "dst"):
            members[role] = In(ReadPortSignature(**port))
            members[f"{role}_wr"] = In(HostWriteSignature(**port))
        if tag:
            members.update({"src_wtag": In(1), "dst_wtag": In(1), "src_tag": Out(1)})
        # both files' read data and a copy of the role register, for a consumer that folds the
        # source select into its own logic (the CCU's fetch, ``top.py``)
        members["file_data"] = Out(signed(acc_bits)).array(2)
        members["sel_copy"] = Out(1)
        super().__init__({**members, "swap": In(1)})

    def elaborate(self, platform) -> Module:
        m = Module()
        acc = len(self.src.data)
        # No result depends on a read and a write of one word in the same cycle (see
        # ``NO_COLLISION``), so the synthesized RAMs need no emulation of the old-word rule.
        rf = dict(shape=signed(acc), depth=self.depth, init=[], attrs=NO_COLLISION)
        m.submodules.rf_a = a = Memory(**rf)
        m.submodules.rf_b = b = Memory(**rf)
        files = [(a, None), (b, None)]
        if self.tag:
            m.submodules.tag_a = ta = Memory(shape=1, depth=self.depth, init=[])
            m.submodules.tag_b = tb = Memory(shape=1, depth=self.depth, init=[])
            files = [(a, ta), (b, tb)]
        sel = Signal()  # 0: a is the source file, 1: b is
        hits = []
        m.d.sync += sel.eq(sel ^ self.swap)
        # a replica of ``sel`` (equal at all times): its flip-flop is kept apart from ``sel``'s
        sel_copy = replica(1, "sel_copy")
        m.d.sync += sel_copy.eq(sel_copy ^ self.swap)
        m.d.comb += self.sel_copy.eq(sel_copy)
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
                ]
                # the write is registered (after the role select, so that it lands in the
                # file it was meant for across a swap): the accumulator's saturating add ends
                # in a flip-flop, not at the block RAM's write-data inputs
                m.d.sync += [
                    wr.addr.eq(Mux(is_src, self.src_wr.addr, self.dst_wr.addr)),
                    wr.data.eq(Mux(is_src, src_wdata, dst_wdata)),
                    wr.en.eq(Mux(is_src, self.src_wr.en, self.dst_wr.en)),
                ]
                data = rd.data
                if self.poison_collisions and memory is mem:
                    # the synthesized RAM's undefined case made visible: a read that meets a
                    # write of the same word in one cycle returns the inverted old word
                    hit = Signal(name=f"hit_{mine}")
                    with m.If(rd.en):  # held with the read data
                        m.d.sync += hit.eq(wr.en & (rd.addr == wr.addr))
                    hits.append(hit)
                    data = Mux(hit, ~rd.data, rd.data)
                reads.append(data)
            m.d.comb += self.file_data[mine].eq(reads[0])
            with m.If(is_src):
                m.d.comb += self.src.data.eq(reads[0])
                if tmem is not None:
                    m.d.comb += self.src_tag.eq(reads[1])
            with m.Else():
                m.d.comb += self.dst.data.eq(reads[0])
        if hits:
            m.d.comb += self.collision.eq(Cat(*hits).any())
        return m
