"""The EIE core's specification: its configuration (one frozen, self-validating dataclass with
the derived sizes), the host port's memory map and the constants gateware and models share.

Memory map
----------
The host loads a network into :class:`~accelgen.hdl.eie.top.EIETop` through a 64-bit write
port. An address is ``region << offset_bits | offset`` (:class:`MemoryMap`):

======== == ========================================= =======================================
region   id offset                                    data
======== == ========================================= =======================================
CTRL     0  0                                         write: number of layers; read: total
                                                      cycles of the last run
DESC     1  layer                                     descriptor (:func:`pack_descriptor`)
CODEBOOK 2  ``layer << 4 | i``                        codebook entry ``i`` (signed ``w_bits``)
PTR      3  ``pe << ptr_addr_bits | a``               pointer word ``a`` of PE ``pe`` (bit 32:
                                                      the column's non-empty flag, used with
                                                      ``filter_empty``)
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

from dataclasses import dataclass
from enum import IntEnum
from types import MappingProxyType

from .config import NumericsConfig, is_pow2, require

__all__ = [
    "DESC_FIELD_BITS",
    "EIEConfig",
    "ENTRIES_PER_LINE",
    "LINE_BITS",
    "MemoryMap",
    "PAPER_SCHEME",
    "REGION_BITS",
    "Region",
    "PTR_NONEMPTY_BIT",
    "SPAN_BUFFER_DEPTH",
    "pack_descriptor",
]

ENTRIES_PER_LINE = 8
LINE_BITS = 64
# Spans the pointer unit buffers ahead of the entry walker (option (a), skip_empty); the RTL's
# FIFO depth and the cycle model's buffer (accelgen.golden.eie_cycles) are this number.
SPAN_BUFFER_DEPTH = 2
# With filter_empty, bit 32 of a pointer word's host write is the non-empty flag of the
# column that starts there (the pointer memory keeps the low ptr_bits).
PTR_NONEMPTY_BIT = 32
#: Every option of :class:`EIEConfig` off: the paper's plain scheme (``EIEConfig(**PAPER_SCHEME)``,
#: ``config.replace(**PAPER_SCHEME)``). The default configuration has options (c), (d) and (e).
PAPER_SCHEME = MappingProxyType(
    {"skip_empty": False, "filter_empty": False, "merge_padding": False, "decouple_depth": 0}
)


def _bits(n: int) -> int:
    """Bits needed to hold the values 0..n-1 (at least 1)."""
    return max(1, (n - 1).bit_length())


@dataclass(frozen=True, kw_only=True)
class EIEConfig(NumericsConfig):
    """Parameters of the generated EIE core (Han et al., ISCA 2016).

    The default configuration has three options past the paper's scheme on: the empty-column
    filter (c), the padding merge (d) and the decoupled broadcast (e) with a 2-column shared
    buffer. With them the core takes at most the cycles of the EIE authors' own simulator on
    every scaled Table III layer (``docs/eie.md``, "Options on by default"); option (a) stays
    off (it costs Fmax). :data:`PAPER_SCHEME` turns every option off.

    Parameters
    ----------
    n_pes : int
        Processing elements N, a power of two 1..256. Output row ``i`` and input column ``j``
        live in PE ``i mod N`` / ``j mod N``.
    fifo_depth : int
        Depth of each PE's activation queue, 1..64 (paper: 8).
    act_bits, act_frac, w_bits, w_frac, acc_bits : int
        Fixed-point formats (``docs/numerics.md``); ``acc_bits`` is 24 or 32. Codebook entries are
        ``w_bits`` wide, at most 16 (the paper's 16-bit shared weights).
    regfile_depth : int
        Entries of each PE's source and destination register files, 2..4096 (paper: 64).
    spmat_words : int
        64-bit sparse-matrix lines per PE (8 entries each), 1..8191 so that a pointer fits the
        paper's 16 bits.
    ptr_depth : int
        Pointer-memory words per PE, 2..65536; a layer with ``C`` inputs uses ``C + 1`` of
        them, and all layers of a network are stored one after the other.
    max_layers : int
        Layer descriptors (and per-layer codebooks and bias tables), 1..64.
    skip_empty : bool
        Option (a), empty-column skipping: a PE drops a queued column without
        entries in the pointer-read stage, and a 2-deep span buffer feeds the entry walker, so
        non-empty columns issue back to back instead of costing a bubble per empty column.
        Default False (it adds a cycle of fill and lowers Fmax; ``docs/eie.md``).
    filter_empty : bool
        Option (c), empty-column filter: each PE keeps one bit per pointer word (the column
        has entries for this PE), written by the host with the pointer (``PTR_NONEMPTY_BIT``)
        and read with the broadcast, and queues only its non-empty columns; the broadcast
        waits only for the full queues of PEs that keep the column. The queue then holds
        ``fifo_depth`` columns of work. Costs ``ptr_depth`` bits per PE. Default True.
    merge_padding : bool
        Option (d), padding merge: the entry walker issues a padding entry together with the
        entry after it (one cycle for both) when the line it holds shows the padding (an 8-bit
        padding mask registered the cycle after each line read; not for the first entries
        after a line read, nor in a line's last slot). Default True.
    decouple_depth : int
        Option (e), decoupled broadcast: 0 -- the broadcast waits until every PE's queue can
        take it (the paper's scheme); S (a power of two, 2..64) -- the broadcast goes into a
        shared buffer of S columns, each PE moves the columns from it into its queue through
        its own read pointer (only the columns it keeps, with ``filter_empty``), and the
        broadcast waits only while the slowest PE is S columns behind; the buffer adds one
        cycle of fill. Default 2 (with the filter alone the broadcast's ready is a path from
        every PE's bitmap read; the buffer cuts it).
    """

    n_pes: int = 8
    fifo_depth: int = 8
    act_bits: int = 16
    act_frac: int = 8
    w_bits: int = 16
    w_frac: int = 12
    acc_bits: int = 32
    regfile_depth: int = 64
    spmat_words: int = 512
    ptr_depth: int = 1024
    max_layers: int = 4
    skip_empty: bool = False
    filter_empty: bool = True
    merge_padding: bool = True
    decouple_depth: int = 2

    def __post_init__(self) -> None:
        self.validate_fields()
        require(
            is_pow2(self.n_pes) and self.n_pes <= 256,
            f"n_pes must be a power of two in 1..256, got {self.n_pes!r}",
        )
        require(1 <= self.fifo_depth <= 64, f"fifo_depth must be in 1..64, got {self.fifo_depth!r}")
        require(self.w_bits <= 16, f"w_bits must be at most 16 (codebook), got {self.w_bits!r}")
        require(self.act_bits <= 32, f"act_bits must be at most 32, got {self.act_bits!r}")
        self.validate_numerics()
        require(
            2 <= self.regfile_depth <= 4096,
            f"regfile_depth must be in 2..4096, got {self.regfile_depth!r}",
        )
        require(
            1 <= self.spmat_words <= 8191,
            f"spmat_words must be in 1..8191 (16-bit pointers), got {self.spmat_words!r}",
        )
        require(
            2 <= self.ptr_depth <= 65536, f"ptr_depth must be in 2..65536, got {self.ptr_depth!r}"
        )
        require(1 <= self.max_layers <= 64, f"max_layers must be in 1..64, got {self.max_layers!r}")
        require(
            self.decouple_depth == 0
            or (is_pow2(self.decouple_depth) and 2 <= self.decouple_depth <= 64),
            f"decouple_depth must be 0 or a power of two in 2..64, got {self.decouple_depth!r}",
        )

    # ------------------------------------------------------------------ derived values
    @property
    def pe_bits(self) -> int:
        """log2(N)."""
        return self.n_pes.bit_length() - 1

    @property
    def max_rows(self) -> int:
        """Largest layer output count (N x regfile_depth)."""
        return self.n_pes * self.regfile_depth

    @property
    def max_cols(self) -> int:
        """Largest layer input count (register files and pointer memory)."""
        return min(self.n_pes * self.regfile_depth, self.ptr_depth - 1)

    @property
    def entries_per_pe(self) -> int:
        """Sparse-matrix entries each PE can store (8 per 64-bit line)."""
        return self.spmat_words * ENTRIES_PER_LINE

    @property
    def ptr_bits(self) -> int:
        """Width of a column pointer (an entry address 0..entries_per_pe)."""
        return self.entries_per_pe.bit_length()

    @property
    def rf_bits(self) -> int:
        """Register-file address width."""
        return _bits(self.regfile_depth)

    @property
    def ptr_addr_bits(self) -> int:
        return _bits(self.ptr_depth)

    @property
    def line_addr_bits(self) -> int:
        return _bits(self.spmat_words)

    @property
    def layer_bits(self) -> int:
        return _bits(self.max_layers)

    @property
    def col_bits(self) -> int:
        """Width of a column index / layer size field (0..max(max_rows, max_cols))."""
        return max(self.max_rows, self.max_cols).bit_length()

    @property
    def memory_bits(self) -> dict[str, int]:
        """Storage of each memory in bits (``total`` included), per the whole core."""
        n = self.n_pes
        mem = {
            "pointer": n * self.ptr_depth * self.ptr_bits,
            "spmat": n * self.spmat_words * LINE_BITS,
            "regfiles": n * 2 * self.regfile_depth * self.acc_bits,
            "bias": n * self.max_layers * self.regfile_depth * self.act_bits,
            "queues": n * self.fifo_depth * (self.col_bits + self.act_bits),
            "codebooks": self.max_layers * 16 * self.w_bits,
            "counters": n * self.max_layers * 64,
        }
        if self.filter_empty:
            mem["column_bitmap"] = n * self.ptr_depth
        mem["total"] = sum(mem.values())
        return mem

    def report(self) -> dict:
        """Parameters and derived sizes for ``report.json``."""
        return {
            "config": self.to_json(),
            "max_rows": self.max_rows,
            "max_cols": self.max_cols,
            "entries_per_pe": self.entries_per_pe,
            "pointer_bits": self.ptr_bits,
            "memory_bits": self.memory_bits,
        }


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
