"""Huffman coding of the compressed streams (Deep Compression, Han et al., ICLR 2016, sec. 4).

Deep Compression's last stage Huffman-codes the weight indices ``v`` and the relative indices
``z``. :func:`huffman_lengths` computes optimal code lengths; :func:`canonical_codes` turns them
into the canonical prefix code (symbols sorted by length, then by value; each code is the
previous one plus one, shifted left when the length grows), so the code lengths alone describe
the code; :func:`huffman_encode` writes a real bit stream (most significant bit first, packed into
bytes, the last byte zero-padded) and :func:`huffman_decode` reads it back. :func:`huffman_bits`
(the size the compression report counts) is the length of the encoded stream.

Conventions: a stream with a single distinct symbol costs 1 bit per symbol (its code is ``0``: a
code needs at least one bit per symbol to be decodable symbol by symbol); an empty stream costs 0
bits; the code table itself is not counted (``n_symbols`` lengths of 4 bits, negligible, as in
the paper).
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "HuffmanStream",
    "canonical_codes",
    "huffman_bits",
    "huffman_decode",
    "huffman_encode",
    "huffman_lengths",
    "symbol_counts",
]


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


def canonical_codes(lengths: Sequence[int] | np.ndarray) -> np.ndarray:
    """The canonical prefix code of the code ``lengths`` (0 = unused symbol).

    Symbols are ordered by (length, symbol); the first gets the all-zero code, each next one the
    previous code plus one, shifted left by the increase in length. ``ValueError`` if the lengths
    violate Kraft's inequality (no prefix code has them).
    """
    n = np.asarray(lengths)
    if n.ndim != 1 or n.dtype.kind not in "iu" or (n.size and n.min() < 0):
        raise ValueError(f"code lengths must be a 1-D array of non-negative integers, got {n!r}")
    n = n.astype(np.int64)
    used = np.flatnonzero(n)
    if used.size and sum(2.0 ** -int(n[s]) for s in used) > 1.0:
        raise ValueError(f"code lengths {n.tolist()} violate Kraft's inequality")
    codes = np.zeros(n.size, dtype=np.int64)
    code, prev = 0, 0
    for k, s in enumerate(sorted(used, key=lambda s: (n[s], s))):
        if k:
            code += 1
        code <<= int(n[s]) - prev
        prev = int(n[s])
        codes[s] = code
    return codes


@dataclass(frozen=True)
class HuffmanStream:
    """An encoded stream: ``data`` holds ``n_bits`` bits (MSB first) of ``count`` symbols coded
    with the canonical code of ``lengths``."""

    lengths: tuple[int, ...]
    count: int
    n_bits: int
    data: bytes


def huffman_encode(stream, n_symbols: int = 16, lengths=None) -> HuffmanStream:
    """Huffman-code ``stream`` (symbols ``0 .. n_symbols-1``) with the canonical code of
    ``lengths`` (default: the stream's own optimal code, :func:`huffman_lengths`)."""
    s = symbol_counts(stream, n_symbols)  # validates the symbols
    sym = np.asarray(stream).ravel().astype(np.int64)
    lens = huffman_lengths(s) if lengths is None else np.asarray(lengths, dtype=np.int64)
    if lens.shape != (n_symbols,):
        raise ValueError(f"code lengths must have {n_symbols} entries, got shape {lens.shape}")
    codes = canonical_codes(lens)
    missing = np.flatnonzero((s > 0) & (lens == 0))
    if missing.size:
        raise ValueError(f"Huffman symbol {int(missing[0])} occurs but has no code (length 0)")
    sl, sc = lens[sym], codes[sym]
    n_bits = int(sl.sum())
    bits = np.zeros(n_bits, dtype=np.uint8)
    start = np.cumsum(sl) - sl
    for j in range(int(sl.max()) if sl.size else 0):
        has = sl > j
        bits[start[has] + j] = (sc[has] >> (sl[has] - 1 - j)) & 1
    return HuffmanStream(
        tuple(int(v) for v in lens), int(sym.size), n_bits, np.packbits(bits).tobytes()
    )


def huffman_decode(enc: HuffmanStream) -> np.ndarray:
    """The symbols of ``enc`` (``int64``); ``ValueError`` on a stream its code cannot decode."""
    lens = np.asarray(enc.lengths, dtype=np.int64)
    canonical_codes(lens)  # validates the lengths (Kraft's inequality)
    if len(enc.data) != (enc.n_bits + 7) // 8:
        raise ValueError(
            f"stream holds {len(enc.data)} bytes, {enc.n_bits} bits need {(enc.n_bits + 7) // 8}"
        )
    out = np.zeros(enc.count, dtype=np.int64)
    if enc.count == 0:
        if enc.n_bits:
            raise ValueError(f"an empty stream has {enc.n_bits} bits")
        return out
    # canonical decoding: per length, the first code and where its symbols start in the order
    order = sorted(np.flatnonzero(lens).tolist(), key=lambda s: (lens[s], s))
    width = int(lens.max())
    first_code, first_at, n_len = [0] * (width + 1), [0] * (width + 1), [0] * (width + 1)
    for s in order:
        n_len[int(lens[s])] += 1
    code = at = 0
    for n in range(1, width + 1):
        first_code[n], first_at[n] = code, at
        code = (code + n_len[n]) << 1
        at += n_len[n]
    bits = np.unpackbits(np.frombuffer(enc.data, dtype=np.uint8))[: enc.n_bits].tolist()
    pos = 0
    for k in range(enc.count):
        code, n = 0, 0
        while True:
            if pos >= enc.n_bits:
                raise ValueError(f"stream ends inside symbol {k} of {enc.count}")
            code = (code << 1) | bits[pos]
            pos += 1
            n += 1
            if code - first_code[n] < n_len[n]:
                out[k] = order[first_at[n] + code - first_code[n]]
                break
            if n == width:
                raise ValueError(f"bit {pos - n}: no code starts with these bits")
    if pos != enc.n_bits:
        raise ValueError(f"{enc.count} symbols end at bit {pos}, the stream has {enc.n_bits}")
    return out


def huffman_bits(stream, n_symbols: int = 16) -> int:
    """Size in bits of ``stream`` (symbols ``0 .. n_symbols-1``) under its own Huffman code: the
    length of the encoded stream (:func:`huffman_encode`), which is ``sum(counts * lengths)``."""
    enc = huffman_encode(stream, n_symbols)
    counts = symbol_counts(stream, n_symbols)
    if enc.n_bits != int((counts * np.asarray(enc.lengths)).sum()):  # pragma: no cover
        raise AssertionError("Huffman stream length differs from the computed size")
    return enc.n_bits
