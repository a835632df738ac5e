"""Trained models on real data (scikit-learn's digits) for the demo and the end-to-end tests.

* :func:`digits_data`: the quantized test split (pixels ``0..16`` -> ``pixel / 16`` in
  activation fixed point, exact at ``act_frac >= 4``).
* :func:`digits_mlp`: the LeNet-300-100-shaped MLP 64-300-100-10 for EIE, trained, pruned to
  about 10 % weight density, retrained, weight-shared (15 values + zero) and centroid-tuned as in
  Deep Compression (Han et al., ICLR 2016); returned as :class:`~accelgen.golden.netspec.EIELayer`.
* :func:`digits_cnn`: conv 3x3 (8) -> max-pool 2 -> conv 3x3 (16) -> max-pool 2 -> fc 64-10 for
  DianNao, returned as ``FCLayer``/``ConvLayer``/``PoolLayer``.

Training (:mod:`accelgen.golden.train`) is deterministic and takes about ten seconds; its result
(float parameters only) is cached in ``$ACCELGEN_BUILD_DIR/models`` (default ``./build/models``)
under a key hashing the training parameters and the training/compression source code. The
fixed-point layers and every accuracy are recomputed from the floats on each call, so any
:class:`~accelgen.golden.arith.Numerics` can be asked for. Fixed-point accuracies use the golden
model in the hardware's order: :func:`~accelgen.golden.netspec.run_eie` (EIE, one product at a
time) and :func:`~accelgen.golden.netspec.run_dense` with ``group = tn`` (DianNao).
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..spec.config import Config, require
from . import compress, train
from .arith import Numerics, quantize
from .compress import CompressionReport, compression_report, prune, share_weights
from .layers import fc
from .netspec import ConvLayer, DenseLayer, EIELayer, FCLayer, PoolLayer, run_dense, run_eie

__all__ = [
    "CNNParams",
    "DigitsCNN",
    "DigitsData",
    "DigitsMLP",
    "MLPParams",
    "cached_arrays",
    "compressed_mlp",
    "cache_dir",
    "digits_cnn",
    "digits_data",
    "digits_mlp",
    "train_compressed_mlp",
]

DEFAULT_NUMERICS = Numerics(act_bits=16, act_frac=8, w_bits=16, w_frac=12, acc_bits=24)


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


@dataclass(frozen=True, kw_only=True)
class MLPParams(Config):
    """Training and Deep Compression settings of the digits MLP."""

    hidden: tuple[int, ...] = (300, 100)
    seed: int = 0
    epochs: int = 60
    lr: float = 1e-3
    decay: float = 1e-4
    densities: tuple[float, ...] = (0.12, 0.10, 0.25)
    prune_epochs: int = 40
    prune_lr: float = 5e-4
    share_epochs: int = 20
    share_lr: float = 1e-4
    batch: int = 32
    lr_decay: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden", tuple(self.hidden))
        object.__setattr__(self, "densities", tuple(self.densities))
        self.validate_fields()
        require(len(self.hidden) >= 1, f"hidden must list at least one size, got {self.hidden!r}")
        require(
            all(_is_int(h) and h >= 1 for h in self.hidden),
            f"hidden sizes must be integers >= 1, got {self.hidden!r}",
        )
        require(
            len(self.densities) == len(self.hidden) + 1,
            f"densities needs one value per layer ({len(self.hidden) + 1}), got {self.densities!r}",
        )
        require(
            all(_is_number(d) and 0 < d <= 1 for d in self.densities),
            f"densities must be in (0, 1], got {self.densities!r}",
        )
        for name in ("epochs", "prune_epochs", "share_epochs"):
            require(getattr(self, name) >= 0, f"{name} must be >= 0, got {getattr(self, name)!r}")
        for name in ("lr", "prune_lr", "share_lr"):
            require(getattr(self, name) > 0, f"{name} must be > 0, got {getattr(self, name)!r}")
        require(self.batch >= 1, f"batch must be >= 1, got {self.batch!r}")
        require(0 < self.lr_decay <= 1, f"lr_decay must be in (0, 1], got {self.lr_decay!r}")


@dataclass(frozen=True, kw_only=True)
class CNNParams(Config):
    """Training settings of the digits CNN (two 3x3 convolutions with ``channels`` outputs)."""

    channels: tuple[int, int] = (8, 16)
    seed: int = 0
    epochs: int = 30
    lr: float = 2e-3
    decay: float = 1e-4

    def __post_init__(self) -> None:
        object.__setattr__(self, "channels", tuple(self.channels))
        self.validate_fields()
        require(
            len(self.channels) == 2 and all(_is_int(c) and c >= 1 for c in self.channels),
            f"channels must be two positive counts, got {self.channels!r}",
        )
        require(self.epochs >= 0, f"epochs must be >= 0, got {self.epochs!r}")
        require(self.lr > 0, f"lr must be > 0, got {self.lr!r}")


def cache_dir() -> Path:
    """``$ACCELGEN_BUILD_DIR/models`` or ``./build/models``."""
    return Path(os.environ.get("ACCELGEN_BUILD_DIR", "build")) / "models"


def _cache_key(kind: str, params: Config, sources=None) -> str:
    h = hashlib.sha256()
    h.update(kind.encode())
    h.update(json.dumps(params.to_json(), sort_keys=True).encode())
    for obj in sources if sources is not None else (train, compress):
        h.update(inspect.getsource(obj).encode())
    return h.hexdigest()[:16]


def cached_arrays(kind: str, params: Config, build, sources=None) -> dict[str, np.ndarray]:
    """The arrays ``build()`` returns, cached in :func:`cache_dir` under a key hashing ``kind``,
    ``params`` and the source code of ``sources`` (modules or functions; default: the training
    and compression modules)."""
    path = cache_dir() / f"{kind}-{_cache_key(kind, params, sources)}.npz"
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as f:
                return {k: f[k] for k in f.files}
        except (OSError, ValueError):
            pass  # a damaged cache entry is rebuilt below
    print(f"accelgen: training {kind} (cached in {path})", file=sys.stderr)
    with train.single_thread_blas():
        arrays = build()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, path)
    return arrays


def _progress(name: str, total: int):
    from tqdm import tqdm

    bar = tqdm(total=total, desc=name, unit="epoch", leave=False, disable=None)
    return bar, lambda _e: bar.update(1)


@dataclass(frozen=True, eq=False)
class DigitsData:
    """The quantized digits test split.

    Attributes
    ----------
    x : numpy.ndarray
        ``int16[n, 64]`` activations (``pixel / 16`` with ``act_frac`` fractional bits).
    y : numpy.ndarray
        ``int64[n]`` labels.
    x_float : numpy.ndarray
        ``float64[n, 64]`` in ``[0, 1]``.
    """

    x: np.ndarray
    y: np.ndarray
    x_float: np.ndarray
    numerics: Numerics

    @property
    def images(self) -> np.ndarray:
        """``int16[n, 1, 8, 8]``, the CNN's input layout."""
        return self.x.reshape(-1, 1, 8, 8)


