"""The DianNao core's specification: its configuration and its instruction set (Chen et al.,
"DianNao", ASPLOS 2014).

:class:`DianNaoConfig` is the one immutable description of a generated core: the NFU width
``tn`` (``tn`` outputs x ``tn`` inputs per cycle), the depths of the three buffers in Tn-wide
words, the fixed-point formats (``docs/numerics.md``), the PWL table size and the instruction
memory. It validates itself at construction and round-trips to JSON
(:class:`~accelgen.spec.config.Config`).

The control-processor instruction
---------------------------------
One documented dataclass (:class:`Instruction`) with encode/decode.

Following the paper's instruction format (Chen et al., "DianNao", ASPLOS 2014, Table 1), an
instruction has one slot per unit: **CP** (end of program), **SB** (read base, reuse),
**NBin** (read base, strides, loop sizes), **NBout** (read/write base, read op) and **NFU**
(NFU-1 op, NFU-2 op and output select, NFU-3 op). One instruction drives the NFU for a whole
loop nest of ``n_o1 * n_o0`` outputs (Tn-wide NBout words), each reduced over
``n_r2 * n_r1 * n_r0`` NFU cycles::

    for o1 in range(n_o1):                       # e.g. output rows
      for o0 in range(n_o0):                     # e.g. output columns / batch samples
        acc = NBout[out] if nbout_read else 0    # bias or partial sums (MAC/SUM), see NFU-2
        for r2 in range(n_r2):                   # input channel tiles
          for r1 in range(n_r1):                 # kernel rows
            for r0 in range(n_r0):               # kernel columns / input words
              nbin = nbin_addr + o1*s_o1 + o0*s_o0 + r2*s_r2 + r1*s_r1 + r0*s_r0
              acc  = NFU2(acc, NFU1(NBin[nbin], SB[sb]));  sb += 1
        NBout[out] = acc if nfu2_out == PARTIAL else NFU3(acc);  out += 1
        if sb_reuse: sb = sb_addr                # the same weights for every output

``out`` starts at ``nbout_addr``. A core built with ``weight_update`` has five more fields
(:data:`UPDATE_FIELDS`, after the others): an instruction with ``upd`` set is a weight update of
SB rows instead (``n_o0`` rows of the SB words ``sb_addr .. sb_addr + n_r0 - 1``, see
``docs/diannao.md``, "Training")::

    for row in range(n_o0):                      # output neuron ob * tn + row
      for r0 in range(n_r0):                     # input block
        w = SB[sb_addr + r0][row];  a = NBin[nbin_addr + r0*s_r0]
        g = sat(act_bits, NBout[nbout_addr][row])
        n = upd_lanes if r0 == n_r0 - 1 else tn  # lanes updated (one LFSR step each)
        SB[sb_addr + r0][row][:n] = sat(w_bits, w + round(alpha * g * a, stochastic))

and ``drelu`` (an NFU instruction with ``nbout_read``, ``MAC``, ``NFU3``): the ReLU derivative
mask. The NBout word read at an output's first step is a mask, not a bias: the accumulator
starts from 0 and the output lane is 0 where that mask lane is ``<= 0``.

Each of the ``n_o1*n_o0*n_r2*n_r1*n_r0`` steps is one NFU cycle;
consecutive instructions issue back to back. Field order below is the bit order of the encoded
word, least significant first; widths depend on the :class:`DianNaoConfig`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from .config import NumericsConfig, is_pow2, require

__all__ = [
    "ALPHA_BITS",
    "DianNaoConfig",
    "FIELDS",
    "HostTile",
    "Instruction",
    "NFU1Op",
    "NFU2Op",
    "NFU2Out",
    "NFU3Op",
    "Sel",
    "UPDATE_FIELDS",
    "decode",
    "encode",
    "field_slices",
    "field_widths",
    "instruction_bits",
]


def _bits_for(n: int) -> int:
    """Bits of an unsigned counter that holds 0..n."""
    return max(1, int(n).bit_length())


@dataclass(frozen=True, kw_only=True)
class DianNaoConfig(NumericsConfig):
    """Parameters of one DianNao core.

    Parameters
    ----------
    tn : int
        NFU width, a power of two in 2..16 (the paper uses 16): NFU-1 has ``tn * tn``
        multipliers, NFU-2 ``tn`` adder trees of ``tn`` inputs.
    nbin_depth, nbout_depth, sb_depth : int
        Buffer depths in words (4..65536). An NBin word holds ``tn`` activations, an NBout word
        ``tn`` accumulators (``acc_bits`` each, partial sums), an SB word ``tn x tn`` weights.
        The paper's buffers are 64 words deep each at ``tn = 16`` (2 KB, 2 KB, 32 KB).
    act_bits, act_frac, w_bits, w_frac, acc_bits : int
        Fixed-point formats (``docs/numerics.md``); ``acc_bits`` is 24 or 32.
    pwl_segments : int
        Segments of the NFU-3 piecewise-linear table (power of two, 1..64; paper 16).
    imem_depth : int
        Instructions the control processor holds (2..4096).
    double_buffer : bool
        Split NBin and SB into two halves (ping-pong): the host loads the next tile into one
        half while the program runs on the other. Needs even ``nbin_depth`` and ``sb_depth``.
    weight_update : bool
        Build the in-core weight-update unit (training): the CP's ``upd`` instructions compute
        ``w += alpha * g_i * a_j`` on SB rows with an LFSR-rounded, saturating write-back
        (``docs/diannao.md``, "Training"). Off by default: the instruction, ports and cycle
        counts of a core without it are unchanged.
    g_frac : int
        Fractional bits of the error terms ``g`` an update reads (``act_bits`` wide).
    alpha_frac : int
        Fractional bits of an update instruction's 16-bit learning rate ``alpha``.
    lfsr_width, lfsr_taps, lfsr_seed : int
        The update's stochastic-rounding Galois LFSR (``golden/update.py``): width 2..64,
        feedback taps (bit ``lfsr_width - 1`` set), reset state (non-zero; the host can load
        another).
    """

    tn: int = 16
    nbin_depth: int = 64
    nbout_depth: int = 64
    sb_depth: int = 64
    act_bits: int = 16
    act_frac: int = 8
    w_bits: int = 16
    w_frac: int = 12
    acc_bits: int = 24
    pwl_segments: int = 16
    imem_depth: int = 64
    double_buffer: bool = False
    weight_update: bool = False
    g_frac: int = 12
    alpha_frac: int = 16
    lfsr_width: int = 32
    lfsr_taps: int = 0x80200003
    lfsr_seed: int = 1

    def __post_init__(self) -> None:
        self.validate_fields()
        require(
            is_pow2(self.tn) and 2 <= self.tn <= 16,
            f"tn must be a power of two in 2..16, got {self.tn!r}",
        )
        for name in ("nbin_depth", "nbout_depth", "sb_depth"):
            v = getattr(self, name)
            require(4 <= v <= 65536, f"{name} must be in 4..65536 words, got {v!r}")
        require(
            2 <= self.imem_depth <= 4096, f"imem_depth must be in 2..4096, got {self.imem_depth!r}"
        )
        require(
            is_pow2(self.pwl_segments) and self.pwl_segments <= 64,
            f"pwl_segments must be a power of two in 1..64, got {self.pwl_segments!r}",
        )
        require(
            self.act_frac >= 1,
            f"act_frac must be >= 1 (the PWL unit rounds at act_frac), got {self.act_frac!r}",
        )
        require(
            self.act_bits <= 16 and self.w_bits <= 16,
            f"act_bits and w_bits must be <= 16 (16-bit PWL coefficients and host lanes), got "
            f"act_bits={self.act_bits!r}, w_bits={self.w_bits!r}",
        )
        if self.double_buffer:
            require(
                self.nbin_depth % 2 == 0 and self.sb_depth % 2 == 0,
                f"double_buffer needs even nbin_depth and sb_depth, got {self.nbin_depth!r} "
                f"and {self.sb_depth!r}",
            )
        self.validate_numerics()
        self._validate_update()

    def _validate_update(self) -> None:
        """The update unit's fields: always in range; against the formats when it is built."""
        require(0 <= self.alpha_frac <= 32, f"alpha_frac must be in 0..32, got {self.alpha_frac!r}")
        require(self.g_frac >= 0, f"g_frac must be >= 0, got {self.g_frac!r}")
        w = self.lfsr_width
        require(2 <= w <= 64, f"lfsr_width must be in 2..64, got {w!r}")
        require(
            0 < self.lfsr_taps < (1 << w) and self.lfsr_taps >> (w - 1) == 1,
            f"lfsr_taps must fit {w} bits with bit {w - 1} set, got {self.lfsr_taps!r}",
        )
        require(
            0 < self.lfsr_seed < (1 << w),
            f"lfsr_seed must be in 1..2**{w}-1, got {self.lfsr_seed!r}",
        )
        if not self.weight_update:
            return
        require(
            self.g_frac < self.act_bits,
            f"g_frac must be in 0..{self.act_bits - 1}, got {self.g_frac!r}",
        )
        s = self.update_shift
        require(
            0 <= s <= w,
            f"the update drops alpha_frac + g_frac + act_frac - w_frac = {s} bits, which must "
            f"be in 0..lfsr_width={w}",
        )

    # ------------------------------------------------------------------ derived values
    @property
    def update_shift(self) -> int:
        """Bits dropped from ``alpha * g * a`` to reach the weight's scale
        (``alpha_frac + g_frac + act_frac - w_frac``)."""
        return self.alpha_frac + self.g_frac + self.act_frac - self.w_frac

    @property
    def log2_tn(self) -> int:
        return self.tn.bit_length() - 1

    @property
    def nbin_addr_bits(self) -> int:
        return _bits_for(self.nbin_depth - 1)

    @property
    def nbout_addr_bits(self) -> int:
        return _bits_for(self.nbout_depth - 1)

    @property
    def sb_addr_bits(self) -> int:
        return _bits_for(self.sb_depth - 1)

    @property
    def imem_addr_bits(self) -> int:
        return _bits_for(self.imem_depth - 1)

    @property
    def count_bits(self) -> int:
        """Width of an instruction's loop-count fields (counts 1..max buffer depth)."""
        return _bits_for(max(self.nbin_depth, self.nbout_depth, self.sb_depth))

    @property
    def nbin_word_bits(self) -> int:
        return self.tn * self.act_bits

    @property
    def nbout_word_bits(self) -> int:
        return self.tn * self.acc_bits

    @property
    def sb_row_bits(self) -> int:
        """One SB row: the ``tn`` weights of one output neuron; an SB word is ``tn`` rows."""
        return self.tn * self.w_bits

    @property
    def sb_word_bits(self) -> int:
        return self.tn * self.sb_row_bits

    @property
    def host_data_bits(self) -> int:
        """Width of the host write-data bus (the widest word written in one cycle)."""
        return max(
            self.nbin_word_bits,
            self.nbout_word_bits,
            self.sb_row_bits,
            instruction_bits(self),
            self.lfsr_width if self.weight_update else 32,
            32,
        )

    @property
    def host_addr_bits(self) -> int:
        """Width of the host address bus (an SB address selects a word and a row)."""
        return max(
            self.nbin_addr_bits,
            self.nbout_addr_bits,
            self.sb_addr_bits + self.log2_tn,
            self.imem_addr_bits,
            _bits_for(2 * self.pwl_segments + 1),
        )

    @property
    def peak_macs_per_cycle(self) -> int:
        return self.tn * self.tn

    @property
    def nbin_bytes(self) -> int:
        return self.nbin_depth * self.nbin_word_bits // 8

    @property
    def nbout_bytes(self) -> int:
        return self.nbout_depth * self.nbout_word_bits // 8

    @property
    def sb_bytes(self) -> int:
        return self.sb_depth * self.sb_word_bits // 8


