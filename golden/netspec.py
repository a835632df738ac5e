"""Layer descriptions shared by the golden model, the cores' APIs, the npz files and the demo.

* :class:`EIELayer`: a compressed fully-connected layer (codebook + 4-bit index matrix) for EIE.
* :class:`FCLayer`, :class:`ConvLayer`, :class:`PoolLayer`: dense layers for DianNao.

Each validates its arrays at construction (dtype, shape, fixed-point range) and raises
``ValueError``/``TypeError`` naming the offending field; :func:`run_eie` and :func:`run_dense`
evaluate a whole network with the golden model in the order the hardware uses.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from .arith import CODEBOOK_SIZE, Numerics, check_fixed, codebook_decode
from .eie_format import encode
from .layers import ACTIVATIONS, conv2d, eie_layer, fc, pool2d
from .winograd import winograd_conv2d, winograd_unsupported

__all__ = [
    "CONV_ALGORITHMS",
    "check_eie_chain",
    "ConvLayer",
    "DenseLayer",
    "EIELayer",
    "FCLayer",
    "PoolLayer",
    "run_dense",
    "run_eie",
    "with_conv",
]


def _int_array(name: str, a, ndim: int, bits: int | None = None) -> np.ndarray:
    arr = np.asarray(a)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must be an integer array, got dtype {arr.dtype}")
    if arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {arr.shape}")
    if bits is not None:
        check_fixed(arr, bits, name)
    return arr.astype(np.int64)


def _check_act(act: str) -> None:
    if act not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {act!r}")


def _check_positive(name: str, v, lo: int = 1) -> None:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
        raise ValueError(f"{name} must be an integer >= {lo}, got {v!r}")


@dataclass(frozen=True, eq=False)
class EIELayer:
    """One compressed FC layer: ``y = relu?(sat(W x + bias))`` with ``W = codebook[index]``."""

    codebook: np.ndarray
    index: np.ndarray
    bias: np.ndarray | None = None
    relu: bool = False

    def __post_init__(self) -> None:
        cb = _int_array("codebook", self.codebook, 1, 16)
        if cb.shape != (CODEBOOK_SIZE,):
            raise ValueError(f"codebook must have {CODEBOOK_SIZE} entries, got {cb.shape[0]}")
        if cb[0] != 0:
            raise ValueError(f"codebook[0] must be 0 (pruned weights), got {int(cb[0])}")
        raw = np.asarray(self.index)
        if raw.dtype.kind in "iu" and raw.size:
            # range check in the given dtype, so the message shows the value as given
            lo, hi = int(raw.min()), int(raw.max())
            if lo < 0 or hi >= CODEBOOK_SIZE:
                bad = lo if lo < 0 else hi
                raise ValueError(f"index holds {bad}, outside 0..{CODEBOOK_SIZE - 1}")
        idx = _int_array("index", raw, 2)
        object.__setattr__(self, "codebook", cb.astype(np.int16))
        object.__setattr__(self, "index", idx.astype(np.uint8))
        if self.bias is not None:
            b = _int_array("bias", self.bias, 1, 16)
            if b.shape != (idx.shape[0],):
                raise ValueError(f"bias must have {idx.shape[0]} entries, got {b.shape[0]}")
            object.__setattr__(self, "bias", b.astype(np.int16))
        object.__setattr__(self, "relu", bool(self.relu))

    @property
    def shape(self) -> tuple[int, int]:
        """``(outputs, inputs)``."""
        return self.index.shape

    @property
    def weights(self) -> np.ndarray:
        """The decoded fixed-point weight matrix."""
        return codebook_decode(self.index, self.codebook)

    @property
    def density(self) -> float:
        return float(np.count_nonzero(self.index)) / max(1, self.index.size)


@dataclass(frozen=True, eq=False)
class FCLayer:
    """Dense fully-connected layer: ``w[No, Ni]``, optional ``b[No]``, activation ``act``."""

    w: np.ndarray
    b: np.ndarray | None = None
    act: str = "none"
    kind: str = field(default="fc", init=False)

    def __post_init__(self) -> None:
        w = _int_array("w", self.w, 2, 16)
        object.__setattr__(self, "w", w.astype(np.int16))
        if self.b is not None:
            b = _int_array("b", self.b, 1, 16)
            if b.shape != (w.shape[0],):
                raise ValueError(f"b must have {w.shape[0]} entries, got {b.shape[0]}")
            object.__setattr__(self, "b", b.astype(np.int16))
        _check_act(self.act)


CONV_ALGORITHMS = ("direct", "winograd")


@dataclass(frozen=True, eq=False)
class ConvLayer:
    """2-D convolution: ``w[No, Ni, K, K]``, optional ``b[No]``, stride, zero padding.

    ``conv`` picks the algorithm: ``"direct"`` multiply-accumulates, or ``"winograd"``
    (F(2x2, 3x3), :mod:`accelgen.golden.winograd`; 3x3 stride-1 layers only).
    """

    w: np.ndarray
    b: np.ndarray | None = None
    stride: int = 1
    pad: int = 0
    act: str = "none"
    conv: str = "direct"
    kind: str = field(default="conv", init=False)

    def __post_init__(self) -> None:
        w = _int_array("w", self.w, 4, 16)
        if w.shape[2] != w.shape[3]:
            raise ValueError(f"conv kernel must be square, got {w.shape[2]} x {w.shape[3]}")
        object.__setattr__(self, "w", w.astype(np.int16))
        if self.b is not None:
            b = _int_array("b", self.b, 1, 16)
            if b.shape != (w.shape[0],):
                raise ValueError(f"b must have {w.shape[0]} entries, got {b.shape[0]}")
            object.__setattr__(self, "b", b.astype(np.int16))
        _check_positive("stride", self.stride)
        _check_positive("pad", self.pad, 0)
        object.__setattr__(self, "stride", int(self.stride))
        object.__setattr__(self, "pad", int(self.pad))
        _check_act(self.act)
        if self.conv not in CONV_ALGORITHMS:
            raise ValueError(f"conv must be one of {CONV_ALGORITHMS}, got {self.conv!r}")
        if self.conv == "winograd":
            why = winograd_unsupported(self.k, self.stride)
            if why is not None:
                raise ValueError(why)

    @property
    def k(self) -> int:
        return int(self.w.shape[2])


@dataclass(frozen=True)
class PoolLayer:
    """Max or average pooling over ``k x k`` windows with ``stride`` (no padding)."""

    k: int
    stride: int
    mode: str = "max"
    kind: str = field(default="pool", init=False)

    def __post_init__(self) -> None:
        _check_positive("k", self.k)
        _check_positive("stride", self.stride)
        if self.mode not in ("max", "avg"):
            raise ValueError(f"pooling mode must be 'max' or 'avg', got {self.mode!r}")
        object.__setattr__(self, "k", int(self.k))
        object.__setattr__(self, "stride", int(self.stride))


DenseLayer = FCLayer | ConvLayer | PoolLayer


def check_eie_chain(layers) -> list[EIELayer]:
    """Check that ``layers`` are :class:`EIELayer` s whose sizes chain (outputs -> inputs)."""
    layers = list(layers)
    for i, layer in enumerate(layers):
        if not isinstance(layer, EIELayer):
            raise TypeError(f"layer {i} must be an EIELayer, got {type(layer).__name__}")
        if i and layers[i - 1].shape[0] != layer.shape[1]:
            raise ValueError(
                f"layer {i} expects {layer.shape[1]} inputs but layer {i - 1} has "
                f"{layers[i - 1].shape[0]} outputs"
            )
    return layers


def run_eie(layers: list[EIELayer], x, *, num: Numerics, n_pes: int = 1) -> list[np.ndarray]:
    """Golden outputs of every layer of an EIE network, computed from the encoded format."""
    outs, a = [], np.asarray(x)
    for i, layer in enumerate(layers):
        if a.shape[-1] != layer.shape[1]:
            raise ValueError(f"layer {i} expects {layer.shape[1]} inputs, gets {a.shape[-1]}")
        a = eie_layer(
            encode(layer.index, n_pes), layer.codebook, a, layer.bias, num=num, relu=layer.relu
        )
        outs.append(a)
    return outs


def with_conv(layers, conv: str, src: str = "network") -> list:
    """``layers`` with every :class:`ConvLayer` set to algorithm ``conv``.

    Raises ``ValueError`` naming ``src`` and the first layer the algorithm does not apply to.
    """
    if conv not in CONV_ALGORITHMS:
        raise ValueError(f"conv must be one of {CONV_ALGORITHMS}, got {conv!r}")
    out = []
    for i, layer in enumerate(layers):
        if isinstance(layer, ConvLayer):
            why = winograd_unsupported(layer.k, layer.stride) if conv == "winograd" else None
            if why is not None:
                raise ValueError(f"{src}: layer {i} (conv): {why}")
            layer = dataclasses.replace(layer, conv=conv)
        out.append(layer)
    return out


def run_dense(layers: list[DenseLayer], x, *, num: Numerics, group: int) -> list[np.ndarray]:
    """Golden outputs of every layer of a dense network in DianNao's order (``group = Tn``).

    An FC layer after a convolution or pooling layer flattens its input in ``[C, H, W]`` order.
    """
    outs, a = [], np.asarray(x)
    for layer in layers:
        if isinstance(layer, FCLayer):
            batched = a.ndim in (2, 4)
            flat = a.reshape(a.shape[0], -1) if batched else a.reshape(-1)
            a = fc(flat, layer.w, layer.b, num=num, act=layer.act, group=group)
        elif isinstance(layer, ConvLayer) and layer.conv == "winograd":
            a = winograd_conv2d(
                a, layer.w, layer.b, num=num, pad=layer.pad, act=layer.act, group=group
            )
        elif isinstance(layer, ConvLayer):
            a = conv2d(
                a,
                layer.w,
                layer.b,
                num=num,
                stride=layer.stride,
                pad=layer.pad,
                act=layer.act,
                group=group,
            )
        else:
            a = pool2d(a, k=layer.k, stride=layer.stride, mode=layer.mode, num=num)
        outs.append(a)
    return outs
