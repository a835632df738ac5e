"""Base class for the frozen, self-validating configuration dataclasses (EIEConfig, ...).

A config is a ``@dataclass(frozen=True, kw_only=True)`` subclass of :class:`Config` whose
``__post_init__`` calls :meth:`Config.validate_fields` and then ``require(...)`` for each rule.
``to_json``/``from_json``/``save``/``load`` round-trip it; unknown keys and wrong types are
rejected with a message that names them.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import types
import typing
from pathlib import Path
from typing import Any, Self

from .numerics import Numerics

__all__ = ["MAX_CONFIG_BYTES", "Config", "NumericsConfig", "field_docs", "is_pow2", "require"]

MAX_CONFIG_BYTES = 1 << 20
"""Largest config file read (bytes); a config is a few hundred bytes of JSON."""


def require(condition: bool, message: str) -> None:
    """Raise ``ValueError(message)`` unless ``condition`` holds."""
    if not condition:
        raise ValueError(message)


def is_pow2(n: int) -> bool:
    return isinstance(n, int) and n >= 1 and (n & (n - 1)) == 0


def _check_type(name: str, value: Any, annotation: Any) -> None:
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        require(
            value in typing.get_args(annotation),
            f"{name} must be one of {typing.get_args(annotation)!r}, got {value!r}",
        )
        return
    if origin in (typing.Union, types.UnionType):
        for arm in typing.get_args(annotation):
            try:
                _check_type(name, value, arm)
                return
            except (TypeError, ValueError):
                continue
        raise TypeError(f"{name} has the wrong type: {value!r}")
    if annotation is type(None):
        if value is not None:
            raise TypeError(f"{name} must be None, got {value!r}")
        return
    if annotation is bool:
        if not isinstance(value, bool):
            raise TypeError(f"{name} must be true or false, got {value!r}")
        return
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an integer, got {value!r}")
        return
    if annotation is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{name} must be a number, got {value!r}")
        return
    if annotation is str:
        if not isinstance(value, str):
            raise TypeError(f"{name} must be a string, got {value!r}")
        return


class Config:
    """Mixin for frozen config dataclasses: type checks and JSON round trip."""

    def validate_fields(self) -> None:
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            _check_type(f.name, getattr(self, f.name), hints[f.name])

    def to_json(self) -> dict[str, Any]:
        """The config as a JSON-ready dict (fields only; derived values are in reports)."""
        out = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            v = getattr(self, f.name)
            out[f.name] = v.to_json() if hasattr(v, "to_json") else v
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        if not isinstance(data, dict):
            raise TypeError(f"{cls.__name__} JSON must be an object, got {type(data).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(
                f"unknown {cls.__name__} field(s) {', '.join(unknown)}; "
                f"valid fields: {', '.join(sorted(names))}"
            )
        return cls(**data)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_json(), indent=2) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """Read a config file: UTF-8 JSON of at most :data:`MAX_CONFIG_BYTES` bytes.

        Every error (missing file, a folder, not UTF-8, not JSON, unknown field, bad value) is a
        ``ValueError``/``TypeError``/``FileNotFoundError`` whose message starts with the path.
        """
        p = Path(path)
        if not p.exists():
            raise FileNotFoundError(f"{p}: no such config file")
        if p.is_dir():
            raise ValueError(f"{p} is a folder, not a JSON config file ({cls.__name__})")
        if not p.is_file():
            raise ValueError(f"{p} is not a regular file (a JSON config file is needed)")
        if p.stat().st_size > MAX_CONFIG_BYTES:
            raise ValueError(
                f"{p}: {p.stat().st_size} bytes, too large for a config (at most "
                f"{MAX_CONFIG_BYTES})"
            )
        try:
            text = p.read_bytes().decode("utf-8")
        except UnicodeDecodeError as e:
            raise ValueError(
                f"{p}: not UTF-8 text (byte {e.object[e.start]:#04x} at offset {e.start}); "
                "a config file is UTF-8 JSON"
            ) from None
        except OSError as e:
            raise ValueError(f"{p}: cannot read ({e.strerror})") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(f"{p}: not valid JSON ({e})") from None
        except RecursionError:
            raise ValueError(f"{p}: not valid JSON (nested too deeply)") from None
        try:
            return cls.from_json(data)
        except (TypeError, ValueError) as e:
            raise type(e)(f"{p}: {e}") from None

    def replace(self, **changes: Any) -> Self:
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]


class NumericsConfig(Config):
    """A core config with the datapath fields ``act_bits``, ``act_frac``, ``w_bits``, ``w_frac``
    and ``acc_bits``."""

    def validate_numerics(self) -> None:
        """Check the formats with the golden model's rules (``ValueError`` naming the value)."""
        try:
            self.numerics  # noqa: B018 - constructing Numerics validates the formats
        except TypeError as e:
            raise ValueError(str(e)) from None

    @property
    def numerics(self):
        """The datapath formats as a golden-model :class:`~accelgen.spec.numerics.Numerics`."""
        return Numerics(
            act_bits=self.act_bits,
            act_frac=self.act_frac,
            w_bits=self.w_bits,
            w_frac=self.w_frac,
            acc_bits=self.acc_bits,
        )


def field_docs(cls: type) -> dict[str, str]:
    """The first sentence of each field's entry in the "Parameters" section of ``cls``'s
    NumPy-style docstring (``name[, name ...] : type`` then indented text), keyed by field.

    The config docstrings are the one description of every field; the command line derives its
    ``--help`` from them.
    """
    doc = inspect.getdoc(cls) or ""
    lines = doc.splitlines()
    try:
        start = lines.index("Parameters") + 2
    except ValueError:
        return {}
    out: dict[str, str] = {}
    names: list[str] = []
    text: list[str] = []

    def flush() -> None:
        if names:
            sentence = " ".join(text).split(". ")[0].rstrip(".").replace("``", "")
            for n in names:
                out[n] = sentence
        text.clear()

    for line in lines[start:]:
        if line and not line.startswith(" "):
            if " : " not in line:
                break  # the next section
            flush()
            names = [n.strip() for n in line.split(" : ")[0].split(",")]
        elif line.strip():
            text.append(line.strip())
    flush()
    return out
