"""The DianNao Neural Functional Unit: NFU-1 (multipliers), NFU-2 (adder trees, accumulate,
pooling), NFU-3 (activation) (Chen et al., "DianNao"), pipelined for FPGA clock rates.

One NFU *step* consumes an NBin word (``tn`` inputs), an SB word (``tn x tn`` weights) and, on
an output's first step, the NBout word of partial sums, all arriving together; the control
word :func:`ctl_layout` travels with the data. Arithmetic is :mod:`accelgen.hdl.common.arith`
(the rules of ``docs/numerics.md``), bit-exact with :mod:`accelgen.golden.layers` at ``group = tn``.

Latency of :class:`NFU`: **14 cycles** from a step's inputs to ``out_valid``, one step per
cycle, no stalls. Every stage holds at most one carry chain or multiplier plus a few LUT
levels (the paper's three stages each hold a multiplier, an adder tree or a table look-up plus
multiply-add, too long for one FPGA cycle):

==========  =====  ============================================================================
unit        stage  registered at the end of the stage
==========  =====  ============================================================================
NFU-1       0      the buffer read data, one register per bit (the RAMs' outputs, 5.6 ns
                   after the clock on ECP5, go straight to registers)
NFU-1       1      the inputs (``x`` copied per multiplier row, next to the DSP blocks)
NFU-1       2      the exact products ``x[c] * w[r][c]`` (DSP multipliers)
NFU-1       3      ``sat(act_bits, round_shift(product, w_frac))``
NFU-2       4      the first half of the adder-tree levels (the exact partial sums)
NFU-2       5      the tree sum (or the bypassed input for pooling)
NFU-2       6      the accumulator (one saturating add, or a max, per lane)
NFU-3       7      ``y = sat(act_bits, acc)``; the two partial products of ``acc * avg_recip``
NFU-3       8      ``y`` clamped to the PWL range; ReLU; the product ``acc * avg_recip``
NFU-3       9      the PWL segment index; the rounded, saturated average
NFU-3       10     ``slope[seg]``, ``intercept[seg]`` (table look-up)
NFU-3       11     ``slope * x``
NFU-3       12     ``round_shift(slope * x, act_frac) + intercept``
NFU-3       13     saturation and the output select (the NBout write word)
==========  =====  ============================================================================
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from accelgen.spec.diannao import AVG_RECIP_BITS, DianNaoConfig, NFU2Op, NFU2Out, NFU3Op

from ..common.arith import round_product, round_shift, sat, sat_add
from ..common.pwl import PWLLane, PWLRange, pwl_write_signature
from ..common.replica import replica
from ..common.trees import AdderTree

__all__ = ["NFU", "NFU1", "NFU2", "NFU3", "ctl_layout", "pwl_signature"]

AVG_SPLIT = 17  # low bits of the accumulator in the first average-pooling partial product


def ctl_layout(config: DianNaoConfig) -> data.StructLayout:
    """Per-step control word: output first/last step, unit ops, NBout address of the output
    (and, with ``weight_update``, ``drelu``: the NBout word read is a ReLU-derivative mask)."""
    fields = {
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
    if config.weight_update:
        fields["drelu"] = 1
    return data.StructLayout(fields)


def pwl_signature(config: DianNaoConfig):
    """The NFU-3 PWL table write port (32-bit data: the host's write word)."""
    return pwl_write_signature(config.pwl_segments, 32)


def _step_inputs(config: DianNaoConfig) -> dict:
    """An NFU step as it enters NFU-1 (and the whole NFU)."""
    t = config.tn
    return {
        "valid": In(1),
        "ctl": In(ctl_layout(config)),
        "x": In(_lanes(config.act_bits, t)),
        "w": In(data.ArrayLayout(_lanes(config.w_bits, t), t)),
        "psum": In(_lanes(config.acc_bits, t)),
    }


def _nbout_outputs(config: DianNaoConfig) -> dict:
    """The NBout write leaving NFU-3 (and the whole NFU), and the PWL table write port."""
    return {
        "pwl": In(pwl_signature(config)),
        "out_valid": Out(1),
        "out_addr": Out(config.nbout_addr_bits),
        "out_data": Out(_lanes(config.acc_bits, config.tn)),
    }


def _lanes(bits: int, n: int) -> data.ArrayLayout:
    return data.ArrayLayout(signed(bits), n)


class _Stages:
    """Pipeline-register helper: ``reg(value)`` returns a register loaded with ``value``."""

    def __init__(self, m: Module, prefix: str) -> None:
        self.m = m
        self.prefix = prefix

    def reg(self, value, name: str, shape=None) -> Signal:
        # src_loc_at=1: the register's source location is the caller's line (synthesis reports
        # name the statement that feeds it, not this helper)
        sig = Signal(
            value.shape() if shape is None else shape,
            name=f"{self.prefix}_{name}",
            src_loc_at=1,
        )
        self.m.d.sync += sig.eq(value)
        return sig


class NFU1(wiring.Component):
    """NFU-1: ``tn x tn`` multipliers, each ``sat(act_bits, round_shift(x[c] * w[r][c], w_frac))``.

    Latency 4 cycles (:attr:`latency`): the buffer read data registered once, input registers,
    exact product, rounded and saturated product ``prod[r][c]``. ``x_out = x`` (the bypass path
    used by pooling), ``psum_out``, ``out_ctl`` and ``out_valid`` are delayed by the same 4
    cycles.
    """

    latency = 4

    def __init__(self, config: DianNaoConfig) -> None:
        self.config = config
        t = config.tn
        super().__init__(
            {
                **_step_inputs(config),
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
        t = c.tn
        s = _Stages(m, "nfu1")
        # stage 0: the buffers' read data, registered once (the block RAMs have no output
        # register in Yosys' ECP5 mapping: with the replicas fed straight from the RAMs, the
        # 5.6 ns read plus the routing to the DSP columns was the critical path)
        x0 = s.reg(self.x, "x0")
        w0 = s.reg(self.w, "w0")
        side = [(self.valid, self.out_valid), (self.ctl, self.out_ctl)]
        side += [(self.x, self.x_out), (self.psum, self.psum_out)]
        piped0 = [s.reg(v, f"d0_{i}") for i, (v, _) in enumerate(side)]
        # stage 1: inputs (no longer straight from the RAMs)
        w1 = s.reg(w0, "w1")
        piped = [s.reg(v, f"d1_{i}") for i, v in enumerate(piped0)]
        # x goes to every multiplier row through its own register copy per row (replicas: a
        # single register fanning out to tn DSP blocks spread over the device was the critical
        # path)
        xr = [[replica(signed(c.act_bits), f"nfu1_x1r{r}_{i}") for i in range(t)] for r in range(t)]
        m.d.sync += [xr[r][i].eq(x0[i]) for r in range(t) for i in range(t)]
        # stage 2: exact products
        full = [
            [s.reg(xr[r][i] * w1[r][i].as_signed(), f"p{r}_{i}") for i in range(t)]
            for r in range(t)
        ]
        piped = [s.reg(v, f"d2_{i}") for i, v in enumerate(piped)]
        # stage 3: round and saturate (multiply_round of docs/numerics.md, split after the multiply)
        for r in range(t):
            for i in range(t):
                m.d.sync += self.prod[r][i].eq(
                    round_product(full[r][i], w_frac=c.w_frac, act_bits=c.act_bits)
                )
        m.d.sync += [out.eq(v) for v, (_, out) in zip(piped, side, strict=True)]
        return m


class NFU2(wiring.Component):
    """NFU-2: ``tn`` exact adder trees and the accumulator (partial sums), or pooling lanes.

    Latency 3 cycles (:attr:`latency`): half of the tree levels, the rest of the tree, the
    accumulator register ``acc``. Per lane ``r`` and step:

    * ``MAC``: ``acc = sat_add(base, sum_c prod[r][c])`` with ``base`` = ``acc`` or, on an
      output's first step, ``psum[r]`` (``nbout_read``) or 0;
    * ``SUM``: the same with ``x[r]`` instead of the tree (average pooling);
    * ``MAX``: ``acc = x[r]`` on the first step, else ``max(acc, x[r])`` (max pooling).

    ``NFU1Op.BYPASS`` selects ``x`` in ``SUM``/``MAX``; ``MAC`` uses the products. ``psum`` and
    ``x`` arrive with the step's products. ``out_recip[r]`` is ``out_ctl.avg_recip``, one register
    copy per lane (NFU-3's per-lane average multipliers read their own copy).
    """

    latency = 3

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
                "out_recip": Out(data.ArrayLayout(unsigned(AVG_RECIP_BITS), t)),
                "acc": Out(_lanes(config.acc_bits, t)),
                **({"mask": Out(t)} if config.weight_update else {}),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        c = self.config
        s = _Stages(m, "nfu2")
        levels = max(0, (c.tn - 1).bit_length())
        # stage 4: the first half of the tree levels (registered inside the trees); stage 5: the
        # rest of the tree (combinational), then the value to accumulate per lane
        trees = []
        for r in range(c.tn):
            m.submodules[f"tree{r}"] = tree = AdderTree(
                c.tn, act_bits=c.act_bits, registered_levels=((levels + 1) // 2,)
            )
            m.d.comb += tree.inputs.eq(self.prod[r])
            trees.append(tree)
        valid4, ctl4, x4, psum4 = (
            s.reg(v, n)
            for v, n in ((self.valid, "v4"), (self.ctl, "c4"), (self.x, "x4"), (self.psum, "s4"))
        )
        # the control bits the lanes select with, one register copy per lane (replicas: one
        # register driving every lane's multiplexers across the device was slow)
        op4 = [replica(2, f"nfu2_op4_{r}") for r in range(c.tn)]
        m.d.sync += [op.eq(self.ctl.nfu2_op) for op in op4]
        values = [
            s.reg(Mux(op4[r] == NFU2Op.MAC, trees[r].result, x4[r]), f"val{r}") for r in range(c.tn)
        ]
        valid5, ctl5, x5, psum5 = (
            s.reg(v, n) for v, n in ((valid4, "v5"), (ctl4, "c5"), (x4, "x5"), (psum4, "s5"))
        )
        lane5 = [replica(5, f"nfu2_c5_{r}") for r in range(c.tn)]
        m.d.sync += [ln.eq(Cat(valid4, ctl4.first, ctl4.nbout_read, ctl4.nfu2_op)) for ln in lane5]
        # stage 6: the accumulator (with weight_update: a drelu output starts from 0 and keeps
        # its NBout word's signs as the mask, beside the accumulator)
        for r in range(c.tn):
            v5, first5, read5, op5 = lane5[r][0], lane5[r][1], lane5[r][2], lane5[r][3:5]
            if c.weight_update:
                with m.If(v5 & first5):
                    m.d.sync += self.mask[r].eq(psum5[r] > 0)
                read5 = read5 & ~ctl5.drelu
            base = Mux(first5, Mux(read5, psum5[r], 0), self.acc[r])
            added = sat_add(base, values[r], acc_bits=c.acc_bits)
            xr = x5[r]
            maxed = Mux(first5 | (xr > self.acc[r]), xr, self.acc[r])
            with m.If(v5):
                m.d.sync += self.acc[r].eq(Mux(op5 == NFU2Op.MAX, maxed, added))
        m.d.sync += [self.out_valid.eq(valid5), self.out_ctl.eq(ctl5)]
        for r in range(c.tn):
            copy = replica(unsigned(AVG_RECIP_BITS), f"nfu2_recip{r}")
            m.d.sync += copy.eq(ctl5.avg_recip)
            m.d.comb += self.out_recip[r].eq(copy)
        return m


class NFU3(wiring.Component):
    """NFU-3: output stage. Latency 7 cycles (:attr:`latency`); outputs only ``ctl.last`` steps.

    ``PARTIAL`` outputs the raw accumulators (``acc_bits``); otherwise ``y = sat(act_bits, acc)``
    then ``NONE`` / ``RELU`` (``max(0, y)``) / ``PWL`` (the loaded table, as
    :func:`accelgen.golden.pwl.evaluate`), or ``AVG``: ``sat(act_bits, (acc * avg_recip + 2**15)
    >> 16)``, with ``avg_recip`` taken from ``recip[r]`` (the same value as ``ctl.avg_recip``, one
    copy per lane from NFU-2). Results are sign-extended to ``acc_bits`` lanes (the NBout word
    format).

    The PWL is the shared block of :mod:`accelgen.hdl.common.pwl`: one
    :class:`~accelgen.hdl.common.pwl.PWLRange` and one
    :class:`~accelgen.hdl.common.pwl.PWLLane` per output lane (stages 8-12, each lane with its
    own LUT-RAM copy of the slopes and intercepts). The table is written through ``pwl``
    (addresses of :mod:`accelgen.spec.pwl`); write it only while idle (the range reaches the
    lanes two cycles after the write: the upper end is registered one cycle after it, and each
    lane has its own copy of the range registers, one cycle later). The tables keep their
    contents across a reset.
    """

    latency = 7

    def __init__(self, config: DianNaoConfig) -> None:
        self.config = config
        t = config.tn
        super().__init__(
            {
                "valid": In(1),
                "ctl": In(ctl_layout(config)),
                "recip": In(data.ArrayLayout(unsigned(AVG_RECIP_BITS), t)),
                "acc": In(_lanes(config.acc_bits, t)),
                **({"mask": In(t)} if config.weight_update else {}),
                **_nbout_outputs(config),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        c = self.config
        kw = dict(
            act_bits=c.act_bits, segments=c.pwl_segments, data_shape=self.pwl.signature.data_shape
        )
        m.submodules.pwl_range = rng = PWLRange(**kw)
        wiring.connect(m, wiring.flipped(self.pwl), rng.wr)
        lanes = []
        for r in range(c.tn):
            m.submodules[f"pwl{r}"] = lane = PWLLane(act_frac=c.act_frac, **kw)
            wiring.connect(m, wiring.flipped(self.pwl), lane.wr)
            # the range registers, one copy per lane (replicas: the shared registers driving
            # all lanes' clamps were the critical path), one cycle behind the range's
            x_min = replica(rng.x_min.shape(), f"nfu3_x_min{r}")
            seg_shift = replica(rng.seg_shift.shape(), f"nfu3_seg_shift{r}")
            x_hi = replica(rng.x_hi.shape(), f"nfu3_x_hi{r}")
            m.d.sync += [x_min.eq(rng.x_min), seg_shift.eq(rng.seg_shift), x_hi.eq(rng.x_hi)]
            m.d.comb += [
                lane.x_min.eq(x_min),
                lane.seg_shift.eq(seg_shift),
                lane.x_hi.eq(x_hi),
            ]
            lanes.append(lane)
        assert PWLLane.latency == 5  # stages 8..12 below

        st = _Stages(m, "nfu3")
        ctl = [self.ctl]
        valid = [self.valid]
        for k in range(1, self.latency):
            ctl.append(st.reg(ctl[-1], f"c{k}"))
            valid.append(st.reg(valid[-1], f"v{k}"))
        for r in range(c.tn):
            acc = self.acc[r]
            # stage 7: saturate; the average-pooling product as two partial products (acc =
            # hi * 2**AVG_SPLIT + lo, each product fits one 18x18 DSP multiplier)
            y1 = st.reg(sat(acc, c.act_bits), f"y{r}")
            recip = self.recip[r]  # = ctl.avg_recip, this lane's copy
            lo1 = st.reg(acc[:AVG_SPLIT] * recip, f"avglo{r}")
            hi1 = st.reg(acc[AVG_SPLIT:].as_signed() * recip, f"avghi{r}")
            acc1 = st.reg(acc, f"acc1_{r}")
            # stages 8-12: the PWL lane (clamp, segment, look-up, multiply, round + intercept)
            m.d.comb += lanes[r].x.eq(y1)
            # stage 8: ReLU; the average-pooling product
            relu2 = st.reg(Mux(y1 < 0, 0, y1), f"relu{r}")
            avgp2 = st.reg((hi1 << AVG_SPLIT) + lo1, f"avgp{r}")
            y2, acc2 = st.reg(y1, f"y2_{r}"), st.reg(acc1, f"acc2_{r}")
            # stage 9: the rounded, saturated average
            avg3 = st.reg(sat(round_shift(avgp2, 16), c.act_bits), f"avg{r}")
            y_, relu_, acc_ = y2, relu2, acc2
            for k in (3, 4, 5, 6):
                y_, relu_, acc_ = (
                    st.reg(v, f"p{k}_{r}_{n}")
                    for v, n in ((y_, "y"), (relu_, "relu"), (acc_, "acc"))
                )
            avg_ = avg3
            for k in (4, 5, 6):
                avg_ = st.reg(avg_, f"p{k}_{r}_avg")
            # stage 13: saturate (the lane's y), select (with this lane's copy of the op bits)
            ops = replica(3, f"nfu3_op6_{r}")
            m.d.sync += ops.eq(Cat(ctl[5].nfu3_op, ctl[5].nfu2_out))
            final = Signal(signed(c.act_bits), name=f"final{r}")
            with m.Switch(ops[:2]):
                with m.Case(NFU3Op.NONE):
                    m.d.comb += final.eq(y_)
                with m.Case(NFU3Op.RELU):
                    m.d.comb += final.eq(relu_)
                with m.Case(NFU3Op.PWL):
                    m.d.comb += final.eq(lanes[r].y)
                with m.Case(NFU3Op.AVG):
                    m.d.comb += final.eq(avg_)
            if c.weight_update:  # drelu: 0 where the mask is clear (stages 7-12 carry it)
                mask_ = self.mask[r]
                for k in range(1, 7):
                    mask_ = st.reg(mask_, f"mask{k}_{r}")
                drelu = st.reg(ctl[5].drelu, f"drelu6_{r}")
                final = Mux(drelu & ~mask_, 0, final)
            m.d.sync += self.out_data[r].eq(Mux(ops[2] == NFU2Out.PARTIAL, acc_, final))
        m.d.sync += [
            self.out_valid.eq(valid[6] & ctl[6].last),
            self.out_addr.eq(ctl[6].addr),
        ]
        return m


class NFU(wiring.Component):
    """NFU-1 -> NFU-2 -> NFU-3. Inputs: one step (``valid``, ``ctl``, ``x``, ``w``, ``psum``);
    outputs: NBout writes (``out_valid``, ``out_addr``, ``out_data``) :attr:`latency` (14)
    cycles later.

    ``nfu1_op`` is informational in the datapath (``BYPASS`` steps use NFU-2 ``SUM``/``MAX``,
    which read the bypassed inputs): the multipliers always run.
    """

    latency = NFU1.latency + NFU2.latency + NFU3.latency

    def __init__(self, config: DianNaoConfig) -> None:
        self.config = config
        super().__init__({**_step_inputs(config), **_nbout_outputs(config)})

    def elaborate(self, platform) -> Module:
        m = Module()
        c = self.config
        m.submodules.nfu1 = n1 = NFU1(c)
        m.submodules.nfu2 = n2 = NFU2(c)
        m.submodules.nfu3 = n3 = NFU3(c)
        wiring.connect(m, wiring.flipped(self.pwl), n3.pwl)
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
            n3.recip.eq(n2.out_recip),
            n3.acc.eq(n2.acc),
            *([n3.mask.eq(n2.mask)] if c.weight_update else []),
            self.out_valid.eq(n3.out_valid),
            self.out_addr.eq(n3.out_addr),
            self.out_data.eq(n3.out_data),
        ]
        return m
