"""The core registry: one :class:`Core` object per accelerator core, registered by name.

Everything that works "for every core" (``accelgen generate``, ``sim``, ``synth``, ``lint``,
the demo and the benchmarks) iterates over :func:`all_cores` or looks a core up with
:func:`get`. A core entry only points into the lower layers (spec, gateware, host software,
simulation); it holds no logic of its own beyond gluing them together. Adding a third core is
its gateware, its simulate API and one :func:`register` call (``docs/developing.md``).
"""

from __future__ import annotations

import argparse
import dataclasses
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from accelgen.spec.config import Config, field_docs

__all__ = ["Core", "all_cores", "get", "names", "register"]


def _bool(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


@dataclass(frozen=True, kw_only=True)
class Core:
    """One accelerator core and the functions every command needs from it.

    Parameters
    ----------
    name : str
        The name users type (``accelgen generate eie``).
    description : str
        One line for ``--help``.
    config_cls : type
        Its frozen :class:`~accelgen.spec.config.Config` dataclass. The command line offers one
        flag per field (``--field-name``, help text from the class docstring).
    top : callable
        ``top(config)`` builds the gateware top (an Amaranth ``wiring.Component``).
    verilog_name : str
        Verilog module name of the generated top.
    generate_verilog : callable
        ``generate_verilog(config, memories="flops") -> str``, the whole core's Verilog (cached
        per config); ``memories="macros"``: a RAM macro per memory, with the behavioural
        models (:mod:`accelgen.hdl.macros`).
    report : callable
        ``report(config) -> dict``: derived sizes, written as ``report.json`` by ``generate``.
    load_network : callable
        ``load_network(path) -> (layers, x)``: a layer or network ``.npz`` for ``accelgen sim``.
    check : callable
        ``check(layers, x, config)``: every fit and input check, before any simulator starts
        (``ValueError`` naming the value).
    simulate : callable
        ``simulate(layers, x, *, config, simulator, waves, progress, engine, bus) -> result``
        (``engine``: ``"cocotb"`` or ``"native"``, :mod:`accelgen.sim.native`; ``bus``:
        ``"native"``, the core's own port, or ``"axi"`` / ``"wishbone"``, the wrapped core of
        :mod:`accelgen.sim.bus`, for cores with a register map).
    single_input : callable
        ``single_input(layers, x) -> bool``: ``x`` is one unbatched input.
    result_arrays : callable
        ``result_arrays(result) -> dict`` of the arrays ``accelgen sim`` saves (``y`` first).
    summary : callable
        ``summary(result, config) -> str``: the one-line result ``accelgen sim`` prints.
    small_config : mapping
        Config overrides for a small core of the same code paths (fast lint and proofs).
    check_generation : callable, optional
        ``check_generation(config, memories="flops")``: ``ValueError`` when generating this
        configuration's RTL would exceed the core's documented budget (the generator's
        memory); :meth:`check_budget` runs it, and :meth:`verilog` before generating.
    flag_aliases : mapping
        Short flag names kept for a field (``n_pes`` -> ``pes`` gives ``--pes``).
    sim_arguments : callable, optional
        ``sim_arguments(parser)`` adds the core's own ``accelgen sim`` options (not config
        fields, e.g. DianNao's ``--conv``).
    prepare_network : callable, optional
        ``prepare_network(layers, args, src) -> layers`` applies those options to the loaded
        network (``ValueError`` naming ``src`` and the layer), before :attr:`check`.
    """

    name: str
    description: str
    config_cls: type
    top: Callable[[Any], Any]
    verilog_name: str
    generate_verilog: Callable[..., str]
    report: Callable[[Any], dict]
    load_network: Callable[[Path], tuple[list, Any]]
    check: Callable[[Sequence, Any, Any], None]
    simulate: Callable[..., Any]
    single_input: Callable[[Sequence, Any], bool]
    result_arrays: Callable[[Any], dict]
    summary: Callable[[Any, Any], str]
    small_config: Mapping[str, Any] = field(default_factory=dict)
    flag_aliases: Mapping[str, str] = field(default_factory=dict)
    check_generation: Callable[..., None] | None = None
    sim_arguments: Callable[[argparse.ArgumentParser], None] | None = None
    prepare_network: Callable[[list, argparse.Namespace, str], list] | None = None

    @property
    def verilog_file(self) -> str:
        """File name of the Verilog ``accelgen generate`` writes (``eie.v``)."""
        return f"{self.name}.v"

    def verilog(self, config: Config, memories: str = "flops") -> str:
        self._check_config(config)
        self.check_budget(config, memories)
        if memories == "flops":
            return self.generate_verilog(config)
        return self.generate_verilog(config, memories=memories)

    def check_budget(self, config: Config, memories: str = "flops") -> None:
        """The core's generation budget for ``config`` (before any file or tool)."""
        self._check_config(config)
        if self.check_generation is not None:
            self.check_generation(config, memories)

    def _check_config(self, config: Config) -> None:
        if not isinstance(config, self.config_cls):
            raise TypeError(
                f"core {self.name!r} needs a {self.config_cls.__name__}, "
                f"got {type(config).__name__}"
            )

    def load_config(self, path: str | Path | None = None, **overrides: Any) -> Config:
        """Defaults, or the JSON at ``path``, with ``overrides`` applied (validated)."""
        cfg = self.config_cls.load(path) if path is not None else self.config_cls()
        return cfg.replace(**overrides) if overrides else cfg

    # ---------------------------------------------------------------- command-line flags
    def add_config_arguments(self, parser: argparse.ArgumentParser) -> None:
        """``--config CFG.json`` plus one flag per config field (flags override the file)."""
        parser.add_argument(
            "--config",
            type=Path,
            help=f"{self.config_cls.__name__} JSON (the flags below override its fields)",
        )
        docs = field_docs(self.config_cls)
        hints = typing.get_type_hints(self.config_cls)
        group = parser.add_argument_group(f"{self.config_cls.__name__} fields")
        for f in dataclasses.fields(self.config_cls):
            flags = [f"--{f.name.replace('_', '-')}"]
            if f.name in self.flag_aliases:
                flags.insert(0, f"--{self.flag_aliases[f.name].replace('_', '-')}")
            help_text = f"{docs.get(f.name, f.name)} (default: {f.default!r})"
            kind = hints[f.name]
            if kind is bool:
                group.add_argument(
                    *flags,
                    dest=f.name,
                    type=_bool,
                    nargs="?",
                    const=True,
                    metavar="BOOL",
                    help=help_text,
                )
                group.add_argument(
                    f"--no-{f.name.replace('_', '-')}",
                    dest=f.name,
                    action="store_const",
                    const=False,
                    help=argparse.SUPPRESS,
                )
            else:
                group.add_argument(*flags, dest=f.name, type=kind, metavar="N", help=help_text)

    def config_from_args(self, args: argparse.Namespace) -> Config:
        """The config the flags of :meth:`add_config_arguments` describe (validated)."""
        changes = {
            f.name: getattr(args, f.name)
            for f in dataclasses.fields(self.config_cls)
            if getattr(args, f.name, None) is not None
        }
        return self.load_config(args.config, **changes)


_REGISTRY: dict[str, Core] = {}


def register(core: Core) -> Core:
    """Add ``core``; a second core of the same name is refused."""
    if not isinstance(core, Core):
        raise TypeError(f"register() takes a Core, got {type(core).__name__}")
    key = core.name.lower()
    if key in _REGISTRY:
        raise ValueError(f"a core named {core.name!r} is already registered")
    _REGISTRY[key] = core
    return core


def get(name: str) -> Core:
    """The core called ``name``; ``ValueError`` listing the valid names otherwise."""
    try:
        return _REGISTRY[str(name).lower()]
    except KeyError:
        raise ValueError(f"unknown core {name!r}; expected one of {', '.join(names())}") from None


def names() -> list[str]:
    return list(_REGISTRY)


def all_cores() -> list[Core]:
    return list(_REGISTRY.values())
