"""``accelgen generate eie`` and ``accelgen sim eie`` (picked up by :mod:`accelgen.cores`)."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from accelgen.spec.eie import EIEConfig

__all__ = ["add_generate_arguments", "add_sim_arguments", "run_generate", "run_sim"]

# flag -> EIEConfig field, for the options both subcommands share
_FLAGS = {
    "pes": "n_pes",
    "fifo_depth": "fifo_depth",
    "acc_bits": "acc_bits",
    "act_frac": "act_frac",
    "w_frac": "w_frac",
    "skip_empty": "skip_empty",
}
_GENERATE_ONLY = {
    "regfile_depth": "regfile_depth",
    "spmat_words": "spmat_words",
    "ptr_depth": "ptr_depth",
    "max_layers": "max_layers",
}


def _add_config_arguments(p: argparse.ArgumentParser, fields: dict[str, str]) -> None:
    p.add_argument("--config", type=Path, help="EIEConfig JSON (flags override its fields)")
    helps = {
        "pes": "number of PEs N (power of two, 1..256)",
        "fifo_depth": "activation-queue depth",
        "acc_bits": "accumulator width: 24 or 32",
        "act_frac": "fractional bits of activations",
        "w_frac": "fractional bits of weights",
        "regfile_depth": "source/destination register-file entries per PE",
        "spmat_words": "64-bit sparse-matrix lines per PE",
        "ptr_depth": "pointer words per PE (sum over layers of inputs + 1)",
        "max_layers": "layer descriptors",
    }
    for flag in fields:
        if flag == "skip_empty":
            p.add_argument(
                "--skip-empty",
                action=argparse.BooleanOptionalAction,
                default=None,
                help="option (a): PEs skip queued columns without entries (default: off)",
            )
            continue
        kw = {"choices": (24, 32)} if flag == "acc_bits" else {}
        p.add_argument(f"--{flag.replace('_', '-')}", type=int, help=helps[flag], **kw)


def _config(args: argparse.Namespace, fields: dict[str, str]) -> EIEConfig:
    base = EIEConfig.load(args.config) if args.config else EIEConfig()
    changes = {
        f: getattr(args, flag) for flag, f in fields.items() if getattr(args, flag) is not None
    }
    return base.replace(**changes)


def add_generate_arguments(p: argparse.ArgumentParser) -> None:
    _add_config_arguments(p, {**_FLAGS, **_GENERATE_ONLY})
    p.add_argument("-o", "--output", type=Path, required=True, help="output directory")


def run_generate(args: argparse.Namespace) -> int:
    """Write ``eie.v``, the resolved ``config.json`` and ``report.json`` into ``-o DIR``."""
    from accelgen.spec.eie import MemoryMap

    from .top import PE_MODULE, TOP_MODULE, generate_verilog

    config = _config(args, {**_FLAGS, **_GENERATE_ONLY})
    t0 = time.monotonic()
    text = generate_verilog(config)
    out: Path = args.output
    out.mkdir(parents=True, exist_ok=True)
    (out / "eie.v").write_text(text)
    config.save(out / "config.json")
    report = {
        "top_module": TOP_MODULE,
        "pe_module": PE_MODULE,
        **config.report(),
        "memory_map": MemoryMap(config).to_json(),
        "generation_seconds": round(time.monotonic() - t0, 2),
    }
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out / 'eie.v'} (top module {TOP_MODULE}), config.json, report.json")
    return 0


def add_sim_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("layer", type=Path, help="LAYER.npz (one layer, or l0_, l1_, ... prefixes)")
    p.add_argument("-o", "--output", type=Path, required=True, help="OUT.npz")
    _add_config_arguments(p, _FLAGS)
    p.add_argument("--simulator", choices=("verilator", "icarus"), default="verilator")
    p.add_argument("--waves", action="store_true", help="dump waveforms (slow)")


def run_sim(args: argparse.Namespace) -> int:
    """Run a LAYER.npz on the RTL and write ``y`` and the cycle counters to OUT.npz."""
    from accelgen.golden.npzformat import load_eie_npz
    from accelgen.sim.eie import check_fits, check_input, simulate

    config = _config(args, _FLAGS)
    layers, x = load_eie_npz(args.layer)
    check_fits(layers, config)
    check_input(x, layers, config)
    res = simulate(layers, x, config=config, simulator=args.simulator, waves=args.waves)
    single = x.ndim == 1
    np.savez(
        args.output,
        y=res.y[0] if single else res.y,
        cycles=res.cycles,
        layer_cycles=res.layer_cycles,
        pe_busy=res.pe_busy,
        pe_starved=res.pe_starved,
    )
    print(
        f"wrote {args.output}: {len(res.cycles)} input(s), "
        f"{int(res.cycles.mean())} cycles per input on {config.n_pes} PEs"
    )
    return 0
