"""LeNet-300-100's pipeline on a tiny synthetic MNIST (the real data set needs the registry)."""

from __future__ import annotations

import numpy as np
import pytest

from accelgen.golden import lenet
from accelgen.golden.arith import Numerics
from accelgen.golden.models import MLPParams


def test_mnist_data_is_the_pixels(toy_mnist):
    toy = toy_mnist(10, 7)
    d = lenet.mnist_data(Numerics(act_frac=8), toy)
    assert d.x.dtype == np.int16 and d.x.shape == (7, 784)
    assert np.array_equal(d.x, toy.x_test.reshape(7, -1))
    assert np.array_equal(d.x_float * 256, toy.x_test.reshape(7, -1))
    d10 = lenet.mnist_data(Numerics(act_frac=10), toy)
    assert np.array_equal(d10.x, toy.x_test.reshape(7, -1).astype(np.int16) * 4)
    with pytest.raises(ValueError, match="act_frac >= 8"):
        lenet.mnist_data(Numerics(act_frac=6), toy)


def test_pipeline_prunes_to_the_densities_and_learns(tmp_path, monkeypatch, toy_mnist):
    monkeypatch.setenv("ACCELGEN_BUILD_DIR", str(tmp_path))
    params = MLPParams(
        hidden=(32, 16),
        densities=(0.08, 0.09, 0.26),
        epochs=4,
        prune_epochs=8,
        share_epochs=2,
        batch=32,
    )
    m = lenet.lenet300(params=params, data=toy_mnist())
    for layer, (n_out, n_in), want in zip(
        m.layers, [(32, 784), (16, 32), (10, 16)], params.densities, strict=True
    ):
        assert layer.shape == (n_out, n_in)
        kept = np.count_nonzero(layer.index)
        assert abs(kept - want * n_out * n_in) <= 1, (kept, want)
        assert layer.index.max() <= 15 and layer.codebook[0] == 0
    # the squares are easy for the dense net; pruned to 8 % the small net keeps most of them, and
    # the fixed-point EIE encoding keeps what the compressed float model gets
    assert m.float_accuracy > 0.95
    assert m.compressed_float_accuracy > 0.8
    assert abs(m.compressed_accuracy - m.compressed_float_accuracy) <= 0.02
