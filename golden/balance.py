"""Load-balance-aware row-to-PE assignment for EIE, and the ideal load-efficiency calculator.

EIE (Han et al., ISCA 2016) interleaves output rows over the ``N`` PEs: physical row ``p`` lives
in PE ``p % N`` at local row ``p // N``. A PE idles when its activation queue is empty, so a PE
holding more non-zero weights than the others -- in total, or in the columns being broadcast --
sets the layer's time. This module implements "beyond the paper" option (b): the encoder places
the logical rows at physical positions chosen to balance the work.

Row permutation
---------------
A :class:`RowAssignment` holds ``perm``: physical row ``p`` computes logical row ``perm[p]``.
The encoder encodes ``index[perm]`` (and ``bias[perm]``); the hardware then produces
``y_phys[p] = y[perm[p]]`` and the host undoes it with ``y = y_phys[..., inverse]``
(:meth:`RowAssignment.unpermute`). Each output row still accumulates its products in ascending
column order, so a single permuted layer is **bit-exact** with the unpermuted golden result.

Multi-layer chaining
--------------------
In a chain the permuted outputs stay on chip and become the next layer's input activations in
physical order, so no host work is needed between layers: the next layer is encoded with its
**columns** permuted the same way, ``index_next[:, perm]`` (:meth:`RowAssignment.permute_columns`),
and its rows with its own assignment; only the last layer's outputs are un-permuted by the host
(or the last layer keeps the identity assignment). The next layer then sees its inputs broadcast
in physical order instead of logical order. Its result is unchanged whenever no accumulator
saturates part-way through a sum, which :func:`order_independent` checks (a sufficient condition:
``|bias| + sum |products| <= max accumulator`` for every row); with saturation the order of the
saturating adds matters (``docs/numerics.md``) and the permuted chain equals the golden model of the
permuted network, not of the original one.

Ideal load efficiency
---------------------
``docs/papers.md`` asks for two definitions, both reported: with ``w_k`` the work of PE ``k``
(stored entries, padding included, of the columns whose activation is non-zero) and ``T`` the
actual cycles, ``max_k w_k / T`` ("max" definition) and ``(sum_k w_k / N) / T`` ("mean"
definition). :func:`ideal_cycles` gives both numerators.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .arith import Numerics, codebook_decode, multiply, smax
from .eie_format import MAX_Z, check_index, check_pes, pe_row_count
from .netspec import EIELayer

__all__ = [
    "RowAssignment",
    "assignment_cost",
    "balanced_assignment",
    "column_work",
    "ideal_cycles",
    "load_efficiency",
    "order_independent",
    "pe_work",
]


def column_work(index, n_pes: int) -> np.ndarray:
    """``int64[N, cols]``: stored entries (padding included) of each column in each PE.

    Equal to ``encode(index, n_pes).column_entries()`` (:mod:`accelgen.golden.eie_format`) but
    vectorised, so it runs on the full-size benchmark layers in about a second. A gap of 16 or
    more zero rows before an entry costs one padding entry per 16 rows (``gap // 16``).
    """
    n = check_pes(n_pes)
    idx = check_index(index)
    rows, cols = idx.shape
    r, c = np.nonzero(idx)
    out = np.zeros((n, cols), dtype=np.int64)
    if r.size == 0:
        return out
    pe, local = r % n, r // n
    order = np.lexsort((local, c, pe))
    pe, c, local = pe[order], c[order], local[order]
    group = pe * cols + c
    first = np.ones(r.size, dtype=bool)
    first[1:] = group[1:] != group[:-1]
    prev = np.where(first, -1, np.concatenate([[-1], local[:-1]]))
    padding = (local - prev - 1) // (MAX_Z + 1)
    np.add.at(out, (pe, c), 1 + padding)
    return out


def pe_work(colwork: np.ndarray, x) -> np.ndarray:
    """Work of each PE for input ``x``: entries of the columns whose activation is non-zero.

    Returns ``int64[N]`` for ``x[cols]`` or ``int64[batch, N]`` for ``x[batch, cols]``.
    """
    xa = np.asarray(x)
    if xa.shape[-1] != colwork.shape[1]:
        raise ValueError(f"x has {xa.shape[-1]} activations, the layer has {colwork.shape[1]}")
    return (xa != 0).astype(np.int64) @ colwork.T


def ideal_cycles(colwork: np.ndarray, x) -> dict[str, np.ndarray | float]:
    """The two ideal times of ``docs/papers.md`` for input ``x`` (per vector for a batch).

    Returns
    -------
    dict
        ``"max"``: the busiest PE's work, ``max_k w_k``; ``"mean"``: ``sum_k w_k / N``.
    """
    w = pe_work(colwork, x)
    return {"max": w.max(axis=-1), "mean": w.sum(axis=-1) / colwork.shape[0]}


def load_efficiency(colwork: np.ndarray, x, cycles) -> dict[str, np.ndarray | float]:
    """Load efficiency under both definitions: ideal cycles / actual ``cycles``."""
    ideal = ideal_cycles(colwork, x)
    t = np.asarray(cycles, dtype=np.float64)
    if np.any(t <= 0):
        raise ValueError(f"actual cycles must be positive, got {cycles!r}")
    return {k: v / t for k, v in ideal.items()}


def assignment_cost(colwork: np.ndarray) -> tuple[int, int]:
    """``(max PE load, per-column critical path)`` of a placement, both in entries.

    The first is the time with infinitely deep activation queues (every column broadcast);
    the second, ``sum_j max_k colwork[k, j]``, the time with PEs in lock-step per column.
    Real queue depths land between the two; :func:`balanced_assignment` lowers both.
    """
    return int(colwork.sum(axis=1).max(initial=0)), int(colwork.max(axis=0, initial=0).sum())


@dataclass(frozen=True, eq=False)
class RowAssignment:
    """A placement of logical output rows on physical rows (module docstring).

    Attributes
    ----------
    perm:
        ``int64[rows]``; physical row ``p`` (PE ``p % N``, local row ``p // N``) computes logical
        row ``perm[p]``.
    n_pes:
        The PE count it was made for.
    """

    perm: np.ndarray
    n_pes: int

    def __post_init__(self) -> None:
        p = np.asarray(self.perm)
        if p.ndim != 1 or p.dtype.kind not in "iu":
            raise ValueError(f"perm must be a 1-D integer array, got {p.dtype} {p.shape}")
        if not np.array_equal(np.sort(p), np.arange(p.size)):
            raise ValueError(f"perm is not a permutation of 0..{p.size - 1}")
        object.__setattr__(self, "perm", p.astype(np.int64))
        object.__setattr__(self, "n_pes", check_pes(self.n_pes))

    @classmethod
    def identity(cls, rows: int, n_pes: int) -> RowAssignment:
        """EIE's own placement: logical row ``i`` at physical row ``i``."""
        return cls(np.arange(rows, dtype=np.int64), n_pes)

    @property
    def inverse(self) -> np.ndarray:
        """``inverse[i]`` is the physical row of logical row ``i``."""
        inv = np.empty_like(self.perm)
        inv[self.perm] = np.arange(self.perm.size)
        return inv

    def permute_rows(self, layer: EIELayer) -> EIELayer:
        """The layer the encoder stores: rows (and bias) in physical order."""
        if layer.shape[0] != self.perm.size:
            raise ValueError(
                f"the assignment has {self.perm.size} rows, the layer has {layer.shape[0]}"
            )
        bias = None if layer.bias is None else layer.bias[self.perm]
        return EIELayer(
            codebook=layer.codebook, index=layer.index[self.perm], bias=bias, relu=layer.relu
        )

    def permute_columns(self, next_layer: EIELayer) -> EIELayer:
        """The next layer of a chain with its columns in this layer's physical output order."""
        if next_layer.shape[1] != self.perm.size:
            raise ValueError(
                f"the next layer has {next_layer.shape[1]} inputs, this assignment "
                f"{self.perm.size} outputs"
            )
        return EIELayer(
            codebook=next_layer.codebook,
            index=next_layer.index[:, self.perm],
            bias=next_layer.bias,
            relu=next_layer.relu,
        )

    def unpermute(self, y_phys) -> np.ndarray:
        """Host side: logical outputs from the physical ones (last axis)."""
        y = np.asarray(y_phys)
        if y.shape[-1] != self.perm.size:
            raise ValueError(f"got {y.shape[-1]} outputs, the assignment has {self.perm.size}")
        return y[..., self.inverse]


def _greedy(index: np.ndarray, n: int, gamma: float | None) -> np.ndarray:
    """One greedy placement; ``gamma=None`` is plain longest-processing-time on row totals."""
    rows, cols = index.shape
    nz = index != 0
    row_nnz = nz.sum(axis=1)
    caps = np.array([pe_row_count(rows, n, k) for k in range(n)], dtype=np.int64)
    load = np.zeros(n, dtype=np.int64)
    colcount = np.zeros((n, cols), dtype=np.int32)
    colmax = np.zeros(cols, dtype=np.int32)
    owner = np.empty(rows, dtype=np.int64)
    for r in np.argsort(-row_nnz, kind="stable"):
        open_pes = caps > 0
        if gamma is None:
            cost = load.astype(np.float64)
        else:
            js = np.flatnonzero(nz[r])
            grows_path = (colcount[:, js] >= colmax[js]).sum(axis=1)
            cost = grows_path + gamma * (load - load[open_pes].min())
        cost = np.where(open_pes, cost, np.inf)
        k = int(np.argmin(cost))
        owner[r] = k
        caps[k] -= 1
        load[k] += row_nnz[r]
        js = np.flatnonzero(nz[r])
        colcount[k, js] += 1
        colmax[js] = np.maximum(colmax[js], colcount[k, js])
    perm = np.empty(rows, dtype=np.int64)
    for k in range(n):
        mine = np.flatnonzero(owner == k)  # ascending logical order within the PE
        perm[k::n] = mine
    return perm


def balanced_assignment(
    index, n_pes: int, *, gammas: tuple[float | None, ...] = (None, 0.5, 1.0, 2.0)
) -> RowAssignment:
    """A row placement that balances per-PE and per-column work (option (b)).

    Greedy over rows in decreasing non-zero count: each row goes to the PE (with a free row
    slot; PE ``k`` keeps exactly ``pe_row_count(rows, N, k)`` rows) that least lengthens the
    per-column critical path, penalised by ``gamma`` times its load above the least-loaded PE
    (``gamma=None``: plain longest-processing-time on the totals). Every candidate is scored by
    :func:`assignment_cost` on the real encoding (padding included); the best one that is no
    worse than the identity placement in *both* measures is returned, else the identity, so the
    result is never worse than EIE's own interleaving by these measures.

    Parameters
    ----------
    index:
        ``[rows, cols]`` codebook indices (0 = pruned).
    n_pes:
        Number of PEs.
    gammas:
        The load penalties tried.
    """
    n = check_pes(n_pes)
    idx = check_index(index)
    best = RowAssignment.identity(idx.shape[0], n)
    ident = assignment_cost(column_work(idx, n))
    best_key = (sum(ident), ident)
    for gamma in gammas:
        perm = _greedy(idx, n, gamma)
        cost = assignment_cost(column_work(idx[perm], n))
        if cost[0] <= ident[0] and cost[1] <= ident[1] and (sum(cost), cost) < best_key:
            best, best_key = RowAssignment(perm, n), (sum(cost), cost)
    return best


def order_independent(layer: EIELayer, x, *, num: Numerics) -> bool:
    """True when no partial sum of any row can saturate, whatever the column order.

    Checks ``|bias_i| + sum_j |multiply(x_j, W_ij)| <= max accumulator`` for every row ``i``
    and every input vector: then every partial sum in any order is within range, so the
    saturating adds are exact and the result does not depend on the order. This is the
    condition under which a chained layer with permuted columns equals the unpermuted golden
    result (module docstring).
    """
    xa = np.atleast_2d(np.asarray(x))
    if xa.shape[-1] != layer.shape[1]:
        raise ValueError(f"x has {xa.shape[-1]} activations, the layer has {layer.shape[1]}")
    w = codebook_decode(layer.index, layer.codebook)
    bias = np.zeros(layer.shape[0], np.int64) if layer.bias is None else np.abs(layer.bias)
    for vec in xa:
        cols = np.flatnonzero(vec)
        p = multiply(vec[None, cols], w[:, cols], w_frac=num.w_frac, act_bits=num.act_bits)
        if np.any(bias + np.abs(p).sum(axis=1) > smax(num.acc_bits)):
            return False
    return True
