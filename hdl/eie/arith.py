"""Arithmetic unit: codebook decode, multiply, saturating accumulate with bypass (EIE Fig. 4)."""

from __future__ import annotations

from amaranth.hdl import Array, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..common.arith import multiply_round, sat_add

__all__ = ["ArithUnit"]


class ArithUnit(wiring.Component):
    """Accumulates ``multiply(act, codebook[v])`` into the destination register of the entry's row.

    Two stages (**latency 2 cycles** from ``e_*`` to the register-file write):

    1. *decode*: ``row = z`` for the first entry of a column, else ``previous row + z + 1``
       (``eie_format``); ``w = codebook[v]``; the destination register ``row`` is read.
    2. *accumulate*: ``sum = sat(acc_bits, acc + sat(act_bits, round(act * w >> w_frac)))``
       (:mod:`accelgen.hdl.common.arith`), written back to ``row``. When the previous cycle
       wrote the same row (the last entry of a column and the first of the next one can hit the
       same accumulator back to back) the register-file read is stale: the **bypass** uses the
       value just written instead.

    Entries with ``v == 0`` (padding, ``codebook[0] == 0``) only advance the row; nothing is
    written.

    Members
    -------
    e_valid, e_act, e_v, e_z, e_first : In
        Entry stream from :class:`~accelgen.hdl.eie.spmat.SpMatReader`.
    codebook : In(signed(w_bits)).array(16)
        The current layer's shared weights.
    rd_addr, rd_en : Out; rd_data : In
        Destination register-file read port (synchronous, 1 cycle).
    wr_addr, wr_data, wr_en : Out
        Destination register-file write port.
    busy : Out(1)
        The accumulate stage holds an entry.
    bypass : Out(1)
        The bypass is used this cycle.
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
                "bypass": Out(1),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        rf_bits = len(self.rd_addr)
        # stage 1: decode
        prev_row = Signal(rf_bits)
        row = Signal(rf_bits)
        m.d.comb += [
            row.eq(Mux(self.e_first, self.e_z, prev_row + self.e_z + 1)),
            self.rd_addr.eq(row),
            self.rd_en.eq(self.e_valid),
        ]
        with m.If(self.e_valid):
            m.d.sync += prev_row.eq(row)
        valid = Signal()
        m_row = Signal(rf_bits)
        m_act = Signal.like(self.e_act)
        m_w = Signal.like(self.codebook[0])
        m.d.sync += [
            valid.eq(self.e_valid & (self.e_v != 0)),
            m_row.eq(row),
            m_act.eq(self.e_act),
            m_w.eq(Array(self.codebook)[self.e_v]),
        ]
        # stage 2: multiply and accumulate, with the bypass for a back-to-back row
        last_valid = Signal()
        last_row = Signal(rf_bits)
        last_sum = Signal(signed(self.acc_bits))
        acc = Signal(signed(self.acc_bits))
        total = Signal(signed(self.acc_bits))
        m.d.comb += [
            self.bypass.eq(valid & last_valid & (last_row == m_row)),
            acc.eq(Mux(self.bypass, last_sum, self.rd_data)),
            total.eq(
                sat_add(
                    acc,
                    multiply_round(m_act, m_w, w_frac=self.w_frac, act_bits=self.act_bits),
                    acc_bits=self.acc_bits,
                )
            ),
            self.wr_addr.eq(m_row),
            self.wr_data.eq(total),
            self.wr_en.eq(valid),
            self.busy.eq(valid),
        ]
        m.d.sync += [last_valid.eq(valid), last_row.eq(m_row), last_sum.eq(total)]
        return m
