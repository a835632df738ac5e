"""Fast unit tests of the DianNao blocks on Amaranth's simulator, against the golden rules."""

import gc
import warnings

import numpy as np
import pytest
from amaranth.sim import Simulator
from top_tb import run_top

from accelgen.golden.arith import avg_reciprocal, multiply, round_shift, sat, sat_add, smax, smin
from accelgen.golden.diannao_cp import (
    DRAIN_CYCLES,
    FETCH_CYCLES,
    DianNaoCPModel,
    program_cycles,
)
from accelgen.golden.layers import default_pwl
from accelgen.golden.pwl import evaluate
from accelgen.hdl.diannao.buffers import Buffer
from accelgen.hdl.diannao.cp import ControlProcessor
from accelgen.hdl.diannao.nfu import NFU
from accelgen.host.diannao import pwl_writes
from accelgen.spec.diannao import (
    DianNaoConfig,
    Instruction,
    NFU1Op,
    NFU2Op,
    NFU2Out,
    NFU3Op,
    encode,
)


def _run(dut, tb):
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(tb)
    sim.run()


def _golden_output(op, steps, psum, read, num, table, recip):
    """Expected NBout word of one output from the numerics rules (not from the RTL)."""
    nfu2, out, nfu3 = op
    if nfu2 == NFU2Op.MAX:
        acc = np.max([x for x, _ in steps], axis=0)
    else:
        acc = psum if read else np.zeros_like(psum)
        for x, w in steps:
            if nfu2 == NFU2Op.MAC:
                value = multiply(x[None, :], w, w_frac=num.w_frac, act_bits=num.act_bits).sum(1)
            else:
                value = x
            acc = sat_add(acc, value, acc_bits=num.acc_bits)
    if out == NFU2Out.PARTIAL:
        return acc
    if nfu3 == NFU3Op.AVG:
        return sat(num.act_bits, round_shift(acc * recip, 16))
    y = sat(num.act_bits, acc)
    if nfu3 == NFU3Op.RELU:
        return np.maximum(y, 0)
    if nfu3 == NFU3Op.PWL:
        return evaluate(table, y)
    return y


OPS = [
    (NFU2Op.MAC, NFU2Out.NFU3, NFU3Op.NONE),
    (NFU2Op.MAC, NFU2Out.NFU3, NFU3Op.RELU),
    (NFU2Op.MAC, NFU2Out.NFU3, NFU3Op.PWL),
    (NFU2Op.MAC, NFU2Out.PARTIAL, NFU3Op.NONE),
    (NFU2Op.SUM, NFU2Out.NFU3, NFU3Op.AVG),
    (NFU2Op.MAX, NFU2Out.NFU3, NFU3Op.NONE),
]


