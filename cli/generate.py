"""``accelgen generate CORE -o DIR``: ``DIR/<core>.v``, the resolved ``config.json`` and
``report.json``, for every core of the registry (:mod:`accelgen.cores`)."""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

from . import cores
from .hdl import macros

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="core", metavar="CORE", required=True)
    for core in cores.all_cores():
        p = sub.add_parser(
            core.name, help=core.description, description=f"generate: {core.description}"
        )
        core.add_config_arguments(p)
        p.add_argument(
            "--memories",
            choices=("flops", "macros"),
            default="flops",
            help="flops (default): memories inferred by the tools; macros: every RAM an "
            "instance of a shape-named macro module, behavioural models appended "
            "(docs/synth.md, RAM macros)",
        )
        p.add_argument("-o", "--output", type=Path, required=True, help="output directory")
        p.set_defaults(_core=core)


def run(args: argparse.Namespace) -> int:
    core: cores.Core = args._core
    config = core.config_from_args(args)
    print(f"generating {core.verilog_name} ...", file=sys.stderr, flush=True)
    t0 = time.monotonic()
    text = core.verilog(config, memories=args.memories)
    out: Path = args.output
    out.mkdir(parents=True, exist_ok=True)
    (out / core.verilog_file).write_text(text)
    config.save(out / "config.json")
    report = {**core.report(config), "generation_seconds": round(time.monotonic() - t0, 2)}
    report["memories"] = args.memories
    if args.memories == "macros":
        report["macros"] = sorted(set(re.findall(rf"^module ({macros.PREFIX}\S+) ", text, re.M)))
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    print(
        f"wrote {out / core.verilog_file} (top module {core.verilog_name}), "
        "config.json, report.json"
    )
    return 0
