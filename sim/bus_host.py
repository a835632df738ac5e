"""cocotb host drivers of the bus-wrapped cores (``<core>_axi``, ``<core>_wb``).

The register offsets, field masks and window layout come from
:func:`accelgen.spec.regmap.constants` (params ``regs``), the same table the C header is made
from. Transports:

* :class:`AxiTransport`: cocotbext-axi ``AxiLiteMaster`` for registers and the window,
  ``AxiStreamSource`` / ``AxiStreamSink`` for bulk writes and reads (command stream); seeded
  random pauses on every channel (AW, W, B, AR, R, both streams) with probability ``pause``;
* :class:`WishboneTransport`: cocotbext-wishbone ``WishboneMaster``, everything through the
  window, random idle cycles before each access.

:class:`ProtocolMonitor` checks every cycle that the DUT holds ``valid`` and the payload of
its B, R and result-stream channels until the handshake, and that ``ack``/``err`` never rise
together. :func:`run_bus` (the cocotb test) runs the protocol checks, then EIE jobs
(:func:`accelgen.sim.bus.run_eie`) or DianNao networks (:func:`accelgen.sim.bus.run_diannao`).
"""

from __future__ import annotations

import random

import cocotb
import numpy as np
from cocotb.triggers import First, Lock, ReadOnly, RisingEdge, Timer

from .diannao_host import DianNaoHost, unpack_cases
from .tb import CLOCK_PERIOD_NS, load_io, save_outputs, start, to_signed

__all__ = ["AxiTransport", "BusError", "ProtocolMonitor", "WishboneTransport", "run_bus"]

OKAY, SLVERR, DECERR = 0, 2, 3
#: cycles a Wishbone access may wait for ack / err before the test fails (a hang)
ACK_TIMEOUT = 200


class BusError(AssertionError):
    """A bus access answered with an unexpected response code."""


def _pauses(rng: random.Random, p: float):
    while True:
        yield rng.random() < p


