"""LeNet-5's trainer, Deep Compression and golden model on a tiny synthetic MNIST; the fast
golden convolution against the reference one; relative indexing of sparse convolutions."""

from __future__ import annotations

import numpy as np
import pytest

from accelgen.golden import cnn_train, lenet
from accelgen.golden.arith import Numerics
from accelgen.golden.fastconv import conv2d_fast, run_conv_fast
from accelgen.golden.layers import conv2d, pool2d
from accelgen.golden.models import DEFAULT_NUMERICS
from accelgen.golden.netspec import ConvLayer, PoolLayer, run_dense, run_eie
from accelgen.golden.relindex import conv_layer_size, relative_decode, relative_index

TINY = dict(epochs=2, prune_epochs=1, share_epochs=1)


def _loss(params, x, y, decay):
    logits, _ = cnn_train.forward(params, x)
    z = logits - logits.max(1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(1, keepdims=True))
    return -logp[np.arange(len(y)), y].mean() + 0.5 * decay * sum((w * w).sum() for w, _ in params)


def test_gradients_match_finite_differences(monkeypatch):
    monkeypatch.setattr(cnn_train, "F32", np.float64)  # exact enough for central differences
    rng = np.random.default_rng(1)
    params = [
        (w.astype(np.float64), rng.normal(0, 0.1, b.shape)) for w, b in cnn_train.init_lenet5(rng)
    ]
    x, y = rng.random((3, 28, 28)), np.array([1, 5, 9])
    grads = cnn_train._grads(params, x, y, 1e-3)
    for layer in range(4):
        for j in range(2):
            a = params[layer][j]
            for _ in range(2):
                i = tuple(int(rng.integers(0, s)) for s in a.shape)
                old = a[i]
                a[i] = old + 1e-6
                up = _loss(params, x, y, 1e-3)
                a[i] = old - 1e-6
                down = _loss(params, x, y, 1e-3)
                a[i] = old
                assert grads[layer][j][i] == pytest.approx((up - down) / 2e-6, rel=1e-5, abs=1e-8)


def test_forward_is_caffes_lenet5():
    """Against the float reference layers (NCHW, no activation after the convolutions)."""
    from accelgen.golden.float_layers import conv2d_float, fc_float, pool2d_float

    rng = np.random.default_rng(2)
    params = cnn_train.init_lenet5(rng)
    x = rng.random((2, 28, 28)).astype(np.float32)
    (w1, b1), (w2, b2), (w3, b3), (w4, b4) = params
    h = pool2d_float(conv2d_float(x[:, None], w1, b1), k=2, stride=2, mode="max")
    h = pool2d_float(conv2d_float(h, w2, b2), k=2, stride=2, mode="max")
    h = fc_float(h.reshape(2, -1), w3, b3, act="relu")
    want = fc_float(h, w4, b4)
    np.testing.assert_allclose(cnn_train.forward(params, x)[0], want, rtol=1e-4, atol=1e-5)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """Trained once for the module, in its own model cache."""
    from conftest import make_toy_mnist

    build = tmp_path_factory.mktemp("build")
    toy = make_toy_mnist(600, 60)
    params = lenet.LeNet5Params(**TINY)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ACCELGEN_BUILD_DIR", str(build))
        yield lenet.lenet5(params=params, data=toy), toy, params, build


