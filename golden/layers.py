"""Fixed-point golden model of the layer types both cores run (bit-exact with the RTL).

All functions take integer arrays (activations ``act_bits`` wide with ``act_frac`` fractional
bits, weights ``w_bits`` wide with ``w_frac``) and a :class:`~accelgen.golden.arith.Numerics`.

Accumulation order (``docs/numerics.md``)
------------------------------------
Every output starts from its bias (sign-extended, activation scale) or 0. Products are rounded to
activation scale one by one (:func:`~accelgen.golden.arith.multiply`). The reduction runs over
*groups*; a group's products are summed exactly (an adder tree), then added into the accumulator
with one saturating add:

* ``group=1`` is EIE's order: one product at a time, in ascending input (column) order.
* ``group=Tn`` is DianNao's order. A fully-connected layer's groups are consecutive runs of
  ``Tn`` inputs in ascending order. A convolution's groups are ``Tn`` consecutive input channels
  at one kernel position, visited as ``for channel_tile: for ky: for kx`` (channel tile outermost,
  then kernel rows, then kernel columns). The DianNao compiler emits exactly this order.

The output is ``sat(act_bits, acc)`` followed by the activation function (none, ReLU, or a
piecewise-linear sigmoid / tanh table from :mod:`accelgen.golden.pwl`).
"""

from __future__ import annotations

from functools import cache

import numpy as np

from .arith import (
    Numerics,
    avg_pool_scale,
    check_fixed,
    codebook_decode,
    multiply,
    sat,
)
from .eie_format import EIEEncoding
from .pwl import PWLTable, evaluate, fit

__all__ = [
    "ACTIVATIONS",
    "activate",
    "conv2d",
    "conv_output_size",
    "default_pwl",
    "eie_layer",
    "fc",
    "pool2d",
    "pool_windows",
]

ACTIVATIONS = ("none", "relu", "sigmoid", "tanh")


@cache
def default_pwl(function: str, act_bits: int, act_frac: int) -> PWLTable:
    """The table the project loads for ``sigmoid``/``tanh`` at the given activation format."""
    return fit(function, act_bits=act_bits, act_frac=act_frac)


def activate(y, act: str, num: Numerics, pwl: PWLTable | None = None) -> np.ndarray:
    """Apply an activation function to saturated fixed-point outputs ``y``."""
    if act not in ACTIVATIONS:
        raise ValueError(f"unknown activation {act!r}; expected one of {ACTIVATIONS}")
    y = np.asarray(y, dtype=np.int64)
    if act == "none":
        return y
    if act == "relu":
        return np.maximum(y, 0)
    table = pwl if pwl is not None else default_pwl(act, num.act_bits, num.act_frac)
    return evaluate(table, y)


def _init_acc(bias, out_shape: tuple[int, ...], n_out: int, num: Numerics) -> np.ndarray:
    acc = np.zeros(out_shape, dtype=np.int64)
    if bias is not None:
        b = check_fixed(bias, num.act_bits, "bias")
        if b.shape != (n_out,):
            raise ValueError(f"bias must have shape ({n_out},), got {b.shape}")
        acc += _broadcast_bias(b, out_shape)
    return acc


def _broadcast_bias(b: np.ndarray, out_shape: tuple[int, ...]) -> np.ndarray:
    # out_shape is [batch, n_out, *spatial]
    return b.reshape((1, -1) + (1,) * (len(out_shape) - 2))


def _finish(acc: np.ndarray, act: str, num: Numerics, pwl: PWLTable | None) -> np.ndarray:
    return activate(sat(num.act_bits, acc), act, num, pwl)


def _check_group(group: int) -> int:
    if isinstance(group, bool) or not isinstance(group, int) or group < 1:
        raise ValueError(f"group must be a positive integer, got {group!r}")
    return group


