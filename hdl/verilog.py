"""Verilog text of the gateware: conversion of a component and a disk cache per configuration.

Every generated top goes through :func:`convert` (one Amaranth call, no source attributes) and,
for the cores, through :func:`cached`, which keeps the text under ``build/verilog/`` keyed by
the configuration, the Amaranth version and the source of the gateware and spec layers, so an
edited generator never reuses stale text.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["build_dir_root", "cached", "convert", "top_ports"]

# The packages whose source decides the generated text.
_SOURCE_DIRS = (Path(__file__).resolve().parent, Path(__file__).resolve().parent.parent / "spec")


def build_dir_root() -> Path:
    """Root of all build products: ``$ACCELGEN_BUILD_DIR`` or ``./build``."""
    return Path(os.environ.get("ACCELGEN_BUILD_DIR", "build")).resolve()


def top_ports(component) -> dict:
    """The Verilog ports of a component used as a top: every member of its signature, named
    ``a__b`` for ``a.b``, except constant members (an ``always_ready`` stream's ``ready`` is a
    constant, not a port; Amaranth refuses it as one)."""
    from amaranth.hdl import Signal
    from amaranth.hdl._ir import PortDirection
    from amaranth.lib import wiring

    ports = {}
    for path, member, value in component.signature.flatten(component):
        if hasattr(value, "as_value"):
            value = value.as_value()
        if not isinstance(value, Signal):
            continue
        direction = PortDirection.Input if member.flow == wiring.In else PortDirection.Output
        ports["__".join(map(str, path))] = (value, direction)
    return ports


def convert(component, name: str) -> str:
    """Convert an Amaranth ``wiring.Component`` to Verilog text with top module ``name``."""
    from amaranth.back import verilog

    return verilog.convert(component, name=name, ports=top_ports(component), emit_src=False)


@functools.lru_cache(maxsize=1)
def _source_digest() -> str:
    import amaranth

    h = hashlib.sha256(amaranth.__version__.encode())
    for d in _SOURCE_DIRS:
        for src in sorted(d.rglob("*.py")):
            h.update(src.read_bytes())
    return h.hexdigest()


@functools.lru_cache(maxsize=16)
def cached(name: str, config, generate: Callable[[Any], str]) -> str:
    """The Verilog of top ``name`` for ``config``: from the disk cache, or ``generate(config)``.

    ``config`` is a :class:`~accelgen.spec.config.Config` (its JSON is part of the key). The
    file is written under a temporary name and renamed, so concurrent processes never read a
    partial file.
    """
    h = hashlib.sha256(json.dumps(config.to_json(), sort_keys=True).encode())
    h.update(name.encode())
    h.update(_source_digest().encode())
    path = build_dir_root() / "verilog" / f"{name}-{h.hexdigest()[:16]}.v"
    if path.exists():
        return path.read_text()
    text = generate(config)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(text)
    tmp.replace(path)
    return text
