"""Arithmetic unit: codebook decode, multiply, saturating accumulate with bypass (EIE Fig. 4)."""

from __future__ import annotations

from amaranth.hdl import Array, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..common.arith import round_shift, sat, sat_add

__all__ = ["ARITH_LATENCY", "ArithUnit"]

#: Cycles from an entry on ``e_*`` to its register-file write (decode, multiply, round,
#: accumulate).
ARITH_LATENCY = 4


class ArithUnit(wiring.Component):
    """Accumulates ``multiply(act, codebook[v])`` into the destination register of the entry's row.

    Four stages (**latency 4 cycles** from ``e_*`` to the register-file write, one entry per
    cycle):

    1. *decode*: ``row = z`` for the first entry of a column, else ``previous row + z + 1``
       (``eie_format``); ``w = codebook[v]``; both registered.
    2. *multiply*: the raw product ``act * w``, registered; the destination register ``row``
       is read (synchronous read, data out of the register file in stage 3).
    3. *round*: ``p = sat(act_bits, round(product >> w_frac))`` (the rounding and saturation of
       :func:`~accelgen.hdl.common.arith.multiply_round`), registered together with the
       register-file read data (or the bypassed sum, below) and the bypass select.
    4. *accumulate*: ``sum = sat(acc_bits, acc + p)``
       (:func:`~accelgen.hdl.common.arith.sat_add`), written back to ``row``.

    Read-after-write hazards: an entry's register is read at the end of stage 2 and the read
    port is not transparent, so the writes of the two entries ahead of it (in stage 4 while it
    is in stage 2 and in stage 3) are not in the data read. A write three or more cycles
    earlier is. The **bypass** covers both distances:

    * *distance 2* (the entry two ahead wrote the row in the cycle of the read): in stage 3
      the row is compared with the last written row, and the registered operand is that sum
      (``last_sum``) instead of the register-file data;
    * *distance 1* (the entry just ahead writes the row in this entry's stage 3): also
      compared in stage 3, registered as a select; in stage 4 the operand is the sum written
      in the previous cycle. Distance 1 wins over distance 2 (it is the newer value).

    The recurrence of stage 4 is a 2:1 mux with a registered select in front of the saturating
    add. Entries with ``v == 0`` (padding, ``codebook[0] == 0``) only advance the row; nothing
    is written.

    Members
    -------
    e_valid, e_act, e_v, e_z, e_first : In
        Entry stream from :class:`~accelgen.hdl.eie.spmat.SpMatReader`.
    codebook : In(signed(w_bits)).array(16)
        The current layer's shared weights.
    rd_addr, rd_en : Out; rd_data : In
        Destination register-file read port (synchronous, 1 cycle, not transparent).
    wr_addr, wr_data, wr_en : Out
        Destination register-file write port.
    busy : Out(1)
        A stage after decode holds an entry that writes.
    bypass1, bypass2 : Out(1)
        The accumulate stage uses the distance-1 / distance-2 bypass this cycle (at most one).
    """

    def __init__(
        self, *, rf_bits: int, act_bits: int, w_bits: int, w_frac: int, acc_bits: int
    ) -> None:
        self.w_frac = w_frac
        self.act_bits = act_bits
        self.acc_bits = acc_bits
        super().__init__(
            {
                "e_valid": In(1),
                "e_act": In(signed(act_bits)),
                "e_v": In(4),
                "e_z": In(4),
                "e_first": In(1),
                "codebook": In(signed(w_bits)).array(16),
                "rd_addr": Out(rf_bits),
                "rd_en": Out(1),
                "rd_data": In(signed(acc_bits)),
                "wr_addr": Out(rf_bits),
                "wr_data": Out(signed(acc_bits)),
                "wr_en": Out(1),
                "busy": Out(1),
                "bypass1": Out(1),
                "bypass2": Out(1),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        rf_bits = len(self.rd_addr)
        # stage 1: decode
        prev_row = Signal(rf_bits)
        row = Signal(rf_bits)
        m.d.comb += row.eq(Mux(self.e_first, self.e_z, prev_row + self.e_z + 1))
        with m.If(self.e_valid):
            m.d.sync += prev_row.eq(row)
        d_valid = Signal()
        d_row = Signal(rf_bits)
        d_act = Signal.like(self.e_act)
        d_w = Signal.like(self.codebook[0])
        m.d.sync += [
            d_valid.eq(self.e_valid & (self.e_v != 0)),
            d_row.eq(row),
            d_act.eq(self.e_act),
            d_w.eq(Array(self.codebook)[self.e_v]),
        ]
        # stage 2: raw product; read the destination register
        m_valid = Signal()
        m_row = Signal(rf_bits)
        m_prod = Signal(signed(len(d_act) + len(d_w)))
        m.d.comb += [self.rd_addr.eq(d_row), self.rd_en.eq(d_valid)]
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
        last_valid = Signal()
        last_row = Signal(rf_bits)
        last_sum = Signal(signed(self.acc_bits))
        hit1 = Signal()
        hit2 = Signal()
        m.d.comb += [
            hit1.eq(m_valid & p_valid & (p_row == m_row)),
            hit2.eq(m_valid & last_valid & (last_row == m_row)),
        ]
        m.d.sync += [
            p_valid.eq(m_valid),
            p_row.eq(m_row),
            p_prod.eq(sat(round_shift(m_prod, self.w_frac), self.act_bits)),
            p_base.eq(Mux(hit2, last_sum, self.rd_data)),
            p_by1.eq(hit1),
            p_by2.eq(hit2 & ~hit1),
        ]
        # stage 4: accumulate and write
        acc = Signal(signed(self.acc_bits))
        total = Signal(signed(self.acc_bits))
        m.d.comb += [
            acc.eq(Mux(p_by1, last_sum, p_base)),
            total.eq(sat_add(acc, p_prod, acc_bits=self.acc_bits)),
            self.wr_addr.eq(p_row),
            self.wr_data.eq(total),
            self.wr_en.eq(p_valid),
            self.bypass1.eq(p_by1),
            self.bypass2.eq(p_by2),
            self.busy.eq(d_valid | m_valid | p_valid),
        ]
        m.d.sync += [last_valid.eq(p_valid), last_row.eq(p_row), last_sum.eq(total)]
        return m
