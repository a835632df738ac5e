"""Deep Compression's relative indexing of a convolution's sparse weights, and its storage.

Deep Compression (Han et al., ICLR 2016, sec. 3 and Table 3) stores a pruned layer as the
shared-weight indices of its surviving weights plus, for each, the distance to the previous one
in a few bits (8 for convolutions); a distance that does not fit gets *filler* entries (a zero
weight at the largest distance), as EIE's padding entries (:mod:`accelgen.golden.eie_format`).
The FC layers use EIE's own format (4-bit ``v``/``z`` per PE, column pointers); this module
covers the convolutions, which run dense on DianNao but are *stored* compressed.

:func:`relative_index` encodes the row-major flattened index array (``[O, C, K, K]``) as one
stream of ``(v, z)``: ``z`` = number of zeros since the previous stored entry, ``v`` = the shared
weight's index (0 for a filler). :func:`relative_decode` inverts it. :func:`conv_layer_size`
counts the bytes in the paper's terms (a :class:`~accelgen.golden.compress.LayerSize`): dense
float32 weights versus ``index_bits + z_bits`` per stored entry, the codebook (16-bit entries,
the reserved zero included) and no pointers; and with ``v`` and ``z`` Huffman-coded (real bit
streams, :mod:`accelgen.golden.huffman`).
"""

from __future__ import annotations

import numpy as np

from .compress import LayerSize
from .huffman import huffman_bits

__all__ = ["conv_layer_size", "relative_decode", "relative_index"]


def relative_index(index, z_bits: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """``(v, z)`` streams (``int64``) of the non-zero entries of ``index`` (flattened row-major)."""
    if isinstance(z_bits, bool) or not isinstance(z_bits, int) or not 1 <= z_bits <= 16:
        raise ValueError(f"z_bits must be an integer in 1..16, got {z_bits!r}")
    flat = np.asarray(index).ravel()
    if flat.dtype.kind not in "iu":
        raise TypeError(f"index must hold integers, got dtype {flat.dtype}")
    pos = np.flatnonzero(flat)
    span = 1 << z_bits
    gap = np.diff(np.concatenate([[-1], pos])) - 1
    fillers = gap // span
    end = np.cumsum(fillers + 1)
    n = int(end[-1]) if pos.size else 0
    v = np.zeros(n, dtype=np.int64)
    z = np.full(n, span - 1, dtype=np.int64)
    v[end - 1] = flat[pos]
    z[end - 1] = gap - span * fillers
    return v, z


def relative_decode(v, z, size: int) -> np.ndarray:
    """The flattened index array of ``size`` entries that :func:`relative_index` encoded."""
    out = np.zeros(size, dtype=np.int64)
    pos = np.cumsum(np.asarray(z, dtype=np.int64) + 1) - 1
    va = np.asarray(v, dtype=np.int64)
    if pos.size and pos[-1] >= size:
        raise ValueError(f"the stream decodes to position {int(pos[-1])}, past {size} entries")
    out[pos[va != 0]] = va[va != 0]
    return out


def conv_layer_size(
    index, name: str = "", *, index_bits: int = 8, z_bits: int = 8, codebook_entries: int = 256
) -> LayerSize:
    """Storage of a pruned, weight-shared convolution ``index[O, C, K, K]`` (see the module)."""
    a = np.asarray(index)
    if a.size and int(a.max()) >= 1 << index_bits:
        raise ValueError(f"index {int(a.max())} does not fit {index_bits} bits")
    v, z = relative_index(a, z_bits)
    n_sym = max(1 << index_bits, 1 << z_bits)
    return LayerSize(
        name=name,
        rows=int(a.shape[0]),
        cols=int(a.size // max(1, a.shape[0])),
        n_pes=1,
        nonzeros=int(np.count_nonzero(a)),
        entries=int(v.size),
        padding=int((v == 0).sum()),
        dense_bytes=int(a.size) * 4,
        index_bytes=v.size * (index_bits + z_bits) / 8,
        pointer_bytes=0,
        codebook_bytes=codebook_entries * 16 // 8,
        huffman_bits=huffman_bits(v, n_sym) + huffman_bits(z, n_sym),
    )
