"""DianNao control processor: instruction memory + sequencer (Chen et al., "DianNao", Sec. 5).

The sequencer walks each instruction's loop nest (:mod:`accelgen.spec.diannao`) and issues
one NFU step per cycle: the NBin, SB and NBout read addresses plus the control word
(:func:`accelgen.hdl.diannao.nfu.ctl_layout`). Address arithmetic is incremental (adders, no
multipliers). The next instruction is prefetched while the current one runs, so instructions
issue back to back.

Timing (measured by the RTL counters and reproduced by :mod:`accelgen.golden.diannao_cp`):
``start`` (one cycle, while idle) -> 1 fetch cycle -> ``N`` issue cycles (``N`` = total NFU
steps, plus interlock stalls) -> ``drain`` cycles for the NFU pipeline and the NBout write ->
``done`` (one-cycle pulse) and idle. ``busy`` is high from the fetch cycle to the last drain
cycle; ``cycles`` counts those cycles, ``nfu_busy`` the issue cycles, ``stalls`` the others. The
counters hold their values until the next ``start``.

Read-after-write interlock: an output's first step reads its NBout word (``nbout_read``) when
it issues, but an earlier output's word is written ``drain`` cycles after that output's last
step issued. If the word being read is still in flight (written by one of the last ``drain``
issued steps), the CP stalls until the write has happened. The compiler's programs never
revisit an NBout word within a program, so they never stall;
:func:`accelgen.golden.diannao_cp.program_cycles` reproduces the stalls of any program.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from accelgen.spec.diannao import DianNaoConfig, field_slices, instruction_bits

from ..common.ports import HostWriteSignature
from .nfu import ctl_layout

__all__ = ["ControlProcessor", "COUNTER_BITS", "instruction_layout"]

COUNTER_BITS = 32


def instruction_layout(config: DianNaoConfig) -> data.FlexibleLayout:
    """The encoded instruction as an Amaranth layout, built from the field table of
    :func:`accelgen.spec.diannao.field_slices` (the offsets :func:`~accelgen.spec.diannao.encode`
    packs with)."""
    return data.FlexibleLayout(
        instruction_bits(config),
        {
            name: data.Field(unsigned(width), offset)
            for name, (offset, width) in field_slices(config).items()
        },
    )


class ControlProcessor(wiring.Component):
    """Instruction memory and sequencer.

    Parameters
    ----------
    config : DianNaoConfig
    drain : int
        Cycles from an issue to its NBout write (NFU latency + 1 for the buffer read): the
        drain after the last issue, and the read-after-write interlock distance.

    Members
    -------
    imem : In(HostWriteSignature(imem_addr_bits, instruction_bits))
        Host write port of the instruction memory (ignored while busy).
    start : In(1)
        Start the program at address 0 (ignored while busy).
    busy, done : Out(1)
        Running; one-cycle pulse at the end.
    issue : Out(1)
        An NFU step is issued this cycle with ``nbin_addr``, ``sb_addr``, ``nbout_addr``, ``ctl``.
    cycles, nfu_busy, stalls : Out(32)
        Counters of the last (or current) run.
    """

    def __init__(self, config: DianNaoConfig, *, drain: int = 4) -> None:
        self.config = config
        self.drain = drain
        super().__init__(
            {
                "imem": In(
                    HostWriteSignature(
                        addr_width=config.imem_addr_bits, data_shape=instruction_bits(config)
                    )
                ),
                "start": In(1),
                "busy": Out(1),
                "done": Out(1),
                "issue": Out(1),
                "nbin_addr": Out(config.nbin_addr_bits),
                "sb_addr": Out(config.sb_addr_bits),
                "nbout_addr": Out(config.nbout_addr_bits),
                "ctl": Out(ctl_layout(config)),
                "cycles": Out(COUNTER_BITS),
                "nfu_busy": Out(COUNTER_BITS),
                "stalls": Out(COUNTER_BITS),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        c = self.config
        layout = instruction_layout(c)
        m.submodules.imem = imem = Memory(shape=instruction_bits(c), depth=c.imem_depth, init=[])
        wp = imem.write_port()
        # two read ports: the instruction after pc and the one after that are both fetched, and
        # the late `advance` (it depends on the NBout interlock) picks one at the RAM's output
        # instead of driving the RAM's address (synthesis duplicates the small RAM)
        rp = imem.read_port()
        rp2 = imem.read_port()
        m.d.comb += [
            wp.addr.eq(self.imem.addr),
            wp.data.eq(self.imem.data),
            wp.en.eq(self.imem.en & ~self.busy),
        ]
        pick2 = Signal()  # the prefetch in flight is the instruction after next (rp2)
        nxt = data.View(layout, Mux(pick2, rp2.data, rp.data))
        ir = Signal(layout)
        pc = Signal(c.imem_addr_bits + 1)
        cr0, cr1, cr2, co0, co1 = (
            Signal(c.count_bits, name=n) for n in ("c_r0", "c_r1", "c_r2", "c_o0", "c_o1")
        )
        a_r0, a_r1, a_r2, a_o0, a_o1 = (
            Signal(c.nbin_addr_bits, name=n) for n in ("a_r0", "a_r1", "a_r2", "a_o0", "a_o1")
        )
        a_sb = Signal(c.sb_addr_bits)
        a_out = Signal(c.nbout_addr_bits)
        drain = Signal(range(self.drain + 1))
        # NBout writes in flight: entry j = (output finished, address) of the step issued j + 1
        # cycles ago; its write happens drain - 1 - j cycles from now
        pend_v = [Signal(name=f"pend_v{j}") for j in range(self.drain)]
        pend_a = [Signal(c.nbout_addr_bits, name=f"pend_a{j}") for j in range(self.drain)]
        hazard = Signal()  # the step to issue reads an NBout word still in flight: stall

        # loop count - 1 of the current instruction, registered at load: the loop-end compares
        # need no subtractor
        last_r0, last_r1, last_r2, last_o0, last_o1 = (
            Signal(c.count_bits, name=f"last_{n}") for n in ("r0", "r1", "r2", "o0", "o1")
        )

        def load(word):
            return [
                ir.eq(word),
                last_r0.eq(word.n_r0 - 1),
                last_r1.eq(word.n_r1 - 1),
                last_r2.eq(word.n_r2 - 1),
                last_o0.eq(word.n_o0 - 1),
                last_o1.eq(word.n_o1 - 1),
                cr0.eq(0),
                cr1.eq(0),
                cr2.eq(0),
                co0.eq(0),
                co1.eq(0),
                a_r0.eq(word.nbin_addr),
                a_r1.eq(word.nbin_addr),
                a_r2.eq(word.nbin_addr),
                a_o0.eq(word.nbin_addr),
                a_o1.eq(word.nbin_addr),
                a_sb.eq(word.sb_addr),
                a_out.eq(word.nbout_addr),
            ]

        end_r0 = cr0 == last_r0
        end_r1 = cr1 == last_r1
        end_r2 = cr2 == last_r2
        end_o0 = co0 == last_o0
        end_o1 = co1 == last_o1
        last = end_r0 & end_r1 & end_r2
        advance = Signal()  # the current instruction issues its last step this cycle

        m.d.comb += [
            self.nbin_addr.eq(a_r0),
            self.sb_addr.eq(a_sb),
            self.nbout_addr.eq(a_out),
            self.ctl.first.eq((cr0 == 0) & (cr1 == 0) & (cr2 == 0)),
            self.ctl.last.eq(last),
            self.ctl.nfu1_op.eq(ir.nfu1_op),
            self.ctl.nfu2_op.eq(ir.nfu2_op),
            self.ctl.nfu2_out.eq(ir.nfu2_out),
            self.ctl.nfu3_op.eq(ir.nfu3_op),
            self.ctl.avg_recip.eq(ir.avg_recip),
            self.ctl.nbout_read.eq(ir.nbout_read),
            self.ctl.addr.eq(a_out),
            self.stalls.eq(self.cycles - self.nfu_busy),
        ]
        with m.If(self.busy):
            m.d.sync += self.cycles.eq(self.cycles + 1)
        with m.If(self.issue):
            m.d.sync += self.nfu_busy.eq(self.nfu_busy + 1)
        m.d.sync += self.done.eq(0)

        # Outputs are plain expressions of the state (continuous assignments in Verilog), so they
        # are defined from time 0 in every simulator, before the first state change.
        with m.FSM() as fsm:
            with m.State("IDLE"):
                with m.If(self.start):
                    m.d.sync += [self.cycles.eq(0), self.nfu_busy.eq(0)]
                    m.next = "FETCH"
            with m.State("FETCH"):
                m.d.sync += [*load(nxt), pc.eq(0)]
                m.next = "RUN"
            with m.State("RUN"), m.If(~hazard):
                with m.If(last):
                    m.d.sync += a_out.eq(a_out + 1)
                    with m.If(ir.sb_reuse):
                        m.d.sync += a_sb.eq(ir.sb_addr)
                    with m.Else():
                        m.d.sync += a_sb.eq(a_sb + 1)
                    m.d.sync += [cr0.eq(0), cr1.eq(0), cr2.eq(0)]
                    with m.If(~end_o0):
                        nb = a_o0 + ir.s_o0
                        m.d.sync += [
                            co0.eq(co0 + 1),
                            a_o0.eq(nb),
                            a_r2.eq(nb),
                            a_r1.eq(nb),
                            a_r0.eq(nb),
                        ]
                    with m.Elif(~end_o1):
                        nb = a_o1 + ir.s_o1
                        m.d.sync += [
                            co0.eq(0),
                            co1.eq(co1 + 1),
                            a_o1.eq(nb),
                            a_o0.eq(nb),
                            a_r2.eq(nb),
                            a_r1.eq(nb),
                            a_r0.eq(nb),
                        ]
                    with m.Elif(ir.end):
                        m.d.sync += drain.eq(self.drain)
                        m.next = "DRAIN"
                    with m.Else():
                        m.d.sync += [*load(nxt), pc.eq(pc + 1)]
                with m.Else():
                    m.d.sync += a_sb.eq(a_sb + 1)
                    with m.If(~end_r0):
                        m.d.sync += [cr0.eq(cr0 + 1), a_r0.eq(a_r0 + ir.s_r0)]
                    with m.Elif(~end_r1):
                        nb = a_r1 + ir.s_r1
                        m.d.sync += [cr0.eq(0), cr1.eq(cr1 + 1), a_r1.eq(nb), a_r0.eq(nb)]
                    with m.Else():
                        nb = a_r2 + ir.s_r2
                        m.d.sync += [
                            cr0.eq(0),
                            cr1.eq(0),
                            cr2.eq(cr2 + 1),
                            a_r2.eq(nb),
                            a_r1.eq(nb),
                            a_r0.eq(nb),
                        ]
            with m.State("DRAIN"):
                m.d.sync += drain.eq(drain - 1)
                with m.If(drain == 1):
                    m.d.sync += self.done.eq(1)
                    m.next = "IDLE"
        running = fsm.ongoing("RUN")
        in_flight = Cat(v & (a == a_out) for v, a in zip(pend_v, pend_a, strict=True)).any()
        m.d.sync += [pend_v[0].eq(self.issue & last), pend_a[0].eq(a_out)]
        m.d.sync += [pend_v[j].eq(pend_v[j - 1]) for j in range(1, self.drain)]
        m.d.sync += [pend_a[j].eq(pend_a[j - 1]) for j in range(1, self.drain)]
        m.d.comb += [
            hazard.eq(running & self.ctl.first & ir.nbout_read & in_flight),
            self.busy.eq(~fsm.ongoing("IDLE")),
            self.issue.eq(running & ~hazard),
            advance.eq(self.issue & last & end_o0 & end_o1),
            # both prefetch addresses are computed from pc alone; `advance` is registered and
            # selects between the two read data (the instruction at pc + 1 + advance)
            rp.addr.eq(Mux(running, pc + 1, fsm.ongoing("FETCH"))),
            rp2.addr.eq(pc + 2),
        ]
        m.d.sync += pick2.eq(running & advance)
        return m
