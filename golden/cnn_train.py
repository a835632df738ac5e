"""Plain-NumPy training of Caffe's LeNet-5 and its Deep Compression, ``float32`` and im2col.

The network is Caffe's ``lenet_train_test.prototxt`` (the one Deep Compression's table uses):
``conv1`` 5x5, 20 maps -> max-pool 2 -> ``conv2`` 5x5, 50 maps -> max-pool 2 -> ``ip1`` 800-500
-> ReLU -> ``ip2`` 500-10, no padding, stride 1, no activation after the convolutions (Caffe's
LeNet has none; the max-pooling is their non-linearity). Inputs are ``pixel / 256`` (Caffe's
``scale: 0.00390625``), ``[B, 28, 28]``.

Activations are kept channels-last (``[B, H, W, C]``) so that im2col is a strided view plus one
copy, and every convolution is one matrix product; weights are stored Caffe's way
(``[O, C, K, K]``, ``[out, in]``). ``ip1``'s input is the pooled ``conv2`` output flattened in
``C, H, W`` order (Caffe's, and :func:`~accelgen.golden.netspec.run_dense`'s).

* :func:`train` trains (a copy of) the parameters with Adam, optionally with a pruning mask per
  layer (masked weights and their gradients stay zero: "retrain the surviving weights").
* :func:`train_centroids`: every weight of layer ``l`` is ``centroids[l][index - 1]`` (index 0 =
  pruned); a centroid's gradient is the sum of the gradients of the weights sharing it.
* :func:`deep_compress`: the whole pipeline (dense training, pruning to per-layer densities,
  retraining, k-means sharing, centroid fine-tuning), the cached unit of :mod:`.lenet`.

All randomness comes from ``numpy.random.default_rng(seed)``; with single-threaded BLAS the
result is reproducible.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = [
    "LENET5_SHAPES",
    "CNNData",
    "deep_compress",
    "forward",
    "init_lenet5",
    "predict",
    "share_layer",
    "train",
    "train_centroids",
]

F32 = np.float32

#: ``(name, weight shape)`` of Caffe's LeNet-5.
LENET5_SHAPES = (
    ("conv1", (20, 1, 5, 5)),
    ("conv2", (50, 20, 5, 5)),
    ("ip1", (500, 800)),
    ("ip2", (10, 500)),
)

Params = list[tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True, eq=False)
class CNNData:
    """Training data: ``x_*`` float32 ``[n, 28, 28]`` (``pixel / 256``), ``y_*`` int64 labels."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def init_lenet5(rng: np.random.Generator) -> Params:
    """Xavier-initialised weights (Caffe's LeNet filler: uniform, ``sqrt(3 / fan_in)``), zero
    biases."""
    out = []
    for _, shape in LENET5_SHAPES:
        fan_in = int(np.prod(shape[1:]))
        lim = np.sqrt(3.0 / fan_in)
        out.append((rng.uniform(-lim, lim, shape).astype(F32), np.zeros(shape[0], F32)))
    return out


def _im2col(x: np.ndarray, k: int) -> np.ndarray:
    """``x[B, H, W, C]`` -> ``[B * oh * ow, k * k * C]`` (valid, stride 1), ``ky, kx, C`` order."""
    b, h, w, c = x.shape
    win = sliding_window_view(x, (k, k), axis=(1, 2)).transpose(0, 1, 2, 4, 5, 3)
    return np.ascontiguousarray(win).reshape(b * (h - k + 1) * (w - k + 1), k * k * c)


def _col2im(dcols: np.ndarray, shape: tuple[int, int, int, int], k: int) -> np.ndarray:
    b, h, w, c = shape
    oh, ow = h - k + 1, w - k + 1
    d = dcols.reshape(b, oh, ow, k * k, c)
    dx = np.zeros(shape, dcols.dtype)
    for ky in range(k):
        for kx in range(k):
            dx[:, ky : ky + oh, kx : kx + ow] += d[:, :, :, ky * k + kx]
    return dx


def _wmat(w: np.ndarray) -> np.ndarray:
    """``w[O, C, K, K]`` as the ``[O, K * K * C]`` matrix of :func:`_im2col`'s columns."""
    return w.transpose(0, 2, 3, 1).reshape(w.shape[0], -1)


