"""``accelgen lint``: Verilator ``-Wall`` lint and Icarus compile of every generated top.

Examples::

    accelgen lint -o build/lint              # every block and both cores (default configs)
    accelgen lint eie --small -o build/lint  # the EIE core in its small test configuration

Exit status 1 when any top has an unwaived warning or an error; the waivers are listed in
``accelgen.synth.lint.WAIVERS`` (and ``docs/synth.md``). Cores that do not exist in this
checkout yet are reported and skipped.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from accelgen.synth.designs import DESIGNS

    parser.add_argument(
        "designs",
        nargs="*",
        choices=[[], *DESIGNS],
        metavar="DESIGN",
        help=f"tops to lint (default: all of {', '.join(DESIGNS)})",
    )
    parser.add_argument(
        "--small", action="store_true", help="lint the cores in their small test configuration"
    )
    parser.add_argument(
        "-o", "--output", type=Path, default=Path("build/lint"), help="output directory"
    )


def run(args: argparse.Namespace) -> int:
    from accelgen.synth import designs, lint

    names = args.designs or list(designs.DESIGNS)
    failed = 0
    for name in names:
        t0 = time.monotonic()
        print(f"[lint] {name}: generating Verilog", file=sys.stderr, flush=True)
        try:
            cfg = None
            if name in designs.CORES:
                small = designs.SMALL_CONFIGS[name] if args.small else {}
                cfg = designs.load_config(name, **small)
            component, top, _ = designs.build(name, cfg)
        except designs.MissingDesign as e:
            print(f"[lint] {name}: skipped: {e}")
            continue
        for r in lint.lint_component(component, top, args.output / name):
            print(f"{r.summary()} ({time.monotonic() - t0:.1f} s)")
            for issue in r.issues[:20]:
                print(f"    {issue}")
            failed += not r.ok
    return 1 if failed else 0
