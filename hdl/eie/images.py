"""Memory images of an EIE network and the core's memory map (one format, documented here).

The host loads a network into :class:`~accelgen.hdl.eie.top.EIETop` through a 64-bit write
port. An address is ``region << offset_bits | offset`` (:class:`MemoryMap`):

======== == ========================================= =======================================
region   id offset                                    data
======== == ========================================= =======================================
CTRL     0  0                                         write: number of layers; read: total
                                                      cycles of the last run
DESC     1  layer                                     descriptor (:func:`pack_descriptor`)
CODEBOOK 2  ``layer << 4 | i``                        codebook entry ``i`` (signed ``w_bits``)
PTR      3  ``pe << ptr_addr_bits | a``               pointer word ``a`` of PE ``pe``
SPMAT    4  ``pe << line_addr_bits | line``           64-bit sparse-matrix line
BIAS     5  ``pe << (layer_bits + rf_bits) |``        bias of local row ``r`` (signed
            ``layer << rf_bits | r``                  ``act_bits``, 0 where there is none)
ACT      6  ``j``                                     input element ``j`` (write) / output
                                                      element ``j`` (read), signed
STATS    7  ``pe << layer_bits | layer``              read: ``busy | starved << 32`` of the
            ``1 << (pe_bits + layer_bits) | layer``   PE in that layer / the layer's cycles
======== == ========================================= =======================================

Layout of a network: layer ``l``'s pointers start at pointer address ``ptr_base[l] =
sum(cols[k] + 1 for k < l)`` (the same in every PE); its entries follow the previous layer's in
each PE's sparse-matrix memory, and the pointers are absolute entry addresses. A line holds
entries ``8 * line .. 8 * line + 7``: entry ``k`` in bits ``8k .. 8k+7``, ``v`` in the low and
``z`` in the high nibble. Element ``j`` of an input/output vector lives in PE ``j % N`` at
register ``j // N``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from accelgen.golden.eie_format import EIEEncoding, encode
from accelgen.golden.netspec import EIELayer, check_eie_chain
from accelgen.spec.eie import ENTRIES_PER_LINE, EIEConfig

__all__ = [
    "DESC_FIELD_BITS",
    "EIEImage",
    "MemoryMap",
    "Region",
    "build_image",
    "check_fits",
    "pack_descriptor",
    "pack_lines",
    "unpack_lines",
]

DESC_FIELD_BITS = 21
REGION_BITS = 3


class Region(IntEnum):
    CTRL = 0
    DESC = 1
    CODEBOOK = 2
    PTR = 3
    SPMAT = 4
    BIAS = 5
    ACT = 6
    STATS = 7


class MemoryMap:
    """Address arithmetic of the host port for one :class:`EIEConfig`."""

    def __init__(self, config: EIEConfig) -> None:
        c = self.config = config
        self.pe_bits = c.pe_bits
        self.offset_bits = max(
            1,
            c.layer_bits + 4,
            c.pe_bits + c.ptr_addr_bits,
            c.pe_bits + c.line_addr_bits,
            c.pe_bits + c.layer_bits + c.rf_bits,
            c.pe_bits + c.rf_bits,
            c.pe_bits + c.layer_bits + 1,
        )
        self.addr_bits = self.offset_bits + REGION_BITS

    def addr(self, region: Region, offset: int) -> int:
        return (int(region) << self.offset_bits) | int(offset)

    def ctrl(self) -> int:
        return self.addr(Region.CTRL, 0)

    def desc(self, layer: int) -> int:
        return self.addr(Region.DESC, layer)

    def codebook(self, layer: int, i: int) -> int:
        return self.addr(Region.CODEBOOK, (layer << 4) | i)

    def ptr(self, pe: int, a: int) -> int:
        return self.addr(Region.PTR, (pe << self.config.ptr_addr_bits) | a)

    def spmat(self, pe: int, line: int) -> int:
        return self.addr(Region.SPMAT, (pe << self.config.line_addr_bits) | line)

    def bias(self, pe: int, layer: int, r: int) -> int:
        c = self.config
        return self.addr(Region.BIAS, (((pe << c.layer_bits) | layer) << c.rf_bits) | r)

    def act(self, j: int) -> int:
        return self.addr(Region.ACT, j)

    def stats_pe(self, pe: int, layer: int) -> int:
        return self.addr(Region.STATS, (pe << self.config.layer_bits) | layer)

    def stats_layer(self, layer: int) -> int:
        c = self.config
        return self.addr(Region.STATS, (1 << (c.pe_bits + c.layer_bits)) | layer)

    def total(self) -> int:
        return self.ctrl()

    def to_json(self) -> dict[str, int]:
        """The constants the cocotb host driver needs (:mod:`accelgen.sim.eie_host`)."""
        c = self.config
        return {
            "ctrl": self.addr(Region.CTRL, 0),
            "act": self.addr(Region.ACT, 0),
            "stats": self.addr(Region.STATS, 0),
            "layer_bits": c.layer_bits,
            "layer_flag": 1 << (c.pe_bits + c.layer_bits),
            "addr_bits": self.addr_bits,
            "offset_bits": self.offset_bits,
        }


def pack_descriptor(cols: int, rows: int, ptr_base: int, relu: bool) -> int:
    """Descriptor word: ``cols`` bits 0-20, ``rows`` 21-41, ``ptr_base`` 42-58, ``relu`` bit 63."""
    f = DESC_FIELD_BITS
    return cols | (rows << f) | (ptr_base << (2 * f)) | (int(bool(relu)) << 63)


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
        addr: list[int] = [mm.ctrl()]
        data: list[int] = [len(self.layers)]
        for li, layer in enumerate(self.layers):
            rows, cols = layer.shape
            addr.append(mm.desc(li))
            data.append(pack_descriptor(cols, rows, self.ptr_base[li], layer.relu))
            for i, w in enumerate(layer.codebook):
                addr.append(mm.codebook(li, i))
                data.append(int(w) & mask_w)
            for k in range(c.n_pes):
                for r, b in enumerate(self.bias[li][k]):
                    addr.append(mm.bias(k, li, r))
                    data.append(int(b) & mask_a)
        for k in range(c.n_pes):
            for a, p in enumerate(self.ptr[k]):
                addr.append(mm.ptr(k, a))
                data.append(int(p))
            for line, word in enumerate(self.lines[k]):
                addr.append(mm.spmat(k, line))
                data.append(int(word))
        return np.asarray(addr, dtype=np.uint64), np.asarray(data, dtype=np.uint64)


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