@pytest.mark.parametrize("tn, acc_bits, act", [(2, 32, "sigmoid"), (4, 24, "tanh")])
def test_nfu_steps_match_the_numerics(tn, acc_bits, act):
    config = DianNaoConfig(tn=tn, acc_bits=acc_bits, nbout_depth=16)
    num = config.numerics
    table = default_pwl(act, num.act_bits, num.act_frac)
    rng = np.random.default_rng(tn)
    outputs = []
    for i in range(40):
        op = OPS[i % len(OPS)]
        big = i % 5 == 0  # full-scale values: products and accumulators saturate
        lo, hi = (smin(16), smax(16)) if big else (-3000, 3000)
        n = int(rng.integers(1, 5)) if not big else 40
        steps = [
            (rng.integers(lo, hi + 1, tn), rng.integers(lo, hi + 1, (tn, tn))) for _ in range(n)
        ]
        psum = rng.integers(-(2**20), 2**20, tn)
        read = bool(rng.integers(0, 2)) and op[0] != NFU2Op.MAX
        recip = avg_reciprocal(int(rng.integers(1, 10)))
        outputs.append((op, steps, psum, read, recip, i % 16))
    dut = NFU(config)
    got = []

    def word(lanes, bits):
        return sum((int(v) & ((1 << bits) - 1)) << (j * bits) for j, v in enumerate(lanes))

    async def tb(ctx):
        for addr, value in pwl_writes(table):
            ctx.set(dut.pwl.en, 1)
            ctx.set(dut.pwl.addr, addr)
            ctx.set(dut.pwl.data, value & 0xFFFFFFFF)
            await ctx.tick()
        ctx.set(dut.pwl.en, 0)
        pending = []
        for op, steps, psum, read, recip, addr in outputs:
            for k, (x, w) in enumerate(steps):
                pending.append((op, k == 0, k == len(steps) - 1, x, w, psum, read, recip, addr))
        for cycle in range(len(pending) + NFU.latency + 1):
            if cycle < len(pending):
                op, first, last, x, w, psum, read, recip, addr = pending[cycle]
                ctx.set(dut.valid, 1)
                ctx.set(dut.x.as_value(), word(x, num.act_bits))
                ctx.set(dut.w.as_value(), word(w.reshape(-1), num.w_bits))
                ctx.set(dut.psum.as_value(), word(psum, num.acc_bits))
                ctl = dut.ctl
                ctx.set(ctl.first, first)
                ctx.set(ctl.last, last)
                ctx.set(ctl.nfu1_op, NFU1Op.MUL if op[0] == NFU2Op.MAC else NFU1Op.BYPASS)
                ctx.set(ctl.nfu2_op, op[0])
                ctx.set(ctl.nfu2_out, op[1])
                ctx.set(ctl.nfu3_op, op[2])
                ctx.set(ctl.avg_recip, recip)
                ctx.set(ctl.nbout_read, read)
                ctx.set(ctl.addr, addr)
            else:
                ctx.set(dut.valid, 0)
            await ctx.tick()
            if ctx.get(dut.out_valid):
                data = ctx.get(dut.out_data)
                got.append((ctx.get(dut.out_addr), [int(data[j]) for j in range(tn)]))

    _run(dut, tb)
    assert len(got) == len(outputs)
    for (op, steps, psum, read, recip, addr), (gaddr, lanes) in zip(outputs, got, strict=True):
        want = _golden_output(op, steps, psum, read, num, table, recip)
        assert gaddr == addr
        assert lanes == want.tolist(), op


def _expand(program):
    """The issue stream of a program, straight from the ISA's loop-nest definition."""
    out = []
    for ins in program:
        sb = ins.sb_addr
        o = ins.nbout_addr
        for o1 in range(ins.n_o1):
            for o0 in range(ins.n_o0):
                if ins.sb_reuse:
                    sb = ins.sb_addr
                red = ins.n_r2 * ins.n_r1 * ins.n_r0
                k = 0
                for r2 in range(ins.n_r2):
                    for r1 in range(ins.n_r1):
                        for r0 in range(ins.n_r0):
                            nb = (
                                ins.nbin_addr
                                + o1 * ins.s_o1
                                + o0 * ins.s_o0
                                + r2 * ins.s_r2
                                + r1 * ins.s_r1
                                + r0 * ins.s_r0
                            )
                            out.append((nb, sb, o, int(k == 0), int(k == red - 1)))
                            sb += 1
                            k += 1
                o += 1
        if ins.end:
            break
    return out


def test_cp_issues_the_loop_nest_back_to_back():
    config = DianNaoConfig(tn=2, nbin_depth=256, sb_depth=64, nbout_depth=64, imem_depth=8)
    program = [
        Instruction(
            nbin_addr=3,
            s_r0=1,
            n_r0=3,
            s_r1=10,
            n_r1=2,
            s_r2=40,
            n_r2=2,
            s_o0=2,
            n_o0=3,
            s_o1=20,
            n_o1=2,
            sb_addr=5,
            nbout_addr=1,
        ),
        Instruction(n_r0=1, n_o0=1, sb_addr=0, nbout_addr=20),  # single-step instruction
        Instruction(
            nbin_addr=100, n_r0=4, n_o0=5, s_o0=4, sb_reuse=False, sb_addr=30, nbout_addr=30
        ),
        Instruction(nbin_addr=7, n_r0=1, n_o0=2, s_o0=1, nbout_addr=40, end=True),
        Instruction(nbin_addr=9, n_r0=5, nbout_addr=50),  # after end: never issued
    ]
    want = _expand(program)
    dut = ControlProcessor(config, drain=4)
    seen, counters = [], {}

    async def tb(ctx):
        for i, ins in enumerate(program):
            ctx.set(dut.imem.en, 1)
            ctx.set(dut.imem.addr, i)
            ctx.set(dut.imem.data, encode(ins, config))
            await ctx.tick()
        ctx.set(dut.imem.en, 0)
        await ctx.tick()
        ctx.set(dut.start, 1)
        await ctx.tick()
        ctx.set(dut.start, 0)
        for _ in range(1000):
            if ctx.get(dut.issue):
                seen.append(
                    (
                        ctx.get(dut.nbin_addr),
                        ctx.get(dut.sb_addr),
                        ctx.get(dut.nbout_addr),
                        ctx.get(dut.ctl.first),
                        ctx.get(dut.ctl.last),
                    )
                )
            await ctx.tick()
            if ctx.get(dut.done):
                break
        counters.update(
            cycles=ctx.get(dut.cycles), busy=ctx.get(dut.nfu_busy), stalls=ctx.get(dut.stalls)
        )

    _run(dut, tb)
    assert seen == want
    assert counters == {"cycles": 1 + len(want) + 4, "busy": len(want), "stalls": 5}


