"""Dispatch ``accelgen generate|sim {eie,diannao}`` to the core's own command module.

Each core provides ``accelgen.hdl.<core>.cli`` with four functions: ``add_generate_arguments``,
``run_generate``, ``add_sim_arguments`` and ``run_sim``.
"""

from __future__ import annotations

import argparse
import importlib

CORES = {"eie": "EIE sparse compressed-FC accelerator", "diannao": "DianNao dense NFU accelerator"}


def add_core_subcommands(parser: argparse.ArgumentParser, kind: str) -> None:
    sub = parser.add_subparsers(dest="core", metavar="CORE", required=True)
    for core, help_text in CORES.items():
        try:
            mod = importlib.import_module(f"accelgen.hdl.{core}.cli")
        except ModuleNotFoundError as e:
            if e.name != f"accelgen.hdl.{core}.cli":
                raise
            continue  # that core has no command-line front end yet
        p = sub.add_parser(core, help=help_text, description=f"{kind}: {help_text}")
        getattr(mod, f"add_{kind}_arguments")(p)
        p.set_defaults(_core_run=getattr(mod, f"run_{kind}"))


def run(args: argparse.Namespace) -> int:
    return int(args._core_run(args) or 0)
