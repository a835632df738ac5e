"""Trained digits models: accuracy targets, fixed-point consistency, cache, training gradients."""

import json

import numpy as np
import pytest

from accelgen.golden import models, train
from accelgen.golden.layers import fc
from accelgen.golden.netspec import ConvLayer, EIELayer, FCLayer, PoolLayer
from accelgen.golden.npzformat import dense_shapes


@pytest.fixture(scope="module")
def mlp():
    return models.digits_mlp()


@pytest.fixture(scope="module")
def cnn():
    return models.digits_cnn(tn=8)


def test_digits_data():
    d = models.digits_data()
    assert d.x.dtype == np.int16 and d.x.shape == (359, 64) and d.images.shape == (359, 1, 8, 8)
    assert d.x.min() == 0 and d.x.max() == 256 and (d.x % 16 == 0).all()  # pixel / 16, act_frac 8
    np.testing.assert_array_equal(d.x, np.round(d.x_float * 256))
    assert sorted(set(d.y.tolist())) == list(range(10))
    again = train.digits_split()
    np.testing.assert_array_equal(again.y_test, d.y)
    assert len(again.y_train) + len(d.y) == 1797


def test_mlp_targets(mlp):
    assert mlp.float_accuracy >= 0.97
    assert mlp.fixed_accuracy >= mlp.float_accuracy - 0.01
    assert mlp.density <= 0.12
    assert mlp.compressed_accuracy >= mlp.float_accuracy - 0.01
    assert mlp.compression_ratio > 20 and mlp.compression_ratio_huffman >= mlp.compression_ratio


def test_mlp_layers_are_eie_layers(mlp):
    assert [type(layer) for layer in mlp.layers] == [EIELayer] * 3
    assert [layer.shape for layer in mlp.layers] == [(300, 64), (100, 300), (10, 100)]
    assert [layer.relu for layer in mlp.layers] == [True, True, False]
    for layer, (w, _) in zip(mlp.layers, mlp.shared_params, strict=True):
        assert layer.codebook[0] == 0 and np.count_nonzero(layer.codebook[1:]) >= 14
        # the codebook quantizes the shared float weights
        np.testing.assert_allclose(layer.weights / 4096, w, atol=0.5 / 4096)
    assert [len(layer.bias) for layer in mlp.layers] == [300, 100, 10]


def test_mlp_compressed_accuracy_recomputed_densely(mlp):
    """Dense fc on the decoded weights, written out here, gives the reported accuracy."""
    d = models.digits_data()
    a = d.x
    for layer in mlp.layers:
        a = fc(a, layer.weights, layer.bias, num=mlp.numerics, act="relu" if layer.relu else "none")
    assert (a.argmax(1) == d.y).mean() == mlp.compressed_accuracy
    np.testing.assert_array_equal(mlp.predict(d.x[:40], n_pes=4), a[:40].argmax(1))
    dense = mlp.dense_layers()
    assert [type(layer) for layer in dense] == [FCLayer] * 3 and dense[0].w.shape == (300, 64)


def test_cnn_targets_and_layers(cnn):
    assert cnn.fixed_accuracy >= 0.97 and cnn.float_accuracy >= 0.97
    assert [type(layer) for layer in cnn.layers] == [
        ConvLayer,
        PoolLayer,
        ConvLayer,
        PoolLayer,
        FCLayer,
    ]
    assert cnn.input_shape == (1, 8, 8)
    assert dense_shapes(cnn.layers, cnn.input_shape) == [
        (8, 8, 8),
        (8, 4, 4),
        (16, 4, 4),
        (16, 2, 2),
        (10,),
    ]
    d = models.digits_data()
    assert (cnn.predict(d.images) == d.y).mean() == cnn.fixed_accuracy


@pytest.mark.parametrize("tn", [2, 16])
def test_cnn_other_tile_sizes(tn):
    assert models.digits_cnn(tn=tn).fixed_accuracy >= 0.97


def test_bad_arguments():
    with pytest.raises(ValueError, match="tn must be a positive integer, got 0"):
        models.digits_cnn(tn=0)
    with pytest.raises(ValueError, match="densities must be in"):
        models.MLPParams(densities=(0.1, 0.0, 0.2))
    with pytest.raises(ValueError, match="densities needs one value per layer"):
        models.MLPParams(densities=(0.1, 0.2))
    with pytest.raises(ValueError, match="channels"):
        models.CNNParams(channels=(8, 0))
    with pytest.raises(TypeError, match="epochs"):
        models.MLPParams(epochs=1.5)
    with pytest.raises(ValueError, match="hidden sizes must be integers"):
        models.MLPParams(hidden=(30.5,), densities=(0.1, 0.1))
    with pytest.raises(ValueError, match="densities must be in"):
        models.MLPParams(densities=(0.1, "0.1", 0.2))
    p = models.MLPParams(hidden=(32,), densities=(0.5, 0.5))
    assert models.MLPParams.from_json(json.loads(json.dumps(p.to_json()))) == p


