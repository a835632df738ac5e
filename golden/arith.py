"""Bit-exact fixed-point arithmetic: the contract between the golden model and the RTL.

Every function here implements one rule of ``docs/numerics.md`` on NumPy integer arrays (``int64``
internally, so no intermediate overflows). The HDL side (:mod:`accelgen.hdl.common.arith`)
implements the same rules in Amaranth; every other module calls one of the two.

Conventions
-----------
* A fixed-point number with ``frac`` fractional bits has value ``int / 2**frac``.
* ``sat(n, v)`` clamps to the signed ``n``-bit range ``[-2**(n-1), 2**(n-1) - 1]``.
* Right shifts are arithmetic (floor); adding ``1 << (s - 1)`` first rounds half up.
"""

from __future__ import annotations

import numpy as np

from accelgen.spec.numerics import Numerics

__all__ = [
    "CODEBOOK_SIZE",
    "Numerics",
    "adder_tree",
    "as_int",
    "avg_pool_scale",
    "avg_reciprocal",
    "check_fixed",
    "codebook_decode",
    "dequantize",
    "mac",
    "max_tree",
    "multiply",
    "quantize",
    "round_shift",
    "sat",
    "sat_add",
    "smax",
    "smin",
]

CODEBOOK_SIZE = 16


def smin(bits: int) -> int:
    """Smallest signed ``bits``-bit value."""
    return -(1 << (bits - 1))


def smax(bits: int) -> int:
    """Largest signed ``bits``-bit value."""
    return (1 << (bits - 1)) - 1


def as_int(x) -> np.ndarray:
    """Return ``x`` as an ``int64`` array; floats are rejected rather than truncated."""
    a = np.asarray(x)
    if a.dtype.kind not in "iub":
        raise TypeError(f"expected an integer array, got dtype {a.dtype}")
    return a.astype(np.int64)


def check_fixed(x, bits: int, name: str = "value") -> np.ndarray:
    """Check that ``x`` is an integer array whose values fit in signed ``bits`` bits."""
    a = np.asarray(x)
    if a.dtype.kind not in "iub":
        raise TypeError(f"{name} must be an integer array, got dtype {a.dtype}")
    if a.size:
        # compare in the array's own dtype: a uint64 2**64 - 1 is reported as such, not as -1
        lo, hi = int(a.min()), int(a.max())
        if lo < smin(bits) or hi > smax(bits):
            raise ValueError(
                f"{name} holds {lo if lo < smin(bits) else hi}, outside the signed {bits}-bit "
                f"range [{smin(bits)}, {smax(bits)}]"
            )
    return a.astype(np.int64)


def sat(bits: int, v) -> np.ndarray:
    """Saturate ``v`` to the signed ``bits``-bit range."""
    return np.clip(as_int(v), smin(bits), smax(bits))


def round_shift(v, shift: int) -> np.ndarray:
    """``(v + 2**(shift-1)) >> shift``: arithmetic right shift rounding half up (towards +inf)."""
    v = as_int(v)
    if shift < 0:
        raise ValueError(f"shift must be >= 0, got {shift!r}")
    if shift == 0:
        return v
    return (v + (1 << (shift - 1))) >> shift


def multiply(a, w, *, w_frac: int, act_bits: int) -> np.ndarray:
    """Product of an activation and a weight, rounded back to activation scale (``p16``).

    ``p = a * w`` exactly, then ``sat(act_bits, (p + 2**(w_frac-1)) >> w_frac)``.
    """
    return sat(act_bits, round_shift(as_int(a) * as_int(w), w_frac))


def sat_add(acc, p, *, acc_bits: int) -> np.ndarray:
    """One saturating accumulator step: ``sat(acc_bits, acc + p)``."""
    return sat(acc_bits, as_int(acc) + as_int(p))


def mac(acc, a, w, *, w_frac: int, act_bits: int, acc_bits: int) -> np.ndarray:
    """Multiply-accumulate: ``sat(acc_bits, acc + multiply(a, w))``."""
    return sat_add(acc, multiply(a, w, w_frac=w_frac, act_bits=act_bits), acc_bits=acc_bits)


def accumulate(products, *, acc_bits: int, init: int = 0) -> np.ndarray:
    """Run a saturating accumulator over ``products`` in order; return its value after each.

    ``acc = init`` (sign-extended bias or 0), then ``acc = sat(acc_bits, acc + p)`` for every
    ``p`` (``docs/numerics.md``, "Accumulate": saturation at every step, in the hardware's order).
    """
    ps = as_int(products)
    if ps.ndim != 1:
        raise ValueError(f"products must be a 1-D sequence, got shape {ps.shape}")
    lo, hi = smin(acc_bits), smax(acc_bits)
    acc = int(check_fixed(init, acc_bits, "init"))
    out = np.empty(ps.shape, dtype=np.int64)
    for i, p in enumerate(ps.tolist()):
        acc = min(max(acc + p, lo), hi)
        out[i] = acc
    return out


def adder_tree(values, axis: int = -1) -> np.ndarray:
    """Exact sum of a group (the NFU-2 adder tree is wide enough never to overflow)."""
    return as_int(values).sum(axis=axis)


def max_tree(values, axis: int = -1) -> np.ndarray:
    """Exact maximum of a group."""
    return as_int(values).max(axis=axis)


def codebook_decode(index, codebook) -> np.ndarray:
    """Decode 4-bit weight indices through a 16-entry codebook whose entry 0 must be 0."""
    cb = as_int(codebook)
    if cb.shape != (CODEBOOK_SIZE,):
        raise ValueError(f"codebook must have {CODEBOOK_SIZE} entries, got shape {cb.shape}")
    if cb[0] != 0:
        raise ValueError(f"codebook entry 0 must be 0 (pruned weights), got {int(cb[0])}")
    idx = as_int(index)
    if idx.size and (idx.min() < 0 or idx.max() >= CODEBOOK_SIZE):
        bad = idx.min() if idx.min() < 0 else idx.max()
        raise ValueError(f"weight index {int(bad)} is outside 0..{CODEBOOK_SIZE - 1}")
    return cb[idx]


def quantize(x, frac: int, bits: int) -> np.ndarray:
    """Float to fixed point: ``sat(bits, round_half_away_from_zero(x * 2**frac))``."""
    x = np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        raise ValueError("cannot quantize NaN or infinite values")
    scaled = x * float(1 << frac)
    rounded = np.sign(scaled) * np.floor(np.abs(scaled) + 0.5)
    # Clamp while still floating point: casting a value beyond int64 to int64 is undefined
    # (NumPy gives INT64_MIN, which turned +1e30 into the most negative code).
    return sat(bits, np.clip(rounded, smin(bits), smax(bits)).astype(np.int64))


def dequantize(q, frac: int) -> np.ndarray:
    """Fixed point to float."""
    return as_int(q).astype(np.float64) / float(1 << frac)


def avg_reciprocal(window_size: int) -> int:
    """The 16-bit reciprocal constant ``round(2**16 / window_size)`` used by average pooling."""
    if window_size < 1:
        raise ValueError(f"window size must be >= 1, got {window_size!r}")
    return (2 * (1 << 16) + window_size) // (2 * window_size)


def avg_pool_scale(window_sum, window_size: int) -> np.ndarray:
    """Average from an exact window sum: ``(sum * recip + 2**15) >> 16`` (round half up)."""
    return round_shift(as_int(window_sum) * avg_reciprocal(window_size), 16)
