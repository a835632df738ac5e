"""Training on the DianNao RTL: the forward pass and the backward product ``W^T g`` of the golden
fixed-point SGD (golden/sgd.py) run on ``diannao_top`` as FC layers (the backward one with the
transposed weights from the host), bit-exact with the golden SGD, cycles equal to the CP model."""

import numpy as np
import pytest

from accelgen.golden import sgd
from accelgen.sim import diannao as api
from accelgen.sim.runner import default_simulators
from accelgen.spec.diannao import DianNaoConfig

# the "tn4" build of test_rtl.py (same Verilog: built once per simulator)
CONFIG = DianNaoConfig(tn=4, nbin_depth=64, sb_depth=32, nbout_depth=32, imem_depth=8)
CFG = sgd.SGDConfig(w_frac=CONFIG.w_frac, group=CONFIG.tn)


def _cases(seed: int = 5):
    _, ws = sgd.init_weights((24, 20, 6), CFG, seed=seed)
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 257, (3, 24))
    y = rng.integers(0, 6, 3)
    acts = sgd.forward(ws, x, CFG)
    g = np.stack([sgd.output_error(acts[-1][i], int(y[i]), CFG) for i in range(3)])
    fwd = [api.FCLayer(ws[0], act="relu"), api.FCLayer(ws[1])]
    bwd = [api.FCLayer(np.ascontiguousarray(ws[1].T))]
    # saturation in the backward product: extreme errors and weights
    w_big = rng.choice([-32768, 32767], (40, 7))
    g_big = rng.choice([-32768, 32767], (2, 40))
    return ws, acts, g, [(fwd, x), (bwd, g), ([api.FCLayer(w_big.T.copy())], g_big)], (w_big, g_big)


@pytest.mark.parametrize("simulator", default_simulators())
def test_forward_and_backward_products_on_rtl(simulator):
    ws, acts, g, cases, (w_big, g_big) = _cases()
    res = api.simulate_cases(cases, config=CONFIG, simulator=simulator)
    for j in (0, 1):
        np.testing.assert_array_equal(res[0].outputs[j], acts[j + 1], err_msg=f"forward {j}")
    for i in range(len(g)):
        want = sgd.backward(ws[1], g[i], acts[1][i], CFG)
        got = np.where(acts[1][i] > 0, res[1].y[i], 0)  # host: ReLU derivative
        np.testing.assert_array_equal(got, want, err_msg=f"backward sample {i}")
    ones = np.ones(w_big.shape[1], dtype=np.int64)
    for i in range(len(g_big)):
        want = sgd.backward(w_big, g_big[i], ones, CFG)
        np.testing.assert_array_equal(res[2].y[i], want, err_msg=f"saturating backward {i}")
        assert np.isin(want, (-32768, 32767)).any()
    for r, (layers, x) in zip(res, cases, strict=True):
        model = api.run_model(layers, x, config=CONFIG)
        np.testing.assert_array_equal(r.layer_cycles, model.layer_cycles)
