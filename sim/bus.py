"""Run the bus-wrapped cores in cocotb (``accelgen.sim.bus_host``): EIE jobs, DianNao networks.

The pytest side of :mod:`accelgen.sim.bus_host`: it prepares the same hand-off as the native
drivers (:func:`accelgen.sim.eie.run_jobs`, :func:`accelgen.sim.diannao.simulate_cases`)
plus the register-map constants, and returns the same result objects.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..hdl.bus.generate import top_module, verilog
from ..spec import regmap

__all__ = ["run_diannao", "run_eie"]


def _run(core, bus, config, inputs, params, *, simulator, pause, seed, waves):
    from .runner import run_cocotb

    params = {
        **params,
        "core": core,
        "bus": bus,
        "regs": regmap.constants(core, config),
        "pause": pause,
        "seed": seed,
    }
    return run_cocotb(
        verilog(core, bus, config),
        toplevel=top_module(core, bus),
        test_module="accelgen.sim.bus_host",
        simulator=simulator,
        inputs=inputs,
        params=params,
        waves=waves,
        seed=seed,
    )


def run_eie(
    config,
    jobs: Sequence,
    *,
    bus: str,
    simulator: str = "verilator",
    pause: float = 0.0,
    seed: int = 1,
    waves: bool = False,
):
    """:func:`accelgen.sim.eie.run_jobs` through the ``bus`` wrapper (``axi``/``wishbone``)."""
    from .eie import EIEResult, pack_jobs

    inputs, params_jobs = pack_jobs(config, jobs)
    res = _run(
        "eie", bus, config, inputs, {"jobs": params_jobs},
        simulator=simulator, pause=pause, seed=seed, waves=waves,
    )  # fmt: skip
    out = res.outputs
    return [
        EIEResult(
            y=out[f"j{i}_y"].astype(np.int16),
            cycles=out[f"j{i}_cycles"],
            layer_cycles=out[f"j{i}_layer_cycles"],
            pe_busy=out[f"j{i}_busy"],
            pe_starved=out[f"j{i}_starved"],
        )
        for i in range(len(jobs))
    ]


def run_diannao(
    cases: Sequence[tuple[Sequence, np.ndarray]],
    *,
    config,
    bus: str,
    simulator: str = "verilator",
    pause: float = 0.0,
    seed: int = 1,
    waves: bool = False,
):
    """:func:`accelgen.sim.diannao.simulate_cases` through the ``bus`` wrapper."""
    from .diannao import _result, check_cases
    from .diannao_host import pack_cases

    batched, plans = check_cases(cases, config)
    inputs, params = pack_cases(batched, config)
    res = _run(
        "diannao", bus, config, inputs, params,
        simulator=simulator, pause=pause, seed=seed, waves=waves,
    )  # fmt: skip
    out = []
    for i, ((layers, xb), plan) in enumerate(zip(batched, plans, strict=True)):
        ys = [res.outputs[f"c{i}_y{j}"] for j in range(len(layers))]
        stats = [res.outputs[f"c{i}_s{j}"] for j in range(len(layers))]
        out.append(_result(config, plan, ys, stats, xb.shape[0]))
    return out
