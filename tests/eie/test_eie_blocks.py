"""Amaranth-simulator unit tests of the EIE blocks (fast, no Verilog build)."""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest
from amaranth.hdl import Elaboratable, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.sim import Simulator
from eie_cases import activations, random_layer

from accelgen.golden.arith import mac
from accelgen.golden.eie_cycles import predict_for
from accelgen.golden.netspec import run_eie
from accelgen.hdl.eie.actrw import ActRW
from accelgen.hdl.eie.arith import ArithUnit, sum_is_zero
from accelgen.hdl.eie.ccu import CCU, LNZD
from accelgen.hdl.eie.pointer import PointerUnit
from accelgen.hdl.eie.queue import ActivationQueue
from accelgen.hdl.eie.spmat import SpMatReader, is_successor
from accelgen.hdl.eie.top import EIETop
from accelgen.host.eie import build_image, pack_lines
from accelgen.spec.eie import EIEConfig


def run(dut, bench, clock: bool = True) -> None:
    sim = Simulator(dut)
    if clock:
        sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()


@pytest.mark.parametrize("n", [1, 2, 4, 5, 8, 16, 64])
def test_lnzd_finds_the_lowest_set_bit(n):
    dut = LNZD(n)
    rng = np.random.default_rng(n)
    masks = [0, (1 << n) - 1, 1 << (n - 1)] + [
        int(rng.integers(0, 1 << min(n, 62))) for _ in range(40)
    ]
    masks += [1 << int(k) for k in rng.integers(0, n, 10)]

    async def bench(ctx):
        for mask in masks:
            ctx.set(dut.mask, mask)
            assert ctx.get(dut.any) == (mask != 0)
            if mask:
                assert ctx.get(dut.index) == (mask & -mask).bit_length() - 1, hex(mask)

    run(dut, bench, clock=False)


@pytest.mark.parametrize("depth", [1, 2, 3, 8])
def test_queue_against_a_model(depth):
    dut = ActivationQueue(depth=depth, col_bits=10, act_bits=16)
    rng = np.random.default_rng(depth)

    async def bench(ctx):
        model: deque = deque()
        pushed = popped = 0
        for _ in range(300):
            push, pop = rng.random() < 0.6, rng.random() < 0.5
            col, act = int(rng.integers(0, 1024)), int(rng.integers(-32768, 32768))
            ctx.set(dut.w.valid, push)
            ctx.set(dut.w.payload.col, col)
            ctx.set(dut.w.payload.act, act)
            ctx.set(dut.r.ready, pop)
            assert ctx.get(dut.w.ready) == (len(model) < depth)
            assert ctx.get(dut.r.valid) == bool(model)
            assert ctx.get(dut.level) == len(model)
            if model:
                assert (ctx.get(dut.r.payload.col), ctx.get(dut.r.payload.act)) == model[0]
            do_pop = pop and bool(model)
            do_push = push and len(model) < depth
            await ctx.tick()
            if do_pop:
                model.popleft()
                popped += 1
            if do_push:
                model.append((col, act))
                pushed += 1
        assert pushed > 50 and popped > 50

    run(dut, bench)


