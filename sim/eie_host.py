"""cocotb host driver of the EIE core (``eie_top``): load networks, run inputs, read results.

Run through :func:`accelgen.sim.runner.run_cocotb` (``test_module="accelgen.sim.eie_host"``);
:func:`accelgen.sim.eie.run_jobs` prepares the inputs. For every job ``i``:

* inputs ``j{i}_waddr``/``j{i}_wdata`` (uint64): the writes that load the network
  (:meth:`accelgen.host.eie.EIEImage.writes`), ``j{i}_x`` int[batch, in];
* params ``jobs[i]``: ``layers``, ``out`` (outputs of the last layer), ``timeout`` (cycles per
  input); top-level params ``n_pes``, ``act_bits``, ``map`` (the memory-map constants),
  ``gap`` (probability of an idle cycle between host writes, 0 for back to back) and ``seed``.

Outputs per job: ``j{i}_y`` [batch, out], ``j{i}_cycles`` [batch], ``j{i}_layer_cycles``
[batch, layers], ``j{i}_busy``/``j{i}_starved`` [batch, layers, n_pes].
"""

from __future__ import annotations

import random

import cocotb
import numpy as np
from cocotb.triggers import ReadOnly, RisingEdge, with_timeout

from accelgen.sim.tb import load_io, save_outputs, start, to_signed

CLOCK_NS = 10


class EIEHost:
    """Drives the host port of ``eie_top``."""

    def __init__(self, dut, *, gap: float = 0.0, seed: int = 0) -> None:
        self.dut = dut
        self.rng = random.Random(seed)
        self.gap = gap
        dut.we.value = 0
        dut.re.value = 0
        dut.start.value = 0
        dut.addr.value = 0
        dut.wdata.value = 0
        dut.raddr.value = 0

    async def write(self, addrs, data) -> None:
        """Write ``data[i]`` to ``addrs[i]``, one word per cycle (random gaps if ``gap``)."""
        dut = self.dut
        for a, d in zip(addrs, data, strict=True):
            while self.gap and self.rng.random() < self.gap:
                dut.we.value = 0
                await RisingEdge(dut.clk)
            dut.addr.value = int(a)
            dut.wdata.value = int(d)
            dut.we.value = 1
            await RisingEdge(dut.clk)
        dut.we.value = 0

    async def read(self, addrs) -> list[int]:
        """Read ``addrs`` back to back (pipelined: ``rvalid`` three cycles after ``re``)."""
        dut = self.dut
        out: list[int] = []
        addrs = [int(a) for a in addrs]
        i = 0
        while len(out) < len(addrs):
            if i < len(addrs):
                dut.raddr.value = addrs[i]
                dut.re.value = 1
                i += 1
            else:
                dut.re.value = 0
            await ReadOnly()
            if dut.rvalid.value:
                out.append(int(dut.rdata.value))
            await RisingEdge(dut.clk)
        dut.re.value = 0
        return out

    async def run(self, timeout_cycles: int) -> None:
        """Pulse ``start`` and wait for ``done``."""
        dut = self.dut
        dut.start.value = 1
        await RisingEdge(dut.clk)
        dut.start.value = 0
        await RisingEdge(dut.clk)
        if not dut.done.value:
            await with_timeout(RisingEdge(dut.done), timeout_cycles * CLOCK_NS, "ns")
        await RisingEdge(dut.clk)


@cocotb.test()
async def run_jobs(dut):
    """Run every job of the hand-off files and save the results."""
    inputs, params = load_io()
    await start(dut)
    host = EIEHost(dut, gap=params.get("gap", 0.0), seed=params.get("seed", 0))
    mm = params["map"]
    n_pes, act_bits = params["n_pes"], params["act_bits"]
    results = {}
    for ji, job in enumerate(params["jobs"]):
        await host.write(inputs[f"j{ji}_waddr"], inputs[f"j{ji}_wdata"])
        xs = np.atleast_2d(inputs[f"j{ji}_x"]).astype(np.int64)
        n_layers, n_out = job["layers"], job["out"]
        ys, cyc, lcyc, busy, starved = [], [], [], [], []
        act_base = mm["act"]
        mask = (1 << act_bits) - 1
        stat_pe = [
            mm["stats"] | (k << mm["layer_bits"]) | li
            for li in range(n_layers)
            for k in range(n_pes)
        ]
        stat_layer = [mm["stats"] | mm["layer_flag"] | li for li in range(n_layers)]
        for x in xs:
            await host.write([act_base + j for j in range(len(x))], [int(v) & mask for v in x])
            await host.run(job["timeout"])
            y = await host.read([act_base + j for j in range(n_out)])
            ys.append([to_signed(v & mask, act_bits) for v in y])
            words = await host.read([mm["ctrl"], *stat_layer, *stat_pe])
            cyc.append(words[0])
            lcyc.append(words[1 : 1 + n_layers])
            pe_words = np.asarray(words[1 + n_layers :], dtype=np.uint64).reshape(n_layers, n_pes)
            busy.append(pe_words & np.uint64(0xFFFFFFFF))
            starved.append(pe_words >> np.uint64(32))
        results[f"j{ji}_y"] = np.asarray(ys, dtype=np.int64).reshape(len(xs), n_out)
        results[f"j{ji}_cycles"] = np.asarray(cyc, dtype=np.int64)
        results[f"j{ji}_layer_cycles"] = np.asarray(lcyc, dtype=np.int64).reshape(len(xs), -1)
        results[f"j{ji}_busy"] = np.asarray(busy, dtype=np.int64)
        results[f"j{ji}_starved"] = np.asarray(starved, dtype=np.int64)
    save_outputs(**results)
