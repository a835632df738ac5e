"""``accelgen generate CORE -o DIR``: ``DIR/<core>.v``, the resolved ``config.json`` and
``report.json``, for every core of the registry (:mod:`accelgen.cores`).

``--bus axi`` / ``--bus wishbone`` (cores with a register map, :mod:`accelgen.spec.regmap`)
write the wrapped top instead (``<core>_axi.v`` / ``<core>_wb.v``), its C header
``accelgen_<core>.h`` and the register-map document ``regmap.md`` (``docs/bus.md``).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

from . import cores, outputs
from .hdl import macros
from .main import UserError
from .spec import regmap

BUSES = ("native", "axi", "wishbone")

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
        p.add_argument(
            "-o", "--output", type=outputs.output_path, required=True, help="output directory"
        )
        if core.name in regmap.CORES:
            p.add_argument(
                "--bus",
                choices=BUSES,
                default="native",
                help="host interface: the core's own port (native, default), AXI4-Lite + "
                "AXI4-Stream (axi) or Wishbone B4 (wishbone); axi and wishbone also write "
                f"accelgen_{core.name}.h and regmap.md",
            )
        p.set_defaults(_core=core)


def run(args: argparse.Namespace) -> int:
    core: cores.Core = args._core
    out = outputs.check_output_dir(args.output)
    config = core.config_from_args(args)
    bus = getattr(args, "bus", "native")
    if bus != "native":
        if args.memories != "flops":
            raise UserError(f"--bus {bus} takes --memories flops, not {args.memories!r}")
    core.check_budget(config, args.memories)  # before anything is generated or written
    if bus != "native":
        return _run_bus(core, config, bus, out)
    print(f"generating {core.verilog_name} ...", file=sys.stderr, flush=True)
    t0 = time.monotonic()
    text = core.verilog(config, memories=args.memories)
    report = {**core.report(config), "generation_seconds": round(time.monotonic() - t0, 2)}
    report["memories"] = args.memories
    if args.memories == "macros":
        report["macros"] = sorted(set(re.findall(rf"^module ({macros.PREFIX}\S+) ", text, re.M)))
    with outputs.atomic_dir(out) as tmp:
        (tmp / core.verilog_file).write_text(text)
        config.save(tmp / "config.json")
        (tmp / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    print(
        f"wrote {out / core.verilog_file} (top module {core.verilog_name}), "
        "config.json, report.json"
    )
    return 0


def _run_bus(core: cores.Core, config, bus: str, out: Path) -> int:
    """The wrapped top, the C header and the register map (``accelgen.hdl.bus.generate``),
    written atomically (:func:`accelgen.outputs.atomic_dir`)."""
    from .hdl.bus.generate import generate, top_module

    print(f"generating {top_module(core.name, bus)} ...", file=sys.stderr, flush=True)
    t0 = time.monotonic()
    files = generate(core.name, bus, config)
    report = {
        **core.report(config),
        "bus": bus,
        "top_module": top_module(core.name, bus),
        "core_module": core.verilog_name,
        "register_map": regmap.constants(core.name, config),
        "generation_seconds": round(time.monotonic() - t0, 2),
    }
    with outputs.atomic_dir(out) as tmp:
        for name, text in files.items():
            (tmp / name).write_text(text)
        config.save(tmp / "config.json")
        (tmp / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {', '.join(str(out / n) for n in files)}, config.json, report.json")
    return 0
