"""Op-count model of direct, FFT and Winograd convolution (the seed's "better algorithms" claim).

The seed tutorial (Dally, NIPS 2015) states the cost of a convolution layer with ``K`` input
maps, ``J`` output maps, an ``M x M`` kernel and ``N x N`` maps as

* direct: ``K J M^2 N^2`` multiplies;
* FFT: ``4 K J N^2 + C (K + J) (2 N^2 log N)``: ``K J N^2`` complex products in the frequency
  domain (4 real multiplies each) plus one 2-D FFT of every input map and one inverse FFT of every
  output map (``2 N^2 log2 N`` butterfly-size units each, ``C`` real operations per unit); the
  filters are transformed offline;

and that FFT and Winograd are "~2x faster for 3x3 convolutions, ~25x for 11x11".

This module counts real multiplies and adds per layer for the three algorithms:

* **direct**: one multiply and one add per MAC, ``K J M^2 Nout^2`` (``Nout`` the layer's output
  side, stride included).
* **FFT** (the seed's formula): transforms of the padded input (``h x w``: ``2 N^2 log2 N``
  becomes ``h w log2(h w)``), not rounded to a power
  of two (mixed-radix FFTs exist); a radix-2 complex butterfly is 1 complex multiply and 2 complex
  adds, so per unit ``C = 2`` multiplies and ``C = 3`` adds (``C = 5`` operations, the usual
  ``5 N log2 N``); a complex multiply-accumulate in the frequency domain is 4 multiplies and 4
  adds. A strided layer computes every stride-1 output (FFT cannot skip them).
* **Winograd F(m x m, r x r)** (tile side ``a = m + r - 1``; ``m = 2`` unless given): ``a^2``
  element-wise multiplies per ``m x m`` output tile, input channel and output channel,
  accumulated over input channels. For ``r = 3`` the transforms are counted from Lavin & Gray's
  matrices (per row one add fewer than its non-zeros, one multiply per entry other than 0 /
  +-1): F(2x2, 3x3) input ``B^T d B`` 32 adds per tile and input channel, output ``A^T M A`` 24
  adds per tile and output channel, no multiplies; F(4x4, 3x3) has multiplies by 2, 4, 5, 8
  (shifts and adds in hardware, counted as multiplies here). For larger kernels the transform
  matrices have general coefficients and are counted as dense products (input ``2 a^3``, output
  ``m a^2 + m^2 a`` multiply-adds per tile and channel), an upper bound. Filters are
  transformed offline. Strided layers as for FFT.

Channel groups (AlexNet's two towers) are ignored: every layer is the single-tower shape.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .paper import DIANNAO_TABLE2
from .winograd import AT, AT4, BT, BT4

__all__ = [
    "ALEXNET_CONV",
    "ConvShape",
    "OpCount",
    "compare",
    "direct_ops",
    "fft_ops",
    "paper_shapes",
    "winograd_ops",
]

FFT_MUL_PER_UNIT = 2  # C for multiplies: one complex multiply (4) per butterfly (2 units)
FFT_ADD_PER_UNIT = 3  # C for adds: 2 (complex multiply) + 4 (two complex adds) per butterfly


@dataclass(frozen=True)
class ConvShape:
    """A convolution layer: ``k`` input maps of ``n x width`` (before padding; ``width`` defaults
    to ``n``), ``m x m`` kernels, ``j`` output maps."""

    name: str
    n: int
    m: int
    k: int
    j: int
    stride: int = 1
    pad: int = 0
    width: int = 0
    note: str = ""

    def padded(self) -> tuple[int, int]:
        return self.n + 2 * self.pad, (self.width or self.n) + 2 * self.pad

    def out(self, stride: int | None = None) -> tuple[int, int]:
        s = self.stride if stride is None else stride
        h, w = self.padded()
        return (h - self.m) // s + 1, (w - self.m) // s + 1


@dataclass(frozen=True)
class OpCount:
    mults: int
    adds: int

    @property
    def ops(self) -> int:
        return self.mults + self.adds


def direct_ops(s: ConvShape) -> OpCount:
    oh, ow = s.out()
    macs = s.k * s.j * s.m * s.m * oh * ow
    return OpCount(macs, macs)


def fft_ops(s: ConvShape) -> OpCount:
    h, w = s.padded()
    units = (s.k + s.j) * h * w * math.log2(h * w)  # 2 N^2 log2 N for h = w = N
    pointwise = s.k * s.j * h * w
    return OpCount(
        round(4 * pointwise + FFT_MUL_PER_UNIT * units),
        round(4 * pointwise + FFT_ADD_PER_UNIT * units),
    )


def _matmul_cost(mat: np.ndarray, cols: int) -> tuple[int, int]:
    """(multiplies, adds) of ``mat @ X`` for an ``X`` with ``cols`` columns: per row, one add
    fewer than its non-zeros and one multiply per entry other than 0 / +-1."""
    nnz = np.count_nonzero(mat, axis=1)
    adds = int(np.maximum(nnz - 1, 0).sum()) * cols
    mults = int(np.count_nonzero(np.abs(mat) > 1)) * cols
    return mults, adds


def _transform_costs(m: int, out_tile: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """(multiplies, adds) per tile of the input transform (per input channel) and the output
    transform (per output channel): the real matrices for 3x3 kernels, dense ones otherwise."""
    a = out_tile + m - 1
    if m == 3 and out_tile in (2, 4):
        bt, at = (BT, AT) if out_tile == 2 else (BT4, AT4)
        i1, i2 = _matmul_cost(bt, a), _matmul_cost(bt, a)
        o1, o2 = _matmul_cost(at, a), _matmul_cost(at, out_tile)
        return (i1[0] + i2[0], i1[1] + i2[1]), (o1[0] + o2[0], o1[1] + o2[1])
    t_in = 2 * a**3
    t_out = out_tile * a * a + out_tile * out_tile * a
    return (t_in, t_in), (t_out, t_out)


def winograd_ops(s: ConvShape, out_tile: int = 2) -> OpCount:
    a = out_tile + s.m - 1
    oh, ow = s.out(1)
    tiles = math.ceil(oh / out_tile) * math.ceil(ow / out_tile)
    mults = s.k * s.j * a * a * tiles
    acc_adds = mults  # one add per product (accumulation over input channels, and the first)
    (im, ia), (om, oa) = _transform_costs(s.m, out_tile)
    return OpCount(mults + (im * s.k + om * s.j) * tiles, acc_adds + (ia * s.k + oa * s.j) * tiles)


# AlexNet (Krizhevsky et al. 2012) convolutions, single-tower shapes, 227x227 input.
ALEXNET_CONV: tuple[ConvShape, ...] = (
    ConvShape("Alex-conv1", 227, 11, 3, 96, stride=4),
    ConvShape("Alex-conv2", 27, 5, 96, 256, pad=2),
    ConvShape("Alex-conv3", 13, 3, 256, 384, pad=1),
    ConvShape("Alex-conv4", 13, 3, 384, 384, pad=1),
    ConvShape("Alex-conv5", 13, 3, 384, 256, pad=1),
)


def paper_shapes() -> list[ConvShape]:
    """DianNao Table 2 convolutions and AlexNet's."""
    out = []
    for layer in DIANNAO_TABLE2:
        if layer.kind != "conv":
            continue
        note = "private kernels, counted as shared" if layer.private_kernels else ""
        out.append(
            ConvShape(
                layer.name,
                layer.height,
                layer.kernel,
                layer.ni,
                layer.no,
                width=layer.width,
                note=note,
            )
        )
    return [*out, *ALEXNET_CONV]


def compare(s: ConvShape) -> dict:
    """Multiplies / adds of the three algorithms and the speed-ups over direct (multiplies and
    all operations)."""
    d, f, w = direct_ops(s), fft_ops(s), winograd_ops(s)
    w4 = winograd_ops(s, 4)
    return {
        "layer": s.name,
        "kernel": s.m,
        "n": s.n,
        "width": s.width or s.n,
        "k": s.k,
        "j": s.j,
        "stride": s.stride,
        "direct": d,
        "fft": f,
        "winograd": w,
        "fft_mult_speedup": d.mults / f.mults,
        "fft_ops_speedup": d.ops / f.ops,
        "winograd_mult_speedup": d.mults / w.mults,
        "winograd_ops_speedup": d.ops / w.ops,
        "winograd4": w4,
        "winograd4_mult_speedup": d.mults / w4.mults,
        "winograd4_ops_speedup": d.ops / w4.ops,
        "note": s.note,
    }
