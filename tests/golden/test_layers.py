"""Fixed-point layers against plain nested-loop references written here from docs/numerics.md.

The references use Python integers and spell out every rule (multiply with round half up,
saturating accumulation per group, output saturation, average-pooling reciprocal) instead of
calling :mod:`accelgen.golden.arith`, so a mistake in either is caught.
"""

import numpy as np
import pytest

from accelgen.golden.arith import Numerics
from accelgen.golden.eie_format import encode
from accelgen.golden.layers import conv2d, default_pwl, eie_layer, fc, pool2d
from accelgen.golden.pwl import evaluate

NUM24 = Numerics(acc_bits=24)
NUM32 = Numerics(acc_bits=32)


def clamp(v: int, bits: int) -> int:
    return max(-(1 << (bits - 1)), min((1 << (bits - 1)) - 1, v))


def mul(a: int, w: int, num: Numerics) -> int:
    return clamp((a * w + (1 << (num.w_frac - 1))) >> num.w_frac, num.act_bits)


def act_ref(y: int, act: str, num: Numerics) -> int:
    if act == "relu":
        return max(0, y)
    if act in ("sigmoid", "tanh"):
        return int(evaluate(default_pwl(act, num.act_bits, num.act_frac), np.array([y]))[0])
    return y


def fc_ref(x, w, b, num, act="none", group=1):
    n_out, n_in = w.shape
    y = []
    for o in range(n_out):
        acc = int(b[o]) if b is not None else 0
        for g0 in range(0, n_in, group):
            s = sum(mul(int(x[j]), int(w[o, j]), num) for j in range(g0, min(n_in, g0 + group)))
            acc = clamp(acc + s, num.acc_bits)
        y.append(act_ref(clamp(acc, num.act_bits), act, num))
    return np.array(y)


def conv_ref(x, w, b, num, stride, pad, act, group):
    c_in, h, wd = x.shape
    n_out, _, k, _ = w.shape
    xp = np.zeros((c_in, h + 2 * pad, wd + 2 * pad), dtype=np.int64)
    xp[:, pad : pad + h, pad : pad + wd] = x
    oh, ow = (h + 2 * pad - k) // stride + 1, (wd + 2 * pad - k) // stride + 1
    y = np.zeros((n_out, oh, ow), dtype=np.int64)
    for o in range(n_out):
        for i in range(oh):
            for j in range(ow):
                acc = int(b[o]) if b is not None else 0
                for c0 in range(0, c_in, group):
                    for ky in range(k):
                        for kx in range(k):
                            s = 0
                            for c in range(c0, min(c_in, c0 + group)):
                                px = int(xp[c, i * stride + ky, j * stride + kx])
                                s += mul(px, int(w[o, c, ky, kx]), num)
                            acc = clamp(acc + s, num.acc_bits)
                y[o, i, j] = act_ref(clamp(acc, num.act_bits), act, num)
    return y


def pool_ref(x, k, stride, mode, num):
    c_in, h, wd = x.shape
    oh, ow = (h - k) // stride + 1, (wd - k) // stride + 1
    recip = int(65536 / (k * k) + 0.5)
    y = np.zeros((c_in, oh, ow), dtype=np.int64)
    for c in range(c_in):
        for i in range(oh):
            for j in range(ow):
                win = [
                    int(v)
                    for v in x[c, i * stride : i * stride + k, j * stride : j * stride + k].ravel()
                ]
                if mode == "max":
                    y[c, i, j] = max(win)
                else:
                    y[c, i, j] = clamp((sum(win) * recip + 32768) >> 16, num.act_bits)
    return y


# ------------------------------------------------------------------------------------------- fc


@pytest.mark.parametrize("group", [1, 4, 16])
@pytest.mark.parametrize("act", ["none", "relu", "sigmoid", "tanh"])
@pytest.mark.parametrize("num", [NUM24, NUM32], ids=["acc24", "acc32"])
def test_fc_random(group, act, num):
    rng = np.random.default_rng(group * 10 + len(act))
    for n_out, n_in in [(1, 1), (5, 7), (13, 37)]:
        x = rng.integers(-2000, 2000, n_in)
        w = rng.integers(-6000, 6000, (n_out, n_in))
        b = rng.integers(-3000, 3000, n_out)
        y = fc(x, w, b, num=num, act=act, group=group)
        np.testing.assert_array_equal(y, fc_ref(x, w, b, num, act, group))