# --- The control-processor instruction (ISA) ---


class NFU1Op(IntEnum):
    """NFU-1: ``MUL`` multiplies Tn inputs by a Tn x Tn weight block; ``BYPASS`` passes inputs."""

    MUL = 0
    BYPASS = 1


class NFU2Op(IntEnum):
    """NFU-2: ``MAC`` adder trees + saturating accumulate; ``SUM``/``MAX`` lane-wise pooling."""

    MAC = 0
    SUM = 1
    MAX = 2


class NFU2Out(IntEnum):
    """Where an output goes: raw ``acc_bits`` partial sums to NBout, or through NFU-3."""

    PARTIAL = 0
    NFU3 = 1


class NFU3Op(IntEnum):
    """NFU-3: saturate to ``act_bits`` then none / ReLU / PWL table, or average scaling."""

    NONE = 0
    RELU = 1
    PWL = 2
    AVG = 3


AVG_RECIP_BITS = 17  # round(2**16 / k**2) is 65536 for k = 1

# (slot, name, width kind); widths resolved per config by field_widths().
FIELDS: tuple[tuple[str, str, str], ...] = (
    ("CP", "end", "1"),
    ("NFU", "nfu1_op", "1"),
    ("NFU", "nfu2_op", "2"),
    ("NFU", "nfu2_out", "1"),
    ("NFU", "nfu3_op", "2"),
    ("NFU", "avg_recip", "recip"),
    ("SB", "sb_addr", "sb"),
    ("SB", "sb_reuse", "1"),
    ("NBin", "nbin_addr", "nbin"),
    ("NBin", "s_r0", "stride"),
    ("NBin", "s_r1", "stride"),
    ("NBin", "s_r2", "stride"),
    ("NBin", "s_o0", "stride"),
    ("NBin", "s_o1", "stride"),
    ("NBin", "n_r0", "count"),
    ("NBin", "n_r1", "count"),
    ("NBin", "n_r2", "count"),
    ("NBin", "n_o0", "count"),
    ("NBin", "n_o1", "count"),
    ("NBout", "nbout_addr", "nbout"),
    ("NBout", "nbout_read", "1"),
)

