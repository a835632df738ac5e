"""cocotb side of :func:`accelgen.sim.train.run_tiles`: host tiles (weight-update programs,
backward products with the ReLU derivative) on ``diannao_top`` built with ``weight_update``.

For every packed tile ``k``: load the LFSR state ``seeds[k]`` if it is not ``None`` (host target
``Sel.LFSR``), write the tile's NBin / SB / NBout words and its program, run it, then read the
NBout words ``t<k>_nbout_read`` and the SB rows ``t<k>_read`` back and the LFSR state. Saved:
``t<k>_nbout`` and ``t<k>_sb`` (``[n, tn]``), ``t<k>_stats`` (cycles, nfu_busy, stalls) and
``lfsr`` (the state after every tile).
"""

from __future__ import annotations

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge, ReadOnly

from ..spec.diannao import DianNaoConfig, HostTile, Instruction, Sel
from .diannao_host import DianNaoHost
from .tb import load_io, save_outputs, start


@cocotb.test()
async def run_updates(dut):
    arrays, params = load_io()
    config = DianNaoConfig.from_json(params["config"])
    await start(dut)
    await FallingEdge(dut.clk)
    host = DianNaoHost(dut, config)
    out: dict[str, np.ndarray] = {}
    states = []
    for k, (program, seed) in enumerate(zip(params["programs"], params["seeds"], strict=True)):
        if seed is not None:
            await host.write(Sel.LFSR, [(0, int(seed))])
        tile = HostTile(
            [Instruction(**d) for d in program],
            *(arrays[f"t{k}_{n}"] for n in ("nbin_addr", "nbin_data", "sb_addr", "sb_data")),
            *(arrays[f"t{k}_{n}"] for n in ("nbout_addr", "nbout_data")),
            np.zeros(0, dtype=np.int64),
            np.zeros((0, config.tn), dtype=np.int64),
        )
        await host.load(tile)
        out[f"t{k}_stats"] = np.asarray(await host.run(tile.steps), dtype=np.int64)
        out[f"t{k}_nbout"] = await host.read(arrays[f"t{k}_nbout_read"].tolist())
        out[f"t{k}_sb"] = await host.read_sb(arrays[f"t{k}_read"].tolist())
        await ReadOnly()
        states.append(int(dut.lfsr_state.value))
        await FallingEdge(dut.clk)
    save_outputs(lfsr=np.asarray(states, dtype=np.uint64), **out)
