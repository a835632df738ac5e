"""Fixed-point LSTM cell: element-wise rule by hand, float agreement, EIE == dense, errors."""

import numpy as np
import pytest

from accelgen.golden.arith import Numerics, quantize
from accelgen.golden.compress import compress_layer
from accelgen.golden.layers import default_pwl
from accelgen.golden.lstm import lstm_cell, lstm_cell_float
from accelgen.golden.pwl import evaluate

NUM = Numerics(acc_bits=32)


def _pwl(name, v):
    return int(evaluate(default_pwl(name, 16, 8), np.array([v]))[0])


def _mul(u, v):
    return max(-32768, min(32767, (u * v + 128) >> 8))


def test_elementwise_rule_by_hand():
    """Zero weights: the gates are the biases, so every step can be written out here."""
    rng = np.random.default_rng(0)
    hidden, n_x = 3, 2
    bias = rng.integers(-900, 900, 4 * hidden)
    c = rng.integers(-2000, 2000, hidden)
    h_new, c_new = lstm_cell(
        rng.integers(-256, 256, n_x),
        rng.integers(-256, 256, hidden),
        c,
        np.zeros((4 * hidden, n_x + hidden), int),
        bias,
        num=NUM,
    )
    for k in range(hidden):
        i = _pwl("sigmoid", bias[k])
        f = _pwl("sigmoid", bias[hidden + k])
        g = _pwl("tanh", bias[2 * hidden + k])
        o = _pwl("sigmoid", bias[3 * hidden + k])
        ck = max(-32768, min(32767, _mul(f, int(c[k])) + _mul(i, g)))
        assert c_new[k] == ck
        assert h_new[k] == _mul(o, _pwl("tanh", ck))


@pytest.mark.parametrize("g_bias, c, want", [(2048, 32767, 32767), (-2048, -32768, -32768)])
def test_cell_state_saturates_both_ways(g_bias, c, want):
    bias = np.array([2048, 2048, g_bias, 2048])  # i, f, o ~ sigmoid(8); g ~ tanh(+-8)
    assert _pwl("sigmoid", 2048) > 250 and abs(_pwl("tanh", g_bias)) > 250
    h_new, c_new = lstm_cell([0], [0], [c], np.zeros((4, 2), int), bias, num=NUM)
    assert c_new.tolist() == [want]
    assert h_new[0] == _mul(_pwl("sigmoid", 2048), _pwl("tanh", want))


@pytest.mark.parametrize("seed", range(3))
def test_close_to_float_over_a_sequence(seed):
    rng = np.random.default_rng(seed)
    n_x, hidden, steps, batch = 6, 5, 8, 4
    w = rng.normal(0, 0.4, (4 * hidden, n_x + hidden))
    b = rng.normal(0, 0.3, 4 * hidden)
    xs = rng.normal(0, 1, (steps, batch, n_x))
    wq, bq = quantize(w, 12, 16), quantize(b, 8, 16)
    h = c = np.zeros((batch, hidden), dtype=np.int64)
    hf = cf = np.zeros((batch, hidden))
    for t in range(steps):
        h, c = lstm_cell(quantize(xs[t], 8, 16), h, c, wq, bq, num=NUM, group=4)
        hf, cf = lstm_cell_float(xs[t], hf, cf, wq / 4096, bq / 256)
        # PWL errors (<= 0.015 sigmoid, <= 0.03 tanh) plus rounding, compounded over steps
        assert np.abs(h / 256 - hf).max() < 0.08
        assert np.abs(c / 256 - cf).max() < 0.15


@pytest.mark.parametrize("n_pes", [1, 4])
def test_eie_gates_equal_dense_gates(n_pes):
    rng = np.random.default_rng(7)
    n_x, hidden = 9, 4
    cl = compress_layer(rng.normal(0, 0.5, (16, 13)), rng.normal(0, 0.3, 16), density=0.3, num=NUM)
    x, h, c = (
        rng.integers(-300, 300, (2, n_x)),
        rng.integers(-200, 200, (2, hidden)),
        rng.integers(-500, 500, (2, hidden)),
    )
    got = lstm_cell(x, h, c, cl.layer, num=NUM, n_pes=n_pes)
    want = lstm_cell(x, h, c, cl.layer.weights, cl.layer.bias, num=NUM, group=1)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(a, b)


def test_bad_input():
    z = np.zeros((8, 3), int)
    with pytest.raises(ValueError, match=r"\[4H, X \+ H\] = \[8, 3\], got \(8, 4\)"):
        lstm_cell([0], [0, 0], [0, 0], np.zeros((8, 4), int), num=NUM)
    with pytest.raises(ValueError, match="do not match"):
        lstm_cell([0], [0, 0], [0, 0, 0], z, num=NUM)
    with pytest.raises(ValueError, match="c holds 40000"):
        lstm_cell([0], [0, 0], [0, 40000], z, num=NUM)
    with pytest.raises(TypeError, match="h must be an integer"):
        lstm_cell([0], [0.5, 0], [0, 0], z, num=NUM)
    layer = compress_layer(np.ones((8, 3)), np.ones(8), density=1.0, num=NUM, relu=True).layer
    with pytest.raises(ValueError, match="must not apply ReLU"):
        lstm_cell([0], [0, 0], [0, 0], layer, num=NUM)
