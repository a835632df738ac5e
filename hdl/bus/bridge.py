"""Bus-independent part of the wrappers: register block, core-memory window, command streams.

:class:`HostBridge` instantiates a core and serves the register map of
:mod:`accelgen.spec.regmap` on a simple request/response port (:class:`RegBusSignature`),
which the AXI4-Lite and Wishbone front-ends (:mod:`~accelgen.hdl.bus.axi`,
:mod:`~accelgen.hdl.bus.wishbone`) drive. Optionally it also takes AXI4-Stream commands (write
or read one core word each) and returns read results on an AXI4-Stream source.

Core accesses from the window and from the command stream share one issue register in front of
the core's host port (window first); at most one access per cycle. A read's data comes back
``1 + read_latency`` cycles after its issue decision through a tag pipeline, one more where the
core's read data comes straight from a block RAM and is registered here (EIE 4, DianNao 3);
stream results go through a FIFO whose free space is reserved at issue, so ``m_axis`` may stall
for any time without losing data. ``START`` is queued until the core is idle, no access is in
flight and the previous cycle had no host write (the cores' start rule).
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import fifo, wiring
from amaranth.lib.wiring import In, Out

from accelgen.spec import regmap

from .signatures import RESP_DECERR, RESP_OKAY, RESP_SLVERR, AXI4StreamSignature

__all__ = ["DianNaoPort", "EIEPort", "HostBridge", "RegBusSignature", "core_port"]

#: Result FIFO depth of the command stream (at least the read pipeline depth for full rate).
RSP_FIFO_DEPTH = 8


class RegBusSignature(wiring.Signature):
    """Front-end -> bridge port (front-end view): one 32-bit access at a time.

    ``req_*`` is held until ``resp_valid`` (a one-cycle pulse with ``resp_rdata`` and
    ``resp_err``: 0 OKAY, 2 SLVERR, 3 DECERR); the request must drop in the next cycle.
    """

    def __init__(self, addr_width: int) -> None:
        super().__init__(
            {
                "req_valid": Out(1),
                "req_we": Out(1),
                "req_addr": Out(addr_width),
                "req_wdata": Out(32),
                "req_wstrb": Out(4),
                "resp_valid": In(1),
                "resp_rdata": In(32),
                "resp_err": In(2),
            }
        )


class _CorePort:
    """What both cores' host ports share: ``start``, ``busy`` and ``done`` under those names."""

    #: Whether the core's read data comes from a flip-flop. When it comes straight from a
    #: block RAM (DianNao's NBout), the bridge registers it before its lane select and
    #: response multiplexers (one cycle more per read): on the ECP5 the block RAM's 5.6-5.8 ns
    #: clock-to-output and those multiplexers were the wrapped DianNao's critical path.
    rdata_registered = False

    def busy(self, core):
        return core.busy

    def done(self, core):
        return core.done

    def start(self, core):
        return core.start


class EIEPort(_CorePort):
    """How the bridge drives ``eie_top``'s host port."""

    core = "eie"
    rdata_registered = True  # ``rdata`` / ``rvalid`` are registers of eie_top

    def __init__(self, config) -> None:
        from accelgen.spec.eie import MemoryMap

        self.config = config
        self.memory_map = MemoryMap(config)
        self.layout = regmap.layout("eie", config)

    def make_core(self, pe_module: str | None):
        from accelgen.hdl.eie.top import EIETop

        return EIETop(self.config, pe_module=pe_module)

    def connect(self, m: Module, core, *, we, re, addr, wdata) -> None:
        m.d.comb += [
            core.addr.eq(addr),
            core.raddr.eq(addr),
            core.wdata.eq(wdata),
            core.we.eq(we),
            core.re.eq(re),
        ]

    def rdata(self, core):
        return core.rdata

    def decode_error(self, addr):
        return Const(0)

    def readable(self, addr):
        from accelgen.spec.eie import Region

        region = addr[self.memory_map.offset_bits :]
        return (region == Region.CTRL) | (region == Region.ACT) | (region == Region.STATS)

    def allowed_busy(self, addr, we):
        return Const(0)

    def registers(self, core) -> dict:
        """name -> ("const", value) | ("signal", value) | ("core", core address) handling."""
        return {
            "CYCLES": ("core", self.memory_map.total()),
            "LAYERS": ("core_shadow", self.memory_map.ctrl()),
            "N_PES": ("const", self.config.n_pes),
        }


