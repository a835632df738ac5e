"""The five steps of ``accelgen demo`` (:func:`run_demo`): models, compression and fit check,
Verilog and simulation, the bit-for-bit comparison, the report."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..spec.config import require
from .compare import DemoMismatch, Mismatch, first_mismatch
from .config import DemoConfig, core_configs
from .networks import check_fit, load_models, shape_text
from .running import (
    Network,
    localise,
    prebuild,
    run_networks,
    simulate,
    worker_pool,
    write_core,
)

__all__ = ["DemoResult", "Log", "run_demo"]

Log = Callable[[str], None]


@dataclass
class DemoResult:
    """What :func:`run_demo` returns: the report and the RTL's final outputs per network."""

    report: dict
    rtl_outputs: dict[str, np.ndarray]


def run_demo(cfg: DemoConfig, *, log: Log = print, progress: bool = True) -> DemoResult:
    """Run the whole demo; return the report (also written to ``cfg.out``) and RTL outputs.

    Raises
    ------
    DemoMismatch
        An RTL output differs from the golden model (the report is written first).
    ValueError
        A bad option, or a model that does not fit the configured cores (before simulating).
    """
    from .. import outputs
    from ..golden import train

    outputs.check_output_dir(cfg.out, flag="-o/--out")
    # the one option that needs the data is checked before any worker starts
    total = len(train.digits_split().y_test)
    require(
        cfg.images is None or cfg.images <= total,
        f"images must be at most {total} (the test split), got {cfg.images}",
    )
    with contextlib.ExitStack() as stack:
        pool = None
        if cfg.jobs > 1:
            pool = stack.enter_context(worker_pool(cfg.jobs))
            # the simulator builds do not depend on the models: start them first
            for core, core_cfg in core_configs(cfg).items():
                pool.submit(prebuild, core, core_cfg, cfg)
        return _run_demo(cfg, pool, log=log, progress=progress)


def _run_demo(cfg: DemoConfig, pool, *, log: Log, progress: bool) -> DemoResult:
    """The demo, its report built in a temporary folder that becomes ``cfg.out`` at the end
    (:func:`accelgen.outputs.atomic_dir`): a mismatch is a result (report written, then
    :class:`DemoMismatch`); any other error leaves nothing at ``cfg.out``."""
    from .. import outputs

    final = Path(cfg.out)
    with outputs.atomic_dir(final) as tmp:
        result, files, mismatch = _run_demo_into(cfg, pool, tmp, final, log=log, progress=progress)
    for f in files:
        log(f"      wrote {final / f.relative_to(tmp)}")
    if mismatch is not None:
        raise mismatch
    return result


