"""The native engine (compiled Verilator harness) on DianNao: bit-exact with the golden layers,
the CP model and the cocotb engine (outputs and every per-tile counter)."""

from __future__ import annotations

import numpy as np
import pytest
from test_rtl import CONFIGS, _cases, _check

from accelgen.sim import diannao as api
from accelgen.sim.runner import default_simulators

# compared with cocotb as well: every layer kind, several host tiles, and on tn8 the
# double-buffered prefetch that overlaps the next tile's loads with a running program
COCOTB_CASES = ("fc-batched", "conv-k3-s2-p1", "pool-max", "fc-multi-tile", "network")


@pytest.mark.parametrize("name", list(CONFIGS))
def test_native_matches_golden_and_model(name):
    config = CONFIGS[name]
    cases = _cases(name, config, seed=11)
    results = api.simulate_cases(
        [(layers, x) for _, layers, x in cases], config=config, engine="native"
    )
    _check(config, cases, results)


@pytest.mark.parametrize("simulator", default_simulators())
@pytest.mark.parametrize("name", ["tn4", "tn8"])
def test_native_matches_cocotb(name, simulator):
    config = CONFIGS[name]
    cases = [c for c in _cases(name, config, seed=5) if c[0] in COCOTB_CASES]
    assert len(cases) >= 3
    packed = [(layers, x) for _, layers, x in cases]
    ref = api.simulate_cases(packed, config=config, simulator=simulator)
    got = api.simulate_cases(packed, config=config, engine="native")
    for (case, _, _), a, b in zip(cases, got, ref, strict=True):
        for j, (u, v) in enumerate(zip(a.outputs, b.outputs, strict=True)):
            np.testing.assert_array_equal(u, v, err_msg=f"{name}/{case} layer {j}")
        for j, (u, v) in enumerate(zip(a.tile_stats, b.tile_stats, strict=True)):
            np.testing.assert_array_equal(u, v, err_msg=f"{name}/{case} layer {j} counters")


def test_simulate_native_chunks():
    config = CONFIGS["tn4"]
    case = next(c for c in _cases("tn4", config, seed=3) if c[0] == "fc-batched")
    _, layers, x = case
    res = api.simulate(layers, x, config=config, engine="native", progress=False, chunk=1)
    np.testing.assert_array_equal(res.y, api.run_model(layers, x, config=config).y)
    for i in range(len(x)):  # chunks of one sample: each runs alone (no shared FC tiles)
        model = api.run_model(layers, x[i : i + 1], config=config)
        np.testing.assert_array_equal(res.layer_cycles[i : i + 1], model.layer_cycles)


def test_native_rejects_icarus_before_simulating():
    config = CONFIGS["tn4"]
    _, layers, x = _cases("tn4", config, seed=3)[0]
    with pytest.raises(ValueError, match="Verilator only"):
        api.simulate(layers, x, config=config, engine="native", simulator="icarus")


def test_native_winograd_matches_golden_and_model():
    """Winograd mode (host transforms around FC programs, finish_layer on the host) natively."""
    from test_winograd_diannao import TN2, TN4, _check_rtl, _wconv
    from test_winograd_diannao import _cases as winograd_cases

    cases = winograd_cases(7)
    results = api.simulate_cases([(la, x) for _, la, x in cases], config=TN4, engine="native")
    _check_rtl(TN4, cases, results)
    rng = np.random.default_rng(8)
    cases = [("multi-chunk", *_wconv(rng, 130, 1, h=3, w=3, pad=0, act="relu"))]
    results = api.simulate_cases([(la, x) for _, la, x in cases], config=TN2, engine="native")
    _check_rtl(TN2, cases, results)


@pytest.mark.slow
def test_lenet5_shaped_cnn_on_rtl():
    """A LeNet-5-shaped CNN (28x28 input, conv 5x5 x20, max-pool 2, conv 5x5 x50, max-pool 2,
    fc 800-500-10; seeded random weights) on the Tn = 8 RTL with the native engine: outputs
    equal the golden model, every layer's cycles equal the CP model (85,554 cycles per image)."""
    from accelgen.golden.netspec import run_dense
    from accelgen.golden.synthetic import synthetic_dense
    from accelgen.spec.diannao import DianNaoConfig

    shapes = [
        ("conv", dict(ni=1, no=20, height=28, width=28, kernel=5, act="relu")),
        ("pool", dict(ni=20, no=20, height=24, width=24, kernel=2)),
        ("conv", dict(ni=20, no=50, height=12, width=12, kernel=5, act="relu")),
        ("pool", dict(ni=50, no=50, height=8, width=8, kernel=2)),
        ("class", dict(ni=800, no=500, act="relu")),
        ("class", dict(ni=500, no=10)),
    ]
    layers = [synthetic_dense(k, seed=i + 1, **kw)[0] for i, (k, kw) in enumerate(shapes)]
    x = np.random.default_rng(7).integers(0, 256, size=(4, 1, 28, 28)).astype(np.int16)
    config = DianNaoConfig(tn=8, nbin_depth=1024, nbout_depth=1024, sb_depth=1024)
    res = api.simulate(layers, x, config=config, engine="native", progress=False)
    model = api.run_model(layers, x, config=config)
    golden = run_dense(layers, x, num=config.numerics, group=config.tn)[-1]
    assert np.array_equal(res.y, golden)
    assert np.array_equal(res.layer_cycles, model.layer_cycles)
    assert np.array_equal(res.cycles, model.cycles)