def test_pointer_unit_reads_both_banks_in_one_cycle():
    depth = 37
    dut = PointerUnit(depth=depth, ptr_bits=13, col_bits=8, act_bits=16)
    rng = np.random.default_rng(3)
    mem = rng.integers(0, 1 << 13, depth)
    requests = [(int(rng.integers(0, 10)), int(rng.integers(0, depth - 11))) for _ in range(60)]

    async def bench(ctx):
        for a, p in enumerate(mem):
            ctx.set(dut.wr.addr, a)
            ctx.set(dut.wr.data, int(p))
            ctx.set(dut.wr.en, 1)
            await ctx.tick()
        ctx.set(dut.wr.en, 0)
        got, pending, taken_at = [], list(requests), []
        cycle = 0
        while len(got) < len(requests):
            ready = rng.random() < 0.7
            ctx.set(dut.out.ready, ready)
            if pending:
                base, col = pending[0]
                ctx.set(dut.col_in.valid, 1)
                ctx.set(dut.col_in.payload.col, col)
                ctx.set(dut.col_in.payload.act, col * 3 - 50)
                ctx.set(dut.ptr_base, base)
            else:
                ctx.set(dut.col_in.valid, 0)
            if ctx.get(dut.out.valid) and ready:
                got.append(
                    (ctx.get(dut.out.payload.act), ctx.get(dut.out.payload.lo),
                     ctx.get(dut.out.payload.hi))
                )  # fmt: skip
                assert taken_at[len(got) - 1] < cycle
            if pending and ctx.get(dut.col_in.ready):
                pending.pop(0)
                taken_at.append(cycle)
            await ctx.tick()
            cycle += 1
        want = [(c * 3 - 50, int(mem[b + c]), int(mem[b + c + 1])) for b, c in requests]
        assert got == want

    run(dut, bench)


def test_spmat_reader_issues_one_entry_per_cycle():
    rng = np.random.default_rng(4)
    n = 200
    v = rng.integers(0, 16, n)
    z = rng.integers(0, 16, n)
    lines = pack_lines(v, z)
    cuts = np.sort(rng.choice(np.arange(1, n), 30, replace=False))
    bounds = [0, *cuts.tolist(), n]
    spans = [(bounds[i], bounds[i + 1], i * 7 - 100) for i in range(len(bounds) - 1)]
    dut = SpMatReader(words=len(lines) + 2, ptr_bits=9, act_bits=16)

    async def bench(ctx):
        for a, w in enumerate(lines):
            ctx.set(dut.wr.addr, a)
            ctx.set(dut.wr.data, int(w))
            ctx.set(dut.wr.en, 1)
            await ctx.tick()
        ctx.set(dut.wr.en, 0)
        ctx.set(dut.flush, 1)
        await ctx.tick()
        ctx.set(dut.flush, 0)
        pending = list(spans)
        got, issue_cycles, reads = [], [], 0
        for cycle in range(n + 20):
            if pending:
                lo, hi, act = pending[0]
                ctx.set(dut.span.valid, 1)
                ctx.set(dut.span.payload.lo, lo)
                ctx.set(dut.span.payload.hi, hi)
                ctx.set(dut.span.payload.act, act)
            else:
                ctx.set(dut.span.valid, 0)
            if ctx.get(dut.entries.valid):
                e = dut.entries.payload
                got.append((ctx.get(e.act), ctx.get(e.v), ctx.get(e.z), ctx.get(e.first)))
            if ctx.get(dut.issue):
                issue_cycles.append(cycle)
            reads += ctx.get(dut.line_reads)
            if pending and ctx.get(dut.span.ready):
                pending.pop(0)
            await ctx.tick()
        want = [
            (act, int(v[e]), int(z[e]), int(e == lo))
            for lo, hi, act in spans
            for e in range(lo, hi)
        ]
        assert got == want
        # back-to-back spans: no bubble between columns
        assert issue_cycles == list(range(issue_cycles[0], issue_cycles[0] + n))
        # the line buffer reads each line once per visit (spans are consecutive here)
        assert reads == len(lines)

    run(dut, bench)


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_is_successor_is_a_plus_one_equals_b(n):
    # every pair of n-bit values, against (a + 1) mod 2^n computed in Python
    a, b = Signal(n), Signal(n)
    m = Module()
    out = Signal()
    m.d.comb += out.eq(is_successor(a, b))

    async def bench(ctx):
        for x in range(1 << n):
            for y in range(1 << n):
                ctx.set(a, x)
                ctx.set(b, y)
                assert ctx.get(out) == int((x + 1) % (1 << n) == y), (x, y)

    run(m, bench, clock=False)


