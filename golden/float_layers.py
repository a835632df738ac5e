"""Float (``float64``) reference of every layer type, for accuracy studies against fixed point.

Same shapes and conventions as :mod:`accelgen.golden.layers` (``x[in]`` or ``[batch, in]``,
``w[out, in]``; ``x[C, H, W]`` or ``[B, C, H, W]``, ``w[O, C, K, K]``) but real arithmetic and the
exact sigmoid / tanh. :func:`dequantize_dense` / :func:`run_dense_float` /
:func:`run_eie_float` evaluate the *quantized* networks of :mod:`accelgen.golden.netspec` in
float, which separates the error of the weight formats from the error of the fixed-point
datapath. :func:`fold_batchnorm` folds inference batch normalisation into the preceding layer.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .arith import Numerics, dequantize
from .layers import ACTIVATIONS, conv_output_size, pool_windows
from .netspec import ConvLayer, DenseLayer, EIELayer, FCLayer, PoolLayer

__all__ = [
    "activate_float",
    "conv2d_float",
    "fc_float",
    "fold_batchnorm",
    "pool2d_float",
    "run_dense_float",
    "run_eie_float",
]


def activate_float(y, act: str) -> np.ndarray:
    """``none``, ``relu``, exact ``sigmoid`` or ``tanh``."""
    if act not in ACTIVATIONS:
        raise ValueError(f"unknown activation {act!r}; expected one of {ACTIVATIONS}")
    y = np.asarray(y, dtype=np.float64)
    if act == "relu":
        return np.maximum(y, 0.0)
    if act == "sigmoid":
        return 1.0 / (1.0 + np.exp(-y))
    if act == "tanh":
        return np.tanh(y)
    return y


def fc_float(x, w, b=None, *, act: str = "none") -> np.ndarray:
    """``f(W x + b)`` for ``x[in]`` or ``x[batch, in]``."""
    xa, wa = np.asarray(x, dtype=np.float64), np.asarray(w, dtype=np.float64)
    if wa.ndim != 2 or xa.shape[-1] != wa.shape[1] or xa.ndim not in (1, 2):
        raise ValueError(f"x has shape {xa.shape} but w has shape {wa.shape}")
    y = xa @ wa.T
    if b is not None:
        y = y + np.asarray(b, dtype=np.float64)
    return activate_float(y, act)


def conv2d_float(x, w, b=None, *, stride: int = 1, pad: int = 0, act: str = "none") -> np.ndarray:
    """Convolution (cross-correlation) with zero padding, as :func:`~.layers.conv2d`."""
    xa, wa = np.asarray(x, dtype=np.float64), np.asarray(w, dtype=np.float64)
    single = xa.ndim == 3
    xb = xa[None] if single else xa
    if wa.ndim != 4 or xb.ndim != 4 or xb.shape[1] != wa.shape[1]:
        raise ValueError(f"x has shape {xa.shape} but w has shape {wa.shape}")
    k = wa.shape[2]
    oh = conv_output_size(xb.shape[2], k, stride, pad)
    ow = conv_output_size(xb.shape[3], k, stride, pad)
    xp = np.pad(xb, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    y = np.zeros((xb.shape[0], wa.shape[0], oh, ow))
    for ky in range(k):
        for kx in range(k):
            win = xp[
                :,
                :,
                ky : ky + stride * (oh - 1) + 1 : stride,
                kx : kx + stride * (ow - 1) + 1 : stride,
            ]
            y += np.einsum("bchw,oc->bohw", win, wa[:, :, ky, kx])
    if b is not None:
        y += np.asarray(b, dtype=np.float64)[None, :, None, None]
    y = activate_float(y, act)
    return y[0] if single else y


def pool2d_float(x, *, k: int, stride: int, mode: str) -> np.ndarray:
    """Max or exact average pooling (no padding)."""
    if mode not in ("max", "avg"):
        raise ValueError(f"pooling mode must be 'max' or 'avg', got {mode!r}")
    xa = np.asarray(x, dtype=np.float64)
    single = xa.ndim == 3
    xb = xa[None] if single else xa
    wins = pool_windows(xb, k, stride)
    y = wins.max(axis=-1) if mode == "max" else wins.mean(axis=-1)
    return y[0] if single else y


def fold_batchnorm(
    w, b, gamma, beta, mean, var, *, eps: float = 1e-5
) -> tuple[np.ndarray, np.ndarray]:
    """Fold inference batch normalisation into the preceding fc or conv layer.

    ``BN(W x + b) = gamma * (W x + b - mean) / sqrt(var + eps) + beta = W' x + b'`` with
    ``s = gamma / sqrt(var + eps)``, ``W' = s * W`` (per output) and ``b' = s * (b - mean) + beta``.
    ``w`` is ``[out, in]`` or ``[out, in, K, K]``; ``b`` may be ``None`` (zero).
    """
    wa = np.asarray(w, dtype=np.float64)
    n = wa.shape[0]
    stats = {
        "gamma": gamma,
        "beta": beta,
        "mean": mean,
        "var": var,
        "b": np.zeros(n) if b is None else b,
    }
    arr = {}
    for name, v in stats.items():
        a = np.asarray(v, dtype=np.float64)
        if a.shape != (n,):
            raise ValueError(f"{name} must have shape ({n},) like w's outputs, got {a.shape}")
        arr[name] = a
    if np.any(arr["var"] + eps <= 0):
        raise ValueError("var + eps must be positive")
    s = arr["gamma"] / np.sqrt(arr["var"] + eps)
    w2 = wa * s.reshape((n,) + (1,) * (wa.ndim - 1))
    return w2, s * (arr["b"] - arr["mean"]) + arr["beta"]


def _deq_bias(b, num: Numerics):
    return None if b is None else dequantize(b, num.act_frac)


def run_dense_float(layers: Sequence[DenseLayer], x, *, num: Numerics) -> list[np.ndarray]:
    """Float outputs of a quantized dense network (weights / ``2**w_frac`` etc.).

    ``x`` is float (already in real units); every layer's output is returned.
    """
    outs, a = [], np.asarray(x, dtype=np.float64)
    for layer in layers:
        if isinstance(layer, FCLayer):
            batched = a.ndim in (2, 4)
            flat = a.reshape(a.shape[0], -1) if batched else a.reshape(-1)
            w = dequantize(layer.w, num.w_frac)
            a = fc_float(flat, w, _deq_bias(layer.b, num), act=layer.act)
        elif isinstance(layer, ConvLayer):
            w = dequantize(layer.w, num.w_frac)
            b = _deq_bias(layer.b, num)
            a = conv2d_float(a, w, b, stride=layer.stride, pad=layer.pad, act=layer.act)
        elif isinstance(layer, PoolLayer):
            a = pool2d_float(a, k=layer.k, stride=layer.stride, mode=layer.mode)
        else:
            raise TypeError(f"not a dense layer: {type(layer).__name__}")
        outs.append(a)
    return outs


def run_eie_float(layers: Sequence[EIELayer], x, *, num: Numerics) -> list[np.ndarray]:
    """Float outputs of a compressed EIE network (codebook values / ``2**w_frac``)."""
    outs, a = [], np.asarray(x, dtype=np.float64)
    for layer in layers:
        w = dequantize(layer.weights, num.w_frac)
        a = fc_float(a, w, _deq_bias(layer.bias, num), act="relu" if layer.relu else "none")
        outs.append(a)
    return outs
