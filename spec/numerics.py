"""The fixed-point formats of one datapath (the numbers of ``docs/numerics.md``).

:class:`Numerics` is shared by the golden model (``accelgen.golden.arith``), the core configs
(``accelgen.spec.eie``, ``accelgen.spec.diannao``) and the gateware; it validates itself.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["Numerics"]


@dataclass(frozen=True, kw_only=True)
class Numerics:
    """The fixed-point formats of one datapath (defaults from ``docs/numerics.md``)."""

    act_bits: int = 16
    act_frac: int = 8
    w_bits: int = 16
    w_frac: int = 12
    acc_bits: int = 24

    def __post_init__(self) -> None:
        for name in ("act_bits", "act_frac", "w_bits", "w_frac", "acc_bits"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int):
                raise TypeError(f"{name} must be an integer, got {v!r}")
        if not 2 <= self.act_bits <= 32:
            raise ValueError(f"act_bits must be in 2..32, got {self.act_bits!r}")
        if not 2 <= self.w_bits <= 32:
            raise ValueError(f"w_bits must be in 2..32, got {self.w_bits!r}")
        if not 0 <= self.act_frac < self.act_bits:
            raise ValueError(
                f"act_frac must be in 0..act_bits-1 ({self.act_bits - 1}), got {self.act_frac!r}"
            )
        if not 0 <= self.w_frac < self.w_bits:
            raise ValueError(
                f"w_frac must be in 0..w_bits-1 ({self.w_bits - 1}), got {self.w_frac!r}"
            )
        if self.acc_bits not in (24, 32):
            raise ValueError(f"acc_bits must be 24 or 32, got {self.acc_bits!r}")
        if self.acc_bits < self.act_bits:
            raise ValueError(
                f"acc_bits ({self.acc_bits}) must be at least act_bits ({self.act_bits})"
            )

    def to_json(self) -> dict:
        return asdict(self)
