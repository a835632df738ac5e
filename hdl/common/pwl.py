"""Piecewise-linear activation (DianNao NFU-3): the range registers, one pipelined lane with its
own LUT-RAM table, and :class:`PWLUnit` (one lane with a bypass), all loaded at run time.

``y = sat(act_bits, ((a_i * xc + 2**(act_frac-1)) >> act_frac) + b_i)``, bit-exact with
:func:`accelgen.golden.pwl.evaluate` (``docs/numerics.md``, "Piecewise-linear activation"):
``xc`` is ``x`` clamped into ``[x_min, x_max - 1]`` with ``x_max = x_min + (segments <<
seg_shift)``; the segment is ``i = (xc - x_min) >> seg_shift``. The whole table is data: the
slopes and intercepts *and* ``x_min`` and ``seg_shift``, written through one
:class:`~accelgen.hdl.common.ports.HostWriteSignature` port with the map of
:mod:`accelgen.spec.pwl`. NFU-3 instantiates one :class:`PWLRange` and one :class:`PWLLane`
per output lane.
"""

from __future__ import annotations

from amaranth.hdl import Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from accelgen.golden.pwl import PWLTable
from accelgen.spec.config import is_pow2, require
from accelgen.spec.pwl import (
    PWL_COEF_BITS,
    pwl_addr_bits,
    pwl_icept_addr,
    pwl_seg_shift_addr,
    pwl_table_writes,
    pwl_x_min_addr,
)

from .arith import round_shift, sat
from .ports import HostWriteSignature

__all__ = ["PWLLane", "PWLRange", "PWLUnit", "pwl_write_signature"]


def pwl_write_signature(segments: int, data_shape) -> HostWriteSignature:
    """The table write port of a ``segments``-segment table (``data_shape`` holds at least
    ``max(PWL_COEF_BITS, act_bits)`` bits)."""
    return HostWriteSignature(addr_width=pwl_addr_bits(segments), data_shape=data_shape)


def _shift_bits(act_bits: int) -> int:
    return max(1, act_bits.bit_length())


def _hi_bits(act_bits: int) -> int:
    return act_bits + 8


def _x_hi(x_min, seg_shift, segments: int):
    return x_min + (Const(segments, unsigned(max(8, segments.bit_length()))) << seg_shift) - 1


def _sum_shape(act_bits: int, act_frac: int):
    prod = Signal(signed(PWL_COEF_BITS + act_bits))
    return (round_shift(prod, act_frac) + Signal(signed(PWL_COEF_BITS))).shape()


