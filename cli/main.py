"""The ``accelgen`` command line.

Subcommands live in their own modules and are imported only when used, so ``accelgen --help``
stays fast. Each module named in :data:`COMMANDS` defines ``add_arguments(parser)`` and
``run(args) -> int``. User errors (bad configs, malformed files, layers that do not fit) are
reported as one ``accelgen: error: ...`` line with exit status 2; ``ACCELGEN_DEBUG=1`` shows the
traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from . import __version__

# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "doctor": (
        "accelgen.doctor",
        "report the toolchain (versions and paths); non-zero if incomplete",
    ),
    "generate": ("accelgen.generate", "generate Verilog for a core: eie | diannao"),
    "sim": ("accelgen.simulate", "run layers from an .npz on a core's generated RTL"),
    "demo": ("accelgen.demo", "end-to-end digit recognition on both cores' RTL, with a report"),
    "compress": ("accelgen.compress", "Deep-Compress a float MLP .npz for EIE (size report)"),
    "bench": ("accelgen.bench", "paper-reproduction benchmarks (JSON, CSV, plots, benchmarks.md)"),
    "synth": ("accelgen.synth_cmd", "synthesis and place-and-route reports (YoWASP Yosys/nextpnr)"),
    "import": (
        "accelgen.import_onnx",
        "import an ONNX model for a core: calibrated network.npz, config.json, report",
    ),
    "run": (
        "accelgen.run_onnx",
        "import an ONNX model, run it on a core's RTL, check vs golden and ONNX Runtime",
    ),
    "export-onnx": ("accelgen.export_onnx", "export the built-in digits models as ONNX + data"),
    "train": (
        "accelgen.train_cmd",
        "SGD steps of the digits MLP on the DianNao RTL, bit-exact vs the golden training",
    ),
    "lint": ("accelgen.lint", "Verilator -Wall lint and Icarus compile of every generated top"),
    "explore": (
        "accelgen.explore",
        "design-space exploration on Dask: cycle model, energy, area, Pareto front synthesized",
    ),
    "regress": (
        "accelgen.regress",
        "random configs x random layers on the RTL vs golden and cycle model, on Dask",
    ),
}


class UserError(Exception):
    """An error caused by the user's input, reported without a traceback."""


class _Parser(argparse.ArgumentParser):
    """argparse with the project's error format: one ``PROG: error: ...`` line, exit 2 (the
    usage is in ``--help``)."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="accelgen",
        description="Generate, simulate and synthesize EIE and DianNao accelerator RTL.",
    )
    parser.add_argument("--version", action="version", version=f"accelgen {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        mod = importlib.import_module(module)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print("accelgen: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (UserError, ValueError, TypeError, KeyError, OSError, OverflowError) as e:
        if os.environ.get("ACCELGEN_DEBUG"):
            raise
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        first, *rest = str(msg).splitlines() or [type(e).__name__]
        print(f"accelgen: error: {first}{' ...' if rest else ''}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
