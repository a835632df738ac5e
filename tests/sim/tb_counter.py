"""cocotb side of the harness self-test: an adder with a registered output."""

import cocotb
from cocotb.triggers import ReadOnly, RisingEdge

from accelgen.sim.tb import load_io, save_outputs, start, to_signed


@cocotb.test()
async def add_vectors(dut):
    inputs, params = load_io()
    await start(dut)
    out = []
    for a, b in zip(inputs["a"], inputs["b"], strict=True):
        dut.a.value = int(a) & 0xFF
        dut.b.value = int(b) & 0xFF
        await RisingEdge(dut.clk)
        await ReadOnly()
        out.append(to_signed(int(dut.y.value), params["width"]))
        await RisingEdge(dut.clk)
    save_outputs(y=out, meta={"n": len(out)})
