"""The piecewise-linear activation table (DianNao NFU-3): coefficient width and write map.

Shared by the golden model (:mod:`accelgen.golden.pwl`), the gateware
(:mod:`accelgen.hdl.common.pwl`) and the host software (``accelgen.host.diannao.pwl_writes``),
so the table's register map is written down once.

Write map of a table with ``S`` segments (one register per address, value in the low bits):

==========================  =========================================================
address                     register
==========================  =========================================================
``i``, 0 <= i < S           slope ``a_i`` (signed ``PWL_COEF_BITS``)
``S + i``                   intercept ``b_i`` (signed ``PWL_COEF_BITS``)
``2 S``                     ``x_min`` (signed ``act_bits``, activation LSBs)
``2 S + 1``                 ``seg_shift`` (unsigned, log2 of the segment width)
==========================  =========================================================
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "PWL_COEF_BITS",
    "pwl_addr_bits",
    "pwl_icept_addr",
    "pwl_seg_shift_addr",
    "pwl_table_writes",
    "pwl_x_min_addr",
]

#: Width of a slope or intercept (signed, ``act_frac`` fraction bits).
PWL_COEF_BITS = 16


def pwl_icept_addr(segments: int) -> int:
    """Address of intercept 0 (slope ``i`` is at address ``i``)."""
    return segments


def pwl_x_min_addr(segments: int) -> int:
    return 2 * segments


def pwl_seg_shift_addr(segments: int) -> int:
    return 2 * segments + 1


def pwl_addr_bits(segments: int) -> int:
    """Bits of a table write address."""
    return max(1, pwl_seg_shift_addr(segments).bit_length())


def pwl_table_writes(
    *, slopes: Sequence[int], intercepts: Sequence[int], x_min: int, seg_shift: int
) -> list[tuple[int, int]]:
    """The ``(address, value)`` writes that load one table (map above)."""
    s = len(slopes)
    if len(intercepts) != s:
        raise ValueError(f"PWL table has {s} slopes but {len(intercepts)} intercepts")
    return [
        *((i, int(a)) for i, a in enumerate(slopes)),
        *((pwl_icept_addr(s) + i, int(b)) for i, b in enumerate(intercepts)),
        (pwl_x_min_addr(s), int(x_min)),
        (pwl_seg_shift_addr(s), int(seg_shift)),
    ]