class DianNaoPort(_CorePort):
    """How the bridge drives ``diannao_top``'s host port."""

    core = "diannao"

    def __init__(self, config) -> None:
        self.config = config
        self.layout = regmap.layout("diannao", config)

    def make_core(self, pe_module: str | None):
        from accelgen.hdl.diannao.top import DianNaoTop

        return DianNaoTop(self.config)

    def _sel(self, addr):
        return addr[self.config.host_addr_bits :]

    def connect(self, m: Module, core, *, we, re, addr, wdata) -> None:
        c = self.config
        m.d.comb += [
            core.host_we.eq(we),
            core.host_sel.eq(self._sel(addr)),
            core.host_addr.eq(addr[: c.host_addr_bits]),
            core.host_wdata.eq(wdata),
            core.host_raddr.eq(addr[: c.nbout_addr_bits]),
        ]

    def rdata(self, core):
        return core.host_rdata

    def decode_error(self, addr):
        from accelgen.spec.diannao import Sel

        return self._sel(addr) > max(Sel)

    def readable(self, addr):
        from accelgen.spec.diannao import Sel

        return self._sel(addr) == Sel.NBOUT

    def allowed_busy(self, addr, we):
        from accelgen.spec.diannao import Sel

        sel = self._sel(addr)
        return we & ((sel == Sel.NBIN) | (sel == Sel.SB))

    def registers(self, core) -> dict:
        return {
            "CYCLES": ("signal", core.cycles),
            "NFU_BUSY": ("signal", core.nfu_busy),
            "STALLS": ("signal", core.stalls),
            "TN": ("const", self.config.tn),
        }


def core_port(core: str, config) -> EIEPort | DianNaoPort:
    """The port adapter of ``core`` (``eie`` or ``diannao``) for ``config``."""
    if core == "eie":
        return EIEPort(config)
    if core == "diannao":
        return DianNaoPort(config)
    raise ValueError(f"core must be eie or diannao, got {core!r}")


