"""EIE top level: CCU, N PEs, layer descriptors, sequencer, host port and counters."""

from __future__ import annotations

import re

from amaranth.hdl import (
    Array,
    Cat,
    ClockSignal,
    Instance,
    Module,
    Mux,
    ResetSignal,
    Signal,
    Value,
    signed,
)
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from accelgen.spec.eie import DESC_FIELD_BITS, LINE_BITS, EIEConfig, MemoryMap, Region

from .. import macros
from ..verilog import cached
from .arith import finish_value
from .ccu import CCU
from .pe import PE, pe_host_addr_bits, pe_signature

__all__ = [
    "EIETop",
    "PE_MODULE",
    "RUN_FILL_CYCLES",
    "RUN_FILL_CYCLES_SKIP_EMPTY",
    "TOP_MODULE",
    "generate_verilog",
    "verilog",
]

#: Run-phase cycles beyond one per entry when no PE ever starves: window read (1), current
#: window (1), broadcast register (1), queue (1), pointer read (1), span hand-over (1), then the
#: last entry's line read (1), slot select from the line register (1), decode (1), multiply
#: (1), round (1) and accumulate (1) stages,
#: and one cycle in which the registered all-idle condition ends the run (the PEs' ``idle``
#: and the CCU's and loader's done flags are flip-flops, so the run-end logic, which crosses
#: every PE, starts at registers); the swap is at that cycle's edge.
RUN_FILL_CYCLES = 13
#: The same with ``EIEConfig.skip_empty``: the span buffer adds one cycle.
RUN_FILL_CYCLES_SKIP_EMPTY = RUN_FILL_CYCLES + 1
TOP_MODULE = "eie_top"
PE_MODULE = "eie_pe"


