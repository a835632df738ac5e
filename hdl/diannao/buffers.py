"""DianNao on-chip buffers (NBin, NBout, SB) as Amaranth memories of Tn-wide words.

Each buffer is a :class:`~amaranth.lib.memory.Memory` with one synchronous read port and one
write port (with lane granularity for SB rows), so Yosys infers a block RAM for it.
"""

from __future__ import annotations

from amaranth.hdl import Module, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from accelgen.spec.config import require
from accelgen.spec.diannao import DianNaoConfig

__all__ = ["Buffer", "nbin", "nbout", "sb"]


class Buffer(wiring.Component):
    """A ``depth`` x ``width`` RAM: one write port, one synchronous read port.

    Latency: read data appears **1 cycle** after ``r_addr`` (reads are not transparent: a read
    and a write of the same word in one cycle return the old word). A write happens at the
    clock edge ending the cycle ``w_en`` is high; ``w_en`` has one bit per ``granularity``
    bits of ``w_data`` (one bit when ``granularity`` is ``None``).

    Members
    -------
    w_addr, w_data, w_en : In
        Write port.
    r_addr : In
        Read address (always read).
    r_data : Out(width)
        The word at the previous cycle's ``r_addr``.
    """

    def __init__(self, *, depth: int, width: int, granularity: int | None = None) -> None:
        require(depth >= 1, f"buffer depth must be >= 1, got {depth!r}")
        require(width >= 1, f"buffer width must be >= 1, got {width!r}")
        if granularity is not None:
            require(
                granularity >= 1 and width % granularity == 0,
                f"granularity {granularity!r} must divide the width {width}",
            )
        self.depth, self.width, self.granularity = depth, width, granularity
        abits = max(1, (depth - 1).bit_length())
        lanes = 1 if granularity is None else width // granularity
        super().__init__(
            {
                "w_addr": In(abits),
                "w_data": In(width),
                "w_en": In(lanes),
                "r_addr": In(abits),
                "r_data": Out(width),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        m.submodules.mem = mem = Memory(shape=unsigned(self.width), depth=self.depth, init=[])
        wp = mem.write_port(granularity=self.granularity)
        rp = mem.read_port()
        m.d.comb += [
            wp.addr.eq(self.w_addr),
            wp.data.eq(self.w_data),
            wp.en.eq(self.w_en),
            rp.addr.eq(self.r_addr),
            self.r_data.eq(rp.data),
        ]
        return m


def nbin(config: DianNaoConfig) -> Buffer:
    """NBin: input neurons, ``nbin_depth`` words of ``tn`` activations."""
    return Buffer(depth=config.nbin_depth, width=config.nbin_word_bits)


def nbout(config: DianNaoConfig) -> Buffer:
    """NBout: outputs and partial sums, ``nbout_depth`` words of ``tn`` accumulators."""
    return Buffer(depth=config.nbout_depth, width=config.nbout_word_bits)


def sb(config: DianNaoConfig) -> Buffer:
    """SB: synapses, ``sb_depth`` words of ``tn x tn`` weights, written one row at a time."""
    return Buffer(depth=config.sb_depth, width=config.sb_word_bits, granularity=config.sb_row_bits)
