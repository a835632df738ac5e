"""``accelgen generate diannao`` and ``accelgen sim diannao`` (found by :mod:`accelgen.cores`)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np

from accelgen.spec.diannao import DianNaoConfig

__all__ = ["add_generate_arguments", "add_sim_arguments", "run_generate", "run_sim"]

_HELP = {
    "tn": "NFU width Tn (power of two, 2..16; the paper uses 16)",
    "nbin_depth": "NBin depth in Tn-wide words",
    "nbout_depth": "NBout depth in Tn-wide words",
    "sb_depth": "SB depth in Tn x Tn words",
    "act_bits": "activation width",
    "act_frac": "fractional bits of activations",
    "w_bits": "weight width",
    "w_frac": "fractional bits of weights",
    "acc_bits": "accumulator width: 24 or 32",
    "pwl_segments": "NFU-3 piecewise-linear segments",
    "imem_depth": "instruction-memory depth",
    "double_buffer": "ping-pong NBin / SB halves (true or false)",
}
_SIM_FLAGS = ("tn", "acc_bits")


def _bool(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _add_config_arguments(p: argparse.ArgumentParser, names) -> None:
    p.add_argument("--config", type=Path, help="DianNaoConfig JSON (flags override its fields)")
    for name in names:
        kw: dict = {"type": _bool if name == "double_buffer" else int, "help": _HELP[name]}
        if name == "acc_bits":
            kw["choices"] = (24, 32)
        p.add_argument(f"--{name.replace('_', '-')}", **kw)


def _config(args: argparse.Namespace, names) -> DianNaoConfig:
    base = DianNaoConfig.load(args.config) if args.config else DianNaoConfig()
    changes = {n: getattr(args, n) for n in names if getattr(args, n) is not None}
    return base.replace(**changes)


def add_generate_arguments(p: argparse.ArgumentParser) -> None:
    _add_config_arguments(p, [f.name for f in dataclasses.fields(DianNaoConfig)])
    p.add_argument("-o", "--output", type=Path, required=True, help="output directory")


def report(config: DianNaoConfig) -> dict:
    """Derived sizes of a configuration (the ``report.json`` of ``accelgen generate``)."""
    from accelgen.spec.diannao import field_widths, instruction_bits

    from .top import PIPELINE_DRAIN

    return {
        "top_module": "diannao_top",
        "multipliers": config.tn * config.tn,
        "adder_trees": config.tn,
        "peak_macs_per_cycle": config.peak_macs_per_cycle,
        "nbin_bytes": config.nbin_bytes,
        "nbout_bytes": config.nbout_bytes,
        "sb_bytes": config.sb_bytes,
        "instruction_bits": instruction_bits(config),
        "instruction_fields": field_widths(config),
        "host_data_bits": config.host_data_bits,
        "host_addr_bits": config.host_addr_bits,
        "pipeline_drain_cycles": PIPELINE_DRAIN,
        "program_overhead_cycles": 1 + PIPELINE_DRAIN,
    }


def run_generate(args: argparse.Namespace) -> int:
    """Write ``diannao.v``, the resolved ``config.json`` and ``report.json`` into ``-o DIR``."""
    from .top import verilog

    config = _config(args, [f.name for f in dataclasses.fields(DianNaoConfig)])
    print(f"generating diannao_top (Tn = {config.tn}) ...", file=sys.stderr, flush=True)
    t0 = time.monotonic()
    text = verilog(config)
    out: Path = args.output
    out.mkdir(parents=True, exist_ok=True)
    (out / "diannao.v").write_text(text)
    config.save(out / "config.json")
    rep = {**report(config), "generation_seconds": round(time.monotonic() - t0, 2)}
    (out / "report.json").write_text(json.dumps(rep, indent=2) + "\n")
    print(f"wrote {out / 'diannao.v'} (top module diannao_top), config.json, report.json")
    return 0


def add_sim_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("layer", type=Path, help="LAYER.npz (one layer, or l0_, l1_, ... prefixes)")
    p.add_argument("-o", "--output", type=Path, required=True, help="OUT.npz")
    _add_config_arguments(p, _SIM_FLAGS)
    p.add_argument("--simulator", choices=("verilator", "icarus"), default="verilator")
    p.add_argument("--waves", action="store_true", help="dump waveforms (slow)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def run_sim(args: argparse.Namespace) -> int:
    """Run a LAYER.npz on the RTL; write ``y``, the cycle counters and utilization to OUT.npz."""
    from accelgen.golden.netspec import FCLayer
    from accelgen.sim.diannao import simulate

    from ...golden.npzformat import load_diannao_npz

    config = _config(args, _SIM_FLAGS)
    layers, x = load_diannao_npz(args.layer)
    single = x.ndim == (1 if isinstance(layers[0], FCLayer) else 3)
    res = simulate(
        layers,
        x,
        config=config,
        simulator=args.simulator,
        waves=args.waves,
        progress=not args.no_progress,
    )
    np.savez(
        args.output,
        y=res.y[0] if single else res.y,
        cycles=res.cycles,
        layer_cycles=res.layer_cycles,
        utilization=res.utilization,
        nfu_busy=res.nfu_busy,
        stall_cycles=res.stall_cycles,
    )
    print(
        f"wrote {args.output}: {len(res.cycles)} input(s), {int(res.cycles.sum())} cycles, "
        f"NFU utilization {', '.join(f'{u:.1%}' for u in res.utilization)} (Tn = {config.tn})"
    )
    return 0
