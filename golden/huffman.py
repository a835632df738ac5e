"""Huffman code sizes of the compressed streams (Deep Compression, Han et al., ICLR 2016, sec. 4).

Deep Compression's last stage Huffman-codes the 4-bit weight indices ``v`` and the 4-bit
relative row indices ``z``. Only the *sizes* are needed for the compression-ratio report, so this
module computes optimal code lengths, not bit streams.

Conventions: a stream with a single distinct symbol costs 1 bit per symbol (a code needs at least
one bit per symbol to be decodable symbol by symbol); an empty stream costs 0 bits; the code table
itself is not counted (16 lengths of 4 bits, negligible, as in the paper).
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence

import numpy as np

__all__ = ["huffman_bits", "huffman_lengths", "symbol_counts"]


def symbol_counts(stream, n_symbols: int = 16) -> np.ndarray:
    """How often each of the symbols ``0 .. n_symbols-1`` occurs in ``stream``."""
    s = np.asarray(stream)
    if s.dtype.kind not in "iu":
        raise TypeError(f"Huffman stream must hold integers, got dtype {s.dtype}")
    s = s.ravel().astype(np.int64)
    if s.size and (s.min() < 0 or s.max() >= n_symbols):
        bad = s.min() if s.min() < 0 else s.max()
        raise ValueError(f"Huffman symbol {int(bad)} is outside 0..{n_symbols - 1}")
    return np.bincount(s, minlength=n_symbols)


def huffman_lengths(counts: Sequence[int] | np.ndarray) -> np.ndarray:
    """Optimal prefix-code length of every symbol (0 for symbols that never occur).

    Parameters
    ----------
    counts : sequence of int
        Occurrences of each symbol (non-negative).

    Returns
    -------
    numpy.ndarray
        ``int64`` code length per symbol; ``sum(counts * lengths)`` is the coded size in bits.
    """
    c = np.asarray(counts)
    if c.ndim != 1 or c.dtype.kind not in "iu" or (c.size and c.min() < 0):
        raise ValueError(f"counts must be a 1-D array of non-negative integers, got {c!r}")
    lengths = np.zeros(c.size, dtype=np.int64)
    used = np.flatnonzero(c)
    if used.size == 1:
        lengths[used] = 1
        return lengths
    # heap of (weight, tie-breaker, symbols under this node); merging deepens every symbol by one
    heap = [(int(c[s]), int(s), [int(s)]) for s in used]
    heapq.heapify(heap)
    while len(heap) > 1:
        w1, t1, s1 = heapq.heappop(heap)
        w2, t2, s2 = heapq.heappop(heap)
        lengths[s1 + s2] += 1
        heapq.heappush(heap, (w1 + w2, min(t1, t2), s1 + s2))
    return lengths


def huffman_bits(stream, n_symbols: int = 16) -> int:
    """Size in bits of ``stream`` (symbols ``0 .. n_symbols-1``) under its own Huffman code."""
    counts = symbol_counts(stream, n_symbols)
    return int((counts * huffman_lengths(counts)).sum())