class EIETop(wiring.Component):
    """The EIE core; its Verilog top module is ``eie_top``.

    Host interface (all synchronous to ``clk``; the memory map is in
    :mod:`accelgen.host.eie`):

    * write port ``addr``/``wdata``/``we``: one 64-bit word per cycle, any time the core is
      idle (``busy`` low);
    * read port ``raddr``/``re`` -> ``rdata``/``rvalid``: ``rvalid`` pulses with ``rdata``
      **3 cycles** after ``re`` (the register-file read data is registered in the PE before
      the PE and region selection); one read per cycle may be issued. Output (ACT) reads only
      while idle;
    * ``start`` (a one-cycle pulse while idle, at least one cycle after the last host write:
      layer 0's selections are registered from the descriptors) runs every layer on the
      input held in the source register files; ``busy`` is high until the run ends, then
      ``done`` rises and stays high until the next ``start``.

    Run schedule, layer ``l`` of ``L`` (all cycles counted by the counters):

    * *run* ``R(l)``: the CCU broadcasts the non-zero inputs (finished as they are read:
      ``relu?(sat(act_bits, acc))`` of layer ``l-1``), the PEs accumulate into raw
      accumulators, and the *bias loader* writes the next layer's biases (layer 0's after the
      last layer, for the next run) into the source registers the CCU has already read; it
      ends in the cycle after the first cycle in which the CCU is done, every PE is idle and
      the loader has read its last bias (that condition is registered); the register files
      swap;
    * one SWITCH cycle between two runs (the next layer's registered selections settle).

    No pass finishes the outputs: the host's reads finish them (``relu?(sat(.))`` of the
    last layer). The first run after the host wrote the layer count, a descriptor or a bias
    starts with a *bias pass* of layer 0 (``ceil(rows[0]/N) + 2`` cycles: one address read
    per cycle, written two cycles later); later runs find layer 0's biases loaded by the
    previous run's last layer. ``layer_cycles[l]`` = ``|R(l)|`` plus the SWITCH cycle
    (``l > 0``) or the bias pass (``l = 0``); the total is their sum.

    Parameters
    ----------
    config : EIEConfig
    pe_module : str, optional
        If given, the PEs are instances of this externally defined Verilog module (the
        :class:`~accelgen.hdl.eie.pe.PE` converted once) instead of N inlined copies, which is
        what :func:`generate_verilog` does to keep generation fast for large N. The default
        elaborates everything (self-contained, simulatable in Amaranth).
    """

    def __init__(self, config: EIEConfig, *, pe_module: str | None = None) -> None:
        if not isinstance(config, EIEConfig):
            raise TypeError(f"config must be an EIEConfig, got {type(config).__name__}")
        self.config = config
        self.pe_module = pe_module
        self.memory_map = MemoryMap(config)
        ab = self.memory_map.addr_bits
        super().__init__(
            {
                "addr": In(ab),
                "wdata": In(LINE_BITS),
                "we": In(1),
                "raddr": In(ab),
                "re": In(1),
                "rdata": Out(64),
                "rvalid": Out(1),
                "start": In(1),
                "busy": Out(1),
                "done": Out(1),
            }
        )

    def elaborate(self, platform) -> Module:
        c = self.config
        mm = self.memory_map
        n = c.n_pes
        m = Module()
        m.submodules.ccu = ccu = CCU(c)
        if self.pe_module is None:
            pes = [PE(c) for _ in range(n)]
            for k, pe in enumerate(pes):
                m.submodules[f"pe{k}"] = pe
        else:
            sig = pe_signature(c)
            pes = [sig.create(path=(f"pe{k}",)) for k in range(n)]
            for k, pe in enumerate(pes):
                ports = {"i_clk": ClockSignal(), "i_rst": ResetSignal()}
                for path, member, value in sig.flatten(pe):
                    kind = "i" if member.flow == In else "o"
                    ports[f"{kind}_{'__'.join(map(str, path))}"] = Value.cast(value)
                m.submodules[f"pe{k}"] = Instance(self.pe_module, **ports)

        # ---------------------------------------------------------------- host writes
        ob = mm.offset_bits
        region = self.addr[ob:]
        off = self.addr[:ob]
        pe_sel = Signal(max(1, c.pe_bits))
        local = Signal(pe_host_addr_bits(c))
        with m.Switch(region):
            with m.Case(Region.PTR):
                m.d.comb += [local.eq(off[: c.ptr_addr_bits]), pe_sel.eq(off[c.ptr_addr_bits :])]
            with m.Case(Region.SPMAT):
                m.d.comb += [
                    local.eq(off[: c.line_addr_bits]),
                    pe_sel.eq(off[c.line_addr_bits :]),
                ]
            with m.Case(Region.BIAS):
                lb = c.layer_bits + c.rf_bits
                m.d.comb += [local.eq(off[:lb]), pe_sel.eq(off[lb:])]
            with m.Case(Region.ACT):
                m.d.comb += [local.eq(off[c.pe_bits : c.pe_bits + c.rf_bits]), pe_sel.eq(off)]
        if c.pe_bits == 0:
            m.d.comb += pe_sel.eq(0)

        n_layers = Signal(range(c.max_layers + 1))
        desc_cols = [Signal(c.col_bits, name=f"desc{i}_cols") for i in range(c.max_layers)]
        # ceil(rows / N) and ceil(cols / N): the register addresses of the layer's outputs and
        # its input windows in each PE (computed when the descriptor is written, off the
        # sequencer's paths)
        desc_local = [Signal(c.col_bits, name=f"desc{i}_local") for i in range(c.max_layers)]
        desc_windows = [Signal(c.col_bits, name=f"desc{i}_windows") for i in range(c.max_layers)]
        desc_base = [Signal(range(c.ptr_depth), name=f"desc{i}_base") for i in range(c.max_layers)]
        desc_relu = [Signal(name=f"desc{i}_relu") for i in range(c.max_layers)]
        cbook = [
            [Signal(signed(c.w_bits), name=f"cb{i}_{e}") for e in range(16)]
            for i in range(c.max_layers)
        ]
        # the destination file holds layer 0's bias (loaded during the last run's last layer);
        # any host write that can change it (layer count, descriptors, biases) clears this,
        # and the next ``start`` loads it first
        preloaded = Signal()
        f = DESC_FIELD_BITS
        with m.If(self.we):
            with m.Switch(region):
                with m.Case(Region.CTRL):
                    m.d.sync += [n_layers.eq(self.wdata), preloaded.eq(0)]
                with m.Case(Region.DESC):
                    m.d.sync += preloaded.eq(0)
                    for i in range(c.max_layers):
                        with m.If(off == i):
                            m.d.sync += [
                                desc_cols[i].eq(self.wdata[:f]),
                                desc_windows[i].eq((self.wdata[:f] + (n - 1)) >> c.pe_bits),
                                desc_local[i].eq((self.wdata[f : 2 * f] + (n - 1)) >> c.pe_bits),
                                desc_base[i].eq(self.wdata[2 * f : 3 * f]),
                                desc_relu[i].eq(self.wdata[63]),
                            ]
                with m.Case(Region.CODEBOOK):
                    for i in range(c.max_layers):
                        for e in range(16):
                            with m.If(off == (i << 4 | e)):
                                m.d.sync += cbook[i][e].eq(self.wdata)
                with m.Case(Region.BIAS):
                    m.d.sync += preloaded.eq(0)
        for k, pe in enumerate(pes):
            hit = self.we & (pe_sel == k)
            for port, kind in (
                (pe.wr_ptr, Region.PTR),
                (pe.wr_spmat, Region.SPMAT),
                (pe.wr_bias, Region.BIAS),
                (pe.wr_act, Region.ACT),
            ):
                m.d.comb += [
                    port.addr.eq(local),
                    port.data.eq(self.wdata),
                    port.en.eq(hit & (region == kind)),
                ]

        # ---------------------------------------------------------------- sequencer
        # ``layer`` is the running layer, 0 while idle (so that layer 0's registered selections
        # below are settled when ``start`` comes). Every selection by ``layer`` is registered:
        # the single SWITCH cycle between two layers settles them.
        layer = Signal(range(c.max_layers))
        cur_idx = Signal(range(c.max_layers))
        m.d.comb += cur_idx.eq(layer)
        # the layer whose bias the loader writes during this run: the next one, or layer 0 of
        # the next run after the last layer
        ld_idx = Signal(range(c.max_layers))
        last = Signal()  # registered: the running layer is the last one
        m.d.comb += ld_idx.eq(Mux(layer + 1 < n_layers, layer + 1, 0))
        cur_local = Signal(c.col_bits)
        cur_windows = Signal(c.col_bits)
        cur_cols = Signal(c.col_bits)
        relu_cur = Signal()
        ld_local = Signal(c.col_bits)
        ld_layer = Signal(range(c.max_layers))
        relu_ld = Signal()
        m.d.sync += [
            last.eq(layer + 1 >= n_layers),
            cur_local.eq(Array(desc_local)[cur_idx]),
            cur_windows.eq(Array(desc_windows)[cur_idx]),
            cur_cols.eq(Array(desc_cols)[cur_idx]),
            relu_cur.eq(Array(desc_relu)[cur_idx]),
            ld_local.eq(Array(desc_local)[ld_idx]),
            ld_layer.eq(ld_idx),
            relu_ld.eq(Array(desc_relu)[ld_idx]),
        ]
        # the source files hold raw accumulators (or the host's input); outputs are finished
        # (``relu?(sat(act_bits, acc))``) as they are read: by the CCU in the next layer, by the
        # host after the run. ``relu_src`` is the ReLU flag of the layer that wrote them.
        relu_src = Signal()
        with m.If(self.we & (region == Region.ACT)):
            m.d.sync += relu_src.eq(0)
        bnd_cnt = Signal(c.col_bits)
        total = Signal(32)
        lcnt = Signal(32)
        layer_cycles = [Signal(32, name=f"layer{i}_cycles") for i in range(c.max_layers)]
        finish = Signal()
        all_idle = Signal()
        all_ready = Signal()
        ld_done = Signal()
        m.d.comb += [
            all_idle.eq(Cat(pe.idle for pe in pes).all()),
            all_ready.eq(Cat(pe.bc.ready for pe in pes).all()),
        ]
        in_bias = Signal()  # the bias pass of layer 0 (first run after the network changed)
        in_bias_rd = Signal()  # its read phase (not its last cycle)
        in_run = Signal()
        # the CCU's and the loader's done flags registered like the PEs' ``idle`` (and only
        # while running: the flags of the previous layer's end must not end the next run)
        done_q = Signal()
        m.d.sync += done_q.eq(in_run & ccu.done & ld_done)
        with m.FSM(name="seq"):
            with m.State("IDLE"):
                with m.If(self.start):
                    m.d.sync += [self.done.eq(0), total.eq(0), lcnt.eq(0), bnd_cnt.eq(0)]
                    with m.If(n_layers == 0):
                        m.d.sync += self.done.eq(1)
                    with m.Elif(preloaded):
                        m.next = "RUN"
                    with m.Else():
                        m.next = "BIAS"
            with m.State("BIAS"):
                m.d.comb += [self.busy.eq(1), in_bias.eq(1), in_bias_rd.eq(1)]
                m.d.sync += [total.eq(total + 1), lcnt.eq(lcnt + 1), bnd_cnt.eq(bnd_cnt + 1)]
                with m.If(bnd_cnt == cur_local):
                    m.next = "BIAS_END"
            with m.State("BIAS_END"):  # the last address's write
                m.d.comb += [self.busy.eq(1), in_bias.eq(1)]
                m.d.sync += [total.eq(total + 1), lcnt.eq(lcnt + 1)]
                m.next = "RUN"
            with m.State("SWITCH"):  # the next layer's selections settle
                m.d.comb += self.busy.eq(1)
                m.d.sync += [total.eq(total + 1), lcnt.eq(lcnt + 1)]
                m.next = "RUN"
            with m.State("RUN"):
                m.d.comb += [
                    self.busy.eq(1),
                    in_run.eq(1),
                    # everything was done and idle in the previous cycle: the run ends
                    finish.eq(done_q & all_idle),
                ]
                m.d.sync += [total.eq(total + 1), lcnt.eq(lcnt + 1)]
                with m.If(finish):
                    m.d.sync += [lcnt.eq(0), relu_src.eq(relu_cur)]
                    for i in range(c.max_layers):
                        with m.If(layer == i):
                            m.d.sync += layer_cycles[i].eq(lcnt + 1)
                    with m.If(last):
                        m.d.sync += [layer.eq(0), self.done.eq(1), preloaded.eq(1)]
                        m.next = "IDLE"
                    with m.Else():
                        m.d.sync += layer.eq(layer + 1)
                        m.next = "SWITCH"

        # bias reads: the pass of layer 0 into the destination files (address ``bnd_cnt``),
        # or, while running, the loader into the source files behind the CCU (address
        # ``ld_addr``: once the CCU has read window ``ld_addr`` (``ld_addr < next_w``, or every
        # window read), the source register there is free; after the swap it is the next
        # layer's destination register). Read in cycle k, registered in the PEs in k + 1,
        # written in k + 2.
        ld_addr = Signal(c.col_bits)
        ld_issue = Signal()
        rd_issue = Signal()
        wb_valid = Signal()
        wb_addr = Signal(c.rf_bits)
        wr_valid = Signal()
        wr_addr = Signal(c.rf_bits)
        wr_run = Signal()
        m.d.comb += [
            ld_issue.eq(
                in_run
                & (ld_addr < ld_local)
                & ((ld_addr < ccu.next_w) | (ccu.next_w == cur_windows))
            ),
            rd_issue.eq(Mux(in_run, ld_issue, in_bias_rd & (bnd_cnt < cur_local))),
            ld_done.eq((ld_addr == ld_local) & ~wb_valid),
        ]
        with m.If(~in_run):
            m.d.sync += ld_addr.eq(0)
        with m.Elif(ld_issue):
            m.d.sync += ld_addr.eq(ld_addr + 1)
        m.d.sync += [
            wb_valid.eq(rd_issue),
            wb_addr.eq(Mux(in_run, ld_addr, bnd_cnt)),
            wr_valid.eq(wb_valid),
            wr_addr.eq(wb_addr),
            wr_run.eq(in_run),
        ]

        # ---------------------------------------------------------------- CCU and broadcast
        # The current layer's input count, window count, pointer base and codebook are
        # registered: they are only used while running, and the SWITCH cycle (or the idle
        # time before ``start``) settles them after ``layer`` changes.
        m.d.comb += [
            ccu.run.eq(in_run),
            ccu.cols.eq(cur_cols),
            ccu.windows.eq(cur_windows),
            ccu.relu.eq(relu_src),
        ]
        for k, pe in enumerate(pes):
            m.d.comb += [
                # the same value as ``pe.src.data``, selected with the role register's copy:
                # the select is then the CCU's alone, and folds into its fetch multiplexer
                # (one 5-input function after the block RAMs instead of two LUT levels)
                ccu.src_data[k].eq(Mux(pe.src_sel, pe.src_file[1], pe.src_file[0])),
                ccu.src_nz[k].eq(pe.src_nz),
                pe.bc_pick.eq(ccu.pick),
                pe.bc_pick_col.eq(ccu.pick_col),
            ]
        if not c.decouple_depth:
            m.d.comb += ccu.bc_ready.eq(all_ready)
            for pe in pes:
                m.d.comb += [
                    pe.bc.valid.eq(ccu.bc_valid & all_ready),
                    pe.bc.payload.col.eq(ccu.bc_col),
                    pe.bc.payload.act.eq(ccu.bc_act),
                ]
        else:
            # decoupled broadcast: a shared buffer of S columns written by the broadcast
            # register (``head``), read by each PE at its own pointer; pointers count modulo
            # 2S, so a PE S columns behind (the buffer is full) has ``ptr == head ^ S``
            s_depth = c.decouple_depth
            lg = (s_depth - 1).bit_length()
            head = Signal(lg + 1)
            ptrs = [Signal(lg + 1, name=f"sh_ptr{k}") for k in range(n)]
            sh_col = Array(Signal(c.col_bits, name=f"sh_col{i}") for i in range(s_depth))
            sh_act = Array(Signal(signed(c.act_bits), name=f"sh_act{i}") for i in range(s_depth))
            full = Signal()
            sh_push = Signal()
            m.d.comb += [
                full.eq(Cat(p == (head ^ s_depth) for p in ptrs).any()),
                sh_push.eq(ccu.bc_valid & ~full),
                ccu.bc_ready.eq(~full),
            ]
            with m.If(~in_run):
                m.d.sync += [head.eq(0)] + [p.eq(0) for p in ptrs]
            with m.Else():
                with m.If(sh_push):
                    m.d.sync += [
                        head.eq(head + 1),
                        sh_col[head[:lg]].eq(ccu.bc_col),
                        sh_act[head[:lg]].eq(ccu.bc_act),
                    ]
                for pe, p in zip(pes, ptrs, strict=True):
                    with m.If(pe.bc.valid & pe.bc.ready):
                        m.d.sync += p.eq(p + 1)
            for pe, p in zip(pes, ptrs, strict=True):
                m.d.comb += [
                    pe.bc.valid.eq(p != head),
                    pe.bc.payload.col.eq(sh_col[p[:lg]]),
                    pe.bc.payload.act.eq(sh_act[p[:lg]]),
                    pe.sh_push.eq(sh_push),
                    pe.sh_head.eq(head[:lg]),
                    pe.sh_slot.eq(p[:lg]),
                ]

        # ---------------------------------------------------------------- host reads
        rregion = self.raddr[ob:]
        roff = self.raddr[:ob]
        src_addr = Signal(c.rf_bits)
        src_en = Signal()
        with m.If(in_run):
            m.d.comb += [src_addr.eq(ccu.src_addr), src_en.eq(ccu.src_en)]
        with m.Else():
            m.d.comb += [
                src_addr.eq(roff[c.pe_bits : c.pe_bits + c.rf_bits]),
                src_en.eq(self.re & (rregion == Region.ACT)),
            ]
        r_pending = Signal()
        r_region = Signal(len(rregion))
        r_pe = Signal(max(1, c.pe_bits))
        r_layer = Signal(c.layer_bits)
        r_flag = Signal()
        with m.If(rregion == Region.ACT):
            m.d.sync += r_pe.eq(roff[: c.pe_bits] if c.pe_bits else 0)
        with m.Else():
            m.d.sync += r_pe.eq(roff[c.layer_bits : c.layer_bits + c.pe_bits] if c.pe_bits else 0)
        m.d.sync += [
            r_pending.eq(self.re),
            r_region.eq(rregion),
            r_layer.eq(roff[: c.layer_bits]),
            r_flag.eq(roff[c.pe_bits + c.layer_bits]),
        ]
        # second stage: the PEs register their source read data (``src_q``); the counter
        # values are selected and registered here
        r2_pending = Signal()
        r2_region = Signal(len(rregion))
        r2_pe = Signal(max(1, c.pe_bits))
        r2_stat = Signal(64)
        m.d.sync += [
            r2_pending.eq(r_pending),
            r2_region.eq(r_region),
            r2_pe.eq(r_pe),
            r2_stat.eq(
                Mux(
                    r_region == Region.CTRL,
                    total,
                    Mux(
                        r_flag,
                        Array(layer_cycles)[r_layer],
                        Array(pe.stats.data for pe in pes)[r_pe],
                    ),
                )
            ),
        ]
        value = Signal(64)
        out = finish_value(Array(pe.src_q for pe in pes)[r2_pe], c.act_bits, relu_src)
        with m.If(r2_region == Region.ACT):
            m.d.comb += value.eq(out.as_signed())
        with m.Elif((r2_region == Region.CTRL) | (r2_region == Region.STATS)):
            m.d.comb += value.eq(r2_stat)
        m.d.sync += [self.rvalid.eq(r2_pending), self.rdata.eq(value)]

        # ---------------------------------------------------------------- per-PE controls
        ptr_base = Signal(range(c.ptr_depth))
        codebook = [Signal(signed(c.w_bits), name=f"codebook{e}") for e in range(16)]
        m.d.sync += ptr_base.eq(Array(desc_base)[cur_idx])
        m.d.sync += [codebook[e].eq(Array(cb[e] for cb in cbook)[cur_idx]) for e in range(16)]
        bias_row = Mux(in_run, ld_addr, bnd_cnt)
        bias_layer = Mux(in_run, ld_layer, 0)
        for pe in pes:
            m.d.comb += [
                pe.ptr_base.eq(ptr_base),
                pe.flush.eq(~in_run),
                pe.src.addr.eq(src_addr),
                pe.src.en.eq(src_en),
                pe.relu_cur.eq(relu_cur),
                pe.init_we.eq(wr_valid & ~wr_run),
                pe.ld_we.eq(wr_valid & wr_run),
                pe.bias_wr_addr.eq(wr_addr),
                pe.bias_relu.eq(Mux(wr_run, relu_ld, relu_cur)),
                pe.bias_addr.eq(Cat(bias_row[: c.rf_bits], bias_layer[: c.layer_bits])),
                pe.bias_en.eq(rd_issue),
                pe.swap.eq(finish),
                pe.run.eq(in_run),
                pe.cnt_clear.eq(~in_run),
                pe.cnt_store.eq(finish),
                pe.cnt_layer.eq(cur_idx),
                pe.stats.addr.eq(roff[: c.layer_bits]),
            ]
            m.d.comb += [pe.codebook[e].eq(codebook[e]) for e in range(16)]
        return m