def test_spmat_reader_empty_spans_cost_one_cycle():
    # empty spans (lo == hi) mixed with short ones, offered back to back: an empty span issues
    # nothing and holds the walker for exactly one cycle (EIE without skip_empty)
    rng = np.random.default_rng(9)
    n = 64
    v = rng.integers(0, 16, n)
    z = rng.integers(0, 16, n)
    lines = pack_lines(v, z)
    sizes = [0, 3, 0, 0, 1, 1, 0, 5, 2, 0, 1, 0, 0, 0, 4, 1, 0]
    spans, lo = [], 0
    for i, k in enumerate(sizes):
        spans.append((lo, lo + k, 5 * i - 40))
        lo += k
    dut = SpMatReader(words=len(lines), ptr_bits=7, act_bits=16)

    async def bench(ctx):
        for a, w in enumerate(lines):
            ctx.set(dut.wr.addr, a)
            ctx.set(dut.wr.data, int(w))
            ctx.set(dut.wr.en, 1)
            await ctx.tick()
        ctx.set(dut.wr.en, 0)
        pending = list(spans)
        got, issued, taken = [], [], []
        for cycle in range(sum(sizes) + len(sizes) + 10):
            if pending:
                lo, hi, act = pending[0]
                ctx.set(dut.span.valid, 1)
                ctx.set(dut.span.payload.lo, lo)
                ctx.set(dut.span.payload.hi, hi)
                ctx.set(dut.span.payload.act, act)
            else:
                ctx.set(dut.span.valid, 0)
            if ctx.get(dut.entries.valid):
                e = dut.entries.payload
                got.append((ctx.get(e.act), ctx.get(e.v), ctx.get(e.z), ctx.get(e.first)))
            if ctx.get(dut.issue):
                issued.append(cycle)
            if pending and ctx.get(dut.span.ready):
                pending.pop(0)
                taken.append(cycle)
            await ctx.tick()
        want = [
            (act, int(v[e]), int(z[e]), int(e == lo))
            for lo, hi, act in spans
            for e in range(lo, hi)
        ]
        assert got == want
        # span i is taken in the cycle after span i-1 is used up: max(k, 1) cycles per span
        want_taken = [taken[0]]
        for k in sizes[:-1]:
            want_taken.append(want_taken[-1] + max(k, 1))
        assert taken == want_taken
        want_issued = [t + 1 + j for t, k in zip(taken, sizes, strict=True) for j in range(k)]
        assert issued == want_issued

    run(dut, bench)


class ArithHarness(Elaboratable):
    """ArithUnit on the destination port of an ActRW, with a bias-initialisation port."""

    def __init__(self, *, act_bits=16, w_bits=16, w_frac=12, acc_bits=24, depth=32):
        self.alu = ArithUnit(
            rf_bits=(depth - 1).bit_length(), act_bits=act_bits, w_bits=w_bits, w_frac=w_frac,
            acc_bits=acc_bits,
        )  # fmt: skip
        self.rf = ActRW(depth=depth, acc_bits=acc_bits)
        self.init_we = Signal()
        self.init_addr = Signal(range(depth))
        self.init_data = Signal(signed(acc_bits))

    def elaborate(self, platform):
        m = Module()
        m.submodules.alu, m.submodules.rf = alu, rf = self.alu, self.rf
        wiring.connect(m, alu.rd, rf.dst)
        m.d.comb += [
            rf.dst_wr.en.eq(alu.wr.en | self.init_we),
            rf.dst_wr.addr.eq(Mux(self.init_we, self.init_addr, alu.wr.addr)),
            rf.dst_wr.data.eq(Mux(self.init_we, self.init_data, alu.wr.data)),
        ]
        return m


