"""``accelgen sim {eie,diannao} LAYER.npz -o OUT.npz``: run layers on the generated RTL."""

from .cores import add_core_subcommands, run

__all__ = ["add_arguments", "run"]


def add_arguments(parser) -> None:
    add_core_subcommands(parser, "sim")
