"""DianNao training: the weight-update unit ``w += alpha * g_i * a_j`` (``docs/numerics.md``,
"Weight update"), bit-exact with :func:`accelgen.golden.update.rounded_update`.

One beat carries up to ``lanes`` weights with their error term ``g`` and activation ``a`` (one
per lane, so a beat may mix rows); the lanes hold consecutive elements of the golden model's
row-major ``[out, in]`` order, lane 0 first. The unit is stand-alone (no buffer port): the
caller reads the synapse-buffer words, presents them here and writes ``w_out`` back.

**LFSR: one, shared by the lanes.** It is the golden model's Galois LFSR
(:class:`~accelgen.golden.update.LFSRConfig`). On a stochastic beat with ``n_valid = n`` lanes the
next ``n`` states ``s_1 .. s_n`` are computed combinationally from the state (an unrolled chain of
``n`` Galois steps); lane ``k`` compares its dropped bits with the low ``shift`` bits of
``s_{k+1}`` and the register takes ``s_n``. So the sequence of states used is exactly the golden
model's: one step per weight, in element order. A nearest beat, an idle cycle and lanes ``>=
n_valid`` do not advance it. ``load`` sets the state to ``seed`` (non-zero); it wins over a beat in
the same cycle, whose lanes still use the states after the old value.

Pipeline, latency **2** (``w_out`` / ``out_valid`` show the beat presented two rising edges
earlier):

1. per lane ``pg = alpha * g`` (exact, 33 bits for 16-bit ``g``); ``a``, ``w``, the lane's LFSR
   draw and the controls registered alongside;
2. per lane ``p = pg * a`` (exact), ``upd = (p + 2^(s-1)) >> s`` (nearest) or
   ``(p >> s) + (p mod 2^s > r)`` (stochastic), ``w_out = sat(w_bits, w + upd)``; an invalid
   lane passes ``w`` through unchanged.

Parameters
----------
lanes : int
    Weights per beat (DianNao's ``Tn``), >= 1.
act_bits, act_frac, w_bits, w_frac : int
    Formats of ``a`` (and ``g``'s width) and of the weights.
g_frac : int
    Fractional bits of ``g``.
alpha_frac : int
    Fractional bits of ``alpha`` (16-bit unsigned input).
lfsr_width, lfsr_taps, lfsr_seed : int
    The LFSR (reset value ``lfsr_seed``).

Members
-------
w, g, a : In(ArrayLayout(signed(...), lanes))
    Weights, error terms and activations of the beat.
n_valid : In(range(lanes + 1))
    Lanes ``0 .. n_valid - 1`` hold a weight; 0 is an idle cycle.
alpha : In(16)
    Learning rate numerator.
stochastic : In(1)
    Stochastic rounding (else nearest).
load, seed : In(1), In(lfsr_width)
    Load the LFSR state.
w_out : Out(ArrayLayout(signed(w_bits), lanes))
    Updated weights.
out_valid : Out(1)
    ``n_valid != 0`` delayed by the latency.
lfsr_state : Out(lfsr_width)
    The LFSR register.
"""

from __future__ import annotations

from amaranth.hdl import Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from accelgen.golden.update import LFSRConfig, update_shift
from accelgen.spec.config import require

from ..common.arith import round_shift, sat

__all__ = ["WeightUpdate"]

ALPHA_BITS = 16


