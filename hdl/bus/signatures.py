"""Bus signatures (``amaranth.lib.wiring``), seen from the master: a slave port is ``.flip()``.

Member names are the AMBA / Wishbone B4 signal names without prefix; the wrapped tops flatten
them to ``<port>_<name>`` (``s_axil_awaddr``, ``wb_cyc``), the usual names of IP integrators.
"""

from __future__ import annotations

from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = [
    "RESP_DECERR",
    "RESP_OKAY",
    "RESP_SLVERR",
    "AXI4LiteSignature",
    "AXI4StreamSignature",
    "WishboneSignature",
]

RESP_OKAY = 0
RESP_SLVERR = 2
RESP_DECERR = 3


class AXI4LiteSignature(wiring.Signature):
    """AXI4-Lite (master view), 32-bit data, ``addr_width``-bit byte addresses."""

    def __init__(self, addr_width: int, data_width: int = 32) -> None:
        if data_width not in (32, 64):
            raise ValueError(f"AXI4-Lite data width must be 32 or 64, got {data_width!r}")
        if not 1 <= addr_width <= 64:
            raise ValueError(f"address width must be 1..64, got {addr_width!r}")
        self.addr_width, self.data_width = addr_width, data_width
        super().__init__(
            {
                "awaddr": Out(addr_width),
                "awprot": Out(3),
                "awvalid": Out(1),
                "awready": In(1),
                "wdata": Out(data_width),
                "wstrb": Out(data_width // 8),
                "wvalid": Out(1),
                "wready": In(1),
                "bresp": In(2),
                "bvalid": In(1),
                "bready": Out(1),
                "araddr": Out(addr_width),
                "arprot": Out(3),
                "arvalid": Out(1),
                "arready": In(1),
                "rdata": In(data_width),
                "rresp": In(2),
                "rvalid": In(1),
                "rready": Out(1),
            }
        )


class AXI4StreamSignature(wiring.Signature):
    """AXI4-Stream (source view): ``tdata``, ``tvalid``, ``tready``, ``tlast`` and ``tuser``."""

    def __init__(self, data_width: int, user_width: int = 0) -> None:
        if data_width <= 0 or data_width % 8:
            raise ValueError(f"tdata width must be a positive multiple of 8, got {data_width!r}")
        self.data_width, self.user_width = data_width, user_width
        members = {
            "tdata": Out(data_width),
            "tvalid": Out(1),
            "tready": In(1),
            "tlast": Out(1),
        }
        if user_width:
            members["tuser"] = Out(user_width)
        super().__init__(members)


class WishboneSignature(wiring.Signature):
    """Wishbone B4 classic (master view): word addresses, 32-bit data, byte selects, ERR."""

    def __init__(self, addr_width: int) -> None:
        if not 1 <= addr_width <= 64:
            raise ValueError(f"address width must be 1..64, got {addr_width!r}")
        self.addr_width = addr_width
        super().__init__(
            {
                "cyc": Out(1),
                "stb": Out(1),
                "we": Out(1),
                "adr": Out(addr_width),
                "dat_w": Out(32),
                "sel": Out(4),
                "dat_r": In(32),
                "ack": In(1),
                "err": In(1),
            }
        )
