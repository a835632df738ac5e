"""``diannao_top``: the DianNao core (NBin, SB, NBout, NFU, control processor) with a host port.

Host interface (memory-mapped, one write per cycle; see ``docs/diannao.md``)
---------------------------------------------------------------------------
``host_we``/``host_sel``/``host_addr``/``host_wdata`` write one word into the target selected by
``host_sel`` (:class:`~accelgen.host.diannao.Sel`):

======  ========  =======================================================================
sel     target    address / data
======  ========  =======================================================================
0       NBin      word address; ``tn`` activations, lane ``i`` at bits ``[i*act_bits, ...)``
1       SB        ``word * tn + row``; one row = the ``tn`` weights of output lane ``row``
2       NBout     word address; ``tn`` accumulators (``acc_bits`` lanes): bias / partial sums
3       IMEM      instruction address; an encoded :class:`~accelgen.spec.diannao.Instruction`
4       PWL       ``i`` slope, ``S+i`` intercept, ``2S`` x_min, ``2S+1`` seg_shift
======  ========  =======================================================================

NBin and SB writes are accepted at any time (so the host can fill the other half of a
double-buffered NBin/SB while a program runs); NBout, IMEM and PWL writes only while ``busy`` is
low. A host write of the NBin/SB word a running program reads in the same cycle, or a host
NBout read of the word written in that cycle, is undefined on the synthesized RAMs
(``no_rw_check``, :mod:`~accelgen.hdl.diannao.buffers`; SB only without ``weight_update``).
``start`` (one cycle, while idle, after the last IMEM write) runs the program at IMEM address 0;
``done`` pulses when the last output has been written; ``host_raddr`` -> ``host_rdata`` reads
NBout with a latency of one cycle while idle. ``cycles``, ``nfu_busy`` and ``stalls`` are the
control processor's counters of the last run.

Cores built with ``weight_update`` (``docs/diannao.md``, "Training") add: host target 5
(``Sel.LFSR``) loads the update LFSR's state (``lfsr_width`` bits, while idle) and the port
``lfsr_state`` shows it; ``host_sb_raddr`` (``word * tn + row``) -> ``host_sb_rdata`` (one SB row,
``tn`` weights) reads SB while idle, one cycle latency; an update step issued in cycle ``t``
writes its SB row in cycle ``t + UPDATE_LATENCY`` (``t + 4``: buffer read, row select, the
two stages of :class:`~accelgen.hdl.diannao.update.WeightUpdate`), the host's SB writes
wait for no one (do not write SB while an update program runs).

Pipeline: issue (buffer read addresses) -> NFU-1 (4 stages) -> NFU-2 (3) -> NFU-3 (7) -> NBout
write: an NFU step issued in cycle ``t`` writes its output in cycle ``t + PIPELINE_DRAIN``
(``t + 15``); the control processor's read-after-write interlock covers that distance.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from accelgen.spec.diannao import DianNaoConfig, Sel, instruction_bits
from accelgen.spec.pwl import PWL_COEF_BITS

from .. import macros
from ..common.arith import sat
from ..verilog import cached
from .buffers import nbin, nbout, sb
from .cp import COUNTER_BITS, ControlProcessor
from .nfu import NFU, ctl_layout
from .update import WeightUpdate

__all__ = [
    "GENERATION_MEMORY_BITS",
    "DianNaoTop",
    "PIPELINE_DRAIN",
    "TOP_MODULE",
    "UPDATE_LATENCY",
    "check_generation_budget",
    "generate_verilog",
    "memory_bits",
    "verilog",
]

TOP_MODULE = "diannao_top"
PIPELINE_DRAIN = NFU.latency + 1  # buffer read + NFU stages
UPDATE_LATENCY = 4  # issue -> SB write of an update step: buffer read, row select, 2 stages

GENERATION_MEMORY_BITS = 1 << 24
"""Most on-chip memory bits a core generated with inferred memories may hold (16 Mibit = 2 MiB).

