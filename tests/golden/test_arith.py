"""golden.arith against independent references written with Python integers and Fractions.

The references spell each rule of ``docs/numerics.md`` out the long way (comparisons instead of
clip, exact rationals and floor instead of shifts), so they share no code with the implementation.
"""

import math
from fractions import Fraction

import numpy as np
import pytest

from accelgen.golden import arith

BITS = [2, 8, 16, 24, 32]


def ref_sat(bits: int, v: int) -> int:
    lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    if v < lo:
        return lo
    if v > hi:
        return hi
    return v


def ref_round_shift(v: int, shift: int) -> int:
    """v / 2**shift rounded to nearest, ties towards +infinity."""
    return math.floor(Fraction(v, 2**shift) + Fraction(1, 2))


def ref_multiply(a: int, w: int, w_frac: int, act_bits: int) -> int:
    return ref_sat(act_bits, ref_round_shift(a * w, w_frac))


def ref_quantize(x: float, frac: int, bits: int) -> int:
    """Round half away from zero on the exact value of the float."""
    s = Fraction(x) * 2**frac
    mag = math.floor(abs(s) + Fraction(1, 2))
    return ref_sat(bits, mag if s >= 0 else -mag)


def interesting(rng, bits: int, n: int) -> list[int]:
    lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    edge = [lo, lo + 1, -1, 0, 1, hi - 1, hi]
    return edge + [int(v) for v in rng.integers(lo, hi + 1, n)]


def test_smin_smax():
    for bits in BITS:
        assert arith.smin(bits) == -(2 ** (bits - 1))
        assert arith.smax(bits) == 2 ** (bits - 1) - 1


@pytest.mark.parametrize("bits", BITS)
def test_sat(bits):
    rng = np.random.default_rng(bits)
    wide = interesting(rng, min(bits + 3, 63), 2000) + interesting(rng, bits, 200)
    got = arith.sat(bits, np.array(wide)).tolist()
    assert got == [ref_sat(bits, v) for v in wide]


def test_sat_rejects_floats():
    with pytest.raises(TypeError, match="integer"):
        arith.sat(8, np.array([1.5]))


@pytest.mark.parametrize("shift", [0, 1, 2, 7, 8, 12, 16, 20])
def test_round_shift(shift):
    rng = np.random.default_rng(shift)
    vals = interesting(rng, 40, 2000)
    if shift:  # exact ties, both signs: half up means towards +infinity
        vals += [k * 2**shift + 2 ** (shift - 1) for k in range(-5, 5)]
    got = arith.round_shift(np.array(vals), shift).tolist()
    assert got == [ref_round_shift(v, shift) for v in vals]


def test_round_shift_ties_go_up():
    assert arith.round_shift(np.array([-3, -1, 1, 3]), 1).tolist() == [-1, 0, 1, 2]
    with pytest.raises(ValueError, match="-1"):
        arith.round_shift(np.array([1]), -1)


@pytest.mark.parametrize(
    "act_bits, w_bits, w_frac", [(16, 16, 12), (16, 16, 0), (8, 8, 7), (24, 12, 11), (16, 16, 1)]
)
def test_multiply(act_bits, w_bits, w_frac):
    rng = np.random.default_rng(act_bits * 100 + w_frac)
    a = interesting(rng, act_bits, 3000)
    w = interesting(rng, w_bits, 3000)
    pairs = [(x, y) for x in a[:7] for y in w[:7]] + list(zip(a, w, strict=True))
    aa, ww = (np.array(c) for c in zip(*pairs, strict=True))
    got = arith.multiply(aa, ww, w_frac=w_frac, act_bits=act_bits).tolist()
    assert got == [ref_multiply(x, y, w_frac, act_bits) for x, y in pairs]


def test_multiply_examples():
    # 1.0 * 0.5 in Q8 x Q12 -> 0.5 in Q8; the most negative square saturates
    assert int(arith.multiply(256, 2048, w_frac=12, act_bits=16)) == 128
    assert int(arith.multiply(-32768, -32768, w_frac=12, act_bits=16)) == 32767
    assert int(arith.multiply(-32768, 32767, w_frac=12, act_bits=16)) == -32768
    assert int(arith.multiply(-1, 2048, w_frac=12, act_bits=16)) == 0  # -0.5 LSB rounds up
    assert int(arith.multiply(1, 2048, w_frac=12, act_bits=16)) == 1


@pytest.mark.parametrize("acc_bits", [24, 32])
def test_sat_add_and_mac(acc_bits):
    rng = np.random.default_rng(acc_bits)
    acc = interesting(rng, acc_bits, 2000)
    a = interesting(rng, 16, 2000)
    w = interesting(rng, 16, 2000)
    p = [ref_multiply(x, y, 12, 16) for x, y in zip(a, w, strict=True)]
    got = arith.sat_add(np.array(acc), np.array(p), acc_bits=acc_bits).tolist()
    assert got == [ref_sat(acc_bits, s + q) for s, q in zip(acc, p, strict=True)]
    got = arith.mac(np.array(acc), np.array(a), np.array(w), w_frac=12, act_bits=16,
                    acc_bits=acc_bits).tolist()  # fmt: skip
    assert got == [ref_sat(acc_bits, s + q) for s, q in zip(acc, p, strict=True)]


