"""``accelgen demo``: digit recognition end to end on the generated RTL of both cores.

Steps (each announced on the console):

1. train or load (cached) the digits MLP and CNN of :mod:`accelgen.golden.models`;
2. the MLP comes pruned and weight-shared (Deep Compression) and is encoded for EIE; the CNN is
   quantized to 16-bit fixed point for DianNao; both are checked against the configured
   memories before any simulation;
3. the Verilog of both cores is generated into the report directory and simulated (the builds are
   cached by :mod:`accelgen.sim.runner`): every test image runs through the whole MLP on EIE
   (layer after layer on chip) and the whole CNN on DianNao, with a progress bar;
4. every RTL output is compared bit for bit with the golden model
   (:func:`accelgen.golden.netspec.run_eie` / :func:`~accelgen.golden.netspec.run_dense`); the
   first difference (image, layer, neuron) fails the command with exit status 1;
5. ``report.json``, ``report.md`` and PNG plots are written (see ``docs/demo.md``).

The pieces are importable: :class:`DemoConfig`, :func:`run_demo`, :func:`first_mismatch`.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .spec.config import Config, require

__all__ = [
    "DemoConfig",
    "DemoMismatch",
    "DemoResult",
    "Mismatch",
    "add_arguments",
    "first_mismatch",
    "run",
    "run_demo",
]

Log = Callable[[str], None]


@dataclass(frozen=True, kw_only=True)
class DemoConfig(Config):
    """Options of one demo run.

    Parameters
    ----------
    simulator : {"verilator", "icarus"}
        The RTL simulator.
    images : int or None
        How many images of the held-out test split to run (the first ``images``); ``None`` runs
        every one.
    pes : int
        EIE processing elements N (a power of two).
    tn : int
        DianNao NFU width Tn (a power of two, 2..16).
    waves : bool
        Dump waveforms (slow; kept in the simulation run directories).
    out : str
        The report directory.
    clock_mhz : float
        The "configured clock" for inferences/s (the synthesis Fmax is reported beside it).
    chunks : int
        Simulation runs per network the images are split into (the progress bar advances once
        per run); more runs give a smoother bar at the cost of simulator start-ups.
    lstm : bool
        Also run a small LSTM on EIE (:mod:`accelgen.demo_lstm`) and report its cycles per step.
    jobs : int
        Simulator processes run at once (1..64, default 2). With more than one, the Verilator
        or Icarus builds of both cores start in worker processes while the models train, and
        the image pieces of both networks run in parallel; 1 runs everything in this process.
    """

    simulator: Literal["verilator", "icarus"] = "verilator"
    images: int | None = None
    pes: int = 8
    tn: int = 8
    waves: bool = False
    out: str = "build/demo"
    clock_mhz: float = 200.0
    chunks: int = 8
    lstm: bool = False
    jobs: int = 2

    def __post_init__(self) -> None:
        self.validate_fields()
        require(
            self.images is None or self.images >= 1,
            f"images must be at least 1, got {self.images!r}",
        )
        require(
            self.pes >= 1 and self.pes & (self.pes - 1) == 0 and self.pes <= 256,
            f"pes must be a power of two in 1..256, got {self.pes!r}",
        )
        require(self.tn in (2, 4, 8, 16), f"tn must be a power of two in 2..16, got {self.tn!r}")
        require(
            math.isfinite(self.clock_mhz) and self.clock_mhz > 0,
            f"clock_mhz must be a positive number, got {self.clock_mhz!r}",
        )
        require(1 <= self.chunks <= 1000, f"chunks must be in 1..1000, got {self.chunks!r}")
        require(1 <= self.jobs <= 64, f"jobs must be in 1..64, got {self.jobs!r}")
        require(bool(self.out), "out must name a directory")


@dataclass(frozen=True)
class Mismatch:
    """The first RTL output that differs from the golden model."""

    network: str
    image: int
    layer: int
    neuron: tuple[int, ...]
    rtl: int
    golden: int
    located: bool = True

    def __str__(self) -> str:
        where = "" if self.located else " (first layer the RTL returned; not localised further)"
        neuron = self.neuron[0] if len(self.neuron) == 1 else self.neuron
        return (
            f"{self.network}: RTL differs from the golden model at image {self.image}, "
            f"layer {self.layer}{where}, neuron {neuron}: RTL {self.rtl}, golden {self.golden}"
        )

    def to_json(self) -> dict:
        return {
            "network": self.network,
            "image": self.image,
            "layer": self.layer,
            "neuron": list(self.neuron),
            "rtl": self.rtl,
            "golden": self.golden,
            "located": self.located,
        }


@dataclass
class DemoResult:
    """What :func:`run_demo` returns: the report and the RTL's final outputs per network."""

    report: dict
    rtl_outputs: dict[str, np.ndarray]


