"""Mixed-precision multiply-accumulate unit with a saturating accumulator."""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from accelgen.spec.config import require

from .arith import multiply_round, sat, sat_add

__all__ = ["ACC_BITS_CHOICES", "MAC"]

ACC_BITS_CHOICES = (24, 32)


class MAC(wiring.Component):
    """Multiply-accumulate: ``acc = sat(acc_bits, acc + multiply(a, w))``, bit-exact with
    :func:`accelgen.golden.arith.mac` (``docs/numerics.md``, "Multiply" and "Accumulate").

    Pipeline (latency **2 cycles** for every input, control and data alike):

    1. multiply ``a * w`` exactly, round half up by ``w_frac`` bits and saturate to
       ``act_bits`` (``p16``); the controls are registered alongside;
    2. accumulate. The new accumulator value is::

           base = 0 if clear else sign_extend(bias) if load_bias else acc
           acc  = sat(acc_bits, base + p16) if in_valid else base

       so ``clear``/``load_bias`` together with ``in_valid`` start a new sum with that product
       (no bubble). ``clear`` wins over ``load_bias``.

    ``acc``, ``y`` and ``out_valid`` show the effect of the inputs presented two rising edges
    earlier; with no control or valid input the accumulator holds. Reset clears it.

    Parameters
    ----------
    act_bits : int
        Activation (and bias, product) width, 2..``acc_bits``. Default 16.
    act_frac : int
        Fractional bits of activations, 0..act_bits-1 (the accumulator has the same scale; it
        does not change the arithmetic). Default 8.
    w_bits : int
        Weight width, 2..32. Default 16.
    w_frac : int
        Fractional bits of weights, 0..w_bits-1: the product is rounded by this many bits.
        Default 12.
    acc_bits : int
        Accumulator width, 24 or 32. Default 24.

    Members
    -------
    a : In(signed(act_bits))
        Activation.
    w : In(signed(w_bits))
        Weight.
    in_valid : In(1)
        Accumulate ``a * w`` (otherwise the product is ignored).
    clear : In(1)
        Start from 0.
    load_bias : In(1)
        Start from ``bias`` (sign-extended; activation scale).
    bias : In(signed(act_bits))
        Bias value, used when ``load_bias``.
    acc : Out(signed(acc_bits))
        The accumulator register.
    y : Out(signed(act_bits))
        ``sat(act_bits, acc)``, combinational from the accumulator register.
    out_valid : Out(1)
        ``in_valid`` delayed by the latency: ``acc`` has just taken that product.
    """

    def __init__(
        self,
        *,
        act_bits: int = 16,
        act_frac: int = 8,
        w_bits: int = 16,
        w_frac: int = 12,
        acc_bits: int = 24,
    ) -> None:
        require(
            type(acc_bits) is int and acc_bits in ACC_BITS_CHOICES,
            f"acc_bits must be 24 or 32, got {acc_bits!r}",
        )
        require(
            type(act_bits) is int and 2 <= act_bits <= acc_bits,
            f"act_bits must be an integer in 2..acc_bits ({acc_bits}), got {act_bits!r}",
        )
        require(
            type(act_frac) is int and 0 <= act_frac < act_bits,
            f"act_frac must be an integer in 0..act_bits-1 ({act_bits - 1}), got {act_frac!r}",
        )
        require(
            type(w_bits) is int and 2 <= w_bits <= 32,
            f"w_bits must be an integer in 2..32, got {w_bits!r}",
        )
        require(
            type(w_frac) is int and 0 <= w_frac < w_bits,
            f"w_frac must be an integer in 0..w_bits-1 ({w_bits - 1}), got {w_frac!r}",
        )
        self.act_bits = act_bits
        self.act_frac = act_frac
        self.w_bits = w_bits
        self.w_frac = w_frac
        self.acc_bits = acc_bits
        super().__init__(
            {
                "a": In(signed(act_bits)),
                "w": In(signed(w_bits)),
                "in_valid": In(1),
                "clear": In(1),
                "load_bias": In(1),
                "bias": In(signed(act_bits)),
                "acc": Out(signed(acc_bits)),
                "y": Out(signed(act_bits)),
                "out_valid": Out(1),
            }
        )

    @property
    def latency(self) -> int:
        """Cycles from an input to the accumulator output."""
        return 2

    def elaborate(self, platform) -> Module:
        m = Module()

        # Stage 1: product rounded to activation scale, controls registered alongside.
        p = Signal(signed(self.act_bits))
        p_valid = Signal()
        clear = Signal()
        load_bias = Signal()
        bias = Signal(signed(self.act_bits))
        m.d.sync += [
            p.eq(multiply_round(self.a, self.w, w_frac=self.w_frac, act_bits=self.act_bits)),
            p_valid.eq(self.in_valid),
            clear.eq(self.clear),
            load_bias.eq(self.load_bias),
            bias.eq(self.bias),
        ]

        # Stage 2: saturating accumulate onto 0, the bias or the running sum.
        base = Mux(clear, 0, Mux(load_bias, bias, self.acc))
        m.d.sync += [
            self.acc.eq(Mux(p_valid, sat_add(base, p, acc_bits=self.acc_bits), base)),
            self.out_valid.eq(p_valid),
        ]
        m.d.comb += self.y.eq(sat(self.acc, self.act_bits))
        return m