# Fields only a core with ``weight_update`` has (appended after FIELDS, so the encoding of the
# other fields is the same with and without the option).
UPDATE_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("UPD", "upd", "1"),
    ("UPD", "stochastic", "1"),
    ("UPD", "alpha", "alpha"),
    ("UPD", "upd_lanes", "lanes"),
    ("UPD", "drelu", "1"),
)
ALPHA_BITS = 16


def field_widths(config: DianNaoConfig) -> dict[str, int]:
    """Bit width of every instruction field for ``config`` (in encoding order)."""
    kinds = {
        "1": 1,
        "2": 2,
        "recip": AVG_RECIP_BITS,
        "sb": config.sb_addr_bits,
        "nbin": config.nbin_addr_bits,
        "stride": config.nbin_depth.bit_length(),
        "nbout": config.nbout_addr_bits,
        "count": config.count_bits,
        "alpha": ALPHA_BITS,
        "lanes": _bits_for(config.tn),
    }
    fields = FIELDS + (UPDATE_FIELDS if config.weight_update else ())
    return {name: kinds[kind] for _, name, kind in fields}


def field_slices(config: DianNaoConfig) -> dict[str, tuple[int, int]]:
    """``(offset, width)`` of every instruction field, the first field in the least significant
    bits: the one bit layout of an instruction. :func:`encode` / :func:`decode` pack with it and
    the gateware builds its layout from it (``accelgen.hdl.diannao.cp.instruction_layout``)."""
    out, offset = {}, 0
    for name, width in field_widths(config).items():
        out[name] = (offset, width)
        offset += width
    return out


