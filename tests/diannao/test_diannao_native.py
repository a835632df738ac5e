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
