"""Winograd F(2x2, 3x3) convolution in fixed point (bit-exact with DianNao's Winograd mode).

Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks" (2015). A 3x3 stride-1
convolution is computed on 2x2 output tiles from 4x4 input tiles ``d`` (overlapping by 2)::

    V = B^T d B          (input transform, adds only)
    U = G g G^T          (filter transform, offline; G holds halves)
    M = sum_c U[c] . V[c]  (16 element-wise products per tile, summed over input channels)
    Y = A^T M A          (output transform, adds only)

Fixed-point rule (``docs/numerics.md``, "Winograd convolution"; every step is integer):

1. **Tiles.** The input is zero-padded by ``pad`` on every side, then by one more zero row /
   column at the bottom / right when the output height / width is odd, so that the
   ``th x tw = ceil(oh/2) x ceil(ow/2)`` tiles ``d = xp[2ty : 2ty+4, 2tx : 2tx+4]`` exist.
2. **Input transform.** ``V = sat(act_bits, B^T d B)``: the sum is exact (every entry is a
   signed sum of four inputs), then saturated to the activation format (it grows by up to 2 bits).
3. **Filter transform.** With ``G2 = 2 G`` (integers), ``U = sat(w_bits, (G2 g G2^T + 2) >> 2)``:
   the exact integer sum divided by 4, rounded half up (arithmetic shift), saturated to the
   weight format. Done once per layer by the compiler (offline).
4. **Products.** For each of the 16 positions ``(xi, nu)``, each output channel ``o`` and tile:
   ``acc = 0``, then for each group of ``group`` consecutive input channels in ascending order
   ``acc = sat(acc_bits, acc + sum_c multiply(V[c], U[o, c]))`` (products rounded to activation
   scale as in every layer, the group sum exact): DianNao's FC order with the input channels as
   the inputs. ``M`` stays at ``acc_bits``.
5. **Output transform.** ``y = sat(act_bits, A^T M A + bias)`` with the sum exact, then the
   layer's activation function. Outputs beyond ``oh x ow`` (odd sizes) are dropped.

**F(4x4, 3x3)** (``m = 4``, an option of the golden model; DianNao runs F(2x2, 3x3)): 6x6
input tiles at stride 4, ``B^T`` with entries up to 5 (the input grows up to 100x), ``G = G24 /
24``, ``A^T`` with entries up to 8. The same rules with a shift ``s = v_shift``:
``V = sat(act_bits, (B^T d B + 2**(s-1)) >> s)`` and ``U = sat(w_bits, round_half_up(G24 g
G24^T * 2**s / 576))`` (exact integer arithmetic), so that ``V U`` keeps the scale; rules 4-5
unchanged. F(2x2, 3x3) is the case ``s = 0``, ``G2 / 2``.

:func:`fft_conv2d_float` is the float FFT convolution the op-count model
(:mod:`accelgen.golden.opcount`) describes.
"""

from __future__ import annotations

import numpy as np

from .arith import Numerics, check_fixed, multiply, round_shift, sat
from .layers import _check_group, activate, conv_output_size
from .pwl import PWLTable

__all__ = [
    "AT",
    "AT4",
    "BT",
    "BT4",
    "G2",
    "G24",
    "TILE",
    "fft_conv2d_float",
    "filter_transform",
    "input_tiles",
    "input_transform",
    "output_transform",
    "tile_grid",
    "winograd_conv2d",
    "winograd_products",
    "winograd_unsupported",
]

TILE = 4  # input tile side of F(2x2, 3x3)
OUT_TILE = 2

BT = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], dtype=np.int64)
G2 = np.array([[2, 0, 0], [1, 1, 1], [1, -1, 1], [0, 0, 2]], dtype=np.int64)  # 2 * G
AT = np.array([[1, 1, 1, 0], [0, 1, -1, -1]], dtype=np.int64)

# F(4x4, 3x3) (Lavin & Gray, eq. 11-13): 6x6 input tiles; G24 = 24 G is integer.
BT4 = np.array(
    [
        [4, 0, -5, 0, 1, 0],
        [0, -4, -4, 1, 1, 0],
        [0, 4, -4, -1, 1, 0],
        [0, -2, -1, 2, 1, 0],
        [0, 2, -1, -2, 1, 0],
        [0, 4, 0, -5, 0, 1],
    ],
    dtype=np.int64,
)
G24 = np.array(
    [[6, 0, 0], [-4, -4, -4], [-4, 4, -4], [1, 2, 4], [1, -2, 4], [0, 0, 24]], dtype=np.int64
)
AT4 = np.array(
    [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]],
    dtype=np.int64,
)

