"""The DianNao Neural Functional Unit: NFU-1 (multipliers), NFU-2 (adder trees, accumulate,
pooling), NFU-3 (activation), as three registered pipeline stages (Chen et al., "DianNao").

One NFU *step* consumes an NBin word (``tn`` inputs), an SB word (``tn x tn`` weights) and, on
an output's first step, the NBout word of partial sums, all arriving together; the control
word :func:`ctl_layout` travels with the data. Arithmetic is :mod:`accelgen.hdl.common.arith`
(the rules of ``numerics.md``), bit-exact with :mod:`accelgen.golden.layers` at ``group = tn``.

Latency of :class:`NFU`: **3 cycles** from a step's inputs to ``out_valid`` (NFU-1 register,
NFU-2 accumulator, NFU-3 output register); one step per cycle, no stalls.
"""

from __future__ import annotations

from amaranth.hdl import Array, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from ..common.arith import multiply_round, round_shift, sat, sat_add
from .config import DianNaoConfig
from .isa import AVG_RECIP_BITS, NFU2Op, NFU2Out, NFU3Op

__all__ = ["NFU", "NFU1", "NFU2", "NFU3", "PWL_COEF_BITS", "ctl_layout", "exact_sum"]

PWL_COEF_BITS = 16


def ctl_layout(config: DianNaoConfig) -> data.StructLayout:
    """Per-step control word: output first/last step, unit ops, NBout address of the output."""
    return data.StructLayout(
        {
            "first": 1,
            "last": 1,
            "nfu1_op": 1,
            "nfu2_op": 2,
            "nfu2_out": 1,
            "nfu3_op": 2,
            "avg_recip": AVG_RECIP_BITS,
            "nbout_read": 1,
            "addr": config.nbout_addr_bits,
        }
    )


def exact_sum(values):
    """Balanced adder tree; every level one bit wider, so the sum is exact."""
    level = list(values)
    while len(level) > 1:
        level = [a + b for a, b in zip(level[0::2], level[1::2], strict=True)] + (
            [level[-1]] if len(level) % 2 else []
        )
    return level[0]


def _lanes(bits: int, n: int) -> data.ArrayLayout:
    return data.ArrayLayout(signed(bits), n)


