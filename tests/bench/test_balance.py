"""Option (b), load-balance-aware row placement: bit-exact, never worse than EIE's interleaving."""

import numpy as np
import pytest

from accelgen.golden import balance, synthetic
from accelgen.golden.arith import Numerics
from accelgen.golden.eie_format import encode
from accelgen.golden.layers import eie_layer
from accelgen.golden.netspec import EIELayer, run_eie

NUM = Numerics(acc_bits=24)


def _random_layer(rng, rows, cols, wd, *, bias=False, relu=False):
    s = synthetic.synthetic_eie(cols, rows, wd, 0.5, seed=int(rng.integers(1 << 30)))
    b = rng.integers(-3000, 3000, rows).astype(np.int16) if bias else None
    return EIELayer(codebook=s.layer.codebook, index=s.layer.index, bias=b, relu=relu)


@pytest.mark.parametrize("seed", range(6))
def test_column_work_equals_the_encoder(seed):
    rng = np.random.default_rng(seed)
    rows, cols = int(rng.integers(1, 90)), int(rng.integers(1, 40))
    wd = float(rng.choice([0.0, 0.01, 0.05, 0.3, 1.0]))
    idx = synthetic.synthetic_eie(cols, rows, wd, 0.5, seed=seed).layer.index
    for n in (1, 3, 4, 16):
        np.testing.assert_array_equal(balance.column_work(idx, n), encode(idx, n).column_entries())


def test_column_work_counts_padding():
    idx = np.zeros((40, 1), np.uint8)
    idx[[0, 17, 39], 0] = 1  # gaps 16 and 21 in one PE: one padding entry each
    assert balance.column_work(idx, 1).tolist() == [[5]]
    # with 2 PEs: PE0 holds rows 0 (local 0); PE1 holds 17 (local 8) and 39 (local 19)
    assert balance.column_work(idx, 2).tolist() == [[1], [2]]


@pytest.mark.parametrize("seed", range(8))
def test_permuted_layer_is_bit_exact_and_never_worse(seed):
    rng = np.random.default_rng(100 + seed)
    n = int(rng.choice([2, 4, 8]))
    rows, cols = int(rng.integers(n, 120)), int(rng.integers(1, 80))
    layer = _random_layer(rng, rows, cols, float(rng.uniform(0.02, 0.6)), bias=True, relu=True)
    x = synthetic.synthetic_activations(cols, 0.6, rng, batch=3)
    a = balance.balanced_assignment(layer.index, n)
    phys = a.permute_rows(layer)
    # the hardware runs the permuted encoding; the host undoes the permutation
    y_phys = eie_layer(encode(phys.index, n), phys.codebook, x, phys.bias, num=NUM, relu=True)
    y_ref = eie_layer(encode(layer.index, n), layer.codebook, x, layer.bias, num=NUM, relu=True)
    np.testing.assert_array_equal(a.unpermute(y_phys), y_ref)
    # PE k keeps its row count: the placement still fits the generated register files
    counts = [len(a.perm[k::n]) for k in range(n)]
    assert counts == [len(range(k, rows, n)) for k in range(n)]
    new = balance.assignment_cost(balance.column_work(phys.index, n))
    old = balance.assignment_cost(balance.column_work(layer.index, n))
    assert new[0] <= old[0] and new[1] <= old[1]


def test_balance_improves_an_unbalanced_layer():
    # all non-zeros in the rows of PE 0: interleaving puts the whole layer on one PE
    idx = np.zeros((64, 32), np.uint8)
    idx[0::8] = 3
    a = balance.balanced_assignment(idx, 8)
    before = balance.assignment_cost(balance.column_work(idx, 8))
    after = balance.assignment_cost(balance.column_work(idx[a.perm], 8))
    assert before == (8 * 32, 8 * 32)
    assert after == (32, 32)
    x = np.ones(32, np.int16)
    ideal = balance.ideal_cycles(balance.column_work(idx[a.perm], 8), x)
    assert ideal["max"] == 32 and ideal["mean"] == 32


