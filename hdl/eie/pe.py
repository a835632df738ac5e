"""One EIE processing element: queue -> pointer read -> sparse-matrix read -> arithmetic."""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal, signed
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from accelgen.spec.eie import LINE_BITS, SPAN_BUFFER_DEPTH, EIEConfig

from ..common.arith import sat
from .actrw import ActRW
from .arith import ArithUnit
from .pointer import PointerUnit, span_layout
from .queue import ActivationQueue, RegisterFIFO, column_layout
from .spmat import SpMatReader

__all__ = ["PE", "pe_signature"]


def pe_signature(c: EIEConfig) -> wiring.Signature:
    """The interface of a :class:`PE` (also used to wire PE instances in the top level)."""
    return wiring.Signature(
        {
            "bc": In(stream.Signature(column_layout(c.col_bits, c.act_bits))),
            "ptr_base": In(range(c.ptr_depth)),
            "codebook": In(signed(c.w_bits)).array(16),
            "flush": In(1),
            "src_addr": In(c.rf_bits),
            "src_en": In(1),
            "src_data": Out(signed(c.acc_bits)),
            "src_nz": Out(1),
            "src_q": Out(signed(c.acc_bits)),
            "h_addr": In(max(c.ptr_addr_bits, c.line_addr_bits, c.rf_bits + c.layer_bits)),
            "h_data": In(LINE_BITS),
            "we_ptr": In(1),
            "we_spmat": In(1),
            "we_bias": In(1),
            "we_act": In(1),
            "fin_we": In(1),
            "fin_addr": In(c.rf_bits),
            "relu_prev": In(1),
            "init_we": In(1),
            "init_addr": In(c.rf_bits),
            "bias_addr": In(c.rf_bits + c.layer_bits),
            "bias_en": In(1),
            "swap": In(1),
            "run": In(1),
            "cnt_clear": In(1),
            "cnt_store": In(1),
            "cnt_layer": In(c.layer_bits),
            "stats_addr": In(c.layer_bits),
            "stats_data": Out(64),
            "idle": Out(1),
            "busy": Out(1),
            "starved": Out(1),
        }
    )