@pytest.mark.parametrize("num", [NUM24, NUM32], ids=["acc24", "acc32"])
@pytest.mark.parametrize("sign", [1, -1])
def test_fc_saturation_order_matters(num, sign):
    """300 maximal products, then 290 of the other sign, in ascending input order.

    Exactly, the sum keeps the sign of the first run (about 300 - 290 products); a 24-bit
    accumulator saturates during the first run and ends with the opposite sign.
    """
    n_in = 590
    x = np.full(n_in, 32767 * sign)
    w = np.full((2, n_in), 32767)
    w[:, 300:] = -32768
    b = np.array([0, 32767 * sign])
    for group in (1, 8):
        y = fc(x, w, b, num=num, group=group)
        np.testing.assert_array_equal(y, fc_ref(x, w, b, num, "none", group))
    first_sign_wins = num.acc_bits == 32
    assert y[0] == (32767 if (sign > 0) == first_sign_wins else -32768)


def test_fc_all_zero_rows_columns_and_empty():
    num = NUM24
    w = np.zeros((4, 6), dtype=np.int64)
    w[1, 2] = 4096
    x = np.array([0, 5, 7, 0, 0, 9])
    b = np.array([1, 2, 3, -4])
    np.testing.assert_array_equal(fc(x, w, b, num=num), [1, 9, 3, -4])
    np.testing.assert_array_equal(fc(np.zeros(6, int), w, None, num=num), [0, 0, 0, 0])
    assert fc(np.zeros((3, 0), int), np.zeros((2, 0), int), None, num=num).shape == (3, 2)
    assert fc(np.zeros((0, 6), int), w, None, num=num).shape == (0, 4)


@pytest.mark.parametrize("group", [1, 4])
def test_batched_fc_is_per_vector_fc(group):
    rng = np.random.default_rng(3)
    x = rng.integers(-30000, 30000, (6, 33))
    w = rng.integers(-30000, 30000, (9, 33))
    b = rng.integers(-30000, 30000, 9)
    y = fc(x, w, b, num=NUM24, act="relu", group=group)
    assert y.shape == (6, 9)
    for n in range(6):
        np.testing.assert_array_equal(y[n], fc(x[n], w, b, num=NUM24, act="relu", group=group))
        np.testing.assert_array_equal(y[n], fc_ref(x[n], w, b, NUM24, "relu", group))


def test_rounding_is_half_up():
    num = Numerics(w_frac=2)
    # products / 4: 6/4 = 1.5 -> 2, -6/4 = -1.5 -> -1 (half up, not away from zero)
    assert fc(np.array([[3], [-3]]), np.array([[2]]), num=num)[:, 0].tolist() == [2, -1]
    # 5/4 -> 1, -5/4 -> -1, -7/4 -> -2, 7/4 -> 2
    y = fc(np.array([[5], [-5], [-7], [7]]), np.array([[1]]), num=num)
    assert y[:, 0].tolist() == [1, -1, -2, 2]


# ----------------------------------------------------------------------------------------- conv


@pytest.mark.parametrize("k", [1, 3, 5])
@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("pad", [0, 1])
@pytest.mark.parametrize("group", [1, 4])
def test_conv_against_loops(k, stride, pad, group):
    rng = np.random.default_rng(k * 100 + stride * 10 + pad + group)
    c_in, n_out, h, wd = 5, 3, 7, 6
    x = rng.integers(-3000, 3000, (2, c_in, h, wd))
    w = rng.integers(-5000, 5000, (n_out, c_in, k, k))
    b = rng.integers(-2000, 2000, n_out)
    act = ["none", "relu", "tanh"][(k + stride + pad) % 3]
    y = conv2d(x, w, b, num=NUM24, stride=stride, pad=pad, act=act, group=group)
    for n in range(2):
        np.testing.assert_array_equal(y[n], conv_ref(x[n], w, b, NUM24, stride, pad, act, group))
    np.testing.assert_array_equal(
        conv2d(x[1], w, b, num=NUM24, stride=stride, pad=pad, act=act, group=group), y[1]
    )


