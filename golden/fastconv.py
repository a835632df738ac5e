"""A fast path of the golden convolution for whole data sets (LeNet-5's 10,000 test images).

:func:`~accelgen.golden.layers.conv2d` adds the products group by group in the hardware's order,
saturating the accumulator at every step (``docs/numerics.md``); that order only matters when a
partial sum can reach the accumulator's range. :func:`conv2d_fast` computes every rounded,
saturated product (the same ``multiply``) in one vectorised pass over im2col columns, and where
``|bias| + sum(|products|)`` of an output stays inside ``acc_bits`` no partial sum in any order
can saturate, so the plain sum *is* the hardware's result; images with any other output are
recomputed by :func:`~accelgen.golden.layers.conv2d` itself. The result equals ``conv2d`` for
every ``group`` (tests check both paths).
"""

from __future__ import annotations

import numpy as np

from .arith import Numerics, check_fixed, smax
from .layers import activate, conv2d, conv_output_size, pool2d
from .netspec import ConvLayer, PoolLayer

__all__ = ["conv2d_fast", "run_conv_fast"]


def conv2d_fast(
    x,
    w,
    bias=None,
    *,
    num: Numerics,
    stride: int = 1,
    pad: int = 0,
    act: str = "none",
    group: int = 1,
    chunk: int = 8,
) -> np.ndarray:
    """:func:`~accelgen.golden.layers.conv2d` of a batch ``x[B, C, H, W]``, bit for bit, faster."""
    xb = check_fixed(x, num.act_bits, "x")
    wa = check_fixed(w, num.w_bits, "w")
    if xb.ndim != 4 or wa.ndim != 4 or xb.shape[1] != wa.shape[1]:
        raise ValueError(f"x has shape {xb.shape} but w has shape {wa.shape}")
    if act not in ("none", "relu") or num.act_bits > 16 or num.w_bits > 16:
        return conv2d(x, w, bias, num=num, stride=stride, pad=pad, act=act, group=group)
    n_out, c, k, _ = wa.shape
    b_, _, h, wd = xb.shape
    oh, ow = conv_output_size(h, k, stride, pad), conv_output_size(wd, k, stride, pad)
    xp = np.pad(xb, ((0, 0), (0, 0), (pad, pad), (pad, pad))).astype(np.int32)
    wmat = wa.reshape(n_out, -1).astype(np.int32)  # [O, C*K*K], (c, ky, kx) order
    bias_a = np.zeros(n_out, np.int64) if bias is None else check_fixed(bias, num.act_bits, "bias")
    half = np.int32(1 << (num.w_frac - 1)) if num.w_frac else np.int32(0)
    lo, hi = -(1 << (num.act_bits - 1)), (1 << (num.act_bits - 1)) - 1
    out = np.empty((b_, n_out, oh, ow), np.int64)
    # products saturate only if |a w| can reach 2**(act_bits + w_frac - 1)
    top = int(np.abs(xp).max(initial=0)) * int(np.abs(wmat).max(initial=0)) + int(half)
    clip = top >= 1 << (num.act_bits - 1 + num.w_frac)
    sum_type = np.int32 if (hi + 1) * c * k * k < 1 << 31 else np.int64
    wabs = np.abs(wmat).astype(np.float64).T / (1 << num.w_frac)  # [CKK, O]
    for s in range(0, b_, chunk):
        xs = xp[s : s + chunk]
        cols = np.stack(
            [
                xs[
                    :,
                    :,
                    ky : ky + stride * (oh - 1) + 1 : stride,
                    kx : kx + stride * (ow - 1) + 1 : stride,
                ]
                for ky in range(k)
                for kx in range(k)
            ],
            axis=2,
        )  # [b, C, K*K, oh, ow]
        cols = np.ascontiguousarray(
            cols.reshape(len(xs), c * k * k, oh * ow).transpose(0, 2, 1)
        )  # [b, P, CKK]
        p = cols[:, :, None, :] * wmat[None, None]  # [b, P, O, CKK], exact in int32
        p += half
        p >>= num.w_frac
        if clip:
            np.clip(p, lo, hi, out=p)
        acc = p.sum(axis=-1, dtype=sum_type) + bias_a  # [b, P, O]
        # |p| <= |a w| / 2**w_frac + 1: a bound on every partial sum, in any order
        bound = np.abs(cols).astype(np.float64) @ wabs + (c * k * k + 1) + np.abs(bias_a)
        y = acc.astype(np.int64).transpose(0, 2, 1).reshape(len(xs), n_out, oh, ow)
        safe = (bound < smax(num.acc_bits) - 1).reshape(len(xs), -1).all(axis=1)
        for i in np.flatnonzero(~safe):
            y[i] = conv2d(
                xb[s + i], wa, bias, num=num, stride=stride, pad=pad, act="none", group=group
            )
        out[s : s + chunk] = np.clip(y, lo, hi)
    return activate(out, act, num)


def run_conv_fast(layers, x, *, num: Numerics, group: int) -> list[np.ndarray]:
    """:func:`~accelgen.golden.netspec.run_dense` of convolution and pooling layers, every
    layer's output, with :func:`conv2d_fast` for the convolutions."""
    outs, a = [], np.asarray(x)
    for layer in layers:
        if isinstance(layer, ConvLayer):
            a = conv2d_fast(
                a,
                layer.w,
                layer.b,
                num=num,
                stride=layer.stride,
                pad=layer.pad,
                act=layer.act,
                group=group,
            )
        elif isinstance(layer, PoolLayer):
            a = pool2d(a, k=layer.k, stride=layer.stride, mode=layer.mode, num=num)
        else:
            raise TypeError(f"not a convolution or pooling layer: {type(layer).__name__}")
        outs.append(a)
    return outs