#: output tile m -> (B^T, integer G, denominator of G, A^T)
_ALGORITHMS = {2: (BT, G2, 2, AT), 4: (BT4, G24, 24, AT4)}


def _algorithm(m: int):
    if m not in _ALGORITHMS:
        raise ValueError(f"output tile m must be 2 (F(2x2, 3x3)) or 4 (F(4x4, 3x3)), got {m!r}")
    return _ALGORITHMS[m]


def _check_shift(v_shift: int) -> int:
    if isinstance(v_shift, bool) or not isinstance(v_shift, int) or not 0 <= v_shift <= 16:
        raise ValueError(f"v_shift must be an integer in 0..16, got {v_shift!r}")
    return v_shift


def winograd_unsupported(k: int, stride: int) -> str | None:
    """Why Winograd F(2x2, 3x3) cannot run a ``k x k`` convolution with ``stride`` (or None)."""
    if k == 3 and stride == 1:
        return None
    return (
        f"Winograd F(2x2, 3x3) applies only to 3x3 stride-1 convolutions; this one is "
        f"{k}x{k} with stride {stride} (use conv='direct')"
    )


def tile_grid(h: int, w: int, pad: int, m: int = 2) -> tuple[int, int, int, int]:
    """``(oh, ow, th, tw)``: output size and ``m x m``-tile grid of a 3x3 stride-1 convolution."""
    _algorithm(m)
    oh, ow = conv_output_size(h, 3, 1, pad), conv_output_size(w, 3, 1, pad)
    return oh, ow, -(-oh // m), -(-ow // m)


def input_tiles(x: np.ndarray, pad: int, m: int = 2) -> np.ndarray:
    """The ``(m+2) x (m+2)`` input tiles of ``x[B, C, H, W]``: ``[B, C, th, tw, m+2, m+2]``."""
    b, c, h, w = x.shape
    _, _, th, tw = tile_grid(h, w, pad, m)
    a = m + 2
    eh, ew = m * th + 2 - (h + 2 * pad), m * tw + 2 - (w + 2 * pad)
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad + eh), (pad, pad + ew)))
    rows = m * np.arange(th)[:, None] + np.arange(a)[None, :]  # [th, a]
    cols = m * np.arange(tw)[:, None] + np.arange(a)[None, :]  # [tw, a]
    return xp[:, :, rows[:, None, :, None], cols[None, :, None, :]]


def input_transform(d, *, num: Numerics, m: int = 2, v_shift: int = 0) -> np.ndarray:
    """``V = sat(act_bits, (B^T d B + 2**(s-1)) >> s)`` over the last two axes of ``d``
    (``s = v_shift``; 0 for F(2x2, 3x3), where the sum is exact)."""
    bt = _algorithm(m)[0]
    d = check_fixed(d, num.act_bits, "d")
    return sat(num.act_bits, round_shift(bt @ d @ bt.T, _check_shift(v_shift)))


def filter_transform(w, *, num: Numerics, m: int = 2, v_shift: int = 0) -> np.ndarray:
    """``U = G g G^T`` in the weight format, scaled by ``2**v_shift``: with ``G = Gi / q``
    (``Gi`` integer), ``U = sat(w_bits, floor((Gi g Gi^T * 2**s) / q**2 + 1/2))`` exactly (round
    half up). F(2x2, 3x3): ``q = 2``, ``s = 0``, i.e. ``(G2 g G2^T + 2) >> 2``.
    ``w[O, C, 3, 3]`` -> ``[O, C, m+2, m+2]``."""
    _, gi, q, _ = _algorithm(m)
    wa = check_fixed(w, num.w_bits, "w")
    if wa.shape[-2:] != (3, 3):
        raise ValueError(f"Winograd F({m}x{m}, 3x3) needs 3x3 kernels, got shape {wa.shape}")
    exact = (gi @ wa @ gi.T) << _check_shift(v_shift)  # times q**2
    return sat(num.w_bits, np.floor_divide(2 * exact + q * q, 2 * q * q))


def output_transform(m) -> np.ndarray:
    """``A^T M A`` (exact) over the last two axes of ``M`` (4 x 4 -> 2 x 2, or 6 x 6 -> 4 x 4)."""
    m = np.asarray(m, dtype=np.int64)
    at = AT if m.shape[-1] == 4 else AT4
    return at @ m @ at.T


