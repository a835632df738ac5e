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

import numpy as np

from ..data.mnist import MNIST, load_mnist
from . import train
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

__all__ = ["LENET300_PARAMS", "PAPER_LENET300", "lenet300", "mnist_data", "mnist_split"]

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
