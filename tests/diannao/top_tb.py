"""Run one program on ``DianNaoTop`` in Amaranth's simulator, loaded through the host port.

Shared by the block tests that check the top level against the CP model
(``golden.diannao_cp.DianNaoCPModel``): the host writes NBin, SB, NBout (and the LFSR), the
program into the instruction memory, pulses ``start``, waits for ``done`` and reads back the
counters, NBout words and (cores with ``weight_update``) SB rows.
"""

from __future__ import annotations

from amaranth.sim import Simulator

from accelgen.hdl.diannao.top import DianNaoTop
from accelgen.spec.diannao import Sel, encode


def _word(lanes, bits: int) -> int:
    return sum((int(v) & ((1 << bits) - 1)) << (j * bits) for j, v in enumerate(lanes))


def _lanes(raw: int, bits: int, n: int) -> list[int]:
    out = []
    for j in range(n):
        v = (raw >> (j * bits)) & ((1 << bits) - 1)
        out.append(v - (1 << bits) if v >> (bits - 1) else v)
    return out


def run_top(
    config,
    program,
    *,
    nbin,
    sb,
    nbout,
    limit: int,
    nbout_words: int,
    sb_rows: int = 0,
    lfsr: int | None = None,
) -> dict:
    """Load, run (at most ``limit`` cycles after ``start``) and read back; returns
    ``{"counters": (cycles, nfu_busy, stalls), "nbout": [[lane, ...], ...], "sb": [...],
    "lfsr": state or None}`` with signed lanes."""
    num, tn = config.numerics, config.tn
    dut = DianNaoTop(config)
    got: dict = {}

    async def tb(ctx):
        writes = [] if lfsr is None else [(Sel.LFSR, 0, lfsr)]
        writes += [(Sel.NBIN, a, _word(v, num.act_bits)) for a, v in enumerate(nbin)]
        writes += [
            (Sel.SB, a * tn + r, _word(sb[a, r], num.w_bits))
            for a in range(len(sb))
            for r in range(tn)
        ]
        writes += [(Sel.NBOUT, a, _word(v, num.acc_bits)) for a, v in enumerate(nbout)]
        writes += [(Sel.IMEM, a, encode(ins, config)) for a, ins in enumerate(program)]
        for sel, addr, data in writes:
            ctx.set(dut.host_we, 1)
            ctx.set(dut.host_sel, sel)
            ctx.set(dut.host_addr, addr)
            ctx.set(dut.host_wdata, data)
            await ctx.tick()
        ctx.set(dut.host_we, 0)
        ctx.set(dut.start, 1)
        await ctx.tick()
        ctx.set(dut.start, 0)
        for _ in range(limit):
            await ctx.tick()
            if ctx.get(dut.done):
                break
        got["counters"] = (ctx.get(dut.cycles), ctx.get(dut.nfu_busy), ctx.get(dut.stalls))
        got["lfsr"] = None if lfsr is None else ctx.get(dut.lfsr_state)
        got["nbout"], got["sb"] = [], []
        for a in range(nbout_words):
            ctx.set(dut.host_raddr, a)
            await ctx.tick()
            got["nbout"].append(_lanes(ctx.get(dut.host_rdata), num.acc_bits, tn))
        for a in range(sb_rows):
            ctx.set(dut.host_sb_raddr, a)
            await ctx.tick()
            got["sb"].append(_lanes(ctx.get(dut.host_sb_rdata), num.w_bits, tn))

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(tb)
    sim.run()
    return got
