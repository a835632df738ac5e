"""cocotb side of :func:`accelgen.sim.train.run_update`: drive the weight-update unit
(:mod:`accelgen.hdl.diannao.update`) beat by beat and record ``w_out`` (one column per lane) and
the LFSR register after every beat."""

from __future__ import annotations

import cocotb
import numpy as np

from .tb import drive_vectors, load_io, save_outputs, start, to_signed


@cocotb.test()
async def update_beats(dut):
    inputs, params = load_io()
    for name in inputs:
        getattr(dut, name).value = 0
    await start(dut)
    got = await drive_vectors(dut, inputs, ["w_out", "lfsr_state"])
    lanes, bits = int(params["lanes"]), int(params["w_bits"])
    mask = (1 << bits) - 1
    w = [[to_signed((v >> (bits * k)) & mask, bits) for k in range(lanes)] for v in got["w_out"]]
    save_outputs(
        w_out=np.asarray(w, dtype=np.int64).reshape(-1, lanes),
        lfsr_state=np.asarray(got["lfsr_state"], dtype=np.uint64),
    )
