"""Property-based (hypothesis, derandomized) EIE encode -> decode round trips and spMxspV."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from accelgen.golden.arith import Numerics
from accelgen.golden.eie_format import MAX_Z, decode, encode, pe_row_count
from accelgen.golden.layers import eie_layer, fc

SETTINGS = settings(derandomize=True, max_examples=60, deadline=None, database=None)


@st.composite
def sparse_matrices(draw):
    """Index matrices with the structures the format must survive."""
    rows = draw(st.integers(1, 90))
    cols = draw(st.integers(1, 24))
    density = draw(st.sampled_from([0.0, 0.01, 0.05, 0.2, 0.6, 1.0]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    idx = rng.integers(1, 16, (rows, cols)) * (rng.random((rows, cols)) < density)
    shape = draw(st.sampled_from(["plain", "empty_cols", "long_gaps", "empty_pe"]))
    n_pes = draw(st.sampled_from([1, 2, 4, 8, 64]))
    if shape == "empty_cols":
        idx[:, rng.random(cols) < 0.5] = 0
    elif shape == "long_gaps":  # one entry at the top and one at the bottom of some columns
        idx[:] = 0
        idx[0, ::2] = rng.integers(1, 16, len(idx[0, ::2]))
        idx[-1, ::3] = rng.integers(1, 16, len(idx[-1, ::3]))
    elif shape == "empty_pe":
        idx[draw(st.integers(0, n_pes - 1)) :: n_pes] = 0
    return idx.astype(np.uint8), n_pes


@SETTINGS
@given(sparse_matrices())
def test_round_trip(case):
    idx, n_pes = case
    enc = encode(idx, n_pes)
    np.testing.assert_array_equal(decode(enc), idx)
    rows, cols = idx.shape
    assert enc.ptr.shape == (n_pes, cols + 1) and (np.diff(enc.ptr, axis=1) >= 0).all()
    for k in range(n_pes):
        v, z = enc.v[k], enc.z[k]
        assert len(v) == len(z) == enc.ptr[k, -1]
        assert (z <= MAX_Z).all()
        assert (z[v == 0] == MAX_Z).all()  # padding entries always skip 16 rows
        local = idx[k::n_pes]
        assert local.shape[0] == pe_row_count(rows, n_pes, k)
        assert int((v != 0).sum()) == np.count_nonzero(local)
        # padding: one per full 16-row stretch bridged (gaps of 16 or more zeros)
        want_pad = 0
        for j in range(cols):
            prev = -1
            for r in np.flatnonzero(local[:, j]):
                want_pad += (r - prev - 1) // (MAX_Z + 1)
                prev = r
        assert int((v == 0).sum()) == want_pad


@SETTINGS
@given(sparse_matrices(), st.sampled_from([24, 32]), st.integers(0, 2**32 - 1))
def test_spmv_equals_dense_fc(case, acc_bits, seed):
    idx, n_pes = case
    rng = np.random.default_rng(seed)
    num = Numerics(acc_bits=acc_bits)
    cb = np.concatenate([[0], rng.integers(-32768, 32768, 15)])
    x = rng.integers(-32768, 32768, idx.shape[1]) * (rng.random(idx.shape[1]) < 0.5)
    bias = rng.integers(-32768, 32768, idx.shape[0])
    y = eie_layer(encode(idx, n_pes), cb, x, bias, num=num, relu=bool(seed & 1))
    want = fc(x, cb[idx], bias, num=num, act="relu" if seed & 1 else "none", group=1)
    np.testing.assert_array_equal(y, want)
