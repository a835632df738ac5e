"""Deep Compression: pruning, k-means weight sharing, codebook, storage report."""

import math

import numpy as np
import pytest

from accelgen.golden.arith import Numerics
from accelgen.golden.compress import (
    compress_layer,
    compression_report,
    kmeans_1d,
    layer_size,
    prune,
    quantize_codebook,
    share_weights,
)
from accelgen.golden.eie_format import encode
from accelgen.golden.layers import fc
from accelgen.golden.netspec import EIELayer

NUM = Numerics(acc_bits=32)


@pytest.mark.parametrize("density", [0.001, 0.05, 0.1, 0.12, 0.5, 0.999, 1.0])
@pytest.mark.parametrize("shape", [(1, 1), (7, 13), (300, 64), (10, 100)])
def test_prune_hits_target_density(shape, density):
    rng = np.random.default_rng(shape[0] * 1000 + int(density * 1000))
    w = rng.normal(size=shape)
    mask = prune(w, density)
    assert mask.shape == w.shape and mask.dtype == bool
    assert mask.sum() == math.floor(density * w.size + 1e-9)
    assert mask.mean() <= density
    assert w.size * (density - mask.mean()) < 1
    if 0 < mask.sum() < w.size:  # largest magnitudes kept
        assert np.abs(w[mask]).min() >= np.abs(w[~mask]).max()


def test_prune_ties_and_ints():
    w = np.array([[1, -1, 1, 0], [-1, 1, 2, 0]])
    assert prune(w, 0.25).tolist() == [[True, False, False, False], [False, False, True, False]]


@pytest.mark.parametrize("density", [0, -0.1, 1.01, float("nan"), "0.5", True])
def test_prune_bad_density(density):
    with pytest.raises((ValueError, TypeError), match="density"):
        prune(np.ones((2, 2)), density)


@pytest.mark.parametrize(
    "w, match",
    [(np.ones(3), "2-D"), (np.array([[np.inf]]), "NaN or infinite"), ([["a"]], "numeric")],
)
def test_prune_bad_weights(w, match):
    with pytest.raises((ValueError, TypeError), match=match):
        prune(w, 0.5)


def test_kmeans_linear_init_recovers_evenly_spaced_values():
    values = np.repeat(np.linspace(-1.5, 2.0, 15), 7)
    centroids, labels = kmeans_1d(np.random.default_rng(0).permutation(values), 15)
    np.testing.assert_allclose(centroids, np.linspace(-1.5, 2.0, 15), atol=1e-12)
    assert np.bincount(labels).tolist() == [7] * 15


@pytest.mark.parametrize("seed", range(5))
def test_kmeans_is_a_lloyd_fixed_point(seed):
    rng = np.random.default_rng(seed)
    v = np.concatenate([rng.normal(-0.3, 0.05, 200), rng.normal(0.4, 0.1, 300)])
    c, labels = kmeans_1d(v, 15)
    assert c.shape == (15,) and np.all(np.diff(c) >= 0)
    # every value sits in its nearest cluster, every non-empty centroid is its members' mean
    nearest = np.abs(v[:, None] - c[None, :]).argmin(axis=1)
    np.testing.assert_array_equal(np.abs(v - c[labels]), np.abs(v - c[nearest]))
    for k in np.unique(labels):
        assert c[k] == pytest.approx(v[labels == k].mean(), abs=1e-9)
    assert c.min() >= v.min() and c.max() <= v.max()


def test_share_weights_codebook():
    rng = np.random.default_rng(3)
    w = rng.normal(0, 0.2, (40, 30))
    mask = prune(w, 0.3)
    centroids, index = share_weights(w, mask)
    assert centroids.shape == (15,)
    assert (index[~mask] == 0).all() and (index[mask] >= 1).all() and index.max() <= 15
    shared = np.concatenate([[0.0], centroids])[index]
    # sharing moves each weight to a nearby centroid (well below the weights' spread)
    assert np.abs(shared - w * mask).max() < 0.1
    cb = quantize_codebook(centroids, w_frac=12)
    assert cb.dtype == np.int16 and cb.shape == (16,) and cb[0] == 0
    np.testing.assert_array_equal(cb[1:], np.round(centroids * 4096).astype(int))