def digits_data(num: Numerics = DEFAULT_NUMERICS, *, seed: int = 0) -> DigitsData:
    """The test split (20 %, seeded permutation) quantized to ``num``'s activation format."""
    d = train.digits_split(seed=seed)
    xq = quantize(d.x_test, num.act_frac, num.act_bits).astype(np.int16)
    return DigitsData(xq, d.y_test, d.x_test, num)


def _accuracy(logits: np.ndarray, y: np.ndarray) -> float:
    return float((np.asarray(logits).argmax(axis=1) == y).mean())


def _q_params(params, num: Numerics) -> list[tuple[np.ndarray, np.ndarray]]:
    return [
        (quantize(w, num.w_frac, num.w_bits), quantize(b, num.act_frac, num.act_bits))
        for w, b in params
    ]


@dataclass(frozen=True, eq=False)
class DigitsMLP:
    """The compressed digits MLP for EIE and its accuracies on the test split.

    Attributes
    ----------
    layers : list of EIELayer
        Compressed fixed-point layers (ReLU on all but the last); run with ``run_eie``.
    numerics : Numerics
    params : MLPParams
        The training and compression settings (the cache key).
    float_params : list of (w, b)
        The dense float model (``w`` is ``[out, in]``).
    shared_params : list of (w, b)
        The pruned, weight-shared, fine-tuned float model that ``layers`` quantizes.
    float_accuracy, fixed_accuracy : float
        Dense model in float, and in fixed point (``fc`` with ``group = 1``).
    compressed_float_accuracy, compressed_accuracy : float
        Compressed model in float, and in fixed point from the EIE encoding.
    report : CompressionReport
        Storage per layer and compression ratio (``report.ratio``, ``report.ratio_huffman``).
    """

    layers: list[EIELayer]
    numerics: Numerics
    params: MLPParams
    float_params: list[tuple[np.ndarray, np.ndarray]]
    shared_params: list[tuple[np.ndarray, np.ndarray]]
    float_accuracy: float
    fixed_accuracy: float
    compressed_float_accuracy: float
    compressed_accuracy: float
    report: CompressionReport

    @property
    def density(self) -> float:
        """Weight density over all layers (stored non-zero weights / all weights)."""
        return self.report.density

    @property
    def compression_ratio(self) -> float:
        return self.report.ratio

    @property
    def compression_ratio_huffman(self) -> float:
        return self.report.ratio_huffman

    def dense_layers(self) -> list[FCLayer]:
        """The uncompressed model as fixed-point dense layers (for DianNao or comparisons)."""
        q = _q_params(self.float_params, self.numerics)
        last = len(q) - 1
        return [FCLayer(w, b, "relu" if i < last else "none") for i, (w, b) in enumerate(q)]

    def predict(self, x, *, n_pes: int = 1) -> np.ndarray:
        """Class labels of quantized inputs ``x[n, 64]`` by the golden EIE model."""
        return np.asarray(run_eie(self.layers, x, num=self.numerics, n_pes=n_pes)[-1]).argmax(-1)