@pytest.mark.parametrize("num", [NUM24, NUM32], ids=["acc24", "acc32"])
def test_conv_saturation(num):
    c_in = 40
    x = np.full((c_in, 3, 3), 32767)
    w = np.full((2, c_in, 3, 3), 32767)
    w[1, 20:] = -32768
    for group in (1, 8):
        y = conv2d(x, w, None, num=num, pad=1, group=group)
        np.testing.assert_array_equal(y, conv_ref(x, w, None, num, 1, 1, "none", group))
    assert y[0].max() == 32767


def test_conv_zero_channels_and_no_bias():
    x = np.zeros((3, 4, 4), dtype=np.int64)
    x[1] = 100
    w = np.zeros((2, 3, 3, 3), dtype=np.int64)
    w[0, 0] = 4096  # reads an all-zero channel
    w[1, 1, 1, 1] = 4096  # centre tap of channel 1
    y = conv2d(x, w, None, num=NUM24, pad=1)
    assert (y[0] == 0).all() and (y[1] == 100).all()


# ----------------------------------------------------------------------------------------- pool


@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize("k, stride", [(1, 1), (2, 2), (3, 1), (3, 2), (3, 3)])
def test_pool_against_loops(mode, k, stride):
    rng = np.random.default_rng(k * 7 + stride)
    x = rng.integers(-32768, 32768, (2, 3, 8, 7))
    y = pool2d(x, k=k, stride=stride, mode=mode, num=NUM24)
    for n in range(2):
        np.testing.assert_array_equal(y[n], pool_ref(x[n], k, stride, mode, NUM24))


def test_avg_pool_rounding_and_saturation():
    x = np.full((1, 2, 2), 32767)
    assert pool2d(x, k=2, stride=2, mode="avg", num=NUM24).item() == 32767
    x = np.array([[[-32768, -32768], [-32768, -32768]]])
    assert pool2d(x, k=2, stride=2, mode="avg", num=NUM24).item() == -32768
    # 3x3 window: recip = round(65536 / 9) = 7282; 9 * 7282 = 65538 > 65536, so the average of
    # nine 32767 would overflow without the final saturation
    assert pool2d(np.full((1, 3, 3), 32767), k=3, stride=3, mode="avg", num=NUM24).item() == 32767
    assert pool2d(np.array([[[1, 2], [2, 2]]]), k=2, stride=2, mode="avg", num=NUM24).item() == 2


# ------------------------------------------------------------------------------------------ EIE


def _index(rng, rows, cols, density):
    return (rng.integers(1, 16, (rows, cols)) * (rng.random((rows, cols)) < density)).astype(
        np.uint8
    )


def _codebook(rng, scale=30000):
    return np.concatenate([[0], rng.integers(-scale, scale, 15)])


