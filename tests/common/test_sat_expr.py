"""``hdl.common.arith.sat``: the sign-bit range check equals the clamp rule of docs/numerics.md.

Exhaustive over every input value of small signed and unsigned shapes (Amaranth's simulator),
including the shapes narrower than, equal to and wider than the result.
"""

from __future__ import annotations

import pytest
from amaranth.hdl import Module, Signal, signed, unsigned
from amaranth.sim import Simulator

from accelgen.golden.arith import sat as golden_sat
from accelgen.hdl.common.arith import sat


@pytest.mark.parametrize(
    "shape, bits",
    [
        (signed(9), 8),
        (signed(12), 5),
        (signed(5), 5),
        (signed(3), 6),
        (signed(2), 2),
        (unsigned(9), 8),
        (unsigned(8), 8),
        (unsigned(7), 8),
        (unsigned(1), 2),
    ],
)
def test_sat_matches_golden_for_every_value(shape, bits):
    m = Module()
    a, out = Signal(shape), Signal(signed(bits))
    m.d.comb += out.eq(sat(a, bits))
    width = shape.width
    lo, hi = (
        (-(1 << (width - 1)), (1 << (width - 1)) - 1) if shape.signed else (0, (1 << width) - 1)
    )
    wrong: list[tuple[int, int]] = []

    async def bench(ctx):
        for v in range(lo, hi + 1):
            ctx.set(a, v)
            if ctx.get(out) != int(golden_sat(bits, v)):
                wrong.append((v, ctx.get(out)))

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
    assert not wrong, f"sat({shape}, {bits}) differs at (value, got): {wrong[:5]}"
