"""Arithmetic unit: codebook decode, multiply, saturating accumulate with bypass (EIE Fig. 4).

Built from the shared blocks: the decode is a
:class:`~accelgen.hdl.common.codebook.CodebookDecoder` (reading the codebook held in the top
level), the multiply and accumulate are :func:`~accelgen.hdl.common.arith.round_product` and
:func:`~accelgen.hdl.common.arith.sat_add`. The :class:`~accelgen.hdl.common.mac.MAC` block
itself is not used: its accumulator is a register inside the block, while here the
accumulator operand is a register-file word read two stages ahead with a read-after-write
bypass, and the product is registered before rounding (one more stage than ``MAC`` has).
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..common.arith import round_product, sat, sat_add
from ..common.codebook import CODEBOOK_SIZE, CodebookDecoder
from ..common.ports import HostWriteSignature, ReadPortSignature, entry_stream

__all__ = ["ARITH_LATENCY", "ArithUnit", "finish_value", "sum_is_zero"]

#: Cycles from an entry on ``entries`` to its register-file write (decode, multiply, round,
#: accumulate).
ARITH_LATENCY = 4


def finish_value(value: Value, act_bits: int, relu: Value) -> Value:
    """A layer's output from its accumulator: ``relu?(sat(act_bits, value))`` (signed
    ``act_bits``). Applied where the outputs are read (the CCU, host reads), not written."""
    clamped = sat(value.as_signed(), act_bits)
    return Mux(relu & clamped[-1], Const(0, signed(act_bits)), clamped)


def sum_is_zero(a: Value, b: Value) -> Value:
    """``a + b == 0`` (modulo ``2 ** len(a)``, ``b`` sign-extended) without the adder's carry
    chain: ``a + b == 0`` exactly when ``a ^ b == (a | b) << 1`` (bitwise; a carry leaves
    every position below the highest set bit). It runs beside the accumulate adder, so the
    non-zero tag written with the sum adds no logic after the sum."""
    n = len(a)
    bx = b.as_signed() if not b.shape().signed else b
    bb = Cat(bx, *([bx[-1]] * (n - len(bx)))) if len(bx) < n else bx[:n]
    lhs = a[:n] ^ bb
    rhs = Cat(Const(0, 1), (a[:n] | bb)[: n - 1])
    return lhs == rhs


class ArithUnit(wiring.Component):
    """Accumulates ``multiply(act, codebook[v])`` into the destination register of the entry's row.

    Four stages (**latency 4 cycles** from ``entries`` to the register-file write, one entry per
    cycle):

    1. *decode*: ``row = z`` for the first entry of a column, else ``previous row + z + 1``
       (``eie_format``); ``w = codebook[v]`` (:class:`CodebookDecoder`); both registered.
    2. *multiply*: the raw product ``act * w``, registered; the destination register ``row``
       is read (synchronous read, data out of the register file in stage 3).
    3. *round*: ``p = sat(act_bits, round(product >> w_frac))``
       (:func:`~accelgen.hdl.common.arith.round_product`), registered together with the
       register-file read data (or the bypassed sum, below) and the bypass select.
    4. *accumulate*: ``sum = sat(acc_bits, acc + p)``
       (:func:`~accelgen.hdl.common.arith.sat_add`), written back to ``row``.

    Read-after-write hazards: an entry's register is read at the end of stage 2, the read
    port is not transparent and the register file's writes are registered (they land one
    cycle after stage 4, :class:`~accelgen.hdl.eie.actrw.ActRW`), so the sums of the three
    entries ahead of it (in stage 4 while it is in stages 3, 2 and 1) are not in the data
    read. A sum four or more cycles earlier is. The **bypass** covers the three distances:

    * *distance 3* (the write of the entry three ahead lands in the cycle of the read): in
      stage 3 the row is compared with the row written two cycles earlier, and the registered
      operand is that sum (``last2_sum``) instead of the register-file data;
    * *distance 2* (the entry two ahead was in stage 4 in the cycle of the read): likewise
      with the last written row and ``last_sum``;
    * *distance 1* (the entry just ahead writes the row in this entry's stage 3): also
      compared in stage 3, registered as a select; in stage 4 the operand is the sum written
      in the previous cycle. The nearer distance wins (it is the newer value).

    The recurrence of stage 4 is a 2:1 mux with a registered select in front of the saturating
    add. Entries with ``v == 0`` (padding, ``codebook[0] == 0``) only advance the row; nothing
    is written.

    Members
    -------
    entries : In(entry_stream(act_bits))
        Entry stream from :class:`~accelgen.hdl.eie.spmat.SpMatReader` (always ready).
    codebook : In(signed(w_bits)).array(16)
        The current layer's shared weights (entry 0 is not read: index 0 decodes to 0).
    rd : Out(ReadPortSignature(rf_bits, signed(acc_bits)))
        Destination register-file read port (synchronous, 1 cycle, not transparent).
    wr : Out(HostWriteSignature(rf_bits, signed(acc_bits)))
        Destination register-file write port.
    wr_tag : Out(1)
        Written with the sum: the layer's finished output ``relu?(sat(act_bits, sum))`` is
        non-zero (``sum != 0`` from the operands, :func:`sum_is_zero`, and not negative
        under ``relu``), for the next layer's CCU.
    relu : In(1)
        The current layer's ReLU flag (for ``wr_tag``).
    busy : Out(1)
        The multiply or round stage holds an entry that writes (an entry in the accumulate
        stage is already committed to its file's registered write, so a run can end in that
        cycle).
    bypass1, bypass2, bypass3 : Out(1)
        The accumulate stage uses the distance-1 / -2 / -3 bypass this cycle (at most one).
    """

    def __init__(
        self,
        *,
        rf_bits: int,
        act_bits: int,
        w_bits: int,
        w_frac: int,
        acc_bits: int,
        merge_padding: bool = False,
    ) -> None:
        self.merge_padding = merge_padding
        self.w_frac = w_frac
        self.act_bits = act_bits
        self.w_bits = w_bits
        self.acc_bits = acc_bits
        rf = dict(addr_width=rf_bits, data_shape=signed(acc_bits))
        super().__init__(
            {
                "entries": In(entry_stream(act_bits, merged=merge_padding)),
                "codebook": In(signed(w_bits)).array(CODEBOOK_SIZE),
                "rd": Out(ReadPortSignature(**rf)),
                "wr": Out(HostWriteSignature(**rf)),
                "wr_tag": Out(1),
                "relu": In(1),
                "busy": Out(1),
                "bypass1": Out(1),
                "bypass2": Out(1),
                "bypass3": Out(1),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        rf_bits = len(self.rd.addr)
        e = self.entries.payload
        # stage 1: decode
        prev_row = Signal(rf_bits)
        row = Signal(rf_bits)
        # a merged padding entry (``pad``, z = 15) moves the row 16 further: z + 16 * pad
        z = Cat(e.z, e.pad) if self.merge_padding else e.z
        m.d.comb += row.eq(Mux(e.first, z, prev_row + z + 1))
        with m.If(self.entries.valid):
            m.d.sync += prev_row.eq(row)
        m.submodules.decode = dec = CodebookDecoder(w_bits=self.w_bits, external=True)
        m.d.comb += dec.index.eq(e.v)
        m.d.comb += [t.eq(w) for t, w in zip(dec.table, self.codebook, strict=True)]
        d_valid = Signal()
        d_row = Signal(rf_bits)
        d_act = Signal.like(e.act)
        d_w = dec.weight
        m.d.sync += [
            d_valid.eq(self.entries.valid & (e.v != 0)),
            d_row.eq(row),
            d_act.eq(e.act),
        ]
        # stage 2: raw product; read the destination register
        m_valid = Signal()
        m_row = Signal(rf_bits)
        m_prod = Signal(signed(len(d_act) + len(d_w)))
        m.d.comb += [self.rd.addr.eq(d_row), self.rd.en.eq(d_valid)]
        m.d.sync += [
            m_valid.eq(d_valid),
            m_row.eq(d_row),
            m_prod.eq(d_act * d_w),
        ]
        # stage 3: round and saturate the product; register the accumulator operand (the read
        # data, or the sum written in the cycle of the read) and the distance-1 select
        p_valid = Signal()
        p_row = Signal(rf_bits)
        p_prod = Signal(signed(self.act_bits))
        p_base = Signal(signed(self.acc_bits))
        p_by1 = Signal()
        p_by2 = Signal()
        p_by3 = Signal()
        last_valid = Signal()
        last_row = Signal(rf_bits)
        last_sum = Signal(signed(self.acc_bits))
        last2_valid = Signal()
        last2_row = Signal(rf_bits)
        last2_sum = Signal(signed(self.acc_bits))
        hit1 = Signal()
        hit2 = Signal()
        hit3 = Signal()
        # the bypassed operand (distance 2 before 3) and whether one applies, from registers
        # only: the register file's read data (block RAM, 5.8 ns clock to data on the ECP5,
        # behind the role select) meets a single 2:1 multiplexer before ``p_base``: with both
        # kept as nets of their own, each bit of ``p_base`` is one 5-input function (role
        # select, both files' data, ``use_byp``, ``byp``: a LUT pair and a PFUMX on the ECP5)
        byp = Signal(signed(self.acc_bits), attrs={"keep": 1})
        use_byp = Signal(attrs={"keep": 1})
        m.d.comb += [
            hit1.eq(m_valid & p_valid & (p_row == m_row)),
            hit2.eq(m_valid & last_valid & (last_row == m_row)),
            hit3.eq(m_valid & last2_valid & (last2_row == m_row)),
            byp.eq(Mux(hit2, last_sum, last2_sum)),
            use_byp.eq(hit2 | hit3),
        ]
        m.d.sync += [
            p_valid.eq(m_valid),
            p_row.eq(m_row),
            p_prod.eq(round_product(m_prod, w_frac=self.w_frac, act_bits=self.act_bits)),
            p_base.eq(Mux(use_byp, byp, self.rd.data)),
            p_by1.eq(hit1),
            p_by2.eq(hit2 & ~hit1),
            p_by3.eq(hit3 & ~hit2 & ~hit1),
        ]
        # stage 4: accumulate and write
        acc = Signal(signed(self.acc_bits))
        total = Signal(signed(self.acc_bits))
        m.d.comb += [
            acc.eq(Mux(p_by1, last_sum, p_base)),
            total.eq(sat_add(acc, p_prod, acc_bits=self.acc_bits)),
            self.wr.addr.eq(p_row),
            self.wr.data.eq(total),
            self.wr.en.eq(p_valid),
            self.wr_tag.eq(~sum_is_zero(acc, p_prod) & ~(self.relu & total[-1])),
            self.bypass1.eq(p_by1),
            self.bypass2.eq(p_by2),
            self.bypass3.eq(p_by3),
            # the entry in the accumulate stage is written from this cycle on (ActRW registers
            # it into the file that has the destination role now): the run may end (and the
            # register files swap) in that cycle
            self.busy.eq(d_valid | m_valid),
        ]
        m.d.sync += [last_valid.eq(p_valid), last_row.eq(p_row), last_sum.eq(total)]
        m.d.sync += [last2_valid.eq(last_valid), last2_row.eq(last_row), last2_sum.eq(last_sum)]
        return m
