"""The compiler's programs run on the Python CP model reproduce the golden layers exactly.

These run in pure Python (no RTL), so they sweep many seeded layers and configurations; the
RTL tests (test_rtl.py) then check that the RTL matches the CP model and the golden model.
"""

import dataclasses

import numpy as np
import pytest
from diannao_cases import fc, regression_cases

from accelgen.golden.arith import smax
from accelgen.golden.diannao_cp import (
    DRAIN_CYCLES,
    FETCH_CYCLES,
    DianNaoCPModel,
    program_cycles,
)
from accelgen.golden.netspec import ConvLayer, FCLayer, PoolLayer, run_dense
from accelgen.hdl.diannao.top import PIPELINE_DRAIN
from accelgen.host.diannao import compile_layer, plan_layer, run_layer
from accelgen.sim import diannao as api
from accelgen.spec.diannao import DianNaoConfig, Instruction, NFU2Out

CONFIGS = {
    "tn2-acc32-tiny": DianNaoConfig(
        tn=2, acc_bits=32, nbin_depth=24, sb_depth=12, nbout_depth=12, imem_depth=3
    ),
    "tn4": DianNaoConfig(tn=4, nbin_depth=64, sb_depth=32, nbout_depth=32, imem_depth=8),
    "tn8-double": DianNaoConfig(tn=8, nbin_depth=128, sb_depth=64, double_buffer=True),
    "tn16": DianNaoConfig(tn=16),
}


def _golden(layers, x, config):
    return run_dense(layers, x, num=config.numerics, group=config.tn)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_regression_cases_match_golden(name):
    config = CONFIGS[name]
    for case, layers, x in regression_cases(7, tn=config.tn):
        try:
            api.check_mappable(layers, x.shape, config)
        except ValueError:
            assert name == "tn2-acc32-tiny", case  # only the tiny buffers may refuse a case
            continue
        res = api.run_model(layers, x, config=config)
        for j, (got, want) in enumerate(zip(res.outputs, _golden(layers, x, config), strict=True)):
            np.testing.assert_array_equal(got, want, err_msg=f"{name} {case} layer {j}")


@pytest.mark.parametrize("seed", range(40))
def test_random_layers_match_golden(seed):
    rng = np.random.default_rng(1000 + seed)
    config = list(CONFIGS.values())[seed % 3]
    t = config.tn
    kind = seed % 3
    act = ("none", "relu", "sigmoid", "tanh")[seed % 4]
    if kind == 0:
        ni, no = int(rng.integers(1, 6 * t)), int(rng.integers(1, 4 * t))
        layer = FCLayer(rng.integers(-4000, 4000, (no, ni)), rng.integers(-900, 900, no), act)
        x = rng.integers(-3000, 3000, (int(rng.integers(1, 6)), ni))
    elif kind == 1:
        k = int(rng.choice([1, 2, 3, 5]))
        ni, no = int(rng.integers(1, 2 * t + 2)), int(rng.integers(1, 2 * t + 2))
        h = int(rng.integers(k, k + 5))
        layer = ConvLayer(
            rng.integers(-4000, 4000, (no, ni, k, k)),
            None if seed % 2 else rng.integers(-900, 900, no),
            stride=int(rng.integers(1, 3)),
            pad=int(rng.integers(0, 2)),
            act=act,
        )
        x = rng.integers(-3000, 3000, (1, ni, h, h + 1))
    else:
        k = int(rng.integers(1, 4))
        layer = PoolLayer(k, int(rng.integers(1, 3)), ("max", "avg")[seed % 2])
        x = rng.integers(-(2**15), 2**15, (1, int(rng.integers(1, 2 * t + 2)), k + 3, k + 4))
    try:
        res = api.run_model([layer], x, config=config)
    except ValueError as e:
        assert "cannot be mapped" in str(e)
        return
    np.testing.assert_array_equal(res.y, _golden([layer], x, config)[-1])


def test_layer_needing_several_tiles_keeps_partial_sums_in_nbout():
    config = CONFIGS["tn2-acc32-tiny"]
    rng = np.random.default_rng(3)
    layers, x = fc(rng, 61, 9, batch=3, act="relu")
    plan = plan_layer(layers[0], x.shape, config)
    assert plan.n_tiles > 10
    _, tiles = compile_layer(layers[0], x, config)
    # an output chunk's input tiles: only the last one reads results, the others leave
    # partial sums behind
    assert sum(1 for t in tiles if t.read_addr.size) < len(tiles)
    res = api.run_model(layers, x, config=config)
    np.testing.assert_array_equal(res.y, _golden(layers, x, config)[-1])
    assert res.tiles[0] == plan.n_tiles == len(tiles)


