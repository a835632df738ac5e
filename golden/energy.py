"""Energy-per-inference estimates from counted operations and memory accesses.

The per-operation energies are the 45 nm figures of Horowitz, "Computing's Energy Problem (and
what we can do about it)", ISSCC 2014 (cited as "Horowitz ISSCC 2014, 45 nm"; the table is
reproduced in ``docs/papers.md``). Entries the table does not have are *derived* and labelled
as such wherever they are reported:

* a 16-bit integer multiply costs ~0.8 pJ (multiplier energy grows roughly with the square of the
  width: between the 8-bit 0.2 pJ and the 32-bit 3.1 pJ points);
* an SRAM read of ``b`` bits costs ``5 pJ * b / 32`` (the table's 32-bit read of an 8 KB SRAM
  scaled by the bits read, e.g. a 64-bit EIE sparse-matrix line ~ 10 pJ);
* an integer add of ``b`` bits costs the table's add of the next width up (8, 16 or 32 bits), so
  a 24- or 32-bit accumulate is a 32-bit add;
* a DRAM transfer costs 640 pJ per 32-bit word, reads and writes alike.

The estimators count, per inference, what the hardware does with the actual data:

* :func:`eie_energy`: from the encoded layers and the activations each layer really received
  (the non-zero activations decide which columns are processed): entries processed (codebook
  lookup, 16-bit multiply, accumulate), 64-bit sparse-matrix lines read, column-pointer reads,
  activation reads/writes, and the DRAM traffic (input vector, outputs, and the compressed model
  loaded once and amortised over the inferences of the run).
* :func:`diannao_energy`: from the layer geometry and DianNao's tiling (``Tn``-wide NBin words,
  ``Tn x Tn`` SB words, one NFU step per input tile and kernel position): useful multiplies,
  adder-tree adds, accumulator adds, NBin/SB/NBout accesses by width, pooling operations, and the
  DRAM traffic (weights that fit in SB loaded once and amortised; weights that do not fit
  streamed again for every inference).

Both return an :class:`EnergyEstimate` that also carries the "dense weights from DRAM" baseline,
the point ``energy.md`` makes: one DRAM access costs as much as ~200 multiplies, so keeping the
weights on chip dominates.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .arith import Numerics
from .eie_format import encode
from .layers import conv_output_size
from .netspec import ConvLayer, DenseLayer, EIELayer, FCLayer, PoolLayer

__all__ = [
    "DERIVED",
    "HOROWITZ",
    "OPERATIONS",
    "SPARSE_LINE_BITS",
    "EnergyEstimate",
    "EnergyItem",
    "Operation",
    "add_pj",
    "diannao_energy",
    "dram_pj",
    "eie_energy",
    "sram_read_pj",
]

HOROWITZ = "Horowitz ISSCC 2014, 45 nm"
DERIVED = "derived from " + HOROWITZ

#: Width of one EIE sparse-matrix SRAM line: 8 entries of (4-bit v, 4-bit z).
SPARSE_LINE_BITS = 64
_ENTRIES_PER_LINE = SPARSE_LINE_BITS // 8
_POINTER_BITS = 16


@dataclass(frozen=True)
class Operation:
    """One row of the energy table: a description, its energy in pJ and where it comes from."""

    name: str
    pj: float
    source: str


#: The table of ``energy.md`` plus the derived 16-bit multiply.
OPERATIONS: dict[str, Operation] = {
    "add8": Operation("8-bit integer add", 0.03, HOROWITZ),
    "add16": Operation("16-bit integer add", 0.05, HOROWITZ),
    "add32": Operation("32-bit integer add", 0.1, HOROWITZ),
    "fadd16": Operation("16-bit float add", 0.4, HOROWITZ),
    "fadd32": Operation("32-bit float add", 0.9, HOROWITZ),
    "mul8": Operation("8-bit integer multiply", 0.2, HOROWITZ),
    "mul16": Operation("16-bit integer multiply", 0.8, DERIVED + " (width-squared scaling)"),
    "mul32": Operation("32-bit integer multiply", 3.1, HOROWITZ),
    "fmul16": Operation("16-bit float multiply", 1.1, HOROWITZ),
    "fmul32": Operation("32-bit float multiply", 3.7, HOROWITZ),
    "sram32": Operation("32-bit SRAM read (8 KB)", 5.0, HOROWITZ),
    "dram32": Operation("32-bit DRAM read", 640.0, HOROWITZ),
}


def _check_bits(bits: int) -> int:
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or bits < 1:
        raise ValueError(f"an access width must be a positive number of bits, got {bits!r}")
    return int(bits)


def sram_read_pj(bits: int) -> float:
    """Energy of one SRAM access of ``bits`` bits: the 32-bit read scaled by width (derived)."""
    return OPERATIONS["sram32"].pj * _check_bits(bits) / 32


def add_pj(bits: int) -> tuple[str, float]:
    """``(operation key, pJ)`` of a ``bits``-wide integer add (next table width up, <= 32)."""
    bits = _check_bits(bits)
    for width in (8, 16, 32):
        if bits <= width:
            return f"add{width}", OPERATIONS[f"add{width}"].pj
    raise ValueError(f"no add energy for {bits}-bit adds (the table stops at 32 bits)")


def dram_pj(bits: int | float) -> float:
    """Energy of moving ``bits`` bits to or from DRAM in 32-bit words (640 pJ a word)."""
    if bits < 0:
        raise ValueError(f"a DRAM transfer cannot move {bits!r} bits")
    return OPERATIONS["dram32"].pj * math.ceil(bits / 32)


@dataclass(frozen=True)
class EnergyItem:
    """One line of an estimate: ``count`` events per inference of ``unit_pj`` each."""

    name: str
    category: str  # "compute" | "sram" | "dram"
    count: float
    unit_pj: float
    source: str

    @property
    def total_pj(self) -> float:
        return self.count * self.unit_pj

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "category": self.category,
            "count_per_inference": self.count,
            "unit_pj": self.unit_pj,
            "total_pj": self.total_pj,
            "source": self.source,
        }


@dataclass(frozen=True)
class EnergyEstimate:
    """Energy of one inference, itemised, plus the dense-weights-from-DRAM baseline.

    Attributes
    ----------
    items:
        Counted events per inference (averaged over the inferences the counts came from).
    dense_dram_baseline_pj:
        What fetching every weight uncompressed from DRAM for each inference would cost on its
        own, the alternative that on-chip storage avoids.
    notes:
        Modelling assumptions, in words, for the report.
    """

    items: tuple[EnergyItem, ...]
    dense_dram_baseline_pj: float
    notes: tuple[str, ...] = ()

    @property
    def total_pj(self) -> float:
        return float(sum(i.total_pj for i in self.items))

    def by_category(self) -> dict[str, float]:
        out = {"compute": 0.0, "sram": 0.0, "dram": 0.0}
        for i in self.items:
            out[i.category] += i.total_pj
        return out

    def to_json(self) -> dict:
        return {
            "total_pj": self.total_pj,
            "total_nj": self.total_pj / 1000,
            "by_category_pj": self.by_category(),
            "dense_dram_baseline_pj": self.dense_dram_baseline_pj,
            "items": [i.to_json() for i in self.items],
            "notes": list(self.notes),
            "reference": HOROWITZ,
        }


def _check_inferences(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n_inferences must be a positive integer, got {n!r}")
    return int(n)


def _lines_spanned(ptr: np.ndarray) -> np.ndarray:
    """``[N, cols]`` 64-bit lines each column's entries occupy (0 for an empty column)."""
    lo, hi = ptr[:, :-1], ptr[:, 1:]
    spanned = (hi - 1) // _ENTRIES_PER_LINE - lo // _ENTRIES_PER_LINE + 1
    return np.where(hi > lo, spanned, 0)


