"""Synthetic layers have the requested sizes, densities, codebook and value ranges."""

import numpy as np
import pytest

from accelgen.golden import paper, synthetic
from accelgen.golden.arith import Numerics
from accelgen.golden.netspec import ConvLayer, FCLayer, PoolLayer


@pytest.mark.parametrize("name", ["Alex-8", "NT-We", "NT-LSTM"])
def test_paper_sized_layers(name):
    p = paper.eie_layer(name)
    s = synthetic.synthetic_eie(
        p.inputs, p.outputs, p.weight_density, p.act_density, seed=3, name=name
    )
    assert s.layer.shape == (p.outputs, p.inputs)
    assert s.x.shape == (p.inputs,) and s.x.dtype == np.int16
    assert s.measured_weight_density == pytest.approx(p.weight_density, abs=1 / s.layer.index.size)
    assert s.measured_act_density == pytest.approx(p.act_density, abs=1 / p.inputs)
    nz = s.layer.index[s.layer.index != 0]
    assert nz.min() == 1 and nz.max() == 15
    # uniform in 1..15: every index roughly equally common
    counts = np.bincount(nz, minlength=16)[1:]
    assert counts.min() > 0.9 * counts.mean() and counts.max() < 1.1 * counts.mean()
    # uniform positions: row and column densities scatter around the mean, no structure
    col_density = (s.layer.index != 0).mean(axis=0)
    assert abs(col_density[: p.inputs // 2].mean() - col_density[p.inputs // 2 :].mean()) < 0.01


def test_seed_reproduces_and_differs():
    a = synthetic.synthetic_eie(200, 100, 0.1, 0.5, seed=7)
    b = synthetic.synthetic_eie(200, 100, 0.1, 0.5, seed=7)
    c = synthetic.synthetic_eie(200, 100, 0.1, 0.5, seed=8)
    assert np.array_equal(a.layer.index, b.layer.index) and np.array_equal(a.x, b.x)
    assert not np.array_equal(a.layer.index, c.layer.index)


def test_codebook_and_activation_ranges():
    num = Numerics(w_frac=10, act_frac=6)
    cb = synthetic.synthetic_codebook(num)
    assert cb[0] == 0 and np.count_nonzero(cb) == 15 and len(set(cb.tolist())) == 16
    assert cb.max() == 1 << 10 and cb.min() == -(7 << 10) // 8
    s = synthetic.synthetic_eie(64, 8, 1.0, 1.0, seed=1, batch=3, num=num)
    assert s.x.shape == (3, 64) and np.all(s.x != 0) and np.abs(s.x).max() <= 1 << 6
    assert (s.x < 0).any() and (s.x > 0).any()


@pytest.mark.parametrize("wd, ad", [(0.0, 0.0), (1.0, 1.0), (0.001, 0.01)])
def test_corner_densities(wd, ad):
    s = synthetic.synthetic_eie(50, 30, wd, ad, seed=0)
    assert np.count_nonzero(s.layer.index) == round(wd * 1500)
    assert np.count_nonzero(s.x) == round(ad * 50)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(inputs=0, outputs=5, weight_density=0.1, act_density=0.1), "inputs.*0"),
        (dict(inputs=5, outputs=5, weight_density=1.5, act_density=0.1), "weight density.*1.5"),
        (dict(inputs=5, outputs=5, weight_density=0.1, act_density=-1), "activation density"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        synthetic.synthetic_eie(seed=0, **kwargs)


def test_dense_layers():
    fc, x = synthetic.synthetic_dense("class", ni=40, no=7, seed=1)
    assert isinstance(fc, FCLayer) and fc.w.shape == (7, 40) and x.shape == (40,)
    conv, x = synthetic.synthetic_dense("conv", ni=3, no=5, height=9, width=8, kernel=3, seed=1)
    assert isinstance(conv, ConvLayer) and conv.w.shape == (5, 3, 3, 3) and x.shape == (3, 9, 8)
    pool, x = synthetic.synthetic_dense("pool", ni=4, no=4, height=8, width=8, kernel=2, seed=1)
    assert isinstance(pool, PoolLayer) and pool.stride == 2 and x.shape == (4, 8, 8)
    with pytest.raises(ValueError, match="no .5. must equal ni .4."):
        synthetic.synthetic_dense("pool", ni=4, no=5, kernel=2, seed=1)
    with pytest.raises(ValueError, match="'fc'"):
        synthetic.synthetic_dense("fc", ni=4, no=5, seed=1)
