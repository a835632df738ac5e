"""Arithmetic unit: codebook decode, multiply, saturating accumulate with bypass (EIE Fig. 4)."""

from __future__ import annotations

from amaranth.hdl import Array, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..common.arith import multiply_round, sat_add

__all__ = ["ARITH_LATENCY", "ArithUnit"]

#: Cycles from an entry on ``e_*`` to its register-file write (decode, multiply, accumulate).
ARITH_LATENCY = 3


class ArithUnit(wiring.Component):
    """Accumulates ``multiply(act, codebook[v])`` into the destination register of the entry's row.

    Three stages (**latency 3 cycles** from ``e_*`` to the register-file write, one entry per
    cycle):

    1. *decode*: ``row = z`` for the first entry of a column, else ``previous row + z + 1``
       (``eie_format``); ``w = codebook[v]``; both registered.
    2. *multiply*: ``p = sat(act_bits, round(act * w >> w_frac))``
       (:func:`~accelgen.hdl.common.arith.multiply_round`), registered; the destination
       register ``row`` is read (synchronous read, data in stage 3).
    3. *accumulate*: ``sum = sat(acc_bits, acc + p)``
       (:func:`~accelgen.hdl.common.arith.sat_add`), written back to ``row``.

    Read-after-write hazard: an entry reads its register in stage 2 while the entry ahead of it
    writes in stage 3 in the same cycle; the read port is not transparent, so when both hit the
    same row (the last entry of a column and the first of the next one can) the read is stale
    and the **bypass** uses the sum written in the previous cycle instead. A write two or more
    cycles before the read is already in the register file; there is no deeper hazard.

    Entries with ``v == 0`` (padding, ``codebook[0] == 0``) only advance the row; nothing is
    written.

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
        The multiply or the accumulate stage holds an entry that writes.
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
        # stage 2: multiply, round, saturate; read the destination register
        p_valid = Signal()
        p_row = Signal(rf_bits)
        p_prod = Signal(signed(self.act_bits))
        m.d.comb += [self.rd_addr.eq(d_row), self.rd_en.eq(d_valid)]
        m.d.sync += [
            p_valid.eq(d_valid),
            p_row.eq(d_row),
            p_prod.eq(multiply_round(d_act, d_w, w_frac=self.w_frac, act_bits=self.act_bits)),
        ]
        # stage 3: accumulate, with the bypass for a row written in the cycle it was read
        last_valid = Signal()
        last_row = Signal(rf_bits)
        last_sum = Signal(signed(self.acc_bits))
        acc = Signal(signed(self.acc_bits))
        total = Signal(signed(self.acc_bits))
        m.d.comb += [
            self.bypass.eq(p_valid & last_valid & (last_row == p_row)),
            acc.eq(Mux(self.bypass, last_sum, self.rd_data)),
            total.eq(sat_add(acc, p_prod, acc_bits=self.acc_bits)),
            self.wr_addr.eq(p_row),
            self.wr_data.eq(total),
            self.wr_en.eq(p_valid),
            self.busy.eq(d_valid | p_valid),
        ]
        m.d.sync += [last_valid.eq(p_valid), last_row.eq(p_row), last_sum.eq(total)]
        return m
