"""Every generated top the synthesis, lint and formal commands know: the shared arithmetic
blocks and the registered cores, built by name.

* blocks (no config): ``mac`` (:class:`~accelgen.hdl.common.mac.MAC`), ``codebook``
  (``CodebookDecoder``), ``adder_tree`` / ``max_tree`` (``hdl.common.trees``, Tn = 8), ``pwl``
  (``PWLUnit``), ``weight_update`` (DianNao's training update unit
  :class:`~accelgen.hdl.diannao.update.WeightUpdate`, 8 lanes, weights FL 14); the Verilog top
  has the same name;
* cores: every entry of the registry (:func:`accelgen.cores.all_cores`), built as
  ``core.top(config)`` with top ``core.verilog_name``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from accelgen.hdl.common.codebook import CodebookDecoder
from accelgen.hdl.common.mac import MAC
from accelgen.hdl.common.pwl import PWLUnit
from accelgen.hdl.common.trees import AdderTree, MaxTree
from accelgen.hdl.diannao.update import WeightUpdate

from . import registry

__all__ = ["BLOCKS", "Block", "build", "is_core", "load_config", "names"]


@dataclass(frozen=True)
class Block:
    """A shared block without a config: its Verilog top name and how to build it."""

    top: str
    build: Callable[[], Any]


BLOCKS: dict[str, Block] = {
    "mac": Block("mac", MAC),
    "codebook": Block("codebook", CodebookDecoder),
    "adder_tree": Block("adder_tree", lambda: AdderTree(8)),
    "max_tree": Block("max_tree", lambda: MaxTree(8)),
    "pwl": Block("pwl", PWLUnit),
    "weight_update": Block("weight_update", lambda: WeightUpdate(lanes=8)),
}


def names() -> list[str]:
    """Blocks first, then the registered cores."""
    return [*BLOCKS, *registry.names()]


def is_core(name: str) -> bool:
    return name in registry.names()


def _check_name(name: str) -> None:
    if name not in BLOCKS and not is_core(name):
        raise ValueError(f"unknown design {name!r}; expected one of {', '.join(names())}")


def load_config(name: str, path: str | Path | None = None, **overrides: Any):
    """The config of core ``name``: defaults, or read from ``path``, with ``overrides`` applied.

    Raises ``ValueError`` for a block given a config (blocks take none), for unknown fields
    and for values the config rejects (its message names the value).
    """
    _check_name(name)
    if name in BLOCKS:
        if path is not None or overrides:
            raise ValueError(f"design {name!r} takes no configuration")
        return None
    return registry.get(name).load_config(path, **overrides)


def build(name: str, config=None):
    """Build design ``name``; returns ``(component, verilog_top_name, config_or_None)``.

    A core takes its config (its defaults when omitted); a block takes none (``ValueError``).
    """
    _check_name(name)
    if name in BLOCKS:
        if config is not None:
            raise ValueError(f"design {name!r} takes no configuration")
        block = BLOCKS[name]
        return block.build(), block.top, None
    core = registry.get(name)
    if config is None:
        config = core.load_config()
    core._check_config(config)
    return core.top(config), core.verilog_name, config
