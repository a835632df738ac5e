"""Float reference layers, batch-norm folding, and fixed point vs float agreement."""

import numpy as np
import pytest

from accelgen.golden.arith import Numerics, quantize
from accelgen.golden.float_layers import (
    activate_float,
    conv2d_float,
    fc_float,
    fold_batchnorm,
    pool2d_float,
    run_dense_float,
    run_eie_float,
)
from accelgen.golden.netspec import ConvLayer, EIELayer, FCLayer, PoolLayer, run_dense, run_eie

NUM = Numerics(acc_bits=32)


def test_float_conv_and_pool_by_loops():
    rng = np.random.default_rng(0)
    x, w, b = rng.normal(size=(2, 7, 6)), rng.normal(size=(3, 2, 3, 3)), rng.normal(size=3)
    y = conv2d_float(x, w, b, stride=2, pad=1)
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    for o in range(3):
        for i in range(y.shape[1]):
            for j in range(y.shape[2]):
                ref = b[o] + (xp[:, 2 * i : 2 * i + 3, 2 * j : 2 * j + 3] * w[o]).sum()
                assert y[o, i, j] == pytest.approx(ref)
    p = pool2d_float(x, k=2, stride=2, mode="avg")
    assert p[1, 2, 1] == pytest.approx(x[1, 4:6, 2:4].mean())
    assert pool2d_float(x, k=3, stride=1, mode="max")[0, 0, 0] == x[0, :3, :3].max()
    assert fc_float([1.0, 2.0], [[1.0, -1.0]], [0.5], act="relu").tolist() == [0.0]
    assert activate_float([0.0], "sigmoid").tolist() == [0.5]


def test_fold_batchnorm_fc_and_conv():
    rng = np.random.default_rng(1)
    n = 4
    gamma, beta = rng.normal(size=n), rng.normal(size=n)
    mean, var = rng.normal(size=n), rng.random(n) + 0.1

    def bn(y, axis_shape):
        s = (gamma / np.sqrt(var + 1e-5)).reshape(axis_shape)
        return (y - mean.reshape(axis_shape)) * s + beta.reshape(axis_shape)

    w, b, x = rng.normal(size=(n, 6)), rng.normal(size=n), rng.normal(size=(5, 6))
    wf, bf = fold_batchnorm(w, b, gamma, beta, mean, var)
    np.testing.assert_allclose(fc_float(x, wf, bf), bn(fc_float(x, w, b), (1, n)), atol=1e-12)
    wc, xc = rng.normal(size=(n, 2, 3, 3)), rng.normal(size=(2, 2, 5, 5))
    wcf, bcf = fold_batchnorm(wc, None, gamma, beta, mean, var)
    np.testing.assert_allclose(
        conv2d_float(xc, wcf, bcf, pad=1), bn(conv2d_float(xc, wc, pad=1), (1, n, 1, 1)), atol=1e-12
    )
    with pytest.raises(ValueError, match=r"gamma must have shape \(4,\)"):
        fold_batchnorm(w, b, gamma[:3], beta, mean, var)
    with pytest.raises(ValueError, match="var"):
        fold_batchnorm(w, b, gamma, beta, mean, -np.ones(n))


def test_fixed_dense_network_tracks_float():
    rng = np.random.default_rng(2)
    layers = [
        ConvLayer(
            quantize(rng.normal(0, 0.3, (4, 1, 3, 3)), 12, 16),
            quantize(rng.normal(0, 0.1, 4), 8, 16),
            pad=1,
            act="relu",
        ),
        PoolLayer(k=2, stride=2, mode="avg"),
        ConvLayer(quantize(rng.normal(0, 0.3, (6, 4, 3, 3)), 12, 16), None, pad=1, act="tanh"),
        PoolLayer(k=2, stride=2, mode="max"),
        FCLayer(
            quantize(rng.normal(0, 0.3, (5, 24)), 12, 16),
            quantize(rng.normal(0, 0.1, 5), 8, 16),
            act="sigmoid",
        ),
    ]
    x = rng.random((3, 1, 8, 8))
    fixed = run_dense(layers, quantize(x, 8, 16), num=NUM, group=4)
    flt = run_dense_float(layers, x, num=NUM)
    for fx, fl in zip(fixed, flt, strict=True):
        assert fx.shape == fl.shape
        assert np.abs(fx / 256 - fl).max() < 0.05  # PWL (<= 0.03) + rounding


def test_fixed_eie_network_tracks_float():
    rng = np.random.default_rng(3)
    cb = np.concatenate([[0], quantize(np.linspace(-0.5, 0.5, 15), 12, 16)])
    layers = [
        EIELayer(
            cb,
            rng.integers(0, 16, (20, 12)) * (rng.random((20, 12)) < 0.3),
            quantize(rng.normal(0, 0.2, 20), 8, 16),
            relu=True,
        ),
        EIELayer(cb, rng.integers(0, 16, (6, 20)), None),
    ]
    x = rng.random((4, 12))
    fixed = run_eie(layers, quantize(x, 8, 16), num=NUM, n_pes=2)
    flt = run_eie_float(layers, x, num=NUM)
    assert np.abs(fixed[-1] / 256 - flt[-1]).max() < 0.05