class NFU1(wiring.Component):
    """NFU-1: ``tn x tn`` multipliers, each ``multiply_round`` (product rounded to ``act_bits``).

    Latency 1 cycle: ``prod[r][c] = sat(act_bits, round_shift(x[c] * w[r][c], w_frac))`` and
    ``x_out = x`` (the bypass path used by pooling) are registered, with ``valid``/``ctl``.
    """

    def __init__(self, config: DianNaoConfig) -> None:
        self.config = config
        t = config.tn
        super().__init__(
            {
                "valid": In(1),
                "ctl": In(ctl_layout(config)),
                "x": In(_lanes(config.act_bits, t)),
                "w": In(data.ArrayLayout(_lanes(config.w_bits, t), t)),
                "psum": In(_lanes(config.acc_bits, t)),
                "out_valid": Out(1),
                "out_ctl": Out(ctl_layout(config)),
                "prod": Out(data.ArrayLayout(_lanes(config.act_bits, t), t)),
                "x_out": Out(_lanes(config.act_bits, t)),
                "psum_out": Out(_lanes(config.acc_bits, t)),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        c = self.config
        for r in range(c.tn):
            for i in range(c.tn):
                p = multiply_round(self.x[i], self.w[r][i], w_frac=c.w_frac, act_bits=c.act_bits)
                m.d.sync += self.prod[r][i].eq(p)
        m.d.sync += [
            self.out_valid.eq(self.valid),
            self.out_ctl.eq(self.ctl),
            self.x_out.eq(self.x),
            self.psum_out.eq(self.psum),
        ]
        return m


class NFU2(wiring.Component):
    """NFU-2: ``tn`` exact adder trees and the accumulator (partial sums), or pooling lanes.

    Latency 1 cycle (the accumulator register ``acc``). Per lane ``r`` and step:

    * ``MAC``: ``acc = sat_add(base, sum_c prod[r][c])`` with ``base`` = ``acc`` or, on an
      output's first step, ``psum[r]`` (``nbout_read``) or 0;
    * ``SUM``: the same with ``x[r]`` instead of the tree (average pooling);
    * ``MAX``: ``acc = x[r]`` on the first step, else ``max(acc, x[r])`` (max pooling).

    ``NFU1Op.BYPASS`` selects ``x`` in ``SUM``/``MAX``; ``MAC`` uses the products.
    """

    def __init__(self, config: DianNaoConfig) -> None:
        self.config = config
        t = config.tn
        super().__init__(
            {
                "valid": In(1),
                "ctl": In(ctl_layout(config)),
                "prod": In(data.ArrayLayout(_lanes(config.act_bits, t), t)),
                "x": In(_lanes(config.act_bits, t)),
                "psum": In(_lanes(config.acc_bits, t)),
                "out_valid": Out(1),
                "out_ctl": Out(ctl_layout(config)),
                "acc": Out(_lanes(config.acc_bits, t)),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        c = self.config
        ctl = self.ctl
        for r in range(c.tn):
            tree = exact_sum(self.prod[r][i] for i in range(c.tn))
            value = Mux(ctl.nfu2_op == NFU2Op.MAC, tree, self.x[r])
            base = Mux(ctl.first, Mux(ctl.nbout_read, self.psum[r], 0), self.acc[r])
            added = sat_add(base, value, acc_bits=c.acc_bits)
            xr = self.x[r]
            maxed = Mux(ctl.first | (xr > self.acc[r]), xr, self.acc[r])
            with m.If(self.valid):
                m.d.sync += self.acc[r].eq(Mux(ctl.nfu2_op == NFU2Op.MAX, maxed, added))
        m.d.sync += [self.out_valid.eq(self.valid), self.out_ctl.eq(self.ctl)]
        return m


class NFU3(wiring.Component):
    """NFU-3: output stage. Latency 1 cycle (registered ``out_*``), only for ``ctl.last`` steps.

    ``PARTIAL`` outputs the raw accumulators (``acc_bits``); otherwise ``y = sat(act_bits, acc)``
    then ``NONE`` / ``RELU`` (``max(0, y)``) / ``PWL`` (the loaded table, as
    :func:`accelgen.golden.pwl.evaluate`), or ``AVG``: ``sat(act_bits, (acc * avg_recip + 2**15)
    >> 16)``. Results are sign-extended to ``acc_bits`` lanes (the NBout word format).

    The PWL table is written through ``pwl_we``/``pwl_addr``/``pwl_data`` (addresses as
    :func:`accelgen.hdl.diannao.compiler.pwl_writes`: slopes, intercepts, ``x_min``,
    ``seg_shift``); write it only while idle.
    """

    def __init__(self, config: DianNaoConfig) -> None:
        self.config = config
        t = config.tn
        s = config.pwl_segments
        super().__init__(
            {
                "valid": In(1),
                "ctl": In(ctl_layout(config)),
                "acc": In(_lanes(config.acc_bits, t)),
                "pwl_we": In(1),
                "pwl_addr": In(max(1, (2 * s + 1).bit_length())),
                "pwl_data": In(32),
                "out_valid": Out(1),
                "out_addr": Out(config.nbout_addr_bits),
                "out_data": Out(_lanes(config.acc_bits, t)),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        c = self.config
        s = c.pwl_segments
        seg_bits = max(1, (s - 1).bit_length())
        shift_bits = max(1, c.act_bits.bit_length())
        slopes = Array(Signal(signed(PWL_COEF_BITS), name=f"slope{i}") for i in range(s))
        icepts = Array(Signal(signed(PWL_COEF_BITS), name=f"icept{i}") for i in range(s))
        x_min = Signal(signed(c.act_bits))
        seg_shift = Signal(unsigned(shift_bits))
        with m.If(self.pwl_we):
            coef = self.pwl_data[:PWL_COEF_BITS].as_signed()
            with m.If(self.pwl_addr < s):
                m.d.sync += slopes[self.pwl_addr[:seg_bits]].eq(coef)
            with m.Elif(self.pwl_addr < 2 * s):
                m.d.sync += icepts[self.pwl_addr[:seg_bits]].eq(coef)
            with m.Elif(self.pwl_addr == 2 * s):
                m.d.sync += x_min.eq(self.pwl_data[: c.act_bits].as_signed())
            with m.Else():
                m.d.sync += seg_shift.eq(self.pwl_data[:shift_bits])
        x_hi = Signal(signed(c.act_bits + 8))
        m.d.comb += x_hi.eq(x_min + (Const(s, unsigned(8)) << seg_shift) - 1)

        ctl = self.ctl
        with m.If(self.valid & ctl.last):
            m.d.sync += [self.out_valid.eq(1), self.out_addr.eq(ctl.addr)]
        with m.Else():
            m.d.sync += self.out_valid.eq(0)
        for r in range(c.tn):
            acc = self.acc[r]
            y = sat(acc, c.act_bits)
            relu = Mux(y < 0, 0, y)
            xc = Mux(y < x_min, x_min, Mux(y > x_hi, x_hi, y))
            seg = ((xc - x_min) >> seg_shift)[:seg_bits]
            pwl = sat(round_shift(slopes[seg] * xc, c.act_frac) + icepts[seg], c.act_bits)
            avg = sat(round_shift(acc * ctl.avg_recip, 16), c.act_bits)
            final = Signal(signed(c.act_bits), name=f"final{r}")
            with m.Switch(ctl.nfu3_op):
                with m.Case(NFU3Op.NONE):
                    m.d.comb += final.eq(y)
                with m.Case(NFU3Op.RELU):
                    m.d.comb += final.eq(relu)
                with m.Case(NFU3Op.PWL):
                    m.d.comb += final.eq(pwl)
                with m.Case(NFU3Op.AVG):
                    m.d.comb += final.eq(avg)
            with m.If(self.valid & ctl.last):
                m.d.sync += self.out_data[r].eq(Mux(ctl.nfu2_out == NFU2Out.PARTIAL, acc, final))
        return m


class NFU(wiring.Component):
    """NFU-1 -> NFU-2 -> NFU-3. Inputs: one step (``valid``, ``ctl``, ``x``, ``w``, ``psum``);
    outputs: NBout writes (``out_valid``, ``out_addr``, ``out_data``) 3 cycles later.

    ``nfu1_op`` is informational in the datapath (``BYPASS`` steps use NFU-2 ``SUM``/``MAX``,
    which read the bypassed inputs): the multipliers always run.
    """

    def __init__(self, config: DianNaoConfig) -> None:
        self.config = config
        t = config.tn
        s = config.pwl_segments
        super().__init__(
            {
                "valid": In(1),
                "ctl": In(ctl_layout(config)),
                "x": In(_lanes(config.act_bits, t)),
                "w": In(data.ArrayLayout(_lanes(config.w_bits, t), t)),
                "psum": In(_lanes(config.acc_bits, t)),
                "pwl_we": In(1),
                "pwl_addr": In(max(1, (2 * s + 1).bit_length())),
                "pwl_data": In(32),
                "out_valid": Out(1),
                "out_addr": Out(config.nbout_addr_bits),
                "out_data": Out(_lanes(config.acc_bits, t)),
            }
        )

    latency = 3

    def elaborate(self, platform) -> Module:
        m = Module()
        c = self.config
        m.submodules.nfu1 = n1 = NFU1(c)
        m.submodules.nfu2 = n2 = NFU2(c)
        m.submodules.nfu3 = n3 = NFU3(c)
        m.d.comb += [
            n1.valid.eq(self.valid),
            n1.ctl.eq(self.ctl),
            n1.x.eq(self.x),
            n1.w.eq(self.w),
            n1.psum.eq(self.psum),
            n2.valid.eq(n1.out_valid),
            n2.ctl.eq(n1.out_ctl),
            n2.prod.eq(n1.prod),
            n2.x.eq(n1.x_out),
            n2.psum.eq(n1.psum_out),
            n3.valid.eq(n2.out_valid),
            n3.ctl.eq(n2.out_ctl),
            n3.acc.eq(n2.acc),
            n3.pwl_we.eq(self.pwl_we),
            n3.pwl_addr.eq(self.pwl_addr),
            n3.pwl_data.eq(self.pwl_data),
            self.out_valid.eq(n3.out_valid),
            self.out_addr.eq(n3.out_addr),
            self.out_data.eq(n3.out_data),
        ]
        return m