def generate_verilog(config: EIEConfig, *, memories: str = "flops") -> str:
    """Verilog of the whole core: module ``eie_top`` instantiating N copies of ``eie_pe``.

    The PE is converted once, so generation time grows slowly with N (a few seconds at
    N = 64) instead of converting N identical copies. ``memories="macros"`` instantiates a
    RAM macro per memory and appends the macros' behavioural models (``hdl/macros.py``).
    """
    pe, pe_macros = macros.convert(PE(config), PE_MODULE, memories=memories)
    top, top_macros = macros.convert(
        EIETop(config, pe_module=PE_MODULE), TOP_MODULE, memories=memories
    )
    text = top + "\n" + pe
    if memories == "macros":
        text += "\n" + macros.models(pe_macros + top_macros)
    return time_zero_fix(text)


def verilog(config: EIEConfig, memories: str = "flops") -> str:
    """:func:`generate_verilog`, cached on disk per configuration and memory mode
    (:func:`accelgen.hdl.verilog.cached`)."""
    if memories == "flops":
        return cached(TOP_MODULE, config, generate_verilog)
    return cached(f"{TOP_MODULE}-{memories}", config, _generate_macros)


def _generate_macros(config: EIEConfig) -> str:
    return generate_verilog(config, memories="macros")


_TRIGGER = re.compile(r"reg (\\\$auto\$verilog_backend\.cc:\d+:dump_module\$\d+ ) = 0;")


def time_zero_fix(text: str) -> str:
    """Make Yosys' combinational ``always @*`` blocks run at time zero in Icarus.

    Yosys triggers every ``always @*`` once through a register declared ``= 0``; Icarus applies
    a declaration initialiser without an event, so blocks whose inputs never change (the idle
    sequencer's outputs) stay ``x``. Outside Verilator (which settles by itself and rejects
    delays without ``--timing``) the register is instead assigned by ``initial #0``, after all
    ``always`` blocks wait for it.
    """

    def fix(m: re.Match) -> str:
        return (
            f"`ifdef VERILATOR\n  reg {m[1]} = 0;\n`else\n  reg {m[1]};\n"
            f"  initial #0 {m[1]} = 1'b0;\n`endif"
        )

    return _TRIGGER.sub(fix, text)
