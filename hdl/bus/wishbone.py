"""Wishbone B4 classic slave front-end and the Wishbone-wrapped cores (``--bus wishbone``)."""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out, connect, flipped

from .bridge import HostBridge, RegBusSignature
from .signatures import RESP_OKAY, WishboneSignature

__all__ = ["WishboneFrontend", "WishboneWrapped"]


class WishboneFrontend(wiring.Component):
    """Wishbone B4 classic slave -> :class:`~accelgen.hdl.bus.bridge.RegBusSignature`.

    ``adr`` is a 32-bit word address (byte address ``adr << 2``). A cycle (``cyc & stb``) is
    answered by ``ack`` (OKAY) or ``err`` (SLVERR / DECERR of the register map) for one cycle,
    at the earliest 3 cycles after ``stb`` rises.
    """

    def __init__(self, addr_width: int) -> None:
        self.addr_width = addr_width
        super().__init__(
            {
                "wb": In(WishboneSignature(addr_width - 2)),
                "reg": Out(RegBusSignature(addr_width)),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        wb, reg = self.wb, self.reg
        rdata = Signal(32)
        with m.FSM(name="wb"):
            with m.State("IDLE"):
                with m.If(wb.cyc & wb.stb):
                    m.d.sync += [
                        reg.req_we.eq(wb.we),
                        reg.req_addr.eq(Cat(Const(0, 2), wb.adr)),
                        reg.req_wdata.eq(wb.dat_w),
                        reg.req_wstrb.eq(wb.sel),
                    ]
                    m.next = "REQ"
            with m.State("REQ"):
                m.d.comb += reg.req_valid.eq(1)
                with m.If(reg.resp_valid):
                    m.d.sync += [
                        rdata.eq(reg.resp_rdata),
                        wb.ack.eq(reg.resp_err == RESP_OKAY),
                        wb.err.eq(reg.resp_err != RESP_OKAY),
                    ]
                    m.next = "ACK"
                with m.Elif(~wb.cyc):  # the master abandoned the cycle: finish it silently
                    m.next = "DRAIN"
            with m.State("ACK"):
                m.d.sync += [wb.ack.eq(0), wb.err.eq(0)]
                m.next = "IDLE"
            with m.State("DRAIN"):
                m.d.comb += reg.req_valid.eq(1)
                with m.If(reg.resp_valid):
                    m.next = "IDLE"
        m.d.comb += wb.dat_r.eq(rdata)
        return m


class WishboneWrapped(wiring.Component):
    """A core behind a Wishbone B4 classic slave ``wb`` (register map and window), with an
    interrupt ``irq``; active-high synchronous ``rst``.

    Parameters
    ----------
    port : EIEPort | DianNaoPort
    pe_module : str, optional
        EIE only: the PEs as an external module (see ``EIETop``).
    """

    def __init__(self, port, *, pe_module: str | None = None) -> None:
        self.port = port
        self.layout = lay = port.layout
        self.pe_module = pe_module
        super().__init__({"wb": In(WishboneSignature(lay.addr_bits - 2)), "irq": Out(1)})

    def elaborate(self, platform) -> Module:
        m = Module()
        m.submodules.wb = fe = WishboneFrontend(self.layout.addr_bits)
        m.submodules.bridge = br = HostBridge(self.port, streams=False, pe_module=self.pe_module)
        connect(m, flipped(self.wb), fe.wb)
        connect(m, fe.reg, br.bus)
        m.d.comb += self.irq.eq(br.irq)
        return m