@pytest.mark.parametrize("acc_bits", [24, 32])
def test_accumulate(acc_bits):
    rng = np.random.default_rng(acc_bits + 1)
    # long same-sign stretches so the running sum saturates both ways and comes back
    n = 2 ** (acc_bits - 1) // 32767 + 500  # margin for the random walk before it
    p = [int(v) for v in rng.integers(-32768, 32768, 3000)]
    p += [32767] * n + [-32768] * (2 * n) + [32767] * 10
    init = -(2**15)
    want, acc = [], init
    for q in p:
        acc = ref_sat(acc_bits, acc + q)
        want.append(acc)
    got = arith.accumulate(np.array(p), acc_bits=acc_bits, init=init)
    assert got.tolist() == want
    assert got.max() == arith.smax(acc_bits) and got.min() == arith.smin(acc_bits)
    assert arith.accumulate(np.array([], dtype=np.int64), acc_bits=acc_bits).shape == (0,)


def test_accumulate_rejects():
    with pytest.raises(ValueError, match="1-D"):
        arith.accumulate(np.zeros((2, 2), dtype=np.int64), acc_bits=24)
    with pytest.raises(ValueError, match="8388608"):
        arith.accumulate(np.array([1]), acc_bits=24, init=2**23)


def test_trees():
    rng = np.random.default_rng(3)
    v = rng.integers(-32768, 32768, (50, 16))
    assert arith.adder_tree(v).tolist() == [sum(int(x) for x in row) for row in v]
    assert arith.max_tree(v).tolist() == [max(int(x) for x in row) for row in v]
    assert int(arith.adder_tree(np.full(16, -32768))) == -(2**19)


def test_codebook_decode():
    cb = np.array([0, -32768, 32767, *range(3, 16)])
    idx = np.arange(16).repeat(3)
    assert arith.codebook_decode(idx, cb).tolist() == [int(cb[i]) for i in idx]
    with pytest.raises(ValueError, match="entry 0 must be 0.*got 5"):
        arith.codebook_decode([1], np.array([5, *range(1, 16)]))
    with pytest.raises(ValueError, match="16 entries"):
        arith.codebook_decode([1], np.zeros(8, dtype=np.int64))
    with pytest.raises(ValueError, match="index 16"):
        arith.codebook_decode([16], cb)
    with pytest.raises(ValueError, match="index -1"):
        arith.codebook_decode([-1], cb)


@pytest.mark.parametrize("frac, bits", [(8, 16), (12, 16), (0, 8), (4, 8), (16, 32)])
def test_quantize(frac, bits):
    rng = np.random.default_rng(frac + bits)
    scale = 2.0 ** (bits - 1 - frac)
    x = list(rng.uniform(-1.3 * scale, 1.3 * scale, 3000))
    x += [(k + 0.5) / 2**frac for k in range(-6, 6)]  # exact ties: away from zero
    x += [0.0, -0.0, 1e30, -1e30, 1e19, -1e19, scale, -scale, 2.0 ** -(frac + 2)]
    got = arith.quantize(np.array(x), frac, bits).tolist()
    assert got == [ref_quantize(v, frac, bits) for v in x]


def test_quantize_examples_and_errors():
    assert arith.quantize([0.5, -0.5, 1.5, -1.5], 0, 8).tolist() == [1, -1, 2, -2]
    assert arith.quantize([1e30, -1e30], 8, 16).tolist() == [32767, -32768]
    for bad in (np.nan, np.inf, -np.inf):
        with pytest.raises(ValueError, match="NaN or infinite"):
            arith.quantize([bad], 8, 16)


def test_dequantize():
    assert arith.dequantize(np.array([256, -128, 1]), 8).tolist() == [1.0, -0.5, 1 / 256]


def test_avg_reciprocal():
    for n in range(1, 1025):
        assert arith.avg_reciprocal(n) == math.floor(Fraction(2**16, n) + Fraction(1, 2)), n
    assert [arith.avg_reciprocal(n) for n in (1, 2, 3, 4, 9)] == [65536, 32768, 21845, 16384, 7282]
    for bad in (0, -4):
        with pytest.raises(ValueError, match=f"got {bad}"):
            arith.avg_reciprocal(bad)


@pytest.mark.parametrize("window", [1, 3, 4, 9, 25])
def test_avg_pool_scale(window):
    rng = np.random.default_rng(window)
    sums = [int(v) for v in rng.integers(-32768 * window, 32768 * window, 2000)]
    r = math.floor(Fraction(2**16, window) + Fraction(1, 2))
    got = arith.avg_pool_scale(np.array(sums), window).tolist()
    assert got == [ref_round_shift(s * r, 16) for s in sums]


def test_check_fixed_and_as_int():
    assert arith.check_fixed([1, -128, 127], 8).tolist() == [1, -128, 127]
    with pytest.raises(ValueError, match="holds 128, outside the signed 8-bit range"):
        arith.check_fixed([1, 128], 8, "x")
    with pytest.raises(TypeError, match="x must be an integer array"):
        arith.check_fixed([1.0], 8, "x")
    with pytest.raises(TypeError, match="float64"):
        arith.as_int([0.5])
    assert arith.as_int(np.array([True, False])).tolist() == [1, 0]