def instruction_bits(config: DianNaoConfig) -> int:
    """Width of an encoded instruction."""
    return sum(field_widths(config).values())


@dataclass(frozen=True, kw_only=True)
class Instruction:
    """One CP instruction (see the module docstring for the loop it runs).

    Strides ``s_*`` are in NBin words; counts ``n_*`` are >= 1. The SB address advances by one
    word per NFU cycle from ``sb_addr``; ``nbout_addr`` is the first output word.
    """

    end: bool = False
    nfu1_op: NFU1Op = NFU1Op.MUL
    nfu2_op: NFU2Op = NFU2Op.MAC
    nfu2_out: NFU2Out = NFU2Out.NFU3
    nfu3_op: NFU3Op = NFU3Op.NONE
    avg_recip: int = 0
    sb_addr: int = 0
    sb_reuse: bool = True
    nbin_addr: int = 0
    s_r0: int = 1
    s_r1: int = 0
    s_r2: int = 0
    s_o0: int = 0
    s_o1: int = 0
    n_r0: int = 1
    n_r1: int = 1
    n_r2: int = 1
    n_o0: int = 1
    n_o1: int = 1
    nbout_addr: int = 0
    nbout_read: bool = False
    upd: bool = False
    stochastic: bool = False
    alpha: int = 0
    upd_lanes: int = 0
    drelu: bool = False

    def __post_init__(self) -> None:
        for name in ("n_r0", "n_r1", "n_r2", "n_o0", "n_o1"):
            if getattr(self, name) < 1:
                raise ValueError(
                    f"instruction loop count {name} must be >= 1, got {getattr(self, name)!r}"
                )
        for name, enum in (
            ("nfu1_op", NFU1Op),
            ("nfu2_op", NFU2Op),
            ("nfu2_out", NFU2Out),
            ("nfu3_op", NFU3Op),
        ):
            object.__setattr__(self, name, enum(getattr(self, name)))

    @property
    def reduction(self) -> int:
        """NFU cycles per output word."""
        return self.n_r0 * self.n_r1 * self.n_r2

    @property
    def outputs(self) -> int:
        """Output words this instruction writes."""
        return self.n_o0 * self.n_o1

    @property
    def steps(self) -> int:
        """NFU cycles this instruction issues."""
        return self.reduction * self.outputs

    def check(self, config: DianNaoConfig) -> None:
        """Raise ``ValueError`` if a field does not fit its width or an address leaves a buffer."""
        widths = field_widths(config)
        for name, width in widths.items():
            v = int(getattr(self, name))
            if not 0 <= v < (1 << width):
                raise ValueError(f"instruction field {name}={v} does not fit in {width} bits")
        if self.upd:
            self._check_update(config)
            return
        if self.drelu:
            if not config.weight_update:
                raise ValueError("a drelu instruction needs a core built with weight_update")
            if not self.nbout_read or self.nfu2_out != NFU2Out.NFU3 or self.nfu2_op != NFU2Op.MAC:
                raise ValueError(
                    "drelu instruction: needs nbout_read = 1, nfu2_op MAC, nfu2_out NFU3"
                )
        last_in = self.nbin_addr + sum(
            (n - 1) * s
            for n, s in (
                (self.n_r0, self.s_r0),
                (self.n_r1, self.s_r1),
                (self.n_r2, self.s_r2),
                (self.n_o0, self.s_o0),
                (self.n_o1, self.s_o1),
            )
        )
        if last_in >= config.nbin_depth:
            raise ValueError(f"instruction reads NBin word {last_in} of {config.nbin_depth}")
        if self.nbout_addr + self.outputs > config.nbout_depth:
            raise ValueError(
                f"instruction writes NBout words up to {self.nbout_addr + self.outputs - 1} "
                f"of {config.nbout_depth}"
            )
        if self.nfu1_op == NFU1Op.MUL:
            sb_last = self.sb_addr + (self.reduction if self.sb_reuse else self.steps) - 1
            if sb_last >= config.sb_depth:
                raise ValueError(f"instruction reads SB word {sb_last} of {config.sb_depth}")

    def _check_update(self, config: DianNaoConfig) -> None:
        """The rules of an update instruction (``upd``; ``docs/diannao.md``, "Training")."""
        if not config.weight_update:
            raise ValueError("an update instruction (upd) needs a core built with weight_update")
        if self.drelu:
            raise ValueError("update instruction: drelu must be 0")
        for name in ("n_r1", "n_r2", "n_o1"):
            if getattr(self, name) != 1:
                raise ValueError(f"update instruction: {name} must be 1, got {getattr(self, name)}")
        if self.nbout_read or not self.sb_reuse:
            raise ValueError("update instruction: nbout_read must be 0 and sb_reuse 1")
        if self.n_o0 > config.tn:
            raise ValueError(f"update instruction: n_o0={self.n_o0} rows, more than tn={config.tn}")
        if not 1 <= self.upd_lanes <= config.tn:
            raise ValueError(
                f"update instruction: upd_lanes must be in 1..{config.tn}, got {self.upd_lanes}"
            )
        last_in = self.nbin_addr + (self.n_r0 - 1) * self.s_r0
        if last_in >= config.nbin_depth:
            raise ValueError(f"instruction reads NBin word {last_in} of {config.nbin_depth}")
        if self.nbout_addr >= config.nbout_depth:
            raise ValueError(
                f"instruction reads NBout word {self.nbout_addr} of {config.nbout_depth}"
            )
        sb_last = self.sb_addr + self.n_r0 - 1
        if sb_last >= config.sb_depth:
            raise ValueError(f"instruction reads SB word {sb_last} of {config.sb_depth}")


