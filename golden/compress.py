"""Deep Compression (Han, Mao, Dally, ICLR 2016) for EIE: pruning, weight sharing, size report.

Pipeline for one fully-connected layer ``w[out, in]`` (float):

1. :func:`prune` keeps the ``floor(density * w.size)`` weights of largest magnitude (ties: the
   lower row-major position wins), so the achieved density never exceeds the target.
2. :func:`share_weights` clusters the surviving weights into 15 shared values by 1-D k-means
   with *linear initialisation* (centroids evenly spaced over ``[min, max]`` of the surviving
   weights, the initialisation the paper found best). Index 0 is reserved for zero (pruned).
3. :func:`quantize_codebook` turns the 15 centroids into the 16-entry ``int16`` codebook with
   ``w_frac`` fractional bits, ``codebook[0] = 0``.
4. :func:`compression_report` counts the bytes EIE stores, in the paper's terms: dense float32
   weights versus 4-bit ``v`` + 4-bit ``z`` per stored entry (padding included), 16-bit column
   pointers per PE (``cols + 1`` each) and the codebook (16 x 16 bits); and the same with ``v`` and
   ``z`` Huffman-coded (:mod:`accelgen.golden.huffman`). Biases are not counted (weights only, as
   the paper's ratios).

The retraining steps between these stages (fine-tuning the surviving weights, then the shared
centroids) need training data and live in :mod:`accelgen.golden.train`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from .arith import CODEBOOK_SIZE, Numerics, quantize, smax, smin
from .eie_format import POINTER_BITS, EIEEncoding, encode
from .huffman import huffman_bits
from .netspec import EIELayer

__all__ = [
    "N_SHARED",
    "CompressedLayer",
    "CompressionReport",
    "LayerSize",
    "check_representable",
    "compress_layer",
    "compression_report",
    "kmeans_1d",
    "layer_size",
    "prune",
    "quantize_codebook",
    "share_weights",
]

N_SHARED = CODEBOOK_SIZE - 1


def _float_matrix(w, name: str = "w") -> np.ndarray:
    a = np.asarray(w)
    if a.dtype.kind not in "fiu":
        raise TypeError(f"{name} must be a numeric array, got dtype {a.dtype}")
    if a.ndim != 2:
        raise ValueError(f"{name} must be 2-D [out, in], got shape {a.shape}")
    a = a.astype(np.float64)
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} holds NaN or infinite values")
    return a


def _check_density(density: float) -> float:
    if isinstance(density, bool) or not isinstance(density, (int, float, np.floating)):
        raise TypeError(f"density must be a number in (0, 1], got {density!r}")
    if not 0.0 < float(density) <= 1.0:
        raise ValueError(f"density must be in (0, 1], got {density!r}")
    return float(density)


def prune(w, density: float) -> np.ndarray:
    """Boolean mask of the ``floor(density * w.size)`` largest-magnitude weights of ``w``."""
    a = _float_matrix(w)
    keep = math.floor(_check_density(density) * a.size + 1e-9)
    mask = np.zeros(a.size, dtype=bool)
    order = np.argsort(-np.abs(a).ravel(), kind="stable")
    mask[order[:keep]] = True
    return mask.reshape(a.shape)


def kmeans_1d(values, k: int, *, iters: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """1-D k-means with linear initialisation over ``[min, max]`` of ``values``.

    Returns ``(centroids[k], labels)`` with ``labels`` in ``0 .. k-1``. A cluster that loses all
    its members keeps its previous centroid. Centroids stay sorted (1-D Lloyd iterations from
    sorted seeds preserve the order).
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k!r}")
    if v.size == 0:
        return np.zeros(k), np.zeros(0, dtype=np.int64)
    centroids = np.linspace(v.min(), v.max(), k)
    labels = np.zeros(v.size, dtype=np.int64)
    for _ in range(iters):
        # nearest centroid via the midpoints between sorted centroids
        labels = np.searchsorted((centroids[1:] + centroids[:-1]) / 2, v)
        sums = np.bincount(labels, weights=v, minlength=k)
        counts = np.bincount(labels, minlength=k)
        new = np.where(counts > 0, sums / np.maximum(counts, 1), centroids)
        if np.allclose(new, centroids, rtol=0, atol=1e-12):
            break
        centroids = new
    return centroids, labels