def _run_demo_into(cfg: DemoConfig, pool, out: Path, final: Path, *, log: Log, progress: bool):
    """The demo writing into ``out`` (named ``final`` in the report): ``(result, files written,
    DemoMismatch or None)``."""
    from ..golden.compress import compression_report
    from ..golden.energy import diannao_energy, eie_energy
    from ..golden.netspec import run_dense, run_eie

    t_start = time.monotonic()

    log("[1/5] Digits models (trained on the first run, then loaded from the cache)")
    t0 = time.monotonic()
    models = load_models(cfg)
    x_mlp_all, x_cnn_all, labels_all = models.x_mlp, models.x_cnn, models.labels
    total = len(labels_all)
    n = total if cfg.images is None else cfg.images
    x_mlp, x_cnn, labels = x_mlp_all[:n], x_cnn_all[:n], labels_all[:n]
    log(
        f"      MLP {shape_text(models.mlp_layers)}, CNN {len(models.cnn_layers)} layers; "
        f"{n} of {total} test images ({time.monotonic() - t0:.1f} s)"
    )

    log(
        f"[2/5] Compress the MLP for EIE (N = {cfg.pes}), quantize the CNN for DianNao "
        f"(Tn = {cfg.tn})"
    )
    configs = core_configs(cfg)
    eie_cfg, dn_cfg = configs["eie"], configs["diannao"]
    check_fit(models, configs)
    comp = compression_report(models.mlp_layers, cfg.pes)
    log(
        f"      MLP weight density {comp.density:.1%}, compression {comp.ratio:.1f}x "
        f"({comp.ratio_huffman:.1f}x with Huffman); both networks fit the configured memories"
    )

    log(
        f"[3/5] Generate the Verilog and run the images on {cfg.simulator} "
        f"({cfg.sim_engine} engine)"
    )
    artefacts = {
        core: write_core(out / core, core, c, shown=final / core) for core, c in configs.items()
    }
    mlp = Network(
        "mlp_eie",
        "MLP on EIE",
        "eie",
        models.mlp_layers,
        x_mlp,
        run_eie(models.mlp_layers, x_mlp, num=models.mlp_numerics, n_pes=cfg.pes),
    )
    cnn = Network(
        "cnn_diannao",
        "CNN on DianNao",
        "diannao",
        models.cnn_layers,
        x_cnn,
        run_dense(models.cnn_layers, x_cnn, num=models.cnn_numerics, group=cfg.tn),
    )
    t0 = time.monotonic()
    run_networks([(mlp, eie_cfg), (cnn, dn_cfg)], cfg, pool, progress)
    log(
        f"      {n} images through both cores in {time.monotonic() - t0:.1f} s "
        f"({cfg.jobs} simulator process{'es' if cfg.jobs > 1 else ''} at a time)"
    )

    log("[4/5] Compare every RTL output with the golden model, bit for bit")
    ids = list(range(n))
    for net in (mlp, cnn):
        net.mismatch = first_mismatch(net.title, net.run.outputs, net.golden, image_ids=ids)
        if net.mismatch is not None and not net.mismatch.located:
            net.mismatch = localise(net, net.mismatch, _one_layer(net, configs[net.core], cfg))
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
    from .report import build_report, write_report

    report = build_report(
        cfg=cfg,
        models=models,
        labels=labels,
        networks=(mlp, cnn),
        configs=configs,
        artefacts=artefacts,
        compression=comp,
        energy=energy,
        wall_s=time.monotonic() - t_start,
    )
    if lstm_section is not None:
        report["lstm"] = lstm_section
    files = write_report(report, out, images=models.images[:n], labels=labels)
    mismatch = None
    for net in (mlp, cnn):
        if net.mismatch is not None and mismatch is None:
            mismatch = DemoMismatch(net.mismatch, report)
    if mismatch is None and lstm_section is not None and lstm_section["mismatch"] is not None:
        mismatch = DemoMismatch(Mismatch(**lstm_section["mismatch"]), report)
    result = DemoResult(report, {net.key: net.run.outputs[-1] for net in (mlp, cnn)})
    return result, files, mismatch


def _one_layer(net: Network, core_cfg, cfg: DemoConfig) -> Callable[[int, np.ndarray], Any]:
    """``(layer index, inputs) -> outputs`` of one layer of ``net`` alone on its core's RTL."""

    def run(i: int, xs: np.ndarray) -> Any:
        return simulate(net.core, [net.layers[i]], xs, core_cfg, cfg).outputs[-1]

    return run


def _run_lstm(cfg: DemoConfig, eie_cfg, log: Log) -> dict:
    from .lstm import lstm_task, run_lstm

    num = eie_cfg.numerics
    task = lstm_task(num)
    log(
        f"[4/5] LSTM on EIE: {task.x.shape[0]} generated sequences x {task.x.shape[1]} steps, "
        f"hidden {task.hidden}"
    )

    def gates(layer, xh):
        run = simulate("eie", [layer], xh, eie_cfg, cfg)
        return run.outputs[-1], run.cycles

    return run_lstm(task, gates, num=num, n_pes=cfg.pes, log=log)