def fc(
    x,
    w,
    bias=None,
    *,
    num: Numerics,
    act: str = "none",
    group: int = 1,
    pwl: PWLTable | None = None,
) -> np.ndarray:
    """Fully-connected layer ``y = f(W x + b)`` for ``x[in]`` or a batch ``x[batch, in]``."""
    _check_group(group)
    xa = check_fixed(x, num.act_bits, "x")
    wa = check_fixed(w, num.w_bits, "w")
    if wa.ndim != 2:
        raise ValueError(f"w must be 2-D [out, in], got shape {wa.shape}")
    single = xa.ndim == 1
    xb = xa[None] if single else xa
    if xb.ndim != 2 or xb.shape[1] != wa.shape[1]:
        raise ValueError(f"x has shape {xa.shape} but w expects {wa.shape[1]} inputs")
    n_out, n_in = wa.shape
    acc = _init_acc(bias, (xb.shape[0], n_out), n_out, num)
    for g0 in range(0, n_in, group):
        p = multiply(
            xb[:, None, g0 : g0 + group],
            wa[None, :, g0 : g0 + group],
            w_frac=num.w_frac,
            act_bits=num.act_bits,
        )
        acc = sat(num.acc_bits, acc + p.sum(axis=-1))
    y = _finish(acc, act, num, pwl)
    return y[0] if single else y


def eie_layer(
    enc: EIEEncoding,
    codebook,
    x,
    bias=None,
    *,
    num: Numerics,
    relu: bool = False,
) -> np.ndarray:
    """EIE's sparse M x sparse V computed from the encoded data (pointers, v, z, codebook).

    Columns are processed in ascending order (the broadcast order); within a column every PE's
    entries update distinct rows, so one column is one vectorised saturating update. Zero
    activations and padding entries (v = 0, codebook[0] = 0) contribute nothing.
    """
    cb = codebook_decode(np.arange(16), codebook)  # validates codebook[0] == 0
    xa = check_fixed(x, num.act_bits, "x")
    single = xa.ndim == 1
    xb = xa[None] if single else xa
    if xb.ndim != 2 or xb.shape[1] != enc.cols:
        raise ValueError(f"x has shape {xa.shape} but the layer has {enc.cols} inputs")
    cols_all, rows_all, w_all = [], [], []
    for k in range(enc.n_pes):
        counts = np.diff(enc.ptr[k])
        col = np.repeat(np.arange(enc.cols), counts)
        step = enc.z[k].astype(np.int64) + 1
        csum = np.cumsum(step)
        column_base = np.concatenate([[0], csum])[enc.ptr[k, :-1]]
        start = np.repeat(column_base, counts)
        local = csum - start - 1
        keep = enc.v[k] != 0
        cols_all.append(col[keep])
        rows_all.append(local[keep] * enc.n_pes + k)
        w_all.append(cb[enc.v[k][keep].astype(np.int64)])
    cols = np.concatenate(cols_all) if cols_all else np.zeros(0, dtype=np.int64)
    rows = np.concatenate(rows_all) if rows_all else np.zeros(0, dtype=np.int64)
    wts = np.concatenate(w_all) if w_all else np.zeros(0, dtype=np.int64)
    if rows.size and rows.max() >= enc.rows:
        raise ValueError(f"encoded layer addresses row {int(rows.max())} of {enc.rows}")
    order = np.argsort(cols, kind="stable")
    cols, rows, wts = cols[order], rows[order], wts[order]
    acc = _init_acc(bias, (xb.shape[0], enc.rows), enc.rows, num)
    bounds = np.searchsorted(cols, np.arange(enc.cols + 1))
    for j in range(enc.cols):
        lo, hi = bounds[j], bounds[j + 1]
        if lo == hi or not xb[:, j].any():
            continue
        r = rows[lo:hi]
        p = multiply(xb[:, j : j + 1], wts[None, lo:hi], w_frac=num.w_frac, act_bits=num.act_bits)
        acc[:, r] = sat(num.acc_bits, acc[:, r] + p)
    y = _finish(acc, "relu" if relu else "none", num, None)
    return y[0] if single else y


def conv_output_size(size: int, k: int, stride: int, pad: int) -> int:
    """Output length of a convolution or pooling window sweep."""
    out = (size + 2 * pad - k) // stride + 1
    if out < 1:
        raise ValueError(
            f"a {k}-wide window with stride {stride}, padding {pad} does not fit "
            f"an input of size {size}"
        )
    return out


