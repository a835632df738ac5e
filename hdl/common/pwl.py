"""Piecewise-linear activation unit (DianNao NFU-3) with a run-time-loadable table."""

from __future__ import annotations

from amaranth.hdl import Array, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import bits_for, exact_log2

from accelgen.golden.pwl import PWL_COEF_BITS, PWLTable
from accelgen.spec.config import is_pow2, require

from .arith import round_shift, sat

__all__ = ["PWLUnit"]


class PWLUnit(wiring.Component):
    """``y = sat(act_bits, ((a_i * xc + 2**(act_frac-1)) >> act_frac) + b_i)``, bit-exact with
    :func:`accelgen.golden.pwl.evaluate` (``docs/numerics.md``, "Piecewise-linear activation").

    ``xc`` is ``x`` clamped into ``[x_min, x_max - 1]`` with ``x_max = x_min +
    (segments << seg_shift)``; the segment is ``i = (xc - x_min) >> seg_shift``. The whole table
    is data held in registers: the ``segments`` slopes and intercepts *and* ``x_min`` and
    ``seg_shift``, so one unit serves sigmoid, tanh or any other table loaded per layer. The
    table must satisfy :class:`accelgen.golden.pwl.PWLTable`'s checks (the range fits
    ``act_bits``); :meth:`table_writes` lists the writes that load one.

    Write port (``we``, ``waddr``, ``wdata``), one word per cycle, effective at that clock edge:

    ==========================  =========================================================
    ``waddr``                   register (low bits of ``wdata``)
    ==========================  =========================================================
    ``i``, 0 <= i < segments    slope ``a_i`` (signed 16-bit, ``act_frac`` fraction bits)
    ``segments + i``            intercept ``b_i`` (signed 16-bit)
    ``2 * segments``            ``x_min`` (signed ``act_bits``, activation LSBs)
    ``2 * segments + 1``        ``seg_shift`` (unsigned, log2 of the segment width)
    ==========================  =========================================================

    Rewrite the table only while no sample is in flight. Reset restores ``table`` (or zeros).

    Latency: **3 cycles** (1: clamp and segment index; 2: table look-up and multiply;
    3: round, add the intercept and saturate). One sample per cycle.

    Parameters
    ----------
    act_bits : int
        Activation width, 2..32. Default 16.
    act_frac : int
        Fractional bits of activations and coefficients, 1..act_bits-1. Default 8.
    segments : int
        Number of table segments, a power of two, 1..256. Default 16.
    table : PWLTable, optional
        Initial (and reset) table, with the same ``act_bits``, ``act_frac`` and ``segments``.

    Members
    -------
    x : In(signed(act_bits))
        Input activation.
    bypass : In(1)
        Pass ``x`` through unchanged (``y = x``: a layer without activation); travels with ``x``.
    in_valid : In(1)
        Qualifies ``x``; delayed alongside it to ``out_valid``.
    we : In(1)
        Write enable of the table write port.
    waddr : In(range(2 * segments + 2))
        Table register to write (map above).
    wdata : In(signed(max(16, act_bits)))
        Value to write.
    y : Out(signed(act_bits))
        Registered result.
    out_valid : Out(1)
        ``in_valid`` delayed by the latency.
    """

    def __init__(
        self,
        *,
        act_bits: int = 16,
        act_frac: int = 8,
        segments: int = 16,
        table: PWLTable | None = None,
    ) -> None:
        require(
            type(act_bits) is int and 2 <= act_bits <= 32,
            f"act_bits must be an integer in 2..32, got {act_bits!r}",
        )
        require(
            type(act_frac) is int and 1 <= act_frac < act_bits,
            f"act_frac must be an integer in 1..act_bits-1 ({act_bits - 1}), got {act_frac!r}",
        )
        require(
            type(segments) is int and is_pow2(segments) and segments <= 256,
            f"segments must be a power of two in 1..256, got {segments!r}",
        )
        if table is not None:
            require(isinstance(table, PWLTable), f"table must be a PWLTable, got {table!r}")
            for name, want in (("act_bits", act_bits), ("act_frac", act_frac)):
                got = getattr(table, name)
                require(got == want, f"table has {name}={got!r} but the unit has {want!r}")
            require(
                table.segments == segments,
                f"table has {table.segments!r} segments but the unit has {segments!r}",
            )
        self.act_bits = act_bits
        self.act_frac = act_frac
        self.segments = segments
        self.table = table
        super().__init__(
            {
                "x": In(signed(act_bits)),
                "bypass": In(1),
                "in_valid": In(1),
                "we": In(1),
                "waddr": In(range(self.seg_shift_addr + 1)),
                "wdata": In(signed(max(PWL_COEF_BITS, act_bits))),
                "y": Out(signed(act_bits)),
                "out_valid": Out(1),
            }
        )

    @staticmethod
    def _seg_shift_bits(act_bits: int) -> int:
        return bits_for(act_bits - 1)

    @property
    def latency(self) -> int:
        """Cycles from ``x`` to ``y``."""
        return 3

    @property
    def x_min_addr(self) -> int:
        return 2 * self.segments

    @property
    def seg_shift_addr(self) -> int:
        return 2 * self.segments + 1

    def table_writes(self, table: PWLTable) -> list[tuple[int, int]]:
        """The ``(waddr, wdata)`` writes that load ``table`` (slopes, intercepts, range)."""
        require(
            table.segments == self.segments,
            f"table has {table.segments!r} segments but the unit has {self.segments!r}",
        )
        return [
            *enumerate(table.slopes),
            *((self.segments + i, b) for i, b in enumerate(table.intercepts)),
            (self.x_min_addr, table.x_min),
            (self.seg_shift_addr, table.seg_shift),
        ]

    def elaborate(self, platform) -> Module:
        m = Module()
        n = self.segments
        coef = signed(PWL_COEF_BITS)
        t = self.table
        slopes = [Signal(coef, init=t.slopes[i] if t else 0, name=f"slope{i}") for i in range(n)]
        icepts = [
            Signal(coef, init=t.intercepts[i] if t else 0, name=f"icept{i}") for i in range(n)
        ]
        x_min = Signal(signed(self.act_bits), init=t.x_min if t else 0)
        seg_shift = Signal(
            unsigned(self._seg_shift_bits(self.act_bits)), init=t.seg_shift if t else 0
        )

        with m.If(self.we):
            with m.Switch(self.waddr):
                for i in range(n):
                    with m.Case(i):
                        m.d.sync += slopes[i].eq(self.wdata)
                    with m.Case(n + i):
                        m.d.sync += icepts[i].eq(self.wdata)
                with m.Case(self.x_min_addr):
                    m.d.sync += x_min.eq(self.wdata)
                with m.Case(self.seg_shift_addr):
                    m.d.sync += seg_shift.eq(self.wdata)

        # Stage 1: clamp into [x_min, x_max - 1] and find the segment.
        seg_bits = max(1, exact_log2(n))
        x_hi = x_min + ((Const(n) << seg_shift) - 1)
        xc = Mux(self.x < x_min, x_min, Mux(self.x > x_hi, x_hi, self.x))
        s1_x = Signal(signed(self.act_bits))
        s1_xc = Signal(signed(self.act_bits))
        s1_seg = Signal(unsigned(seg_bits))
        s1_bypass = Signal()
        s1_valid = Signal()
        m.d.sync += [
            s1_x.eq(self.x),
            s1_xc.eq(xc),
            s1_seg.eq((xc - x_min) >> seg_shift),
            s1_bypass.eq(self.bypass),
            s1_valid.eq(self.in_valid),
        ]

        # Stage 2: look up the segment's coefficients and multiply.
        s2_prod = Signal(signed(PWL_COEF_BITS + self.act_bits))
        s2_icept = Signal(coef)
        s2_x = Signal(signed(self.act_bits))
        s2_bypass = Signal()
        s2_valid = Signal()
        m.d.sync += [
            s2_prod.eq(Array(slopes)[s1_seg] * s1_xc),
            s2_icept.eq(Array(icepts)[s1_seg]),
            s2_x.eq(s1_x),
            s2_bypass.eq(s1_bypass),
            s2_valid.eq(s1_valid),
        ]

        # Stage 3: round back to activation scale, add the intercept, saturate (or bypass).
        pwl = sat(round_shift(s2_prod, self.act_frac) + s2_icept, self.act_bits)
        m.d.sync += [
            self.y.eq(Mux(s2_bypass, s2_x, pwl)),
            self.out_valid.eq(s2_valid),
        ]
        return m
