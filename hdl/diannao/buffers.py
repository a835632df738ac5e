"""DianNao on-chip buffers (NBin, NBout, SB) as Amaranth memories of Tn-wide words.

Each buffer is a :class:`~amaranth.lib.memory.Memory` with one synchronous read port and one
write port (with lane granularity for SB rows), so Yosys infers a block RAM for it.
"""

from __future__ import annotations

from amaranth.hdl import Module, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In

from accelgen.spec.config import require
from accelgen.spec.diannao import DianNaoConfig

from ..common.ports import HostWriteSignature, ReadPortSignature

__all__ = ["Buffer", "nbin", "nbout", "sb"]


class Buffer(wiring.Component):
    """A ``depth`` x ``width`` RAM: one write port, one synchronous read port.

    Latency: read data appears **1 cycle** after ``r.addr`` (reads are not transparent: a read
    and a write of the same word in one cycle return the old word). A write happens at the
    clock edge ending the cycle ``w.en`` is high; ``w.en`` has one bit per ``granularity``
    bits of ``w.data`` (one bit when ``granularity`` is ``None``).

    ``no_rw_check``: the memory carries Yosys' ``no_rw_check`` attribute: a read and a write of
    the same word in one cycle are *undefined* on the synthesized RAM (the simulators still
    return the old word). Without it Yosys keeps the old-word rule on FPGA block RAMs whose
    read-during-write across ports is undefined by emulating it: the write data and address are
    registered and a multiplexer after the RAM picks them, one LUT level between the RAM's read
    data and its first register. Only for buffers whose users never read the word being
    written in that cycle.

    Members
    -------
    w : In(HostWriteSignature(addr_width, width, en_width=lanes))
        Write port.
    r : In(ReadPortSignature(addr_width, width, enable=False))
        Read port (reads every cycle): ``r.data`` is the word at the previous cycle's
        ``r.addr``.
    """

    def __init__(
        self,
        *,
        depth: int,
        width: int,
        granularity: int | None = None,
        no_rw_check: bool = False,
    ) -> None:
        require(depth >= 1, f"buffer depth must be >= 1, got {depth!r}")
        require(width >= 1, f"buffer width must be >= 1, got {width!r}")
        if granularity is not None:
            require(
                granularity >= 1 and width % granularity == 0,
                f"granularity {granularity!r} must divide the width {width}",
            )
        self.depth, self.width, self.granularity = depth, width, granularity
        self.no_rw_check = no_rw_check
        abits = max(1, (depth - 1).bit_length())
        lanes = 1 if granularity is None else width // granularity
        super().__init__(
            {
                "w": In(HostWriteSignature(addr_width=abits, data_shape=width, en_width=lanes)),
                "r": In(ReadPortSignature(addr_width=abits, data_shape=width, enable=False)),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        attrs = {"no_rw_check": 1} if self.no_rw_check else None
        m.submodules.mem = mem = Memory(
            shape=unsigned(self.width), depth=self.depth, init=[], attrs=attrs
        )
        wp = mem.write_port(granularity=self.granularity)
        rp = mem.read_port()
        m.d.comb += [
            wp.addr.eq(self.w.addr),
            wp.data.eq(self.w.data),
            wp.en.eq(self.w.en),
            rp.addr.eq(self.r.addr),
            self.r.data.eq(rp.data),
        ]
        return m


def nbin(config: DianNaoConfig) -> Buffer:
    """NBin: input neurons, ``nbin_depth`` words of ``tn`` activations. ``no_rw_check``: only
    the host writes NBin, and never the word a running program reads in that cycle (it fills
    the other half of a double-buffered NBin)."""
    return Buffer(depth=config.nbin_depth, width=config.nbin_word_bits, no_rw_check=True)


def nbout(config: DianNaoConfig) -> Buffer:
    """NBout: outputs and partial sums, ``nbout_depth`` words of ``tn`` accumulators.
    ``no_rw_check``: while a program runs, the CP's interlock keeps every read away from a word
    with an NFU write in flight (the write of the current cycle included); the host reads and
    writes NBout only while idle, and a host read of the word it writes in the same cycle is
    undefined."""
    return Buffer(depth=config.nbout_depth, width=config.nbout_word_bits, no_rw_check=True)


def sb(config: DianNaoConfig) -> Buffer:
    """SB: synapses, ``sb_depth`` words of ``tn x tn`` weights, written one row at a time.
    ``no_rw_check`` unless ``weight_update``: without it only the host writes SB, never the word
    a running program reads in that cycle; an update program's row write-back can meet the
    read of the same word by a later step (another row), so update cores keep the old-word
    rule."""
    return Buffer(
        depth=config.sb_depth,
        width=config.sb_word_bits,
        granularity=config.sb_row_bits,
        no_rw_check=not config.weight_update,
    )
