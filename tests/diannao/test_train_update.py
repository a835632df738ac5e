"""The in-core weight update (``DianNaoConfig.weight_update``): ``upd`` instructions on
``diannao_top`` vs the golden update (:func:`accelgen.golden.update.weight_update`, one LFSR in
row-major order) and the CP model (:class:`accelgen.golden.diannao_cp.DianNaoCPModel`, outputs
and cycles), on random tiles with saturation, partial tiles, both roundings and the LFSR carried
across instructions and programs."""

import dataclasses

import numpy as np
import pytest

from accelgen.golden import sgd
from accelgen.golden.diannao_cp import DianNaoCPModel, program_cycles
from accelgen.golden.update import LFSR, LFSRConfig, weight_update
from accelgen.host.diannao import (
    assemble,
    compile_backward,
    compile_update,
    finish_layer,
    read_weights,
)
from accelgen.sim.runner import default_simulators
from accelgen.sim.train import run_tiles, run_updates
from accelgen.spec.diannao import DianNaoConfig, Instruction, decode, encode

CONFIG = DianNaoConfig(
    tn=4, nbin_depth=16, sb_depth=32, nbout_depth=16, imem_depth=16, weight_update=True
)


def _updates(rng, shapes, small=False):
    out = []
    for n_out, n_in in shapes:
        lim = 400 if small else 2**15
        w = rng.integers(-(2**15), 2**15, (n_out, n_in))
        w[0, : min(2, n_in)] = (32767, -32768)  # saturation both ways (large updates)
        out.append((w, rng.integers(-lim, lim, n_in), rng.integers(-lim, lim, n_out)))
    return out


def _golden(updates, alpha, rounding, lfsr):
    return [
        weight_update(
            w,
            a,
            g,
            alpha=alpha,
            alpha_frac=CONFIG.alpha_frac,
            num=CONFIG.numerics,
            rounding=rounding,
            lfsr=lfsr,
            g_frac=CONFIG.g_frac,
        )
        for w, a, g in updates
    ]


def _cases(seed=3):
    """Four updates: stochastic (two layers, partial row and input tiles), stochastic again
    with the LFSR carried over from the first, nearest (small updates), and one layer too big
    for SB (two host tiles, the LFSR running on between their programs).

    Returns ``[(tiles, LFSR state to load), ...]`` and ``[(golden weights, LFSR state after)]``.
    """
    rng = np.random.default_rng(seed)
    specs = [
        (_updates(rng, [(10, 7), (3, 9)]), 40000, True, 0x1234567),
        (_updates(rng, [(8, 8), (5, 4)]), 65535, True, None),
        (_updates(rng, [(6, 5)], small=True), 3000, False, None),
        (_updates(rng, [(2, 3), (40, 13)]), 20000, True, None),
    ]
    cases, want, lfsr = [], [], LFSR(LFSRConfig())
    for ups, alpha, sto, seed in specs:
        tiles = compile_update(ups, CONFIG, alpha=alpha, stochastic=sto)
        if seed is not None:
            lfsr.state = seed
        rounding = "stochastic" if sto else "nearest"
        want.append((_golden(ups, alpha, rounding, lfsr), lfsr.state))
        cases.append((tiles, seed))
    assert [len(t) for t, _ in cases] == [1, 1, 1, 2]
    return cases, want


def test_golden_cp_model_matches_weight_update():
    cases, want = _cases()
    model = DianNaoCPModel(CONFIG)
    for (tiles, seed), (ws, state) in zip(cases, want, strict=True):
        if seed is not None:
            model.lfsr.state = seed
        rows = []
        for ut in tiles:
            model.load(ut.tile)
            stats = model.run(ut.tile.program)
            assert stats == program_cycles(ut.tile.program)
            assert stats.busy == sum(i.n_o0 * i.n_r0 for i in ut.tile.program)
            rows.append(model.sb.reshape(-1, CONFIG.tn)[ut.read])
        got = read_weights(tiles, rows, CONFIG)
        for g, w in zip(got, ws, strict=True):
            np.testing.assert_array_equal(g, w)
        assert model.lfsr.state == state
    sat = sum(np.isin(w, (-32768, 32767)).sum() for ws, _ in want for w in ws)
    assert sat > 10


