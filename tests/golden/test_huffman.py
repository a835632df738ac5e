"""Huffman code sizes against a brute-force search over all prefix codes; real bit streams
encoded and decoded (round trips, a reference bit-by-bit decoder, hand-made streams)."""

import dataclasses
import itertools

import numpy as np
import pytest

from accelgen.golden.huffman import (
    canonical_codes,
    huffman_bits,
    huffman_decode,
    huffman_encode,
    huffman_lengths,
    symbol_counts,
)


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


# ---------------------------------------------------------------------- real bit streams


def _decodes_bit_by_bit(bits: str, codes: dict[str, int]) -> list[int]:
    """Reference decoder: read bits until the prefix is a code word (written independently of
    the module's canonical decoder)."""
    out, cur = [], ""
    for b in bits:
        cur += b
        if cur in codes:
            out.append(codes[cur])
            cur = ""
    assert cur == "", f"trailing bits {cur!r}"
    return out


def _code_words(lengths) -> dict[str, int]:
    codes = canonical_codes(lengths)
    return {
        format(int(c), f"0{int(n)}b"): s
        for s, (c, n) in enumerate(zip(codes, lengths, strict=True))
        if n
    }


def _roundtrip(stream, n_symbols=16):
    stream = np.asarray(stream)
    enc = huffman_encode(stream, n_symbols)
    counts = symbol_counts(stream, n_symbols)
    assert (
        enc.n_bits
        == int((counts * huffman_lengths(counts)).sum())
        == huffman_bits(stream, n_symbols)
    )
    assert len(enc.data) == (enc.n_bits + 7) // 8
    assert enc.count == stream.size
    np.testing.assert_array_equal(huffman_decode(enc), stream.ravel())
    bits = "".join(format(b, "08b") for b in enc.data)
    assert set(bits[enc.n_bits :]) <= {"0"}  # zero padding
    assert _decodes_bit_by_bit(bits[: enc.n_bits], _code_words(enc.lengths)) == stream.tolist()
    return enc


def test_canonical_code_is_prefix_free_and_canonical():
    # lengths 1, 2, 3, 3 -> 0, 10, 110, 111 (by length, then symbol)
    assert canonical_codes([2, 1, 3, 3]).tolist() == [0b10, 0b0, 0b110, 0b111]
    # equal lengths: codes follow the symbol order; unused symbols get nothing
    assert canonical_codes([0, 2, 2, 0, 2, 2]).tolist() == [0, 0b00, 0b01, 0, 0b10, 0b11]
    with pytest.raises(ValueError, match="Kraft"):
        canonical_codes([1, 1, 1])
    for seed in range(20):
        rng = np.random.default_rng(seed)
        counts = rng.integers(0, 1000, 16) * (rng.random(16) < 0.7)
        words = list(_code_words(huffman_lengths(counts)))
        assert not any(a != b and b.startswith(a) for a in words for b in words)


def test_roundtrip_corner_cases():
    empty = _roundtrip(np.zeros(0, np.uint8))
    assert empty.n_bits == 0 and empty.data == b""
    single = _roundtrip(np.full(9, 7, np.uint8))  # one symbol: code "0", 1 bit each
    assert single.n_bits == 9 and single.data == b"\x00\x00"
    one = _roundtrip(np.array([15]))
    assert one.n_bits == 1
    # all 16 symbols equally often: a 4-bit code, which for canonical codes is the identity
    uniform = np.repeat(np.arange(16), 3)
    enc = _roundtrip(uniform)
    assert enc.lengths == (4,) * 16 and enc.n_bits == 4 * 48
    pairs = zip(uniform[0::2], uniform[1::2], strict=True)
    assert enc.data == bytes(int(16 * a + b) for a, b in pairs)  # the symbols' own nibbles
    # Fibonacci-like counts give the longest codes (15 bits for 16 symbols)
    fib = [1, 1]
    while len(fib) < 16:
        fib.append(fib[-1] + fib[-2])
    deep = _roundtrip(np.repeat(np.arange(16), fib))
    assert max(deep.lengths) == 15
    # two symbols: one bit each, MSB first
    two = _roundtrip(np.array([3, 9, 9, 3, 3, 3, 3, 3, 9]))
    assert two.data == bytes([0b01100000, 0b10000000])


@pytest.mark.parametrize("seed", range(30))
def test_roundtrip_random(seed):
    rng = np.random.default_rng(seed)
    n_symbols = int(rng.choice([2, 16, 256]))
    p = rng.dirichlet(np.full(n_symbols, float(rng.choice([0.1, 1.0, 10.0]))))
    stream = rng.choice(n_symbols, size=int(rng.integers(0, 3000)), p=p)
    _roundtrip(stream, n_symbols)


def test_encode_with_given_code():
    stream = np.array([1, 2, 2, 3])
    enc = huffman_encode(stream, 4, lengths=[2, 2, 2, 2])
    assert enc.n_bits == 8 and enc.data == bytes([0b01101011])
    np.testing.assert_array_equal(huffman_decode(enc), stream)
    with pytest.raises(ValueError, match="symbol 0 occurs but has no code"):
        huffman_encode([0, 1], 4, lengths=[0, 1, 1, 0])


def test_decode_rejects_bad_streams():
    enc = huffman_encode(np.array([0, 1, 1, 2, 2, 2]), 4)  # lengths 2, 2, 1
    with pytest.raises(ValueError, match="ends inside symbol"):
        huffman_decode(dataclasses.replace(enc, count=enc.count + 1))
    with pytest.raises(ValueError, match="end at bit"):
        huffman_decode(dataclasses.replace(enc, count=enc.count - 1))
    with pytest.raises(ValueError, match="bytes"):
        huffman_decode(dataclasses.replace(enc, data=enc.data + b"\x00"))
    # a code that is not complete leaves bit patterns no code starts with
    gap = huffman_encode(np.array([0, 0]), 2, lengths=[2, 0])
    bad = dataclasses.replace(gap, data=bytes([0b11000000]))
    with pytest.raises(ValueError, match="no code starts"):
        huffman_decode(bad)