class DemoMismatch(Exception):
    """Raised by :func:`run_demo` when an RTL output differs; carries the report written."""

    def __init__(self, mismatch: Mismatch, report: dict):
        super().__init__(str(mismatch))
        self.mismatch = mismatch
        self.report = report


def first_mismatch(
    network: str,
    rtl: Sequence[np.ndarray | None],
    golden: Sequence[np.ndarray],
    *,
    image_ids: Sequence[int] | None = None,
) -> Mismatch | None:
    """Compare per-layer RTL outputs with the golden ones; return the first difference.

    Parameters
    ----------
    network:
        Name used in the message.
    rtl, golden:
        For each layer, the outputs of every image, ``[images, ...]``. An RTL entry may be
        ``None`` for a layer the core did not return (only the last layer's output leaves the
        chip); such layers are skipped.
    image_ids:
        The test-split index of each row (default ``0, 1, ...``).

    Returns
    -------
    Mismatch or None
        The smallest image with any difference, its earliest differing layer and, within that
        layer, the first differing neuron (C order; ``(channel, y, x)`` for feature maps).
    """
    if len(rtl) != len(golden):
        raise ValueError(
            f"{network}: RTL returned {len(rtl)} layers, the golden model {len(golden)}"
        )
    diff_rows: list[np.ndarray] = []
    for i, (r, g) in enumerate(zip(rtl, golden, strict=True)):
        if r is None:
            diff_rows.append(np.zeros(len(golden[0]), dtype=bool))
            continue
        r, g = np.asarray(r), np.asarray(g)
        if r.shape != g.shape:
            raise ValueError(
                f"{network}: layer {i} RTL output has shape {r.shape}, golden {g.shape}"
            )
        diff_rows.append((r.astype(np.int64) != g.astype(np.int64)).reshape(len(g), -1).any(1))
    bad = np.flatnonzero(np.any(diff_rows, axis=0)) if diff_rows else np.zeros(0, int)
    if bad.size == 0:
        return None
    row = int(bad[0])
    layer = next(i for i, d in enumerate(diff_rows) if d[row])
    r = np.asarray(rtl[layer])[row].astype(np.int64)
    g = np.asarray(golden[layer])[row].astype(np.int64)
    flat = int(np.flatnonzero((r != g).reshape(-1))[0])
    neuron = tuple(int(v) for v in np.unravel_index(flat, g.shape))
    image = int(image_ids[row]) if image_ids is not None else row
    located = all(x is not None for x in rtl[:layer])
    return Mismatch(network, image, layer, neuron, int(r[neuron]), int(g[neuron]), located)


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


def _simulate(core: str, layers: list, xs: np.ndarray, core_cfg, cfg: DemoConfig) -> CoreRun:
    """Run one batch of images through one core (in a worker process when ``cfg.jobs > 1``)."""
    t0 = time.monotonic()
    simulate = _simulate_eie if core == "eie" else _simulate_diannao
    run = simulate(layers, xs, core_cfg, cfg)
    run.wall_s = time.monotonic() - t0
    return run


def _prebuild(core: str, core_cfg, cfg: DemoConfig) -> None:
    """Build (or find cached) a core's simulation model."""
    from .sim.runner import build

    text, top = _core_verilog(core, core_cfg)
    build(text, toplevel=top, simulator=cfg.simulator, waves=cfg.waves)