def arith_entries(rng: np.random.Generator, depth: int):
    """``[(act, v, z, first, gap)]`` with the decoded rows: columns of 1..5 entries whose first
    row often repeats the row written 1 or 2 entries earlier (the read-after-write hazards),
    with random idle cycles (``gap``) before some entries."""
    entries, rows, history = [], [], [0, 0]
    for _ in range(160):
        k = int(rng.integers(1, 6))
        u = rng.random()
        if u < 0.35:
            row = history[-1]  # same row as the previous entry
        elif u < 0.6:
            row = history[-2]  # same row as the entry before that
        else:
            row = int(rng.integers(0, 8))
        row = min(row, 15)
        act = int(rng.integers(-32768, 32768))
        for i in range(k):
            if i:
                step = int(rng.integers(0, 4))
                row += step + 1
                if row >= depth:
                    break
                z = step
            else:
                z = row
            v = int(rng.integers(0, 16)) if rng.random() < 0.9 else 0
            gap = int(rng.integers(1, 3)) if rng.random() < 0.15 else 0
            entries.append((act, v, z, int(i == 0), gap))
            rows.append(row)
            history.append(row)
    return entries, rows


@pytest.mark.parametrize("acc_bits", [24, 32])
def test_arith_unit_accumulates_with_bypass_and_saturation(acc_bits):
    rng = np.random.default_rng(acc_bits)
    depth, w_frac = 32, 12
    h = ArithHarness(acc_bits=acc_bits, depth=depth, w_frac=w_frac)
    cb = rng.integers(-32768, 32768, 16)
    cb[0] = 0
    bias = rng.integers(-(1 << 15), 1 << 15, depth)
    entries, rows = arith_entries(rng, depth)
    cb[1], cb[2] = 32767, -32768
    for _ in range(300):  # drive rows 0 and 1 into saturation (24 bits), up and down
        entries += [(32767, 1, 0, 1, 0), (32767, 2, 0, 0, 0)]
        rows += [0, 1]
    acc = bias.astype(np.int64).copy()
    for (act, v, *_), r in zip(entries, rows, strict=True):
        if v:
            acc[r] = mac(acc[r], act, cb[v], w_frac=w_frac, act_bits=16, acc_bits=acc_bits)
    # issue cycle of every entry; the same row written 1, 2 and 3 cycles before the read must
    # occur
    cycle, issued = 0, []
    for e in entries:
        cycle += e[4]
        issued.append(cycle)
        cycle += 1
    writes = {(issued[i], rows[i]) for i in range(len(entries)) if entries[i][1]}
    dist = {
        d: sum((issued[i] - d, rows[i]) in writes for i in range(len(entries)) if entries[i][1])
        for d in (1, 2, 3)
    }
    assert min(dist.values()) > 10, dist
    # bypasses the unit must take: the register file's read (its writes registered) misses
    # the sums of the entries issued 1, 2 and 3 cycles earlier; the nearest one wins
    near = [
        next((d for d in (1, 2, 3) if (issued[i] - d, rows[i]) in writes), 0)
        for i in range(len(entries))
    ]
    want = {
        d: sum(bool(e[1]) and n == d for e, n in zip(entries, near, strict=True)) for d in (1, 2, 3)
    }
    assert want[2] < dist[2] and want[3] < dist[3]  # some hit two distances (the nearer wins)

    async def bench(ctx):
        for e in range(16):
            ctx.set(h.alu.codebook[e], int(cb[e]))
        for r in range(depth):
            ctx.set(h.init_we, 1)
            ctx.set(h.init_addr, r)
            ctx.set(h.init_data, int(bias[r]))
            await ctx.tick()
        ctx.set(h.init_we, 0)
        bypasses = {1: 0, 2: 0, 3: 0}

        relu = int(acc_bits == 32)
        ctx.set(h.alu.relu, relu)
        tags = [0, 0]  # writes with the tag clear / set

        async def tick():
            b = [ctx.get(h.alu.bypass1), ctx.get(h.alu.bypass2), ctx.get(h.alu.bypass3)]
            assert sum(b) <= 1, b
            if ctx.get(h.alu.wr.en):  # the tag: the finished output is non-zero
                data = ctx.get(h.alu.wr.data)
                tag = ctx.get(h.alu.wr_tag)
                assert tag == int(data != 0 and not (relu and data < 0)), (data, tag)
                tags[tag] += 1
            for d in (1, 2, 3):
                bypasses[d] += b[d - 1]
            await ctx.tick()

        for act, v, z, first, gap in entries:
            ctx.set(h.alu.entries.valid, 0)
            for _ in range(gap):
                await tick()
            ctx.set(h.alu.entries.valid, 1)
            ctx.set(h.alu.entries.payload.act, act)
            ctx.set(h.alu.entries.payload.v, v)
            ctx.set(h.alu.entries.payload.z, z)
            ctx.set(h.alu.entries.payload.first, first)
            await tick()
        ctx.set(h.alu.entries.valid, 0)
        for _ in range(6):
            await tick()
        ctx.set(h.rf.swap, 1)
        await ctx.tick()
        ctx.set(h.rf.swap, 0)
        got = []
        for r in range(depth):
            ctx.set(h.rf.src.addr, r)
            ctx.set(h.rf.src.en, 1)
            await ctx.tick()
            got.append(ctx.get(h.rf.src.data))
        assert got == acc.tolist()
        assert bypasses == want, (bypasses, want)  # every distance was bypassed, as needed
        assert tags[1] > 0 and (tags[0] > 0 or not relu), tags  # ReLU clears some

    run(h, bench)
    lim = 1 << (acc_bits - 1)
    if acc_bits == 24:
        assert acc[0] == lim - 1 and acc[1] == -lim  # saturation was exercised


