"""EIE's compressed sparse column format (Han et al., ISCA 2016, section III / Fig. 2-3).

A layer's weights are a matrix of 4-bit codebook indices ``index[out, in]`` (0 = pruned). Rows
are interleaved over ``N`` PEs: PE ``k`` holds the rows ``i`` with ``i % N == k`` as its local
rows ``i // N``. Each PE stores its part column by column (CSC):

* ``v``: the 4-bit index of each stored entry;
* ``z``: the 4-bit *relative row index*, the number of zero rows (of that PE) before the entry
  since the previous stored entry of the column (``row = previous_row + z + 1``, with
  ``previous_row = -1`` at the column start);
* a gap of 16 or more zeros is bridged by padding entries ``(v=0, z=15)``, one per 16 zeros;
* ``ptr``: column pointers, the entries of column ``j`` are ``[ptr[j], ptr[j+1])``; 16-bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "EIEEncoding",
    "MAX_Z",
    "POINTER_BITS",
    "check_index",
    "check_pes",
    "decode",
    "encode",
    "pe_row_count",
]

MAX_Z = 15
POINTER_BITS = 16


def pe_row_count(rows: int, n_pes: int, pe: int) -> int:
    """How many of ``rows`` output rows PE ``pe`` holds (rows ``pe, pe + N, ...``)."""
    return max(0, (rows - pe + n_pes - 1) // n_pes)


@dataclass(frozen=True)
class EIEEncoding:
    """One layer in EIE format. ``v[k]``/``z[k]`` are uint8 arrays, ``ptr`` is ``[N, cols + 1]``."""

    rows: int
    cols: int
    n_pes: int
    ptr: np.ndarray
    v: tuple[np.ndarray, ...]
    z: tuple[np.ndarray, ...]

    @property
    def entries_per_pe(self) -> np.ndarray:
        """Stored entries (including padding) per PE."""
        return self.ptr[:, -1].copy()

    @property
    def padding_entries(self) -> int:
        return int(sum(int((v == 0).sum()) for v in self.v))

    def column_entries(self) -> np.ndarray:
        """``[N, cols]`` number of stored entries of each column in each PE."""
        return np.diff(self.ptr, axis=1)


def check_pes(n_pes) -> int:
    """Validate a PE count (a positive integer) and return it as ``int``."""
    if isinstance(n_pes, bool) or not isinstance(n_pes, (int, np.integer)) or n_pes < 1:
        raise ValueError(f"number of PEs must be a positive integer, got {n_pes!r}")
    return int(n_pes)


def check_index(index) -> np.ndarray:
    """Validate a weight index matrix ``[out, in]`` of 4-bit codebook indices."""
    a = np.asarray(index)
    if a.ndim != 2:
        raise ValueError(f"weight index matrix must be 2-D [out, in], got shape {a.shape}")
    if a.dtype.kind not in "iu":
        raise TypeError(f"weight index matrix must hold integers, got dtype {a.dtype}")
    if a.size and (a.min() < 0 or a.max() > 15):
        bad = a.min() if a.min() < 0 else a.max()
        raise ValueError(f"weight index {int(bad)} is outside the 4-bit range 0..15")
    return a.astype(np.int64)


def encode(index, n_pes: int, *, pointer_bits: int | None = POINTER_BITS) -> EIEEncoding:
    """Encode ``index[out, in]`` for ``n_pes`` PEs (padding entries inserted for long gaps).

    Vectorised: every non-zero is visited in (PE, column, local row) order; an entry preceded by
    ``g`` zero rows of its PE's column gets ``g // 16`` padding entries ``(0, 15)`` before it and
    ``z = g % 16``. ``pointer_bits=None`` lifts the 16-bit pointer limit (for cycle models of
    layers larger than EIE's format addresses).
    """
    n = check_pes(n_pes)
    idx = check_index(index)
    rows, cols = idx.shape
    c, r = np.nonzero(idx.T)  # column-major: sorted by column, then row
    order = np.argsort(r % n, kind="stable")  # by PE, then column, then local row
    c, r = c[order], r[order]
    pe, local = r % n, r // n
    group = pe * cols + c
    first = np.ones(r.size, dtype=bool)
    first[1:] = group[1:] != group[:-1]
    prev = np.where(first, -1, np.concatenate([[-1], local[:-1]]))
    gap = local - prev - 1
    pads = gap // (MAX_Z + 1)
    counts = pads + 1  # padding entries, then the entry itself
    end = np.cumsum(counts)
    v_all = np.zeros(int(end[-1]) if r.size else 0, dtype=np.uint8)
    z_all = np.full(v_all.size, MAX_Z, dtype=np.uint8)
    v_all[end - 1] = idx[r, c]
    z_all[end - 1] = gap - (MAX_Z + 1) * pads
    per_col = np.zeros((n, cols), dtype=np.int64)
    np.add.at(per_col, (pe, c), counts)
    ptr = np.zeros((n, cols + 1), dtype=np.int64)
    ptr[:, 1:] = np.cumsum(per_col, axis=1)
    bounds = np.concatenate([[0], np.cumsum(ptr[:, -1])])
    for k in range(n):
        if pointer_bits is not None and ptr[k, -1] >= 1 << pointer_bits:
            raise ValueError(
                f"PE {k} needs {ptr[k, -1]} entries, more than {pointer_bits}-bit pointers address"
            )
    vs = tuple(v_all[bounds[k] : bounds[k + 1]].copy() for k in range(n))
    zs = tuple(z_all[bounds[k] : bounds[k + 1]].copy() for k in range(n))
    return EIEEncoding(rows, cols, n, ptr, vs, zs)


def decode(enc: EIEEncoding) -> np.ndarray:
    """Rebuild the dense index matrix from an :class:`EIEEncoding` (checks its consistency)."""
    idx = np.zeros((enc.rows, enc.cols), dtype=np.uint8)
    for k in range(enc.n_pes):
        nrows = pe_row_count(enc.rows, enc.n_pes, k)
        v, z, p = enc.v[k], enc.z[k], enc.ptr[k]
        for j in range(enc.cols):
            row = -1
            for e in range(int(p[j]), int(p[j + 1])):
                row += int(z[e]) + 1
                if v[e]:
                    if row >= nrows:
                        raise ValueError(
                            f"PE {k} column {j}: entry {e} decodes to row {row}, "
                            f"but the PE holds only {nrows} rows"
                        )
                    idx[row * enc.n_pes + k, j] = v[e]
    return idx
