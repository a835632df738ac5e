"""Piecewise-linear activation tables (DianNao NFU-3), evaluated bit-exactly.

A table covers ``[x_min, x_max)`` with ``segments`` segments of equal width; the width in
activation LSBs must be a power of two so the hardware finds the segment with a shift. An input
outside the range is clamped to ``x_min`` or to ``x_max - 1`` LSB first. Segment ``i`` holds a
slope ``a_i`` and an intercept ``b_i``, both signed 16-bit with ``act_frac`` fractional bits::

    y = sat(act_bits, ((a_i * x + 2**(act_frac-1)) >> act_frac) + b_i)

:func:`fit` builds a table for ``sigmoid`` or ``tanh`` by a least-squares line per segment,
fitted on every representable input of that segment and then quantized.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from accelgen.spec.pwl import PWL_COEF_BITS

from .arith import as_int, quantize, round_shift, sat, smax, smin

__all__ = ["PWL_COEF_BITS", "PWLTable", "FUNCTIONS", "DEFAULT_RANGES", "fit", "evaluate"]

FUNCTIONS = {
    "sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
    "tanh": np.tanh,
}
DEFAULT_RANGES = {"sigmoid": (-8.0, 8.0), "tanh": (-4.0, 4.0)}


@dataclass(frozen=True, kw_only=True)
class PWLTable:
    """A loadable NFU-3 table. ``x_min`` is in activation LSBs; ``seg_shift`` = log2(width)."""

    x_min: int
    seg_shift: int
    slopes: tuple[int, ...]
    intercepts: tuple[int, ...]
    act_bits: int = 16
    act_frac: int = 8

    def __post_init__(self) -> None:
        n = len(self.slopes)
        if n < 1 or n & (n - 1):
            raise ValueError(f"PWL segment count must be a power of two, got {n!r}")
        if len(self.intercepts) != n:
            raise ValueError(f"PWL table has {n} slopes but {len(self.intercepts)} intercepts")
        for name, values in (("slope", self.slopes), ("intercept", self.intercepts)):
            for v in values:
                if not smin(PWL_COEF_BITS) <= int(v) <= smax(PWL_COEF_BITS):
                    raise ValueError(f"PWL {name} {v!r} does not fit in 16 signed bits")
        if not 1 <= self.act_frac < self.act_bits:
            raise ValueError(f"act_frac must be in 1..act_bits-1, got {self.act_frac!r}")
        if self.seg_shift < 0:
            raise ValueError(f"seg_shift must be >= 0, got {self.seg_shift!r}")
        if not smin(self.act_bits) <= self.x_min or self.x_max - 1 > smax(self.act_bits):
            raise ValueError(
                f"PWL range [{self.x_min}, {self.x_max}) LSBs does not fit {self.act_bits}-bit "
                "activations"
            )

    @property
    def segments(self) -> int:
        return len(self.slopes)

    @property
    def x_max(self) -> int:
        """Exclusive upper end of the range, in activation LSBs."""
        return self.x_min + (self.segments << self.seg_shift)

    def to_json(self) -> dict:
        d = asdict(self)
        d["slopes"] = list(self.slopes)
        d["intercepts"] = list(self.intercepts)
        return d

    @classmethod
    def from_json(cls, d: dict) -> PWLTable:
        d = dict(d)
        d["slopes"] = tuple(int(v) for v in d["slopes"])
        d["intercepts"] = tuple(int(v) for v in d["intercepts"])
        return cls(**d)


def segment_index(table: PWLTable, x) -> tuple[np.ndarray, np.ndarray]:
    """Clamp ``x`` into the table's range and return ``(clamped_x, segment_index)``."""
    xc = np.clip(as_int(x), table.x_min, table.x_max - 1)
    return xc, (xc - table.x_min) >> table.seg_shift


def evaluate(table: PWLTable, x) -> np.ndarray:
    """Apply the table to fixed-point activations ``x`` (bit-exact with the NFU-3 RTL)."""
    xc, seg = segment_index(table, x)
    a = np.asarray(table.slopes, dtype=np.int64)[seg]
    b = np.asarray(table.intercepts, dtype=np.int64)[seg]
    return sat(table.act_bits, round_shift(a * xc, table.act_frac) + b)


def fit(
    function: str,
    *,
    act_bits: int = 16,
    act_frac: int = 8,
    segments: int = 16,
    x_range: tuple[float, float] | None = None,
) -> PWLTable:
    """Fit a ``segments``-piece table to ``sigmoid`` or ``tanh`` (least squares per segment)."""
    if function not in FUNCTIONS:
        raise ValueError(f"unknown PWL function {function!r}; expected one of {sorted(FUNCTIONS)}")
    if segments < 1 or segments & (segments - 1):
        raise ValueError(f"PWL segment count must be a power of two, got {segments!r}")
    lo, hi = x_range if x_range is not None else DEFAULT_RANGES[function]
    scale = 1 << act_frac
    x_min = int(round(lo * scale))
    span = int(round(hi * scale)) - x_min
    width = span // segments
    if span <= 0 or width * segments != span or width & (width - 1):
        raise ValueError(
            f"PWL range {lo}..{hi} at act_frac={act_frac} gives {span} LSBs, which does not split "
            f"into {segments} power-of-two-wide segments"
        )
    f = FUNCTIONS[function]
    slopes, intercepts = [], []
    for i in range(segments):
        xs = np.arange(x_min + i * width, x_min + (i + 1) * width, dtype=np.int64) / scale
        a, b = np.polyfit(xs, f(xs), 1) if width > 1 else (0.0, float(f(xs[0])))
        slopes.append(int(quantize(a, act_frac, PWL_COEF_BITS)))
        intercepts.append(int(quantize(b, act_frac, PWL_COEF_BITS)))
    return PWLTable(
        x_min=x_min,
        seg_shift=int(math.log2(width)),
        slopes=tuple(slopes),
        intercepts=tuple(intercepts),
        act_bits=act_bits,
        act_frac=act_frac,
    )
