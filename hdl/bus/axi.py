"""AXI4-Lite slave front-end and the AXI-wrapped cores (``accelgen generate --bus axi``)."""

from __future__ import annotations

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out, connect, flipped

from .bridge import HostBridge, RegBusSignature
from .signatures import AXI4LiteSignature, AXI4StreamSignature

__all__ = ["AXI4LiteFrontend", "AXIWrapped"]


class AXI4LiteFrontend(wiring.Component):
    """AXI4-Lite slave -> :class:`~accelgen.hdl.bus.bridge.RegBusSignature`, one access at a time.

    A write is accepted when both ``awvalid`` and ``wvalid`` are high (``awready`` and
    ``wready`` rise together, for one cycle); a read when ``arvalid`` is high. With both pending,
    reads and writes alternate. ``bvalid`` / ``rvalid`` are held until ``bready`` / ``rready``.
    Latency: request at the handshake's next cycle, response the cycle after the bridge answers.
    """

    def __init__(self, addr_width: int) -> None:
        super().__init__(
            {
                "axi": In(AXI4LiteSignature(addr_width)),
                "reg": Out(RegBusSignature(addr_width)),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        axi, reg = self.axi, self.reg
        last_read = Signal()  # the previous access was a read: writes get priority next
        resp = Signal(2)
        rdata = Signal(32)
        aw_ok = axi.awvalid & axi.wvalid
        with m.FSM(name="axil"):
            with m.State("IDLE"):
                take_w = aw_ok & (last_read | ~axi.arvalid)
                with m.If(take_w):
                    m.d.comb += [axi.awready.eq(1), axi.wready.eq(1)]
                    m.d.sync += [
                        reg.req_we.eq(1),
                        reg.req_addr.eq(axi.awaddr),
                        reg.req_wdata.eq(axi.wdata),
                        reg.req_wstrb.eq(axi.wstrb),
                        last_read.eq(0),
                    ]
                    m.next = "REQ"
                with m.Elif(axi.arvalid):
                    m.d.comb += axi.arready.eq(1)
                    m.d.sync += [
                        reg.req_we.eq(0),
                        reg.req_addr.eq(axi.araddr),
                        last_read.eq(1),
                    ]
                    m.next = "REQ"
            with m.State("REQ"):
                m.d.comb += reg.req_valid.eq(1)
                with m.If(reg.resp_valid):
                    m.d.sync += [resp.eq(reg.resp_err), rdata.eq(reg.resp_rdata)]
                    with m.If(reg.req_we):
                        m.next = "BRESP"
                    with m.Else():
                        m.next = "RRESP"
            with m.State("BRESP"):
                m.d.comb += [axi.bvalid.eq(1), axi.bresp.eq(resp)]
                with m.If(axi.bready):
                    m.next = "IDLE"
            with m.State("RRESP"):
                m.d.comb += [axi.rvalid.eq(1), axi.rresp.eq(resp), axi.rdata.eq(rdata)]
                with m.If(axi.rready):
                    m.next = "IDLE"
        return m


class AXIWrapped(wiring.Component):
    """A core behind AXI4-Lite (``s_axil``), AXI4-Stream commands (``s_axis``) and results
    (``m_axis``), with an interrupt ``irq``; active-high synchronous ``rst``.

    Parameters
    ----------
    port : EIEPort | DianNaoPort
        :func:`~accelgen.hdl.bus.bridge.core_port` of the core and its configuration.
    pe_module : str, optional
        EIE only: the PEs as an external module (see ``EIETop``).
    """

    def __init__(self, port, *, pe_module: str | None = None) -> None:
        self.port = port
        self.layout = lay = port.layout
        self.pe_module = pe_module
        super().__init__(
            {
                "s_axil": In(AXI4LiteSignature(lay.addr_bits)),
                "s_axis": In(AXI4StreamSignature(lay.cmd_bits)),
                "m_axis": Out(AXI4StreamSignature(lay.rsp_bits, 1)),
                "irq": Out(1),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        m.submodules.axil = fe = AXI4LiteFrontend(self.layout.addr_bits)
        m.submodules.bridge = br = HostBridge(self.port, streams=True, pe_module=self.pe_module)
        connect(m, flipped(self.s_axil), fe.axi)
        connect(m, fe.reg, br.bus)
        connect(m, flipped(self.s_axis), br.s_axis)
        connect(m, flipped(self.m_axis), br.m_axis)
        m.d.comb += self.irq.eq(br.irq)
        return m
