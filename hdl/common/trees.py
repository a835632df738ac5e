"""Pipelined reduction trees of the DianNao NFU-2: an exact adder tree and a signed max tree."""

from __future__ import annotations

from collections.abc import Sequence

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import exact_log2

from accelgen.spec.config import is_pow2, require

__all__ = ["AdderTree", "MaxTree"]


class _ReductionTree(wiring.Component):
    """A binary tree of a two-input operator over ``tn`` signed inputs, registered every
    ``register_every`` levels and always at its output, or after the levels listed in
    ``registered_levels`` (0 = the inputs, ``log2(tn)`` = the result; without it ``result`` is
    combinational: NFU-2 registers half of the levels and adds its own output stage).
    Subclasses define :meth:`_combine` and :meth:`_result_bits`."""

    def __init__(
        self,
        tn: int,
        *,
        act_bits: int = 16,
        register_every: int = 1,
        registered_levels: Sequence[int] | None = None,
    ) -> None:
        require(
            type(tn) is int and is_pow2(tn), f"tn must be a power of two (1, 2, 4, ...), got {tn!r}"
        )
        require(
            type(act_bits) is int and 2 <= act_bits <= 32,
            f"act_bits must be an integer in 2..32, got {act_bits!r}",
        )
        require(
            type(register_every) is int and register_every >= 1,
            f"register_every must be an integer >= 1, got {register_every!r}",
        )
        self.tn = tn
        self.act_bits = act_bits
        self.register_every = register_every
        self.levels = exact_log2(tn)
        if registered_levels is None:
            registered_levels = {self.levels} | {
                level for level in range(1, self.levels) if level % register_every == 0
            }
        registered_levels = frozenset(registered_levels)
        require(
            all(type(v) is int and 0 <= v <= self.levels for v in registered_levels),
            f"registered_levels must be levels in 0..{self.levels}, "
            f"got {sorted(registered_levels)!r}",
        )
        self.registered_levels = registered_levels
        super().__init__(
            {
                "inputs": In(data.ArrayLayout(signed(act_bits), tn)),
                "in_valid": In(1),
                "result": Out(signed(self._result_bits())),
                "out_valid": Out(1),
            }
        )

    def _result_bits(self) -> int:
        raise NotImplementedError

    def _combine(self, a, b):
        raise NotImplementedError

    @property
    def latency(self) -> int:
        """Cycles from ``inputs``/``in_valid`` to ``result``/``out_valid`` (0: combinational)."""
        return len(self.registered_levels)

    def elaborate(self, platform) -> Module:
        m = Module()
        nodes = [self.inputs[i] for i in range(self.tn)]
        valid = self.in_valid
        for level in range(self.levels + 1):
            if level:
                nodes = [self._combine(a, b) for a, b in zip(nodes[0::2], nodes[1::2], strict=True)]
            if level == self.levels:
                break
            if level in self.registered_levels:
                regs = [Signal.like(v, name=f"l{level}_n{i}") for i, v in enumerate(nodes)]
                valid_reg = Signal(name=f"l{level}_valid")
                m.d.sync += [r.eq(v) for r, v in zip(regs, nodes, strict=True)]
                m.d.sync += valid_reg.eq(valid)
                nodes, valid = regs, valid_reg
        domain = m.d.sync if self.levels in self.registered_levels else m.d.comb
        domain += [self.result.eq(nodes[0]), self.out_valid.eq(valid)]
        return m


class AdderTree(_ReductionTree):
    """Exact sum of ``tn`` signed inputs (``docs/numerics.md``: the NFU-2 tree never overflows).

    Each level is one bit wider than the one below, so ``result`` has ``act_bits + log2(tn)``
    bits and equals :func:`accelgen.golden.arith.adder_tree` of the inputs.

    Latency: **ceil(log2(tn) / register_every) cycles** (1 when ``tn == 1``): a pipeline register
    after every ``register_every``-th level and always after the last one (or one per entry of
    ``registered_levels``). A new input set can be
    presented every cycle; ``result`` is meaningful when ``out_valid``.

    Parameters
    ----------
    tn : int
        Number of inputs, a power of two.
    act_bits : int
        Width of each signed input, 2..32. Default 16.
    register_every : int
        Levels per pipeline stage, >= 1. Default 1 (a register per level).
    registered_levels : sequence of int, optional
        Instead of ``register_every``: the levels (0 = the inputs .. log2(tn) = the result)
        followed by a register; the latency is their number.

    Members
    -------
    inputs : In(ArrayLayout(signed(act_bits), tn))
        The operands (input 0 at the least significant bits of the Verilog port).
    in_valid : In(1)
        Qualifies ``inputs``; travels down the pipeline with them.
    result : Out(signed(act_bits + log2(tn)))
        Registered exact sum.
    out_valid : Out(1)
        ``in_valid`` delayed by the latency.
    """

    def _result_bits(self) -> int:
        return self.act_bits + exact_log2(self.tn)

    def _combine(self, a, b):
        return a + b


class MaxTree(_ReductionTree):
    """Signed maximum of ``tn`` inputs (max pooling), equal to
    :func:`accelgen.golden.arith.max_tree`.

    Latency: **ceil(log2(tn) / register_every) cycles** (1 when ``tn == 1``), as
    :class:`AdderTree`.

    Parameters
    ----------
    tn : int
        Number of inputs, a power of two.
    act_bits : int
        Width of each signed input, 2..32. Default 16.
    register_every : int
        Levels per pipeline stage, >= 1. Default 1 (a register per level).
    registered_levels : sequence of int, optional
        Instead of ``register_every``: the levels (0 = the inputs .. log2(tn) = the result)
        followed by a register; the latency is their number.

    Members
    -------
    inputs : In(ArrayLayout(signed(act_bits), tn))
        The operands (input 0 at the least significant bits of the Verilog port).
    in_valid : In(1)
        Qualifies ``inputs``; travels down the pipeline with them.
    result : Out(signed(act_bits))
        Registered maximum.
    out_valid : Out(1)
        ``in_valid`` delayed by the latency.
    """

    def _result_bits(self) -> int:
        return self.act_bits

    def _combine(self, a, b):
        return Mux(a > b, a, b)
