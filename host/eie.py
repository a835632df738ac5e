"""Memory images of an EIE network: what the host writes through the core's port.

The address layout (regions, descriptor and line formats) is :class:`accelgen.spec.eie.MemoryMap`;
this module fills it for a network (:func:`build_image`) after checking that it fits the
configured memories (:func:`check_fits`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from accelgen.golden.eie_format import EIEEncoding, encode
from accelgen.golden.netspec import EIELayer, check_eie_chain
from accelgen.spec.eie import (
    ENTRIES_PER_LINE,
    PTR_NONEMPTY_BIT,
    EIEConfig,
    MemoryMap,
    pack_descriptor,
)

__all__ = [
    "EIEImage",
    "build_image",
    "check_fits",
    "pack_lines",
    "unpack_lines",
]


def pack_lines(v: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Pack entries into 64-bit lines (uint64), the last line padded with ``(0, 0)`` entries."""
    n = len(v)
    lines = -(-n // ENTRIES_PER_LINE)
    byte = np.zeros(lines * ENTRIES_PER_LINE, dtype=np.uint64)
    byte[:n] = (np.asarray(v, dtype=np.uint64) & 15) | ((np.asarray(z, dtype=np.uint64) & 15) << 4)
    if not lines:
        return np.zeros(0, dtype=np.uint64)
    shifts = np.arange(ENTRIES_PER_LINE, dtype=np.uint64) * np.uint64(8)
    words = byte.reshape(lines, ENTRIES_PER_LINE) << shifts
    return np.bitwise_or.reduce(words, axis=1).astype(np.uint64)


def unpack_lines(lines: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`pack_lines`: the first ``count`` entries as ``(v, z)`` uint8 arrays."""
    lines = np.asarray(lines, dtype=np.uint64)
    shifts = np.arange(ENTRIES_PER_LINE, dtype=np.uint64) * np.uint64(8)
    byte = ((lines[:, None] >> shifts) & np.uint64(255)).reshape(-1)[:count].astype(np.uint8)
    return byte & 15, byte >> 4


@dataclass(frozen=True)
class EIEImage:
    """The memory contents of one network for one configuration.

    Attributes
    ----------
    encodings : per-layer :class:`~accelgen.golden.eie_format.EIEEncoding` (N = ``n_pes``)
    ptr : ``[N, sum(cols + 1)]`` absolute pointer words
    lines : per PE, the uint64 sparse-matrix lines
    ptr_base, entry_base : per-layer pointer base (all PEs) and ``[L, N]`` first entry address
    bias : ``[L, N, rows_local]`` bias words (0 where the PE has no row)
    """

    config: EIEConfig
    layers: tuple[EIELayer, ...]
    encodings: tuple[EIEEncoding, ...]
    ptr: np.ndarray
    lines: tuple[np.ndarray, ...]
    ptr_base: tuple[int, ...]
    entry_base: np.ndarray
    bias: tuple[np.ndarray, ...]

    @property
    def memory_map(self) -> MemoryMap:
        return MemoryMap(self.config)

    def writes(self) -> tuple[np.ndarray, np.ndarray]:
        """``(addr, data)`` uint64 arrays of every host write that loads the network."""
        c, mm = self.config, self.memory_map
        mask_w = (1 << c.w_bits) - 1
        mask_a = (1 << c.act_bits) - 1
        u64 = np.uint64
        addr: list[np.ndarray] = [np.asarray([mm.ctrl()], dtype=u64)]
        data: list[np.ndarray] = [np.asarray([len(self.layers)], dtype=u64)]
        for li, layer in enumerate(self.layers):
            rows, cols = layer.shape
            cb = np.asarray([int(w) & mask_w for w in layer.codebook], dtype=u64)
            addr.append(
                np.asarray([mm.desc(li)] + [mm.codebook(li, i) for i in range(len(cb))], u64)
            )
            data.append(
                np.concatenate(
                    [[u64(pack_descriptor(cols, rows, self.ptr_base[li], layer.relu))], cb]
                ).astype(u64)
            )
            for k in range(c.n_pes):
                b = np.asarray(self.bias[li][k], dtype=np.int64).reshape(-1)
                addr.append(mm.bias(k, li, 0) + np.arange(len(b), dtype=u64))
                data.append(b.astype(u64) & u64(mask_a))
        for k in range(c.n_pes):
            ptr = np.asarray(self.ptr[k], dtype=np.int64)
            # the filter's bit: a column starts at word a and has entries in this PE (the
            # last word of a layer equals the next layer's first, so it is never flagged)
            flags = np.zeros(len(ptr), dtype=u64)
            if c.filter_empty:
                flags[:-1] = ptr[1:] != ptr[:-1]
            addr.append(mm.ptr(k, 0) + np.arange(len(ptr), dtype=u64))
            data.append(ptr.astype(u64) | (flags << u64(PTR_NONEMPTY_BIT)))
            lines = np.asarray(self.lines[k], dtype=u64).reshape(-1)
            addr.append(mm.spmat(k, 0) + np.arange(len(lines), dtype=u64))
            data.append(lines)
        return np.concatenate(addr).astype(u64), np.concatenate(data).astype(u64)


def _check_layers(layers: Sequence[EIELayer]) -> list[EIELayer]:
    layers = list(layers)
    if not layers:
        raise ValueError("the network has no layers")
    return check_eie_chain(layers)


def check_fits(layers: Sequence[EIELayer], config: EIEConfig) -> list[EIEEncoding]:
    """Check that ``layers`` fit the configured memories; return their encodings.

    Raises
    ------
    ValueError
        Naming the layer and the memory (register files, pointer memory, sparse-matrix memory,
        layer descriptors) or the value (codebook, bias) that does not fit.
    """
    layers = _check_layers(layers)
    c = config
    if len(layers) > c.max_layers:
        raise ValueError(
            f"the network has {len(layers)} layers but the core has {c.max_layers} layer "
            "descriptors (max_layers)"
        )
    lo_w, hi_w = -(1 << (c.w_bits - 1)), (1 << (c.w_bits - 1)) - 1
    lo_a, hi_a = -(1 << (c.act_bits - 1)), (1 << (c.act_bits - 1)) - 1
    ptr_used = 0
    entries = np.zeros(c.n_pes, dtype=np.int64)
    encs = []
    for i, layer in enumerate(layers):
        rows, cols = layer.shape
        if rows < 1 or cols < 1:
            raise ValueError(f"layer {i} has shape {layer.shape}; both sizes must be >= 1")
        if rows > c.max_rows:
            raise ValueError(
                f"layer {i} has {rows} outputs but the destination register files hold "
                f"{c.max_rows} (n_pes {c.n_pes} x regfile_depth {c.regfile_depth})"
            )
        if cols > c.n_pes * c.regfile_depth:
            raise ValueError(
                f"layer {i} has {cols} inputs but the source register files hold "
                f"{c.n_pes * c.regfile_depth} (n_pes {c.n_pes} x regfile_depth {c.regfile_depth})"
            )
        ptr_used += cols + 1
        if ptr_used > c.ptr_depth:
            raise ValueError(
                f"layer {i} overflows the pointer memory: layers 0..{i} need {ptr_used} pointer "
                f"words per PE (inputs + 1 each), ptr_depth is {c.ptr_depth}"
            )
        if int(layer.codebook[0]) != 0:  # EIELayer checks it; its arrays can change later
            raise ValueError(
                f"layer {i} codebook[0] is {int(layer.codebook[0])}; entry 0 is the pruned "
                "weight and must be 0 (docs/numerics.md)"
            )
        bad = [int(w) for w in layer.codebook if not lo_w <= int(w) <= hi_w]
        if bad:
            raise ValueError(f"layer {i} codebook value {bad[0]} does not fit w_bits {c.w_bits}")
        if layer.bias is not None and layer.bias.size:
            b = layer.bias.astype(np.int64)
            if b.min() < lo_a or b.max() > hi_a:
                v = int(b.min() if b.min() < lo_a else b.max())
                raise ValueError(f"layer {i} bias value {v} does not fit act_bits {c.act_bits}")
        enc = encode(layer.index, c.n_pes)
        entries += enc.entries_per_pe
        if entries.max() > c.entries_per_pe:
            k = int(entries.argmax())
            raise ValueError(
                f"layer {i} overflows the sparse-matrix memory of PE {k}: layers 0..{i} need "
                f"{int(entries[k])} entries, spmat_words {c.spmat_words} x 8 = "
                f"{c.entries_per_pe}"
            )
        encs.append(enc)
    return encs


def build_image(layers: Sequence[EIELayer], config: EIEConfig) -> EIEImage:
    """Encode ``layers`` for ``config`` (after :func:`check_fits`) into memory images."""
    layers = _check_layers(layers)
    encs = check_fits(layers, config)
    n = config.n_pes
    ptr_rows: list[list[np.ndarray]] = [[] for _ in range(n)]
    vs: list[list[np.ndarray]] = [[] for _ in range(n)]
    zs: list[list[np.ndarray]] = [[] for _ in range(n)]
    ptr_base, entry_base, biases = [], np.zeros((len(layers), n), dtype=np.int64), []
    base_p = 0
    used = np.zeros(n, dtype=np.int64)
    for li, (layer, enc) in enumerate(zip(layers, encs, strict=True)):
        rows = layer.shape[0]
        local = -(-rows // n)
        ptr_base.append(base_p)
        base_p += enc.cols + 1
        b = np.zeros((n, local), dtype=np.int64)
        if layer.bias is not None:
            full = np.zeros(local * n, dtype=np.int64)
            full[:rows] = layer.bias
            b = full.reshape(local, n).T.copy()
        biases.append(b)
        for k in range(n):
            entry_base[li, k] = used[k]
            ptr_rows[k].append(enc.ptr[k] + used[k])
            vs[k].append(enc.v[k])
            zs[k].append(enc.z[k])
            used[k] += int(enc.ptr[k, -1])
    ptr = np.stack([np.concatenate(p) for p in ptr_rows])
    lines = tuple(pack_lines(np.concatenate(vs[k]), np.concatenate(zs[k])) for k in range(n))
    return EIEImage(
        config, tuple(layers), tuple(encs), ptr, lines, tuple(ptr_base), entry_base, tuple(biases)
    )