class HostBridge(wiring.Component):
    """Register block, window and (optionally) command streams around one core.

    Parameters
    ----------
    port : EIEPort | DianNaoPort
    streams : bool
        Add ``s_axis`` (commands) and ``m_axis`` (read results).
    pe_module : str, optional
        EIE only: instantiate the PEs as this external module (see ``EIETop``).

    Members
    -------
    bus : In(RegBusSignature)
        Register accesses from the bus front-end; a register access answers 1 cycle after the
        request, a window write that commits or a window read waits for its core access.
    s_axis : In(AXI4StreamSignature(layout.cmd_bits))
        Commands: data, core address, flags (bit 0 read); writes stall while the core runs
        (DianNao NBin / SB writes excepted) or a start is queued.
    m_axis : Out(AXI4StreamSignature(layout.rsp_bits, 1))
        One beat per read command; ``tuser`` flags a bad address.
    irq : Out(1)
    """

    def __init__(self, port, *, streams: bool = True, pe_module: str | None = None) -> None:
        self.port = port
        self.layout = lay = port.layout
        self.streams = streams
        self.pe_module = pe_module
        members = {"bus": In(RegBusSignature(lay.addr_bits)), "irq": Out(1)}
        if streams:
            members["s_axis"] = In(AXI4StreamSignature(lay.cmd_bits))
            members["m_axis"] = Out(AXI4StreamSignature(lay.rsp_bits, 1))
        super().__init__(members)

    def elaborate(self, platform) -> Module:
        m = Module()
        lay, port = self.layout, self.port
        m.submodules.core = core = port.make_core(self.pe_module)
        cab, lanes, dw = lay.core_addr_bits, lay.lanes, lay.lanes * 32
        lane_bits = (lay.word_bytes // 4 - 1).bit_length()
        bus = self.bus

        # ------------------------------------------------------------ issue stage and tags
        iss_valid = Signal()  # an access is chosen this cycle
        iss_we = Signal()
        iss_addr = Signal(cab)
        iss_wdata = Signal(dw)
        iss_stream = Signal()
        iss_last = Signal()
        iss_err = Signal()
        q_we, q_re = Signal(), Signal()
        q_addr = Signal(cab)
        q_wdata = Signal(dw)
        m.d.sync += [
            q_we.eq(iss_valid & iss_we & ~iss_err),
            q_re.eq(iss_valid & ~iss_we & ~iss_err),
            q_addr.eq(iss_addr),
            q_wdata.eq(iss_wdata),
        ]
        port.connect(m, core, we=q_we, re=q_re, addr=q_addr, wdata=q_wdata[: lay.data_bits])
        depth = 1 + lay.read_latency + (not port.rdata_registered)
        # tag: valid read, to the stream, last, bad address
        tags = [Signal(4, name=f"tag{i}") for i in range(depth)]
        m.d.sync += tags[0].eq(Cat(iss_valid & ~iss_we, iss_stream, iss_last, iss_err))
        for i in range(1, depth):
            m.d.sync += tags[i].eq(tags[i - 1])
        ret = tags[-1]
        ret_data = Signal(dw)
        if port.rdata_registered:
            m.d.comb += ret_data.eq(Mux(ret[3], 0, port.rdata(core)))
        else:  # the data of tags[-2]'s read, registered
            m.d.sync += ret_data.eq(Mux(tags[-2][3], 0, port.rdata(core)))
        in_flight = Signal()
        m.d.comb += in_flight.eq(Cat(t[0] for t in tags).any() | q_we)

        # ------------------------------------------------------------ run control
        core_busy, core_done = port.busy(core), port.done(core)
        start_pending = Signal()
        start_q = Signal()
        fire = Signal()
        done_q = Signal()
        status_done = Signal()
        irq_en = Signal(2)
        irq_st = Signal(2)
        running = Signal()  # accesses not allowed while running are refused / stalled
        m.d.comb += [
            running.eq(core_busy | start_q),
            fire.eq(start_pending & ~core_busy & ~start_q & ~in_flight & ~iss_valid),
            port.start(core).eq(start_q),
            self.irq.eq((irq_en & irq_st).any()),
        ]
        m.d.sync += [start_q.eq(fire), done_q.eq(core_done)]
        with m.If(fire):
            m.d.sync += [start_pending.eq(0), status_done.eq(0)]
        done_evt = core_done & ~done_q
        stream_err = Signal()  # a command with a bad address was accepted this cycle

        # ------------------------------------------------------------ register requests
        addr = bus.req_addr
        is_win = addr >= lay.window_base
        w_off = Signal(lay.addr_bits)
        m.d.comb += w_off.eq(addr - lay.window_base)
        w_lane = w_off[2 : 2 + lane_bits] if lane_bits else Const(0, 1)
        w_core = w_off[2 + lane_bits : 2 + lane_bits + cab]
        staging = Signal(dw)
        regs = {r.name: r for r in regmap.registers(port.core)}
        impl = {
            "ID": ("const", regmap.ID_MAGIC | regmap.CORE_ID[port.core]),
            "VERSION": ("const", regmap.VERSION),
            "CTRL": ("ctrl", None),
            "STATUS": ("signal", Cat(start_pending | running, status_done)),
            "IRQ_ENABLE": ("irq_en", None),
            "IRQ_STATUS": ("irq_st", None),
            "WINDOW_BASE": ("const", lay.window_base),
            "WORD_BYTES": ("const", lay.word_bytes),
            "LANES": ("const", lay.lanes),
            **port.registers(core),
        }
        missing = set(regs) - set(impl)
        assert not missing, f"registers without gateware: {missing}"
        shadow = Signal(32)

        resp_valid = Signal()
        resp_rdata = Signal(32)
        resp_err = Signal(2)
        m.d.comb += [
            bus.resp_valid.eq(resp_valid),
            bus.resp_rdata.eq(resp_rdata),
            bus.resp_err.eq(resp_err),
        ]
        m.d.sync += resp_valid.eq(0)

        # the window / core-backed register access waiting for the issue stage
        w_pend = Signal()
        w_we = Signal()
        w_addr = Signal(cab)
        w_lane_q = Signal(max(1, lane_bits))
        w_wait = Signal()  # a window read is in the tag pipeline
        w_grant = Signal()
        w_shadow = Signal()  # the access writes the LAYERS shadow, not the staging register

        def respond(err=RESP_OKAY, data=0):
            m.d.sync += [resp_valid.eq(1), resp_err.eq(err), resp_rdata.eq(data)]

        def wstrb_merge(old, lane_idx):
            new = Signal(dw, name="staging_next")
            m.d.comb += new.eq(old)
            for k in range(lanes):
                for b in range(4):
                    with m.If((lane_idx == k) & bus.req_wstrb[b]):
                        m.d.comb += new[32 * k + 8 * b : 32 * k + 8 * b + 8].eq(
                            bus.req_wdata[8 * b : 8 * b + 8]
                        )
            return new

        staged = wstrb_merge(staging, w_lane)

        with m.FSM(name="regs"):
            with m.State("IDLE"):
                with m.If(bus.req_valid & ~resp_valid):
                    with m.If(is_win):
                        bad = (w_lane >= lanes) | port.decode_error(w_core)
                        if lay.addr_bits > 2 + lane_bits + cab:
                            bad = bad | (w_off[2 + lane_bits + cab :] != 0)
                        with m.If(bad):
                            respond(RESP_DECERR)
                            m.next = "RESP"
                        with m.Elif(bus.req_we & (w_lane != lanes - 1)):
                            m.d.sync += staging.eq(staged)
                            respond()
                            m.next = "RESP"
                        with m.Elif(~bus.req_we & ~port.readable(w_core)):
                            respond(RESP_SLVERR)
                            m.next = "RESP"
                        with m.Else():
                            m.d.sync += [
                                staging.eq(Mux(bus.req_we, staged, staging)),
                                w_shadow.eq(0),
                                w_we.eq(bus.req_we),
                                w_addr.eq(w_core),
                                w_lane_q.eq(w_lane),
                            ]
                            m.next = "WAIT_RUN"
                    with m.Else():
                        with m.Switch(addr):
                            for r in regs.values():
                                kind, arg = impl[r.name]
                                with m.Case(r.offset):
                                    self._register(
                                        m,
                                        r,
                                        kind,
                                        arg,
                                        respond,
                                        bus,
                                        shadow,
                                        cab,
                                        w_we,
                                        w_addr,
                                        w_lane_q,
                                        staging,
                                        dict(
                                            start_pending=start_pending,
                                            irq_en=irq_en,
                                            irq_st=irq_st,
                                            w_shadow=w_shadow,
                                        ),
                                    )
                            with m.Default():
                                respond(RESP_DECERR)
                                m.next = "RESP"
            with m.State("WAIT_RUN"):
                # a queued start goes first; then the core decides
                with m.If(~start_pending):
                    with m.If(running & ~port.allowed_busy(w_addr, w_we)):
                        respond(RESP_SLVERR)
                        m.next = "RESP"
                    with m.Else():
                        m.d.comb += w_pend.eq(1)
                        with m.If(w_grant):
                            with m.If(w_we):
                                respond()
                                m.next = "RESP"
                            with m.Else():
                                m.next = "READ"
            with m.State("READ"):
                m.d.comb += w_wait.eq(1)
                with m.If(ret[0] & ~ret[1]):
                    lane_val = ret_data.word_select(w_lane_q, 32) if lanes > 1 else ret_data
                    respond(RESP_OKAY, lane_val)
                    m.next = "RESP"
            with m.State("RESP"):  # resp_valid is high in this cycle
                m.next = "IDLE"

        # sticky interrupt status (after the register writes: an event wins over a clear)
        with m.If(done_evt):
            m.d.sync += [status_done.eq(1), irq_st[0].eq(1)]
        with m.If(stream_err):
            m.d.sync += irq_st[1].eq(1)

        # ------------------------------------------------------------ arbitration
        with m.If(w_pend):
            m.d.comb += [
                iss_valid.eq(1),
                iss_we.eq(w_we),
                iss_addr.eq(w_addr),
                iss_wdata.eq(Mux(w_shadow, shadow, staging)),
                w_grant.eq(1),
            ]
        if self.streams:
            s, r = self.s_axis, self.m_axis
            c_data = s.tdata[:dw]
            c_addr = s.tdata[dw : dw + 32]
            c_read = s.tdata[dw + 32]
            c_core = c_addr[:cab]
            c_bad = port.decode_error(c_core) | (c_addr[cab:] != 0)
            c_bad_rd = c_bad | ~port.readable(c_core)
            m.submodules.rsp = rsp = fifo.SyncFIFOBuffered(width=dw + 2, depth=RSP_FIFO_DEPTH)
            # reads issued but not yet popped from the FIFO
            credit = Signal(range(RSP_FIFO_DEPTH + 1))
            pop = r.tvalid & r.tready
            room = credit < RSP_FIFO_DEPTH
            ok_run = ~running | port.allowed_busy(c_core, ~c_read)
            accept = Signal()
            m.d.comb += accept.eq(
                s.tvalid & ~w_pend & ~start_pending & (c_bad | ok_run) & (~c_read | room)
            )
            m.d.comb += s.tready.eq(accept)
            with m.If(accept):
                m.d.comb += [
                    iss_valid.eq(1),
                    iss_we.eq(~c_read),
                    iss_addr.eq(c_core),
                    iss_wdata.eq(c_data),
                    iss_stream.eq(1),
                    iss_last.eq(s.tlast),
                    iss_err.eq(Mux(c_read, c_bad_rd, c_bad)),
                    stream_err.eq(Mux(c_read, c_bad_rd, c_bad)),
                ]
            issued_read = accept & c_read
            m.d.sync += credit.eq(credit + issued_read - pop)
            m.d.comb += [
                rsp.w_en.eq(ret[0] & ret[1]),
                rsp.w_data.eq(Cat(ret_data, ret[2], ret[3])),
                r.tvalid.eq(rsp.r_rdy),
                r.tdata.eq(rsp.r_data[:dw]),
                r.tlast.eq(rsp.r_data[dw]),
                r.tuser.eq(rsp.r_data[dw + 1]),
                rsp.r_en.eq(r.tready),
            ]
        return m

    @staticmethod
    def _register(
        m, r, kind, arg, respond, bus, shadow, cab, w_we, w_addr, w_lane_q, staging, st
    ) -> None:
        """The IDLE-state action of a request to register ``r`` (``kind`` from the table)."""
        we = bus.req_we
        if r.access == "ro":
            with m.If(we):
                respond(RESP_SLVERR)
                m.next = "RESP"
            with m.Else():
                if kind == "core":
                    m.d.sync += [w_we.eq(0), w_addr.eq(arg), w_lane_q.eq(0)]
                    m.next = "WAIT_RUN"
                else:
                    respond(RESP_OKAY, arg)
                    m.next = "RESP"
            return
        m.next = "RESP"
        if kind == "ctrl":
            with m.If(we & bus.req_wdata[0]):
                m.d.sync += st["start_pending"].eq(1)
            respond()
        elif kind == "irq_en":
            with m.If(we):
                m.d.sync += st["irq_en"].eq(bus.req_wdata[:2])
            respond(RESP_OKAY, st["irq_en"])
        elif kind == "irq_st":
            with m.If(we):
                m.d.sync += st["irq_st"].eq(st["irq_st"] & ~bus.req_wdata[:2])
            respond(RESP_OKAY, st["irq_st"])
        elif kind == "core_shadow":
            with m.If(we):
                m.d.sync += [
                    shadow.eq(bus.req_wdata),
                    st["w_shadow"].eq(1),
                    w_we.eq(1),
                    w_addr.eq(arg),
                ]
                m.next = "WAIT_RUN"
            with m.Else():
                respond(RESP_OKAY, shadow)
        else:
            raise AssertionError(f"register {r.name}: unknown kind {kind!r}")
