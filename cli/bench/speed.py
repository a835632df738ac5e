"""The ``speed`` section: simulated cycles per second on Verilator and Icarus (EIE ``N = 8``,
DianNao ``Tn = 8``) and the Verilator build times."""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import cores
from ..golden import synthetic
from .context import BenchContext, Section, guarded, progress

__all__ = ["section_speed"]


@contextlib.contextmanager
def _fresh_build_root(path: Path):
    """Point the cocotb harness at an empty build folder (so build times are measured)."""
    shutil.rmtree(path, ignore_errors=True)
    saved = os.environ.get("ACCELGEN_BUILD_DIR")
    os.environ["ACCELGEN_BUILD_DIR"] = str(path)
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("ACCELGEN_BUILD_DIR", None)
        else:
            os.environ["ACCELGEN_BUILD_DIR"] = saved
        shutil.rmtree(path, ignore_errors=True)


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - t


def _measure(go: Callable[[], Any], verilog: str, toplevel: str, simulator: str) -> dict[str, Any]:
    """The model's build into the fresh folder, timed on its own (the simulate APIs build the
    same model, then find it in the cache), then two runs on the cached build: the faster one
    is reported (the machine is shared)."""
    from ..sim import runner

    _, build_s = _timed(lambda: runner.build(verilog, toplevel=toplevel, simulator=simulator))
    (res, first), (res2, second) = _timed(go), _timed(go)
    cycles = int(res.cycles.sum())
    if int(res2.cycles.sum()) != cycles:
        raise RuntimeError(f"{toplevel} on {simulator}: the two runs counted different cycles")
    return {"cycles": cycles, "build_s": build_s, "run_s": min(first, second)}


def _speed_eie(ctx: BenchContext, simulator: str) -> dict[str, Any]:
    from ..sim import eie as api
    from ..spec.eie import EIEConfig

    config = EIEConfig(n_pes=8, fifo_depth=8)
    s = synthetic.synthetic_eie(512, 512, 0.1, 0.5, seed=ctx.seed, batch=32, num=ctx.num)

    def go():
        return api.simulate([s.layer], s.x, config=config, simulator=simulator, progress=False)

    core = cores.get("eie")
    verilog = core.verilog(config)
    ctx.save_artifacts("eie_speed_n8", config, verilog)
    return _measure(go, verilog, core.verilog_name, simulator)


def _speed_diannao(ctx: BenchContext, simulator: str) -> dict[str, Any]:
    from ..sim import diannao as api
    from ..spec.diannao import DianNaoConfig

    config = DianNaoConfig(tn=8, nbin_depth=256, nbout_depth=256, sb_depth=256)
    layer, x = synthetic.synthetic_dense(
        "conv", ni=16, no=32, height=24, width=24, kernel=3, seed=ctx.seed
    )

    def go():
        return api.simulate_cases([([layer], x[None])], config=config, simulator=simulator)[0]

    core = cores.get("diannao")
    verilog = core.verilog(config)
    ctx.save_artifacts("diannao_speed_tn8", config, verilog)
    return _measure(go, verilog, core.verilog_name, simulator)


def section_speed(ctx: BenchContext) -> Section:
    sec = Section("speed", "Simulation speed")
    if ctx.quick:
        sec.skipped.append("simulation speed: skipped by --quick (needs RTL builds)")
        return sec
    runs = [
        (core, sim, fn)
        for core, fn in (("EIE N=8", _speed_eie), ("DianNao Tn=8", _speed_diannao))
        for sim in ("verilator", "icarus")
    ]
    rows = []
    for core, sim, fn in progress(runs, "simulation speed"):
        with _fresh_build_root(ctx.out / "speed-build"):
            m = guarded(
                sec,
                functools.partial(fn, ctx, sim),
                expected=ModuleNotFoundError,
                skip=f"{core} on {sim}: the core is not available",
                failed=f"{core} on {sim}",
            )
        if m is None:
            continue
        rows.append(
            {
                "core": core,
                "simulator": sim,
                "counted_cycles": m["cycles"],
                "run_wall_s": round(m["run_s"], 2),
                "cycles_per_s": round(m["cycles"] / m["run_s"]),
                "build_s": round(m["build_s"], 1),
            }
        )
    sec.tables["speed"] = rows
    sec.notes.append(
        "Cycles/s = cycles counted by the core's counters / wall time of a cached-build run (the "
        "faster of two; simulator start-up, cocotb and the host's memory loads included, whose "
        "cycles are not counted), so a lower bound. Build time = the model's build into a fresh "
        "build folder, timed on its own (with ccache, objects of an earlier build of the same "
        "model are reused). "
        "EIE: 512 x 512, 10 % weights, 50 % activations, 32 inputs. DianNao: a "
        "3 x 3 convolution, 16 -> 32 maps on 24 x 24. The machine is shared, so wall times vary."
    )
    return sec
