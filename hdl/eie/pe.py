"""One EIE processing element: queue -> pointer read -> sparse-matrix read -> arithmetic."""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal, signed
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from accelgen.spec.eie import LINE_BITS, PTR_NONEMPTY_BIT, SPAN_BUFFER_DEPTH, EIEConfig

from ..common.ports import HOST_ONLY, HostWriteSignature, ReadPortSignature
from .actrw import ActRW
from .arith import ArithUnit
from .pointer import PointerUnit, span_layout
from .queue import ActivationQueue, RegisterFIFO, column_layout
from .spmat import SpMatReader

__all__ = ["PE", "pe_host_addr_bits", "pe_signature"]


def pe_host_addr_bits(c: EIEConfig) -> int:
    """Address bits of a PE's host write ports (the widest of its memories)."""
    return max(c.ptr_addr_bits, c.line_addr_bits, c.rf_bits + c.layer_bits)


def pe_signature(c: EIEConfig) -> wiring.Signature:
    """The interface of a :class:`PE` (also used to wire PE instances in the top level)."""
    host = HostWriteSignature(addr_width=pe_host_addr_bits(c), data_shape=LINE_BITS)
    return wiring.Signature(
        {
            "bc": In(stream.Signature(column_layout(c.col_bits, c.act_bits))),
            "bc_pick": In(1),
            "bc_pick_col": In(c.col_bits),
            "ptr_base": In(range(c.ptr_depth)),
            "codebook": In(signed(c.w_bits)).array(16),
            "flush": In(1),
            "src": In(ReadPortSignature(addr_width=c.rf_bits, data_shape=signed(c.acc_bits))),
            "src_nz": Out(1),
            # the source data as both files' read data and a copy of the role register
            # (``src.data == src_file[src_sel]``), for the CCU's fetch
            "src_file": Out(signed(c.acc_bits)).array(2),
            "src_sel": Out(1),
            "src_q": Out(signed(c.acc_bits)),
            "wr_ptr": In(host),
            "wr_spmat": In(host),
            "wr_bias": In(host),
            "wr_act": In(host),
            "relu_cur": In(1),
            "init_we": In(1),
            "ld_we": In(1),
            "bias_wr_addr": In(c.rf_bits),
            "bias_relu": In(1),
            "bias_addr": In(c.rf_bits + c.layer_bits),
            "bias_en": In(1),
            "swap": In(1),
            "run": In(1),
            "cnt_clear": In(1),
            "cnt_store": In(1),
            "cnt_layer": In(c.layer_bits),
            "stats": In(ReadPortSignature(addr_width=c.layer_bits, data_shape=64, enable=False)),
            **(
                {
                    "sh_push": In(1),
                    "sh_head": In(range(c.decouple_depth)),
                    "sh_slot": In(range(c.decouple_depth)),
                }
                if c.decouple_depth
                else {}
            ),
            "idle": Out(1),
            "busy": Out(1),
            "starved": Out(1),
        }
    )


