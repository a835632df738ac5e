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

__all__ = ["EIEEncoding", "encode", "decode", "pe_row_count", "MAX_Z", "POINTER_BITS"]

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


def _check_index(index) -> np.ndarray:
    a = np.asarray(index)
    if a.ndim != 2:
        raise ValueError(f"weight index matrix must be 2-D [out, in], got shape {a.shape}")
    if a.dtype.kind not in "iu":
        raise TypeError(f"weight index matrix must hold integers, got dtype {a.dtype}")
    if a.size and (a.min() < 0 or a.max() > 15):
        bad = a.min() if a.min() < 0 else a.max()
        raise ValueError(f"weight index {int(bad)} is outside the 4-bit range 0..15")
    return a.astype(np.int64)


def encode(index, n_pes: int) -> EIEEncoding:
    """Encode ``index[out, in]`` for ``n_pes`` PEs (padding entries inserted for long gaps)."""
    if not isinstance(n_pes, int) or n_pes < 1:
        raise ValueError(f"number of PEs must be a positive integer, got {n_pes!r}")
    idx = _check_index(index)
    rows, cols = idx.shape
    ptr = np.zeros((n_pes, cols + 1), dtype=np.int64)
    vs, zs = [], []
    for k in range(n_pes):
        local = idx[k::n_pes]  # [local_rows, cols]
        v_list: list[int] = []
        z_list: list[int] = []
        for j in range(cols):
            prev = -1
            for r in np.flatnonzero(local[:, j]):
                gap = int(r) - prev - 1
                while gap > MAX_Z:
                    v_list.append(0)
                    z_list.append(MAX_Z)
                    prev += MAX_Z + 1
                    gap -= MAX_Z + 1
                v_list.append(int(local[r, j]))
                z_list.append(gap)
                prev = int(r)
            ptr[k, j + 1] = len(v_list)
        if len(v_list) >= 1 << POINTER_BITS:
            raise ValueError(
                f"PE {k} needs {len(v_list)} entries, more than {POINTER_BITS}-bit pointers address"
            )
        vs.append(np.asarray(v_list, dtype=np.uint8))
        zs.append(np.asarray(z_list, dtype=np.uint8))
    return EIEEncoding(rows, cols, n_pes, ptr, tuple(vs), tuple(zs))


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
