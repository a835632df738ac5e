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
low. ``start`` (one cycle, while idle, after the last IMEM write) runs the program at IMEM
address 0; ``done`` pulses when the last output has been written; ``host_raddr`` ->
``host_rdata`` reads NBout with a latency of one cycle while idle. ``cycles``, ``nfu_busy`` and
``stalls`` are the control processor's counters of the last run.

Pipeline: issue (buffer read addresses) -> NFU-1 (3 stages) -> NFU-2 (3) -> NFU-3 (7) -> NBout
write: an NFU step issued in cycle ``t`` writes its output in cycle ``t + PIPELINE_DRAIN``
(``t + 14``); the control processor's read-after-write interlock covers that distance.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from accelgen.spec.diannao import DianNaoConfig, Sel, instruction_bits
from accelgen.spec.pwl import PWL_COEF_BITS

from .. import macros
from ..verilog import cached
from .buffers import nbin, nbout, sb
from .cp import COUNTER_BITS, ControlProcessor
from .nfu import NFU, ctl_layout

__all__ = [
    "GENERATION_MEMORY_BITS",
    "DianNaoTop",
    "PIPELINE_DRAIN",
    "TOP_MODULE",
    "check_generation_budget",
    "generate_verilog",
    "memory_bits",
    "verilog",
]

TOP_MODULE = "diannao_top"
PIPELINE_DRAIN = NFU.latency + 1  # buffer read + NFU stages

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
    """

    def __init__(self, config: DianNaoConfig) -> None:
        if not isinstance(config, DianNaoConfig):
            raise TypeError(f"config must be a DianNaoConfig, got {type(config).__name__}")
        self.config = config
        super().__init__(
            {
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
            b_sb.w.addr.eq(addr[c.log2_tn :]),
            b_sb.w.data.eq(Cat(*([wdata[: c.sb_row_bits]] * c.tn))),
            b_sb.w.en.eq(Cat(*[we & (sel == Sel.SB) & (row == r) for r in range(c.tn)])),
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
            b_sb.r.addr.eq(cp.sb_addr),
            self.host_rdata.eq(b_out.r.data),
        ]
        m.d.comb += b_out.r.addr.eq(Mux(cp.busy, cp.nbout_addr, self.host_raddr))

        # the step's control word follows the buffers' 1-cycle read latency
        valid_d = Signal()
        ctl_d = Signal(ctl_layout(c))
        m.d.sync += [valid_d.eq(cp.issue), ctl_d.eq(cp.ctl)]
        m.d.comb += [
            nfu.valid.eq(valid_d),
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