class PE(wiring.Component):
    """A processing element (EIE Fig. 4) with its memories and performance counters.

    Pipeline of a column ``(j, a_j)`` taken from the activation queue in cycle ``t``: pointers
    ``p_j, p_{j+1}`` valid in ``t+1`` (:class:`PointerUnit`), first entry issued in ``t+2`` and
    read from its line in ``t+3`` and selected from the line register in ``t+4``
    (:class:`SpMatReader`), decoded in ``t+5``, multiplied (destination register read) in
    ``t+6``, rounded in ``t+7`` and accumulated/written in ``t+8`` (:class:`ArithUnit`).
    While the queue is non-empty and columns have entries, one entry is issued per cycle; a
    column without entries for this PE costs one bubble.

    With ``config.skip_empty`` (option (a)) the pointer unit drops columns without entries and
    passes the others through a :class:`~accelgen.hdl.eie.queue.RegisterFIFO` of
    ``SPAN_BUFFER_DEPTH`` (2) spans to the walker, which takes its next span from there: the
    first entry is issued in ``t+3`` (one more cycle of latency) and empty columns cost the
    walker no cycle, as long as the queue holds enough columns.

    With ``config.filter_empty`` a bit per pointer word (written by the host with the pointer,
    ``PTR_NONEMPTY_BIT``) tells whether the column has entries here; it is read as the CCU
    loads its broadcast register (``bc_pick``, ``bc_pick_col``), and a column without entries
    is not queued: ``bc.ready`` is then high even with a full queue.

    Register files: the destination file accumulates raw sums (``acc_bits``); with each
    write goes a tag, "the finished output ``relu?(sat(act_bits, sum))`` is non-zero"
    (``relu_cur``), which the next layer's CCU reads instead of comparing after the
    block-RAM read. Outputs are finished where they are read (CCU, host reads), so no pass
    rewrites them. Biases are read from the bias memory (``bias_addr``/``bias_en``),
    registered, and written two cycles later: by ``ld_we`` into the *source* register
    ``bias_wr_addr`` (the top's loader, behind the CCU: that register becomes the next
    layer's destination register at the swap), or by ``init_we`` into the destination
    register (the bias pass before a first run); their tag uses ``bias_relu``.

    Counters (32 bit, cleared by ``cnt_clear``, counting while ``run``): *busy* = cycles issuing
    an entry; *starved* = cycles not issuing with an empty activation queue. ``cnt_store`` saves
    both in the counter memory at ``cnt_layer`` (written one cycle later, the values including
    the storing cycle); ``stats.data`` (1-cycle read at ``stats.addr``)
    returns ``busy | starved << 32``.

    Members
    -------
    bc : In(stream)
        Broadcast ``(col, act)`` into the activation queue.
    idle : Out(1)
        In the previous cycle: queue empty and no column or entry anywhere in the pipeline
        (but the accumulate stage, whose write is at the end of that cycle). Registered.
    src : In(ReadPortSignature)
        Source register-file read port (CCU windows, boundary pass, host reads).
    wr_ptr, wr_spmat, wr_bias, wr_act : In(HostWriteSignature)
        Host write ports of the pointer, sparse-matrix, bias memories and the source file.
    stats : In(ReadPortSignature, no enable)
        Counter memory read port.
    (other members: boundary and counter controls; see the code.)
    """

    def __init__(self, config: EIEConfig) -> None:
        self.config = config
        super().__init__(pe_signature(config))

    def elaborate(self, platform) -> Module:
        c = self.config
        m = Module()
        # the queue holds the column's pointer address ptr_base + col (added as it is pushed:
        # the add is then not between the queue's head and the pointer memories' address)
        addr_bits = (2 * c.ptr_depth).bit_length()
        m.submodules.queue = queue = ActivationQueue(
            depth=c.fifo_depth, col_bits=addr_bits, act_bits=c.act_bits
        )
        m.submodules.pointer = ptr = PointerUnit(
            depth=c.ptr_depth,
            ptr_bits=c.ptr_bits,
            col_bits=addr_bits,
            act_bits=c.act_bits,
            skip_empty=c.skip_empty,
        )
        m.submodules.spmat = spm = SpMatReader(
            words=c.spmat_words,
            ptr_bits=c.ptr_bits,
            act_bits=c.act_bits,
            merge_padding=c.merge_padding,
        )
        m.submodules.arith = alu = ArithUnit(
            rf_bits=c.rf_bits,
            act_bits=c.act_bits,
            w_bits=c.w_bits,
            w_frac=c.w_frac,
            acc_bits=c.acc_bits,
            merge_padding=c.merge_padding,
        )
        m.submodules.actrw = rf = ActRW(depth=c.regfile_depth, acc_bits=c.acc_bits, tag=True)
        m.submodules.bias = bias = Memory(
            shape=signed(c.act_bits), depth=c.max_layers << c.rf_bits, init=[], attrs=HOST_ONLY
        )
        m.submodules.counters = cnt = Memory(shape=64, depth=c.max_layers, init=[])

        keep = Signal(init=1)  # the broadcast column has entries here (filter_empty)
        pick_keep = Signal(init=1)  # ... read with the CCU's pick, out with the broadcast
        if c.filter_empty:
            m.submodules.bitmap = bitmap = Memory(
                shape=1, depth=c.ptr_depth, init=[], attrs=HOST_ONLY
            )
            bm_wr, bm_rd = bitmap.write_port(), bitmap.read_port()
            m.d.comb += [
                bm_wr.addr.eq(self.wr_ptr.addr),
                bm_wr.data.eq(self.wr_ptr.data[PTR_NONEMPTY_BIT]),
                bm_wr.en.eq(self.wr_ptr.en),
                # read as the CCU loads the broadcast register: the bit is out with it, and
                # held while the broadcast waits
                bm_rd.addr.eq(self.ptr_base + self.bc_pick_col),
                bm_rd.en.eq(self.bc_pick),
                pick_keep.eq(bm_rd.data),
            ]
        if c.decouple_depth and c.filter_empty:
            # decoupled broadcast: the keep bit of each shared-buffer slot, stored as the
            # broadcast is pushed into it; the PE's stream shows the slot at its read pointer
            keep_bits = Signal(c.decouple_depth)
            for i in range(c.decouple_depth):
                with m.If(self.sh_push & (self.sh_head == i)):
                    m.d.sync += keep_bits[i].eq(pick_keep)
            m.d.comb += keep.eq(keep_bits.bit_select(self.sh_slot, 1))
        elif not c.decouple_depth:
            m.d.comb += keep.eq(pick_keep)
        m.d.comb += [
            queue.w.valid.eq(self.bc.valid & keep),
            self.bc.ready.eq(queue.w.ready | ~keep),
            queue.w.payload.col.eq(self.ptr_base + self.bc.payload.col),
            queue.w.payload.act.eq(self.bc.payload.act),
        ]
        wiring.connect(m, queue.r, ptr.col_in)
        spans_held = Signal()
        if c.skip_empty:
            m.submodules.spans = spans = RegisterFIFO(
                span_layout(c.ptr_bits, c.act_bits), depth=SPAN_BUFFER_DEPTH
            )
            wiring.connect(m, ptr.out, spans.w)
            wiring.connect(m, spans.r, spm.span)
            m.d.comb += spans_held.eq(spans.r.valid)
        else:
            wiring.connect(m, ptr.out, spm.span)
        m.d.comb += [
            ptr.ptr_base.eq(0),  # already added
            ptr.wr.addr.eq(self.wr_ptr.addr),
            ptr.wr.data.eq(self.wr_ptr.data),
            ptr.wr.en.eq(self.wr_ptr.en),
            spm.flush.eq(self.flush),
            spm.wr.addr.eq(self.wr_spmat.addr),
            spm.wr.data.eq(self.wr_spmat.data),
            spm.wr.en.eq(self.wr_spmat.en),
            rf.swap.eq(self.swap),
        ]
        wiring.connect(m, spm.entries, alu.entries)
        wiring.connect(m, alu.rd, rf.dst)
        m.d.comb += alu.relu.eq(self.relu_cur)
        for i in range(16):
            m.d.comb += alu.codebook[i].eq(self.codebook[i])

        # biases: read, registered, written two cycles after the read (into the source file
        # by the loader, into the destination file by the bias pass), with the tag of the
        # finished value ``relu?(bias)``
        b_rd, b_wr = bias.read_port(), bias.write_port()
        bias_q = Signal(signed(c.act_bits))
        bias_tag = Signal()
        m.d.sync += bias_q.eq(b_rd.data)
        m.d.comb += [
            b_wr.addr.eq(self.wr_bias.addr),
            b_wr.data.eq(self.wr_bias.data),
            b_wr.en.eq(self.wr_bias.en),
            b_rd.addr.eq(self.bias_addr),
            b_rd.en.eq(self.bias_en),
            bias_tag.eq((bias_q != 0) & ~(self.bias_relu & bias_q[-1])),
        ]
        # source file: shared reads (CCU windows, host reads); writes from the host (input)
        # or the bias loader
        src_q = self.src_q  # the source read data, registered (host reads)
        m.d.sync += src_q.eq(rf.src.data)
        host_act = self.wr_act.data[: c.act_bits].as_signed()
        m.d.comb += [
            rf.src.addr.eq(self.src.addr),
            rf.src.en.eq(self.src.en),
            self.src.data.eq(rf.src.data),
            self.src_nz.eq(rf.src_tag),
            self.src_file[0].eq(rf.file_data[0]),
            self.src_file[1].eq(rf.file_data[1]),
            self.src_sel.eq(rf.sel_copy),
            rf.src_wr.en.eq(self.ld_we | self.wr_act.en),
            rf.src_wr.addr.eq(Mux(self.ld_we, self.bias_wr_addr, self.wr_act.addr)),
            rf.src_wr.data.eq(Mux(self.ld_we, bias_q, host_act)),
            # stored with each activation: the CCU's non-zero test needs no compare after the
            # (slow) block-RAM read
            rf.src_wtag.eq(Mux(self.ld_we, bias_tag, host_act != 0)),
        ]
        # destination file: accumulation, or the bias pass
        m.d.comb += [
            rf.dst_wr.en.eq(self.init_we | alu.wr.en),
            rf.dst_wr.addr.eq(Mux(self.init_we, self.bias_wr_addr, alu.wr.addr)),
            rf.dst_wr.data.eq(Mux(self.init_we, bias_q, alu.wr.data)),
            rf.dst_wtag.eq(Mux(self.init_we, bias_tag, alu.wr_tag)),
        ]

        # status and counters
        # ``idle`` is registered here, next to the walker whose compare ends its logic: the
        # top's run-end AND over the PEs starts at flip-flops (one cycle later; the run end
        # follows, see ``top.RUN_FILL_CYCLES``)
        m.d.comb += [
            self.busy.eq(spm.issue),
            self.starved.eq(~spm.issue & ~queue.r.valid),
        ]
        m.d.sync += [
            self.idle.eq(
                ~queue.r.valid
                & ~ptr.busy
                & ~spans_held
                & ~spm.issue
                & ~spm.reading
                & ~spm.selecting
                & ~spm.entries.valid
                & ~alu.busy
                # decoupled: columns left for this PE in the shared buffer
                & (~self.bc.valid if c.decouple_depth else 1)
            ),
        ]
        # The increments are registered before the 32-bit adders (``spm.issue`` ends in the
        # walker's empty-span compare), and the store is one cycle late, so that it includes
        # the storing cycle's increment: the stored values are those of the storing cycle.
        busy = Signal(32)
        starved = Signal(32)
        inc_busy = Signal()
        inc_starved = Signal()
        busy_next = Signal(32)
        starved_next = Signal(32)
        m.d.comb += [
            busy_next.eq(busy + inc_busy),
            starved_next.eq(starved + inc_starved),
        ]
        with m.If(self.cnt_clear):
            m.d.sync += [busy.eq(0), starved.eq(0), inc_busy.eq(0), inc_starved.eq(0)]
        with m.Else():
            m.d.sync += [
                busy.eq(busy_next),
                starved.eq(starved_next),
                inc_busy.eq(self.run & self.busy),
                inc_starved.eq(self.run & self.starved),
            ]
        store = Signal()
        store_layer = Signal.like(self.cnt_layer)
        m.d.sync += [store.eq(self.cnt_store), store_layer.eq(self.cnt_layer)]
        c_wr, c_rd = cnt.write_port(), cnt.read_port()
        m.d.comb += [
            c_wr.addr.eq(store_layer),
            c_wr.data.eq(Cat(busy_next, starved_next)),
            c_wr.en.eq(store),
            c_rd.addr.eq(self.stats.addr),
            self.stats.data.eq(c_rd.data),
        ]
        return m
