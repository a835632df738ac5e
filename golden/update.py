"""Weight update ``w += alpha * g * a`` with stochastic rounding driven by an LFSR
(``docs/numerics.md``).

Formats: weights ``w[out, in]`` (``w_bits``/``w_frac``), activations ``a[in]`` and error terms
``g[out]`` in the activation format (``act_frac``), learning rate ``alpha`` an unsigned integer
with ``alpha_frac`` fractional bits. The exact update of weight ``(i, j)`` is the integer
``p = alpha * g[i] * a[j]`` with ``F = alpha_frac + 2 * act_frac`` fractional bits; it is brought to
the weight's scale by dropping ``s = F - w_frac`` bits:

* ``nearest``: ``(p + 2**(s-1)) >> s`` (round half up, as everywhere in docs/numerics.md). An update
  smaller than half a weight LSB is lost, every time.
* ``stochastic``: ``(p >> s) + (low > r)`` where ``low = p mod 2**s`` are the dropped bits and
  ``r`` is the low ``s`` bits of the next LFSR state. Rounding up happens with probability
  ``low / 2**s``, so the expected update equals the exact one.

Then ``w' = sat(w_bits, w + update)``. The LFSR advances one step per weight, in row-major
``[out, in]`` order, before its state is used.

LFSR (:class:`LFSRConfig`): a Galois LFSR shifting right: ``lsb = state & 1; state >>= 1;
if lsb: state ^= taps``. ``taps`` is the feedback polynomial without its ``x^0`` term, bit
``n - 1`` standing for ``x^n`` (so it must have bit ``width - 1`` set). The default is the
maximal-length 32-bit polynomial ``x^32 + x^22 + x^2 + x + 1`` (taps 32, 22, 2, 1 of Xilinx
XAPP052), i.e. ``taps = 0x80200003``; a 16-bit alternative is ``0xB400``
(``x^16 + x^14 + x^13 + x^11 + 1``). The state is never 0 (the seed must be non-zero).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..spec.config import Config, require
from .arith import Numerics, check_fixed, round_shift, sat

__all__ = ["LFSR", "LFSRConfig", "weight_update"]


@dataclass(frozen=True, kw_only=True)
class LFSRConfig(Config):
    """Width, feedback taps and seed of the stochastic-rounding LFSR (module docstring)."""

    width: int = 32
    taps: int = 0x80200003
    seed: int = 0x1

    def __post_init__(self) -> None:
        self.validate_fields()
        require(2 <= self.width <= 64, f"LFSR width must be in 2..64, got {self.width!r}")
        require(
            0 < self.taps < (1 << self.width) and self.taps >> (self.width - 1) == 1,
            f"LFSR taps must fit {self.width} bits with bit {self.width - 1} set, "
            f"got {self.taps:#x}",
        )
        require(
            0 < self.seed < (1 << self.width),
            f"LFSR seed must be in 1..2**{self.width}-1, got {self.seed!r}",
        )


class LFSR:
    """A running Galois LFSR (mutable state, starting at ``config.seed``)."""

    def __init__(self, config: LFSRConfig | None = None) -> None:
        self.config = config or LFSRConfig()
        self.state = self.config.seed

    def step(self) -> int:
        """Advance one step and return the new state."""
        lsb = self.state & 1
        self.state >>= 1
        if lsb:
            self.state ^= self.config.taps
        return self.state

    def draw(self, n: int) -> np.ndarray:
        """The next ``n`` states as ``uint64``."""
        return np.fromiter((self.step() for _ in range(n)), dtype=np.uint64, count=n)


def weight_update(
    w,
    a,
    g,
    *,
    alpha: int,
    alpha_frac: int,
    num: Numerics,
    rounding: Literal["stochastic", "nearest"] = "stochastic",
    lfsr: LFSR | None = None,
) -> np.ndarray:
    """One update ``w += alpha * outer(g, a)`` (formats and rounding in the module docstring).

    ``lfsr`` carries its state across calls; a fresh ``LFSR()`` is used when it is ``None``.
    """
    wa = check_fixed(w, num.w_bits, "w")
    aa = check_fixed(a, num.act_bits, "a")
    ga = check_fixed(g, num.act_bits, "g")
    if wa.ndim != 2 or aa.shape != (wa.shape[1],) or ga.shape != (wa.shape[0],):
        raise ValueError(
            f"w must be [out, in] with a[in], g[out]; got w {wa.shape}, a {aa.shape}, g {ga.shape}"
        )
    if (
        isinstance(alpha, bool)
        or not isinstance(alpha, (int, np.integer))
        or not 0 <= alpha < 2**16
    ):
        raise ValueError(f"alpha must be an integer in 0..65535, got {alpha!r}")
    if not 0 <= alpha_frac <= 32:
        raise ValueError(f"alpha_frac must be in 0..32, got {alpha_frac!r}")
    shift = alpha_frac + 2 * num.act_frac - num.w_frac
    if shift < 0:
        raise ValueError(
            f"the update has {alpha_frac + 2 * num.act_frac} fractional bits, fewer than "
            f"w_frac={num.w_frac}; raise alpha_frac"
        )
    p = int(alpha) * ga[:, None] * aa[None, :]
    if rounding == "nearest":
        upd = round_shift(p, shift)
    elif rounding == "stochastic":
        gen = lfsr if lfsr is not None else LFSR()
        if shift > gen.config.width:
            raise ValueError(
                f"stochastic rounding drops {shift} bits but the LFSR has only "
                f"{gen.config.width}; use a wider LFSR or fewer alpha_frac bits"
            )
        low = p & ((1 << shift) - 1)
        r = (gen.draw(p.size).reshape(p.shape) & np.uint64((1 << shift) - 1)).astype(np.int64)
        upd = (p >> shift) + (low > r)
    else:
        raise ValueError(f"rounding must be 'stochastic' or 'nearest', got {rounding!r}")
    return sat(num.w_bits, wa + upd)