def _random_program(rng, config, length):
    """A program of ``length`` small instructions whose outputs often revisit NBout words
    still in flight (a 4-word NBout), many of them reading those words."""
    program = []
    for i in range(length):
        n_r0, n_r1, n_o0, n_o1 = (int(rng.integers(1, k)) for k in (5, 3, 3, 3))
        if rng.random() < 0.3:  # single-step instructions
            n_r0 = n_r1 = n_o0 = n_o1 = 1
        outputs = n_o0 * n_o1
        program.append(
            Instruction(
                n_r0=n_r0,
                n_r1=n_r1,
                s_r1=1,
                n_o0=n_o0,
                s_o0=1,
                n_o1=n_o1,
                s_o1=2,
                sb_addr=int(rng.integers(0, 4)),
                sb_reuse=bool(rng.integers(0, 2)),
                nbout_addr=int(rng.integers(0, config.nbout_depth - outputs + 1)),
                nbout_read=bool(rng.random() < 0.7),
                end=i == length - 1,
            )
        )
    return program


@pytest.mark.parametrize("seed", range(4))
def test_cp_interlock_stalls_exactly_as_the_cycle_model(seed):
    """Random programs re-reading NBout words 1..20 cycles after their last step issued: the CP
    (at the core's real drain distance) issues the ISA's loop nest in order and its counters
    equal the CP cycle model's (which places every stall from the timing contract)."""
    config = DianNaoConfig(tn=2, nbin_depth=16, sb_depth=64, nbout_depth=4, imem_depth=16)
    rng = np.random.default_rng(seed)
    programs = [_random_program(rng, config, int(rng.integers(1, 12))) for _ in range(4)]
    dut = ControlProcessor(config, drain=DRAIN_CYCLES)
    runs = []

    async def tb(ctx):
        for program in programs:  # back to back: the host reloads while idle, then starts
            for i, ins in enumerate(program):
                ctx.set(dut.imem.en, 1)
                ctx.set(dut.imem.addr, i)
                ctx.set(dut.imem.data, encode(ins, config))
                await ctx.tick()
            ctx.set(dut.imem.en, 0)
            ctx.set(dut.start, 1)
            await ctx.tick()
            ctx.set(dut.start, 0)
            seen = []
            for _ in range(2000):
                if ctx.get(dut.issue):
                    seen.append(
                        (
                            ctx.get(dut.nbin_addr),
                            ctx.get(dut.sb_addr),
                            ctx.get(dut.nbout_addr),
                            ctx.get(dut.ctl.first),
                            ctx.get(dut.ctl.last),
                        )
                    )
                await ctx.tick()
                if ctx.get(dut.done):
                    break
            runs.append((seen, ctx.get(dut.cycles), ctx.get(dut.nfu_busy)))

    _run(dut, tb)
    stalls = 0
    for program, (seen, cycles, busy) in zip(programs, runs, strict=True):
        want = program_cycles(program)
        assert seen == _expand(program)
        assert (cycles, busy) == (want.cycles, want.busy)
        stalls += want.stall - FETCH_CYCLES - DRAIN_CYCLES
    assert stalls > 0  # the programs do stall


