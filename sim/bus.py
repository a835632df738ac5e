"""Run the bus-wrapped cores: EIE jobs, DianNao networks.

``engine="cocotb"`` (the regression path): the pytest side of :mod:`accelgen.sim.bus_host`; it
prepares the same hand-off as the port-level drivers (:func:`accelgen.sim.eie.run_jobs`,
:func:`accelgen.sim.diannao.simulate_cases`) plus the register-map constants.
``engine="native"`` (AXI only): the compiled Verilator harness as a C host of the AXI build,
through the generated ``accelgen_<core>.h`` (:mod:`accelgen.sim.native`). Both return the same
result objects as the port-level drivers.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..hdl.bus.generate import top_module, verilog
from ..spec import regmap

__all__ = ["check_engine", "run_diannao", "run_eie", "simulate_diannao", "simulate_eie"]


def check_engine(
    engine: str, *, bus: str, simulator: str = "verilator", waves: bool = False, pause: float = 0.0
) -> bool:
    """Validate ``engine`` for a wrapped core on ``bus``; True for the native engine."""
    from . import native

    if bus not in ("axi", "wishbone"):
        raise ValueError(f"bus must be axi or wishbone, got {bus!r}")
    if native.check_engine(engine, simulator=simulator, waves=waves) == "cocotb":
        return False
    if bus != "axi":
        raise ValueError(f"the native engine drives the AXI build only, not --bus {bus}")
    if pause:
        raise ValueError("the native engine has no random bus pauses; use the cocotb engine")
    return True


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
    engine: str = "cocotb",
):
    """:func:`accelgen.sim.eie.run_jobs` through the ``bus`` wrapper (``axi``/``wishbone``)."""
    from .eie import _results, native_jobs, pack_jobs

    if check_engine(engine, bus=bus, simulator=simulator, waves=waves, pause=pause):
        from accelgen.spec.eie import MemoryMap

        from . import native

        out = native.run_eie(
            verilog("eie", bus, config),
            native_jobs(config, jobs),
            toplevel=top_module("eie", bus),
            n_pes=config.n_pes,
            act_bits=config.act_bits,
            memory_map=MemoryMap(config).to_json(),
            bus=bus,
            header=regmap.c_header("eie", config),
        )
        return _results(out, len(jobs))
    inputs, params_jobs = pack_jobs(config, jobs)
    res = _run(
        "eie", bus, config, inputs, {"jobs": params_jobs},
        simulator=simulator, pause=pause, seed=seed, waves=waves,
    )  # fmt: skip
    return _results(res.outputs, len(jobs))


def run_diannao(
    cases: Sequence[tuple[Sequence, np.ndarray]],
    *,
    config,
    bus: str,
    simulator: str = "verilator",
    pause: float = 0.0,
    seed: int = 1,
    waves: bool = False,
    engine: str = "cocotb",
):
    """:func:`accelgen.sim.diannao.simulate_cases` through the ``bus`` wrapper."""
    from .diannao import _case_results, check_cases
    from .diannao_host import pack_cases

    native_engine = check_engine(engine, bus=bus, simulator=simulator, waves=waves, pause=pause)
    batched, plans = check_cases(cases, config)
    if native_engine:
        from . import native

        outputs = native.run_diannao(
            verilog("diannao", bus, config),
            batched,
            config=config,
            toplevel=top_module("diannao", bus),
            bus=bus,
            header=regmap.c_header("diannao", config),
        )
    else:
        inputs, params = pack_cases(batched, config)
        outputs = _run(
            "diannao", bus, config, inputs, params,
            simulator=simulator, pause=pause, seed=seed, waves=waves,
        ).outputs  # fmt: skip
    return _case_results(config, batched, plans, outputs)


def simulate_eie(
    layers,
    x,
    *,
    config,
    bus: str,
    simulator: str = "verilator",
    waves: bool = False,
    progress: bool = True,
    engine: str = "cocotb",
):
    """:func:`accelgen.sim.eie.simulate` through the ``bus`` wrapper: the same checks before
    any simulation, the batch in chunks of ``DEFAULT_CHUNK`` inputs, one
    :class:`~accelgen.sim.eie.EIEResult`."""
    from dataclasses import fields

    from tqdm import tqdm

    from .eie import DEFAULT_CHUNK, EIEResult, Job, build_image, check_fits, check_input

    check_engine(engine, bus=bus, simulator=simulator, waves=waves)
    layers = list(layers)
    check_fits(layers, config)
    xb = check_input(x, layers, config)
    image = build_image(layers, config)
    parts = []
    label = engine if engine == "native" else simulator
    with tqdm(
        total=len(xb), unit="img", desc=f"EIE N={config.n_pes} {bus} {label}", disable=not progress
    ) as bar:
        for s in range(0, len(xb), DEFAULT_CHUNK):
            part = xb[s : s + DEFAULT_CHUNK]
            parts += run_eie(
                config, [Job(image, part)], bus=bus, simulator=simulator, waves=waves,
                engine=engine,
            )  # fmt: skip
            bar.update(len(part))
    names = [f.name for f in fields(EIEResult)]
    return EIEResult(*(np.concatenate([getattr(p, f) for p in parts]) for f in names))


def simulate_diannao(
    layers,
    x,
    *,
    config,
    bus: str,
    simulator: str = "verilator",
    waves: bool = False,
    progress: bool = True,
    engine: str = "cocotb",
):
    """:func:`accelgen.sim.diannao.simulate` through the ``bus`` wrapper (the whole batch in
    one simulation; ``progress`` is accepted for the same signature and shows nothing)."""
    from .diannao import check

    check_engine(engine, bus=bus, simulator=simulator, waves=waves)
    xb, _ = check(layers, x, config)
    (res,) = run_diannao(
        [(list(layers), xb)], config=config, bus=bus, simulator=simulator, waves=waves,
        engine=engine,
    )  # fmt: skip
    return res