def test_deep_compression_reaches_the_papers_densities(tiny_model):
    model, toy, params, _ = tiny_model
    conv1, pool, conv2, _ = model.conv_layers
    assert conv1.w.shape == (20, 1, 5, 5) and conv2.w.shape == (50, 20, 5, 5)
    assert isinstance(pool, PoolLayer) and pool.k == 2 and conv1.act == conv2.act == "none"
    ip1, ip2 = model.fc_layers
    assert ip1.shape == (500, 800) and ip2.shape == (10, 500) and ip1.relu and not ip2.relu
    weights = [conv1.w, conv2.w, ip1.index, ip2.index]
    for w, want in zip(weights, (0.66, 0.12, 0.08, 0.19), strict=True):
        assert abs(np.count_nonzero(w) - want * w.size) <= 1
    # 8-bit sharing for the convolutions (at most 255 values + 0), 4-bit for the FC layers
    assert len(np.unique(conv2.w)) <= 256 and len(np.unique(conv1.w)) <= 256
    assert ip1.index.max() <= 15 and ip1.codebook[0] == 0
    assert [s.name for s in model.report.layers] == ["conv1", "conv2", "ip1", "ip2"]
    assert model.report.dense_bytes == 4 * (500 + 25_000 + 400_000 + 5_000)
    assert list(model.stage_errors) == ["dense", "pruned", "retrained", "shared", "fine-tuned"]
    assert len(model.epoch_seconds) == 4 and (model.epoch_seconds > 0).all()
    # the squares are easy: the dense float net and the compressed one both learn them
    assert model.errors["float"] < 0.05 and model.errors["compressed_float"] < 0.1


def test_golden_is_run_dense_then_run_eie(tiny_model):
    """The model's golden (fast convolutions) equals the reference layers in DianNao's order,
    and the fixed-point network classifies as well as its float version."""
    model, toy, _, _ = tiny_model
    x, y = lenet.mnist_images(model.numerics, toy)
    assert x.shape == (60, 1, 28, 28) and np.array_equal(x[:, 0], toy.x_test)
    conv, fc = model.golden(x[:6])
    ref = run_dense(model.conv_layers, x[:6], num=model.numerics, group=model.tn)
    for a, b in zip(conv, ref, strict=True):
        np.testing.assert_array_equal(a, b)
    ref_fc = run_eie(model.fc_layers, ref[-1].reshape(6, -1), num=model.numerics)
    np.testing.assert_array_equal(fc[-1], ref_fc[-1])
    err = float((model.predict(x) != y).mean())
    assert abs(err - model.errors["compressed_float"]) <= 0.03


def test_cached_model_is_read_back(tiny_model):
    model, toy, params, build = tiny_model
    files = list((build / "models").glob("lenet5-*.npz"))
    assert len(files) == 1
    again = lenet.lenet5_arrays(params, data=toy)  # read back, not retrained
    assert np.array_equal(again["index2"], model.fc_layers[0].index)
    assert len(list((build / "models").glob("lenet5-*.npz"))) == 1


def test_params_validate():
    with pytest.raises(ValueError, match="densities"):
        lenet.LeNet5Params(densities=(0.5, 0.5, 0.5))
    with pytest.raises(ValueError, match="at most 15"):
        lenet.LeNet5Params(shared=(255, 255, 31, 15))
    with pytest.raises(ValueError, match="epochs"):
        lenet.LeNet5Params(epochs=-1)
    p = lenet.LeNet5Params(epochs=3)
    assert lenet.LeNet5Params.from_json(p.to_json()) == p


# ------------------------------------------------------------------------ fast convolution


@pytest.mark.parametrize("seed", range(6))
def test_fast_conv_equals_reference(seed):
    rng = np.random.default_rng(seed)
    c, o, k = int(rng.integers(1, 12)), int(rng.integers(1, 9)), int(rng.choice([1, 3, 5]))
    stride, pad, group = (
        int(rng.integers(1, 3)),
        int(rng.integers(0, 3)),
        int(rng.choice([1, 4, 8])),
    )
    x = rng.integers(-400, 400, (3, c, 9, 10))
    w = rng.integers(-6000, 6000, (o, c, k, k))
    b = rng.integers(-3000, 3000, o)
    act = str(rng.choice(["none", "relu"]))
    num = DEFAULT_NUMERICS
    want = conv2d(x, w, b, num=num, stride=stride, pad=pad, act=act, group=group)
    got = conv2d_fast(x, w, b, num=num, stride=stride, pad=pad, act=act, group=group, chunk=2)
    np.testing.assert_array_equal(got, want)