class WeightUpdate(wiring.Component):
    """``lanes`` weight updates per cycle with a shared LFSR (module docstring)."""

    def __init__(
        self,
        *,
        lanes: int = 16,
        act_bits: int = 16,
        act_frac: int = 8,
        w_bits: int = 16,
        w_frac: int = 14,
        g_frac: int = 12,
        alpha_frac: int = 16,
        lfsr_width: int = 32,
        lfsr_taps: int = 0x80200003,
        lfsr_seed: int = 1,
    ) -> None:
        for name, v in (
            ("lanes", lanes),
            ("act_bits", act_bits),
            ("act_frac", act_frac),
            ("w_bits", w_bits),
            ("w_frac", w_frac),
            ("g_frac", g_frac),
            ("alpha_frac", alpha_frac),
        ):
            require(type(v) is int, f"{name} must be an integer, got {v!r}")
        require(lanes >= 1, f"lanes must be >= 1, got {lanes!r}")
        require(2 <= act_bits <= 32, f"act_bits must be in 2..32, got {act_bits!r}")
        require(2 <= w_bits <= 32, f"w_bits must be in 2..32, got {w_bits!r}")
        require(
            0 <= act_frac < act_bits, f"act_frac must be in 0..{act_bits - 1}, got {act_frac!r}"
        )
        require(0 <= g_frac < act_bits, f"g_frac must be in 0..{act_bits - 1}, got {g_frac!r}")
        require(0 <= w_frac < w_bits, f"w_frac must be in 0..{w_bits - 1}, got {w_frac!r}")
        require(0 <= alpha_frac <= 32, f"alpha_frac must be in 0..32, got {alpha_frac!r}")
        self.lfsr = LFSRConfig(width=lfsr_width, taps=lfsr_taps, seed=lfsr_seed)
        self.shift = update_shift(
            alpha_frac=alpha_frac, act_frac=act_frac, g_frac=g_frac, w_frac=w_frac
        )
        require(
            self.shift <= lfsr_width,
            f"the update drops {self.shift} bits but the LFSR has only {lfsr_width}",
        )
        self.lanes, self.act_bits, self.w_bits = lanes, act_bits, w_bits
        super().__init__(
            {
                "w": In(data.ArrayLayout(signed(w_bits), lanes)),
                "g": In(data.ArrayLayout(signed(act_bits), lanes)),
                "a": In(data.ArrayLayout(signed(act_bits), lanes)),
                "n_valid": In(range(lanes + 1)),
                "alpha": In(ALPHA_BITS),
                "stochastic": In(1),
                "load": In(1),
                "seed": In(lfsr_width),
                "w_out": Out(data.ArrayLayout(signed(w_bits), lanes)),
                "out_valid": Out(1),
                "lfsr_state": Out(lfsr_width, init=lfsr_seed),
            }
        )

    @property
    def latency(self) -> int:
        return 2

    def _galois_step(self, s):
        width, taps = self.lfsr.width, self.lfsr.taps
        return (s >> 1) ^ Mux(s[0], Const(taps, width), Const(0, width))

    def elaborate(self, platform) -> Module:
        m = Module()
        n, s = self.lanes, self.shift
        width = self.lfsr.width

        # The next `lanes` LFSR states (an unrolled chain of Galois steps from the register).
        states = []
        cur = self.lfsr_state
        for k in range(n):
            nxt = Signal(width, name=f"lfsr_next{k}")
            m.d.comb += nxt.eq(self._galois_step(cur))
            states.append(nxt)
            cur = nxt
        beat = self.n_valid != 0
        with m.If(self.load):
            m.d.sync += self.lfsr_state.eq(self.seed)
        with m.Elif(beat & self.stochastic):
            with m.Switch(self.n_valid):
                for k in range(1, n + 1):
                    with m.Case(k):
                        m.d.sync += self.lfsr_state.eq(states[k - 1])

        # Stage 1: alpha * g per lane; everything else registered alongside.
        pg_bits = ALPHA_BITS + 1 + self.act_bits
        pg = [Signal(signed(pg_bits), name=f"pg{k}") for k in range(n)]
        a1 = [Signal(signed(self.act_bits), name=f"a1_{k}") for k in range(n)]
        w1 = [Signal(signed(self.w_bits), name=f"w1_{k}") for k in range(n)]
        r1 = [Signal(unsigned(max(s, 1)), name=f"r1_{k}") for k in range(n)]
        v1 = [Signal(name=f"v1_{k}") for k in range(n)]
        sto1, beat1 = Signal(), Signal()
        alpha = Signal(signed(ALPHA_BITS + 1))  # zero-extended: a signed operand
        m.d.comb += alpha.eq(self.alpha)
        for k in range(n):
            m.d.sync += [
                pg[k].eq(alpha * self.g[k]),
                a1[k].eq(self.a[k]),
                w1[k].eq(self.w[k]),
                r1[k].eq(states[k][: max(s, 1)]),
                v1[k].eq(self.n_valid > k),
            ]
        m.d.sync += [sto1.eq(self.stochastic), beat1.eq(beat)]

        # Stage 2: p = pg * a, rounded to the weight's scale, saturating write-back value.
        for k in range(n):
            p = Signal(signed(pg_bits + self.act_bits), name=f"p{k}")
            m.d.comb += p.eq(pg[k] * a1[k])
            if s == 0:
                upd = p
            else:
                up = p[:s] > r1[k]
                upd = Mux(sto1, (p >> s) + up, round_shift(p, s))
            m.d.sync += self.w_out[k].eq(Mux(v1[k], sat(w1[k] + upd, self.w_bits), w1[k]))
        m.d.sync += self.out_valid.eq(beat1)
        return m