def train_compressed_mlp(p: MLPParams, d: train.DigitsSplit, name: str) -> dict[str, np.ndarray]:
    """Train, prune, retrain, share and fine-tune an MLP on ``d`` (Deep Compression)."""
    sizes = [d.x_train.shape[1], *p.hidden, 10]
    total = p.epochs + p.prune_epochs + p.share_epochs
    bar, tick = _progress(name, total)
    with bar:
        dense = train.init_mlp(sizes, np.random.default_rng(p.seed))
        dense = train.train_mlp(
            d,
            dense,
            epochs=p.epochs,
            lr=p.lr,
            decay=p.decay,
            seed=p.seed,
            batch=p.batch,
            lr_decay=p.lr_decay,
            progress=tick,
        )
        masks = [prune(w, dd) for (w, _), dd in zip(dense, p.densities, strict=True)]
        pruned = train.train_mlp(
            d,
            dense,
            epochs=p.prune_epochs,
            lr=p.prune_lr,
            decay=p.decay,
            seed=p.seed + 1,
            batch=p.batch,
            lr_decay=p.lr_decay,
            masks=masks,
            progress=tick,
        )
        shared = [share_weights(w, m) for (w, _), m in zip(pruned, masks, strict=True)]
        cs, bs = train.train_centroids(
            d,
            [c for c, _ in shared],
            [i for _, i in shared],
            [b for _, b in pruned],
            epochs=p.share_epochs,
            lr=p.share_lr,
            seed=p.seed + 2,
            batch=p.batch,
            lr_decay=p.lr_decay,
        )
        bar.update(p.share_epochs)
    out: dict[str, np.ndarray] = {}
    for i, ((w, b), (_, idx), c, sb) in enumerate(zip(dense, shared, cs, bs, strict=True)):
        out.update({f"w{i}": w, f"b{i}": b, f"index{i}": idx, f"centroids{i}": c, f"sb{i}": sb})
    return out


def digits_mlp(
    *,
    num: Numerics = DEFAULT_NUMERICS,
    params: MLPParams | None = None,
    n_pes: int = 1,
) -> DigitsMLP:
    """The Deep-Compressed digits MLP (trained on the first call, then read from the cache).

    Parameters
    ----------
    num : Numerics
        Fixed-point formats of the returned layers and of the fixed-point accuracies.
    params : MLPParams, optional
        Training settings (defaults reach the project's targets).
    n_pes : int
        PE count assumed by the storage report (column pointers are per PE).
    """
    p = params or MLPParams()
    arrays = cached_arrays(
        "digits_mlp", p, lambda: train_compressed_mlp(p, train.digits_split(), "digits MLP")
    )
    return compressed_mlp(arrays, p, digits_data(num), num=num, n_pes=n_pes)


