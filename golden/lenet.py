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
from . import cnn_train, compress, train
from .arith import Numerics
from .models import (
    DEFAULT_NUMERICS,
    DigitsData,
    DigitsMLP,
    MLPParams,
    cached_arrays,
    train_compressed_mlp,
)
from .models import compressed_mlp as _compressed

__all__ = [
    "LENET300_PARAMS",
    "PAPER_LENET300",
    "PAPER_LENET5",
    "LeNet5Params",
    "lenet300",
    "lenet5_arrays",
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
    from the model cache when present (the first run takes about half an hour per 20 epochs on a
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
