"""Area estimates without synthesis: an analytic model per core, fitted to real Yosys runs.

For a configuration the estimator returns the ECP5 resources Yosys' ``synth_ecp5`` reports
(``lut``, ``ff``, ``dsp``, ``bram`` blocks) and the bits of the memories that go to block RAM
(``bram_bits``):

* every resource is linear in a handful of features of the config (:data:`FEATURES`,
  :func:`features`), each a count of hardware the RTL instantiates: per PE / per lane datapath
  widths, queue bits, buffer address widths, multipliers, option (e)'s shared buffer, pointers
  and multiplexers, and for BRAM the blocks its memories
  need (:func:`memories`, each costed in 18 Kbit ``DP16KD`` blocks at the block's best aspect
  ratio, 16384 x 1 ... 512 x 36: Yosys maps every memory of the cores to block RAM). The
  coefficients are fitted by least squares on *relative* error to the resources
  of real Yosys runs over a training set of configurations (``accelgen explore --fit-area``)
  and stored in ``area_coefficients.json`` next to this module, with the training range and
  the held-out error;
* ``bram_bits`` is counted: the bits of all memories;
* EIE LUTs in two steps (:data:`TWO_STEP`): the LUTs ABC maps the core to (``abc_lut``, Yosys'
  ``ABC RESULTS: $lut cells``: LUTs of up to 7 inputs) are linear in the features, and the
  LUT4s are those times the LUT4s per ABC LUT (below). ``synth_ecp5`` maps with
  ABC9 for delay: a 5- to 7-input LUT becomes 2 to 8 LUT4s with PFUMX / L6MUX21 muxes, and how
  many of them ABC picks follows the design's critical paths, not its size (1.10 to 1.24 LUT4s
  per ABC LUT over the training and held-out configs on the current RTL, while the ABC LUT
  count itself is linear in the config within about 1 %). The ratio is fitted as a constant
  (the features after ``abc_lut*`` could make it linear in e.g. ``shallow``, 1 / PEs for a
  queue of at most 4 entries, which the previous RTL needed; ``docs/explore.md``); a single
  configuration can still come out well above it when ABC picks wide LUTs for it.

The model is only meant inside the fitted range (``fit_range`` in the JSON): outside it the
estimate is an extrapolation, flagged by :func:`in_range` (for EIE: options (a), (c), (d) on
and off and option (e) with ``decouple_depth`` up to 8 are inside; the training set's memories
are one size, ``spmat_words`` 256, ``ptr_depth`` 512, ``max_layers`` 2, so any other size is
outside).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "COEFFICIENTS",
    "FEATURES",
    "RESOURCES",
    "AreaModel",
    "bram_blocks",
    "estimate",
    "features",
    "fit",
    "in_range",
    "load_model",
    "memories",
    "select_features",
]

COEFFICIENTS = Path(__file__).with_name("area_coefficients.json")
#: Resources the estimator predicts.
RESOURCES = ("lut", "ff", "dsp", "bram", "bram_bits")
#: Resources fitted by least squares (``bram_bits`` is counted).
FITTED = ("lut", "ff", "dsp", "bram")
#: Cores whose LUT estimate goes through ABC's LUT count: ``abc_lut`` linear in the features,
#: ``lut`` = ``abc_lut`` x the LUT4s per ABC LUT, a constant (least squares over the training
#: set; linear in the features named after ``abc_lut*`` when :data:`FEATURES` lists any).
TWO_STEP = ("eie",)
BRAM_BITS = 18432
# DP16KD aspect ratios (depth, width)
_BRAM_SHAPES = ((16384, 1), (8192, 2), (4096, 4), (2048, 9), (1024, 18), (512, 36))

#: Feature names per core and resource (the columns of the linear model, ``1`` = constant),
#: chosen on the training set by leave-one-out error (EIE ABC LUTs and FF: :func:`select_features`
#: over :data:`CANDIDATES`; EIE LUT: ABC's LUTs times a ratio, :data:`TWO_STEP`).
FEATURES: dict[str, dict[str, tuple[str, ...]]] = {
    "eie": {
        "abc_lut": ("1", "pes", "pes*acc", "pes*skip", "pes*merge", "pes*fifo", "pes*dec_mux"),
        "lut": ("abc_lut",),
        "ff": ("1", "pes", "pes*acc", "pes*skip", "pes*merge", "pes*fifo", "dec_regs"),
        "dsp": ("1", "pes"),
        "bram": ("1", "blocks"),
    },
    "diannao": {
        "lut": ("1", "tn", "tn2*w", "tn*acc", "ctrl_bits"),
        "ff": ("1", "tn", "tn2*w", "tn*acc", "ctrl_bits"),
        "dsp": ("1", "tn", "tn2"),
        "bram": ("1", "blocks"),
    },
}

#: Candidate features :func:`select_features` chose the EIE ABC-LUT and FF features from
#: (``dec_*``: option (e), decoupled broadcast, see :func:`features`).
CANDIDATES: dict[str, tuple[str, ...]] = {
    "eie": (
        "pes",
        "pes*acc",
        "acc",
        "pes*skip",
        "skip",
        "pes*filter",
        "filter",
        "pes*merge",
        "merge",
        "pes*queue_bits",
        "pes*fifo",
        "pes*log2fifo",
        "dec_regs",
        "pes*dec_ptr",
        "pes*dec_mux",
        "pes*dec_keep",
    ),
}


def _log2(n: int) -> int:
    return max(1, (int(n) - 1).bit_length())


def memories(core: str, config) -> list[tuple[int, int, int]]:
    """``(instances, depth, width)`` of every memory the core's RTL declares."""
    c = config
    if core == "eie":
        n = c.n_pes
        return [
            (n, c.spmat_words, 64),
            (2 * n, -(-c.ptr_depth // 2), c.ptr_bits),
            (2 * n, c.regfile_depth, c.acc_bits),
            (n, c.max_layers << c.rf_bits, c.act_bits),
            (n, c.max_layers, 64),
        ] + ([(n, c.ptr_depth, 1)] if c.filter_empty else [])  # option (c): a bit per column
    if core == "diannao":
        from accelgen.spec.diannao import instruction_bits

        t = c.tn
        return [
            (1, c.nbin_depth, t * c.act_bits),
            (1, c.nbout_depth, t * c.acc_bits),
            (1, c.sb_depth, t * t * c.w_bits),
            (1, c.imem_depth, instruction_bits(c)),
        ]
    raise ValueError(f"no area model for core {core!r}; expected eie or diannao")


def bram_blocks(depth: int, width: int) -> int:
    """DP16KD blocks of a ``depth x width`` memory at the best aspect ratio."""
    return min(math.ceil(depth / d) * math.ceil(width / w) for d, w in _BRAM_SHAPES)


def features(core: str, config) -> dict[str, float]:
    """The model's features of ``config`` (see :data:`FEATURES`)."""
    c = config
    if core == "eie":
        n = c.n_pes
        queue_bits = c.fifo_depth * (c.col_bits + c.act_bits)
        s_depth = c.decouple_depth  # option (e): S columns in the shared buffer, 0 when off
        ptr_bits = (s_depth - 1).bit_length() + 1 if s_depth else 0  # log2(2S)
        addr_bits = c.ptr_bits + c.rf_bits + c.line_addr_bits + c.col_bits
        return {
            "1": 1.0,
            "blocks": _counted(core, config)["bram"],
            "pes": n,
            "pes*acc": n * c.acc_bits,
            "acc": c.acc_bits,
            "pes*queue_bits": n * queue_bits,
            "pes*skip": n * int(c.skip_empty),
            "skip": int(c.skip_empty),
            "pes*filter": n * int(c.filter_empty),
            "filter": int(c.filter_empty),
            "pes*merge": n * int(c.merge_padding),
            "merge": int(c.merge_padding),
            "pes*fifo": n * c.fifo_depth,
            "pes*log2fifo": n * _log2(c.fifo_depth),
            # a queue of at most 4 entries, per PE: on the RTL before 2026-12-06 ABC picked more
            # wide LUTs for it (docs/explore.md); a candidate term of the LUT4-per-ABC-LUT ratio
            "shallow": int(c.fifo_depth <= 4) / n,
            "pes*addr_bits": n * addr_bits,
            # option (e) (docs/eie.md "Decoupled broadcast"): S x (column + activation)
            # registers at the top, per PE a read pointer of log2(2S) bits (and its compare with
            # the head), an S:1 multiplexer of column and activation, and S keep bits with (c)
            "dec_regs": s_depth * (c.col_bits + c.act_bits),
            "pes*dec_ptr": n * ptr_bits,
            "pes*dec_mux": n * s_depth * (c.col_bits + c.act_bits),
            "pes*dec_keep": n * s_depth * int(c.filter_empty),
        }
    if core == "diannao":
        from accelgen.spec.diannao import instruction_bits

        t = c.tn
        ctrl = instruction_bits(c) + _log2(c.nbin_depth) + _log2(c.nbout_depth) + _log2(c.sb_depth)
        return {
            "1": 1.0,
            "blocks": _counted(core, config)["bram"],
            "tn": t,
            "tn2": t * t,
            "tn2*w": t * t * c.w_bits,
            "tn*acc": t * c.acc_bits,
            "addr_bits": _log2(c.nbin_depth) + _log2(c.nbout_depth) + _log2(c.sb_depth),
            "ctrl_bits": ctrl,
        }
    raise ValueError(f"no area model for core {core!r}; expected eie or diannao")


def _counted(core: str, config) -> dict[str, int]:
    """Block RAM counted from the config's memories: DP16KD blocks and bits. Yosys'
    ``synth_ecp5`` maps every memory of the cores to block RAM, however small."""
    blocks = bits = 0
    for inst, depth, width in memories(core, config):
        blocks += inst * bram_blocks(depth, width)
        bits += inst * depth * width
    return {"bram": blocks, "bram_bits": bits}


@dataclass(frozen=True)
class AreaModel:
    """Fitted coefficients per core and resource, the training range and held-out errors."""

    coefficients: Mapping[str, Mapping[str, Mapping[str, float]]]
    fit_range: Mapping[str, Mapping[str, tuple[Any, Any]]]
    errors: Mapping[str, Any]

    def to_json(self) -> dict:
        return {
            "description": "accelgen area estimator (accelgen.farm.area): ECP5 LUT and FF, "
            "linear in the features, fitted on Yosys synth_ecp5 runs",
            "features": {
                core: {res: list(names) for res, names in f.items()} for core, f in FEATURES.items()
            },
            "coefficients": self.coefficients,
            "fit_range": {
                core: {k: list(v) for k, v in r.items()} for core, r in self.fit_range.items()
            },
            "errors": self.errors,
        }

    @classmethod
    def from_json(cls, data: Mapping) -> AreaModel:
        return cls(
            coefficients=data["coefficients"],
            fit_range={
                core: {k: tuple(v) for k, v in r.items()} for core, r in data["fit_range"].items()
            },
            errors=data.get("errors", {}),
        )


_MODEL: AreaModel | None = None


def load_model(path: str | Path | None = None) -> AreaModel:
    """The stored model (``area_coefficients.json``), or the one at ``path``."""
    global _MODEL
    if path is None and _MODEL is not None:
        return _MODEL
    p = Path(path) if path is not None else COEFFICIENTS
    try:
        model = AreaModel.from_json(json.loads(p.read_text()))
    except FileNotFoundError:
        raise ValueError(f"no area coefficients at {p}; run accelgen explore --fit-area") from None
    if path is None:
        _MODEL = model
    return model


def model_version() -> str:
    """12 hex digits of SHA-256 of the stored coefficients (part of a sweep point's key)."""
    import hashlib

    try:
        return hashlib.sha256(COEFFICIENTS.read_bytes()).hexdigest()[:12]
    except OSError:
        return "-"


def estimate(core: str, config, model: AreaModel | None = None) -> dict[str, float]:
    """Estimated ECP5 resources of ``config`` (:data:`RESOURCES`)."""
    model = model or load_model()
    f = features(core, config)
    out: dict[str, float] = {"bram_bits": _counted(core, config)["bram_bits"]}
    for res in _resources(core):
        coef = model.coefficients.get(core, {}).get(res)
        if coef is None:
            raise ValueError(f"the area model has no {res} coefficients for core {core!r}")
        value = float(sum(coef[k] * f[k] for k in FEATURES[core][res]))
        if res == "abc_lut":  # the LUT4 estimate's features
            f["abc_lut"] = max(0.0, value)
            for k in FEATURES[core]["lut"][1:]:  # the ratio's terms: abc_lut x a feature
                f[k] = f["abc_lut"] * f[k.removeprefix("abc_lut*")]
        out[res] = max(0.0, round(value))
    return out


def _resources(core: str) -> tuple[str, ...]:
    """The fitted resources of ``core`` in the order they are computed."""
    return ("abc_lut", *FITTED) if core in TWO_STEP else FITTED


def in_range(core: str, config, model: AreaModel | None = None) -> bool:
    """Whether every varied field of ``config`` lies inside the model's training range."""
    model = model or load_model()
    for name, (lo, hi) in model.fit_range.get(core, {}).items():
        v = getattr(config, name)
        if isinstance(v, bool):
            continue
        if not lo <= v <= hi:
            return False
    return True


def fit(
    core: str, configs: Sequence, measured: Sequence[Mapping[str, float]]
) -> dict[str, dict[str, float]]:
    """Least-squares coefficients (on relative error) of the fitted resources for ``core``."""
    if len(configs) != len(measured) or not configs:
        raise ValueError("fit needs one measurement per config and at least one config")
    feats = [features(core, c) for c in configs]
    out = {}
    for res in _resources(core):
        names = FEATURES[core][res]
        y = np.array([float(m[res]) for m in measured])
        if names[0] == "abc_lut":  # LUT4s per ABC LUT, linear in the features after "*"
            ratio = y / np.array([float(m["abc_lut"]) for m in measured])
            a = np.array([[1.0 if k == "abc_lut" else f[k[8:]] for k in names] for f in feats])
            coef, *_ = np.linalg.lstsq(a, ratio, rcond=None)
            out[res] = {k: float(v) for k, v in zip(names, coef, strict=True)}
            continue
        a = np.array([[f[k] for k in names] for f in feats], dtype=float)
        w = 1.0 / np.maximum(y, 1.0)
        coef, *_ = np.linalg.lstsq(a * w[:, None], y * w, rcond=None)
        out[res] = {k: float(v) for k, v in zip(names, coef, strict=True)}
    return out


def loo_errors(core: str, configs: Sequence, measured: Sequence[Mapping[str, float]]) -> dict:
    """Leave-one-out cross-validation: each config predicted by the model fitted on the others
    (mean relative error per resource, percent)."""
    errs: dict[str, list[float]] = {r: [] for r in _resources(core)}
    for i in range(len(configs)):
        rest = [j for j in range(len(configs)) if j != i]
        coef = fit(core, [configs[j] for j in rest], [measured[j] for j in rest])
        est = estimate(core, configs[i], AreaModel({core: coef}, {}, {}))
        for r in errs:
            ref = float(measured[i][r])
            errs[r].append(abs(est[r] - ref) / ref if ref else float(est[r] != 0))
    return {r: round(100.0 * float(np.mean(v)), 2) for r, v in errs.items()}


def relative_errors(
    core: str, configs: Sequence, measured: Sequence[Mapping[str, float]], model: AreaModel
) -> dict[str, float]:
    """Mean relative error per resource of ``model`` on ``configs`` (percent)."""
    errs: dict[str, list[float]] = {r: [] for r in _resources(core)}
    for c, m in zip(configs, measured, strict=True):
        est = estimate(core, c, model)
        for r in errs:
            ref = float(m[r])
            errs[r].append(abs(est[r] - ref) / ref if ref else float(est[r] != 0))
    return {r: round(100.0 * float(np.mean(v)), 2) for r, v in errs.items()}


def _loo_rel(a: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Leave-one-out relative errors (percent) of least squares on relative error, ``y``
    linear in the columns of ``a`` (rows x columns, or a stack of such: subsets x rows x
    columns, one row of errors per subset). Of full rank with every leverage below 1, the
    residual of row i left out is its residual in the fit on all rows over 1 - leverage (the
    hat matrix of the weighted rows, one QR); otherwise one fit per left-out row."""
    if a.ndim == 2:
        return _loo_rel(a[None], y)[0]
    w = 1.0 / np.maximum(y, 1.0)
    aw, yw = a * w[None, :, None], y * w
    q, r = np.linalg.qr(aw)
    d = np.abs(np.diagonal(r, axis1=1, axis2=2))
    h = np.einsum("sij,sij->si", q, q)
    resid = yw[None] - np.einsum("sij,sj->si", q, np.einsum("sij,i->sj", q, yw))
    good = (d.min(axis=1) > 1e-9 * d.max(axis=1)) & (h.max(axis=1) < 1.0 - 1e-9)
    out = np.empty(h.shape)
    out[good] = 100.0 * np.abs(resid[good] / (1.0 - h[good]))
    for s in np.flatnonzero(~good):
        for i in range(len(y)):
            keep = np.arange(len(y)) != i
            coef, *_ = np.linalg.lstsq(aw[s][keep], yw[keep], rcond=None)
            out[s, i] = 100.0 * abs(float(a[s, i] @ coef) - y[i]) / max(y[i], 1.0)
    return out


def select_features(
    core: str,
    res: str,
    configs: Sequence,
    measured: Sequence[Mapping[str, float]],
    candidates: Sequence[str] | None = None,
    max_terms: int = 10,
) -> tuple[str, ...]:
    """The features of ``res`` chosen on a training set: every subset of ``candidates`` with a
    constant and at most ``max_terms`` coefficients (fewer than configs - 1) ranked by
    leave-one-out mean relative error (:func:`_loo_rel`, the subsets of one size stacked); the
    smallest subset within one standard error of the best (differences under 0.01 % count as
    ties; among equal sizes the lower error). Only the training configs may be passed in."""
    from itertools import combinations

    cands = tuple(candidates if candidates is not None else CANDIDATES[core])
    feats = [features(core, c) for c in configs]
    names_all = ("1", *cands)
    col = {k: i for i, k in enumerate(names_all)}
    table = np.array([[f[k] for k in col] for f in feats], dtype=float)
    y = np.array([float(m[res]) for m in measured])
    limit = min(max_terms, len(configs) - 2)
    scored = []  # (size, mean, se, names)
    for k in range(0, limit):
        subs = list(combinations(range(1, len(col)), k))
        for start in range(0, len(subs), 4096):  # a stack of subsets per QR
            idx = np.array([(0, *sub) for sub in subs[start : start + 4096]])
            e = _loo_rel(np.moveaxis(table[:, idx], 1, 0), y)
            mean, se = e.mean(axis=1), e.std(axis=1, ddof=1) / np.sqrt(e.shape[1])
            for j, row in enumerate(idx):
                names = tuple(names_all[i] for i in row)
                scored.append((len(names), float(mean[j]), float(se[j]), names))
    best = min(scored, key=lambda t: t[1])
    ok = [t for t in scored if t[1] <= best[1] + max(best[2], 0.01)]  # 0.01 %: a tie
    return min(ok, key=lambda t: (t[0], t[1]))[3]
