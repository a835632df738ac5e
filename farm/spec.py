"""The ``accelgen explore`` SPEC: a core, a workload, a grid or a seeded sample of config fields,
constraints and what to do with the Pareto front (``docs/explore.md``).

A SPEC is JSON or TOML (``tomllib``). :func:`load_spec` checks all of it (unknown keys, empty
grids, every point's config) and raises one ``ValueError`` naming the file and the offending
key or value, before any worker starts.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import random
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["MAX_POINTS", "ExploreSpec", "load_spec", "parse_spec"]

MAX_SPEC_BYTES = 1 << 20
MAX_POINTS = 100_000
_TOP = {"core", "name", "workload", "grid", "sample", "fixed", "constraints", "pareto"}
_WORKLOAD = {"paper", "synthetic", "network", "onnx", "batch", "seed"}
_ONNX = {"path", "density", "data", "name"}
#: Config fields an ONNX model is quantized with: one value per SPEC.
_FORMAT_FIELDS = ("act_bits", "act_frac", "w_bits", "w_frac")
_SAMPLE = {"count", "seed", "fields"}
_CONSTRAINTS = {"max_lut", "max_ff", "max_dsp", "max_bram", "max_cycles", "max_energy_nj"}
_PARETO = {"synth", "max_points", "spot_check", "timeout_s"}
_SYNTH_EIE = {"inputs", "outputs", "weight_density", "act_density", "name"}
_SYNTH_DN = {"kind", "ni", "no", "height", "width", "kernel", "name"}
#: Memory fields sized to the workload unless the SPEC sets them.
AUTO_FIELDS = {
    "eie": ("regfile_depth", "spmat_words", "ptr_depth", "max_layers"),
    "diannao": (),
}


@dataclass(frozen=True)
class ExploreSpec:
    """A checked SPEC. ``points`` are the config overrides of every point, in order."""

    core: str
    name: str
    workload: dict
    points: tuple[dict, ...]
    varied: tuple[str, ...]
    constraints: dict = field(default_factory=dict)
    pareto: dict = field(default_factory=dict)
    base_dir: str = "."

    def to_json(self) -> dict:
        return {k: v for k, v in dataclasses.asdict(self).items() if k != "points"} | {
            "n_points": len(self.points)
        }


def _unknown(where: str, got: dict, allowed: set[str]) -> None:
    bad = sorted(set(got) - allowed)
    if bad:
        raise ValueError(
            f"unknown {where} key {bad[0]!r}; expected one of {', '.join(sorted(allowed))}"
        )


def _table(spec: dict, key: str) -> dict:
    v = spec.get(key, {})
    if not isinstance(v, dict):
        raise ValueError(f"{key} must be a table (mapping), got {type(v).__name__}")
    return v


def _number(where: str, v: Any, lo: float, hi: float, integer: bool = True) -> Any:
    ok = not isinstance(v, bool) and isinstance(v, int if integer else (int, float))
    if not ok or not lo <= v <= hi:
        kind = "an integer" if integer else "a number"
        raise ValueError(f"{where} must be {kind} in {lo}..{hi}, got {v!r}")
    return v


def _check_workload(core: str, w: dict, base: Path) -> dict:
    from accelgen.golden import paper

    _unknown("workload", w, _WORKLOAD)
    out: dict[str, Any] = {
        "batch": _number("workload.batch", w.get("batch", 1), 1, 64),
        "seed": _number("workload.seed", w.get("seed", 1), 0, 2**31),
        "layers": [],
    }
    names = w.get("paper", [])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ValueError(f"workload.paper must be a list of layer names, got {names!r}")
    for n in names:
        (paper.eie_layer if core == "eie" else paper.diannao_layer)(n)
        out["layers"].append({"paper": n})
    synth = w.get("synthetic", [])
    if not isinstance(synth, list):
        raise ValueError(f"workload.synthetic must be a list of tables, got {synth!r}")
    for i, s in enumerate(synth):
        if not isinstance(s, dict):
            raise ValueError(f"workload.synthetic[{i}] must be a table, got {s!r}")
        where = f"workload.synthetic[{i}]"
        if core == "eie":
            _unknown(where, s, _SYNTH_EIE)
            for k in ("inputs", "outputs"):
                _number(f"{where}.{k}", s.get(k), 1, 1 << 16)
            for k in ("weight_density", "act_density"):
                _number(f"{where}.{k}", s.get(k), 0.0, 1.0, integer=False)
        else:
            _unknown(where, s, _SYNTH_DN)
            kind = s.get("kind")
            if kind not in ("class", "conv", "pool"):
                raise ValueError(f"{where}.kind must be class, conv or pool, got {kind!r}")
            for k in ("ni", "no"):
                _number(f"{where}.{k}", s.get(k), 1, 4096)
            for k in ("height", "width", "kernel"):
                _number(f"{where}.{k}", s.get(k, 1), 1, 1024)
        out["layers"].append({"synthetic": dict(s)})
    net = w.get("network")
    if net is not None:
        if not isinstance(net, str) or not net:
            raise ValueError(f"workload.network must be a path to an .npz, got {net!r}")
        p = (base / net).resolve()
        if not p.is_file():
            raise ValueError(f"workload.network {net!r}: no such file ({p})")
        out["layers"].append({"network": str(p)})
    if "onnx" in w:
        out["layers"].append(_check_onnx(w["onnx"], base))
    if not out["layers"]:
        raise ValueError("the workload is empty: give paper, synthetic, network or onnx layers")
    return out


def _digest(p: Path) -> str:
    """16 hex digits of SHA-256 of a file (a changed model or data file is a new workload)."""
    import hashlib

    return hashlib.sha256(p.read_bytes()).hexdigest()[:16]


def _check_onnx(v: Any, base: Path) -> dict:
    """``onnx = "m.onnx"`` or ``onnx = { path = "m.onnx", density = 0.25, data = "x.npz" }``."""
    item = {"path": v} if isinstance(v, str) else v
    if not isinstance(item, dict):
        raise ValueError(f"workload.onnx must be a path or a table with path, got {v!r}")
    _unknown("workload.onnx", item, _ONNX)
    path = item.get("path")
    if not isinstance(path, str) or not path:
        raise ValueError(f"workload.onnx needs a path to an .onnx model, got {path!r}")
    p = (base / path).resolve()
    if not p.is_file():
        raise ValueError(f"workload.onnx {path!r}: no such file ({p})")
    out: dict[str, Any] = {"onnx": str(p), "sha256": _digest(p)}
    if "density" in item:
        d = item["density"]
        if isinstance(d, bool) or not isinstance(d, (int, float)) or not 0.0 < d <= 1.0:
            raise ValueError(f"workload.onnx.density must be in (0, 1], got {d!r}")
        out["density"] = float(d)
    if "data" in item:
        data = item["data"]
        dp = (base / data).resolve() if isinstance(data, str) and data else None
        if dp is None or not dp.is_file():
            raise ValueError(f"workload.onnx.data {data!r}: no such file")
        out["data"] = str(dp)
        out["data_sha256"] = _digest(dp)
    if "name" in item:
        if not isinstance(item["name"], str):
            raise ValueError(f"workload.onnx.name must be a string, got {item['name']!r}")
        out["name"] = item["name"]
    return out


def _import_onnx(core: str, workload: dict, configs: list) -> None:
    """Quantize the workload's ONNX model with the points' number formats (one per SPEC) and
    import it once here, so a model the core cannot run is an error before any worker starts."""
    from accelgen.farm.onnx_workload import onnx_layers

    for i, item in enumerate(workload["layers"]):
        if "onnx" not in item:
            continue
        formats = {tuple(getattr(c, k) for k in _FORMAT_FIELDS) for c in configs}
        if len(formats) > 1:
            raise ValueError(
                "an ONNX workload is quantized with one number format; "
                f"{', '.join(_FORMAT_FIELDS)} must not vary between points"
            )
        num = configs[0].numerics
        item["numerics"] = num.to_json()
        where = f"workload.onnx {Path(item['onnx']).name!r}"
        try:
            onnx_layers(core, item, workload["batch"], workload["seed"] + 2000 + i)
        except (ValueError, FileNotFoundError, OSError) as e:
            raise ValueError(f"{where}: {(str(e).splitlines() or [type(e).__name__])[0]}") from None


def _grid(core_cls, grid: dict) -> list[dict]:
    fields = {f.name for f in dataclasses.fields(core_cls)}
    for k, values in grid.items():
        if k not in fields:
            raise ValueError(
                f"unknown config field {k!r} in grid; {core_cls.__name__} has "
                f"{', '.join(sorted(fields))}"
            )
        if not isinstance(values, list):
            raise ValueError(f"grid.{k} must be a list of values, got {values!r}")
        if not values:
            raise ValueError(f"grid.{k} is empty; give at least one value")
    size = math.prod(len(v) for v in grid.values())
    if size > MAX_POINTS:
        raise ValueError(f"the grid has {size} points; at most {MAX_POINTS}")
    keys = list(grid)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*grid.values())]


def _sample(core_cls, sample: dict) -> list[dict]:
    _unknown("sample", sample, _SAMPLE)
    count = _number("sample.count", sample.get("count"), 1, MAX_POINTS)
    rng = random.Random(_number("sample.seed", sample.get("seed", 1), 0, 2**31))
    fields = sample.get("fields", {})
    if not isinstance(fields, dict) or not fields:
        raise ValueError("sample.fields must be a non-empty table field -> list of values")
    names = {f.name for f in dataclasses.fields(core_cls)}
    for k, v in fields.items():
        if k not in names:
            raise ValueError(f"unknown config field {k!r} in sample.fields")
        if not isinstance(v, list) or not v:
            raise ValueError(f"sample.fields.{k} must be a non-empty list of values, got {v!r}")
    seen, points = set(), []
    for _ in range(count):
        p = {k: rng.choice(v) for k, v in fields.items()}
        key = json.dumps(p, sort_keys=True)
        if key not in seen:
            seen.add(key)
            points.append(p)
    return points


def parse_spec(spec: Any, *, source: str = "SPEC", base_dir: str | Path = ".") -> ExploreSpec:
    """Check a SPEC mapping; every error is a ``ValueError`` prefixed with ``source``."""
    try:
        return _parse(spec, Path(base_dir))
    except (ValueError, TypeError) as e:
        raise ValueError(f"{source}: {e}") from None


def _parse(spec: Any, base: Path) -> ExploreSpec:
    from accelgen import cores

    if not isinstance(spec, dict):
        raise ValueError(f"a SPEC is a table (mapping), got {type(spec).__name__}")
    _unknown("SPEC", spec, _TOP)
    if "core" not in spec:
        raise ValueError('the SPEC names no core (core = "eie" or "diannao")')
    core = cores.get(spec["core"])
    cls = core.config_cls
    workload = _check_workload(core.name, _table(spec, "workload"), base)
    fixed = _table(spec, "fixed")
    grid, sample = _table(spec, "grid"), spec.get("sample")
    if sample is not None and grid:
        raise ValueError("give either a grid or a sample, not both")
    if sample is None and not grid:
        raise ValueError("the SPEC has no grid and no sample: nothing to explore")
    points = _grid(cls, grid) if sample is None else _sample(cls, _table(spec, "sample"))
    varied = tuple(grid) if sample is None else tuple(spec["sample"]["fields"])
    both = sorted(set(fixed) & set(varied))
    if both:
        raise ValueError(f"field {both[0]!r} is both fixed and varied")
    names = {f.name for f in dataclasses.fields(cls)}
    for k in fixed:
        if k not in names:
            raise ValueError(f"unknown config field {k!r} in fixed")
    full, configs = [], []
    for p in points:
        overrides = {**fixed, **p}
        try:
            configs.append(cls(**overrides))
        except (ValueError, TypeError) as e:
            raise ValueError(f"point {json.dumps(p, sort_keys=True)}: {e}") from None
        full.append(overrides)
    _import_onnx(core.name, workload, configs)
    constraints = _table(spec, "constraints")
    _unknown("constraints", constraints, _CONSTRAINTS)
    for k, v in constraints.items():
        _number(f"constraints.{k}", v, 0, 1e18, integer=False)
    pareto = {"synth": True, "max_points": 4, "spot_check": 2, "timeout_s": 3600}
    given = _table(spec, "pareto")
    _unknown("pareto", given, _PARETO)
    pareto.update(given)
    if not isinstance(pareto["synth"], bool):
        raise ValueError(f"pareto.synth must be true or false, got {pareto['synth']!r}")
    _number("pareto.max_points", pareto["max_points"], 0, 1000)
    _number("pareto.spot_check", pareto["spot_check"], 0, 64)
    _number("pareto.timeout_s", pareto["timeout_s"], 1, 86400, integer=False)
    name = spec.get("name", "explore")
    if not isinstance(name, str):
        raise ValueError(f"name must be a string, got {name!r}")
    return ExploreSpec(
        core=core.name,
        name=name,
        workload=workload,
        points=tuple(full),
        varied=varied,
        constraints=dict(constraints),
        pareto=pareto,
        base_dir=str(base),
    )


def load_spec(path: str | Path) -> ExploreSpec:
    """Read and check the SPEC at ``path`` (``.toml`` or ``.json``, at most 1 MiB)."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise ValueError(f"cannot read SPEC {p}: {e.strerror or e}") from None
    if len(raw) > MAX_SPEC_BYTES:
        raise ValueError(f"SPEC {p} is larger than 1 MiB")
    try:
        text = raw.decode("utf-8")
        if p.suffix.lower() == ".toml":
            data = tomllib.loads(text)
        elif p.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            raise ValueError(f"SPEC {p} must end in .toml or .json")
    except UnicodeDecodeError:
        raise ValueError(f"SPEC {p} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"SPEC {p} is not valid TOML: {e}") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"SPEC {p} is not valid JSON: {e.msg} at line {e.lineno}") from None
    return parse_spec(data, source=str(p), base_dir=p.parent)