def test_buffer_row_writes_and_read_latency():
    dut = Buffer(depth=8, width=32, granularity=8)
    log = []

    async def tb(ctx):
        ctx.set(dut.w.addr, 3)
        ctx.set(dut.w.data, 0xAABBCCDD)
        ctx.set(dut.w.en, 0b1111)
        await ctx.tick()
        ctx.set(dut.w.data, 0x11223344)
        ctx.set(dut.w.en, 0b0100)  # one lane only
        await ctx.tick()
        ctx.set(dut.w.en, 0)
        ctx.set(dut.r.addr, 3)
        log.append(ctx.get(dut.r.data))  # previous address: not yet word 3
        await ctx.tick()
        log.append(ctx.get(dut.r.data))

    _run(dut, tb)
    assert log[1] == 0xAA22CCDD
    with warnings.catch_warnings():  # the half-built component is never elaborated
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match="granularity 5 must divide the width 32"):
            Buffer(depth=8, width=32, granularity=5)
        gc.collect()


def test_top_interlock_rereads_partial_sums_still_in_the_pipeline():
    """Hand-written program revisiting NBout words while their writes are in flight (1, 7 and
    15 cycles after the write's last step issued, and 16: no wait): the RTL top reads the new
    values, as the sequential ISA semantics of the CP model say, with the model's cycles."""
    config = DianNaoConfig(tn=2, nbin_depth=16, sb_depth=32, nbout_depth=8, imem_depth=16)
    rng = np.random.default_rng(8)
    nbin = rng.integers(-3000, 3000, (16, 2))
    sbw = rng.integers(-3000, 3000, (32, 2, 2))
    nbout = rng.integers(-3000, 3000, (8, 2))
    part, byp = NFU2Out.PARTIAL, NFU1Op.BYPASS
    program = [
        Instruction(n_r0=2, n_o0=3, s_o0=1, nbout_addr=0, nbout_read=True, nfu2_out=part),
        # reads word 2 the cycle after its last step issued
        Instruction(
            nfu1_op=byp,
            nfu2_op=NFU2Op.SUM,
            nbin_addr=3,
            nbout_addr=2,
            nbout_read=True,
            nfu2_out=part,
        ),
        Instruction(
            n_r0=3,
            n_o0=2,
            s_o0=2,
            nbin_addr=4,
            sb_addr=2,
            nbout_addr=0,
            nbout_read=True,
            nfu3_op=NFU3Op.RELU,
        ),
        Instruction(nbin_addr=8, sb_addr=5, nbout_addr=2, nbout_read=True),
        Instruction(
            nfu1_op=byp, nfu2_op=NFU2Op.MAX, n_r0=2, nbin_addr=9, nbout_addr=3, nbout_read=True
        ),
        Instruction(
            nfu1_op=byp,
            nfu2_op=NFU2Op.SUM,
            nfu3_op=NFU3Op.AVG,
            n_r0=4,
            nbin_addr=10,
            avg_recip=avg_reciprocal(4),
            nbout_addr=4,
        ),
        Instruction(sb_addr=6, nbout_addr=5, nbout_read=True, nfu2_out=part),
        Instruction(n_r0=14, sb_addr=7, nbout_addr=6, nfu2_out=part),  # 14 steps: 1 stall
        Instruction(nbin_addr=1, sb_addr=20, nbout_addr=5, nbout_read=True),
        Instruction(n_r0=15, sb_addr=0, nbout_addr=7, nfu2_out=part),  # 15 steps: no stall
        Instruction(nbin_addr=2, sb_addr=21, nbout_addr=5, nbout_read=True, end=True),
    ]
    model = DianNaoCPModel(config)
    model.nbin[:], model.sb[:], model.nbout[:] = nbin, sbw, nbout
    want = model.run(program)
    assert want.stall > 1 + 15  # the program does stall (fetch + drain: 16 cycles without one)
    got = run_top(config, program, nbin=nbin, sb=sbw, nbout=nbout, limit=500, nbout_words=8)
    assert got["nbout"] == model.nbout.tolist()
    assert got["counters"] == (want.cycles, want.busy, want.stall)
