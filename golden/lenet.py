"""LeNet-300-100 on MNIST, trained and Deep-Compressed as in the papers' compression table.

Deep Compression (Han et al., ICLR 2016) reports LeNet-300-100 (784-300-100-10) at 1.64 % top-1
error before and 1.58 % after compression, 40x smaller (1070 KB -> 27 KB), with the layers
pruned to 8 %, 9 % and 26 % of their weights. :func:`lenet300` reproduces the procedure with the
project's NumPy trainer (:mod:`accelgen.golden.train`): train dense, prune each layer to the
paper's density by magnitude, retrain the survivors, share the weights of each layer (k-means,
15 values + the reserved zero: the 4-bit indices EIE stores) and fine-tune the centroids.

Inputs are the MNIST bytes over 256 (``pixel / 256``), which the default activation format
(``act_frac = 8``) holds exactly: the fixed-point input of an image is its uint8 pixels.
Training takes minutes (not seconds, as the digits models do); its result is cached like the
digits models' (``$ACCELGEN_BUILD_DIR/models``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data.mnist import MNIST, load_mnist
from ..spec.config import Config, require
from . import cnn_train, compress, relindex, train
from .arith import Numerics, quantize
from .eie_format import encode
from .fastconv import run_conv_fast
from .models import (
    DEFAULT_NUMERICS,
    DigitsData,
    DigitsMLP,
    MLPParams,
    cached_arrays,
    train_compressed_mlp,
)
from .models import compressed_mlp as _compressed
from .netspec import EIELayer, run_eie

__all__ = [
    "LENET300_PARAMS",
    "PAPER_LENET300",
    "PAPER_LENET5",
    "LeNet5",
    "LeNet5Params",
    "lenet300",
    "lenet5",
    "lenet5_arrays",
    "mnist_images",
    "mnist_cnn_split",
    "mnist_data",
    "mnist_split",
]

#: The paper's row (Deep Compression, Table 1 and Table 2).
PAPER_LENET300 = {
    "error_before": 0.0164,
    "error_after": 0.0158,
    "bytes_before": 1070e3,
    "bytes_after": 27e3,
    "ratio": 40,
    "densities": (0.08, 0.09, 0.26),
}

LENET300_PARAMS = MLPParams(
    hidden=(300, 100),
    densities=PAPER_LENET300["densities"],
    epochs=20,
    lr=1e-3,
    decay=1e-4,
    prune_epochs=10,
    prune_lr=3e-4,
    share_epochs=3,
    share_lr=1e-4,
    batch=64,
    lr_decay=0.85,
)


def mnist_split(data: MNIST | None = None) -> train.DigitsSplit:
    """MNIST as float training data: ``x`` = ``pixel / 256`` flattened to ``[n, 784]``."""
    d = data or load_mnist()
    return train.DigitsSplit(
        d.x_train.reshape(len(d.x_train), -1) / 256.0,
        d.y_train.astype(np.int64),
        d.x_test.reshape(len(d.x_test), -1) / 256.0,
        d.y_test.astype(np.int64),
    )


def mnist_data(num: Numerics = DEFAULT_NUMERICS, data: MNIST | None = None) -> DigitsData:
    """The 10,000 test images in ``num``'s activation format (exact for ``act_frac >= 8``)."""
    if num.act_frac < 8:
        raise ValueError(f"MNIST pixels / 256 need act_frac >= 8, got {num.act_frac}")
    d = data or load_mnist()
    x = d.x_test.reshape(len(d.x_test), -1).astype(np.int64) << (num.act_frac - 8)
    return DigitsData(x.astype(np.int16), d.y_test.astype(np.int64), x / 2.0**num.act_frac, num)


def lenet300(
    *,
    num: Numerics = DEFAULT_NUMERICS,
    params: MLPParams = LENET300_PARAMS,
    n_pes: int = 1,
    data: MNIST | None = None,
) -> DigitsMLP:
    """LeNet-300-100, Deep-Compressed for EIE, with its accuracies on the MNIST test set."""
    d = data or load_mnist()
    arrays = cached_arrays(
        "lenet300", params, lambda: train_compressed_mlp(params, mnist_split(d), "LeNet-300-100")
    )
    return _compressed(arrays, params, mnist_data(num, d), num=num, n_pes=n_pes)


# ---------------------------------------------------------------------------------------- LeNet-5

#: The paper's row (Deep Compression, Table 1 and Table 3): Caffe's LeNet-5.
PAPER_LENET5 = {
    "error_before": 0.0080,
    "error_after": 0.0074,
    "bytes_before": 1720e3,
    "bytes_after": 44e3,
    "ratio": 39,
    "densities": (0.66, 0.12, 0.08, 0.19),
    "weight_bits": (8, 8, 5, 5),
}


