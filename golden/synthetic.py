"""Seeded synthetic layers with the papers' sizes and densities (the real layers are not public).

EIE's benchmark layers (Han et al., ISCA 2016, Table III) are reproduced as random matrices:

* **uniform random sparsity** of the weights: exactly ``round(density * outputs * inputs)``
  positions, drawn uniformly without replacement, hold a non-zero weight;
* **uniform random sparsity** of the activations: exactly ``round(density * inputs)`` non-zero
  entries per input vector, at uniformly drawn positions;
* codebook indices of the non-zero weights uniform in ``1..15``; the codebook holds the 15
  values ``+-k/8`` (``-7/8 ... -1/8, 1/8 ... 8/8``) in ``w_frac`` fixed point, entry 0 is 0;
* non-zero activation values uniform in ``[-2**act_frac, 2**act_frac]`` without 0 (+-1.0).

DianNao's layers (Chen et al., ASPLOS 2014, Table 2) are dense: weights uniform in
``[-2**(w_frac-3), 2**(w_frac-3)]`` (+-1/8) and inputs uniform in ``[-2**act_frac, 2**act_frac]``.
:data:`DESCRIPTION` says this in one sentence; every benchmark report quotes it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .arith import Numerics, quantize
from .netspec import ConvLayer, EIELayer, FCLayer, PoolLayer

__all__ = [
    "DESCRIPTION",
    "SyntheticEIE",
    "synthetic_activations",
    "synthetic_codebook",
    "synthetic_dense",
    "synthetic_eie",
    "synthetic_index",
]

_DEFAULT_NUM = Numerics()

DESCRIPTION = (
    "Synthetic layers (the papers' layers are not public): seeded random matrices with the "
    "papers' sizes and densities, uniform random sparsity of weights and of activations "
    "(exact non-zero counts at uniformly drawn positions), codebook indices uniform in 1..15."
)


def _check_density(name: str, d: float) -> float:
    if isinstance(d, bool) or not isinstance(d, (int, float)) or not 0.0 <= d <= 1.0:
        raise ValueError(f"{name} must be a fraction in [0, 1], got {d!r}")
    return float(d)


def _check_size(name: str, n: int, lo: int = 1) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < lo:
        raise ValueError(f"{name} must be an integer >= {lo}, got {n!r}")
    return int(n)


def synthetic_codebook(num: Numerics = _DEFAULT_NUM) -> np.ndarray:
    """The 16-entry codebook ``[0, -7/8, ..., -1/8, 1/8, ..., 8/8]`` in ``w_frac`` fixed point."""
    values = np.concatenate([[0.0], np.arange(-7, 0) / 8, np.arange(1, 9) / 8])
    return quantize(values, num.w_frac, num.w_bits).astype(np.int16)


def synthetic_index(
    outputs: int, inputs: int, density: float, rng: np.random.Generator
) -> np.ndarray:
    """``uint8[outputs, inputs]`` codebook indices: exactly ``round(density * size)`` non-zero
    entries at uniformly drawn positions, each uniform in ``1..15``."""
    outputs, inputs = _check_size("outputs", outputs), _check_size("inputs", inputs)
    density = _check_density("weight density", density)
    size = outputs * inputs
    k = int(round(density * size))
    flat = np.zeros(size, dtype=np.uint8)
    if k:
        pos = rng.choice(size, k, replace=False)
        flat[pos] = rng.integers(1, 16, k, dtype=np.uint8)
    return flat.reshape(outputs, inputs)


def synthetic_activations(
    inputs: int,
    density: float,
    rng: np.random.Generator,
    *,
    batch: int | None = None,
    num: Numerics = _DEFAULT_NUM,
) -> np.ndarray:
    """``int16[inputs]`` (or ``[batch, inputs]``) with exactly ``round(density * inputs)``
    non-zero entries per vector, values uniform in ``+-[1, 2**act_frac]``."""
    inputs = _check_size("inputs", inputs)
    density = _check_density("activation density", density)
    n = 1 if batch is None else _check_size("batch", batch)
    k = int(round(density * inputs))
    one = 1 << num.act_frac
    x = np.zeros((n, inputs), dtype=np.int16)
    for b in range(n):
        pos = rng.choice(inputs, k, replace=False)
        mag = rng.integers(1, one + 1, k)
        x[b, pos] = np.where(rng.random(k) < 0.5, -mag, mag)
    return x[0] if batch is None else x


@dataclass(frozen=True, eq=False)
class SyntheticEIE:
    """A synthetic EIE layer and its input, with the densities asked for and obtained.

    Attributes
    ----------
    name:
        Label (the paper's layer name in the benchmarks).
    layer:
        The compressed layer (:class:`~accelgen.golden.netspec.EIELayer`, no bias, no ReLU).
    x:
        The input activations, ``int16[inputs]`` or ``[batch, inputs]``.
    weight_density, act_density:
        The requested densities.
    seed:
        The seed that regenerates it.
    """

    name: str
    layer: EIELayer
    x: np.ndarray
    weight_density: float
    act_density: float
    seed: int

    @property
    def measured_weight_density(self) -> float:
        return self.layer.density

    @property
    def measured_act_density(self) -> float:
        return float(np.count_nonzero(self.x)) / max(1, self.x.size)


def synthetic_eie(
    inputs: int,
    outputs: int,
    weight_density: float,
    act_density: float,
    *,
    seed: int,
    name: str = "synthetic",
    batch: int | None = None,
    num: Numerics = _DEFAULT_NUM,
) -> SyntheticEIE:
    """A seeded synthetic EIE layer ``inputs x outputs`` and its input (module docstring).

    Parameters
    ----------
    inputs, outputs:
        Layer size (columns x rows), as in the paper's "in x out".
    weight_density, act_density:
        Fractions of non-zero weights and non-zero activations, in ``[0, 1]``.
    seed:
        Random seed; the same arguments and seed give the same layer.
    batch:
        ``None`` for one input vector, else the number of vectors.
    num:
        Fixed-point formats (codebook in ``w_frac``, activations in ``act_frac``).
    """
    rng = np.random.default_rng(seed)
    index = synthetic_index(outputs, inputs, weight_density, rng)
    x = synthetic_activations(inputs, act_density, rng, batch=batch, num=num)
    layer = EIELayer(codebook=synthetic_codebook(num), index=index)
    return SyntheticEIE(
        name, layer, x, _check_density("weight density", weight_density), act_density, seed
    )


def synthetic_dense(
    kind: str,
    *,
    ni: int,
    no: int,
    seed: int,
    height: int = 1,
    width: int = 1,
    kernel: int = 1,
    stride: int | None = None,
    act: str = "none",
    num: Numerics = _DEFAULT_NUM,
) -> tuple[FCLayer | ConvLayer | PoolLayer, np.ndarray]:
    """A seeded dense DianNao layer and its input.

    Parameters
    ----------
    kind:
        ``"class"`` (fully connected, ``ni -> no``), ``"conv"`` (``ni`` maps of
        ``height x width`` to ``no`` maps, ``kernel x kernel``, stride 1 unless given, no padding)
        or ``"pool"`` (max pooling over ``kernel x kernel``, stride ``kernel`` unless given;
        ``no`` must equal ``ni``).
    seed:
        Random seed.

    Returns
    -------
    (layer, x)
        ``x`` is ``int16[ni]`` for a classifier, else ``int16[ni, height, width]``.
    """
    ni, no = _check_size("ni", ni), _check_size("no", no)
    height, width = _check_size("height", height), _check_size("width", width)
    kernel = _check_size("kernel", kernel)
    rng = np.random.default_rng(seed)
    wmax = 1 << max(0, num.w_frac - 3)
    amax = 1 << num.act_frac
    if kind == "class":
        w = rng.integers(-wmax, wmax + 1, (no, ni), dtype=np.int16)
        return FCLayer(w=w, act=act), rng.integers(-amax, amax + 1, ni, dtype=np.int16)
    x = rng.integers(-amax, amax + 1, (ni, height, width), dtype=np.int16)
    if kind == "conv":
        w = rng.integers(-wmax, wmax + 1, (no, ni, kernel, kernel), dtype=np.int16)
        return ConvLayer(w=w, stride=1 if stride is None else stride, act=act), x
    if kind == "pool":
        if no != ni:
            raise ValueError(f"a pooling layer keeps its maps: no ({no}) must equal ni ({ni})")
        return PoolLayer(k=kernel, stride=kernel if stride is None else stride), x
    raise ValueError(f"layer kind must be 'class', 'conv' or 'pool', got {kind!r}")