class _Transport:
    """Register, window and bulk access common to both buses (``regs`` constants)."""

    def __init__(self, dut, regs: dict, rng: random.Random) -> None:
        self.dut, self.r, self.rng = dut, regs, rng
        self.lanes, self.word_bytes = regs["LANES"], regs["WORD_BYTES"]

    def window(self, core_addr: int, lane: int = 0) -> int:
        return self.r["WINDOW_BASE"] + core_addr * self.word_bytes + 4 * lane

    async def reg_read(self, name: str) -> int:
        code, value = await self.read32(self.r[f"REG_{name}"])
        if code != OKAY:
            raise BusError(f"read of {name}: response {code}")
        return value

    async def reg_write(self, name: str, value: int) -> None:
        code = await self.write32(self.r[f"REG_{name}"], value)
        if code != OKAY:
            raise BusError(f"write of {name}: response {code}")

    async def write_window(self, addrs, words) -> None:
        for a, w in zip(addrs, words, strict=True):
            for k in range(self.lanes):
                code = await self.write32(self.window(int(a), k), (int(w) >> (32 * k)) & 0xFFFFFFFF)
                if code != OKAY:
                    raise BusError(f"window write of core word {int(a):#x}: response {code}")

    async def read_window(self, addrs, bits: int) -> list[int]:
        out = []
        for a in addrs:
            word = 0
            for k in range(-(-bits // 32)):
                code, v = await self.read32(self.window(int(a), k))
                if code != OKAY:
                    raise BusError(f"window read of core word {int(a):#x}: response {code}")
                word |= v << (32 * k)
            out.append(word)
        return out

    async def run(self, timeout_cycles: int) -> None:
        """START, wait for ``irq`` (DONE enabled), check and clear IRQ_STATUS.DONE."""
        await self.reg_write("CTRL", self.r["CTRL_START"])
        fired = await First(RisingEdge(self.dut.irq), Timer(timeout_cycles * CLOCK_PERIOD_NS, "ns"))
        if not isinstance(fired, RisingEdge):
            raise TimeoutError(f"no interrupt within {timeout_cycles} cycles")
        st = await self.reg_read("IRQ_STATUS")
        assert st & self.r["IRQ_STATUS_DONE"], f"IRQ_STATUS {st:#x} without DONE"
        await self.reg_write("IRQ_STATUS", self.r["IRQ_STATUS_DONE"])
        status = await self.reg_read("STATUS")
        assert status == self.r["STATUS_DONE"], f"STATUS {status:#x} after the interrupt"
        assert not self.dut.irq.value, "irq still high after clearing IRQ_STATUS"


class AxiTransport(_Transport):
    """AXI4-Lite registers and window, AXI4-Stream bulk transfers."""

    def __init__(self, dut, regs: dict, rng: random.Random, pause: float) -> None:
        from cocotbext.axi import (
            AxiLiteBus,
            AxiLiteMaster,
            AxiStreamBus,
            AxiStreamSink,
            AxiStreamSource,
        )

        super().__init__(dut, regs, rng)
        self.axil = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axil"), dut.clk, dut.rst)
        self.src = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis"), dut.clk, dut.rst)
        self.sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.clk, dut.rst)
        if pause:
            w, r = self.axil.write_if, self.axil.read_if
            for ch in (w.aw_channel, w.w_channel, w.b_channel, r.ar_channel, r.r_channel):
                ch.set_pause_generator(_pauses(random.Random(rng.random()), pause))
            self.src.set_pause_generator(_pauses(random.Random(rng.random()), pause))
            self.sink.set_pause_generator(_pauses(random.Random(rng.random()), pause))
        self.cmd_bytes = (self.lanes * 32 + 64) // 8
        self.rsp_bytes = self.lanes * 4

    async def read32(self, addr: int) -> tuple[int, int]:
        resp = await self.axil.read(addr, 4)
        return int(resp.resp), int.from_bytes(resp.data, "little")

    async def write32(self, addr: int, value: int) -> int:
        resp = await self.axil.write(addr, int(value).to_bytes(4, "little"))
        return int(resp.resp)

    def _cmd(self, addr: int, data: int, read: bool) -> bytes:
        d = self.lanes * 4
        return (
            int(data).to_bytes(d, "little")
            + int(addr).to_bytes(4, "little")
            + (self.r["CMD_READ"] if read else 0).to_bytes(4, "little")
        )

    async def write_bulk(self, addrs, words) -> None:
        pairs = zip(addrs, words, strict=True)
        frame = b"".join(self._cmd(int(a), int(w), False) for a, w in pairs)
        if frame:
            await self.src.send(frame)
            await self.src.wait()

    async def read_bulk(self, addrs, bits: int, *, expect_error: bool = False) -> list[int]:
        if not len(addrs):
            return []
        await self.src.send(b"".join(self._cmd(int(a), 0, True) for a in addrs))
        frame = await self.sink.recv()
        data = bytes(frame.tdata)
        assert len(data) == len(addrs) * self.rsp_bytes, f"{len(data)} result bytes"
        tuser = frame.tuser if isinstance(frame.tuser, list) else [frame.tuser or 0]
        assert any(tuser) == expect_error, f"result tuser {frame.tuser!r}"
        mask = (1 << bits) - 1
        step = self.rsp_bytes
        return [
            int.from_bytes(data[i * step : (i + 1) * step], "little") & mask
            for i in range(len(addrs))
        ]


def _plain_write(signal, value) -> None:
    signal.value = value


class WishboneTransport(_Transport):
    """Wishbone B4 classic: registers and the window; bulk transfers go through the window."""

    def __init__(self, dut, regs: dict, rng: random.Random, pause: float) -> None:
        import cocotbext.wishbone.driver as wbd

        # In Icarus the driver's Immediate writes of its outputs at construction leave those
        # nets deposited: later writes show on the port but never reach the logic. Ordinary
        # writes (before the reset ends) do the same job on both simulators.
        wbd.set_immediate = _plain_write
        WishboneMaster = wbd.WishboneMaster

        super().__init__(dut, regs, rng)
        names = ("cyc", "stb", "we", "adr", "sel", "ack", "err")
        signals = {n: n for n in names} | {"datwr": "dat_w", "datrd": "dat_r"}
        self.wb = WishboneMaster(dut, "wb", dut.clk, width=32, timeout=1000, signals_dict=signals)
        self.pause = pause
        self.lock = Lock()

    def _idle(self) -> int:
        n = 0
        while self.pause and self.rng.random() < self.pause:
            n += 1
        return n

    def _op(self, addr: int, data: int | None):
        """One access: byte address ``addr``, a read if ``data`` is None; random idle cycles."""
        from cocotbext.wishbone.driver import WBOp

        return WBOp(addr >> 2, data, idle=self._idle(), acktimeout=ACK_TIMEOUT)

    async def _cycle(self, ops):
        async with self.lock:
            return await self.wb.send_cycle(ops)

    async def read32(self, addr: int) -> tuple[int, int]:
        (res,) = await self._cycle([self._op(addr, None)])
        return (OKAY if res.ack == 1 else SLVERR), int(res.datrd)

    async def write32(self, addr: int, value: int) -> int:
        (res,) = await self._cycle([self._op(addr, int(value))])
        return OKAY if res.ack == 1 else SLVERR

    async def write_bulk(self, addrs, words) -> None:
        """One Wishbone cycle per word: all lanes back to back."""

        for a, w in zip(addrs, words, strict=True):
            ops = [
                self._op(self.window(int(a), k), (int(w) >> (32 * k)) & 0xFFFFFFFF)
                for k in range(self.lanes)
            ]
            res = await self._cycle(ops)
            if any(r.ack != 1 for r in res):
                raise BusError(f"window write of core word {int(a):#x} answered err")

    async def read_bulk(self, addrs, bits: int) -> list[int]:
        return await self.read_window(addrs, bits)


class ProtocolMonitor:
    """Per-cycle checks of the DUT-driven handshakes (see the module docstring)."""

    def __init__(self, dut, bus: str) -> None:
        self.dut, self.bus = dut, bus
        self.errors: list[str] = []
        if bus == "axi":
            self.channels = {
                "B": (dut.s_axil_bvalid, dut.s_axil_bready, [dut.s_axil_bresp]),
                "R": (dut.s_axil_rvalid, dut.s_axil_rready, [dut.s_axil_rdata, dut.s_axil_rresp]),
                "m_axis": (
                    dut.m_axis_tvalid,
                    dut.m_axis_tready,
                    [dut.m_axis_tdata, dut.m_axis_tlast, dut.m_axis_tuser],
                ),
            }
        self.task = cocotb.start_soon(self._run())

    async def _run(self) -> None:
        dut = self.dut
        held: dict[str, tuple] = {}
        while True:
            await RisingEdge(dut.clk)
            await ReadOnly()
            if self.bus == "wishbone":
                if dut.wb_ack.value and dut.wb_err.value:
                    self.errors.append("ack and err together")
                continue
            if dut.s_axil_awready.value != dut.s_axil_wready.value:
                self.errors.append("awready without wready")
            for name, (valid, ready, payload) in self.channels.items():
                v = bool(valid.value)
                if name in held:
                    if not v:
                        self.errors.append(f"{name}: valid dropped before the handshake")
                    elif held[name] != tuple(str(p.value) for p in payload):
                        self.errors.append(f"{name}: payload changed before the handshake")
                    del held[name]
                if v and not ready.value:
                    held[name] = tuple(str(p.value) for p in payload)
            if len(self.errors) > 20:
                return

    def check(self) -> None:
        assert not self.errors, "bus protocol: " + "; ".join(self.errors[:5])


# ---------------------------------------------------------------------------------- checks


async def _expect(tr: _Transport, op, addr: int, code: int, what: str, value: int = 0) -> None:
    got = (await tr.read32(addr))[0] if op == "r" else await tr.write32(addr, value)
    if isinstance(tr, WishboneTransport):  # err carries no code: SLVERR stands for both
        code = OKAY if code == OKAY else SLVERR
    assert got == code, f"{what}: response {got}, expected {code}"


async def protocol_checks(tr: _Transport, core: str, regs: dict) -> None:
    """Response codes of bad accesses, and the register block's fixed values."""
    assert await tr.reg_read("ID") == regs["ID"]
    assert await tr.reg_read("VERSION") == regs["VERSION"]
    assert await tr.reg_read("WINDOW_BASE") == regs["WINDOW_BASE"]
    assert await tr.reg_read("LANES") == regs["LANES"]
    await _expect(tr, "w", regs["REG_ID"], SLVERR, "write to the read-only ID", 5)
    assert await tr.reg_read("ID") == regs["ID"], "ID changed by a write"
    await _expect(tr, "r", 0xF0, DECERR, "read of an unmapped control offset")
    await _expect(tr, "w", 0xF4, DECERR, "write to an unmapped control offset", 1)
    await tr.reg_write("IRQ_ENABLE", 3)
    assert await tr.reg_read("IRQ_ENABLE") == 3
    if core == "eie":
        ptr = regs["REGION_PTR"] << regs["OFFSET_BITS"]
        await _expect(tr, "r", tr.window(ptr), SLVERR, "read of a write-only core word")
        await tr.reg_write("LAYERS", 2)
        assert await tr.reg_read("LAYERS") == 2
    else:
        bad = 7 << regs["HOST_ADDR_BITS"]
        await _expect(tr, "r", tr.window(bad), DECERR, "read of DianNao target 7")
        await _expect(tr, "w", tr.window(bad, tr.lanes - 1), DECERR, "write to target 7", 1)
        if tr.word_bytes // 4 > tr.lanes:
            await _expect(tr, "r", tr.window(0, tr.lanes), DECERR, "read of an unused lane")
        nbin = regs["SEL_NBIN"] << regs["HOST_ADDR_BITS"]
        await _expect(tr, "r", tr.window(nbin), SLVERR, "read of a write-only core word")
    if isinstance(tr, AxiTransport):  # a bad stream read: tuser and IRQ_STATUS.ERR, no hang
        bad = (1 << regs["CORE_ADDR_BITS"]) + 3
        assert await tr.read_bulk([bad], 32, expect_error=True) == [0]
        assert await tr.reg_read("IRQ_STATUS") & regs["IRQ_STATUS_ERR"]
        assert tr.dut.irq.value, "irq low with IRQ_STATUS.ERR enabled"
        await tr.reg_write("IRQ_STATUS", regs["IRQ_STATUS_ERR"])
    await tr.reg_write("IRQ_ENABLE", regs["IRQ_ENABLE_DONE"])
    assert not tr.dut.irq.value


# ---------------------------------------------------------------------------------- EIE


async def run_eie(tr: _Transport, inputs: dict, params: dict) -> dict:
    """Every job of the EIE hand-off (``accelgen.sim.eie_host`` format) through the bus."""
    r = params["regs"]
    n_pes, act_bits = r["N_PES"], r["ACT_BITS"]
    ob = r["OFFSET_BITS"]
    mask = (1 << act_bits) - 1
    act = r["REGION_ACT"] << ob
    stats = r["REGION_STATS"] << ob
    ctrl = r["REGION_CTRL"] << ob
    window_regions = (r["REGION_DESC"], r["REGION_CODEBOOK"])
    results = {}
    for ji, job in enumerate(params["jobs"]):
        waddr = inputs[f"j{ji}_waddr"].astype(np.int64)
        wdata = inputs[f"j{ji}_wdata"].astype(np.uint64)
        bulk = [(a, d) for a, d in zip(waddr.tolist(), wdata.tolist(), strict=True)]
        for a, d in bulk:
            if a == ctrl:  # the layer count goes through its register
                await tr.reg_write("LAYERS", d)
        small = [(a, d) for a, d in bulk if a != ctrl and (a >> ob) in window_regions]
        big = [(a, d) for a, d in bulk if a != ctrl and (a >> ob) not in window_regions]
        await tr.write_window([a for a, _ in small], [d for _, d in small])
        await tr.write_bulk([a for a, _ in big], [d for _, d in big])
        assert await tr.reg_read("LAYERS") == job["layers"]
        xs = np.atleast_2d(inputs[f"j{ji}_x"]).astype(np.int64)
        n_layers, n_out = job["layers"], job["out"]
        ys, cyc, lcyc, busy, starved = [], [], [], [], []
        stat_pe = [
            stats | (k << r["LAYER_BITS"]) | li for li in range(n_layers) for k in range(n_pes)
        ]
        stat_layer = [stats | r["STATS_LAYER_FLAG"] | li for li in range(n_layers)]
        for xi, x in enumerate(xs):
            await tr.write_bulk([act + j for j in range(len(x))], [int(v) & mask for v in x])
            if ji == 0 and xi == 0:
                await _refused_while_running(tr, act, job["timeout"])
            else:
                await tr.run(job["timeout"])
            # outputs (stream) and counters (window) at the same time: the bridge arbitrates
            outputs = cocotb.start_soon(tr.read_bulk([act + j for j in range(n_out)], act_bits))
            cycles = await tr.reg_read("CYCLES")
            words = await tr.read_window([*stat_layer, *stat_pe], 64)
            y = await outputs
            ys.append([to_signed(v, act_bits) for v in y])
            cyc.append(cycles)
            lcyc.append(words[:n_layers])
            pe = np.asarray(words[n_layers:], dtype=np.uint64).reshape(n_layers, n_pes)
            busy.append(pe & np.uint64(0xFFFFFFFF))
            starved.append(pe >> np.uint64(32))
        results[f"j{ji}_y"] = np.asarray(ys, dtype=np.int64).reshape(len(xs), n_out)
        results[f"j{ji}_cycles"] = np.asarray(cyc, dtype=np.int64)
        results[f"j{ji}_layer_cycles"] = np.asarray(lcyc, dtype=np.int64).reshape(len(xs), -1)
        results[f"j{ji}_busy"] = np.asarray(busy, dtype=np.int64)
        results[f"j{ji}_starved"] = np.asarray(starved, dtype=np.int64)
    return results


async def _refused_while_running(tr: _Transport, act: int, timeout: int) -> None:
    """START and, queued right behind it, a window write: it reaches the bridge while the run
    is queued or in progress and answers SLVERR (Wishbone: err); the run is not disturbed."""
    run = cocotb.start_soon(tr.run(timeout))
    await RisingEdge(tr.dut.clk)
    code = await tr.write32(tr.window(act, tr.lanes - 1), 0x1234)
    await run
    assert code == SLVERR, f"window write during a run: response {code}"


# ---------------------------------------------------------------------------------- DianNao


class BusDianNaoHost(DianNaoHost):
    """:class:`DianNaoHost` over a bus transport: NBin / SB / NBout through the bulk path, the
    PWL table and the program through the window, counters from the registers."""

    def __init__(self, dut, config, tr: _Transport) -> None:
        self.dut, self.config, self.tr = dut, config, tr
        self.hab = tr.r["HOST_ADDR_BITS"]

    async def write(self, sel, items) -> None:
        if not items:
            return
        addrs = [(int(sel) << self.hab) | int(a) for a, _ in items]
        words = [int(w) for _, w in items]
        if int(sel) in (self.tr.r["SEL_PWL"], self.tr.r["SEL_IMEM"]):
            await self.tr.write_window(addrs, words)
        else:
            await self.tr.write_bulk(addrs, words)

    async def run(self, steps: int) -> tuple[int, int, int]:
        await self.tr.run(steps + 200)
        return (
            await self.tr.reg_read("CYCLES"),
            await self.tr.reg_read("NFU_BUSY"),
            await self.tr.reg_read("STALLS"),
        )

    async def read(self, addrs) -> np.ndarray:
        c = self.config
        bits, mask = c.acc_bits, (1 << c.acc_bits) - 1
        nbout = self.tr.r["SEL_NBOUT"] << self.hab
        words = await self.tr.read_bulk([nbout | int(a) for a in addrs], c.nbout_word_bits)
        out = np.zeros((len(words), c.tn), dtype=np.int64)
        for i, word in enumerate(words):
            for j in range(c.tn):
                out[i, j] = to_signed((word >> (j * bits)) & mask, bits)
        return out.reshape(-1, c.tn)


async def run_diannao(tr: _Transport, inputs: dict, params: dict) -> dict:
    config, cases = unpack_cases(inputs, params)
    host = BusDianNaoHost(tr.dut, config, tr)
    out: dict[str, np.ndarray] = {}
    from ..host.diannao import layer_input

    for i, (layers, x) in enumerate(cases):
        a = np.asarray(x)
        for j, layer in enumerate(layers):
            a, st = await host.run_layer(layer, layer_input(layer, a))
            out[f"c{i}_y{j}"] = a
            out[f"c{i}_s{j}"] = st
    return out


@cocotb.test()
async def run_bus(dut):
    """Protocol checks, then the EIE jobs or DianNao networks of the hand-off files."""
    inputs, params = load_io()
    rng = random.Random(params.get("seed", 1))
    regs, bus, pause = params["regs"], params["bus"], params.get("pause", 0.0)
    # the drivers, then the reset (its edge puts them in reset: every input driven), then
    # the clock, once time zero has settled (no driver samples an unsettled output)
    if bus == "axi":
        tr: _Transport = AxiTransport(dut, regs, rng, pause)
    else:
        tr = WishboneTransport(dut, regs, rng, pause)
    dut.rst.value = 1
    await Timer(1, "ns")
    await start(dut)
    mon = ProtocolMonitor(dut, bus)
    await RisingEdge(dut.clk)
    await protocol_checks(tr, params["core"], regs)
    if params["core"] == "eie":
        out = await run_eie(tr, inputs, params)
    else:
        out = await run_diannao(tr, inputs, params)
    mon.check()
    save_outputs(**out)