@pytest.mark.parametrize("n_pes", [1, 2, 4, 8, 64])
@pytest.mark.parametrize("density", [0.0, 0.05, 0.3, 1.0])
@pytest.mark.parametrize("num", [NUM24, NUM32], ids=["acc24", "acc32"])
def test_eie_layer_equals_fc_on_decoded_weights(n_pes, density, num):
    rng = np.random.default_rng(n_pes * 1000 + int(density * 100) + num.acc_bits)
    for rows, cols, batch in [(1, 1, None), (37, 11, 3), (130, 5, None), (70, 90, 2)]:
        idx = _index(rng, rows, cols, density)
        idx[:, cols // 2] = 0  # an empty column
        idx[rows // 2, :] = 0  # a row with no weights
        cb = _codebook(rng)
        x = rng.integers(-32768, 32768, (batch, cols) if batch else cols)
        x = x * (rng.random(x.shape) < 0.6)  # sparse activations
        bias = rng.integers(-32768, 32768, rows)
        for relu in (False, True):
            y = eie_layer(encode(idx, n_pes), cb, x, bias, num=num, relu=relu)
            want = fc(x, cb[idx], bias, num=num, act="relu" if relu else "none", group=1)
            np.testing.assert_array_equal(y, want)


@pytest.mark.parametrize("sign", [1, -1])
@pytest.mark.parametrize("num", [NUM24, NUM32], ids=["acc24", "acc32"])
def test_eie_saturation_both_ways_with_padding(sign, num):
    rows, cols = 48, 700
    idx = np.zeros((rows, cols), dtype=np.uint8)
    idx[0, :] = 1  # +max weight
    idx[47, :] = 1  # row 47: a 46-row gap in PE 0 when N = 1 -> padding entries
    idx[0, 400:] = 2  # 300 x -max after 400 x +max: the sign depends on saturation
    cb = np.zeros(16, dtype=np.int64)
    cb[1], cb[2] = 32767, -32768
    x = np.full(cols, 32767 * sign)
    want = fc_ref(x, cb[idx], None, num)
    assert want[47] == (32767 if sign > 0 else -32768)
    first_sign_wins = num.acc_bits == 32  # a 24-bit accumulator saturates after ~256 products
    assert want[0] == (32767 if (sign > 0) == first_sign_wins else -32768)
    for n_pes in (1, 4):
        enc = encode(idx, n_pes)
        if n_pes == 1:
            assert enc.padding_entries > 0
        np.testing.assert_array_equal(eie_layer(enc, cb, x, None, num=num), want)


def test_layer_bad_input():
    w = np.ones((3, 4), dtype=np.int64)
    with pytest.raises(ValueError, match="x has shape"):
        fc(np.ones(5, int), w, num=NUM24)
    with pytest.raises(TypeError, match="x must be an integer"):
        fc(np.ones(4), w, num=NUM24)
    with pytest.raises(ValueError, match="x holds 40000"):
        fc(np.full(4, 40000), w, num=NUM24)
    with pytest.raises(ValueError, match="w must be 2-D"):
        fc(np.ones(4, int), np.ones(4, int), num=NUM24)
    with pytest.raises(ValueError, match=r"bias must have shape \(3,\)"):
        fc(np.ones(4, int), w, np.ones(4, int), num=NUM24)
    with pytest.raises(ValueError, match="group must be a positive integer, got 0"):
        fc(np.ones(4, int), w, num=NUM24, group=0)
    with pytest.raises(ValueError, match="unknown activation 'gelu'"):
        fc(np.ones(4, int), w, num=NUM24, act="gelu")
    with pytest.raises(ValueError, match="does not fit"):
        conv2d(np.ones((1, 3, 3), int), np.ones((1, 1, 5, 5), int), num=NUM24)
    with pytest.raises(ValueError, match="input channels"):
        conv2d(np.ones((2, 3, 3), int), np.ones((1, 1, 1, 1), int), num=NUM24)
    with pytest.raises(ValueError, match="stride must be an integer >= 1, got 0"):
        conv2d(np.ones((1, 3, 3), int), np.ones((1, 1, 1, 1), int), num=NUM24, stride=0)
    with pytest.raises(ValueError, match="pooling mode"):
        pool2d(np.ones((1, 4, 4), int), k=2, stride=2, mode="min", num=NUM24)
    with pytest.raises(ValueError, match="does not fit"):
        pool2d(np.ones((1, 2, 2), int), k=3, stride=1, mode="max", num=NUM24)
    enc = encode(np.ones((3, 4), np.uint8), 2)
    with pytest.raises(ValueError, match="codebook entry 0 must be 0"):
        eie_layer(enc, np.arange(1, 17), np.ones(4, int), num=NUM24)
    with pytest.raises(ValueError, match="layer has 4 inputs"):
        eie_layer(enc, np.arange(16), np.ones(5, int), num=NUM24)
