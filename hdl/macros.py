"""Memories as macros: every RAM of a design becomes an instance of a shape-named module.

An ASIC flow does not build RAMs from flip-flops: a foundry SRAM compiler makes a macro of the
right shape, and the netlist instantiates it. :func:`convert` writes a design's Verilog with
every Amaranth ``Memory`` replaced by an instance of such a macro module; :func:`models` writes
the behavioural Verilog models of the macros (for simulation), :func:`stubs` their empty
black-box declarations (for synthesis, where the macro's area comes from an SRAM area model).
``--memories flops`` (the default elsewhere) keeps today's inferred memories.

Macro names encode the shape (:attr:`MacroShape.name`)::

    accelgen_ram_<depth>x<width>_<R>r<s|a>_<W>w[_m<G>][_t]

``R`` read ports, synchronous (``s``) or asynchronous (``a``, data follows the address in the
same cycle: a register file / latch array rather than an SRAM); ``W`` write ports; ``_m<G>``
when writes are masked in lanes of ``G`` bits; ``_t`` when a read port is transparent (returns
the word being written in the same cycle instead of the old one).

Port list (the same for every macro, in this order)::

    clk                         rising-edge clock of every port
    r<i>_en                     read enable of read port i (1 bit; ignored when asynchronous)
    r<i>_addr [A-1:0]           read address, A = max(1, ceil(log2(depth)))
    r<i>_data [width-1:0]       read data: the word at r<i>_addr one cycle after an enabled
                                read (synchronous), or now (asynchronous); held otherwise
    w<j>_en   [width/G-1:0]     write enable, one bit per G-bit lane (one bit when unmasked)
    w<j>_addr [A-1:0]           write address
    w<j>_data [width-1:0]       write data, written at the rising edge ending the cycle

Contents start as zeros (every memory of the generated cores has ``init=[]``); read data is
unknown before the first enabled read, as in the inferred memories. A memory with non-zero
initial contents (a ROM) is left inferred; none of the cores has one.
"""

from __future__ import annotations

from dataclasses import dataclass

from amaranth.hdl import Cat, ClockSignal, Const, Fragment, Instance, MemoryInstance, Shape

from .verilog import top_ports

__all__ = [
    "MEMORY_MODES",
    "MacroShape",
    "MacroUse",
    "convert",
    "models",
    "replace_memories",
    "stubs",
]

MEMORY_MODES = ("flops", "macros")
PREFIX = "accelgen_ram_"


@dataclass(frozen=True, order=True)
class MacroShape:
    """The shape of one RAM macro; equal shapes share one module."""

    depth: int
    width: int
    read_ports: int
    write_ports: int
    async_read: bool = False
    granularity: int = 0  # 0: unmasked writes
    transparent: bool = False

    @property
    def addr_bits(self) -> int:
        return max(1, (self.depth - 1).bit_length())

    @property
    def lanes(self) -> int:
        return self.width // self.granularity if self.granularity else 1

    @property
    def bits(self) -> int:
        return self.depth * self.width

    @property
    def name(self) -> str:
        kind = "a" if self.async_read else "s"
        name = f"{PREFIX}{self.depth}x{self.width}_{self.read_ports}r{kind}_{self.write_ports}w"
        if self.granularity:
            name += f"_m{self.granularity}"
        if self.transparent:
            name += "_t"
        return name


@dataclass(frozen=True)
class MacroUse:
    """One memory of the design replaced by a macro: its hierarchical name and shape."""

    path: str
    shape: MacroShape


def _shape_of(mem: MemoryInstance) -> MacroShape | None:
    data = mem._data
    width = Shape.cast(data.shape).width
    if any(data.init):
        return None  # a ROM: left inferred
    domains = {p._domain for p in mem._read_ports if p._domain != "comb"}
    domains |= {p._domain for p in mem._write_ports}
    if len(domains) > 1:
        raise ValueError(f"memory with ports in several clock domains ({sorted(domains)})")
    kinds = {p._domain == "comb" for p in mem._read_ports}
    if len(kinds) > 1:
        raise ValueError("memory with both synchronous and asynchronous read ports")
    grans = {p._granularity for p in mem._write_ports}
    if len(grans) > 1:
        raise ValueError(f"memory with write ports of different granularity ({sorted(grans)})")
    gran = grans.pop() if grans else width
    return MacroShape(
        depth=data.depth,
        width=width,
        read_ports=len(mem._read_ports),
        write_ports=len(mem._write_ports),
        async_read=kinds == {True},
        granularity=0 if gran == width else gran,
        transparent=any(p._transparent_for for p in mem._read_ports),
    )


def _addr(value, bits: int):
    return value if len(value) == bits else Cat(value, Const(0, bits - len(value)))


def _instance(mem: MemoryInstance, shape: MacroShape) -> Instance:
    domain = next(
        (p._domain for p in [*mem._write_ports, *mem._read_ports] if p._domain != "comb"), "sync"
    )
    a = shape.addr_bits
    ports: dict = {"i_clk": ClockSignal(domain)}
    for i, p in enumerate(mem._read_ports):
        ports[f"i_r{i}_en"] = p._en
        ports[f"i_r{i}_addr"] = _addr(p._addr, a)
        ports[f"o_r{i}_data"] = p._data
    for j, p in enumerate(mem._write_ports):
        ports[f"i_w{j}_en"] = p._en
        ports[f"i_w{j}_addr"] = _addr(p._addr, a)
        ports[f"i_w{j}_data"] = p._data
    return Instance(shape.name, src_loc=mem.src_loc, **ports)