def test_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ACCELGEN_BUILD_DIR", str(tmp_path))
    p = models.MLPParams(
        hidden=(16,), densities=(0.5, 0.5), epochs=3, prune_epochs=1, share_epochs=1
    )
    first = models.digits_mlp(params=p)
    files = list((tmp_path / "models").glob("digits_mlp-*.npz"))
    assert len(files) == 1

    def no_training(*args, **kwargs):
        raise AssertionError("trained again despite the cache")

    monkeypatch.setattr(train, "train_mlp", no_training)
    again = models.digits_mlp(params=p)
    assert again.compressed_accuracy == first.compressed_accuracy
    np.testing.assert_array_equal(again.layers[0].index, first.layers[0].index)
    with pytest.raises(AssertionError, match="trained again"):
        models.digits_mlp(params=models.MLPParams(hidden=(16,), densities=(0.5, 0.4), epochs=3))
    files[0].write_bytes(b"damaged")  # a damaged entry is rebuilt, not an error
    monkeypatch.undo()
    monkeypatch.setenv("ACCELGEN_BUILD_DIR", str(tmp_path))
    rebuilt = models.digits_mlp(params=p)
    np.testing.assert_array_equal(rebuilt.layers[0].index, first.layers[0].index)


def _numeric_grad(f, a, eps=1e-6):
    g = np.zeros_like(a)
    for i in np.ndindex(a.shape):
        old = a[i]
        a[i] = old + eps
        up = f()
        a[i] = old - eps
        down = f()
        a[i] = old
        g[i] = (up - down) / (2 * eps)
    return g


def _loss(logits, y):
    z = logits - logits.max(axis=1, keepdims=True)
    return float((np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(y)), y]).mean())


def test_mlp_gradients_match_finite_differences():
    rng = np.random.default_rng(0)
    params = train.init_mlp([6, 5, 4, 3], rng)
    params = [(w, rng.normal(size=b.shape)) for w, b in params]
    x, y = rng.random((7, 6)), rng.integers(0, 3, 7)
    grads = train._mlp_grads(params, x, y, 0.0)
    for (w, b), (gw, gb) in zip(params, grads, strict=True):
        for a, g in ((w, gw), (b, gb)):
            num = _numeric_grad(lambda: _loss(train.mlp_forward(params, x)[0], y), a)
            np.testing.assert_allclose(g, num, atol=1e-6)


def test_cnn_gradients_match_finite_differences():
    rng = np.random.default_rng(1)
    params = [
        (rng.normal(0, 0.5, (2, 1, 3, 3)), rng.normal(0, 0.1, 2)),
        (rng.normal(0, 0.5, (3, 2, 3, 3)), rng.normal(0, 0.1, 3)),
        (rng.normal(0, 0.5, (10, 12)), rng.normal(0, 0.1, 10)),
    ]
    x, y = rng.random((3, 1, 8, 8)), rng.integers(0, 10, 3)
    grads = train._cnn_grads(params, x, y, 0.0, 3)
    for (w, b), (gw, gb) in zip(params, grads, strict=True):
        for a, g in ((w, gw), (b, gb)):
            num = _numeric_grad(lambda: _loss(train.cnn_forward(params, x)[0], y), a)
            np.testing.assert_allclose(g, num, atol=1e-5)


def test_centroid_gradients_match_finite_differences():
    rng = np.random.default_rng(2)
    idx = [rng.integers(0, 16, (5, 6)), rng.integers(0, 16, (3, 5))]
    cs = [rng.normal(size=15), rng.normal(size=15)]
    bs = [rng.normal(size=5), rng.normal(size=3)]
    x, y = rng.random((4, 6)), rng.integers(0, 3, 4)
    grads = train._centroid_grads(cs, idx, bs, x, y)
    for a, g in zip(cs + bs, grads, strict=True):
        num = _numeric_grad(
            lambda: _loss(train.mlp_forward(train._shared_params(cs, idx, bs), x)[0], y), a
        )
        np.testing.assert_allclose(g, num, atol=1e-6)
