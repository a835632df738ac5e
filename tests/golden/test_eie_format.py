"""EIE encoding: the paper's worked example and encode/decode round trips."""

import numpy as np
import pytest

from accelgen.golden.eie_format import MAX_Z, decode, encode


def paper_matrix() -> np.ndarray:
    """The 16 x 8 example of EIE Fig. 2 as non-zero markers (values are arbitrary indices)."""
    nz = {
        0: [0, 2, 4, 5, 6],
        1: [0, 3, 5, 7],
        2: [1, 2, 4, 6],
        3: [0, 3, 5],
        4: [1, 4],
        5: [2, 3, 6],
        6: [0, 4, 7],
        7: [1, 5],
        8: [0, 7],
        9: [2, 6],
        10: [3, 5],
        11: [1, 4],
        12: [0, 2, 5, 7],
        13: [3, 6],
        14: [1, 4],
        15: [0, 2],
    }
    w = np.zeros((16, 8), dtype=np.uint8)
    rng = np.random.default_rng(0)
    for r, cs in nz.items():
        for c in cs:
            w[r, c] = rng.integers(1, 16)
    return w


def test_paper_worked_example_pe0():
    w = paper_matrix()
    enc = encode(w, 4)
    expected_cells = [
        (0, 0),
        (8, 0),
        (12, 0),
        (4, 1),
        (0, 2),
        (12, 2),
        (0, 4),
        (4, 4),
        (0, 5),
        (12, 5),
        (0, 6),
        (8, 7),
        (12, 7),
    ]
    assert enc.v[0].tolist() == [int(w[r, c]) for r, c in expected_cells]
    assert enc.z[0].tolist() == [0, 1, 0, 1, 0, 2, 0, 0, 0, 2, 0, 2, 0]
    assert enc.ptr[0].tolist() == [0, 3, 4, 6, 6, 8, 10, 11, 13]
    np.testing.assert_array_equal(decode(enc), w)


def test_padding_for_long_gaps():
    w = np.zeros((40, 1), dtype=np.uint8)
    w[16, 0] = 3  # 16 zeros before it: one padding entry
    w[39, 0] = 5  # 22 zeros after it: one padding entry, then z = 6
    enc = encode(w, 1)
    assert enc.v[0].tolist() == [0, 3, 0, 5]
    assert enc.z[0].tolist() == [15, 0, 15, 6]
    np.testing.assert_array_equal(decode(enc), w)


@pytest.mark.parametrize("n_pes", [1, 2, 4, 8, 64])
@pytest.mark.parametrize("density", [0.0, 0.02, 0.3, 1.0])
def test_round_trip(n_pes, density):
    rng = np.random.default_rng(n_pes * 100 + int(density * 100))
    for rows, cols in [(1, 1), (7, 5), (67, 33), (130, 3)]:
        w = rng.integers(1, 16, (rows, cols)) * (rng.random((rows, cols)) < density)
        enc = encode(w.astype(np.uint8), n_pes)
        np.testing.assert_array_equal(decode(enc), w)
        assert int(enc.entries_per_pe.sum()) >= int(np.count_nonzero(w))


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.zeros(5, dtype=np.uint8), "2-D"),
        (np.full((2, 2), 16), "16"),
        (np.full((2, 2), 1.0), "dtype"),
    ],
)
def test_bad_input(bad, match):
    with pytest.raises((ValueError, TypeError), match=match):
        encode(bad, 2)


def loop_encode(w: np.ndarray, n_pes: int):
    """The format's definition, one entry at a time: a reference for the vectorised encoder."""
    ptrs, vs, zs = [], [], []
    for k in range(n_pes):
        local = w[k::n_pes]
        v, z, ptr = [], [], [0]
        for j in range(w.shape[1]):
            prev = -1
            for r in np.flatnonzero(local[:, j]):
                gap = int(r) - prev - 1
                while gap > MAX_Z:
                    v.append(0)
                    z.append(MAX_Z)
                    gap -= MAX_Z + 1
                v.append(int(local[r, j]))
                z.append(gap)
                prev = int(r)
            ptr.append(len(v))
        ptrs.append(ptr)
        vs.append(v)
        zs.append(z)
    return ptrs, vs, zs


@pytest.mark.parametrize("seed", range(8))
def test_encoder_matches_the_definition(seed):
    rng = np.random.default_rng(50 + seed)
    rows, cols = int(rng.integers(1, 200)), int(rng.integers(1, 30))
    density = float(rng.choice([0.0, 0.005, 0.03, 0.3, 1.0]))
    w = (rng.integers(1, 16, (rows, cols)) * (rng.random((rows, cols)) < density)).astype(np.uint8)
    for n in (1, 2, 5, 8):
        enc = encode(w, n)
        ptrs, vs, zs = loop_encode(w, n)
        assert enc.ptr.tolist() == ptrs
        assert [v.tolist() for v in enc.v] == vs
        assert [z.tolist() for z in enc.z] == zs
        assert all(v.dtype == np.uint8 for v in enc.v + enc.z)


def test_pointer_limit():
    with pytest.raises(ValueError, match="more than 16-bit pointers"):
        encode(np.ones((1, 1 << 16), np.uint8), 1)
    assert encode(np.ones((1, 1 << 16), np.uint8), 1, pointer_bits=None).ptr[0, -1] == 1 << 16
