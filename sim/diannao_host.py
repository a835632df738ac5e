"""cocotb host driver of the DianNao core (``diannao_top``), and its test-side hand-off.

:class:`DianNaoHost` plays the host of ``docs/diannao.md``: for every host tile the compiler
produced it writes NBin / SB / NBout / the PWL table / the program through the memory-mapped
port, pulses ``start``, waits for ``done``, reads the counters and the finished NBout words.
Layers run one after another on the RTL's own outputs (the compiler runs inside the
simulation). :func:`run_network` is the cocotb test; :func:`pack_cases` / :func:`unpack_cases`
move networks through :func:`accelgen.sim.runner.run_cocotb`'s ``inputs``/``params``.
"""

from __future__ import annotations

from collections.abc import Sequence

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge, First, ReadOnly, RisingEdge, Timer

from ..golden.netspec import ConvLayer, DenseLayer, FCLayer, PoolLayer
from ..host.diannao import HostTile, assemble, compile_layer, finish_layer, layer_input
from ..spec.diannao import DianNaoConfig, Sel, encode
from .tb import CLOCK_PERIOD_NS, load_io, save_outputs, start

__all__ = ["DianNaoHost", "pack_cases", "run_network", "unpack_cases"]

TILE_STATS = ("cycles", "nfu_busy", "stalls", "first_sample", "end_sample")


def pack_cases(
    cases: Sequence[tuple[Sequence[DenseLayer], np.ndarray]], config: DianNaoConfig
) -> tuple[dict[str, np.ndarray], dict]:
    """Networks ``[(layers, batched x), ...]`` -> (``inputs``, ``params``) for ``run_cocotb``."""
    arrays: dict[str, np.ndarray] = {}
    specs = []
    for i, (layers, x) in enumerate(cases):
        arrays[f"c{i}_x"] = np.asarray(x, dtype=np.int64)
        spec = []
        for j, layer in enumerate(layers):
            d: dict = {"kind": layer.kind}
            if isinstance(layer, PoolLayer):
                d.update(k=layer.k, stride=layer.stride, mode=layer.mode)
            else:
                arrays[f"c{i}_l{j}_w"] = layer.w.astype(np.int64)
                if layer.b is not None:
                    arrays[f"c{i}_l{j}_b"] = layer.b.astype(np.int64)
                d["act"] = layer.act
                if isinstance(layer, ConvLayer):
                    d.update(stride=layer.stride, pad=layer.pad, conv=layer.conv)
            spec.append(d)
        specs.append(spec)
    return arrays, {"config": config.to_json(), "cases": specs}


def unpack_cases(
    arrays: dict[str, np.ndarray], params: dict
) -> tuple[DianNaoConfig, list[tuple[list[DenseLayer], np.ndarray]]]:
    """Inverse of :func:`pack_cases`."""
    config = DianNaoConfig.from_json(params["config"])
    cases = []
    for i, spec in enumerate(params["cases"]):
        layers: list[DenseLayer] = []
        for j, d in enumerate(spec):
            if d["kind"] == "pool":
                layers.append(PoolLayer(d["k"], d["stride"], d["mode"]))
                continue
            w, b = arrays[f"c{i}_l{j}_w"], arrays.get(f"c{i}_l{j}_b")
            if d["kind"] == "fc":
                layers.append(FCLayer(w, b, d["act"]))
            else:
                layers.append(
                    ConvLayer(w, b, stride=d["stride"], pad=d["pad"], act=d["act"], conv=d["conv"])
                )
        cases.append((layers, arrays[f"c{i}_x"]))
    return config, cases


def _words(lanes: np.ndarray, bits: int) -> list[int]:
    """Pack rows of signed lanes into integers, lane 0 in the least significant bits."""
    mask = (1 << bits) - 1
    out = []
    for row in np.asarray(lanes, dtype=np.int64).tolist():
        word = 0
        for i, v in enumerate(row):
            word |= (v & mask) << (i * bits)
        out.append(word)
    return out