def test_double_buffer_alternates_buffer_halves():
    config = CONFIGS["tn8-double"]
    rng = np.random.default_rng(8)
    layers, x = fc(rng, 70 * 8, 9)
    _, tiles = compile_layer(layers[0], x, config)
    assert len(tiles) >= 3
    half_in, half_sb = config.nbin_depth // 2, config.sb_depth // 2
    for i, tile in enumerate(tiles):
        lo = half_in if i % 2 else 0
        assert lo <= tile.nbin_addr.min() and tile.nbin_addr.max() < lo + half_in
        sb_words = tile.sb_addr // config.tn
        lo = half_sb if i % 2 else 0
        assert lo <= sb_words.min() and sb_words.max() < lo + half_sb
    res = api.run_model(layers, x, config=config)
    np.testing.assert_array_equal(res.y, _golden(layers, x, config)[-1])


def test_saturation_differs_between_accumulator_widths():
    """Group sums are added with saturation at acc_bits: 24 and 32 bits give different results
    (the golden model agrees with each), and the CP model follows both."""
    n = 600
    layer = FCLayer(np.full((2, n), smax(16)), None, "none")
    x = np.full((1, n), smax(16))
    wide = DianNaoConfig(tn=4, acc_bits=32)
    narrow = DianNaoConfig(tn=4, acc_bits=24)
    half = np.concatenate([np.full((1, n // 2), smax(16)), -np.full((1, n // 2), smax(16))], 1)
    for xx in (x, half):
        for config in (wide, narrow):
            got = api.run_model([layer], xx, config=config).y
            np.testing.assert_array_equal(got, _golden([layer], xx, config)[-1])
    # products saturate to +32767 / -32768; 300 of each: the wide accumulator ends at -300, the
    # narrow one clips at 2**23 - 1 on the way up and ends far below (saturated to -32768)
    assert api.run_model([layer], half, config=wide).y[0, 0] == -300
    assert api.run_model([layer], half, config=narrow).y[0, 0] == -32768


def test_cycle_model_counts_every_step():
    config = CONFIGS["tn4"]
    rng = np.random.default_rng(5)
    layers, x = fc(rng, 32, 16, batch=2)
    model = DianNaoCPModel(config)
    _, stats = run_layer(model, layers[0], x)
    _, tiles = compile_layer(layers[0], x, config)
    assert [s.cycles for s, _ in stats] == [FETCH_CYCLES + t.steps + DRAIN_CYCLES for t in tiles]
    assert tiles[0].steps == 2 * 8 * 4  # batch x input words x output tiles


def test_drain_is_the_rtl_pipeline_depth():
    # buffer read + NFU-1 (4 stages) + NFU-2 (3) + NFU-3 (7)
    assert DRAIN_CYCLES == PIPELINE_DRAIN == 1 + 4 + 3 + 7


def test_interlock_stalls_until_the_partial_sum_is_written():
    """A step reading an NBout word whose write is still in flight waits for it (hand-computed
    issue times; the RTL is checked against the same model in test_diannao_blocks)."""
    part = NFU2Out.PARTIAL
    a = Instruction(n_r0=3, n_o0=2, nbout_addr=0, nfu2_out=part)  # issues 0..5, addr 0 last at 2
    b = Instruction(n_r0=1, nbout_addr=0, nbout_read=True, end=True)
    # b would issue at 6; addr 0 is written at 2 + 15 = 17, so b reads it at 18: 12 stalls
    assert program_cycles([a, b]).cycles == 1 + 7 + 12 + 15
    assert program_cycles([a, b]).stall == 1 + 12 + 15
    # without nbout_read, or for another word, no stall
    for other in (dataclasses.replace(b, nbout_read=False), dataclasses.replace(b, nbout_addr=5)):
        assert program_cycles([a, other]).cycles == 1 + 7 + 15
    # exactly DRAIN_CYCLES steps between the write's last issue and the read: no stall; one
    # step fewer: one stall
    w = Instruction(n_r0=1, nbout_addr=4, nfu2_out=part)
    r = Instruction(n_r0=1, nbout_addr=4, nbout_read=True, end=True)
    for gap, stalls in ((15, 0), (14, 1), (1, 14)):
        mid = Instruction(n_r0=gap, nbout_addr=5, nfu2_out=part)
        assert program_cycles([w, mid, r]).cycles == 1 + gap + 2 + stalls + 15
    # instructions after the end are not counted
    assert program_cycles([a, b, a]) == program_cycles([a, b])


def test_dense_classifier_utilization_model():
    config = DianNaoConfig(tn=8)
    rng = np.random.default_rng(1)
    layers, x = fc(rng, 256, 64)
    res = api.run_model(layers, x, config=config)
    assert res.utilization[0] >= 0.8


@pytest.mark.parametrize(
    "layers, shape, match",
    [
        ([FCLayer(np.zeros((4, 10), dtype=np.int16))], (1, 11), "10 inputs"),
        ([ConvLayer(np.zeros((4, 3, 3, 3), dtype=np.int16))], (1, 3, 2, 2), "does not fit"),
        ([ConvLayer(np.zeros((4, 3, 3, 3), dtype=np.int16))], (1, 3, 8, 600), "nbout_depth=512"),
        (
            [ConvLayer(np.zeros((4, 3, 7, 7), dtype=np.int16))],
            (1, 3, 9, 9),
            "kernel 7x7 needs 49 SB words",
        ),
        ([PoolLayer(17, 1, "avg")], (1, 1, 17, 17), "window 17x17"),
        ([FCLayer(np.zeros((0, 8), dtype=np.int16))], (1, 8), "empty weight array"),
        ([FCLayer(np.zeros((4, 8), dtype=np.int16))], (0, 8), "empty"),
        ([PoolLayer(2, 2, "max")], (1, 0, 4, 4), "empty dimension"),
        ([ConvLayer(np.zeros((4, 3, 3, 3), dtype=np.int16))], (1, 3, 8, 30), "needs 3 input rows"),
    ],
)
def test_unmappable_layers_are_reported(layers, shape, match):
    config = DianNaoConfig(tn=4, nbin_depth=64, sb_depth=32, nbout_depth=512)
    with pytest.raises(ValueError, match=match):
        api.check_mappable(layers, shape, config)


def test_bad_inputs_are_reported_before_running():
    config = CONFIGS["tn4"]
    layer = FCLayer(np.zeros((4, 8), dtype=np.int16))
    with pytest.raises(TypeError, match="dtype float64"):
        api.run_model([layer], np.zeros((1, 8)), config=config)
    with pytest.raises(ValueError, match="x holds 40000"):
        api.run_model([layer], np.full((1, 8), 40000), config=config)
    with pytest.raises(ValueError, match=r"\[batch, Ni\]"):
        api.run_model([layer], np.zeros((1, 2, 8), dtype=np.int16), config=config)
    with pytest.raises(ValueError, match="layer 0 w holds"):
        api.check_mappable(
            [FCLayer(np.full((4, 8), 3000))], (1, 8), config.replace(w_bits=8, w_frac=4)
        )
    with pytest.raises(ValueError, match="no layers"):
        api.run_model([], np.zeros((1, 8), dtype=np.int16), config=config)


@pytest.mark.parametrize(
    "layer", [ConvLayer(np.ones((2, 3, 1, 1), dtype=np.int16), stride=2), PoolLayer(k=1, stride=2)]
)
def test_strided_layer_on_one_band_compiles(layer):
    """A 1x1 window with stride 2 on a 3x64 input: one output row per band, so the output-row
    stride (2 x 64 = 128, wider than the 7-bit field of nbin_depth=64) is never used and is
    encoded as 0; the CP model matches the golden model."""
    config = DianNaoConfig()
    x = np.random.default_rng(4).integers(-300, 300, (1, 3, 3, 64))
    api.check_mappable([layer], x.shape, config)
    _, tiles = compile_layer(layer, x, config)
    assert all(i.s_o1 == 0 for t in tiles for i in t.program if i.n_o1 == 1)
    res = api.run_model([layer], x, config=config)
    np.testing.assert_array_equal(res.y, _golden([layer], x, config)[-1])


def test_field_overflow_names_the_layer_parameter():
    from accelgen.host.diannao import _finish

    config = DianNaoConfig()
    program = [Instruction(s_o1=128, n_o1=2)]
    with pytest.raises(ValueError, match=r"s_o1=128 does not fit in 7 bits \(s_o1 = stride 2 x"):
        _finish(program, config, {"s_o1": "stride 2 x padded input width 64"})