def share_weights(w, mask, *, k: int = N_SHARED) -> tuple[np.ndarray, np.ndarray]:
    """Weight sharing: ``(centroids[k], index[out, in])`` with ``index`` 0 where pruned.

    Surviving weight ``w[i, j]`` gets index ``label + 1`` of its k-means cluster.
    """
    a = _float_matrix(w)
    m = np.asarray(mask, dtype=bool)
    if m.shape != a.shape:
        raise ValueError(f"mask has shape {m.shape} but w has shape {a.shape}")
    if not 1 <= k <= N_SHARED:
        raise ValueError(f"number of shared weights must be in 1..{N_SHARED}, got {k!r}")
    centroids, labels = kmeans_1d(a[m], k)
    index = np.zeros(a.shape, dtype=np.uint8)
    index[m] = labels + 1
    return centroids, index


def check_representable(values, frac: int, bits: int, name: str) -> None:
    """``ValueError`` unless every float in ``values`` quantizes without saturating.

    The message names the first offending value, the representable range and how many
    fractional bits would hold it.
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size == 0:
        return
    q = np.sign(v * (1 << frac)) * np.floor(np.abs(v * (1 << frac)) + 0.5)
    bad = (q < smin(bits)) | (q > smax(bits))
    if not bad.any():
        return
    x = float(v[np.argmax(bad)])
    lo, hi = smin(bits) / (1 << frac), smax(bits) / (1 << frac)
    fits = next(
        (f for f in range(frac - 1, -1, -1) if smin(bits) <= round(x * (1 << f)) <= smax(bits)),
        None,
    )
    hint = f"; at most {fits} fractional bits hold it" if fits is not None else ""
    raise ValueError(
        f"{name} {x:g} does not fit {bits}-bit fixed point with {frac} fractional bits "
        f"(range {lo:g} .. {hi:g}){hint}"
    )


def quantize_codebook(centroids, *, w_frac: int, w_bits: int = 16) -> np.ndarray:
    """The 16-entry ``int16`` codebook: ``[0, quantize(c_1), ..., quantize(c_15)]``."""
    c = np.asarray(centroids, dtype=np.float64).ravel()
    if c.size > N_SHARED:
        raise ValueError(f"at most {N_SHARED} shared weights fit the codebook, got {c.size}")
    cb = np.zeros(CODEBOOK_SIZE, dtype=np.int64)
    cb[1 : 1 + c.size] = quantize(c, w_frac, w_bits)
    return cb.astype(np.int16)


@dataclass(frozen=True, eq=False)
class CompressedLayer:
    """One pruned and weight-shared layer: the :class:`EIELayer` plus the float side."""

    layer: EIELayer
    centroids: np.ndarray
    mask: np.ndarray

    def float_weights(self) -> np.ndarray:
        """The shared float weights (``centroids[index - 1]``, 0 where pruned)."""
        table = np.concatenate([[0.0], self.centroids])
        return table[self.layer.index.astype(np.int64)]


def compress_layer(
    w,
    b=None,
    *,
    density: float,
    num: Numerics,
    relu: bool = False,
    mask=None,
    saturate: bool = False,
    name: str = "layer",
) -> CompressedLayer:
    """Prune (unless ``mask`` is given), share and quantize one float layer for EIE.

    ``b`` (float, ``[out]``) is quantized to activation scale; ``w`` to the codebook. A shared
    weight or bias beyond its fixed-point range is a ``ValueError`` naming the value, the
    range and ``name`` (no silent saturation) unless ``saturate`` is true.
    """
    a = _float_matrix(w)
    m = prune(a, density) if mask is None else np.asarray(mask, dtype=bool)
    centroids, index = share_weights(a, m)
    if not saturate:
        used = np.unique(index[index > 0]).astype(np.int64) - 1
        check_representable(centroids[used], num.w_frac, num.w_bits, f"{name} shared weight")
    cb = quantize_codebook(centroids, w_frac=num.w_frac, w_bits=num.w_bits)
    bias = None
    if b is not None:
        bf = np.asarray(b, dtype=np.float64)
        if bf.shape != (a.shape[0],):
            raise ValueError(f"bias has shape {bf.shape}, expected ({a.shape[0]},)")
        if not saturate:
            check_representable(bf, num.act_frac, num.act_bits, f"{name} bias")
        bias = quantize(bf, num.act_frac, num.act_bits)
    return CompressedLayer(EIELayer(cb, index, bias, relu), centroids, m)


@dataclass(frozen=True)
class LayerSize:
    """Storage of one layer in EIE's format (bytes), in the paper's terms."""

    name: str
    rows: int
    cols: int
    n_pes: int
    nonzeros: int
    entries: int
    padding: int
    dense_bytes: int
    index_bytes: float
    pointer_bytes: int
    codebook_bytes: int
    huffman_bits: int

    @property
    def density(self) -> float:
        return self.nonzeros / max(1, self.rows * self.cols)

    @property
    def compressed_bytes(self) -> float:
        return self.index_bytes + self.pointer_bytes + self.codebook_bytes

    @property
    def huffman_bytes(self) -> float:
        return self.huffman_bits / 8 + self.pointer_bytes + self.codebook_bytes

    @property
    def ratio(self) -> float:
        return self.dense_bytes / self.compressed_bytes

    @property
    def ratio_huffman(self) -> float:
        return self.dense_bytes / self.huffman_bytes

    def to_json(self) -> dict:
        d = asdict(self)
        for p in ("density", "compressed_bytes", "huffman_bytes", "ratio", "ratio_huffman"):
            d[p] = getattr(self, p)
        return d


def layer_size(enc: EIEEncoding, name: str = "") -> LayerSize:
    """Byte counts of one encoded layer (see the module docstring for what is counted)."""
    v = np.concatenate(enc.v) if enc.v else np.zeros(0, np.uint8)
    z = np.concatenate(enc.z) if enc.z else np.zeros(0, np.uint8)
    entries = int(v.size)
    padding = int((v == 0).sum())
    return LayerSize(
        name=name,
        rows=enc.rows,
        cols=enc.cols,
        n_pes=enc.n_pes,
        nonzeros=entries - padding,
        entries=entries,
        padding=padding,
        dense_bytes=enc.rows * enc.cols * 4,
        index_bytes=entries * (4 + 4) / 8,
        pointer_bytes=enc.n_pes * (enc.cols + 1) * POINTER_BITS // 8,
        codebook_bytes=CODEBOOK_SIZE * 16 // 8,
        huffman_bits=huffman_bits(v) + huffman_bits(z),
    )


@dataclass(frozen=True)
class CompressionReport:
    """Per-layer and total storage of a compressed network."""

    layers: tuple[LayerSize, ...]

    def _total(self, attr: str) -> float:
        return sum(getattr(s, attr) for s in self.layers)

    @property
    def dense_bytes(self) -> int:
        return int(self._total("dense_bytes"))

    @property
    def compressed_bytes(self) -> float:
        return self._total("compressed_bytes")

    @property
    def huffman_bytes(self) -> float:
        return self._total("huffman_bytes")

    @property
    def density(self) -> float:
        return self._total("nonzeros") / max(1, sum(s.rows * s.cols for s in self.layers))

    @property
    def ratio(self) -> float:
        return self.dense_bytes / self.compressed_bytes

    @property
    def ratio_huffman(self) -> float:
        return self.dense_bytes / self.huffman_bytes

    def to_json(self) -> dict:
        return {
            "layers": [s.to_json() for s in self.layers],
            "total": {
                "dense_bytes": self.dense_bytes,
                "compressed_bytes": self.compressed_bytes,
                "huffman_bytes": self.huffman_bytes,
                "density": self.density,
                "ratio": self.ratio,
                "ratio_huffman": self.ratio_huffman,
            },
        }

    def table(self) -> str:
        """A fixed-width text table (one row per layer and a total)."""
        head = (
            f"{'layer':<8}{'shape':>12}{'density':>9}{'entries':>9}{'padding':>9}"
            f"{'dense B':>10}{'EIE B':>10}{'Huff B':>10}{'ratio':>8}{'ratio+H':>9}"
        )
        lines = [head, "-" * len(head)]
        for s in self.layers:
            lines.append(
                f"{s.name:<8}{f'{s.rows}x{s.cols}':>12}{s.density:>9.2%}{s.entries:>9}"
                f"{s.padding:>9}{s.dense_bytes:>10}{s.compressed_bytes:>10.0f}"
                f"{s.huffman_bytes:>10.0f}{s.ratio:>7.1f}x{s.ratio_huffman:>8.1f}x"
            )
        lines.append("-" * len(head))
        lines.append(
            f"{'total':<8}{'':>12}{self.density:>9.2%}{int(self._total('entries')):>9}"
            f"{int(self._total('padding')):>9}{self.dense_bytes:>10}{self.compressed_bytes:>10.0f}"
            f"{self.huffman_bytes:>10.0f}{self.ratio:>7.1f}x{self.ratio_huffman:>8.1f}x"
        )
        return "\n".join(lines)


def compression_report(layers: Sequence[EIELayer], n_pes: int = 1) -> CompressionReport:
    """Storage report of EIE layers encoded for ``n_pes`` PEs (layers named ``l0``, ``l1``...)."""
    return CompressionReport(
        tuple(layer_size(encode(layer.index, n_pes), f"l{i}") for i, layer in enumerate(layers))
    )