def test_update_instruction_encoding_and_rules():
    ins = Instruction(
        upd=True,
        stochastic=True,
        alpha=65535,
        sb_addr=3,
        n_r0=2,
        n_o0=4,
        nbout_addr=5,
        upd_lanes=3,
        s_r0=1,
    )
    assert decode(encode(ins, CONFIG), CONFIG) == ins
    with pytest.raises(ValueError, match="needs a core built with weight_update"):
        ins.check(dataclasses.replace(CONFIG, weight_update=False))
    for bad, match in (
        (dict(n_o0=5), "more than tn=4"),
        (dict(upd_lanes=0), "upd_lanes must be in 1..4"),
        (dict(n_o1=2), "n_o1 must be 1"),
        (dict(nbout_read=True), "nbout_read must be 0"),
        (dict(sb_addr=31), "reads SB word 32 of 32"),
    ):
        with pytest.raises(ValueError, match=match):
            dataclasses.replace(ins, **bad).check(CONFIG)


def test_default_config_has_no_update_fields():
    from accelgen.spec.diannao import field_widths, instruction_bits

    base = DianNaoConfig(tn=4)
    assert "upd" not in field_widths(base)
    assert instruction_bits(dataclasses.replace(base, weight_update=True)) == (
        instruction_bits(base) + 1 + 1 + 16 + 3 + 1
    )


@pytest.mark.parametrize("simulator", default_simulators())
def test_in_core_update_vs_golden(simulator):
    cases, want = _cases()
    flat = [(ut, seed if i == 0 else None) for tiles, seed in cases for i, ut in enumerate(tiles)]
    runs = iter(run_updates(flat, config=CONFIG, simulator=simulator))
    for k, ((tiles, _), (ws, state)) in enumerate(zip(cases, want, strict=True)):
        rs = [next(runs) for _ in tiles]
        got = read_weights(tiles, [r.rows for r in rs], CONFIG)
        for j, (g, w) in enumerate(zip(got, ws, strict=True)):
            np.testing.assert_array_equal(g, w, err_msg=f"update {k} layer {j}")
        assert rs[-1].lfsr_state == state, f"update {k}: LFSR state"
        for ut, r in zip(tiles, rs, strict=True):
            stats = program_cycles(ut.tile.program)
            assert (r.cycles, r.nfu_busy, r.stalls) == (stats.cycles, stats.busy, stats.stall)


