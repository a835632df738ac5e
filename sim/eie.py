"""Python API of the EIE core: run compressed FC networks on the generated RTL.

>>> from accelgen.sim.eie import EIEConfig, EIELayer, simulate
>>> res = simulate([layer0, layer1], x, config=EIEConfig(n_pes=8))   # doctest: +SKIP
>>> res.y, res.cycles, res.layer_cycles, res.pe_busy, res.pe_starved  # doctest: +SKIP

The whole network is loaded once per simulation chunk; then every input of the chunk runs
through all layers on chip (each layer's output stays in the register files and feeds the
next layer). All cycle counts come from the RTL's counters (``EIETop``). The first input of
each chunk starts with the bias pass of layer 0 (the network was just loaded): predict it
with ``golden.eie_cycles.predict_for(layers, x, config, reload_every=chunk)`` (the config's
options included; the default config has options (c), (d) and (e) on).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from accelgen.golden.netspec import EIELayer
from accelgen.hdl.eie.top import TOP_MODULE, verilog
from accelgen.host.eie import EIEImage, build_image, check_fits
from accelgen.spec.eie import EIEConfig, MemoryMap

__all__ = [
    "EIEConfig",
    "EIELayer",
    "EIEResult",
    "Job",
    "check_fits",
    "check_input",
    "run_jobs",
    "simulate",
    "verilog",
]

DEFAULT_CHUNK = 256


@dataclass(frozen=True)
class EIEResult:
    """Outputs and measured cycle counts of a batch.

    Attributes
    ----------
    y : int16[batch, out_last]
        Outputs of the last layer.
    cycles : int64[batch]
        Total cycles from ``start`` to ``done`` (all layers; the first input of a batch
        includes the bias pass that follows loading the network).
    layer_cycles : int64[batch, n_layers]
        Cycles of each layer: its run, plus the cycle between two layers (layers > 0) or the
        bias pass (layer 0 of the first input).
    pe_busy, pe_starved : int64[batch, n_layers, n_pes]
        Per layer and PE: cycles issuing a matrix entry / cycles idle with an empty
        activation queue.
    """

    y: np.ndarray
    cycles: np.ndarray
    layer_cycles: np.ndarray
    pe_busy: np.ndarray
    pe_starved: np.ndarray


@dataclass(frozen=True)
class Job:
    """A network image and a batch of inputs to run in one simulation."""

    image: EIEImage
    x: np.ndarray


def check_input(x, layers: Sequence[EIELayer], config: EIEConfig) -> np.ndarray:
    """Validate ``x`` (int[in] or int[batch, in], fits ``act_bits``); return it as int64 2-D."""
    a = np.asarray(x)
    if a.dtype.kind not in "iu":
        raise TypeError(f"x must be an integer array (int16), got dtype {a.dtype}")
    if a.ndim not in (1, 2):
        raise ValueError(f"x must be [in] or [batch, in], got shape {a.shape}")
    n_in = layers[0].shape[1]
    if a.shape[-1] != n_in:
        raise ValueError(f"x has {a.shape[-1]} inputs (shape {a.shape}); layer 0 expects {n_in}")
    a = np.atleast_2d(a).astype(np.int64)
    lo, hi = -(1 << (config.act_bits - 1)), (1 << (config.act_bits - 1)) - 1
    if a.size and (a.min() < lo or a.max() > hi):
        bad = int(a.min() if a.min() < lo else a.max())
        raise ValueError(f"x holds {bad}, outside the signed {config.act_bits}-bit range")
    return a


def _timeout(image: EIEImage) -> int:
    n = image.config.n_pes
    cycles = 1000
    for layer, enc in zip(image.layers, image.encodings, strict=True):
        rows, cols = layer.shape
        cycles += 4 * (int(enc.entries_per_pe.max()) + cols + -(-rows // n)) + 100
    return cycles


def pack_jobs(config: EIEConfig, jobs: Sequence[Job]) -> tuple[dict[str, np.ndarray], list[dict]]:
    """The arrays and per-job parameters a cocotb EIE host (native port or a bus) runs from."""
    inputs: dict[str, np.ndarray] = {}
    params_jobs = []
    for i, job in enumerate(jobs):
        if job.image.config != config:
            raise ValueError(f"job {i} was built for {job.image.config}, not {config}")
        waddr, wdata = job.image.writes()
        inputs[f"j{i}_waddr"] = waddr
        inputs[f"j{i}_wdata"] = wdata
        inputs[f"j{i}_x"] = np.atleast_2d(job.x).astype(np.int64)
        params_jobs.append(
            {
                "layers": len(job.image.layers),
                "out": job.image.layers[-1].shape[0],
                "timeout": _timeout(job.image),
            }
        )
    return inputs, params_jobs


def run_jobs(
    config: EIEConfig,
    jobs: Sequence[Job],
    *,
    simulator: str = "verilator",
    waves: bool = False,
    gap: float = 0.0,
    seed: int = 1,
    engine: str = "cocotb",
) -> list[EIEResult]:
    """Run several networks (each with its batch) in one simulation of one build.

    ``engine="native"`` runs the compiled Verilator harness (:mod:`accelgen.sim.native`)
    instead of cocotb: the same host sequence, outputs and counters; Verilator only, no
    waveforms and no random write gaps.
    """
    from accelgen.sim.native import check_engine
    from accelgen.sim.runner import run_cocotb

    check_engine(engine, simulator=simulator, waves=waves)
    if engine == "native":
        if gap:
            raise ValueError("the native engine writes back to back (gap = 0); use cocotb")
        return _run_native(config, jobs)
    inputs, params_jobs = pack_jobs(config, jobs)
    res = run_cocotb(
        verilog(config),
        toplevel=TOP_MODULE,
        test_module="accelgen.sim.eie_host",
        simulator=simulator,
        inputs=inputs,
        params={
            "jobs": params_jobs,
            "n_pes": config.n_pes,
            "act_bits": config.act_bits,
            "map": MemoryMap(config).to_json(),
            "gap": gap,
            "seed": seed,
        },
        waves=waves,
        seed=seed,
    )
    return _results(res.outputs, len(jobs))


def _results(out: dict[str, np.ndarray], n_jobs: int) -> list[EIEResult]:
    return [
        EIEResult(
            y=out[f"j{i}_y"].astype(np.int16),
            cycles=out[f"j{i}_cycles"],
            layer_cycles=out[f"j{i}_layer_cycles"],
            pe_busy=out[f"j{i}_busy"],
            pe_starved=out[f"j{i}_starved"],
        )
        for i in range(n_jobs)
    ]


def native_jobs(config: EIEConfig, jobs: Sequence[Job]) -> list:
    """The jobs as :class:`accelgen.sim.native.EIENativeJob` (the native engine's hand-off)."""
    from accelgen.sim.native import EIENativeJob

    out = []
    for i, job in enumerate(jobs):
        if job.image.config != config:
            raise ValueError(f"job {i} was built for {job.image.config}, not {config}")
        waddr, wdata = job.image.writes()
        out.append(
            EIENativeJob(
                waddr=waddr,
                wdata=wdata,
                x=np.atleast_2d(job.x).astype(np.int64),
                layers=len(job.image.layers),
                out=job.image.layers[-1].shape[0],
                timeout=_timeout(job.image),
            )
        )
    return out


def _run_native(config: EIEConfig, jobs: Sequence[Job]) -> list[EIEResult]:
    from accelgen.sim.native import run_eie

    out = run_eie(
        verilog(config),
        native_jobs(config, jobs),
        toplevel=TOP_MODULE,
        n_pes=config.n_pes,
        act_bits=config.act_bits,
        memory_map=MemoryMap(config).to_json(),
        max_layers=config.max_layers,
    )
    return _results(out, len(jobs))


def simulate(
    layers: Sequence[EIELayer],
    x,
    *,
    config: EIEConfig,
    simulator: str = "verilator",
    waves: bool = False,
    progress: bool = True,
    chunk: int = DEFAULT_CHUNK,
    engine: str = "cocotb",
) -> EIEResult:
    """Run ``layers`` on the generated RTL for every input of ``x`` (int16[in] or [batch, in]).

    Everything is checked before any simulation: the layers against the configured memories
    (:func:`check_fits`) and ``x`` against the first layer and ``act_bits``. Long batches run
    in chunks of ``chunk`` inputs (one simulation each) with a progress bar (images/s).
    A 1-D ``x`` is a batch of one. ``engine="native"`` runs the compiled Verilator harness
    (:mod:`accelgen.sim.native`; same outputs and counters, no Python per cycle).
    """
    from accelgen.sim.native import check_engine

    check_engine(engine, simulator=simulator, waves=waves)
    if not isinstance(config, EIEConfig):
        raise TypeError(f"config must be an EIEConfig, got {type(config).__name__}")
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        raise ValueError(f"chunk must be a positive integer, got {chunk!r}")
    layers = list(layers)
    image = build_image(layers, config)  # checks that the layers fit first (check_fits)
    xb = check_input(x, layers, config)
    parts: list[EIEResult] = []
    from tqdm import tqdm

    with tqdm(
        total=len(xb),
        unit="img",
        desc=f"EIE N={config.n_pes} {engine if engine == 'native' else simulator}",
        disable=not progress,
    ) as bar:
        for s in range(0, len(xb), chunk):
            parts.extend(
                run_jobs(
                    config,
                    [Job(image, xb[s : s + chunk])],
                    simulator=simulator,
                    waves=waves,
                    engine=engine,
                )
            )
            bar.update(len(xb[s : s + chunk]))
    return EIEResult(*(np.concatenate([getattr(p, f) for p in parts]) for f in _FIELDS))


_FIELDS = ("y", "cycles", "layer_cycles", "pe_busy", "pe_starved")