def test_sum_is_zero_matches_the_adder():
    """``sum_is_zero(a, b)`` (the accumulator tag's carry-free zero test) on every 6-bit ``a``
    and 4-bit signed ``b``."""
    a, b = Signal(signed(6)), Signal(signed(4))
    z = Signal()
    m = Module()
    m.d.comb += z.eq(sum_is_zero(a, b))

    async def bench(ctx):
        for va in range(-32, 32):
            for vb in range(-8, 8):
                ctx.set(a, va)
                ctx.set(b, vb)
                assert ctx.get(z) == int((va + vb) % 64 == 0), (va, vb)

    run(m, bench, clock=False)


@pytest.mark.parametrize("n", [1, 4, 8])
def test_ccu_broadcasts_nonzeros_in_column_order(n):
    config = EIEConfig(n_pes=n, regfile_depth=16, ptr_depth=256)
    dut = CCU(config)
    rng = np.random.default_rng(n)
    cases = [
        (rng.integers(1, 100, n * 16), 0.3, 0.6, 0),
        (rng.integers(1, 100, n * 16), 1.0, 1.0, 0),  # dense, no stalls: one per cycle
        (np.zeros(n * 16, dtype=int), 1.0, 1.0, 0),
        # raw accumulators: saturated to 16 bits, negatives dropped under ReLU, as broadcast
        (rng.integers(1, 1 << 20, n * 16), 0.5, 0.7, 1),
        (rng.integers(1, 1 << 20, n * 16), 0.5, 0.7, 0),
    ]

    def finish(v, relu):
        v = min(max(int(v), -32768), 32767)
        return 0 if relu and v < 0 else v

    async def bench(ctx):
        for vals, dens, p_ready, relu in cases:
            cols = int(rng.integers(1, n * 16 + 1)) if dens < 1 else n * 16 - 1
            x = (vals * (rng.random(len(vals)) < dens)).astype(int)
            x[::5] *= -1
            fin = [finish(v, relu) for v in x]
            ctx.set(dut.cols, cols)
            ctx.set(dut.windows, -(-cols // n))
            ctx.set(dut.relu, relu)
            await ctx.tick()  # cols settles a cycle before run
            ctx.set(dut.run, 1)
            got, fire_cycles, cycle = [], [], 0
            while not ctx.get(dut.done) and cycle < 2000:
                ready = rng.random() < p_ready
                ctx.set(dut.bc_ready, ready)
                if ctx.get(dut.bc_valid) and ready:
                    got.append((ctx.get(dut.bc_col), ctx.get(dut.bc_act)))
                    fire_cycles.append(cycle)
                en, addr = ctx.get(dut.src_en), ctx.get(dut.src_addr)
                await ctx.tick()
                cycle += 1
                if en:
                    for k in range(n):
                        ctx.set(dut.src_data[k], int(x[addr * n + k]))
                        ctx.set(dut.src_nz[k], int(fin[addr * n + k] != 0))
            want = [(j, fin[j]) for j in range(cols) if fin[j]]
            assert got == want
            if p_ready == 1.0 and want:
                assert fire_cycles == list(range(fire_cycles[0], fire_cycles[0] + len(want)))
            ctx.set(dut.run, 0)
            await ctx.tick()

    run(dut, bench)


#: The paper's plain scheme (no option), spelled out: the default config has options on.
PAPER_SCHEME = {
    "skip_empty": False, "filter_empty": False, "merge_padding": False, "decouple_depth": 0
}  # fmt: skip


async def host_write(ctx, dut, addrs, words) -> None:
    """Write ``words`` to ``addrs`` through the EIETop host port, one per cycle."""
    for a, d in zip(addrs, words, strict=True):
        ctx.set(dut.addr, int(a))
        ctx.set(dut.wdata, int(d) & 0xFFFF if int(d) < 0 else int(d))
        ctx.set(dut.we, 1)
        await ctx.tick()
    ctx.set(dut.we, 0)


async def host_read(ctx, dut, addr) -> int:
    """Read one word through the EIETop host port; ``rvalid`` comes with it 3 cycles after
    ``re`` (the documented read latency) and not before."""
    ctx.set(dut.raddr, int(addr))
    ctx.set(dut.re, 1)
    await ctx.tick()
    ctx.set(dut.re, 0)
    await ctx.tick()
    assert not ctx.get(dut.rvalid)
    await ctx.tick()
    assert ctx.get(dut.rvalid)
    return ctx.get(dut.rdata)


def as_act(word: int) -> int:
    """A 64-bit read word's low 16 bits as a signed activation."""
    return ((word + 0x8000) & 0xFFFF) - 0x8000


async def host_run(ctx, dut, image, x, rows: int, *, load: bool = True):
    """Write the network (``load``) and the input ``x``, run, and read the ``rows`` outputs
    and the run's total cycles (CTRL) back through the EIETop host port."""
    mm = image.memory_map
    waddr, wdata = image.writes() if load else ([], [])
    await host_write(ctx, dut, [*waddr, *(mm.act(j) for j in range(len(x)))], [*wdata, *x])
    ctx.set(dut.start, 1)
    await ctx.tick()
    ctx.set(dut.start, 0)
    await ctx.tick().until(dut.done)
    y = [as_act(await host_read(ctx, dut, mm.act(j))) for j in range(rows)]
    return y, await host_read(ctx, dut, 0)


@pytest.mark.parametrize(
    "options",
    [
        PAPER_SCHEME,
        PAPER_SCHEME | {"skip_empty": True},
        PAPER_SCHEME | {"filter_empty": True},
        {},  # the default configuration: (c), (d) and (e) with S = 2
    ],
    ids=["paper", "a", "c", "default"],
)
def test_flat_top_runs_a_network_in_amaranth(options):
    """The self-contained (no instances) EIETop, simulated in Amaranth, matches the golden model
    and the cycle model."""
    config = EIEConfig(
        n_pes=2, fifo_depth=2, regfile_depth=8, spmat_words=16, ptr_depth=32, **options
    )
    rng = np.random.default_rng(9)
    layers = [random_layer(rng, 11, 7, 0.3, relu=True), random_layer(rng, 5, 11, 0.4)]
    x = activations(rng, 1, 7, 0.8)[0]
    image = build_image(layers, config)
    dut = EIETop(config)

    async def bench(ctx):
        y, total = await host_run(ctx, dut, image, x, 5)
        assert y == run_eie(layers, x, num=config.numerics)[-1].tolist()
        model = predict_for(layers, x, config)
        assert total == model.cycles[0]
        if options.get("filter_empty"):  # the filter changes the run here (tells them apart)
            base = predict_for(layers, x, config.replace(**PAPER_SCHEME))
            assert base.cycles[0] != model.cycles[0]

    run(dut, bench)


@pytest.mark.parametrize("options", [PAPER_SCHEME, {}], ids=["paper", "default"])
def test_register_file_collisions_change_nothing(monkeypatch, options):
    """The register files carry ``no_rw_check`` (``actrw.NO_COLLISION``): a read that meets a
    write of the same word is undefined on the synthesized RAM. With every such read poisoned
    (inverted), a network still matches the golden model and the cycle model, and such reads
    did happen (the accumulator's distance-3 hazard)."""
    from accelgen.hdl.eie import pe as pe_module
    from accelgen.hdl.eie.actrw import NO_COLLISION

    assert NO_COLLISION == {"no_rw_check": 1}
    files = []

    def poisoned(**kwargs):
        files.append(ActRW(**kwargs, poison_collisions=True))
        return files[-1]

    monkeypatch.setattr(pe_module, "ActRW", poisoned)
    config = EIEConfig(
        n_pes=2, fifo_depth=2, regfile_depth=16, spmat_words=64, ptr_depth=64, **options
    )
    rng = np.random.default_rng(5)
    # rows few and dense, so that consecutive columns hit the same row in a PE
    layers = [random_layer(rng, 6, 12, 0.7, relu=True), random_layer(rng, 9, 6, 0.6)]
    xs = activations(rng, 2, 12, 0.9)
    image = build_image(layers, config)
    dut = EIETop(config)
    seen, cycles = [0], []

    async def count(ctx):
        async for _, *hits in ctx.tick().sample(*(f.collision for f in files)):
            seen[0] += sum(hits)

    async def bench(ctx):
        for i, x in enumerate(xs):  # the network is loaded once and stays loaded
            y, total = await host_run(ctx, dut, image, x, 9, load=i == 0)
            assert y == run_eie(layers, x, num=config.numerics)[-1].tolist()
            cycles.append(total)

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_process(count)
    sim.add_testbench(bench)
    sim.run()
    assert cycles == predict_for(layers, xs, config).cycles.tolist()  # the second: no bias pass
    assert len(files) == config.n_pes
    assert seen[0] > 0, "no register-file read met a write: the test proves nothing"


def test_which_memories_carry_no_rw_check():
    """The memories the host writes while the core is idle (pointer banks, sparse-matrix lines,
    biases, the filter's bitmap) and the register files (no result depends on a same-word read
    and write, above) carry Yosys' ``no_rw_check``; the register files' tags (LUT RAM) and the
    counters keep the old-word rule."""
    import re

    from accelgen.sim import eie as api

    text = api.verilog(EIEConfig(n_pes=2, regfile_depth=16, spmat_words=64, ptr_depth=128))
    marked = set(re.findall(r"\(\* no_rw_check = 32'd1 \*\)\s*reg \[[^\]]*\] (\w+) \[", text))
    memories = set(re.findall(r"^\s*reg \[[^\]]*\] (\w+) \[", text, re.M))
    assert marked == {"even", "odd", "mem", "bias", "bitmap", "rf_a", "rf_b"}, marked
    assert {"tag_a", "tag_b", "counters"} <= memories - marked