def test_update_between_nfu_instructions_on_the_top_in_amaranth():
    """A hand-written program mixing NFU and update instructions on the top (Amaranth's
    simulator): an NFU read of the NBout word at the update's output counter does not stall
    (update steps write no NBout word), the interlock of an earlier NFU output still works across
    the update, and NBout, SB, the LFSR and the counters equal the CP model's."""
    from top_tb import run_top

    from accelgen.spec.diannao import NFU2Out

    config = DianNaoConfig(
        tn=2, nbin_depth=16, sb_depth=16, nbout_depth=12, imem_depth=8, weight_update=True
    )
    rng = np.random.default_rng(4)
    nbin = rng.integers(-3000, 3000, (16, 2))
    sbw = rng.integers(-(2**15), 2**15, (16, 2, 2))
    nbout = rng.integers(-3000, 3000, (12, 2))
    part = NFU2Out.PARTIAL
    upd = dict(upd=True, stochastic=True, alpha=50000, s_r0=1, upd_lanes=1)
    program = [
        Instruction(n_r0=2, n_o0=2, s_o0=2, nbout_addr=0, nfu2_out=part),  # words 0, 1
        Instruction(sb_addr=12, n_r0=3, nbin_addr=8, n_o0=1, nbout_addr=4, **upd),
        # word 1, written by the first instruction: waits for its write (across the update)
        Instruction(nbin_addr=7, sb_addr=3, nbout_addr=1, nbout_read=True),
        Instruction(sb_addr=10, n_r0=2, nbin_addr=4, n_o0=2, nbout_addr=5, **upd),
        # word 5 = the update's output counter at its first row: no stall
        Instruction(nbin_addr=6, sb_addr=2, nbout_addr=5, nbout_read=True, nfu2_out=part),
        Instruction(sb_addr=15, nbin_addr=9, n_o0=2, nbout_addr=7, **upd),
        # word 8 = the update's output counter at its last step: no stall
        Instruction(nbin_addr=5, sb_addr=4, nbout_addr=8, nbout_read=True, end=True),
    ]
    model = DianNaoCPModel(config)
    model.nbin[:], model.sb[:], model.nbout[:] = nbin, sbw, nbout
    model.lfsr.state = 0xBEEF
    want = model.run(program)
    assert 15 < want.stall < 30  # the interlock stalls once
    got = run_top(
        config,
        program,
        nbin=nbin,
        sb=sbw,
        nbout=nbout,
        lfsr=0xBEEF,
        limit=300,
        nbout_words=12,
        sb_rows=32,
    )
    assert got["nbout"] == model.nbout.tolist()
    assert got["sb"] == model.sb.reshape(-1, 2).tolist()
    assert (model.sb != sbw).any()
    assert got["lfsr"] == model.lfsr.state
    assert got["counters"] == (want.cycles, want.busy, want.stall)


def test_model_refuses_update_operand_hazards():
    upd = dict(upd=True, alpha=1, upd_lanes=1, n_o0=1)
    fwd = Instruction(nbout_addr=3, sb_addr=0)
    model = DianNaoCPModel(CONFIG)
    with pytest.raises(ValueError, match="reads NBout word 3, written earlier"):
        model.run([fwd, Instruction(nbout_addr=3, **upd, end=True)])
    with pytest.raises(ValueError, match="reads SB word 5, updated earlier"):
        model.run([Instruction(sb_addr=5, **upd), Instruction(sb_addr=5, end=True)])
    with pytest.raises(ValueError, match="updates SB word 5 again"):
        model.run([Instruction(sb_addr=5, **upd), Instruction(sb_addr=5, **upd, end=True)])


@pytest.mark.slow
@pytest.mark.parametrize("simulator", default_simulators())
def test_in_core_update_ten_thousand_weights(simulator):
    """>= 10,000 random weights (three layers, the first with saturating extremes) through the
    in-core update in many host tiles, stochastic, vs the golden update."""
    rng = np.random.default_rng(11)
    ups = _updates(rng, [(100, 61), (40, 64), (30, 50)])
    ups[0][0][rng.random((100, 61)) < 0.05] = 32767
    ups[0][0][rng.random((100, 61)) < 0.05] = -32768
    lfsr = LFSR(LFSRConfig())
    want = _golden(ups, 30000, "stochastic", lfsr)
    tiles = compile_update(ups, CONFIG, alpha=30000, stochastic=True)
    assert len(tiles) > 20 and sum(w.size for w, _, _ in ups) >= 10_000
    runs = run_updates([(t, None) for t in tiles], config=CONFIG, simulator=simulator)
    got = read_weights(tiles, [r.rows for r in runs], CONFIG)
    for j, (g, w) in enumerate(zip(got, want, strict=True)):
        np.testing.assert_array_equal(g, w, err_msg=f"layer {j}")
    assert runs[-1].lfsr_state == lfsr.state
    assert np.isin(want[0], (-32768, 32767)).sum() > 600
    assert sum((w != u[0]).sum() for w, u in zip(want, ups, strict=True)) > 5000


def _backward_case(seed=6):
    """``(a > 0) * W^T g`` cases: a random layer, and extreme weights and errors (saturation)."""
    rng = np.random.default_rng(seed)
    w = rng.integers(-30000, 30000, (10, 23))
    g = rng.integers(-4000, 4000, (3, 10))
    a = rng.integers(-5, 300, (3, 23))
    a[a < 60] = 0
    w_big = rng.choice([-32768, 32767], (13, 7))
    g_big = rng.choice([-32768, 32767], (2, 13))
    a_big = rng.integers(-1, 2, (2, 7))
    return [(w, g, a), (w_big, g_big, a_big)]


