"""Shared helpers of the arithmetic block tests.

One set of per-cycle input vectors drives the Amaranth simulator (:func:`run_amaranth`), the
generated Verilog under cocotb (:func:`run_rtl`, testbench ``tb_vectors``) and the golden model.
Both simulators follow :func:`accelgen.sim.tb.drive_vectors`: step ``i`` applies vector ``i``
for ``repeat[i]`` cycles and then samples the outputs. :func:`response_cycle` maps each step to
the (expanded) cycle whose inputs its sample reflects, so the golden model, computed per cycle,
is compared cycle-accurately. :class:`Parallel` puts several components with the same inputs in
one design, so that they share one simulator build.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from amaranth.hdl import Module, Value
from amaranth.lib import wiring
from amaranth.sim import Simulator

from accelgen.sim import runner

HERE = Path(__file__).parent


def _steps(inputs: Mapping[str, np.ndarray]) -> int:
    lengths = {len(v) for v in inputs.values()}
    assert len(lengths) == 1, f"input vectors differ in length: {sorted(lengths)}"
    return lengths.pop()


def _port(dut, name: str):
    """Member ``name`` of ``dut``; ``a__b`` (the Verilog name of a nested port) is ``dut.a.b``."""
    obj = dut
    for part in name.split("__"):
        obj = obj[int(part)] if part.isdigit() else getattr(obj, part)
    return obj


def _port_width(dut, name: str) -> int:
    return len(Value.cast(_port(dut, name)))


def _signed_outputs(dut, outputs: Sequence[str]) -> list[str]:
    return [n for n in outputs if _port(dut, n).shape().signed]


def run_amaranth(
    dut,
    inputs: Mapping[str, np.ndarray],
    outputs: Sequence[str],
    *,
    repeat: Sequence[int] | None = None,
) -> dict[str, np.ndarray]:
    """Run the vectors on ``dut`` in Amaranth's simulator (same timing as the cocotb side)."""
    n = _steps(inputs)
    drives = []
    for name, values in inputs.items():
        values = np.asarray(values, dtype=np.int64)
        port = Value.cast(_port(dut, name))
        if values.ndim == 2:
            lane = len(port) // values.shape[1]
            mask = (1 << lane) - 1
            words = [
                sum((int(v) & mask) << (lane * k) for k, v in enumerate(row))
                for row in values.tolist()
            ]
        else:
            words = values.tolist()
        drives.append((port, words))
    samples = [(name, _port(dut, name)) for name in outputs]
    result: dict[str, list[int]] = {name: [] for name in outputs}

    async def bench(ctx):
        await ctx.tick()  # as on the cocotb side: one edge with idle (zero) inputs after reset
        for i in range(n):
            for port, words in drives:
                ctx.set(port, words[i])
            for _ in range(1 if repeat is None else int(repeat[i])):
                await ctx.tick()
            for name, port in samples:
                result[name].append(ctx.get(port))

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return {k: np.asarray(v, dtype=np.int64) for k, v in result.items()}


def run_rtl(
    dut,
    *,
    toplevel: str,
    simulator: str,
    inputs: Mapping[str, np.ndarray],
    outputs: Sequence[str],
    repeat: Sequence[int] | None = None,
) -> dict[str, np.ndarray]:
    """Run the vectors on the Verilog of ``dut`` under cocotb (``simulator``)."""
    arrays = {k: np.asarray(v, dtype=np.int64) for k, v in inputs.items()}
    if repeat is not None:
        arrays["repeat"] = np.asarray(repeat, dtype=np.int64)
    res = runner.run_cocotb(
        dut,
        toplevel=toplevel,
        test_module="tb_vectors",
        module_dir=HERE,
        simulator=simulator,
        inputs=arrays,
        params={"outputs": list(outputs), "signed": _signed_outputs(dut, outputs)},
    )
    return {k: np.asarray(res.outputs[k], dtype=np.int64) for k in outputs}


def expand(inputs: Mapping[str, np.ndarray], repeat: Sequence[int] | None) -> dict:
    """Per-cycle copies of the input vectors (each vector repeated ``repeat[i]`` times)."""
    if repeat is None:
        return {k: np.asarray(v) for k, v in inputs.items()}
    return {k: np.repeat(np.asarray(v), repeat, axis=0) for k, v in inputs.items()}


def response_cycle(steps: int, repeat: Sequence[int] | None, latency: int) -> np.ndarray:
    """For each step, the expanded cycle whose inputs its outputs reflect (-1: none yet)."""
    reps = np.ones(steps, dtype=np.int64) if repeat is None else np.asarray(repeat)
    return np.cumsum(reps) - latency


def compare(
    got: Mapping[str, np.ndarray], want: Mapping[str, np.ndarray], cycle: np.ndarray
) -> None:
    """Check every output against its per-cycle golden value at the sampled cycles."""
    ok = cycle >= 0
    for name, golden in want.items():
        np.testing.assert_array_equal(
            got[name][ok], np.asarray(golden)[cycle[ok]], err_msg=f"output {name!r}"
        )


def with_extremes(rng: np.random.Generator, bits: int, size, p_extreme: float = 0.25):
    """Uniform signed ``bits``-bit values, a fraction replaced by 0, +-1, min and max."""
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    v = rng.integers(lo, hi + 1, size=size, dtype=np.int64)
    extremes = np.array([lo, lo + 1, -1, 0, 1, hi - 1, hi], dtype=np.int64)
    pick = rng.random(size) < p_extreme
    v[pick] = rng.choice(extremes, size=int(pick.sum()))
    return v


class Parallel(wiring.Component):
    """Test harness: components with identical inputs side by side in one design.

    Every part sees the same inputs; output ``port`` of part ``name`` appears as
    ``{name}_{port}``. One Verilog design means one simulator build (a Verilator build costs far
    more CPU than the simulation) while each part's RTL is exactly what it generates alone.
    """

    def __init__(self, **parts: wiring.Component) -> None:
        self.parts = parts
        first = next(iter(parts.values())).signature.members
        self.inputs_of = {n: m for n, m in first.items() if m.flow == wiring.In}
        members = dict(self.inputs_of)
        for name, part in parts.items():
            ins = {n: m for n, m in part.signature.members.items() if m.flow == wiring.In}
            assert ins == self.inputs_of, f"part {name!r} has other inputs"
            for port, m in part.signature.members.items():
                if m.flow == wiring.Out:
                    members[f"{name}_{port}"] = m
        super().__init__(members)

    def elaborate(self, platform) -> Module:
        m = Module()
        for name, part in self.parts.items():
            m.submodules[name] = part
            for port, member in part.signature.members.items():
                if member.flow == wiring.In:
                    m.d.comb += getattr(part, port).eq(getattr(self, port))
                else:
                    m.d.comb += getattr(self, f"{name}_{port}").eq(getattr(part, port))
        return m

    def outputs(self, ports) -> list[str]:
        return [f"{name}_{port}" for name in self.parts for port in ports]

    def split(self, got: Mapping[str, np.ndarray], name: str, ports) -> dict[str, np.ndarray]:
        """The outputs of part ``name``, under their own port names."""
        return {port: got[f"{name}_{port}"] for port in ports}
