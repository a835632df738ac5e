"""Weight update ``w += alpha * g * a`` with stochastic rounding driven by an LFSR
(``docs/numerics.md``).

Formats: weights ``w[out, in]`` (``w_bits``/``w_frac``), activations ``a[in]`` in the activation
format (``act_frac``), error terms ``g[out]`` ``act_bits`` wide with ``g_frac`` fractional bits
(default ``act_frac``), learning rate ``alpha`` an unsigned 16-bit integer with ``alpha_frac``
fractional bits. The exact update of weight ``(i, j)`` is the integer ``p = alpha * g[i] * a[j]``
with ``F = alpha_frac + g_frac + act_frac`` fractional bits; it is brought to the weight's scale by
dropping ``s = F - w_frac`` bits (:func:`update_shift`):

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
from functools import cache
from typing import Literal

import numpy as np

from ..spec.config import Config, require
from .arith import Numerics, as_int, check_fixed, round_shift, sat

__all__ = ["LFSR", "LFSRConfig", "rounded_update", "update_shift", "weight_update"]


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
        """The next ``n`` states as ``uint64`` (the same as ``n`` calls of :meth:`step`).

        Vectorised: the LFSR is linear over GF(2), so the ``t``-th next state is the XOR of
        ``M^t e_i`` over the set bits ``i`` of the current state (:func:`_jump_table`); blocks of
        :data:`DRAW_BLOCK` states are drawn at once.
        """
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"n must be a non-negative integer, got {n!r}")
        table = _jump_table(self.config.width, self.config.taps)
        out = np.empty(int(n), dtype=np.uint64)
        done = 0
        while done < n:
            k = min(DRAW_BLOCK, int(n) - done)
            block = np.zeros(k, dtype=np.uint64)
            for i in range(self.config.width):
                if (self.state >> i) & 1:
                    block ^= table[i, :k]
            out[done : done + k] = block
            self.state = int(out[done + k - 1])
            done += k
        return out


#: States drawn per block by :meth:`LFSR.draw`.
DRAW_BLOCK = 2048


@cache
def _jump_table(width: int, taps: int) -> np.ndarray:
    """``table[i, t] = M^(t+1) e_i`` for ``t < DRAW_BLOCK``: the state ``t + 1`` steps after the
    single-bit state ``1 << i`` (``M`` one Galois step, module docstring)."""
    cols = np.array([1 << i for i in range(width)], dtype=np.uint64)
    taps_u = np.uint64(taps)
    one = np.uint64(1)
    table = np.empty((DRAW_BLOCK, width), dtype=np.uint64)
    for t in range(DRAW_BLOCK):
        cols = (cols >> one) ^ np.where((cols & one) == one, taps_u, np.uint64(0))
        table[t] = cols
    table = np.ascontiguousarray(table.T)
    table.setflags(write=False)
    return table


def rounded_update(
    p, shift: int, *, rounding: Literal["stochastic", "nearest"], lfsr: LFSR | None = None
) -> np.ndarray:
    """Exact updates ``p`` (integers) with ``shift`` bits dropped by ``rounding`` (module
    docstring); in ``stochastic`` mode the LFSR advances once per element, in C (row-major)
    order of ``p``, before its state is used."""
    p = as_int(p)
    if rounding == "nearest":
        return round_shift(p, shift)
    if rounding != "stochastic":
        raise ValueError(f"rounding must be 'stochastic' or 'nearest', got {rounding!r}")
    gen = lfsr if lfsr is not None else LFSR()
    if shift > gen.config.width:
        raise ValueError(
            f"stochastic rounding drops {shift} bits but the LFSR has only "
            f"{gen.config.width}; use a wider LFSR or fewer alpha_frac bits"
        )
    low = p & ((1 << shift) - 1)
    r = (gen.draw(p.size).reshape(p.shape) & np.uint64((1 << shift) - 1)).astype(np.int64)
    return (p >> shift) + (low > r)


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
    g_frac: int | None = None,
) -> np.ndarray:
    """One update ``w += alpha * outer(g, a)`` (formats and rounding in the module docstring).

    ``g`` has ``g_frac`` fractional bits (default ``num.act_frac``) and ``num.act_bits`` bits.
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
    gf = num.act_frac if g_frac is None else g_frac
    if not 0 <= gf < num.act_bits:
        raise ValueError(f"g_frac must be in 0..{num.act_bits - 1}, got {g_frac!r}")
    shift = update_shift(alpha_frac=alpha_frac, act_frac=num.act_frac, g_frac=gf, w_frac=num.w_frac)
    p = int(alpha) * ga[:, None] * aa[None, :]
    return sat(num.w_bits, wa + rounded_update(p, shift, rounding=rounding, lfsr=lfsr))


def update_shift(*, alpha_frac: int, act_frac: int, g_frac: int, w_frac: int) -> int:
    """Bits dropped from ``p = alpha * g * a`` (``alpha_frac + g_frac + act_frac`` fractional
    bits) to reach the weight's ``w_frac``; ``ValueError`` when that is negative."""
    shift = alpha_frac + g_frac + act_frac - w_frac
    if shift < 0:
        raise ValueError(
            f"the update has {alpha_frac + g_frac + act_frac} fractional bits, fewer than "
            f"w_frac={w_frac}; raise alpha_frac"
        )
    return shift
