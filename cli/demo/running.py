"""Running the demo's networks on the cores' RTL: :func:`simulate` runs one batch of images
through one core (looked up in the core registry, :mod:`accelgen.cores`), :func:`run_networks`
splits the images into pieces and runs them in worker processes (:func:`worker_pool`),
:func:`localise` re-runs the layers of one image to find the first wrong one, and
:func:`write_core` writes a core's Verilog, configuration and report."""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import cores
from .compare import Mismatch, first_mismatch
from .config import DemoConfig

__all__ = [
    "CoreRun",
    "Network",
    "localise",
    "image_pieces",
    "prebuild",
    "run_networks",
    "simulate",
    "worker_pool",
    "write_core",
]


@dataclass
class CoreRun:
    """What a core returned for a batch of images (every array has one row per image)."""

    outputs: list[np.ndarray | None]
    cycles: np.ndarray
    layer_cycles: np.ndarray
    stats: dict[str, np.ndarray]
    wall_s: float = 0.0

    @staticmethod
    def concat(parts: Sequence[CoreRun]) -> CoreRun:
        n_layers = len(parts[0].outputs)
        outputs: list[np.ndarray | None] = []
        for i in range(n_layers):
            layer = [p.outputs[i] for p in parts]
            outputs.append(None if any(o is None for o in layer) else np.concatenate(layer))
        return CoreRun(
            outputs,
            np.concatenate([p.cycles for p in parts]),
            np.concatenate([p.layer_cycles for p in parts]),
            {k: np.concatenate([p.stats[k] for p in parts]) for k in parts[0].stats},
            sum(p.wall_s for p in parts),
        )


def _eie_run(res, n_layers: int, n: int) -> CoreRun:
    """EIE returns the last layer's outputs (the others stay on chip) and per-PE counters."""
    return CoreRun(
        outputs=[None] * (n_layers - 1) + [np.asarray(res.y)],
        cycles=np.asarray(res.cycles).reshape(n),
        layer_cycles=np.asarray(res.layer_cycles).reshape(n, n_layers),
        stats={
            "pe_busy": np.asarray(res.pe_busy).reshape(n, n_layers, -1),
            "pe_starved": np.asarray(res.pe_starved).reshape(n, n_layers, -1),
        },
    )


def _diannao_run(res, n_layers: int, n: int) -> CoreRun:
    """DianNao returns every layer's outputs and whole-run NFU counters."""
    return CoreRun(
        outputs=[np.asarray(o) for o in res.outputs],
        cycles=np.asarray(res.cycles).reshape(n),
        layer_cycles=np.asarray(res.layer_cycles).reshape(n, n_layers),
        stats={  # whole-run counters, one row per simulation run
            "useful_ops": np.asarray(res.useful_ops).reshape(1, n_layers),
            "nfu_busy": np.asarray(res.nfu_busy).reshape(1, n_layers),
            "stall_cycles": np.asarray(res.stall_cycles).reshape(1, n_layers),
        },
    )


#: Core name -> ``(simulate() result, layers, images) -> CoreRun``.
_CORE_RUNS: dict[str, Callable[[Any, int, int], CoreRun]] = {
    "eie": _eie_run,
    "diannao": _diannao_run,
}


def simulate(core: str, layers: list, xs: np.ndarray, core_cfg, cfg: DemoConfig) -> CoreRun:
    """Run one batch of images through one core (in a worker process when ``cfg.jobs > 1``)."""
    t0 = time.monotonic()
    res = cores.get(core).simulate(
        layers,
        xs,
        config=core_cfg,
        simulator=cfg.simulator,
        waves=cfg.waves,
        progress=False,
        chunk=len(xs),
        engine=cfg.sim_engine,
    )
    run = _CORE_RUNS[core](res, len(layers), len(xs))
    run.wall_s = time.monotonic() - t0
    return run


def prebuild(core: str, core_cfg, cfg: DemoConfig) -> None:
    """Build (or find cached) a core's simulation model (the native harness or cocotb's)."""
    from ..sim.native import build_native
    from ..sim.runner import build

    entry = cores.get(core)
    if cfg.sim_engine == "native":
        build_native(entry.verilog(core_cfg), toplevel=entry.verilog_name, core=core)
        return
    build(
        entry.verilog(core_cfg),
        toplevel=entry.verilog_name,
        simulator=cfg.simulator,
        waves=cfg.waves,
    )


