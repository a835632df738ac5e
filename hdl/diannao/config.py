"""Configuration of the DianNao core (Chen et al., "DianNao", ASPLOS 2014).

:class:`DianNaoConfig` is the one immutable description of a generated core: the NFU width
``tn`` (``tn`` outputs x ``tn`` inputs per cycle), the depths of the three buffers in Tn-wide
words, the fixed-point formats (``numerics.md``), the PWL table size and the instruction memory.
It validates itself at construction and round-trips to JSON
(:class:`~accelgen.hdl.common.config.Config`).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..common.config import NumericsConfig, is_pow2, require

__all__ = ["DianNaoConfig"]


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
        Fixed-point formats (``numerics.md``); ``acc_bits`` is 24 or 32.
    pwl_segments : int
        Segments of the NFU-3 piecewise-linear table (power of two, 1..64; paper 16).
    imem_depth : int
        Instructions the control processor holds (2..4096).
    double_buffer : bool
        Split NBin and SB into two halves (ping-pong): the host loads the next tile into one
        half while the program runs on the other. Needs even ``nbin_depth`` and ``sb_depth``.
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

    # ------------------------------------------------------------------ derived values
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
        from .isa import instruction_bits

        return max(
            self.nbin_word_bits, self.nbout_word_bits, self.sb_row_bits, instruction_bits(self), 32
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
