"""Plain-NumPy training of the digits models (no deep-learning framework), deterministic.

* :func:`digits_split`: scikit-learn's bundled ``load_digits`` (1797 8x8 images, pixel values
  0..16), split 80/20 by a seeded permutation.
* :func:`train_mlp`: a ReLU MLP (softmax cross-entropy, Adam, L2 weight decay), optionally with a
  fixed pruning mask per layer (gradients and weights outside the mask are zeroed: Deep
  Compression's "retrain the surviving weights").
* :func:`train_centroids`: Deep Compression's centroid fine-tuning: every weight is
  ``centroids[l][index - 1]``, the gradient of a centroid is the sum of the gradients of the
  weights that share it.
* :func:`train_cnn`: conv 3x3 -> ReLU -> max-pool 2 -> conv 3x3 -> ReLU -> max-pool 2 -> fc,
  convolutions by im2col.

All randomness comes from ``numpy.random.default_rng(seed)``; float64 throughout. Inputs are the
pixels scaled to ``[0, 1]`` (``pixel / 16``), which the fixed-point models represent exactly.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

__all__ = [
    "Adam",
    "single_thread_blas",
    "DigitsSplit",
    "cnn_forward",
    "digits_split",
    "mlp_forward",
    "train_centroids",
    "train_cnn",
    "train_mlp",
]

PIXEL_MAX = 16.0


@dataclass(frozen=True, eq=False)
class DigitsSplit:
    """Float digits data: ``x_*`` in ``[0, 1]`` as ``[n, 64]``, labels ``y_*`` in ``0..9``."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def single_thread_blas():
    """Context manager limiting BLAS to one thread while training or evaluating float models.

    The matrices are small: one thread is as fast on an idle machine, orders of magnitude faster
    on a loaded one (OpenBLAS threads spin-wait for busy cores), and gives the same floating-point
    summation order on every machine, so training is reproducible.
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


@cache
def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """``(pixels[1797, 64], labels)`` read from scikit-learn's bundled ``digits.csv.gz``.

    The file is located without importing scikit-learn (whose import takes seconds); it is the
    file ``sklearn.datasets.load_digits`` reads.
    """
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            "scikit-learn is needed for the digits data set: pip install 'accelgen[ml]'"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "datasets/data/digits.csv.gz"
    if not path.is_file():
        raise FileNotFoundError(f"scikit-learn's digits data set is missing: {path}")
    raw = np.loadtxt(path, delimiter=",")
    return raw[:, :-1], raw[:, -1].astype(np.int64)


def digits_split(*, seed: int = 0, test_fraction: float = 0.2) -> DigitsSplit:
    """The digits data set split by a seeded permutation (the first ``test_fraction`` is test)."""
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    pixels, y = _digits_arrays()
    x = pixels / PIXEL_MAX
    perm = np.random.default_rng(seed).permutation(len(y))
    n_test = int(round(test_fraction * len(y)))
    te, tr = perm[:n_test], perm[n_test:]
    return DigitsSplit(x[tr], y[tr], x[te], y[te])


class Adam:
    """Adam optimiser over a list of arrays (updated in place)."""

    def __init__(self, params: Sequence[np.ndarray], lr: float, b1=0.9, b2=0.999, eps=1e-8):
        self.params = list(params)
        self.lr, self.b1, self.b2, self.eps = lr, b1, b2, eps
        self.m = [np.zeros_like(p) for p in self.params]
        self.v = [np.zeros_like(p) for p in self.params]
        self.t = 0

    def step(self, grads: Sequence[np.ndarray]) -> None:
        self.t += 1
        for p, g, m, v in zip(self.params, grads, self.m, self.v, strict=True):
            m *= self.b1
            m += (1 - self.b1) * g
            v *= self.b2
            v += (1 - self.b2) * g * g
            mh = m / (1 - self.b1**self.t)
            vh = v / (1 - self.b2**self.t)
            p -= self.lr * mh / (np.sqrt(vh) + self.eps)


def _softmax_grad(logits: np.ndarray, y: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(y)), y] -= 1.0
    return p / len(y)


def _epochs(n: int, epochs: int, batch: int, rng: np.random.Generator) -> list[list[np.ndarray]]:
    return [np.array_split(rng.permutation(n), max(1, n // batch)) for _ in range(epochs)]


# ------------------------------------------------------------------------------------------ MLP

Params = list[tuple[np.ndarray, np.ndarray]]


def mlp_forward(params: Params, x: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """Logits of a ReLU MLP (no activation on the last layer) and every layer's input."""
    acts = [x]
    h = x
    for i, (w, b) in enumerate(params):
        h = h @ w.T + b
        if i < len(params) - 1:
            h = np.maximum(h, 0.0)
        acts.append(h)
    return h, acts