Amaranth spells out a memory's initial contents one bit at a time on its way to Yosys, so
generation costs about 130 bytes of RAM and 50 us per memory bit (measured: tn = 8,
sb_depth = 15360, 15.7 Mbit: 2.07 GB peak, 12.5 minutes on a loaded 2-core machine;
``tn = 16, sb_depth = 65536`` grew to 23 GB). Configurations above the limit remain valid for
the compiler, the cycle model and RAM macros (``memories="macros"``); only generating their RTL
with inferred memories is refused (``docs/diannao.md``, "Generation budget")."""


def memory_bits(config: DianNaoConfig) -> dict[str, int]:
    """Bits of every on-chip memory of the generated core (``total`` included)."""
    mem = {
        "nbin": config.nbin_depth * config.nbin_word_bits,
        "nbout": config.nbout_depth * config.nbout_word_bits,
        "sb": config.sb_depth * config.sb_word_bits,
        "imem": config.imem_depth * instruction_bits(config),
        "pwl": config.tn * 2 * config.pwl_segments * PWL_COEF_BITS,
    }
    mem["total"] = sum(mem.values())
    return mem


def check_generation_budget(config: DianNaoConfig, memories: str = "flops") -> None:
    """``ValueError`` naming the buffers when ``config`` exceeds :data:`GENERATION_MEMORY_BITS`
    (inferred memories; RAM macros carry no initial contents and are not limited)."""
    if memories != "flops":
        return
    mem = memory_bits(config)
    if mem["total"] > GENERATION_MEMORY_BITS:
        big = max(("nbin", "nbout", "sb"), key=lambda k: mem[k])
        raise ValueError(
            f"the core would hold {mem['total']} memory bits ({big} {mem[big]}: "
            f"{big}_depth={getattr(config, big + '_depth')} at tn={config.tn}), more than the "
            f"{GENERATION_MEMORY_BITS} bits (2 MiB) RTL generation is limited to "
            "(about 130 bytes of RAM per memory bit while generating); reduce the depths"
        )


class DianNaoTop(wiring.Component):
    """The DianNao core; Verilog top module ``diannao_top`` (``accelgen generate diannao``).

    Parameters
    ----------
    config : DianNaoConfig

    Members
    -------
    host_we, host_sel, host_addr, host_wdata : In
        Host write port (table in the module docstring).
    host_raddr : In, host_rdata : Out
        NBout read port for the host (1-cycle latency, while idle).
    start : In(1); busy, done : Out(1)
        Run control.
    cycles, nfu_busy, stalls : Out(32)
        Counters of the last run.
    host_sb_raddr : In, host_sb_rdata : Out; lfsr_state : Out(lfsr_width)
        ``weight_update`` only: SB row read port (1-cycle latency, while idle) and the update
        LFSR's state.
    """

    def __init__(self, config: DianNaoConfig) -> None:
        if not isinstance(config, DianNaoConfig):
            raise TypeError(f"config must be a DianNaoConfig, got {type(config).__name__}")
        self.config = config
        upd_ports = {}
        if config.weight_update:
            upd_ports = {
                "host_sb_raddr": In(config.sb_addr_bits + config.log2_tn),
                "host_sb_rdata": Out(config.sb_row_bits),
                "lfsr_state": Out(config.lfsr_width),
            }
        super().__init__(
            {
                **upd_ports,
                "host_we": In(1),
                "host_sel": In(3),
                "host_addr": In(config.host_addr_bits),
                "host_wdata": In(config.host_data_bits),
                "host_raddr": In(config.nbout_addr_bits),
                "host_rdata": Out(config.nbout_word_bits),
                "start": In(1),
                "busy": Out(1),
                "done": Out(1),
                "cycles": Out(COUNTER_BITS),
                "nfu_busy": Out(COUNTER_BITS),
                "stalls": Out(COUNTER_BITS),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        c = self.config
        m.submodules.nbin = b_in = nbin(c)
        m.submodules.sb = b_sb = sb(c)
        m.submodules.nbout = b_out = nbout(c)
        m.submodules.nfu = nfu = NFU(c)
        m.submodules.cp = cp = ControlProcessor(c, drain=PIPELINE_DRAIN)

        we, sel, addr, wdata = self.host_we, self.host_sel, self.host_addr, self.host_wdata
        idle_we = we & ~cp.busy
        row = addr[: c.log2_tn]
        m.d.comb += [
            # host writes
            b_in.w.addr.eq(addr),
            b_in.w.data.eq(wdata[: c.nbin_word_bits]),
            b_in.w.en.eq(we & (sel == Sel.NBIN)),
            cp.imem.en.eq(idle_we & (sel == Sel.IMEM)),
            cp.imem.addr.eq(addr),
            cp.imem.data.eq(wdata[: instruction_bits(c)]),
            nfu.pwl.en.eq(idle_we & (sel == Sel.PWL)),
            nfu.pwl.addr.eq(addr),
            nfu.pwl.data.eq(wdata[:32]),
            # run control and counters
            cp.start.eq(self.start),
            self.busy.eq(cp.busy),
            self.done.eq(cp.done),
            self.cycles.eq(cp.cycles),
            self.nfu_busy.eq(cp.nfu_busy),
            self.stalls.eq(cp.stalls),
            # CP -> buffers (read addresses)
            b_in.r.addr.eq(cp.nbin_addr),
            self.host_rdata.eq(b_out.r.data),
        ]
        m.d.comb += b_out.r.addr.eq(Mux(cp.busy, cp.nbout_addr, self.host_raddr))

        # host SB row writes (address, data, row enables)
        host_sb = (
            addr[c.log2_tn :],
            wdata[: c.sb_row_bits],  # one row, written to every row position (enables pick)
            Cat(*[we & (sel == Sel.SB) & (row == r) for r in range(c.tn)]),
        )
        if c.weight_update:
            self._update_unit(m, cp, b_in, b_sb, b_out, host_sb)
        else:
            m.d.comb += [
                b_sb.w.addr.eq(host_sb[0]),
                b_sb.w.data.eq(Cat(*([host_sb[1]] * c.tn))),
                b_sb.w.en.eq(host_sb[2]),
                b_sb.r.addr.eq(cp.sb_addr),
            ]

        # the step's control word follows the buffers' 1-cycle read latency
        valid_d = Signal()
        ctl_d = Signal(ctl_layout(c))
        m.d.sync += [valid_d.eq(cp.issue), ctl_d.eq(cp.ctl)]
        if c.weight_update:
            upd_d = Signal()  # update steps do not enter the NFU
            m.d.sync += upd_d.eq(cp.upd)
        m.d.comb += [
            nfu.valid.eq(valid_d & ~upd_d if c.weight_update else valid_d),
            nfu.ctl.eq(ctl_d),
            nfu.x.eq(b_in.r.data),
            nfu.w.eq(b_sb.r.data),
            nfu.psum.eq(b_out.r.data),
        ]
        # NBout write: the NFU while running, else the host (expressions, not processes, so the
        # port is defined from time 0 in every simulator)
        nfu_w = nfu.out_valid
        m.d.comb += [
            b_out.w.addr.eq(Mux(nfu_w, nfu.out_addr, addr)),
            b_out.w.data.eq(Mux(nfu_w, nfu.out_data.as_value(), wdata[: c.nbout_word_bits])),
            b_out.w.en.eq(nfu_w | (idle_we & (sel == Sel.NBOUT))),
        ]
        return m

    def _update_unit(self, m: Module, cp, b_in, b_sb, b_out, host_sb) -> None:
        """The in-core weight update (``weight_update``): issue -> buffer read -> row select
        (registered) -> :class:`WeightUpdate` (2 stages) -> SB row write, ``UPDATE_LATENCY``."""
        c = self.config
        m.submodules.update = unit = WeightUpdate(
            lanes=c.tn,
            act_bits=c.act_bits,
            act_frac=c.act_frac,
            w_bits=c.w_bits,
            w_frac=c.w_frac,
            g_frac=c.g_frac,
            alpha_frac=c.alpha_frac,
            lfsr_width=c.lfsr_width,
            lfsr_taps=c.lfsr_taps,
            lfsr_seed=c.lfsr_seed,
        )
        we, sel, wdata = self.host_we, self.host_sel, self.host_wdata
        m.d.comb += [
            unit.load.eq(we & ~cp.busy & (sel == Sel.LFSR)),
            unit.seed.eq(wdata[: c.lfsr_width]),
            self.lfsr_state.eq(unit.lfsr_state),
        ]
        # SB read: the CP while running, else the host's row read (row registered with the data)
        sb_raddr = self.host_sb_raddr
        m.d.comb += b_sb.r.addr.eq(Mux(cp.busy, cp.sb_addr, sb_raddr[c.log2_tn :]))
        host_row = Signal(range(c.tn))
        m.d.sync += host_row.eq(sb_raddr[: c.log2_tn])
        rows = b_sb.r.data
        m.d.comb += self.host_sb_rdata.eq(rows.word_select(host_row, c.sb_row_bits))

        # stage "read": the buffers' data arrives; the step's controls follow it
        d1 = {
            "valid": Signal(name="upd_v1"),
            "row": Signal(range(c.tn), name="upd_row1"),
            "lanes": Signal(range(c.tn + 1), name="upd_lanes1"),
            "addr": Signal(c.sb_addr_bits, name="upd_addr1"),
        }
        m.d.sync += [
            d1["valid"].eq(cp.issue & cp.upd),
            d1["row"].eq(cp.upd_row),
            d1["lanes"].eq(cp.upd_lanes),
            d1["addr"].eq(cp.sb_addr),
        ]
        alpha1, sto1 = Signal(16, name="upd_alpha1"), Signal(name="upd_sto1")
        m.d.sync += [alpha1.eq(cp.upd_alpha), sto1.eq(cp.upd_stochastic)]
        # stage "select": the SB row, the error term of that row (saturated), the activations
        w2 = Signal(c.sb_row_bits, name="upd_w2")
        g2 = Signal(signed(c.act_bits), name="upd_g2")
        a2 = Signal(c.nbin_word_bits, name="upd_a2")
        n2 = Signal(range(c.tn + 1), name="upd_n2")
        row2 = Signal(range(c.tn), name="upd_row2")
        addr2 = Signal(c.sb_addr_bits, name="upd_addr2")
        alpha2, sto2 = Signal(16, name="upd_alpha2"), Signal(name="upd_sto2")
        g_lane = b_out.r.data.word_select(d1["row"], c.acc_bits).as_signed()
        m.d.sync += [
            w2.eq(rows.word_select(d1["row"], c.sb_row_bits)),
            g2.eq(sat(g_lane, c.act_bits)),
            a2.eq(b_in.r.data),
            n2.eq(Mux(d1["valid"], d1["lanes"], 0)),
            row2.eq(d1["row"]),
            addr2.eq(d1["addr"]),
            alpha2.eq(alpha1),
            sto2.eq(sto1),
        ]
        m.d.comb += [
            unit.w.eq(w2),
            unit.a.eq(a2),
            unit.n_valid.eq(n2),
            unit.alpha.eq(alpha2),
            unit.stochastic.eq(sto2),
        ]
        m.d.comb += [unit.g[k].eq(g2) for k in range(c.tn)]
        # the unit's 2 stages: the row and word travel alongside
        row_q, addr_q = row2, addr2
        for k in range(unit.latency):
            r = Signal(range(c.tn), name=f"upd_row{3 + k}")
            a = Signal(c.sb_addr_bits, name=f"upd_addr{3 + k}")
            m.d.sync += [r.eq(row_q), a.eq(addr_q)]
            row_q, addr_q = r, a
        # SB write: the update's row write-back wins over a host write in the same cycle (the
        # row is selected before it is copied to every row position: one row-wide multiplexer)
        wb = unit.out_valid
        host_addr, host_row, host_en = host_sb
        wrow = Signal(c.sb_row_bits, name="sb_wrow")
        m.d.comb += [
            wrow.eq(Mux(wb, unit.w_out.as_value(), host_row)),
            b_sb.w.addr.eq(Mux(wb, addr_q, host_addr)),
            b_sb.w.data.eq(Cat(*([wrow] * c.tn))),
            b_sb.w.en.eq(Mux(wb, Cat(*[row_q == r for r in range(c.tn)]), host_en)),
        ]


def generate_verilog(config: DianNaoConfig, *, memories: str = "flops") -> str:
    """Verilog of the whole core, top module ``diannao_top``. ``memories="macros"``: a RAM
    macro per memory, the macros' behavioural models appended (``hdl/macros.py``). A
    configuration beyond the generation budget is refused first
    (:func:`check_generation_budget`)."""
    check_generation_budget(config, memories)
    text, uses = macros.convert(DianNaoTop(config), TOP_MODULE, memories=memories)
    return text + ("\n" + macros.models(uses) if uses else "")


def verilog(config: DianNaoConfig, memories: str = "flops") -> str:
    """:func:`generate_verilog`, cached on disk per configuration and memory mode
    (:func:`accelgen.hdl.verilog.cached`)."""
    check_generation_budget(config, memories)
    if memories == "flops":
        return cached(TOP_MODULE, config, generate_verilog)
    return cached(f"{TOP_MODULE}-{memories}", config, _generate_macros)


def _generate_macros(config: DianNaoConfig) -> str:
    return generate_verilog(config, memories="macros")
