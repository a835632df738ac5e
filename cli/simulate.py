"""``accelgen sim CORE LAYER.npz -o OUT.npz``: run a layer or a network on a core's generated
RTL; every check runs before the simulator starts. ``OUT.npz`` holds ``y`` and the core's
measured counters (:attr:`accelgen.cores.Core.result_arrays`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from accelgen.hdl.bus.generate import BUSES
from accelgen.spec import regmap

from . import cores, outputs

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="core", metavar="CORE", required=True)
    for core in cores.all_cores():
        p = sub.add_parser(core.name, help=core.description, description=f"sim: {core.description}")
        p.add_argument("layer", type=Path, help="LAYER.npz (one layer, or l0_, l1_, ... prefixes)")
        p.add_argument("-o", "--output", type=outputs.output_path, required=True, help="OUT.npz")
        core.add_config_arguments(p)
        if core.sim_arguments is not None:
            core.sim_arguments(p)
        p.add_argument("--simulator", choices=("verilator", "icarus"), default="verilator")
        p.add_argument("--waves", action="store_true", help="dump waveforms (slow)")
        p.add_argument(
            "--engine",
            choices=("cocotb", "native"),
            default="cocotb",
            help="cocotb testbench (default, the regression path) or the compiled Verilator C++ "
            "harness (same results, no Python per cycle; Verilator only, no --waves)",
        )
        if core.name in regmap.CORES:
            p.add_argument(
                "--bus",
                choices=BUSES,
                default="native",
                help="drive the core through its own port (native, default) or its AXI4-Lite + "
                "AXI4-Stream (axi) or Wishbone (wishbone) wrapper; --engine native drives the "
                f"axi build from C through accelgen_{core.name}.h (docs/bus.md)",
            )
        p.add_argument("--no-progress", action="store_true", help="no progress bar")
        p.set_defaults(_core=core)


def run(args: argparse.Namespace) -> int:
    core: cores.Core = args._core
    out = outputs.check_output_file(args.output)
    config = core.config_from_args(args)
    layers, x = core.load_network(args.layer)
    if core.prepare_network is not None:
        layers = core.prepare_network(layers, args, str(args.layer))
    core.check(layers, x, config)
    bus = getattr(args, "bus", "native")
    if bus != "native":
        from accelgen.sim.bus import check_engine

        check_engine(args.engine, bus=bus, simulator=args.simulator, waves=args.waves)
    res = core.simulate(
        layers,
        x,
        config=config,
        simulator=args.simulator,
        waves=args.waves,
        progress=not args.no_progress,
        engine=args.engine,
        **({"bus": bus} if bus != "native" else {}),
    )
    arrays = core.result_arrays(res)
    if core.single_input(layers, x):
        arrays["y"] = arrays["y"][0]
    outputs.save_npz(out, **arrays)  # exactly the name given, atomically
    print(f"wrote {out}: {core.summary(res, config)}")
    return 0