def _mlp_grads(params: Params, x: np.ndarray, y: np.ndarray, decay: float) -> Params:
    logits, acts = mlp_forward(params, x)
    d = _softmax_grad(logits, y)
    grads = []
    for i in range(len(params) - 1, -1, -1):
        w, _ = params[i]
        grads.append((d.T @ acts[i] + decay * w, d.sum(axis=0)))
        if i:
            d = (d @ w) * (acts[i] > 0)
    return grads[::-1]


def init_mlp(sizes: Sequence[int], rng: np.random.Generator) -> Params:
    """He-initialised weights ``[out, in]`` and zero biases."""
    return [
        (rng.normal(0.0, np.sqrt(2.0 / n_in), (n_out, n_in)), np.zeros(n_out))
        for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True)
    ]


def train_mlp(
    data: DigitsSplit,
    params: Params,
    *,
    epochs: int,
    lr: float,
    batch: int = 32,
    decay: float = 1e-4,
    seed: int = 0,
    masks: Sequence[np.ndarray] | None = None,
    progress: Callable[[int], None] | None = None,
    lr_decay: float = 1.0,
) -> Params:
    """Train (a copy of) ``params``; with ``masks`` only the masked-in weights change. The
    learning rate is multiplied by ``lr_decay`` after every epoch."""
    params = [(w.copy(), b.copy()) for w, b in params]
    if masks is not None:
        for (w, _), m in zip(params, masks, strict=True):
            w *= m
    flat = [a for wb in params for a in wb]
    opt = Adam(flat, lr)
    rng = np.random.default_rng(seed)
    for e, batches in enumerate(_epochs(len(data.y_train), epochs, batch, rng)):
        for idx in batches:
            grads = _mlp_grads(params, data.x_train[idx], data.y_train[idx], decay)
            if masks is not None:
                grads = [(gw * m, gb) for (gw, gb), m in zip(grads, masks, strict=True)]
            opt.step([a for wb in grads for a in wb])
        opt.lr *= lr_decay
        if progress:
            progress(e)
    return params


def _shared_params(cs, idx, bs) -> Params:
    return [(np.concatenate([[0.0], c])[i], b) for c, i, b in zip(cs, idx, bs, strict=True)]


