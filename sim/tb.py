"""Helpers for cocotb testbenches (import only inside a running simulation).

* :func:`load_io` / :func:`save_outputs`: the file hand-off with
  :func:`accelgen.sim.runner.run_cocotb`.
* :func:`start` : start the clock on ``clk`` and pulse ``rst``.
* :class:`StreamDriver` / :class:`StreamMonitor`: ready/valid (``amaranth.lib.stream``) source and
  sink with seeded random gaps and backpressure. A stream member ``i`` of an Amaranth component
  appears in the Verilog as ``i__valid``, ``i__ready`` and ``i__payload``.
* :func:`pack` / :func:`unpack` / :func:`to_signed`: integer bit-field helpers.
* :func:`write_words`: write words through a simple ``addr``/``data``/``en`` port.
* :func:`drive_vectors`: apply one input vector per cycle (or per held run of cycles) and sample
  the outputs after each, for cycle-level comparison against a golden model.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.simtime import get_sim_time
from cocotb.triggers import ClockCycles, FallingEdge, ReadOnly, RisingEdge, Timer

__all__ = [
    "CLOCK_PERIOD_NS",
    "StreamDriver",
    "StreamMonitor",
    "drive_vectors",
    "load_io",
    "pack",
    "save_outputs",
    "start",
    "to_signed",
    "unpack",
    "write_words",
]

CLOCK_PERIOD_NS = 10


def _io_dir() -> Path:
    try:
        return Path(os.environ["ACCELGEN_IO_DIR"])
    except KeyError:
        raise RuntimeError(
            "ACCELGEN_IO_DIR is not set: run this testbench via run_cocotb"
        ) from None


def load_io() -> tuple[dict[str, np.ndarray], dict]:
    """Return ``(inputs, params)`` handed over by :func:`run_cocotb`."""
    d = _io_dir()
    with np.load(d / "inputs.npz", allow_pickle=False) as f:
        inputs = {k: f[k] for k in f.files}
    return inputs, json.loads((d / "params.json").read_text())


def save_outputs(meta: dict | None = None, **arrays) -> None:
    """Save result arrays (and optional JSON metadata) for :func:`run_cocotb` to return."""
    d = _io_dir()
    np.savez(d / "outputs.npz", **{k: np.asarray(v) for k, v in arrays.items()})
    if meta is not None:
        (d / "meta.json").write_text(json.dumps(meta))


async def start(dut, *, reset_cycles: int = 2) -> None:
    """Start a clock on ``dut.clk`` and hold ``dut.rst`` for ``reset_cycles`` cycles."""
    # The simulator-side (GPI) clock: an order of magnitude faster than a Python coroutine.
    cocotb.start_soon(Clock(dut.clk, CLOCK_PERIOD_NS, unit="ns", impl="gpi").start())
    dut.rst.value = 1
    await ClockCycles(dut.clk, reset_cycles)
    dut.rst.value = 0
    await RisingEdge(dut.clk)


def to_signed(value: int, bits: int) -> int:
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def pack(fields: Sequence[tuple[int, int]]) -> int:
    """Pack ``(value, width)`` fields, the first at the least significant bits."""
    word, shift = 0, 0
    for value, width in fields:
        word |= (int(value) & ((1 << width) - 1)) << shift
        shift += width
    return word


def unpack(word: int, widths: Sequence[int], signed: bool = False) -> list[int]:
    """Split ``word`` into fields of ``widths`` (least significant first)."""
    out, shift = [], 0
    for width in widths:
        v = (int(word) >> shift) & ((1 << width) - 1)
        out.append(to_signed(v, width) if signed else v)
        shift += width
    return out


def _sig(dut, name: str):
    try:
        return getattr(dut, name)
    except AttributeError:
        raise AttributeError(f"the design has no port {name!r}") from None


class StreamDriver:
    """Drive a ready/valid stream ``{prefix}__valid/ready/payload`` with random idle cycles.

    ``p_valid`` is the probability that a word is offered in a given cycle (1.0: back to back).
    """

    def __init__(self, dut, prefix: str, *, seed: int = 0, p_valid: float = 1.0):
        self.clk = dut.clk
        self.valid = _sig(dut, f"{prefix}__valid")
        self.ready = _sig(dut, f"{prefix}__ready")
        self.payload = _sig(dut, f"{prefix}__payload")
        self.rng = random.Random(seed)
        self.p_valid = p_valid
        self.valid.value = 0

    async def send(self, words: Iterable[int]) -> None:
        """Transfer every word in order; returns after the last handshake."""
        for word in words:
            while self.rng.random() >= self.p_valid:
                self.valid.value = 0
                await RisingEdge(self.clk)
            self.valid.value = 1
            self.payload.value = int(word)
            while True:
                await ReadOnly()
                accepted = bool(self.ready.value)
                await RisingEdge(self.clk)
                if accepted:
                    break
        self.valid.value = 0


class StreamMonitor:
    """Sink for a ready/valid stream with random backpressure (``p_ready`` per cycle)."""

    def __init__(self, dut, prefix: str, *, seed: int = 1, p_ready: float = 1.0):
        self.clk = dut.clk
        self.valid = _sig(dut, f"{prefix}__valid")
        self.ready = _sig(dut, f"{prefix}__ready")
        self.payload = _sig(dut, f"{prefix}__payload")
        self.rng = random.Random(seed)
        self.p_ready = p_ready
        self.ready.value = 0

    async def receive(self, count: int, *, timeout_cycles: int | None = None) -> list[int]:
        """Collect ``count`` words; raise ``TimeoutError`` after ``timeout_cycles`` cycles."""
        words: list[int] = []
        cycles = 0
        while len(words) < count:
            self.ready.value = int(self.rng.random() < self.p_ready)
            await ReadOnly()
            if self.valid.value and self.ready.value:
                words.append(int(self.payload.value))
            await RisingEdge(self.clk)
            cycles += 1
            if timeout_cycles is not None and cycles > timeout_cycles:
                raise TimeoutError(
                    f"received {len(words)} of {count} words in {timeout_cycles} cycles"
                )
        self.ready.value = 0
        return words


async def write_words(dut, *, addr: str, data: str, en: str, base: int, words: Iterable[int]):
    """Write ``words`` to consecutive addresses from ``base`` through a simple write port."""
    a, d, e = _sig(dut, addr), _sig(dut, data), _sig(dut, en)
    for i, w in enumerate(words):
        a.value = base + i
        d.value = int(w)
        e.value = 1
        await RisingEdge(dut.clk)
    e.value = 0


async def drive_vectors(
    dut,
    inputs: Mapping[str, np.ndarray],
    outputs: Sequence[str],
    *,
    repeat: Sequence[int] | None = None,
    signed: Collection[str] = (),
) -> dict[str, list[int]]:
    """Apply input vectors cycle by cycle and sample the outputs after each.

    Step ``i`` drives ``inputs[name][i]`` on every input port at a falling clock edge, holds it
    for ``repeat[i]`` cycles (default 1) and then, at the falling edge after the last rising edge
    that sampled it, records every port in ``outputs``. So ``result[name][i]`` is the state after
    vector ``i`` was clocked in: for a block of latency ``L`` (registers from input to output),
    the response to vector ``i`` is in step ``i + L - 1``. Values are driven modulo the port
    width (negative numbers as two's complement); a 2-D input ``(steps, lanes)`` is packed into
    its port with lane 0 at the least significant bits. Outputs named in ``signed`` are read as
    two's complement, the others as unsigned. Start the clock (:func:`start`) first.

    A held vector (``repeat[i] > 1``) costs one timer wait, not one Python wake-up per cycle: the
    clock period is measured on the first hold (the clock must be free-running and periodic).
    """
    steps = {len(v) for v in inputs.values()}
    if len(steps) > 1:
        raise ValueError(f"input vectors differ in length: {sorted(steps)}")
    n = steps.pop() if steps else 0
    if repeat is not None and len(repeat) != n:
        raise ValueError(f"repeat has {len(repeat)} entries for {n} input vectors")
    drives = []
    for name, values in inputs.items():
        handle = _sig(dut, name)
        width = len(handle)
        values = np.asarray(values)
        if values.ndim == 2:
            lanes = values.shape[1]
            if width % lanes:
                raise ValueError(f"port {name!r} ({width} bits) does not split into {lanes} lanes")
            fields = [width // lanes] * lanes
            words = [pack(zip(row.tolist(), fields, strict=True)) for row in values]
        else:
            words = [v & ((1 << width) - 1) for v in values.tolist()]
        drives.append((handle, words))
    samples = [(name, _sig(dut, name), name in signed) for name in outputs]
    result: dict[str, list[int]] = {name: [] for name in outputs}
    last: list[int | None] = [None] * len(drives)
    period = 0
    await FallingEdge(dut.clk)
    for i in range(n):
        for j, (handle, words) in enumerate(drives):
            if words[i] != last[j]:
                handle.value = words[i]
                last[j] = words[i]
        cycles = 1 if repeat is None else int(repeat[i])
        if cycles < 1:
            raise ValueError(f"repeat[{i}] is {cycles}; a vector is held for at least one cycle")
        t0 = get_sim_time("step")
        await FallingEdge(dut.clk)
        if cycles > 1:
            period = period or get_sim_time("step") - t0
            # wake up inside the high phase before the last falling edge, then wait for it
            await Timer((cycles - 1) * period - period // 2, "step")
            await FallingEdge(dut.clk)
        for name, handle, is_signed in samples:
            value = int(handle.value)
            result[name].append(to_signed(value, len(handle)) if is_signed else value)
    return result