def test_share_weights_empty_layer():
    centroids, index = share_weights(np.ones((3, 4)), np.zeros((3, 4), bool))
    assert (index == 0).all() and centroids.shape == (15,)
    with pytest.raises(ValueError, match="mask has shape"):
        share_weights(np.ones((3, 4)), np.zeros((4, 3), bool))
    with pytest.raises(ValueError, match="at most 15"):
        quantize_codebook(np.ones(16), w_frac=12)


@pytest.mark.parametrize("n_pes", [1, 4, 64])
def test_compressed_layer_equals_dense_on_decoded_weights(n_pes):
    rng = np.random.default_rng(n_pes)
    w, b = rng.normal(0, 0.3, (70, 45)), rng.normal(0, 0.5, 70)
    cl = compress_layer(w, b, density=0.1, num=NUM, relu=True)
    assert isinstance(cl.layer, EIELayer) and cl.layer.density == pytest.approx(315 / 3150)
    np.testing.assert_allclose(
        cl.float_weights()[cl.mask], cl.layer.weights[cl.mask] / 4096, atol=1 / 8192
    )
    from accelgen.golden.netspec import run_eie

    x = rng.integers(-700, 700, (5, 45)) * (rng.random((5, 45)) < 0.5)
    want = fc(x, cl.layer.weights, cl.layer.bias, num=NUM, act="relu", group=1)
    np.testing.assert_array_equal(run_eie([cl.layer], x, num=NUM, n_pes=n_pes)[-1], want)


def test_layer_size_by_hand():
    index = np.zeros((40, 1), np.uint8)
    index[16, 0], index[39, 0] = 3, 5  # stored: pad, 3, pad, 5 (see test_eie_format)
    s = layer_size(encode(index, 1), "demo")
    assert (s.entries, s.padding, s.nonzeros) == (4, 2, 2)
    assert s.dense_bytes == 40 * 4
    assert s.index_bytes == 4  # 4 entries x (4 + 4) bits
    assert s.pointer_bytes == 2 * 2  # 2 pointers x 16 bits
    assert s.codebook_bytes == 32
    assert s.compressed_bytes == 40
    assert s.huffman_bits == 6 + 6  # v = [0,3,0,5], z = [15,0,15,6]: lengths 1,2,2 each
    assert s.ratio == pytest.approx(160 / 40)
    assert s.ratio_huffman == pytest.approx(160 / (1.5 + 4 + 32))


def test_report_totals_and_pointer_scaling():
    rng = np.random.default_rng(9)
    layers = [
        compress_layer(rng.normal(size=(300, 64)), density=0.1, num=NUM).layer,
        compress_layer(rng.normal(size=(10, 300)), density=0.2, num=NUM).layer,
    ]
    r1, r8 = compression_report(layers, 1), compression_report(layers, 8)
    assert r1.dense_bytes == (300 * 64 + 10 * 300) * 4
    assert r1.density == pytest.approx((1920 + 600) / (300 * 64 + 3000))
    assert r8.layers[0].pointer_bytes == 8 * 65 * 2
    assert r1.compressed_bytes == pytest.approx(sum(s.compressed_bytes for s in r1.layers))
    assert 20 < r1.ratio < 32 / 0.1 and r1.ratio_huffman > 20
    text = r8.table()
    assert "l0" in text and "l1" in text and "total" in text and "300x64" in text
    assert r1.to_json()["total"]["ratio"] == pytest.approx(r1.ratio)


def test_out_of_range_weight_is_rejected_not_saturated():
    w = np.array([[12.0, 0.5], [0.25, 0.1]])
    with pytest.raises(ValueError, match=r"l0 shared weight 12 does not fit 16-bit .* 12 frac"):
        compress_layer(w, density=1.0, num=NUM, name="l0")
    with pytest.raises(ValueError, match=r"at most 11 fractional bits hold it"):
        compress_layer(w, density=1.0, num=NUM)
    with pytest.raises(ValueError, match=r"layer bias 200 does not fit"):
        compress_layer(w / 100, np.array([200.0, 0.0]), density=1.0, num=NUM)
    sat = compress_layer(w, density=1.0, num=NUM, saturate=True).layer
    assert sat.codebook.max() == 32767  # saturation only when asked for