def image_pieces(n: int, chunks: int) -> list[tuple[int, int]]:
    size = max(1, math.ceil(n / chunks))
    return [(a, min(a + size, n)) for a in range(0, n, size)]


def run_networks(
    nets: Sequence[tuple[Network, Any]], cfg: DemoConfig, pool, progress: bool
) -> None:
    """Run every network's images in ``cfg.chunks`` pieces, on ``pool`` when there is one.

    The pieces of the networks are interleaved so that both cores' simulators run at once;
    one progress bar per network advances as its pieces finish. Sets ``net.run``.
    """
    from tqdm import tqdm

    pieces = [image_pieces(len(net.x), cfg.chunks) for net, _ in nets]
    order = [
        (k, a, b)
        for i in range(max(len(p) for p in pieces))
        for k, p in enumerate(pieces)
        if i < len(p)
        for a, b in [p[i]]
    ]
    bars = [
        tqdm(
            total=len(net.x),
            desc=f"    {net.title}",
            unit="img",
            position=k,
            disable=not progress,
            leave=True,
        )
        for k, (net, _) in enumerate(nets)
    ]
    done: dict[tuple[int, int], CoreRun] = {}
    try:
        if pool is None:
            for k, a, b in order:
                net, core_cfg = nets[k]
                done[k, a] = simulate(net.core, net.layers, net.x[a:b], core_cfg, cfg)
                bars[k].update(b - a)
        else:
            from concurrent.futures import as_completed

            futures = {
                pool.submit(
                    simulate,
                    nets[k][0].core,
                    nets[k][0].layers,
                    nets[k][0].x[a:b],
                    nets[k][1],
                    cfg,
                ): (k, a, b)
                for k, a, b in order
            }
            for future in as_completed(futures):
                k, a, b = futures[future]
                done[k, a] = future.result()
                bars[k].update(b - a)
    finally:
        for bar in bars:
            bar.close()
    for k, (net, _) in enumerate(nets):
        net.run = CoreRun.concat([done[k, a] for a, _ in pieces[k]])


@dataclass
class Network:
    """One network of the demo, its core, and everything measured about it."""

    key: str
    title: str
    core: str
    layers: list
    x: np.ndarray
    golden: list[np.ndarray]
    run: CoreRun | None = None
    mismatch: Mismatch | None = None


def localise(
    net: Network, mismatch: Mismatch, simulate_layer: Callable[[int, np.ndarray], Any]
) -> Mismatch:
    """Find the first layer that goes wrong for one image by running the layers one by one.

    Each layer gets the golden input of that image, so the first layer whose RTL output differs
    is the culprit even when only the last layer's output left the chip. The demo runs the first
    images of the split, so an image number is also its row in ``net.x``.
    """
    row = mismatch.image
    for i in range(len(net.layers)):
        x_in = net.x[row : row + 1] if i == 0 else net.golden[i - 1][row : row + 1]
        y = np.asarray(simulate_layer(i, x_in))
        g = net.golden[i][row : row + 1]
        found = first_mismatch(net.title, [y.reshape(g.shape)], [g], image_ids=[mismatch.image])
        if found is not None:
            return Mismatch(
                net.title, mismatch.image, i, found.neuron, found.rtl, found.golden, True
            )
    return mismatch


@contextlib.contextmanager
def worker_pool(jobs: int):
    """Worker processes for the simulations (the cocotb harness is not thread-safe).

    On an error (a bad option found after the builds started, a failed simulation, Ctrl-C) the
    workers are stopped at once instead of finishing their builds; an interrupted build leaves
    no cache stamp and is redone by the next run.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"))
    try:
        yield pool
    except BaseException:
        for proc in list((getattr(pool, "_processes", None) or {}).values()):
            proc.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def write_core(directory: Path, core: str, config, *, shown: Path | None = None) -> dict[str, str]:
    """Write a core's Verilog, resolved config and report (as ``accelgen generate`` does) into
    ``directory``; the paths returned name the files in ``shown`` (where the folder ends up;
    default ``directory``)."""
    shown = directory if shown is None else shown
    entry = cores.get(core)
    directory.mkdir(parents=True, exist_ok=True)
    verilog = directory / entry.verilog_file
    verilog.write_text(entry.verilog(config))
    config.save(directory / "config.json")
    (directory / "report.json").write_text(json.dumps(entry.report(config), indent=2) + "\n")
    return {
        "verilog": str(shown / verilog.name),
        "config": str(shown / "config.json"),
        "report": str(shown / "report.json"),
        "toplevel": entry.verilog_name,
    }