def _golden_backward(w, g, a):
    cfg = sgd.SGDConfig(w_frac=CONFIG.w_frac, group=CONFIG.tn)
    return np.stack([sgd.backward(w, g[i], a[i], cfg) for i in range(len(g))])


def test_backward_with_relu_derivative_on_the_cp_model():
    for w, g, a in _backward_case():
        plan, tiles, layer = compile_backward(w, g, a, CONFIG)
        model = DianNaoCPModel(CONFIG)
        reads = [model.run_tile(t)[0] for t in tiles]
        y = finish_layer(layer, plan, assemble(plan, tiles, reads), CONFIG)
        want = _golden_backward(w, g, a)
        np.testing.assert_array_equal(y, want)
        assert (want == 0).any() and (want != 0).any()
    with pytest.raises(ValueError, match="needs a core built with weight_update"):
        compile_backward(w, g, a, dataclasses.replace(CONFIG, weight_update=False))
    with pytest.raises(ValueError, match="partial sums across host tiles"):
        w_wide = np.zeros((80, 4), dtype=np.int64)  # 80 errors: 20 input words > nbin_depth 16
        compile_backward(w_wide, np.zeros((1, 80), int), np.zeros((1, 4), int), CONFIG)
    ins = Instruction(nbout_read=True, drelu=True)
    with pytest.raises(ValueError, match="needs a core built with weight_update"):
        ins.check(dataclasses.replace(CONFIG, weight_update=False))
    with pytest.raises(ValueError, match="needs nbout_read = 1"):
        dataclasses.replace(ins, nbout_read=False).check(CONFIG)


@pytest.mark.parametrize("simulator", default_simulators())
def test_backward_with_relu_derivative_on_rtl(simulator):
    """The backward product with the ReLU derivative (``drelu``) on the RTL vs the golden
    ``sgd.backward``, with the CP model's cycles."""
    items, meta = [], []
    for w, g, a in _backward_case():
        plan, tiles, layer = compile_backward(w, g, a, CONFIG)
        meta.append((plan, tiles, layer, _golden_backward(w, g, a)))
        items += [(t, np.zeros(0, dtype=np.int64), None) for t in tiles]
    runs = iter(run_tiles(items, config=CONFIG, simulator=simulator))
    for k, (plan, tiles, layer, want) in enumerate(meta):
        rs = [next(runs) for _ in tiles]
        y = finish_layer(layer, plan, assemble(plan, tiles, [r.nbout for r in rs]), CONFIG)
        np.testing.assert_array_equal(y, want, err_msg=f"case {k}")
        for t, r in zip(tiles, rs, strict=True):
            stats = program_cycles(t.program)
            assert (r.cycles, r.nfu_busy, r.stalls) == (stats.cycles, stats.busy, stats.stall)


def test_update_config_fields():
    c = dataclasses.replace(CONFIG, g_frac=10, alpha_frac=18, lfsr_width=24, lfsr_taps=0xE10000)
    assert DianNaoConfig.from_json(c.to_json()) == c and c.update_shift == 10 + 18 + 8 - 12
    # without the unit the formats are not checked against its fields (8-bit errors, g_frac 12)
    DianNaoConfig(act_bits=8, act_frac=4, w_bits=8, w_frac=6)
    for kwargs, match in (
        (dict(act_bits=8, act_frac=4, w_bits=8, w_frac=6), "g_frac must be in 0..7"),
        (
            dict(lfsr_width=16, lfsr_taps=0xB400),
            "w_frac = 24 bits, which must be in 0..lfsr_width=16",
        ),
        (dict(lfsr_seed=0), "lfsr_seed must be in"),
    ):
        with pytest.raises(ValueError, match=match):
            DianNaoConfig(weight_update=True, **kwargs)