def eie_energy(
    layers: Sequence[EIELayer],
    inputs: Sequence[np.ndarray],
    *,
    num: Numerics,
    n_pes: int,
    n_inferences: int | None = None,
) -> EnergyEstimate:
    """Energy per inference of an EIE network from the data it processed.

    Parameters
    ----------
    layers:
        The compressed layers, in order.
    inputs:
        For each layer, the activations it received, ``[batch, inputs]`` (``inputs[0]`` is the
        network input, ``inputs[i]`` the output of layer ``i - 1`` as the RTL produced it).
    num:
        The activation format (``act_bits``) and accumulator width (``acc_bits``).
    n_pes:
        Number of PEs (rows are interleaved over them; it decides how columns split into lines).
    n_inferences:
        Over how many inferences the one-off model load from DRAM is amortised (default: the
        batch size of ``inputs``).

    Returns
    -------
    EnergyEstimate
        Counts per inference, averaged over the batch.

    Notes
    -----
    For every non-zero input activation ``a_j`` each PE reads its two column pointers (two
    16-bit reads, even/odd banks) and the 64-bit lines holding the column's entries (the lines
    spanned by ``[p_j, p_{j+1})``, counted per column). Every stored entry of the column,
    padding included, goes through a codebook lookup (a 16 x 16-bit table read, costed as a
    16-bit SRAM read), a 16-bit multiply and an ``acc_bits`` accumulate. The leading non-zero
    detector reads every input activation once; every output is written once.
    """
    if len(layers) != len(inputs):
        raise ValueError(f"got {len(inputs)} input arrays for {len(layers)} layers")
    if not layers:
        raise ValueError("cannot estimate the energy of a network with no layers")
    batch = None
    entries = lines = pointers = act_reads = act_writes = bias_reads = 0.0
    model_bits = dense_bits = 0
    for i, (layer, x) in enumerate(zip(layers, inputs, strict=True)):
        xa = np.asarray(x)
        if xa.ndim == 1:
            xa = xa[None]
        rows, cols = layer.shape
        if xa.ndim != 2 or xa.shape[1] != cols:
            raise ValueError(
                f"layer {i} has {cols} inputs, but its activations have shape {xa.shape}"
            )
        if batch is None:
            batch = xa.shape[0]
            if batch == 0:
                raise ValueError("the activations hold no inference (batch of 0)")
        elif xa.shape[0] != batch:
            raise ValueError(f"layer {i} has {xa.shape[0]} input vectors, layer 0 has {batch}")
        enc = encode(layer.index, n_pes)
        per_col_entries = enc.column_entries().sum(axis=0)  # [cols]
        per_col_lines = _lines_spanned(enc.ptr).sum(axis=0)  # [cols]
        nz = (xa != 0).astype(np.float64)  # [batch, cols]
        entries += float((nz @ per_col_entries).sum())
        lines += float((nz @ per_col_lines).sum())
        pointers += float(nz.sum()) * 2 * n_pes
        act_reads += batch * cols
        act_writes += batch * rows
        if layer.bias is not None:
            bias_reads += batch * rows
            model_bits += rows * num.act_bits
        model_bits += int(enc.entries_per_pe.sum()) * 8 + enc.ptr.size * _POINTER_BITS
        model_bits += 16 * 16  # codebook
        dense_bits += rows * cols * num.w_bits
    n = _check_inferences(batch if n_inferences is None else n_inferences)
    mul, add_key = OPERATIONS["mul16"], add_pj(num.acc_bits)[0]
    act = num.act_bits
    io_bits = layers[0].shape[1] * act + layers[-1].shape[0] * act
    items = [
        EnergyItem(
            "codebook lookups (16-bit table read)",
            "sram",
            entries / batch,
            sram_read_pj(16),
            DERIVED + " (SRAM read scaled to 16 bits)",
        ),
        EnergyItem("16-bit multiplies", "compute", entries / batch, mul.pj, mul.source),
        EnergyItem(
            f"{num.acc_bits}-bit accumulates",
            "compute",
            entries / batch,
            OPERATIONS[add_key].pj,
            OPERATIONS[add_key].source
            + ("" if num.acc_bits == 32 else f" ({num.acc_bits}-bit add costed as 32-bit)"),
        ),
        EnergyItem(
            "64-bit sparse-matrix line reads",
            "sram",
            lines / batch,
            sram_read_pj(SPARSE_LINE_BITS),
            DERIVED + " (SRAM read scaled to 64 bits)",
        ),
        EnergyItem(
            "16-bit column-pointer reads",
            "sram",
            pointers / batch,
            sram_read_pj(_POINTER_BITS),
            DERIVED + " (SRAM read scaled to 16 bits)",
        ),
        EnergyItem(
            f"{act}-bit activation reads",
            "sram",
            (act_reads + bias_reads) / batch,
            sram_read_pj(act),
            DERIVED + f" (SRAM read scaled to {act} bits)",
        ),
        EnergyItem(
            f"{act}-bit activation writes",
            "sram",
            act_writes / batch,
            sram_read_pj(act),
            DERIVED + " (write costed as a read of the same width)",
        ),
        EnergyItem(
            "DRAM words: input vector and outputs",
            "dram",
            math.ceil(io_bits / 32),
            OPERATIONS["dram32"].pj,
            HOROWITZ,
        ),
        EnergyItem(
            f"DRAM words: compressed model loaded once (amortised over {n})",
            "dram",
            math.ceil(model_bits / 32) / n,
            OPERATIONS["dram32"].pj,
            HOROWITZ,
        ),
    ]
    notes = (
        f"Counts averaged over {batch} inference(s); activation sparsity is the measured one.",
        "The compressed weights stay in on-chip SRAM; only the one-off load touches DRAM.",
        f"Baseline: the {dense_bits // num.w_bits} dense {num.w_bits}-bit weights fetched from "
        "DRAM for every inference.",
    )
    return EnergyEstimate(tuple(items), dram_pj(dense_bits), notes)