def _pieces(n: int, chunks: int) -> list[tuple[int, int]]:
    size = max(1, math.ceil(n / chunks))
    return [(a, min(a + size, n)) for a in range(0, n, size)]


def _run_networks(
    nets: Sequence[tuple[_Network, Any]], cfg: DemoConfig, pool, progress: bool
) -> None:
    """Run every network's images in ``cfg.chunks`` pieces, on ``pool`` when there is one.

    The pieces of the networks are interleaved so that both cores' simulators run at once;
    one progress bar per network advances as its pieces finish. Sets ``net.run``.
    """
    from tqdm import tqdm

    pieces = [_pieces(len(net.x), cfg.chunks) for net, _ in nets]
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
                done[k, a] = _simulate(net.core, net.layers, net.x[a:b], core_cfg, cfg)
                bars[k].update(b - a)
        else:
            from concurrent.futures import as_completed

            futures = {
                pool.submit(
                    _simulate,
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
class _Network:
    """One network of the demo, its core, and everything measured about it."""

    key: str
    title: str
    core: str
    layers: list
    x: np.ndarray
    golden: list[np.ndarray]
    run: CoreRun | None = None
    mismatch: Mismatch | None = None


def _localise(
    net: _Network, mismatch: Mismatch, simulate_layer: Callable[[int, np.ndarray], Any]
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


def run_demo(cfg: DemoConfig, *, log: Log = print, progress: bool = True) -> DemoResult:
    """Run the whole demo; return the report (also written to ``cfg.out``) and RTL outputs.

    Raises
    ------
    DemoMismatch
        An RTL output differs from the golden model (the report is written first).
    ValueError
        A bad option, or a model that does not fit the configured cores (before simulating).
    """
    from .golden import train

    # the one option that needs the data is checked before any worker starts
    total = len(train.digits_split().y_test)
    require(
        cfg.images is None or cfg.images <= total,
        f"images must be at most {total} (the test split), got {cfg.images}",
    )
    with contextlib.ExitStack() as stack:
        pool = None
        if cfg.jobs > 1:
            pool = stack.enter_context(_worker_pool(cfg.jobs))
            # the simulator builds do not depend on the models: start them first
            for core, core_cfg in (("eie", _eie_config(cfg)), ("diannao", _diannao_config(cfg))):
                pool.submit(_prebuild, core, core_cfg, cfg)
        return _run_demo(cfg, pool, log=log, progress=progress)


@contextlib.contextmanager
def _worker_pool(jobs: int):
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


def _run_demo(cfg: DemoConfig, pool, *, log: Log, progress: bool) -> DemoResult:
    from .golden.compress import compression_report
    from .golden.energy import diannao_energy, eie_energy
    from .golden.netspec import run_dense, run_eie

    t_start = time.monotonic()
    out = Path(cfg.out)

    log("[1/5] Digits models (trained on the first run, then loaded from the cache)")
    t0 = time.monotonic()
    models = _load_models(cfg)
    x_mlp_all, x_cnn_all, labels_all = models.x_mlp, models.x_cnn, models.labels
    total = len(labels_all)
    n = total if cfg.images is None else cfg.images
    x_mlp, x_cnn, labels = x_mlp_all[:n], x_cnn_all[:n], labels_all[:n]
    log(
        f"      MLP {_shape_text(models.mlp_layers)}, CNN {len(models.cnn_layers)} layers; "
        f"{n} of {total} test images ({time.monotonic() - t0:.1f} s)"
    )

    log(
        f"[2/5] Compress the MLP for EIE (N = {cfg.pes}), quantize the CNN for DianNao "
        f"(Tn = {cfg.tn})"
    )
    eie_cfg, dn_cfg = _eie_config(cfg), _diannao_config(cfg)
    _check_fit(models, eie_cfg, dn_cfg)
    comp = compression_report(models.mlp_layers, cfg.pes)
    log(
        f"      MLP weight density {comp.density:.1%}, compression {comp.ratio:.1f}x "
        f"({comp.ratio_huffman:.1f}x with Huffman); both networks fit the configured memories"
    )

    log(f"[3/5] Generate the Verilog and run the images on {cfg.simulator}")
    artefacts = {
        "eie": _write_core(out / "eie", "eie", eie_cfg),
        "diannao": _write_core(out / "diannao", "diannao", dn_cfg),
    }
    mlp = _Network(
        "mlp_eie",
        "MLP on EIE",
        "eie",
        models.mlp_layers,
        x_mlp,
        run_eie(models.mlp_layers, x_mlp, num=models.mlp_numerics, n_pes=cfg.pes),
    )
    cnn = _Network(
        "cnn_diannao",
        "CNN on DianNao",
        "diannao",
        models.cnn_layers,
        x_cnn,
        run_dense(models.cnn_layers, x_cnn, num=models.cnn_numerics, group=cfg.tn),
    )
    t0 = time.monotonic()
    _run_networks([(mlp, eie_cfg), (cnn, dn_cfg)], cfg, pool, progress)
    log(
        f"      {n} images through both cores in {time.monotonic() - t0:.1f} s "
        f"({cfg.jobs} simulator process{'es' if cfg.jobs > 1 else ''} at a time)"
    )

    log("[4/5] Compare every RTL output with the golden model, bit for bit")
    ids = list(range(n))
    for net, one_layer in (
        (mlp, lambda i, xs: _simulate_eie([mlp.layers[i]], xs, eie_cfg, cfg).outputs[-1]),
        (cnn, lambda i, xs: _simulate_diannao([cnn.layers[i]], xs, dn_cfg, cfg).outputs[-1]),
    ):
        net.mismatch = first_mismatch(net.title, net.run.outputs, net.golden, image_ids=ids)
        if net.mismatch is not None and not net.mismatch.located:
            net.mismatch = _localise(net, net.mismatch, one_layer)
        checked = sum(int(np.asarray(o).size) for o in net.run.outputs if o is not None)
        log(
            f"      {net.title}: "
            + (f"MISMATCH - {net.mismatch}" if net.mismatch else f"{checked} outputs bit-exact")
        )

    lstm_section = None
    if cfg.lstm:
        lstm_section = _run_lstm(cfg, eie_cfg, log)

    log("[5/5] Report")
    eie_inputs = [x_mlp] + [
        r if r is not None else g
        for r, g in zip(mlp.run.outputs[:-1], mlp.golden[:-1], strict=True)
    ]
    energy = {
        "mlp_eie": eie_energy(
            mlp.layers, eie_inputs, num=models.mlp_numerics, n_pes=cfg.pes, n_inferences=n
        ),
        "cnn_diannao": diannao_energy(
            cnn.layers,
            tuple(x_cnn.shape[1:]),
            num=models.cnn_numerics,
            tn=cfg.tn,
            sb_bytes=dn_cfg.sb_bytes,
            n_inferences=n,
        ),
    }
    from .demo_report import build_report, write_report

    report = build_report(
        cfg=cfg,
        models=models,
        labels=labels,
        networks=(mlp, cnn),
        configs={"eie": eie_cfg, "diannao": dn_cfg},
        artefacts=artefacts,
        compression=comp,
        energy=energy,
        wall_s=time.monotonic() - t_start,
    )
    if lstm_section is not None:
        report["lstm"] = lstm_section
    files = write_report(report, out, images=models.images[:n], labels=labels)
    for f in files:
        log(f"      wrote {f}")
    for net in (mlp, cnn):
        if net.mismatch is not None:
            raise DemoMismatch(net.mismatch, report)
    if lstm_section is not None and lstm_section["mismatch"] is not None:
        raise DemoMismatch(Mismatch(**lstm_section["mismatch"]), report)
    return DemoResult(report, {net.key: net.run.outputs[-1] for net in (mlp, cnn)})


def _run_lstm(cfg: DemoConfig, eie_cfg, log: Log) -> dict:
    from .demo_lstm import lstm_task, run_lstm

    num = eie_cfg.numerics
    task = lstm_task(num)
    log(
        f"[4/5] LSTM on EIE: {task.x.shape[0]} generated sequences x {task.x.shape[1]} steps, "
        f"hidden {task.hidden}"
    )

    def gates(layer, xh):
        run = _simulate_eie([layer], xh, eie_cfg, cfg)
        return run.outputs[-1], run.cycles

    return run_lstm(task, gates, num=num, n_pes=cfg.pes, log=log)


def _shape_text(layers: Sequence) -> str:
    return "-".join([str(layers[0].shape[1])] + [str(layer.shape[0]) for layer in layers])


def add_arguments(parser: argparse.ArgumentParser) -> None:
    d = DemoConfig()
    parser.add_argument(
        "--simulator",
        choices=("verilator", "icarus"),
        default=d.simulator,
        help=f"RTL simulator (default {d.simulator})",
    )
    parser.add_argument(
        "--images",
        type=int,
        default=None,
        metavar="N",
        help="run the first N test images (default: every image of the held-out test split)",
    )
    parser.add_argument(
        "--pes", type=int, default=d.pes, metavar="N", help=f"EIE PEs (default {d.pes})"
    )
    parser.add_argument(
        "--tn", type=int, default=d.tn, metavar="N", help=f"DianNao NFU width Tn (default {d.tn})"
    )
    parser.add_argument("--waves", action="store_true", help="dump waveforms (slow)")
    parser.add_argument(
        "-o", "--out", default=d.out, metavar="DIR", help=f"report directory (default {d.out})"
    )
    parser.add_argument(
        "--clock-mhz",
        type=float,
        default=d.clock_mhz,
        metavar="MHZ",
        help=f"configured clock for inferences/s (default {d.clock_mhz:g})",
    )
    parser.add_argument(
        "--lstm", action="store_true", help="also run a small LSTM on EIE (cycles per step)"
    )
    parser.add_argument(
        "--chunks",
        type=int,
        default=d.chunks,
        metavar="K",
        help=f"simulation runs per network (progress-bar steps, default {d.chunks})",
    )
    parser.add_argument(
        "-j",
        "--jobs",
        type=int,
        default=d.jobs,
        metavar="J",
        help=f"simulator processes at once (default {d.jobs}; 1 = no worker processes)",
    )


def run(args: argparse.Namespace) -> int:
    import sys

    cfg = DemoConfig(
        simulator=args.simulator,
        images=args.images,
        pes=args.pes,
        tn=args.tn,
        waves=args.waves,
        out=args.out,
        clock_mhz=args.clock_mhz,
        chunks=args.chunks,
        lstm=args.lstm,
        jobs=args.jobs,
    )
    try:
        report = run_demo(cfg).report
    except DemoMismatch as e:
        print(f"accelgen demo: FAILED: {e}", file=sys.stderr)
        print(f"accelgen demo: report written to {cfg.out}/report.md", file=sys.stderr)
        return 1
    summary = ", ".join(
        f"{net['title']} RTL accuracy {net['accuracy']['rtl']:.2%}"
        for net in report["networks"].values()
    )
    print(f"demo passed: {summary}; report in {Path(cfg.out) / 'report.md'}")
    return 0


@dataclass
class _Models:
    """The two trained networks and the test split, as the demo uses them."""

    mlp_layers: list
    mlp_numerics: Any
    cnn_layers: list
    cnn_numerics: Any
    x_mlp: np.ndarray  # [n, 64] fixed point
    x_cnn: np.ndarray  # [n, C, H, W] fixed point
    labels: np.ndarray
    images: np.ndarray  # [n, 8, 8] pixels for the plots
    accuracy: dict[str, dict[str, float]]  # network -> {"float": ..., "fixed": ..., ...}


def _load_models(cfg: DemoConfig) -> _Models:
    """The digits MLP and CNN in the numeric formats of the configured cores."""
    from .golden import models

    mlp = models.digits_mlp(num=_eie_config(cfg).numerics, n_pes=cfg.pes)
    cnn = models.digits_cnn(cfg.tn, num=_diannao_config(cfg).numerics)
    data = models.digits_data(mlp.numerics)
    cnn_data = models.digits_data(cnn.numerics)
    return _Models(
        mlp_layers=list(mlp.layers),
        mlp_numerics=mlp.numerics,
        cnn_layers=list(cnn.layers),
        cnn_numerics=cnn.numerics,
        x_mlp=np.asarray(data.x),
        x_cnn=np.asarray(cnn_data.x).reshape((-1, *cnn.input_shape)),
        labels=np.asarray(data.y),
        images=np.asarray(data.x_float).reshape(-1, 8, 8),
        accuracy={
            "mlp_eie": {
                "float": mlp.float_accuracy,
                "fixed": mlp.fixed_accuracy,
                "compressed_float": mlp.compressed_float_accuracy,
                "compressed": mlp.compressed_accuracy,
            },
            "cnn_diannao": {"float": cnn.float_accuracy, "fixed": cnn.fixed_accuracy},
        },
    )


def _eie_config(cfg: DemoConfig) -> Any:
    """The EIE core of the demo: the default configuration with ``cfg.pes`` PEs."""
    from .spec.eie import EIEConfig

    return EIEConfig(n_pes=cfg.pes)


def _diannao_config(cfg: DemoConfig) -> Any:
    """The DianNao core of the demo: the default configuration with ``cfg.tn``."""
    from .spec.diannao import DianNaoConfig

    return DianNaoConfig(tn=cfg.tn)


def _check_fit(models: _Models, eie_cfg, dn_cfg) -> None:
    from .sim import diannao as diannao_api
    from .sim import eie as eie_api

    eie_api.check_fits(models.mlp_layers, eie_cfg)
    diannao_api.check_mappable(models.cnn_layers, models.x_cnn.shape, dn_cfg)


def _core_verilog(core: str, config) -> tuple[str, str]:
    """``(Verilog text, top module)`` of a core, exactly what its API simulates."""
    from . import cores

    entry = cores.get(core)
    return entry.verilog(config), entry.verilog_name


def _write_core(directory: Path, core: str, config) -> dict[str, str]:
    """Write a core's Verilog, resolved config and report into ``directory``."""
    import json

    directory.mkdir(parents=True, exist_ok=True)
    text, toplevel = _core_verilog(core, config)
    verilog = directory / f"{core}.v"
    verilog.write_text(text)
    config.save(directory / "config.json")
    report = config.report() if hasattr(config, "report") else {"config": config.to_json()}
    (directory / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    return {
        "verilog": str(verilog),
        "config": str(directory / "config.json"),
        "report": str(directory / "report.json"),
        "toplevel": toplevel,
    }


def _simulate_eie(layers, x: np.ndarray, eie_cfg, cfg: DemoConfig) -> CoreRun:
    from .sim import eie as api

    res = api.simulate(
        layers,
        x,
        config=eie_cfg,
        simulator=cfg.simulator,
        waves=cfg.waves,
        progress=False,
        chunk=len(x),
    )
    return CoreRun(
        outputs=[None] * (len(layers) - 1) + [np.asarray(res.y)],
        cycles=np.asarray(res.cycles).reshape(len(x)),
        layer_cycles=np.asarray(res.layer_cycles).reshape(len(x), len(layers)),
        stats={
            "pe_busy": np.asarray(res.pe_busy).reshape(len(x), len(layers), -1),
            "pe_starved": np.asarray(res.pe_starved).reshape(len(x), len(layers), -1),
        },
    )


def _simulate_diannao(layers, x: np.ndarray, dn_cfg, cfg: DemoConfig) -> CoreRun:
    from .sim import diannao as api

    res = api.simulate(
        layers,
        x,
        config=dn_cfg,
        simulator=cfg.simulator,
        waves=cfg.waves,
        progress=False,
        chunk=len(x),
    )
    return CoreRun(
        outputs=[np.asarray(o) for o in res.outputs],
        cycles=np.asarray(res.cycles).reshape(len(x)),
        layer_cycles=np.asarray(res.layer_cycles).reshape(len(x), len(layers)),
        stats={  # whole-run counters, one row per simulation run
            "useful_ops": np.asarray(res.useful_ops).reshape(1, len(layers)),
            "nfu_busy": np.asarray(res.nfu_busy).reshape(1, len(layers)),
            "stall_cycles": np.asarray(res.stall_cycles).reshape(1, len(layers)),
        },
    )