def _wgrad(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The inverse of :func:`_wmat`."""
    o, c, k, _ = shape
    return g.reshape(o, k, k, c).transpose(0, 3, 1, 2)


def _conv(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    bsz, h, wd, _ = x.shape
    k = w.shape[2]
    cols = _im2col(x, k)
    z = cols @ _wmat(w).T + b
    return z.reshape(bsz, h - k + 1, wd - k + 1, w.shape[0]), cols


_QUADS = ((0, 0), (0, 1), (1, 0), (1, 1))


def _pool(x: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """2x2 max-pooling, stride 2; the masks route the gradient to the first maximum."""
    q = [x[:, r::2, c::2] for r, c in _QUADS]
    y = np.maximum(np.maximum(q[0], q[1]), np.maximum(q[2], q[3]))
    free = np.ones(y.shape, bool)
    masks = []
    for qi in q:
        hit = (qi == y) & free
        free &= ~hit
        masks.append(hit.astype(x.dtype))
    return y, masks


def _unpool(dy: np.ndarray, masks: list[np.ndarray], shape: tuple[int, ...]) -> np.ndarray:
    dx = np.empty(shape, dy.dtype)
    for (r, c), m in zip(_QUADS, masks, strict=True):
        np.multiply(dy, m, out=dx[:, r::2, c::2])
    return dx


def forward(params: Params, x: np.ndarray) -> tuple[np.ndarray, dict]:
    """Logits of LeNet-5 for ``x[B, 28, 28]`` and what the backward pass needs."""
    (w1, b1), (w2, b2), (w3, b3), (w4, b4) = params
    a0 = np.asarray(x, F32)[..., None]
    z1, cols1 = _conv(a0, w1, b1)
    p1, arg1 = _pool(z1)
    z2, cols2 = _conv(p1, w2, b2)
    p2, arg2 = _pool(z2)
    flat = p2.transpose(0, 3, 1, 2).reshape(len(x), -1)  # Caffe's C, H, W order
    h = np.maximum(flat @ w3.T + b3, 0)
    logits = h @ w4.T + b4
    cache = dict(
        cols1=cols1,
        z1=z1.shape,
        arg1=arg1,
        p1=p1.shape,
        cols2=cols2,
        z2=z2.shape,
        arg2=arg2,
        p2=p2.shape,
        flat=flat,
        h=h,
    )
    return logits, cache


def predict(params: Params, x: np.ndarray, *, batch: int = 500) -> np.ndarray:
    """Class labels of ``x[n, 28, 28]`` (float)."""
    return np.concatenate(
        [forward(params, x[i : i + batch])[0].argmax(1) for i in range(0, len(x), batch)]
    )


def _grads(params: Params, x: np.ndarray, y: np.ndarray, decay: float) -> Params:
    """Gradients of the mean softmax cross-entropy (+ ``decay / 2 * |w|^2``) of a batch."""
    (w1, _), (w2, _), (w3, _), (w4, _) = params
    logits, c = forward(params, x)
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(y)), y] -= 1.0
    d = (p / len(y)).astype(F32)
    g4 = (d.T @ c["h"] + decay * w4, d.sum(0))
    dh = (d @ w4) * (c["h"] > 0)
    g3 = (dh.T @ c["flat"] + decay * w3, dh.sum(0))
    b, h2, wd2, c2 = c["p2"]
    dp2 = (dh @ w3).reshape(b, c2, h2, wd2).transpose(0, 2, 3, 1)
    dz2 = _unpool(dp2, c["arg2"], c["z2"]).reshape(-1, w2.shape[0])
    g2 = (_wgrad(dz2.T @ c["cols2"], w2.shape) + decay * w2, dz2.sum(0))
    dp1 = _col2im(dz2 @ _wmat(w2), c["p1"], w2.shape[2])
    dz1 = _unpool(dp1, c["arg1"], c["z1"]).reshape(-1, w1.shape[0])
    g1 = (_wgrad(dz1.T @ c["cols1"], w1.shape) + decay * w1, dz1.sum(0))
    return [g1, g2, g3, g4]


class _Adam:
    def __init__(self, params: Sequence[np.ndarray], lr: float, b1=0.9, b2=0.999, eps=1e-8):
        self.params = list(params)
        self.lr, self.b1, self.b2, self.eps = lr, b1, b2, eps
        self.m = [np.zeros_like(q) for q in self.params]
        self.v = [np.zeros_like(q) for q in self.params]
        self.t = 0

    def step(self, grads: Sequence[np.ndarray]) -> None:
        self.t += 1
        c1, c2 = 1 - self.b1**self.t, 1 - self.b2**self.t
        for q, g, m, v in zip(self.params, grads, self.m, self.v, strict=True):
            m *= self.b1
            m += (1 - self.b1) * g
            v *= self.b2
            v += (1 - self.b2) * g * g
            q -= (self.lr / c1) * m / (np.sqrt(v / c2) + self.eps)


def _batches(n: int, batch: int, rng: np.random.Generator) -> list[np.ndarray]:
    return np.array_split(rng.permutation(n), max(1, n // batch))


def train(
    data: CNNData,
    params: Params,
    *,
    epochs: int,
    lr: float,
    batch: int = 64,
    decay: float = 5e-4,
    lr_decay: float = 1.0,
    seed: int = 0,
    masks: Sequence[np.ndarray] | None = None,
    progress: Callable[[int, float], None] | None = None,
) -> Params:
    """Train (a copy of) ``params`` with Adam; with ``masks`` only the masked-in weights change.

    The learning rate is multiplied by ``lr_decay`` after every epoch; ``progress(epoch,
    seconds)`` is called after each.
    """
    params = [(w.astype(F32), b.astype(F32)) for w, b in params]
    if masks is not None:
        params = [(w * m, b) for (w, b), m in zip(params, masks, strict=True)]
    opt = _Adam([a for wb in params for a in wb], lr)
    rng = np.random.default_rng(seed)
    for e in range(epochs):
        t0 = time.monotonic()
        for idx in _batches(len(data.y_train), batch, rng):
            grads = _grads(params, data.x_train[idx], data.y_train[idx], decay)
            if masks is not None:
                grads = [(gw * m, gb) for (gw, gb), m in zip(grads, masks, strict=True)]
            opt.step([a for wb in grads for a in wb])
        opt.lr *= lr_decay
        if progress:
            progress(e, time.monotonic() - t0)
    return params


def _shared(cs: Sequence[np.ndarray], idx: Sequence[np.ndarray], bs) -> Params:
    return [
        (np.concatenate([[0.0], c]).astype(F32)[i], b) for c, i, b in zip(cs, idx, bs, strict=True)
    ]


def train_centroids(
    data: CNNData,
    centroids: Sequence[np.ndarray],
    indices: Sequence[np.ndarray],
    biases: Sequence[np.ndarray],
    *,
    epochs: int,
    lr: float,
    batch: int = 64,
    lr_decay: float = 1.0,
    seed: int = 0,
    progress: Callable[[int, float], None] | None = None,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Fine-tune the shared centroids (and the biases); the indices stay fixed.

    ``indices[l]`` has the shape of layer ``l``'s weights and holds 0 for pruned weights and
    ``1..len(centroids[l])`` for shared ones.
    """
    cs = [np.asarray(c, F32).copy() for c in centroids]
    bs = [np.asarray(b, F32).copy() for b in biases]
    idx = [np.asarray(i, np.int64) for i in indices]
    opt = _Adam(cs + bs, lr)
    rng = np.random.default_rng(seed)
    for e in range(epochs):
        t0 = time.monotonic()
        for sel in _batches(len(data.y_train), batch, rng):
            grads = _grads(_shared(cs, idx, bs), data.x_train[sel], data.y_train[sel], 0.0)
            gc = [
                np.bincount(i.ravel(), weights=gw.ravel(), minlength=len(c) + 1)[1:].astype(F32)
                for (gw, _), i, c in zip(grads, idx, cs, strict=True)
            ]
            opt.step(gc + [gb for _, gb in grads])
        opt.lr *= lr_decay
        if progress:
            progress(e, time.monotonic() - t0)
    return cs, bs


def share_layer(w: np.ndarray, mask: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """k-means weight sharing of any-shaped ``w`` (linear initialisation): ``(centroids[k],
    index)`` with ``index`` 0 where pruned, ``1..k`` elsewhere (``uint8``, ``k <= 255``)."""
    from .compress import kmeans_1d

    if not 1 <= k <= 255:
        raise ValueError(f"number of shared weights must be in 1..255, got {k!r}")
    m = np.asarray(mask, dtype=bool)
    centroids, labels = kmeans_1d(np.asarray(w, np.float64)[m], k)
    index = np.zeros(m.shape, dtype=np.uint8)
    index[m] = labels + 1
    return centroids, index


def deep_compress(
    data: CNNData,
    *,
    densities: Sequence[float],
    shared: Sequence[int],
    epochs: int,
    lr: float,
    prune_epochs: int,
    prune_lr: float,
    share_epochs: int,
    share_lr: float,
    batch: int,
    decay: float,
    lr_decay: float,
    seed: int,
    log: Callable[[str], None] = lambda _m: None,
) -> dict[str, np.ndarray]:
    """Dense training, pruning to ``densities`` by magnitude, retraining, k-means sharing to
    ``shared[l]`` values (+ the zero) and centroid fine-tuning.

    Returns the arrays the cache stores: dense ``w{l}``/``b{l}``, ``mask{l}``, pruned-retrained
    ``pw{l}``/``pb{l}``, shared ``index{l}``/``centroids{l}``/``sb{l}``, ``epoch_seconds`` (the
    wall time of every epoch, in the order dense, retraining, fine-tuning) and ``stage_errors``
    (float test error after dense training, pruning, retraining, sharing and fine-tuning).
    """
    from .compress import prune

    seconds: list[float] = []
    errors: list[float] = []

    def measure(stage: str, params: Params) -> None:
        errors.append(float((predict(params, data.x_test) != data.y_test).mean()))
        log(f"{stage}: test error {errors[-1]:.2%}")

    def tick(stage: str):
        def f(e: int, s: float) -> None:
            seconds.append(s)
            log(f"{stage} epoch {e + 1}: {s:.1f} s")

        return f

    dense = train(
        data,
        init_lenet5(np.random.default_rng(seed)),
        epochs=epochs,
        lr=lr,
        batch=batch,
        decay=decay,
        lr_decay=lr_decay,
        seed=seed,
        progress=tick("dense"),
    )
    measure("dense", dense)
    masks = [
        prune(w.reshape(len(w), -1), d).reshape(w.shape)
        for (w, _), d in zip(dense, densities, strict=True)
    ]
    measure("pruned", [(w * m, b) for (w, b), m in zip(dense, masks, strict=True)])
    pruned = train(
        data,
        dense,
        epochs=prune_epochs,
        lr=prune_lr,
        batch=batch,
        decay=decay,
        lr_decay=lr_decay,
        seed=seed + 1,
        masks=masks,
        progress=tick("pruned"),
    )
    measure("retrained", pruned)
    sh = [share_layer(w, m, k) for (w, _), m, k in zip(pruned, masks, shared, strict=True)]
    measure("shared", _shared([c for c, _ in sh], [i for _, i in sh], [b for _, b in pruned]))
    cs, bs = train_centroids(
        data,
        [c for c, _ in sh],
        [i for _, i in sh],
        [b for _, b in pruned],
        epochs=share_epochs,
        lr=share_lr,
        batch=batch,
        lr_decay=lr_decay,
        seed=seed + 2,
        progress=tick("shared"),
    )
    measure("fine-tuned", _shared(cs, [i for _, i in sh], bs))
    out: dict[str, np.ndarray] = {
        "epoch_seconds": np.array(seconds),
        "stage_errors": np.array(errors),
    }
    for i, ((w, b), m, (pw, pb), (_, idx), c, sb) in enumerate(
        zip(dense, masks, pruned, sh, cs, bs, strict=True)
    ):
        out.update(
            {
                f"w{i}": w,
                f"b{i}": b,
                f"mask{i}": m,
                f"pw{i}": pw,
                f"pb{i}": pb,
                f"index{i}": idx,
                f"centroids{i}": c,
                f"sb{i}": sb,
            }
        )
    return out