@dataclass(frozen=True, kw_only=True)
class LeNet5Params(Config):
    """Training and Deep Compression settings of Caffe's LeNet-5 (conv1, conv2, ip1, ip2)."""

    seed: int = 0
    epochs: int = 12
    lr: float = 1e-3
    decay: float = 1e-4
    lr_decay: float = 0.85
    batch: int = 64
    densities: tuple[float, ...] = PAPER_LENET5["densities"]
    #: shared values per layer (+ the reserved zero): 8-bit indices for the convolutions (the
    #: paper's), 4-bit for the FC layers (EIE's codebook)
    shared: tuple[int, ...] = (255, 255, 15, 15)
    prune_epochs: int = 8
    prune_lr: float = 3e-4
    share_epochs: int = 3
    share_lr: float = 1e-4
    #: train on the first ``train_images`` training images only (0 = all 60,000)
    train_images: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "densities", tuple(self.densities))
        object.__setattr__(self, "shared", tuple(self.shared))
        self.validate_fields()
        require(
            len(self.densities) == 4 and all(0 < d <= 1 for d in self.densities),
            f"densities must be four values in (0, 1], got {self.densities!r}",
        )
        require(
            len(self.shared) == 4 and all(1 <= k <= 255 for k in self.shared),
            f"shared must be four counts in 1..255, got {self.shared!r}",
        )
        require(
            all(k <= 15 for k in self.shared[2:]),
            f"the FC layers run on EIE: at most 15 shared values, got {self.shared[2:]!r}",
        )
        for name in ("epochs", "prune_epochs", "share_epochs", "train_images"):
            require(getattr(self, name) >= 0, f"{name} must be >= 0, got {getattr(self, name)!r}")
        for name in ("lr", "prune_lr", "share_lr"):
            require(getattr(self, name) > 0, f"{name} must be > 0, got {getattr(self, name)!r}")
        require(self.batch >= 1, f"batch must be >= 1, got {self.batch!r}")
        require(0 < self.lr_decay <= 1, f"lr_decay must be in (0, 1], got {self.lr_decay!r}")


def mnist_cnn_split(data: MNIST | None = None, train_images: int = 0) -> cnn_train.CNNData:
    """MNIST as LeNet-5's float32 training data (``pixel / 256``, ``[n, 28, 28]``)."""
    d = data or load_mnist()
    n = train_images or len(d.x_train)
    return cnn_train.CNNData(
        (d.x_train[:n] / np.float32(256)).astype(np.float32),
        d.y_train[:n].astype(np.int64),
        (d.x_test / np.float32(256)).astype(np.float32),
        d.y_test.astype(np.int64),
    )


def _train_lenet5(p: LeNet5Params, d: cnn_train.CNNData, log) -> dict[str, np.ndarray]:
    return cnn_train.deep_compress(
        d,
        densities=p.densities,
        shared=p.shared,
        epochs=p.epochs,
        lr=p.lr,
        prune_epochs=p.prune_epochs,
        prune_lr=p.prune_lr,
        share_epochs=p.share_epochs,
        share_lr=p.share_lr,
        batch=p.batch,
        decay=p.decay,
        lr_decay=p.lr_decay,
        seed=p.seed,
        log=log,
    )


def lenet5_arrays(
    params: LeNet5Params | None = None, *, data: MNIST | None = None, log=None
) -> dict[str, np.ndarray]:
    """LeNet-5 trained and Deep-Compressed (:func:`~.cnn_train.deep_compress`'s arrays), read
    from the model cache when present (the first run trains 23 epochs: about an hour on a
    loaded machine)."""
    import sys

    p = params or LeNet5Params()

    def build():
        d = mnist_cnn_split(data, p.train_images)
        return _train_lenet5(
            p, d, log or (lambda m: print(f"accelgen: LeNet-5 {m}", file=sys.stderr))
        )

    sources = (cnn_train, compress.prune, compress.kmeans_1d, _train_lenet5)
    return cached_arrays("lenet5", p, build, sources)


