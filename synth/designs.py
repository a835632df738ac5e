"""The generated tops the synthesis, lint and formal flows know, built lazily by name.

Every flow in :mod:`accelgen.synth` works on "an Amaranth ``wiring.Component`` plus a Verilog
top name"; this module maps the names users type (``accelgen synth eie``) to such pairs.
Modules are imported only when a design is built, so a core that does not exist yet is reported
with :class:`MissingDesign` (naming the missing module) instead of breaking the others.

* blocks (no config): ``mac`` (``hdl.common.mac.MAC``), ``codebook`` (``CodebookDecoder``),
  ``adder_tree`` / ``max_tree`` (``hdl.common.trees``, Tn = 8), ``pwl`` (``PWLUnit``); the
  Verilog top has the same name;
* cores: ``eie`` (``hdl.eie.top.EIETop(EIEConfig)``, top ``eie_top``) and ``diannao``
  (``hdl.diannao.top.DianNaoTop(DianNaoConfig)``, top ``diannao_top``).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "BLOCKS",
    "CORES",
    "DESIGNS",
    "DesignSpec",
    "MissingDesign",
    "SMALL_CONFIGS",
    "build",
    "config_class",
    "load_config",
]


class MissingDesign(RuntimeError):
    """A design's module (or class) does not exist in this checkout yet."""

    def __init__(self, design: str, module: str, detail: str = "") -> None:
        self.design = design
        self.module = module
        extra = f" ({detail})" if detail else ""
        super().__init__(f"design {design!r} is not available: module {module} is missing{extra}")


@dataclass(frozen=True, kw_only=True)
class DesignSpec:
    """Where to find one generated top.

    Parameters
    ----------
    name : str
        The name used on the command line.
    top : str
        Verilog module name of the generated top.
    module, cls : str
        Dotted module and class name of the Amaranth component.
    config_module, config_cls : str or None
        Module and class of its :class:`~accelgen.spec.config.Config` (cores only); the
        component is then built as ``cls(config)``.
    args : tuple
        Positional constructor arguments for blocks without a config.
    """

    name: str
    top: str
    module: str
    cls: str
    config_module: str | None = None
    config_cls: str | None = None
    args: tuple = ()


BLOCKS: dict[str, DesignSpec] = {
    s.name: s
    for s in (
        DesignSpec(name="mac", top="mac", module="accelgen.hdl.common.mac", cls="MAC"),
        DesignSpec(
            name="codebook",
            top="codebook",
            module="accelgen.hdl.common.codebook",
            cls="CodebookDecoder",
        ),
        DesignSpec(
            name="adder_tree",
            top="adder_tree",
            module="accelgen.hdl.common.trees",
            cls="AdderTree",
            args=(8,),
        ),
        DesignSpec(
            name="max_tree",
            top="max_tree",
            module="accelgen.hdl.common.trees",
            cls="MaxTree",
            args=(8,),
        ),
        DesignSpec(name="pwl", top="pwl", module="accelgen.hdl.common.pwl", cls="PWLUnit"),
    )
}

CORES: dict[str, DesignSpec] = {
    "eie": DesignSpec(
        name="eie",
        top="eie_top",
        module="accelgen.hdl.eie.top",
        cls="EIETop",
        config_module="accelgen.spec.eie",
        config_cls="EIEConfig",
    ),
    "diannao": DesignSpec(
        name="diannao",
        top="diannao_top",
        module="accelgen.hdl.diannao.top",
        cls="DianNaoTop",
        config_module="accelgen.spec.diannao",
        config_cls="DianNaoConfig",
    ),
}

DESIGNS: dict[str, DesignSpec] = {**BLOCKS, **CORES}

# Small configurations of the cores (same code paths, a fraction of the Verilog): used where a
# test must stay fast (lint in the default suite) and by the bounded proofs.
SMALL_CONFIGS: dict[str, dict[str, Any]] = {
    "eie": {"n_pes": 2},
    "diannao": {"tn": 4},
}


def _spec(name: str) -> DesignSpec:
    try:
        return DESIGNS[name]
    except KeyError:
        raise ValueError(f"unknown design {name!r}; expected one of {', '.join(DESIGNS)}") from None


def _attr(design: str, module: str, attr: str) -> Any:
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as e:
        # Only a missing module of this design is "not available"; a broken import inside an
        # existing module is a real error and propagates.
        if e.name is not None and module.startswith(e.name):
            raise MissingDesign(design, module) from None
        raise
    try:
        return getattr(mod, attr)
    except AttributeError:
        raise MissingDesign(design, module, f"it defines no {attr}") from None


def config_class(name: str) -> type | None:
    """The config class of design ``name`` (``None`` for blocks without one)."""
    spec = _spec(name)
    if spec.config_module is None or spec.config_cls is None:
        return None
    return _attr(name, spec.config_module, spec.config_cls)


def load_config(name: str, path: str | Path | None = None, **overrides: Any):
    """The config of core ``name``: defaults, or read from ``path``, with ``overrides`` applied.

    Raises ``ValueError`` for a block (blocks take no config file), for unknown fields and for
    values the config rejects (its message names the value).
    """
    cls = config_class(name)
    if cls is None:
        if path is not None or overrides:
            raise ValueError(f"design {name!r} takes no configuration")
        return None
    cfg = cls.load(path) if path is not None else cls()
    return cfg.replace(**overrides) if overrides else cfg


def build(name: str, config=None):
    """Build design ``name``; returns ``(component, verilog_top_name, config_or_None)``.

    Parameters
    ----------
    name : str
        A key of :data:`DESIGNS`.
    config : Config, optional
        For a core; its defaults when omitted.

    Raises
    ------
    MissingDesign
        When the design's module or class does not exist yet.
    ValueError
        For an unknown name, or a config given to a block.
    """
    spec = _spec(name)
    cls = _attr(name, spec.module, spec.cls)
    if spec.config_cls is None:
        if config is not None:
            raise ValueError(f"design {name!r} takes no configuration")
        return cls(*spec.args), spec.top, None
    if config is None:
        config = load_config(name)
    cfg_cls = config_class(name)
    if not isinstance(config, cfg_cls):
        raise TypeError(f"design {name!r} needs a {cfg_cls.__name__}, got {type(config).__name__}")
    return cls(config), spec.top, config