def test_fast_conv_saturating_products_and_accumulator():
    """Full-scale values: products saturate to 16 bits and partial sums reach the 24-bit
    accumulator range, where the hardware's order matters (the reference path takes over)."""
    num = Numerics(acc_bits=24)
    rng = np.random.default_rng(3)
    x = rng.choice([-32768, 32767, 30000, -100], (3, 64, 5, 5))
    x[0, :32], x[0, 32:] = 32767, -32768  # image 0: 288 products of +32767, then of -32768
    w = rng.choice([-32768, 32767, 20000, 7], (3, 64, 3, 3))
    w[0] = 32767
    for group in (1, 8):
        want = conv2d(x, w, None, num=num, group=group)
        np.testing.assert_array_equal(conv2d_fast(x, w, None, num=num, group=group), want)
    # in order, the accumulator saturates at 2**23 - 1 before the negative half: the result is
    # 2**23 - 1 - 288 * 32768, not the exact sum (-288)
    assert (want[0, 0] == -32768).all()


def test_run_conv_fast_equals_run_dense():
    rng = np.random.default_rng(4)
    layers = [
        ConvLayer(rng.integers(-4000, 4000, (4, 1, 5, 5)), rng.integers(-99, 99, 4)),
        PoolLayer(k=2, stride=2, mode="max"),
        ConvLayer(rng.integers(-4000, 4000, (6, 4, 3, 3)), None, act="relu"),
        PoolLayer(k=2, stride=2, mode="avg"),
    ]
    x = rng.integers(0, 256, (3, 1, 14, 14))
    for a, b in zip(
        run_conv_fast(layers, x, num=DEFAULT_NUMERICS, group=4),
        run_dense(layers, x, num=DEFAULT_NUMERICS, group=4),
        strict=True,
    ):
        np.testing.assert_array_equal(a, b)
    assert pool2d is not None


# ---------------------------------------------------------------------- relative indexing


def test_relative_index_by_hand():
    flat = np.zeros(600, np.int64)
    flat[[0, 3, 300, 599]] = [7, 255, 1, 9]
    v, z = relative_index(flat, 8)
    # 0: z 0; 3: two zeros; 300: 296 zeros -> one filler (z 255) then z 40; 599: 298 -> 255 + 42
    assert v.tolist() == [7, 255, 0, 1, 0, 9]
    assert z.tolist() == [0, 2, 255, 40, 255, 42]
    np.testing.assert_array_equal(relative_decode(v, z, 600), flat)
    assert relative_index(np.zeros(5, np.int64))[0].size == 0


@pytest.mark.parametrize("seed", range(5))
def test_relative_index_round_trip(seed):
    rng = np.random.default_rng(seed)
    idx = rng.integers(1, 256, (7, 3, 5, 5)) * (rng.random((7, 3, 5, 5)) < rng.random())
    for bits in (3, 5, 8):
        v, z = relative_index(idx, bits)
        assert z.max(initial=0) < 1 << bits
        np.testing.assert_array_equal(relative_decode(v, z, idx.size), idx.ravel())


def test_conv_layer_size_counts_the_papers_way():
    idx = np.zeros((2, 1, 20, 20), np.int64)
    idx[0, 0, 0, :3] = [1, 2, 1]
    idx[1, 0, 19, 19] = 3  # 796 zeros before it: three fillers
    s = conv_layer_size(idx, "c")
    assert (s.nonzeros, s.entries, s.padding) == (4, 7, 3)
    assert s.dense_bytes == 800 * 4 and s.index_bytes == 7 * 2 and s.pointer_bytes == 0
    assert s.codebook_bytes == 512
    # v = [1, 2, 1, 0, 0, 0, 3] (lengths 2, 2, 3, 3 -> 17 bits... checked by the Huffman module);
    # z = [0, 0, 0, 255, 255, 255, 28]: two distinct runs of symbols
    from accelgen.golden.huffman import huffman_bits

    v, z = relative_index(idx)
    assert s.huffman_bits == huffman_bits(v, 256) + huffman_bits(z, 256)
    assert s.huffman_bits < 7 * 16
