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
The package: :mod:`.config` (the options and the core configurations), :mod:`.networks` (the
digits models and their fit check), :mod:`.running` (simulation through the core registry,
worker processes, localising a mismatch), :mod:`.compare` (the bit-for-bit comparison),
:mod:`.pipeline` (the five steps), :mod:`.lstm` (``--lstm``), :mod:`.report` and :mod:`.plots`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .compare import DemoMismatch, Mismatch, first_mismatch
from .config import DemoConfig
from .pipeline import DemoResult, run_demo

# EIE PEs for LeNet-300-100 (784 inputs: 49 register-file entries per PE at 16)
MNIST_PES = 16

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
        "--dataset",
        choices=("digits", "mnist"),
        default="digits",
        help="digits: the quick run of both cores (default); mnist: LeNet-300-100 on MNIST on "
        "EIE, every test image, the seed's compression row beside ours (first run: minutes)",
    )
    parser.add_argument(
        "--net",
        choices=("lenet300", "lenet5"),
        default="lenet300",
        help="with --dataset mnist: LeNet-300-100 on EIE (default) or LeNet-5 (convolutions on "
        "DianNao, FC layers on EIE; the first run trains it, an hour or more)",
    )
    parser.add_argument(
        "--pes",
        type=int,
        default=None,
        metavar="N",
        help=f"EIE PEs (default {d.pes}; {MNIST_PES} with --dataset mnist)",
    )
    parser.add_argument(
        "--tn", type=int, default=d.tn, metavar="N", help=f"DianNao NFU width Tn (default {d.tn})"
    )
    parser.add_argument("--waves", action="store_true", help="dump waveforms (slow)")
    parser.add_argument(
        "-o",
        "--out",
        type=_out_arg,
        default=d.out,
        metavar="DIR",
        help=f"report directory (default {d.out})",
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
    parser.add_argument(
        "--engine",
        choices=("auto", "native", "cocotb"),
        default=d.engine,
        help="simulation engine: native (compiled Verilator C++ harness, bit-exact with cocotb), "
        "cocotb, or auto (default: native on Verilator without --waves, else cocotb)",
    )


def _out_arg(text: str) -> str:
    from ..outputs import output_path

    return str(output_path(text))


def run(args: argparse.Namespace) -> int:
    if args.net != "lenet300" and args.dataset != "mnist":
        raise ValueError(f"--net {args.net} needs --dataset mnist")
    if args.dataset == "mnist":
        from .. import outputs
        from .mnist import run_mnist

        default_out = "build/demo-mnist" if args.net == "lenet300" else "build/demo-lenet5"
        out = Path(args.out if args.out != DemoConfig().out else default_out)
        outputs.check_output_dir(out, flag="-o/--out")
        pes = args.pes if args.pes is not None else MNIST_PES
        # validates the shared options
        shared = DemoConfig(pes=pes, tn=args.tn, simulator=args.simulator, engine=args.engine)
        if args.net == "lenet5":
            from .lenet5 import run_lenet5

            report = run_lenet5(
                out,
                images=args.images,
                pes=pes,
                tn=args.tn,
                simulator=args.simulator,
                clock_mhz=args.clock_mhz,
                engine=shared.sim_engine,
            )
            o = report["ours"]
            print(
                f"demo passed: LeNet-5 on DianNao + EIE, RTL error {o['error_rtl']:.2%} on "
                f"{report['images']} MNIST image(s), {o['ratio']:.1f}x compression; "
                f"report in {out / 'report.md'}"
            )
            return 0
        report = run_mnist(
            out,
            images=args.images,
            pes=pes,
            simulator=args.simulator,
            clock_mhz=args.clock_mhz,
            engine=shared.sim_engine,
        )
        o = report["ours"]
        print(
            f"demo passed: LeNet-300-100 on EIE, RTL error {o['error_rtl']:.2%} on "
            f"{report['images']} MNIST image(s), {o['ratio']:.1f}x compression; "
            f"report in {out / 'report.md'}"
        )
        return 0
    cfg = DemoConfig(
        simulator=args.simulator,
        images=args.images,
        pes=args.pes if args.pes is not None else DemoConfig().pes,
        tn=args.tn,
        waves=args.waves,
        out=args.out,
        clock_mhz=args.clock_mhz,
        chunks=args.chunks,
        lstm=args.lstm,
        jobs=args.jobs,
        engine=args.engine,
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