def _steps(layer: DenseLayer, shape: tuple[int, ...], tn: int) -> tuple[int, int, int, tuple]:
    """``(NFU steps, useful products, groups, output shape)`` of a layer on a ``tn``-wide NFU.

    A group is the up to ``tn`` products one adder tree sums for one output in one step.
    """
    if isinstance(layer, FCLayer):
        no, ni = layer.w.shape
        if math.prod(shape) != ni:
            raise ValueError(f"FC layer expects {ni} inputs, gets shape {shape}")
        tiles = math.ceil(ni / tn)
        return math.ceil(no / tn) * tiles, no * ni, no * tiles, (no,)
    if len(shape) != 3:
        raise ValueError(f"{layer.kind} layer needs a [C, H, W] input, gets shape {shape}")
    c, h, w = shape
    if isinstance(layer, ConvLayer):
        no, ni, k, _ = layer.w.shape
        if ni != c:
            raise ValueError(f"conv layer expects {ni} input channels, gets {c}")
        oh = conv_output_size(h, k, layer.stride, layer.pad)
        ow = conv_output_size(w, k, layer.stride, layer.pad)
        tiles = math.ceil(ni / tn) * k * k
        steps = math.ceil(no / tn) * oh * ow * tiles
        return steps, no * oh * ow * ni * k * k, no * oh * ow * tiles, (no, oh, ow)
    oh = conv_output_size(h, layer.k, layer.stride, 0)
    ow = conv_output_size(w, layer.k, layer.stride, 0)
    return math.ceil(c / tn) * oh * ow * layer.k * layer.k, 0, 0, (c, oh, ow)


