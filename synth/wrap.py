"""I/O register wrapper: make the timing of a generated top meaningful after place and route.

A core's ports driven straight from FPGA pins would put pad delays and unconstrained I/O paths
into the reported Fmax, and a top with more port bits than the package has pins cannot be placed
at all. :class:`IORegisterWrapper` instantiates the generated Verilog top (by module name, so the
Verilog that is synthesized is exactly the one shipped) and puts a flip-flop on every port bit:

* ``parallel``: one pin per port bit, registered on the way in and on the way out. The wrapper's
  ports have the core's names.
* ``serial``: for tops wider than the package: all input bits come from a shift register fed by
  the pin ``sin``; all output bits are captured into a register (pin ``capture`` high) that
  otherwise shifts out through ``sout``. Four pins plus clock and reset, whatever the width.

Either way every core input is a register output and every core output a register input, so all
timing paths start and end inside the fabric, and no logic can be optimised away (every input
bit is controllable, every output bit observable). The wrapper adds exactly ``in_bits +
out_bits`` flip-flops, reported separately by the synthesis flow. It is for synthesis only: its
extra cycles of latency break the cores' handshakes, so it is never simulated against them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from amaranth.hdl import Cat, ClockSignal, Instance, Module, ResetSignal, Signal, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["IOMode", "IORegisterWrapper", "Port", "verilog_ports"]

IOMode = Literal["parallel", "serial"]
CLOCK, RESET = "clk", "rst"

_IDENT = r"(?:\\\S+|[A-Za-z_][A-Za-z0-9_$]*)"
_DECL = re.compile(
    rf"^\s*(input|output)\s+(?:wire\s+|reg\s+)?(?:signed\s+)?(?:\[(\d+):(\d+)\]\s*)?({_IDENT})\s*;",
    re.M,
)


@dataclass(frozen=True)
class Port:
    """One port of a Verilog module: ``name``, ``direction`` (``input``/``output``), ``width``."""

    name: str
    direction: str
    width: int


def verilog_ports(verilog: str, module: str) -> list[Port]:
    """The ports of ``module`` in Verilog text as written by Amaranth (ANSI-less declarations).

    Raises ``ValueError`` naming the module when it is not defined in the text.
    """
    start = re.search(rf"^\s*module\s+{re.escape(module)}\s*\(", verilog, re.M)
    if start is None:
        raise ValueError(f"module {module!r} is not defined in the Verilog")
    end = verilog.find("endmodule", start.end())
    body = verilog[start.end() : end if end >= 0 else len(verilog)]
    ports = []
    for m in _DECL.finditer(body):
        direction, msb, lsb, name = m.groups()
        width = abs(int(msb) - int(lsb)) + 1 if msb is not None else 1
        ports.append(Port(name.lstrip("\\").strip(), direction, width))
    return ports


def _member(component, port: str):
    obj = component
    for part in port.split("__"):
        obj = obj[int(part)] if part.isdigit() else getattr(obj, part)
    return Value.cast(obj)


def _pin_name(port: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", port)


class IORegisterWrapper(wiring.Component):
    """Registers around every data port of the Verilog top ``top`` (see the module docstring).

    Latency: one extra cycle on every input and one on every output.

    Parameters
    ----------
    top : str
        Module name of the wrapped Verilog top (instantiated as a black box; synthesize the
        wrapper's Verilog together with the top's).
    ports : list of Port
        The top's ports, from :func:`verilog_ports`. ``clk`` and ``rst`` are connected to the
        wrapper's ``sync`` clock and reset; every other port is registered.
    mode : {"parallel", "serial"}
        Pin scheme.
    core : wiring.Component, optional
        Connect this Amaranth component (ports looked up by name, ``a__b`` as ``a.b``) instead
        of instantiating the Verilog module ``top``; for simulating the wrapper itself.

    Members
    -------
    parallel mode: one ``In``/``Out`` member per data port, same name and width as the top's.
    serial mode: ``sin : In(1)``, ``capture : In(1)``, ``sout : Out(1)``.
    """

    def __init__(
        self, top: str, ports: list[Port], *, mode: IOMode = "parallel", core=None
    ) -> None:
        if mode not in ("parallel", "serial"):
            raise ValueError(f"mode must be 'parallel' or 'serial', got {mode!r}")
        data = [p for p in ports if p.name not in (CLOCK, RESET)]
        if not data:
            raise ValueError(f"top {top!r} has no data ports to wrap")
        self.top = top
        self.mode = mode
        self.core = core
        self.in_ports = [p for p in data if p.direction == "input"]
        self.out_ports = [p for p in data if p.direction == "output"]
        self.clocked = {p.name for p in ports} & {CLOCK, RESET}
        if mode == "parallel":
            members = {}
            for p in data:
                members[_pin_name(p.name)] = (In if p.direction == "input" else Out)(p.width)
        else:
            members = {"sin": In(1), "capture": In(1), "sout": Out(1)}
        super().__init__(members)

    @property
    def in_bits(self) -> int:
        """Total width of the wrapped top's data inputs."""
        return sum(p.width for p in self.in_ports)

    @property
    def out_bits(self) -> int:
        """Total width of the wrapped top's outputs."""
        return sum(p.width for p in self.out_ports)

    @property
    def register_bits(self) -> int:
        """Flip-flops the wrapper adds: one per data port bit."""
        return self.in_bits + self.out_bits

    def elaborate(self, platform) -> Module:
        m = Module()
        in_regs = [Signal(p.width, name=f"in_{_pin_name(p.name)}") for p in self.in_ports]
        out_wires = [Signal(p.width, name=f"core_{_pin_name(p.name)}") for p in self.out_ports]
        if self.core is not None:
            m.submodules.core = self.core
            for p, s in zip(self.in_ports, in_regs, strict=True):
                m.d.comb += _member(self.core, p.name).eq(s)
            for p, s in zip(self.out_ports, out_wires, strict=True):
                m.d.comb += s.eq(_member(self.core, p.name))
        else:
            kwargs = {}
            if CLOCK in self.clocked:
                kwargs[f"i_{CLOCK}"] = ClockSignal("sync")
            if RESET in self.clocked:
                kwargs[f"i_{RESET}"] = ResetSignal("sync")
            for p, s in zip(self.in_ports, in_regs, strict=True):
                kwargs[f"i_{p.name}"] = s
            for p, s in zip(self.out_ports, out_wires, strict=True):
                kwargs[f"o_{p.name}"] = s
            m.submodules.core = Instance(self.top, **kwargs)

        if self.mode == "parallel":
            for p, s in zip(self.in_ports, in_regs, strict=True):
                m.d.sync += s.eq(getattr(self, _pin_name(p.name)))
            for p, s in zip(self.out_ports, out_wires, strict=True):
                m.d.sync += getattr(self, _pin_name(p.name)).eq(s)
            return m

        if in_regs:
            chain = Cat(*in_regs)
            m.d.sync += chain.eq(Cat(self.sin, chain[:-1]))
        if out_wires:
            captured = Signal(self.out_bits)
            with m.If(self.capture):
                m.d.sync += captured.eq(Cat(*out_wires))
            with m.Else():
                m.d.sync += captured.eq(captured >> 1)
            m.d.comb += self.sout.eq(captured[0])
        return m
