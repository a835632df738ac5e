"""The port kinds every block uses: a write port, a read port, the EIE entry stream.

Each signature is declared from the **initiator's** view (the side that drives the address),
as ``amaranth-soc``'s bus signatures are: a block that *owns* a memory takes the port as
``In(HostWriteSignature(...))`` (flipped), a block that *drives* one (the EIE arithmetic unit
writing its register file) as ``Out(...)``. Member names follow
:class:`amaranth.lib.memory.WritePort` / ``ReadPort``: ``addr``, ``data``, ``en``.
"""

from __future__ import annotations

from amaranth.hdl import Shape, ShapeCastable, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

__all__ = [
    "ENTRY_INDEX_BITS",
    "HOST_ONLY",
    "HostWriteSignature",
    "ReadPortSignature",
    "entry_layout",
    "entry_stream",
]


def _shape(value) -> Shape | ShapeCastable:
    return unsigned(value) if isinstance(value, int) else value


class _PortSignature(wiring.Signature):
    """A signature described by its constructor parameters: ``==`` compares them and ``repr``
    rebuilds the call (the amaranth-soc convention)."""

    def __init__(self, members: dict, *, addr_width: int, data_shape, **params) -> None:
        self._params = {"addr_width": addr_width, "data_shape": _shape(data_shape), **params}
        super().__init__(members)

    @property
    def addr_width(self) -> int:
        return self._params["addr_width"]

    @property
    def data_shape(self):
        return self._params["data_shape"]

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and other._params == self._params

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._params.items())
        return f"{type(self).__name__}({args})"


class HostWriteSignature(_PortSignature):
    """A write port: ``data`` is written at ``addr`` at the clock edge ending a cycle with
    ``en`` high (one word per cycle; ``en`` has one bit per lane of a lane-masked memory).

    Parameters
    ----------
    addr_width : int
        Address bits.
    data_shape : int or shape
        Width of ``data`` (an ``int``: unsigned) or its shape (e.g. ``signed(16)``).
    en_width : int
        Write-enable bits (lanes). Default 1.

    Members (initiator's view)
    --------------------------
    addr : Out(addr_width)
    data : Out(data_shape)
    en : Out(en_width)
    """

    def __init__(self, *, addr_width: int, data_shape, en_width: int = 1) -> None:
        members = {"addr": Out(addr_width), "data": Out(_shape(data_shape)), "en": Out(en_width)}
        super().__init__(members, addr_width=addr_width, data_shape=data_shape, en_width=en_width)

    @property
    def en_width(self) -> int:
        return self._params["en_width"]


class ReadPortSignature(_PortSignature):
    """A synchronous read port: ``data`` is the word at the ``addr`` of the previous cycle
    (**1 cycle** latency; not transparent to a write in the same cycle), read when ``en`` is
    high (with ``enable=False`` the port has no ``en`` and reads every cycle).

    Parameters
    ----------
    addr_width : int
        Address bits.
    data_shape : int or shape
        Width of ``data`` (an ``int``: unsigned) or its shape.
    enable : bool
        Whether the port has a read enable ``en``. Default ``True``.

    Members (initiator's view)
    --------------------------
    addr : Out(addr_width)
    en : Out(1)
        Only with ``enable``.
    data : In(data_shape)
    """

    def __init__(self, *, addr_width: int, data_shape, enable: bool = True) -> None:
        members = {"addr": Out(addr_width)}
        if enable:
            members["en"] = Out(1)
        members["data"] = In(_shape(data_shape))
        super().__init__(members, addr_width=addr_width, data_shape=data_shape, enable=enable)

    @property
    def enable(self) -> bool:
        return self._params["enable"]


#: Attributes of a memory written only by the host while the core is idle and read only while
#: it runs, so that no result depends on a read and a write of one word in the same cycle:
#: Yosys' ``no_rw_check`` lets the synthesized RAM drop the emulation of the old-word rule
#: (registered write data and address, a compare and a multiplexer behind the RAM's read data).
#: The simulators keep the rule; a same-cycle host write and core read of one word (which the
#: host protocol rules out) is undefined on the synthesized core.
HOST_ONLY = {"no_rw_check": 1}

#: Bits of an EIE entry's weight index ``v`` and relative row index ``z`` (one nibble each).
ENTRY_INDEX_BITS = 4


def entry_layout(act_bits: int, *, merged: bool = False) -> data.StructLayout:
    """One sparse-matrix entry with its column's activation (``docs/numerics.md``, EIE format):
    ``act`` (signed), the weight index ``v``, the relative row ``z``, and ``first`` (the first
    entry of a column: ``z`` counts from row 0, not from the previous entry's row). With
    ``merged``, ``pad``: a padding entry (``z = 15``) was issued together with this one, whose
    row is then 16 further."""
    fields = {
        "act": signed(act_bits),
        "v": ENTRY_INDEX_BITS,
        "z": ENTRY_INDEX_BITS,
        "first": 1,
    }
    if merged:
        fields["pad"] = 1
    return data.StructLayout(fields)


def entry_stream(act_bits: int, *, merged: bool = False) -> stream.Signature:
    """The entry stream SpMatReader -> ArithUnit: one entry per cycle, no backpressure
    (``always_ready``: the arithmetic unit takes an entry every cycle)."""
    return stream.Signature(entry_layout(act_bits, merged=merged), always_ready=True)