def diannao_energy(
    layers: Sequence[DenseLayer],
    input_shape: tuple[int, ...],
    *,
    num: Numerics,
    tn: int,
    sb_bytes: int,
    n_inferences: int = 1,
) -> EnergyEstimate:
    """Energy per inference of a dense network on DianNao, from its geometry and tiling.

    Parameters
    ----------
    layers:
        The network (FC, convolution and pooling layers), in order.
    input_shape:
        One input, ``[C, H, W]`` or ``[inputs]``.
    num:
        Activation, weight and accumulator widths.
    tn:
        NFU width: ``tn`` outputs x ``tn`` inputs per cycle.
    sb_bytes:
        Synapse buffer capacity. A layer whose weights fit is loaded from DRAM once and
        amortised over ``n_inferences``; a larger layer is streamed from DRAM every inference.
    n_inferences:
        Over how many inferences the one-off weight loads are amortised.

    Notes
    -----
    One NFU step (``ceil(No/Tn) * outputs * ceil(Ni/Tn) * K * K`` per layer, the compiler's
    tile loops) reads one ``Tn``-wide NBin word and one ``Tn x Tn`` SB word. Multiplies count the
    useful products (``No * Ni * K * K`` per output position); the adder tree sums a group of
    ``g <= Tn`` products with ``g - 1`` adds of ``act_bits + log2(Tn)`` bits, and each group sum
    enters the accumulator with one ``acc_bits`` add. Outputs are written to NBout as ``Tn``-wide
    words. Pooling costs one compare (max) or add (average) per window element and reads NBin words.
    """
    if not layers:
        raise ValueError("cannot estimate the energy of a network with no layers")
    if isinstance(tn, bool) or not isinstance(tn, int) or tn < 1:
        raise ValueError(f"tn must be a positive integer, got {tn!r}")
    if isinstance(sb_bytes, bool) or not isinstance(sb_bytes, int) or sb_bytes < 0:
        raise ValueError(f"sb_bytes must be a non-negative integer, got {sb_bytes!r}")
    n = _check_inferences(n_inferences)
    act, wb = num.act_bits, num.w_bits
    tree_bits = act + max(1, math.ceil(math.log2(tn)))
    shape = tuple(int(s) for s in input_shape)
    in_bits = math.prod(shape) * act
    mults = tree_adds = acc_adds = pool_ops = 0
    nbin_reads = sb_reads = nbout_words = 0
    streamed_bits = loaded_bits = dense_bits = 0
    for layer in layers:
        steps, useful, groups, out_shape = _steps(layer, shape, tn)
        if isinstance(layer, PoolLayer):
            pool_ops += out_shape[0] * out_shape[1] * out_shape[2] * layer.k * layer.k
            nbin_reads += steps
        else:
            mults += useful
            tree_adds += useful - groups
            acc_adds += groups
            nbin_reads += steps
            sb_reads += steps
            bits = layer.w.size * wb + (0 if layer.b is None else layer.b.size * act)
            dense_bits += layer.w.size * wb
            if bits > sb_bytes * 8:
                streamed_bits += bits
            else:
                loaded_bits += bits
        nbout_words += math.ceil(out_shape[0] / tn) * math.prod(out_shape[1:])
        shape = out_shape
    out_bits = math.prod(shape) * act
    add_key, acc_key = add_pj(tree_bits)[0], add_pj(num.acc_bits)[0]
    pool_key = add_pj(act)[0]
    mul = OPERATIONS["mul16"]
    items = [
        EnergyItem("16-bit multiplies (useful products)", "compute", mults, mul.pj, mul.source),
        EnergyItem(
            f"{tree_bits}-bit adder-tree adds",
            "compute",
            tree_adds,
            OPERATIONS[add_key].pj,
            DERIVED + f" ({tree_bits}-bit add, next width up)",
        ),
        EnergyItem(
            f"{num.acc_bits}-bit accumulates (one per group)",
            "compute",
            acc_adds,
            OPERATIONS[acc_key].pj,
            OPERATIONS[acc_key].source,
        ),
        EnergyItem(
            f"{act}-bit pooling compares/adds",
            "compute",
            pool_ops,
            OPERATIONS[pool_key].pj,
            OPERATIONS[pool_key].source,
        ),
        EnergyItem(
            f"NBin reads ({tn * act}-bit words)",
            "sram",
            nbin_reads,
            sram_read_pj(tn * act),
            DERIVED + f" (SRAM read scaled to {tn * act} bits)",
        ),
        EnergyItem(
            f"SB reads ({tn * tn * wb}-bit words)",
            "sram",
            sb_reads,
            sram_read_pj(tn * tn * wb),
            DERIVED + f" (SRAM read scaled to {tn * tn * wb} bits)",
        ),
        EnergyItem(
            f"NBout writes ({tn * act}-bit words)",
            "sram",
            nbout_words,
            sram_read_pj(tn * act),
            DERIVED + " (write costed as a read of the same width)",
        ),
        EnergyItem(
            "DRAM words: input and outputs",
            "dram",
            math.ceil((in_bits + out_bits) / 32),
            OPERATIONS["dram32"].pj,
            HOROWITZ,
        ),
        EnergyItem(
            "DRAM words: weights larger than SB, streamed every inference",
            "dram",
            math.ceil(streamed_bits / 32),
            OPERATIONS["dram32"].pj,
            HOROWITZ,
        ),
        EnergyItem(
            f"DRAM words: weights held in SB, loaded once (amortised over {n})",
            "dram",
            math.ceil(loaded_bits / 32) / n,
            OPERATIONS["dram32"].pj,
            HOROWITZ,
        ),
    ]
    notes = (
        f"NFU width Tn = {tn}; SB capacity {sb_bytes} bytes.",
        f"Baseline: all {dense_bits // wb} dense {wb}-bit weights fetched from DRAM for every "
        "inference.",
    )
    return EnergyEstimate(tuple(items), dram_pj(dense_bits), notes)