def _check_geometry(k: int, stride: int, pad: int) -> None:
    for name, v, lo in (("kernel", k, 1), ("stride", stride, 1), ("padding", pad, 0)):
        if isinstance(v, bool) or not isinstance(v, int) or v < lo:
            raise ValueError(f"{name} must be an integer >= {lo}, got {v!r}")


def conv2d(
    x,
    w,
    bias=None,
    *,
    num: Numerics,
    stride: int = 1,
    pad: int = 0,
    act: str = "none",
    group: int = 1,
    pwl: PWLTable | None = None,
) -> np.ndarray:
    """2-D convolution of ``x[C, H, W]`` (or ``[B, C, H, W]``) with ``w[O, C, K, K]``.

    Zero padding of ``pad`` on every side. Groups follow the module docstring's order.
    """
    _check_group(group)
    xa = check_fixed(x, num.act_bits, "x")
    wa = check_fixed(w, num.w_bits, "w")
    if wa.ndim != 4 or wa.shape[2] != wa.shape[3]:
        raise ValueError(f"w must be [out, in, K, K], got shape {wa.shape}")
    single = xa.ndim == 3
    xb = xa[None] if single else xa
    if xb.ndim != 4 or xb.shape[1] != wa.shape[1]:
        raise ValueError(f"x has shape {xa.shape} but w expects {wa.shape[1]} input channels")
    n_out, n_in, k, _ = wa.shape
    _check_geometry(k, stride, pad)
    batch, _, h, wd = xb.shape
    oh, ow = conv_output_size(h, k, stride, pad), conv_output_size(wd, k, stride, pad)
    xp = np.pad(xb, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    acc = _init_acc(bias, (batch, n_out, oh, ow), n_out, num)
    for c0 in range(0, n_in, group):
        for ky in range(k):
            for kx in range(k):
                win = xp[
                    :,
                    c0 : c0 + group,
                    ky : ky + stride * (oh - 1) + 1 : stride,
                    kx : kx + stride * (ow - 1) + 1 : stride,
                ]  # [B, g, oh, ow]
                wg = wa[:, c0 : c0 + group, ky, kx]  # [O, g]
                p = multiply(
                    win[:, None],
                    wg[None, :, :, None, None],
                    w_frac=num.w_frac,
                    act_bits=num.act_bits,
                )
                acc = sat(num.acc_bits, acc + p.sum(axis=2))
    y = _finish(acc, act, num, pwl)
    return y[0] if single else y


def pool_windows(xb: np.ndarray, k: int, stride: int) -> np.ndarray:
    """The ``k x k`` windows of ``xb[B, C, H, W]`` at ``stride`` as ``[B, C, oh, ow, k*k]``."""
    oh = conv_output_size(xb.shape[2], k, stride, 0)
    ow = conv_output_size(xb.shape[3], k, stride, 0)
    return np.stack(
        [
            xb[
                :,
                :,
                ky : ky + stride * (oh - 1) + 1 : stride,
                kx : kx + stride * (ow - 1) + 1 : stride,
            ]
            for ky in range(k)
            for kx in range(k)
        ],
        axis=-1,
    )


def pool2d(x, *, k: int, stride: int, mode: str, num: Numerics) -> np.ndarray:
    """Max or average pooling of ``x[C, H, W]`` (or ``[B, C, H, W]``), no padding.

    ``avg`` takes the exact window sum and scales it by ``round(2**16 / k**2)`` with round half
    up (:func:`~accelgen.golden.arith.avg_pool_scale`).
    """
    if mode not in ("max", "avg"):
        raise ValueError(f"pooling mode must be 'max' or 'avg', got {mode!r}")
    _check_geometry(k, stride, 0)
    xa = check_fixed(x, num.act_bits, "x")
    single = xa.ndim == 3
    xb = xa[None] if single else xa
    if xb.ndim != 4:
        raise ValueError(f"x must be [C, H, W] or [B, C, H, W], got shape {xa.shape}")
    wins = pool_windows(xb, k, stride)
    if mode == "max":
        y = wins.max(axis=-1)
    else:
        y = sat(num.act_bits, avg_pool_scale(wins.sum(axis=-1), k * k))
    return y[0] if single else y