def test_saturation_does_not_break_a_single_permuted_layer():
    # every product pushes the accumulator to its limit: row order is irrelevant to bit-exactness
    rng = np.random.default_rng(5)
    cb = np.array([0] + [30000] * 7 + [-30000] * 8, np.int16)
    idx = rng.integers(0, 16, (24, 600)).astype(np.uint8)
    layer = EIELayer(codebook=cb, index=idx)
    x = np.full(600, 32767, np.int16)
    a = balance.balanced_assignment(idx, 4)
    y_ref = run_eie([layer], x, num=NUM, n_pes=4)[0]
    y = a.unpermute(run_eie([a.permute_rows(layer)], x, num=NUM, n_pes=4)[0])
    np.testing.assert_array_equal(y, y_ref)
    assert not balance.order_independent(layer, x, num=NUM)


def test_column_order_matters_once_the_accumulator_saturates():
    # why chaining needs order_independent(): +max products then -max products, 24-bit acc
    cb = np.array([0, 30000, -30000] + [0] * 13, np.int16)
    idx = np.array([[1] * 300 + [2] * 300], np.uint8)
    layer = EIELayer(codebook=cb, index=idx)
    x = np.full(600, 32767, np.int16)
    reverse = balance.RowAssignment(np.arange(600)[::-1].copy(), 1)
    y = run_eie([layer], x, num=NUM)[0]
    y_rev = run_eie([reverse.permute_columns(layer)], x[::-1], num=NUM)[0]
    assert y.tolist() == [-32768] and y_rev.tolist() == [32767]
    assert not balance.order_independent(layer, x, num=NUM)


@pytest.mark.parametrize("seed", range(4))
def test_chained_layers_need_no_host_work(seed):
    rng = np.random.default_rng(200 + seed)
    n = 4
    sizes = [int(v) for v in rng.integers(5, 60, 4)]
    net = [_random_layer(rng, sizes[i + 1], sizes[i], 0.3, bias=True, relu=True) for i in range(3)]
    x = synthetic.synthetic_activations(sizes[0], 0.7, rng, batch=2)
    ref = run_eie(net, x, num=NUM, n_pes=n)
    # encode: each layer's rows by its own assignment, columns by the previous one's
    assigns = [balance.balanced_assignment(layer.index, n) for layer in net]
    phys = []
    for i, layer in enumerate(net):
        stored = assigns[i - 1].permute_columns(layer) if i else layer
        phys.append(assigns[i].permute_rows(stored))
    outs = run_eie(phys, x, num=NUM, n_pes=n)  # outputs stay in physical order between layers
    for i, layer in enumerate(net):
        inp = x if i == 0 else ref[i - 1]
        assert balance.order_independent(layer, inp, num=NUM)
        np.testing.assert_array_equal(assigns[i].unpermute(outs[i]), ref[i])


def test_load_efficiency_definitions():
    cw = np.array([[4, 0, 2], [1, 1, 1]])
    x = np.array([5, 0, -1], np.int16)
    ideal = balance.ideal_cycles(cw, x)
    assert ideal["max"] == 6 and ideal["mean"] == 4
    eff = balance.load_efficiency(cw, x, 8)
    assert eff["max"] == 0.75 and eff["mean"] == 0.5
    with pytest.raises(ValueError, match="positive"):
        balance.load_efficiency(cw, x, 0)
    with pytest.raises(ValueError, match="4 activations"):
        balance.pe_work(cw, np.ones(4))


def test_bad_assignments():
    with pytest.raises(ValueError, match="not a permutation"):
        balance.RowAssignment(np.array([0, 0, 1]), 2)
    with pytest.raises(ValueError, match="PEs.*0"):
        balance.column_work(np.zeros((2, 2), np.uint8), 0)
    a = balance.RowAssignment.identity(4, 2)
    with pytest.raises(ValueError, match="3 outputs"):
        a.unpermute(np.zeros(3))