def _centroid_grads(cs, idx, bs, x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    """Gradients of the centroids (sum over the weights sharing each) followed by the biases'."""
    grads = _mlp_grads(_shared_params(cs, idx, bs), x, y, 0.0)
    gc = [
        np.bincount(i.ravel(), weights=gw.ravel(), minlength=len(c) + 1)[1:]
        for (gw, _), i, c in zip(grads, idx, cs, strict=True)
    ]
    return gc + [gb for _, gb in grads]


def train_centroids(
    data: DigitsSplit,
    centroids: Sequence[np.ndarray],
    indices: Sequence[np.ndarray],
    biases: Sequence[np.ndarray],
    *,
    epochs: int,
    lr: float,
    batch: int = 32,
    seed: int = 0,
    lr_decay: float = 1.0,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Fine-tune the shared centroids (and biases) of a weight-shared MLP; indices stay fixed.

    ``indices[l]`` holds 0 for pruned weights and ``1..len(centroids[l])`` for shared ones.
    """
    cs = [np.asarray(c, dtype=np.float64).copy() for c in centroids]
    bs = [np.asarray(b, dtype=np.float64).copy() for b in biases]
    idx = [np.asarray(i, dtype=np.int64) for i in indices]
    opt = Adam(cs + bs, lr)
    rng = np.random.default_rng(seed)
    for batches in _epochs(len(data.y_train), epochs, batch, rng):
        for sel in batches:
            opt.step(_centroid_grads(cs, idx, bs, data.x_train[sel], data.y_train[sel]))
        opt.lr *= lr_decay
    return cs, bs


# ------------------------------------------------------------------------------------------ CNN


def _im2col(x: np.ndarray, k: int, pad: int) -> np.ndarray:
    """``x[B, C, H, W]`` -> ``[B, H*W, C*k*k]`` (stride 1, 'same' output size when pad=k//2)."""
    b, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = h + 2 * pad - k + 1, w + 2 * pad - k + 1
    cols = np.stack(
        [xp[:, :, ky : ky + oh, kx : kx + ow] for ky in range(k) for kx in range(k)], axis=2
    )  # [B, C, k*k, oh, ow]
    return cols.reshape(b, c * k * k, oh * ow).transpose(0, 2, 1)


def _col2im(dcols: np.ndarray, shape: tuple[int, ...], k: int, pad: int) -> np.ndarray:
    b, c, h, w = shape
    oh, ow = h + 2 * pad - k + 1, w + 2 * pad - k + 1
    d = dcols.transpose(0, 2, 1).reshape(b, c, k * k, oh, ow)
    dx = np.zeros((b, c, h + 2 * pad, w + 2 * pad))
    for n, (ky, kx) in enumerate((ky, kx) for ky in range(k) for kx in range(k)):
        dx[:, :, ky : ky + oh, kx : kx + ow] += d[:, :, n]
    return dx[:, :, pad : pad + h, pad : pad + w]


def _pool_fwd(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    b, c, h, w = x.shape
    r = x.reshape(b, c, h // 2, 2, w // 2, 2)
    y = r.max(axis=(3, 5))
    mask = r == y[:, :, :, None, :, None]
    mask = mask / mask.sum(axis=(3, 5), keepdims=True)
    return y, mask


def cnn_forward(params: Params, x: np.ndarray, *, k: int = 3) -> tuple[np.ndarray, dict]:
    """Logits of the digits CNN for ``x[B, 1, 8, 8]``; ``params`` = conv1, conv2, fc."""
    (w1, b1), (w2, b2), (w3, b3) = params
    cache: dict = {"x0": x}
    h = x
    for n, (w, b) in enumerate(((w1, b1), (w2, b2))):
        cols = _im2col(h, k, k // 2)
        z = cols @ w.reshape(w.shape[0], -1).T + b  # [B, HW, O]
        z = z.transpose(0, 2, 1).reshape(h.shape[0], w.shape[0], h.shape[2], h.shape[3])
        a = np.maximum(z, 0.0)
        p, pmask = _pool_fwd(a)
        cache[n] = (h.shape, cols, a, pmask)
        h = p
    flat = h.reshape(h.shape[0], -1)
    cache["flat"] = flat
    return flat @ w3.T + b3, cache


def _cnn_grads(params: Params, x: np.ndarray, y: np.ndarray, decay: float, k: int) -> Params:
    logits, cache = cnn_forward(params, x, k=k)
    d = _softmax_grad(logits, y)
    (w1, _), (w2, _), (w3, _) = params
    g3 = (d.T @ cache["flat"] + decay * w3, d.sum(axis=0))
    dh = (d @ w3).reshape(-1, w2.shape[0], 2, 2)
    grads = [g3]
    for n, w in ((1, w2), (0, w1)):
        shape, cols, a, pmask = cache[n]
        da = np.repeat(np.repeat(dh, 2, axis=2), 2, axis=3) * pmask.reshape(a.shape)
        dz = da * (a > 0)
        dzf = dz.reshape(dz.shape[0], dz.shape[1], -1).transpose(0, 2, 1)  # [B, HW, O]
        gw = np.einsum("bpo,bpi->oi", dzf, cols).reshape(w.shape) + decay * w
        grads.append((gw, dzf.sum(axis=(0, 1))))
        if n:
            dh = _col2im(dzf @ w.reshape(w.shape[0], -1), shape, k, k // 2)
    return grads[::-1]


def train_cnn(
    data: DigitsSplit,
    *,
    channels: tuple[int, int],
    epochs: int,
    lr: float,
    batch: int = 32,
    decay: float = 1e-4,
    seed: int = 0,
    k: int = 3,
    progress: Callable[[int], None] | None = None,
) -> Params:
    """Train the digits CNN; returns ``[(w1[c1,1,k,k], b1), (w2[c2,c1,k,k], b2), (w3, b3)]``."""
    rng = np.random.default_rng(seed)
    c1, c2 = channels
    params = [
        (rng.normal(0, np.sqrt(2.0 / (k * k)), (c1, 1, k, k)), np.zeros(c1)),
        (rng.normal(0, np.sqrt(2.0 / (c1 * k * k)), (c2, c1, k, k)), np.zeros(c2)),
        (rng.normal(0, np.sqrt(1.0 / (c2 * 4)), (10, c2 * 4)), np.zeros(10)),
    ]
    flat = [a for wb in params for a in wb]
    opt = Adam(flat, lr)
    x_train = data.x_train.reshape(-1, 1, 8, 8)
    for e, batches in enumerate(_epochs(len(data.y_train), epochs, batch, rng)):
        for idx in batches:
            grads = _cnn_grads(params, x_train[idx], data.y_train[idx], decay, k)
            opt.step([a for wb in grads for a in wb])
        if progress:
            progress(e)
    return params
