"""DianNao control processor: instruction memory + sequencer (Chen et al., "DianNao", Sec. 5).

The sequencer walks each instruction's loop nest (:mod:`accelgen.spec.diannao`) and issues
one NFU step per cycle: the NBin, SB and NBout read addresses plus the control word
(:func:`accelgen.hdl.diannao.nfu.ctl_layout`). Address arithmetic is incremental (adders, no
multipliers). The next instruction is prefetched while the current one runs, so instructions
issue back to back.

Every decision of a cycle is taken from registers (the clock-rate work of ``docs/synth.md``):
the next two instruction words are held in registers (``nxt1``, ``nxt2``; the instruction RAM
reads the words after them, and a copy of the first three words kept at host-write time fills
them in the fetch cycle), the loop ends and the "first step of an output" flag are registered
one step ahead, and so is the interlock stall (computed from the state the current cycle leads
to). None of this changes a cycle count.

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

from amaranth.hdl import Cat, Const, Module, Mux, Signal, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from accelgen.spec.diannao import ALPHA_BITS, DianNaoConfig, field_slices, instruction_bits

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
    upd, upd_row, upd_lanes, upd_alpha, upd_stochastic : Out
        Cores with ``weight_update`` only: the issued step belongs to an update instruction,
        its SB row (the output-loop counter), the lanes it updates (``upd_lanes`` on an
        output's last step, else ``tn``), the instruction's ``alpha`` and rounding mode. An
        update instruction's ``nbout_addr`` output is its fixed error word, and its steps
        write no NBout word (no interlock entry).
    """

    def __init__(self, config: DianNaoConfig, *, drain: int = 4) -> None:
        self.config = config
        self.drain = drain
        upd_ports = {}
        if config.weight_update:
            upd_ports = {
                "upd": Out(1),
                "upd_row": Out(range(config.tn)),
                "upd_lanes": Out(range(config.tn + 1)),
                "upd_alpha": Out(ALPHA_BITS),
                "upd_stochastic": Out(1),
            }
        super().__init__(
            {
                **upd_ports,
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
        abits = c.imem_addr_bits
        m.submodules.imem = imem = Memory(shape=instruction_bits(c), depth=c.imem_depth, init=[])
        wp = imem.write_port()
        # two read ports: the words at pc + 3 and pc + 4, one of which becomes the prefetched
        # word at pc + 2 when the instruction advances (the registered `advance` picks the
        # right one a cycle later; synthesis duplicates the small RAM)
        rpa = imem.read_port()
        rpb = imem.read_port()
        host_we = self.imem.en & ~self.busy
        m.d.comb += [
            wp.addr.eq(self.imem.addr),
            wp.data.eq(self.imem.data),
            wp.en.eq(host_we),
        ]
        # the first three instruction words, also kept in registers: the fetch cycle loads the
        # prefetch queue from them, so no RAM read data feeds the loop state (a block RAM's read
        # data arrives late in the cycle). A host write reaches them one cycle after the RAM
        # (through a registered write, so that `busy` does not drive their 3 x 114 enables):
        # write an instruction at least one cycle before `start`
        shadow = [Signal(layout, name=f"imem_w{k}", reset_less=True) for k in range(3)]
        shadow_data = Signal(instruction_bits(c), name="imem_wdata", reset_less=True)
        shadow_we = [Signal(name=f"imem_we{k}") for k in range(3)]
        m.d.sync += shadow_data.eq(self.imem.data)
        for k, word in enumerate(shadow):
            m.d.sync += shadow_we[k].eq(host_we & (self.imem.addr == k % (1 << abits)))
            with m.If(shadow_we[k]):
                m.d.sync += word.eq(shadow_data)
        ir = Signal(layout)
        nxt1 = Signal(layout, name="nxt1")  # the word at pc + 1 (the next instruction)
        nxt2 = Signal(layout, name="nxt2")  # the word at pc + 2
        pc = Signal(abits)
        fetch_a = Signal(abits, init=3 % (1 << abits))  # RAM read addresses: pc + 3, pc + 4
        fetch_b = Signal(abits, init=4 % (1 << abits))
        pick2 = Signal()  # the instruction advanced last cycle: the word at pc + 3 is port b's
        fetched = Mux(pick2, rpb.data, rpa.data)
        m.d.comb += [rpa.addr.eq(fetch_a), rpb.addr.eq(fetch_b)]

        names = ("r0", "r1", "r2", "o0", "o1")
        cnt = {n: Signal(c.count_bits, name=f"c_{n}") for n in names}
        # per loop, registered at load: count - 1 (the loop-end compare needs no subtractor),
        # count - 2 (the compare that registers the loop end one step early) and count == 1
        last = {n: Signal(c.count_bits, name=f"last_{n}") for n in names}
        pen = {n: Signal(c.count_bits, name=f"pen_{n}") for n in names}
        one = {n: Signal(name=f"one_{n}") for n in names}
        # end[n] = (cnt[n] == last[n]), kept as a register
        end = {n: Signal(name=f"end_{n}") for n in names}
        first = Signal(name="first_step")  # = the reduction counters are all 0
        addr = {n: Signal(c.nbin_addr_bits, name=f"a_{n}") for n in names}
        a_sb = Signal(c.sb_addr_bits)
        a_out = Signal(c.nbout_addr_bits)
        drain = Signal(range(self.drain + 1))
        # NBout writes in flight: entry j = (output finished, address) of the step issued j + 1
        # cycles ago; its write happens drain - 1 - j cycles from now
        pend_v = [Signal(name=f"pend_v{j}") for j in range(self.drain)]
        pend_a = [Signal(c.nbout_addr_bits, name=f"pend_a{j}") for j in range(self.drain)]
        # the step to issue reads an NBout word still in flight: stall. A register, computed a
        # cycle ahead from the state the cycle's step (issued or not) leads to
        hazard = Signal()

        def load(word):
            out = [ir.eq(word), first.eq(1), a_sb.eq(word.sb_addr), a_out.eq(word.nbout_addr)]
            for n in names:
                count = getattr(word, f"n_{n}")
                out += [
                    last[n].eq(count - 1),
                    pen[n].eq(count - 2),
                    one[n].eq(count == 1),
                    end[n].eq(count == 1),
                    cnt[n].eq(0),
                    addr[n].eq(word.nbin_addr),
                ]
            return out

        def restart(n):
            return [cnt[n].eq(0), end[n].eq(one[n])]

        def step(n):
            return [cnt[n].eq(cnt[n] + 1), end[n].eq(cnt[n] == pen[n])]

        last_step = end["r0"] & end["r1"] & end["r2"]
        advance = Signal()  # the current instruction issues its last step this cycle

        upd = c.weight_update
        is_upd = ir.upd if upd else Const(0)
        if upd:
            m.d.comb += [
                self.ctl.drelu.eq(ir.drelu),
                self.upd.eq(is_upd),
                self.upd_row.eq(cnt["o0"][: c.log2_tn]),
                self.upd_lanes.eq(Mux(last_step, ir.upd_lanes, c.tn)),
                self.upd_alpha.eq(ir.alpha),
                self.upd_stochastic.eq(ir.stochastic),
            ]
        m.d.comb += [
            self.nbin_addr.eq(addr["r0"]),
            self.sb_addr.eq(a_sb),
            self.nbout_addr.eq(Mux(is_upd, ir.nbout_addr, a_out) if upd else a_out),
            self.ctl.first.eq(first),
            self.ctl.last.eq(last_step),
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

        # next cycle's interlock: entries 0 .. drain - 2 are still in flight then (as entries
        # 1 .. drain - 1), plus the output finishing now (as entry 0)
        def in_flight(a):
            return Cat(pend_v[j] & (pend_a[j] == a) for j in range(self.drain - 1)).any()

        a_inc = Signal.like(a_out, name="a_out_inc")
        m.d.comb += a_inc.eq(a_out + 1)
        hazard_hold = in_flight(a_out)  # a stalled step reads the same word next cycle
        hazard_output = ir.nbout_read & (in_flight(a_inc) | (a_out == a_inc))
        same_out = a_out == nxt1.nbout_addr  # the output finishing now: its write in flight
        if upd:
            same_out = same_out & ~is_upd  # an update step writes no NBout word
        hazard_ins = nxt1.nbout_read & (in_flight(nxt1.nbout_addr) | same_out)
        m.d.sync += hazard.eq(0)

        # Outputs are plain expressions of the state (continuous assignments in Verilog), so they
        # are defined from time 0 in every simulator, before the first state change.
        with m.FSM() as fsm:
            with m.State("IDLE"):
                m.d.sync += [fetch_a.eq(3 % (1 << abits)), fetch_b.eq(4 % (1 << abits))]
                with m.If(self.start):
                    m.d.sync += [self.cycles.eq(0), self.nfu_busy.eq(0)]
                    m.next = "FETCH"
            with m.State("FETCH"):
                m.d.sync += [*load(shadow[0]), nxt1.eq(shadow[1]), nxt2.eq(shadow[2]), pc.eq(0)]
                m.next = "RUN"
            with m.State("RUN"):
                with m.If(hazard):
                    m.d.sync += hazard.eq(hazard_hold)
                with m.Elif(last_step):
                    m.d.sync += [a_out.eq(a_inc), first.eq(1)]
                    with m.If(ir.sb_reuse):
                        m.d.sync += a_sb.eq(ir.sb_addr)
                    with m.Else():
                        m.d.sync += a_sb.eq(a_sb + 1)
                    m.d.sync += [*restart("r0"), *restart("r1"), *restart("r2")]
                    with m.If(~end["o0"]):
                        nb = addr["o0"] + ir.s_o0
                        m.d.sync += [
                            *step("o0"),
                            *(addr[n].eq(nb) for n in ("o0", "r2", "r1", "r0")),
                        ]
                        m.d.sync += hazard.eq(hazard_output)
                    with m.Elif(~end["o1"]):
                        nb = addr["o1"] + ir.s_o1
                        m.d.sync += [*restart("o0"), *step("o1"), *(addr[n].eq(nb) for n in names)]
                        m.d.sync += hazard.eq(hazard_output)
                    with m.Elif(ir.end):
                        m.d.sync += drain.eq(self.drain)
                        m.next = "DRAIN"
                    with m.Else():
                        m.d.sync += [*load(nxt1), pc.eq(pc + 1), nxt1.eq(nxt2), nxt2.eq(fetched)]
                        m.d.sync += [fetch_a.eq(fetch_a + 1), fetch_b.eq(fetch_b + 1)]
                        m.d.sync += hazard.eq(hazard_ins)
                with m.Else():
                    m.d.sync += [a_sb.eq(a_sb + 1), first.eq(0)]
                    with m.If(~end["r0"]):
                        m.d.sync += [*step("r0"), addr["r0"].eq(addr["r0"] + ir.s_r0)]
                    with m.Elif(~end["r1"]):
                        nb = addr["r1"] + ir.s_r1
                        m.d.sync += [
                            *restart("r0"),
                            *step("r1"),
                            addr["r1"].eq(nb),
                            addr["r0"].eq(nb),
                        ]
                    with m.Else():
                        nb = addr["r2"] + ir.s_r2
                        m.d.sync += [
                            *restart("r0"),
                            *restart("r1"),
                            *step("r2"),
                            *(addr[n].eq(nb) for n in ("r2", "r1", "r0")),
                        ]
            with m.State("DRAIN"):
                m.d.sync += drain.eq(drain - 1)
                with m.If(drain == 1):
                    m.d.sync += self.done.eq(1)
                    m.next = "IDLE"
        running = fsm.ongoing("RUN")
        nbout_write = self.issue & last_step
        if upd:
            nbout_write = nbout_write & ~is_upd
        m.d.sync += [
            pend_v[0].eq(nbout_write),
            pend_a[0].eq(a_out),
        ]
        m.d.sync += [pend_v[j].eq(pend_v[j - 1]) for j in range(1, self.drain)]
        m.d.sync += [pend_a[j].eq(pend_a[j - 1]) for j in range(1, self.drain)]
        m.d.comb += [
            self.busy.eq(~fsm.ongoing("IDLE")),
            self.issue.eq(running & ~hazard),
            advance.eq(self.issue & last_step & end["o0"] & end["o1"]),
        ]
        m.d.sync += pick2.eq(running & advance)
        return m
