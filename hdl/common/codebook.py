"""EIE weight decoder: a 4-bit index looked up in a run-time-loadable 16-entry codebook."""

from __future__ import annotations

from collections.abc import Sequence

from amaranth.hdl import Array, Const, Module, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from accelgen.spec.config import require

from .arith import smax, smin
from .ports import HostWriteSignature

__all__ = ["CODEBOOK_SIZE", "INDEX_BITS", "CodebookDecoder"]

CODEBOOK_SIZE = 16
INDEX_BITS = 4


class CodebookDecoder(wiring.Component):
    """Decode a 4-bit weight index to a signed ``w_bits`` weight through a 16-entry codebook.

    The codebook is held in registers and can be rewritten at run time through the write port
    ``wr``, or (``external=True``) it is held elsewhere and read through the ``table`` input (the
    EIE keeps one codebook per layer in its top level and feeds the current one to every PE's
    arithmetic unit, which decodes with this block). Entry 0 is the pruned/padding weight and is
    hard-wired to 0: writes to address 0 and ``table[0]`` are ignored, so an index of 0 always
    decodes to 0 (``docs/numerics.md``). The golden model is
    :func:`accelgen.golden.arith.codebook_decode`.

    Latency: **1 cycle**. ``weight``/``out_valid`` show the decode of the ``index``/``in_valid``
    presented before the previous rising clock edge. A write takes effect at the clock edge that
    samples it, so a lookup presented in the same cycle still sees the old entry. Reset restores
    ``codebook`` (or all zeros).

    Parameters
    ----------
    w_bits : int
        Width of a weight (signed, two's complement), 2..32. Default 16.
    codebook : sequence of 16 int, optional
        Initial (and reset) contents; entry 0 must be 0 and every entry must fit ``w_bits``.
    external : bool
        Read the entries from ``table`` instead of holding them (no ``wr`` port). Default False.

    Members
    -------
    index : In(4)
        Codebook index to decode.
    in_valid : In(1)
        Qualifies ``index``; delayed alongside it to ``out_valid``.
    wr : In(HostWriteSignature(4, signed(w_bits)))
        Codebook write port (entry ``wr.addr``; address 0 is ignored). Not with ``external``.
    table : In(signed(w_bits)).array(16)
        Only with ``external``: the entries.
    weight : Out(signed(w_bits))
        Registered decoded weight.
    out_valid : Out(1)
        ``in_valid`` delayed by the latency.
    """

    def __init__(
        self, *, w_bits: int = 16, codebook: Sequence[int] | None = None, external: bool = False
    ) -> None:
        require(
            type(w_bits) is int and 2 <= w_bits <= 32,
            f"w_bits must be an integer in 2..32, got {w_bits!r}",
        )
        if codebook is None:
            codebook = (0,) * CODEBOOK_SIZE
        codebook = tuple(codebook)
        if len(codebook) != CODEBOOK_SIZE:
            raise ValueError(
                f"codebook must have {CODEBOOK_SIZE} entries, got {len(codebook)}: {codebook!r}"
            )
        for i, v in enumerate(codebook):
            if not smin(w_bits) <= int(v) <= smax(w_bits) or int(v) != v:
                raise ValueError(f"codebook entry {i} is {v!r}, not a signed {w_bits}-bit integer")
        if codebook[0] != 0:
            raise ValueError(f"codebook entry 0 must be 0 (pruned weights), got {codebook[0]!r}")
        self.w_bits = w_bits
        self.codebook = tuple(int(v) for v in codebook)
        self.external = external
        members = {"index": In(INDEX_BITS), "in_valid": In(1)}
        if external:
            members["table"] = In(signed(w_bits)).array(CODEBOOK_SIZE)
        else:
            members["wr"] = In(HostWriteSignature(addr_width=INDEX_BITS, data_shape=signed(w_bits)))
        members.update({"weight": Out(signed(w_bits)), "out_valid": Out(1)})
        super().__init__(members)

    @property
    def latency(self) -> int:
        """Cycles from ``index`` to ``weight``."""
        return 1

    def elaborate(self, platform) -> Module:
        m = Module()
        if self.external:
            entries = list(self.table)[1:]
        else:
            entries = [
                Signal(signed(self.w_bits), init=v, name=f"entry{i}")
                for i, v in enumerate(self.codebook)
                if i != 0
            ]
            with m.If(self.wr.en):
                with m.Switch(self.wr.addr):
                    for i, entry in enumerate(entries, start=1):
                        with m.Case(i):
                            m.d.sync += entry.eq(self.wr.data)
        table = Array([Const(0, signed(self.w_bits)), *entries])
        m.d.sync += [
            self.weight.eq(table[self.index]),
            self.out_valid.eq(self.in_valid),
        ]
        return m