class PE(wiring.Component):
    """A processing element (EIE Fig. 4) with its memories and performance counters.

    Pipeline of a column ``(j, a_j)`` taken from the activation queue in cycle ``t``: pointers
    ``p_j, p_{j+1}`` valid in ``t+1`` (:class:`PointerUnit`), first entry issued in ``t+2`` and
    read from its line in ``t+3`` (:class:`SpMatReader`), decoded in ``t+4``, multiplied
    (destination register read) in ``t+5``, rounded in ``t+6`` and accumulated/written in
    ``t+7`` (:class:`ArithUnit`). While the queue is
    non-empty and columns have entries, one entry is issued per cycle; a column without
    entries for this PE costs one bubble.

    With ``config.skip_empty`` (option (a)) the pointer unit drops columns without entries and
    passes the others through a :class:`~accelgen.hdl.eie.queue.RegisterFIFO` of
    ``SPAN_BUFFER_DEPTH`` (2) spans to the walker, which takes its next span from there: the
    first entry is issued in ``t+3`` (one more cycle of latency) and empty columns cost the
    walker no cycle, as long as the queue holds enough columns.

    Between layers the top level drives the *boundary* pass: ``fin_we`` rewrites source
    register ``fin_addr`` with ``relu?(sat(act_bits, value))`` of the value read from it two
    cycles earlier (the finished output of the previous layer), ``init_we`` writes the
    destination register ``init_addr`` with the bias read from the bias memory two cycles
    earlier (``bias_addr``/``bias_en``). Both read data are registered first (the block-RAM
    outputs are slow; the finishing logic and the write multiplexers follow the register).

    Counters (32 bit, cleared by ``cnt_clear``, counting while ``run``): *busy* = cycles issuing
    an entry; *starved* = cycles not issuing with an empty activation queue. ``cnt_store`` saves
    both in the counter memory at ``cnt_layer``; ``stats_data`` (1-cycle read at ``stats_addr``)
    returns ``busy | starved << 32``.

    Members
    -------
    bc : In(stream)
        Broadcast ``(col, act)`` into the activation queue.
    idle : Out(1)
        Queue empty and no column or entry anywhere in the pipeline.
    (other members: memory write ports ``h_*``, boundary and counter controls; see the code.)
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
            words=c.spmat_words, ptr_bits=c.ptr_bits, act_bits=c.act_bits
        )
        m.submodules.arith = alu = ArithUnit(
            rf_bits=c.rf_bits,
            act_bits=c.act_bits,
            w_bits=c.w_bits,
            w_frac=c.w_frac,
            acc_bits=c.acc_bits,
        )
        m.submodules.actrw = rf = ActRW(depth=c.regfile_depth, acc_bits=c.acc_bits, tag=True)
        m.submodules.bias = bias = Memory(
            shape=signed(c.act_bits), depth=c.max_layers << c.rf_bits, init=[]
        )
        m.submodules.counters = cnt = Memory(shape=64, depth=c.max_layers, init=[])

        m.d.comb += [
            queue.w.valid.eq(self.bc.valid),
            self.bc.ready.eq(queue.w.ready),
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
            ptr.wr_addr.eq(self.h_addr),
            ptr.wr_data.eq(self.h_data),
            ptr.wr_en.eq(self.we_ptr),
            spm.flush.eq(self.flush),
            spm.wr_addr.eq(self.h_addr),
            spm.wr_data.eq(self.h_data),
            spm.wr_en.eq(self.we_spmat),
            alu.e_valid.eq(spm.e_valid),
            alu.e_act.eq(spm.e_act),
            alu.e_v.eq(spm.e_v),
            alu.e_z.eq(spm.e_z),
            alu.e_first.eq(spm.e_first),
            alu.rd_data.eq(rf.dst_data),
            rf.dst_addr.eq(alu.rd_addr),
            rf.dst_en.eq(alu.rd_en),
            rf.swap.eq(self.swap),
        ]
        for i in range(16):
            m.d.comb += alu.codebook[i].eq(self.codebook[i])

        # source file: shared reads; writes from the host or the output finishing
        finished = Signal(signed(c.act_bits))
        src_q = self.src_q  # the source read data, registered (finishing, host reads)
        m.d.sync += src_q.eq(rf.src_data)
        clamped = sat(src_q, c.act_bits)
        m.d.comb += [
            rf.src_addr.eq(self.src_addr),
            rf.src_en.eq(self.src_en),
            self.src_data.eq(rf.src_data),
            self.src_nz.eq(rf.src_tag),
            finished.eq(Mux(self.relu_prev & (clamped < 0), 0, clamped)),
            rf.src_we.eq(self.fin_we | self.we_act),
            rf.src_waddr.eq(Mux(self.fin_we, self.fin_addr, self.h_addr)),
            rf.src_wdata.eq(Mux(self.fin_we, finished, self.h_data[: c.act_bits].as_signed())),
            # stored with each activation: the CCU's non-zero test needs no compare after the
            # (slow) block-RAM read
            rf.src_wtag.eq(Mux(self.fin_we, finished != 0, self.h_data[: c.act_bits] != 0)),
        ]
        # destination file: bias initialisation or accumulation
        b_rd, b_wr = bias.read_port(), bias.write_port()
        bias_q = Signal(signed(c.act_bits))
        m.d.sync += bias_q.eq(b_rd.data)
        m.d.comb += [
            b_wr.addr.eq(self.h_addr),
            b_wr.data.eq(self.h_data),
            b_wr.en.eq(self.we_bias),
            b_rd.addr.eq(self.bias_addr),
            b_rd.en.eq(self.bias_en),
            rf.dst_we.eq(self.init_we | alu.wr_en),
            rf.dst_waddr.eq(Mux(self.init_we, self.init_addr, alu.wr_addr)),
            rf.dst_wdata.eq(Mux(self.init_we, bias_q, alu.wr_data)),
        ]

        # status and counters
        m.d.comb += [
            self.busy.eq(spm.issue),
            self.starved.eq(~spm.issue & ~queue.r.valid),
            self.idle.eq(
                ~queue.r.valid
                & ~ptr.busy
                & ~spans_held
                & ~spm.issue
                & ~spm.reading
                & ~spm.e_valid
                & ~alu.busy
            ),
        ]
        busy = Signal(32)
        starved = Signal(32)
        busy_next = Signal(32)
        starved_next = Signal(32)
        m.d.comb += [
            busy_next.eq(busy + (self.run & self.busy)),
            starved_next.eq(starved + (self.run & self.starved)),
        ]
        with m.If(self.cnt_clear):
            m.d.sync += [busy.eq(0), starved.eq(0)]
        with m.Else():
            m.d.sync += [busy.eq(busy_next), starved.eq(starved_next)]
        # the stored values include the storing cycle
        c_wr, c_rd = cnt.write_port(), cnt.read_port()
        m.d.comb += [
            c_wr.addr.eq(self.cnt_layer),
            c_wr.data.eq(Cat(busy_next, starved_next)),
            c_wr.en.eq(self.cnt_store),
            c_rd.addr.eq(self.stats_addr),
            self.stats_data.eq(c_rd.data),
        ]
        return m