class DianNaoHost:
    """Host side of ``diannao_top`` inside a cocotb test."""

    def __init__(self, dut, config: DianNaoConfig) -> None:
        self.dut = dut
        self.config = config
        # handles looked up once: the host loops run once per simulated cycle
        self._clk = dut.clk
        self._we, self._sel = dut.host_we, dut.host_sel
        self._addr, self._wdata = dut.host_addr, dut.host_wdata
        self._raddr, self._rdata = dut.host_raddr, dut.host_rdata
        self._wmask = (1 << len(dut.host_wdata)) - 1
        dut.host_we.value = 0
        dut.start.value = 0

    async def write(self, sel: Sel, items: Sequence[tuple[int, int]]) -> None:
        """Write ``(address, data)`` pairs to ``sel``, one per cycle (a burst)."""
        if not items:
            return
        we, addr, wdata, clk = self._we, self._addr, self._wdata, self._clk
        mask = self._wmask
        self._sel.value = int(sel)
        we.value = 1
        for a, word in items:
            addr.value = int(a)
            wdata.value = int(word) & mask
            await RisingEdge(clk)
        we.value = 0

    async def _burst(self, sel: Sel, addrs: np.ndarray, lanes: np.ndarray, bits: int) -> None:
        await self.write(sel, list(zip(addrs.tolist(), _words(lanes, bits), strict=True)))

    async def load_inputs(self, tile: HostTile) -> None:
        """Write a tile's NBin and SB contents (allowed while a program runs)."""
        c = self.config
        await self._burst(Sel.NBIN, tile.nbin_addr, tile.nbin_data, c.act_bits)
        await self._burst(Sel.SB, tile.sb_addr, tile.sb_data, c.w_bits)

    async def load(self, tile: HostTile, *, inputs: bool = True) -> None:
        """Write a tile's buffers (NBin / SB only if ``inputs``), PWL table and program."""
        c = self.config
        if inputs:
            await self.load_inputs(tile)
        await self._burst(Sel.NBOUT, tile.nbout_addr, tile.nbout_data, c.acc_bits)
        await self.write(Sel.PWL, tile.pwl)
        await self.write(Sel.IMEM, [(i, encode(ins, c)) for i, ins in enumerate(tile.program)])

    async def run(self, steps: int) -> tuple[int, int, int]:
        """Start the loaded program of ``steps`` NFU steps, wait for ``done``.

        Returns (cycles, nfu_busy, stalls); raises ``TimeoutError`` if ``done`` does not come
        within ``steps + 64`` cycles (a compiled program needs ``steps + 16``: fetch, issue, the
        15-cycle pipeline drain and ``done``).
        """
        dut = self.dut
        dut.start.value = 1
        await RisingEdge(dut.clk)
        dut.start.value = 0
        limit = steps + 64
        fired = await First(RisingEdge(dut.done), Timer(limit * CLOCK_PERIOD_NS, unit="ns"))
        if not isinstance(fired, RisingEdge):
            raise TimeoutError(f"diannao_top did not finish within {limit} cycles")
        await ReadOnly()
        stats = (int(dut.cycles.value), int(dut.nfu_busy.value), int(dut.stalls.value))
        await FallingEdge(dut.clk)
        return stats

    async def read(self, addrs: Sequence[int]) -> np.ndarray:
        """Read NBout words (pipelined, one per cycle); returns signed ``acc_bits`` lanes."""
        return await self._read_rows(self._raddr, self._rdata, addrs, self.config.acc_bits)

    async def read_sb(self, addrs: Sequence[int]) -> np.ndarray:
        """Read SB rows (host address ``word * tn + row``, one per cycle, while idle; cores with
        ``weight_update``); returns signed ``w_bits`` lanes ``[n, tn]``."""
        dut = self.dut
        return await self._read_rows(
            dut.host_sb_raddr, dut.host_sb_rdata, addrs, self.config.w_bits
        )

    async def _read_rows(self, raddr, rdata, addrs: Sequence[int], bits: int) -> np.ndarray:
        """Pipelined reads through a registered read port (the address set before an edge is
        latched at it): one word a cycle, split into ``tn`` signed ``bits``-bit lanes."""
        tn, mask = self.config.tn, (1 << bits) - 1
        words = []
        if len(addrs):
            raddr.value = int(addrs[0])
            for nxt in [*addrs[1:], addrs[-1]]:
                await RisingEdge(self._clk)  # latches the address set before this edge
                raddr.value = int(nxt)
                await ReadOnly()
                words.append(int(rdata.value))
            await FallingEdge(self._clk)
        out = np.zeros((len(words), tn), dtype=np.int64)
        for i, word in enumerate(words):
            for j in range(tn):
                v = (word >> (j * bits)) & mask
                out[i, j] = v - (1 << bits) if v >> (bits - 1) else v
        return out

    async def run_layer(self, layer: DenseLayer, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Run one layer on the batched input; returns (output, per-tile stats ``[n, 5]``).

        With ``double_buffer`` the next tile's NBin / SB half is written while the current
        program runs (the compiler alternates the halves).
        """
        plan, tiles = compile_layer(layer, x, self.config)
        overlap = self.config.double_buffer
        reads, stats = [], []
        for i, tile in enumerate(tiles):
            await self.load(tile, inputs=not (overlap and i > 0))
            prefetch = None
            if overlap and i + 1 < len(tiles):
                prefetch = cocotb.start_soon(self.load_inputs(tiles[i + 1]))
            stats.append((*await self.run(tile.steps), *tile.samples))
            if prefetch is not None:
                await prefetch
            reads.append(await self.read(tile.read_addr.tolist()))
        y = finish_layer(layer, plan, assemble(plan, tiles, reads), self.config)
        return y, np.asarray(stats, dtype=np.int64).reshape(-1, 5)


@cocotb.test()
async def run_network(dut):
    """Run every packed network on the DUT; save each layer's output and tile counters."""
    arrays, params = load_io()
    config, cases = unpack_cases(arrays, params)
    await start(dut)
    await FallingEdge(dut.clk)
    host = DianNaoHost(dut, config)
    out: dict[str, np.ndarray] = {}
    for i, (layers, x) in enumerate(cases):
        a = np.asarray(x)
        for j, layer in enumerate(layers):
            a, stats = await host.run_layer(layer, layer_input(layer, a))
            out[f"c{i}_y{j}"] = a
            out[f"c{i}_s{j}"] = stats
    save_outputs(**out)