def encode(instr: Instruction, config: DianNaoConfig) -> int:
    """Pack ``instr`` into an integer, first field in the least significant bits."""
    instr.check(config)
    word = 0
    for name, (offset, _) in field_slices(config).items():
        word |= int(getattr(instr, name)) << offset
    return word


def decode(word: int, config: DianNaoConfig) -> Instruction:
    """Unpack an encoded instruction (inverse of :func:`encode`)."""
    if word < 0 or word >> instruction_bits(config):
        raise ValueError(
            f"instruction word {word:#x} does not fit in {instruction_bits(config)} bits"
        )
    values = {}
    types = {f.name: f.type for f in dataclasses.fields(Instruction)}
    for name, (offset, width) in field_slices(config).items():
        v = (word >> offset) & ((1 << width) - 1)
        values[name] = bool(v) if types[name] in ("bool", bool) else v
    return Instruction(**values)


class Sel(IntEnum):
    """Host write targets (``host_sel``)."""

    NBIN = 0
    SB = 1
    NBOUT = 2
    IMEM = 3
    PWL = 4
    LFSR = 5  # the weight-update LFSR state (cores with weight_update only)


@dataclass
class HostTile:
    """One load / run / drain round of the host (the arrays are NumPy integer arrays).

    ``nbin_addr``/``nbin_data[n, T]``, ``sb_addr``/``sb_data[n, T]`` (host SB address = word * T
    + row, one row of ``T`` weights per write), ``nbout_addr``/``nbout_data[n, T]`` (bias or
    zeros at ``acc_bits``) are written first, then ``pwl`` (address, value) pairs and the
    ``program``. After the run the host reads the NBout words ``read_addr``; lane ``j`` of read
    ``i`` is output element ``scatter[i, j]`` of the layer's flattened output (-1: padding).
    ``samples`` is the range ``[first, last)`` of batch samples the tile works on.
    """

    program: list[Instruction]
    nbin_addr: Any
    nbin_data: Any
    sb_addr: Any
    sb_data: Any
    nbout_addr: Any
    nbout_data: Any
    read_addr: Any
    scatter: Any
    samples: tuple[int, int] = (0, 1)
    pwl: list[tuple[int, int]] = field(default_factory=list)

    @property
    def steps(self) -> int:
        """NFU cycles the program issues."""
        return sum(i.steps for i in self.program)
