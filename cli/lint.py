"""``accelgen lint``: Verilator ``-Wall`` lint and Icarus compile of every generated top.

Examples::

    accelgen lint -o build/lint              # every block and both cores (default configs)
    accelgen lint eie --small -o build/lint  # the EIE core in its small test configuration

Exit status 1 when any top has an unwaived warning or an error; the waivers are listed in
``accelgen.synth.lint.WAIVERS`` (and ``docs/synth.md``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from . import outputs
from .outputs import output_path

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from .cores import designs

    parser.add_argument(
        "designs",
        nargs="*",
        choices=[[], *designs.names()],
        metavar="DESIGN",
        help=f"tops to lint (default: all of {', '.join(designs.names())})",
    )
    parser.add_argument(
        "--small", action="store_true", help="lint the cores in their small test configuration"
    )
    parser.add_argument(
        "-o", "--output", type=output_path, default=Path("build/lint"), help="output directory"
    )


def run(args: argparse.Namespace) -> int:
    from accelgen.synth import lint

    from . import cores
    from .cores import designs

    out = outputs.check_output_dir(args.output)
    names = args.designs or designs.names()
    # every config is resolved and checked before the first tool starts
    configs = {}
    for name in names:
        if designs.is_core(name):
            small = cores.get(name).small_config if args.small else {}
            configs[name] = designs.load_config(name, **small)
    failed = 0
    with outputs.atomic_dir(out) as tmp:
        for name in names:
            t0 = time.monotonic()
            print(f"[lint] {name}: generating Verilog", file=sys.stderr, flush=True)
            component, top, _ = designs.build(name, configs.get(name))
            for r in lint.lint_component(component, top, tmp / name):
                print(f"{r.summary()} ({time.monotonic() - t0:.1f} s)")
                for issue in r.issues[:20]:
                    print(f"    {issue}")
                failed += not r.ok
    return 1 if failed else 0
