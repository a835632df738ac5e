"""Huffman code sizes against a brute-force search over all prefix codes."""

import itertools

import numpy as np
import pytest

from accelgen.golden.huffman import huffman_bits, huffman_lengths, symbol_counts


def brute_force_bits(counts) -> int:
    """Smallest sum(count * length) over all length vectors that satisfy Kraft's inequality."""
    used = [c for c in counts if c]
    if not used:
        return 0
    if len(used) == 1:
        return used[0]
    best = None
    for lengths in itertools.product(range(1, len(used)), repeat=len(used)):
        if sum(2.0**-n for n in lengths) <= 1.0:
            bits = sum(c * n for c, n in zip(used, lengths, strict=True))
            best = bits if best is None else min(best, bits)
    return best


@pytest.mark.parametrize("seed", range(40))
def test_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 6))
    counts = rng.integers(0, 50, n) * (rng.random(n) < 0.8)
    lengths = huffman_lengths(counts)
    assert int((counts * lengths).sum()) == brute_force_bits(counts.tolist())
    used = counts > 0
    assert (lengths[~used] == 0).all()
    if used.sum() > 1:  # a Huffman code is complete: Kraft equality
        assert sum(2.0 ** -lengths[used]) == pytest.approx(1.0)


def test_streams():
    assert huffman_bits(np.zeros(0, np.uint8)) == 0
    assert huffman_bits(np.full(9, 7, np.uint8)) == 9
    assert huffman_bits(np.array([0, 3, 0, 5])) == 6  # lengths 1, 2, 2
    uniform = np.repeat(np.arange(16), 5)
    assert huffman_bits(uniform) == 4 * uniform.size
    skew = np.array([1] * 100 + [2] * 10 + [3])
    assert huffman_bits(skew) == 100 + 2 * 10 + 2
    assert symbol_counts([1, 1, 15]).tolist() == [0, 2] + [0] * 13 + [1]


@pytest.mark.parametrize(
    "bad, match",
    [([16], "symbol 16"), ([-1], "symbol -1"), (np.array([0.5]), "integers")],
)
def test_bad_streams(bad, match):
    with pytest.raises((ValueError, TypeError), match=match):
        huffman_bits(np.asarray(bad))


def test_bad_counts():
    with pytest.raises(ValueError, match="non-negative"):
        huffman_lengths([3, -1])