def winograd_products(v, u, *, num: Numerics, group: int) -> np.ndarray:
    """Rule 4: ``M[B, O, th, tw, a, a]`` from ``V[B, C, th, tw, a, a]`` and ``U[O, C, a, a]``."""
    _check_group(group)
    v, u = np.asarray(v, dtype=np.int64), np.asarray(u, dtype=np.int64)
    b, c, th, tw, a, _ = v.shape
    o = u.shape[0]
    acc = np.zeros((b, o, th, tw, a, a), dtype=np.int64)
    for c0 in range(0, c, group):
        vg = v[:, None, c0 : c0 + group]  # [B, 1, g, th, tw, a, a]
        ug = u[None, :, c0 : c0 + group, None, None]  # [1, O, g, 1, 1, a, a]
        p = multiply(vg, ug, w_frac=num.w_frac, act_bits=num.act_bits)
        acc = sat(num.acc_bits, acc + p.sum(axis=2))
    return acc


def winograd_conv2d(
    x,
    w,
    bias=None,
    *,
    num: Numerics,
    pad: int = 0,
    act: str = "none",
    group: int = 1,
    pwl: PWLTable | None = None,
    m: int = 2,
    v_shift: int = 0,
) -> np.ndarray:
    """3x3 stride-1 convolution of ``x[C, H, W]`` (or ``[B, C, H, W]``) by Winograd F(2x2, 3x3)
    (``m = 2``, what DianNao runs) or F(4x4, 3x3) (``m = 4``, golden model only).

    Same arguments and output shape as :func:`accelgen.golden.layers.conv2d`; the arithmetic
    follows the module docstring's rules 1-5 (``group = Tn`` is DianNao's order). ``v_shift``
    scales the input transform down and the filter transform up by ``2**v_shift`` (F(4x4, 3x3)
    grows the input up to 100x; 0 for F(2x2, 3x3)).
    """
    xa = check_fixed(x, num.act_bits, "x")
    wa = check_fixed(w, num.w_bits, "w")
    if wa.ndim != 4 or wa.shape[2:] != (3, 3):
        raise ValueError(f"Winograd F(2x2, 3x3) needs w of shape [O, C, 3, 3], got {wa.shape}")
    single = xa.ndim == 3
    xb = xa[None] if single else xa
    if xb.ndim != 4 or xb.shape[1] != wa.shape[1]:
        raise ValueError(f"x has shape {xa.shape} but w expects {wa.shape[1]} input channels")
    if isinstance(pad, bool) or not isinstance(pad, int) or pad < 0:
        raise ValueError(f"padding must be an integer >= 0, got {pad!r}")
    _algorithm(m)
    n_out = wa.shape[0]
    oh, ow, th, tw = tile_grid(xb.shape[2], xb.shape[3], pad, m)
    v = input_transform(input_tiles(xb, pad, m), num=num, m=m, v_shift=v_shift)
    u = filter_transform(wa, num=num, m=m, v_shift=v_shift)
    y = output_transform(winograd_products(v, u, num=num, group=group))  # [B, O, th, tw, m, m]
    if bias is not None:
        b = check_fixed(bias, num.act_bits, "bias")
        if b.shape != (n_out,):
            raise ValueError(f"bias must have shape ({n_out},), got {b.shape}")
        y = y + b[None, :, None, None, None, None]
    y = y.transpose(0, 1, 2, 4, 3, 5).reshape(xb.shape[0], n_out, m * th, m * tw)[..., :oh, :ow]
    y = activate(sat(num.act_bits, y), act, num, pwl)
    return y[0] if single else y


def fft_conv2d_float(x, w, *, pad: int = 0) -> np.ndarray:
    """Float stride-1 convolution (cross-correlation, as the layers) of ``x[B, C, H, W]`` by
    ``w[O, C, K, K]`` computed with 2-D FFTs of the padded input size.

    The input maps and the (flipped, zero-padded) kernels are transformed once each, the
    products summed over input channels in the frequency domain (``K J N^2`` complex
    multiply-adds), and one inverse FFT per output map; the valid part of the circular result is
    the convolution (the op-count model's FFT algorithm).
    """
    xa = np.asarray(x, dtype=np.float64)
    wa = np.asarray(w, dtype=np.float64)
    single = xa.ndim == 3
    xb = xa[None] if single else xa
    k = wa.shape[-1]
    xp = np.pad(xb, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    n1, n2 = xp.shape[2], xp.shape[3]
    oh, ow = n1 - k + 1, n2 - k + 1
    if oh < 1 or ow < 1:
        raise ValueError(f"a {k}x{k} kernel does not fit a padded input of {n1}x{n2}")
    fx = np.fft.rfft2(xp, s=(n1, n2))  # [B, C, n1, n2//2+1]
    fw = np.fft.rfft2(wa[..., ::-1, ::-1], s=(n1, n2))  # [O, C, ...]
    fy = np.einsum("bcij,ocij->boij", fx, fw)
    y = np.fft.irfft2(fy, s=(n1, n2))[..., k - 1 :, k - 1 :][..., :oh, :ow]
    return y[0] if single else y
