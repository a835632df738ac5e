"""cocotb side of the arithmetic block tests: drive per-cycle input vectors, record outputs.

Inputs: one array per input port (2-D for array ports, one column per lane) and optionally
``repeat`` (cycles to hold each vector). Params: ``outputs`` (ports to sample) and ``signed``
(those read as two's complement). The golden comparison happens on the pytest side.
"""

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge

from accelgen.sim.tb import CLOCK_PERIOD_NS, drive_vectors, load_io, save_outputs


@cocotb.test()
async def vectors(dut):
    inputs, params = load_io()
    repeat = inputs.pop("repeat", None)
    for name in inputs:
        getattr(dut, name).value = 0  # no X enters the pipelines while reset is released
    # As accelgen.sim.tb.start, but with cocotb's C clock: the Python clock costs a wake-up per
    # half period, which would dominate the long saturation runs (~10x slower).
    cocotb.start_soon(Clock(dut.clk, CLOCK_PERIOD_NS, unit="ns", impl="gpi").start())
    dut.rst.value = 1
    await ClockCycles(dut.clk, 2)
    dut.rst.value = 0
    await RisingEdge(dut.clk)
    outputs = await drive_vectors(
        dut, inputs, params["outputs"], repeat=repeat, signed=params["signed"]
    )
    save_outputs(**outputs)