class PWLRange(wiring.Component):
    """The range registers of a table: ``x_min``, ``seg_shift`` (written at addresses ``2S`` and
    ``2S + 1`` of the write port ``wr``; any address above ``2S`` writes ``seg_shift``) and the
    upper end ``x_hi = x_min + (S << seg_shift) - 1``, **registered one cycle after** the write
    (write the table only while no sample is in flight and one cycle before the next one).
    Reset restores ``table`` (or zeros).

    Members
    -------
    wr : In(HostWriteSignature)
        Table write port (:func:`pwl_write_signature`).
    x_min : Out(signed(act_bits)); seg_shift : Out(unsigned); x_hi : Out(signed(act_bits + 8))
        The registers.
    """

    def __init__(self, *, act_bits: int, segments: int, data_shape, table: PWLTable | None = None):
        self.act_bits = act_bits
        self.segments = segments
        self.table = table
        super().__init__(
            {
                "wr": In(pwl_write_signature(segments, data_shape)),
                "x_min": Out(signed(act_bits), init=table.x_min if table else 0),
                "seg_shift": Out(
                    unsigned(_shift_bits(act_bits)), init=table.seg_shift if table else 0
                ),
                "x_hi": Out(
                    signed(_hi_bits(act_bits)), init=table.x_max - 1 if table else segments - 1
                ),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        s = self.segments
        wr = self.wr
        with m.If(wr.en & (wr.addr == pwl_x_min_addr(s))):
            m.d.sync += self.x_min.eq(wr.data[: self.act_bits].as_signed())
        with m.Elif(wr.en & (wr.addr > pwl_x_min_addr(s))):
            m.d.sync += self.seg_shift.eq(wr.data[: len(self.seg_shift)])
        m.d.sync += self.x_hi.eq(_x_hi(self.x_min, self.seg_shift, s))
        return m


class PWLLane(wiring.Component):
    """One PWL lane with its own copy of the slopes and intercepts.

    The coefficient tables are two ``segments``-entry memories with a combinational read (LUT
    RAM on FPGAs), written by the slope and intercept writes of ``wr``. A lane per NFU-3 output
    keeps every look-up local: one shared register table read by all lanes through 16:1
    multiplexers made nextpnr's router fail to converge at Tn = 8. ``x_min``, ``seg_shift`` and
    ``x_hi`` come from a :class:`PWLRange` shared by the lanes. The tables keep their contents
    across a reset (initial contents: ``table``, or zeros).

    Latency: **5 cycles** from ``x`` to the registered ``sum``; ``y = sat(act_bits, sum)`` is
    combinational from it. One sample per cycle. Stages: 1 clamp into ``[x_min, x_hi]``;
    2 segment index; 3 table look-up; 4 ``slope * xc``; 5 ``round_shift(slope * xc, act_frac)
    + intercept``.

    Members
    -------
    x : In(signed(act_bits))
    wr : In(HostWriteSignature)
        Table write port (:func:`pwl_write_signature`).
    x_min, seg_shift, x_hi : In
        From :class:`PWLRange`.
    sum : Out(signed)
        The rounded product plus the intercept (before saturation).
    y : Out(signed(act_bits))
        ``sat(act_bits, sum)`` (combinational).
    """

    latency = 5

    def __init__(
        self,
        *,
        act_bits: int,
        act_frac: int,
        segments: int,
        data_shape,
        table: PWLTable | None = None,
    ) -> None:
        self.act_bits = act_bits
        self.act_frac = act_frac
        self.segments = segments
        self.table = table
        super().__init__(
            {
                "x": In(signed(act_bits)),
                "wr": In(pwl_write_signature(segments, data_shape)),
                "x_min": In(signed(act_bits)),
                "seg_shift": In(unsigned(_shift_bits(act_bits))),
                "x_hi": In(signed(_hi_bits(act_bits))),
                "sum": Out(_sum_shape(act_bits, act_frac)),
                "y": Out(signed(act_bits)),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        s = self.segments
        seg_bits = max(1, (s - 1).bit_length())
        wr = self.wr
        coef = wr.data[:PWL_COEF_BITS].as_signed()
        entry = wr.addr[:seg_bits]

        def in_range(addr, lo, hi):  # lo <= addr < hi, without a constant compare at lo = 0
            return (addr < hi) if lo == 0 else ((addr >= lo) & (addr < hi))

        t = self.table
        reads = []
        for kind, lo, init in (
            ("slope", 0, t.slopes if t else []),
            ("icept", pwl_icept_addr(s), t.intercepts if t else []),
        ):
            mem = Memory(shape=signed(PWL_COEF_BITS), depth=s, init=init)
            m.submodules[kind] = mem
            wp = mem.write_port()
            m.d.comb += [
                wp.addr.eq(entry),
                wp.data.eq(coef),
                wp.en.eq(wr.en & in_range(wr.addr, lo, lo + s)),
            ]
            reads.append(mem.read_port(domain="comb"))
        slope_rd, icept_rd = reads

        def reg(value, name, shape=None):
            sig = Signal(value.shape() if shape is None else shape, name=name, src_loc_at=1)
            m.d.sync += sig.eq(value)
            return sig

        x, x_min, x_hi = self.x, self.x_min, self.x_hi
        # stage 1: clamp (the clamped value lies between two act_bits values: it fits act_bits)
        xc1 = reg(Mux(x < x_min, x_min, Mux(x > x_hi, x_hi, x)), "xc1", signed(self.act_bits))
        # stage 2: segment index
        seg2 = reg(((xc1 - x_min) >> self.seg_shift)[:seg_bits], "seg2")
        xc2 = reg(xc1, "xc2")
        # stage 3: table look-up
        m.d.comb += [slope_rd.addr.eq(seg2), icept_rd.addr.eq(seg2)]
        slope3 = reg(slope_rd.data, "slope3")
        icept3 = reg(icept_rd.data, "icept3")
        xc3 = reg(xc2, "xc3")
        # stage 4: multiply
        prod4 = reg(slope3 * xc3, "prod4")
        icept4 = reg(icept3, "icept4")
        # stage 5: round, add the intercept
        m.d.sync += self.sum.eq(round_shift(prod4, self.act_frac) + icept4)
        m.d.comb += self.y.eq(sat(self.sum, self.act_bits))
        return m


class PWLUnit(wiring.Component):
    """A standalone PWL unit: one :class:`PWLLane` and its :class:`PWLRange`, with a bypass.

    The table is written through ``wr`` (map: :mod:`accelgen.spec.pwl`; :meth:`table_writes`
    lists the writes that load one), one word per cycle, effective at that clock edge. Rewrite
    it only while no sample is in flight, and present the next sample at least
    :attr:`write_settle` cycle after the last write (the range's upper end is registered).
    Reset restores the range registers to ``table`` (or zeros); the coefficient memories keep
    their contents.

    Latency: **6 cycles** (the lane's 5, then saturation and the bypass select, registered).
    One sample per cycle.

    Parameters
    ----------
    act_bits : int
        Activation width, 2..32. Default 16.
    act_frac : int
        Fractional bits of activations and coefficients, 1..act_bits-1. Default 8.
    segments : int
        Number of table segments, a power of two, 1..256. Default 16.
    table : PWLTable, optional
        Initial table, with the same ``act_bits``, ``act_frac`` and ``segments``.

    Members
    -------
    x : In(signed(act_bits))
        Input activation.
    bypass : In(1)
        Pass ``x`` through unchanged (``y = x``: a layer without activation); travels with ``x``.
    in_valid : In(1)
        Qualifies ``x``; delayed alongside it to ``out_valid``.
    wr : In(HostWriteSignature(addr_width, signed(max(16, act_bits))))
        Table write port.
    y : Out(signed(act_bits))
        Registered result.
    out_valid : Out(1)
        ``in_valid`` delayed by the latency.
    """

    #: Idle cycles needed between the last table write and the next sample.
    write_settle = 1

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
        self.data_shape = signed(max(PWL_COEF_BITS, act_bits))
        super().__init__(
            {
                "x": In(signed(act_bits)),
                "bypass": In(1),
                "in_valid": In(1),
                "wr": In(pwl_write_signature(segments, self.data_shape)),
                "y": Out(signed(act_bits)),
                "out_valid": Out(1),
            }
        )

    @property
    def latency(self) -> int:
        """Cycles from ``x`` to ``y``."""
        return PWLLane.latency + 1

    @property
    def x_min_addr(self) -> int:
        return pwl_x_min_addr(self.segments)

    @property
    def seg_shift_addr(self) -> int:
        return pwl_seg_shift_addr(self.segments)

    def table_writes(self, table: PWLTable) -> list[tuple[int, int]]:
        """The ``(addr, data)`` writes that load ``table`` (slopes, intercepts, range)."""
        require(
            table.segments == self.segments,
            f"table has {table.segments!r} segments but the unit has {self.segments!r}",
        )
        return pwl_table_writes(
            slopes=table.slopes,
            intercepts=table.intercepts,
            x_min=table.x_min,
            seg_shift=table.seg_shift,
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        kw = dict(
            act_bits=self.act_bits,
            segments=self.segments,
            data_shape=self.data_shape,
            table=self.table,
        )
        m.submodules.range = rng = PWLRange(**kw)
        m.submodules.lane = lane = PWLLane(act_frac=self.act_frac, **kw)
        wiring.connect(m, wiring.flipped(self.wr), rng.wr, lane.wr)
        m.d.comb += [
            lane.x.eq(self.x),
            lane.x_min.eq(rng.x_min),
            lane.seg_shift.eq(rng.seg_shift),
            lane.x_hi.eq(rng.x_hi),
        ]
        x, bypass, valid = self.x, self.bypass, self.in_valid
        for _ in range(PWLLane.latency):
            x_, bypass_, valid_ = Signal.like(x), Signal(), Signal()
            m.d.sync += [x_.eq(x), bypass_.eq(bypass), valid_.eq(valid)]
            x, bypass, valid = x_, bypass_, valid_
        m.d.sync += [self.y.eq(Mux(bypass, x, lane.y)), self.out_valid.eq(valid)]
        return m