def replace_memories(fragment: Fragment, path: str = "") -> list[MacroUse]:
    """Replace, in place, every memory below ``fragment`` by a macro instance.

    Returns the replaced memories (hierarchical name and shape), in hierarchy order.
    """
    uses: list[MacroUse] = []
    for k, (sub, name, src_loc) in enumerate(fragment.subfragments):
        sub_path = f"{path}.{name}" if path else str(name)
        if isinstance(sub, MemoryInstance):
            shape = _shape_of(sub)
            if shape is None:
                continue
            fragment.subfragments[k] = (_instance(sub, shape), name, src_loc)
            uses.append(MacroUse(sub_path, shape))
        else:
            uses += replace_memories(sub, sub_path)
    return uses


def convert(
    component, name: str, *, memories: str = "flops", emit_src: bool = False
) -> tuple[str, list[MacroUse]]:
    """Verilog of ``component`` (top module ``name``) and the memories made macros.

    ``memories="flops"`` is Amaranth's plain conversion (memories inferred; the list is empty);
    ``"macros"`` instantiates a macro per memory (the macro modules are not included: add
    :func:`models` for simulation, :func:`stubs` for synthesis).
    """
    from amaranth.back import verilog

    if memories not in MEMORY_MODES:
        raise ValueError(f"memories must be one of {', '.join(MEMORY_MODES)}, got {memories!r}")
    ports = top_ports(component)
    if memories == "flops":
        return verilog.convert(component, name=name, ports=ports, emit_src=emit_src), []
    fragment = Fragment.get(component, None)
    uses = replace_memories(fragment)
    text = verilog.convert(fragment, name=name, ports=ports, emit_src=emit_src)
    return text, uses


def _shapes(shapes) -> list[MacroShape]:
    return sorted({s.shape if isinstance(s, MacroUse) else s for s in shapes})


def _port_decls(s: MacroShape, *, reg_data: bool) -> list[str]:
    a, w = s.addr_bits, s.width
    lines = ["  input clk;"]
    for i in range(s.read_ports):
        kind = "output reg" if reg_data else "output"
        lines += [
            f"  input r{i}_en;",
            f"  input [{a - 1}:0] r{i}_addr;",
            f"  {kind} [{w - 1}:0] r{i}_data;",
        ]
    for j in range(s.write_ports):
        lines += [
            f"  input [{s.lanes - 1}:0] w{j}_en;",
            f"  input [{a - 1}:0] w{j}_addr;",
            f"  input [{w - 1}:0] w{j}_data;",
        ]
    return lines


def _port_names(s: MacroShape) -> str:
    names = ["clk"]
    names += [f"r{i}_{x}" for i in range(s.read_ports) for x in ("en", "addr", "data")]
    names += [f"w{j}_{x}" for j in range(s.write_ports) for x in ("en", "addr", "data")]
    return ", ".join(names)


def _model(s: MacroShape) -> str:
    g = s.granularity or s.width
    out = [
        f"// behavioural model of {s.name}: {s.depth} words x {s.width} bits, "
        f"{s.read_ports} {'asynchronous' if s.async_read else 'synchronous'} read port(s), "
        f"{s.write_ports} write port(s)" + (f", {g}-bit write lanes" if s.granularity else ""),
        f"module {s.name} ({_port_names(s)});",
        *_port_decls(s, reg_data=not s.async_read),
        f"  reg [{s.width - 1}:0] mem [0:{s.depth - 1}];",
        "  integer k;",
        "  initial for (k = 0; k < " + str(s.depth) + "; k = k + 1) mem[k] = 0;",
    ]
    if s.write_ports:
        out.append("  always @(posedge clk) begin")
        for j in range(s.write_ports):
            for lane in range(s.lanes):
                lo = lane * g
                out.append(
                    f"    if (w{j}_en[{lane}]) mem[w{j}_addr][{lo + g - 1}:{lo}] <= "
                    f"w{j}_data[{lo + g - 1}:{lo}];"
                )
        out.append("  end")
    for i in range(s.read_ports):
        if s.async_read:
            out.append(f"  assign r{i}_data = mem[r{i}_addr];")
            continue
        if not s.transparent:
            out.append(f"  always @(posedge clk) if (r{i}_en) r{i}_data <= mem[r{i}_addr];")
            continue
        # transparent: the word as it is after this edge's writes
        out += [
            f"  reg [{s.width - 1}:0] r{i}_next;",
            "  always @* begin",
            f"    r{i}_next = mem[r{i}_addr];",
        ]
        for j in range(s.write_ports):
            for lane in range(s.lanes):
                lo = lane * g
                out.append(
                    f"    if (w{j}_en[{lane}] && w{j}_addr == r{i}_addr) "
                    f"r{i}_next[{lo + g - 1}:{lo}] = w{j}_data[{lo + g - 1}:{lo}];"
                )
        out += ["  end", f"  always @(posedge clk) if (r{i}_en) r{i}_data <= r{i}_next;"]
    out.append("endmodule")
    return "\n".join(out) + "\n"


def models(shapes) -> str:
    """Behavioural Verilog of the macros (``MacroShape`` or ``MacroUse`` items; deduplicated)."""
    return "\n".join(_model(s) for s in _shapes(shapes))


def stubs(shapes) -> str:
    """Black-box declarations of the macros (ports only) for synthesis."""
    out = []
    for s in _shapes(shapes):
        out += [
            "(* blackbox *)",
            f"module {s.name} ({_port_names(s)});",
            *_port_decls(s, reg_data=False),
            "endmodule",
            "",
        ]
    return "\n".join(out)
