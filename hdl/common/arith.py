"""Fixed-point arithmetic as Amaranth expressions: the HDL twin of :mod:`accelgen.golden.arith`.

Each function returns a combinational expression implementing one rule of ``docs/numerics.md``; the
components in this package (and both cores) build their datapaths from these and nothing else,
so a rounding or saturation rule lives in exactly one place per side.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Mux

__all__ = ["round_product", "round_shift", "sat", "sat_add", "multiply_round", "smin", "smax"]


def smin(bits: int) -> int:
    return -(1 << (bits - 1))


def smax(bits: int) -> int:
    return (1 << (bits - 1)) - 1


def sat(value, bits: int):
    """Clamp an expression (by its numeric value) to the signed ``bits``-bit range.

    The result has shape ``signed(bits)``. An unsigned ``value`` counts as non-negative: use
    ``value.as_signed()`` first to reinterpret raw bits as two's complement.

    The range check looks at the bits above the result's sign bit (all equal to it: in range)
    instead of comparing with the limits, so it adds no carry chain after the adder or
    multiplier that usually feeds it.
    """
    v = value
    n, is_signed = len(v), v.shape().signed
    if is_signed and n <= bits:
        return v
    if not is_signed and n < bits:
        return Cat(v, Const(0, 1)).as_signed()  # zero-extended by one bit: non-negative
    low = v[:bits].as_signed()
    if is_signed:
        top = v[bits - 1 :]
        fits = top.all() | ~top.any()
        return Mux(fits, low, Mux(v[-1], smin(bits), smax(bits))).as_signed()[:bits].as_signed()
    fits = ~v[bits - 1 :].any()
    return Mux(fits, low, smax(bits)).as_signed()[:bits].as_signed()


def round_shift(value, shift: int):
    """``(value + 2**(shift-1)) >> shift`` (arithmetic, round half up); exact, widened."""
    if shift < 0:
        raise ValueError(f"shift must be >= 0, got {shift!r}")
    if shift == 0:
        return value
    return (value + (1 << (shift - 1))) >> shift


def round_product(product, *, w_frac: int, act_bits: int):
    """``sat(act_bits, round_shift(product, w_frac))``: the second half of
    :func:`multiply_round`, for pipelines that register the exact product first."""
    return sat(round_shift(product, w_frac), act_bits)


def multiply_round(a, w, *, w_frac: int, act_bits: int):
    """``sat(act_bits, round_shift(a * w, w_frac))`` for signed ``a`` and ``w``."""
    return round_product(a.as_signed() * w.as_signed(), w_frac=w_frac, act_bits=act_bits)


def sat_add(acc, p, *, acc_bits: int):
    """``sat(acc_bits, acc + p)`` with the sum computed one bit wider than needed."""
    return sat(acc.as_signed() + p.as_signed(), acc_bits)