@dataclass(frozen=True, eq=False)
class LeNet5:
    """Caffe's LeNet-5, Deep-Compressed: convolutions and pooling for DianNao, FC layers for EIE.

    Attributes
    ----------
    conv_layers : list of ConvLayer, PoolLayer
        ``conv1`` (5x5, 20), max-pool 2, ``conv2`` (5x5, 50), max-pool 2: fixed point, the
        weights decoded from the 8-bit shared codebooks; run with ``run_dense(..., group=tn)``.
        Their output ``[n, 50, 4, 4]`` flattened (``C, H, W``) is the FC layers' input.
    fc_layers : list of EIELayer
        ``ip1`` (800-500, ReLU) and ``ip2`` (500-10): 4-bit indices into 16-entry codebooks.
    numerics : Numerics
        Of both parts.
    tn : int
        DianNao's tile size (the accumulation group of the convolutions' golden model).
    errors : dict
        Top-1 float test errors over the 10,000 images: ``float`` (dense) and
        ``compressed_float`` (pruned, shared, fine-tuned). The fixed-point golden model's
        (:meth:`golden`, minutes for the whole set) is measured where it runs (the demo).
    stage_errors : dict
        Float test error after each training stage (dense, pruned, retrained, shared,
        fine-tuned), as measured during training.
    epoch_seconds : numpy.ndarray
        Wall time of every training epoch (dense, retraining, fine-tuning).
    report : CompressionReport
        Storage per layer (conv1, conv2: relative indexing with 8-bit indices; ip1, ip2: EIE's
        format on one PE) and the ratios.
    """

    conv_layers: list
    fc_layers: list[EIELayer]
    numerics: Numerics
    tn: int
    params: LeNet5Params
    errors: dict
    stage_errors: dict
    epoch_seconds: np.ndarray
    report: compress.CompressionReport

    def golden(self, images) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Every layer's fixed-point output for ``images[n, 1, 28, 28]`` (int16): the DianNao
        part's and the EIE part's (whose input is the last DianNao output flattened)."""
        conv = run_conv_fast(self.conv_layers, images, num=self.numerics, group=self.tn)
        flat = np.asarray(conv[-1]).reshape(len(images), -1)
        return conv, run_eie(self.fc_layers, flat, num=self.numerics, n_pes=1)

    def predict(self, images) -> np.ndarray:
        return np.asarray(self.golden(images)[1][-1]).argmax(-1)


_STAGES = ("dense", "pruned", "retrained", "shared", "fine-tuned")
_LAYER_NAMES = ("conv1", "conv2", "ip1", "ip2")


def mnist_images(num: Numerics = DEFAULT_NUMERICS, data: MNIST | None = None):
    """``(images int16[n, 1, 28, 28], labels)`` of the test set in ``num``'s activation format."""
    if num.act_frac < 8:
        raise ValueError(f"MNIST pixels / 256 need act_frac >= 8, got {num.act_frac}")
    d = data or load_mnist()
    x = d.x_test.astype(np.int64)[:, None] << (num.act_frac - 8)
    return x.astype(np.int16), d.y_test.astype(np.int64)


def lenet5(
    *,
    num: Numerics = DEFAULT_NUMERICS,
    params: LeNet5Params | None = None,
    tn: int = 8,
    data: MNIST | None = None,
    log=None,
) -> LeNet5:
    """LeNet-5 trained (once, cached), Deep-Compressed and quantized, with its test errors."""
    from .netspec import ConvLayer, PoolLayer

    p = params or LeNet5Params()
    d = data or load_mnist()
    a = lenet5_arrays(p, data=d, log=log)
    dense = [(a[f"w{i}"], a[f"b{i}"]) for i in range(4)]
    shared = [
        (np.concatenate([[0.0], a[f"centroids{i}"]])[a[f"index{i}"].astype(np.int64)], a[f"sb{i}"])
        for i in range(4)
    ]
    for i, name in enumerate(_LAYER_NAMES):
        compress.check_representable(a[f"centroids{i}"], num.w_frac, num.w_bits, f"{name} weight")
        compress.check_representable(a[f"sb{i}"], num.act_frac, num.act_bits, f"{name} bias")
    qw = lambda v: quantize(v, num.w_frac, num.w_bits)  # noqa: E731
    qb = lambda v: quantize(v, num.act_frac, num.act_bits)  # noqa: E731
    pool = PoolLayer(k=2, stride=2, mode="max")
    conv_layers = [
        ConvLayer(qw(shared[0][0]), qb(shared[0][1]), stride=1, pad=0, act="none"),
        pool,
        ConvLayer(qw(shared[1][0]), qb(shared[1][1]), stride=1, pad=0, act="none"),
        pool,
    ]
    fc_layers = [
        EIELayer(
            compress.quantize_codebook(a[f"centroids{i}"], w_frac=num.w_frac, w_bits=num.w_bits),
            a[f"index{i}"],
            qb(a[f"sb{i}"]),
            relu=i == 2,
        )
        for i in (2, 3)
    ]
    model = LeNet5(
        conv_layers=conv_layers,
        fc_layers=fc_layers,
        numerics=num,
        tn=tn,
        params=p,
        errors={},
        stage_errors=dict(zip(_STAGES, map(float, a["stage_errors"]), strict=True)),
        epoch_seconds=a["epoch_seconds"],
        report=compress.CompressionReport(
            (
                relindex.conv_layer_size(a["index0"], "conv1"),
                relindex.conv_layer_size(a["index1"], "conv2"),
                compress.layer_size(encode(a["index2"], 1), "ip1"),
                compress.layer_size(encode(a["index3"], 1), "ip2"),
            )
        ),
    )
    xf = d.x_test.astype(np.float32) / np.float32(256)
    y = d.y_test.astype(np.int64)
    with train.single_thread_blas():
        model.errors["float"] = float((cnn_train.predict(dense, xf) != y).mean())
        model.errors["compressed_float"] = float((cnn_train.predict(shared, xf) != y).mean())
    return model
