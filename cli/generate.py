"""``accelgen generate {eie,diannao} -o DIR``: Verilog, resolved config.json and report.json."""

from .cores import add_core_subcommands, run

__all__ = ["add_arguments", "run"]


def add_arguments(parser) -> None:
    add_core_subcommands(parser, "generate")