def compressed_mlp(
    arrays: dict[str, np.ndarray], p: MLPParams, data: DigitsData, *, num: Numerics, n_pes: int
) -> DigitsMLP:
    """The fixed-point EIE layers and every accuracy on ``data`` of a trained, compressed MLP
    (``arrays`` as :func:`train_compressed_mlp` returns them)."""
    n_layers = len(p.hidden) + 1
    dense = [(arrays[f"w{i}"], arrays[f"b{i}"]) for i in range(n_layers)]
    layers, shared = [], []
    for i in range(n_layers):
        cl = compress.CompressedLayer(
            EIELayer(
                compress.quantize_codebook(
                    arrays[f"centroids{i}"], w_frac=num.w_frac, w_bits=num.w_bits
                ),
                arrays[f"index{i}"],
                quantize(arrays[f"sb{i}"], num.act_frac, num.act_bits),
                relu=i < n_layers - 1,
            ),
            arrays[f"centroids{i}"],
            arrays[f"index{i}"] > 0,
        )
        layers.append(cl.layer)
        shared.append((cl.float_weights(), arrays[f"sb{i}"]))
    with train.single_thread_blas():
        float_acc = _accuracy(train.mlp_forward(dense, data.x_float)[0], data.y)
        shared_acc = _accuracy(train.mlp_forward(shared, data.x_float)[0], data.y)
    fixed = data.x
    for i, (w, b) in enumerate(_q_params(dense, num)):
        fixed = fc(fixed, w, b, num=num, act="relu" if i < n_layers - 1 else "none", group=1)
    return DigitsMLP(
        layers=layers,
        numerics=num,
        params=p,
        float_params=dense,
        shared_params=shared,
        float_accuracy=float_acc,
        fixed_accuracy=_accuracy(fixed, data.y),
        compressed_float_accuracy=shared_acc,
        compressed_accuracy=_accuracy(run_eie(layers, data.x, num=num, n_pes=1)[-1], data.y),
        report=compression_report(layers, n_pes),
    )


@dataclass(frozen=True, eq=False)
class DigitsCNN:
    """The digits CNN for DianNao and its accuracies on the test split.

    Attributes
    ----------
    layers : list of FCLayer, ConvLayer, PoolLayer
        Fixed-point layers; run with ``run_dense(layers, x, num=numerics, group=tn)``.
    numerics : Numerics
    tn : int
        DianNao tile size, the accumulation group of the fixed-point model.
    params : CNNParams
    float_params : list of (w, b)
        conv1 ``[8, 1, 3, 3]``, conv2 ``[16, 8, 3, 3]``, fc ``[10, 64]`` with their biases.
    input_shape : tuple
        ``(1, 8, 8)``.
    float_accuracy, fixed_accuracy : float
        Float model, and fixed-point golden model in DianNao's order with ``group = tn``.
    """

    layers: list[DenseLayer]
    numerics: Numerics
    tn: int
    params: CNNParams
    float_params: list[tuple[np.ndarray, np.ndarray]]
    float_accuracy: float
    fixed_accuracy: float
    input_shape: tuple[int, int, int] = (1, 8, 8)

    def predict(self, images) -> np.ndarray:
        """Class labels of quantized images ``[n, 1, 8, 8]`` by the golden DianNao model."""
        out = run_dense(self.layers, images, num=self.numerics, group=self.tn)[-1]
        return np.asarray(out).argmax(-1)


def _train_cnn(p: CNNParams) -> dict[str, np.ndarray]:
    d = train.digits_split()
    bar, tick = _progress("digits CNN", p.epochs)
    with bar:
        params = train.train_cnn(
            d,
            channels=p.channels,
            epochs=p.epochs,
            lr=p.lr,
            decay=p.decay,
            seed=p.seed,
            progress=tick,
        )
    return {f"{k}{i}": a for i, wb in enumerate(params) for k, a in zip("wb", wb, strict=True)}


def digits_cnn(
    tn: int = 8, *, num: Numerics = DEFAULT_NUMERICS, params: CNNParams | None = None
) -> DigitsCNN:
    """The digits CNN as DianNao layers (trained on the first call, then read from the cache).

    ``tn`` is the DianNao tile size: the accumulation group of the fixed-point golden model.
    """
    if isinstance(tn, bool) or not isinstance(tn, int) or tn < 1:
        raise ValueError(f"tn must be a positive integer, got {tn!r}")
    p = params or CNNParams()
    arrays = cached_arrays("digits_cnn", p, lambda: _train_cnn(p))
    fp = [(arrays[f"w{i}"], arrays[f"b{i}"]) for i in range(3)]
    (w1, b1), (w2, b2), (w3, b3) = _q_params(fp, num)
    layers: list[DenseLayer] = [
        ConvLayer(w1, b1, stride=1, pad=1, act="relu"),
        PoolLayer(k=2, stride=2, mode="max"),
        ConvLayer(w2, b2, stride=1, pad=1, act="relu"),
        PoolLayer(k=2, stride=2, mode="max"),
        FCLayer(w3, b3, act="none"),
    ]
    data = digits_data(num)
    with train.single_thread_blas():
        float_logits = train.cnn_forward(fp, data.x_float.reshape(-1, 1, 8, 8))[0]
    fixed = run_dense(layers, data.images, num=num, group=tn)[-1]
    return DigitsCNN(
        layers=layers,
        numerics=num,
        tn=tn,
        params=p,
        float_params=fp,
        float_accuracy=_accuracy(float_logits, data.y),
        fixed_accuracy=_accuracy(fixed, data.y),
    )
