"""The bus register map of the wrapped cores: the one source of truth.

Pure Python (a spec: no NumPy, no Amaranth): the gateware (:mod:`accelgen.hdl.bus.bridge`) takes
every offset and access mode from :data:`REGISTERS`, and :func:`markdown`, :func:`c_header` and
:func:`constants` render the same table as the register-map document, the C header
``accelgen_<core>.h`` and the constants of the Python drivers.

Address space (byte addresses, 32-bit registers, AXI4-Lite or Wishbone):

* the *control page* (offsets below 0x100): :data:`REGISTERS`;
* the *window* at ``window_base``: the core's host address space, one core word per
  ``word_bytes`` (a power of two, at least 8), split into 32-bit lanes, lane 0 in the low bits.
  Writes fill a staging register lane by lane; writing the last used lane (``lanes - 1``) writes
  the whole staged word to the core. A read of any lane reads the core word and returns the lane.

Core addresses: EIE's are its memory map (``region << offset_bits | offset``,
:class:`~accelgen.spec.eie.MemoryMap`); DianNao's are ``host_sel << host_addr_bits |
host_addr`` (:class:`~accelgen.spec.diannao.Sel`).

Responses: DECERR for an address that decodes to nothing (an offset of the control page with no
register, a window lane at or above ``lanes``, a DianNao target above PWL); SLVERR for a write
to a read-only register, a read of a core word the core cannot read back, and a window access
(or a register backed by one) that the core refuses while it runs.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CORES",
    "CORE_ID",
    "REGISTERS",
    "VERSION",
    "Field",
    "Register",
    "c_header",
    "constants",
    "layout",
    "markdown",
    "register_table",
    "registers",
    "update_doc",
]

#: Register-map version (``VERSION`` register); bump on any incompatible change.
VERSION = 1
CORES = ("eie", "diannao")
CORE_ID = {"eie": 1, "diannao": 2}
#: ``ID`` reads ``ID_MAGIC | core id`` ("AG" in the top half).
ID_MAGIC = 0x41470000
#: Size of the control page in bytes; the window starts at or above it.
PAGE_BYTES = 0x100
#: Flags word of a stream command (``tdata`` bits ``D + 32 ..``): bit 0 = read.
CMD_READ = 1


@dataclass(frozen=True)
class Field:
    name: str
    lsb: int
    width: int
    doc: str


@dataclass(frozen=True)
class Register:
    """One 32-bit register of the control page.

    ``access``: ``ro`` read-only (writes answer SLVERR), ``rw`` read/write, ``wo`` write-only
    (reads return 0), ``rw1c`` read, write 1 to clear. ``cores``: the cores that have it (other
    cores answer DECERR at its offset).
    """

    name: str
    offset: int
    access: str
    doc: str
    fields: tuple[Field, ...] = ()
    cores: tuple[str, ...] = CORES


REGISTERS: tuple[Register, ...] = (
    Register("ID", 0x00, "ro", "`0x4147_0000` \\| core id (1 = EIE, 2 = DianNao)"),
    Register("VERSION", 0x04, "ro", f"register-map version ({VERSION})"),
    Register(
        "CTRL",
        0x08,
        "wo",
        "run control",
        (
            Field(
                "START",
                0,
                1,
                "write 1: run the loaded program/network (queued until the core is idle and "
                "no host access is in flight)",
            ),
        ),
    ),
    Register(
        "STATUS",
        0x0C,
        "ro",
        "run status",
        (
            Field("BUSY", 0, 1, "a run is queued or in progress"),
            Field("DONE", 1, 1, "the last run has finished (cleared when a run starts)"),
        ),
    ),
    Register(
        "IRQ_ENABLE",
        0x10,
        "rw",
        "interrupt enables (`irq` = OR of enabled IRQ_STATUS bits)",
        (
            Field("DONE", 0, 1, "a run finished"),
            Field("ERR", 1, 1, "a stream command had a bad address"),
        ),
    ),
    Register(
        "IRQ_STATUS",
        0x14,
        "rw1c",
        "interrupt status, sticky; write 1 to clear",
        (
            Field("DONE", 0, 1, "a run finished"),
            Field("ERR", 1, 1, "a stream command had a bad address (dropped / read as 0)"),
        ),
    ),
    Register("CYCLES", 0x18, "ro", "cycles of the last run (EIE: all layers, start to done)"),
    Register("WINDOW_BASE", 0x1C, "ro", "byte offset of the core-memory window"),
    Register("WORD_BYTES", 0x20, "ro", "window bytes per core word (power of two)"),
    Register("LANES", 0x24, "ro", "32-bit lanes per core word; writing lane LANES-1 commits"),
    Register(
        "LAYERS",
        0x40,
        "rw",
        "number of layers of the loaded network (writes core word CTRL)",
        cores=("eie",),
    ),
    Register("N_PES", 0x44, "ro", "number of PEs", cores=("eie",)),
    Register("NFU_BUSY", 0x40, "ro", "NFU issue cycles of the last run", cores=("diannao",)),
    Register("STALLS", 0x44, "ro", "stall cycles of the last run", cores=("diannao",)),
    Register("TN", 0x48, "ro", "NFU width Tn", cores=("diannao",)),
)


def registers(core: str) -> tuple[Register, ...]:
    """The control-page registers of ``core`` (``eie`` or ``diannao``)."""
    if core not in CORES:
        raise ValueError(f"core must be one of {', '.join(CORES)}, got {core!r}")
    regs = tuple(r for r in REGISTERS if core in r.cores)
    offsets = [r.offset for r in regs]
    assert len(set(offsets)) == len(offsets) and max(offsets) < PAGE_BYTES
    return regs


@dataclass(frozen=True)
class Layout:
    """Address-space parameters of one wrapped core configuration."""

    core: str
    data_bits: int  # width of a core word
    core_addr_bits: int  # width of a core address
    read_latency: int  # core cycles from a read at the host port to its data
    lanes: int
    word_bytes: int
    window_base: int
    addr_bits: int  # bus byte-address width
    core_consts: dict[str, int]

    @property
    def cmd_bits(self) -> int:
        """Width of a command-stream beat: data (``lanes * 32``), address (32), flags (32)."""
        return self.lanes * 32 + 64

    @property
    def rsp_bits(self) -> int:
        return self.lanes * 32


def layout(core: str, config) -> Layout:
    """The address layout of ``core`` built with ``config`` (EIEConfig / DianNaoConfig)."""
    registers(core)
    if core == "eie":
        from accelgen.spec.eie import MemoryMap, Region

        mm = MemoryMap(config)
        c = config
        data_bits, cab, latency = 64, mm.addr_bits, 3
        consts = {
            "N_PES": c.n_pes,
            "OFFSET_BITS": mm.offset_bits,
            "LAYER_BITS": c.layer_bits,
            "PE_BITS": c.pe_bits,
            "RF_BITS": c.rf_bits,
            "PTR_ADDR_BITS": c.ptr_addr_bits,
            "LINE_ADDR_BITS": c.line_addr_bits,
            "MAX_LAYERS": c.max_layers,
            "ACT_BITS": c.act_bits,
            "STATS_LAYER_FLAG": 1 << (c.pe_bits + c.layer_bits),
            **{f"REGION_{r.name}": int(r) for r in Region},
        }
    else:
        from accelgen.spec.diannao import Sel

        c = config
        data_bits, cab, latency = c.host_data_bits, 3 + c.host_addr_bits, 1
        consts = {
            "TN": c.tn,
            "HOST_ADDR_BITS": c.host_addr_bits,
            "ACT_BITS": c.act_bits,
            "W_BITS": c.w_bits,
            "ACC_BITS": c.acc_bits,
            **{f"SEL_{s.name}": int(s) for s in Sel},
        }
    if cab > 32:
        raise ValueError(
            f"{core} core addresses are {cab} bits wide; the bus command stream carries 32"
        )
    lanes = -(-data_bits // 32)
    word_bytes = max(8, 1 << (lanes * 4 - 1).bit_length())
    span = word_bytes << cab
    window_base = max(PAGE_BYTES, span)
    addr_bits = (window_base + span - 1).bit_length()
    return Layout(core, data_bits, cab, latency, lanes, word_bytes, window_base, addr_bits, consts)


def constants(core: str, config) -> dict[str, int]:
    """Every named constant of the register map and the window, as used by the drivers.

    Keys: ``<REG>`` (byte offset), ``<REG>_<FIELD>`` (bit mask), the layout values
    (``WINDOW_BASE``, ``WORD_BYTES``, ``LANES``, ``ADDR_BITS``, ``CMD_READ``, ``ID``,
    ``VERSION``) and the core's address constants (``REGION_*`` / ``SEL_*`` and field widths).
    """
    lay = layout(core, config)
    out: dict[str, int] = {}
    for r in registers(core):
        out[f"REG_{r.name}"] = r.offset
        for f in r.fields:
            out[f"{r.name}_{f.name}"] = ((1 << f.width) - 1) << f.lsb
    out.update(
        ID=ID_MAGIC | CORE_ID[core],
        VERSION=VERSION,
        WINDOW_BASE=lay.window_base,
        WORD_BYTES=lay.word_bytes,
        LANES=lay.lanes,
        ADDR_BITS=lay.addr_bits,
        DATA_BITS=lay.data_bits,
        CORE_ADDR_BITS=lay.core_addr_bits,
        CMD_READ=CMD_READ,
    )
    out.update(lay.core_consts)
    return out


def _access_text(a: str) -> str:
    return {"ro": "RO", "rw": "RW", "wo": "WO", "rw1c": "RW1C"}[a]


def register_table(core: str) -> str:
    """The Markdown table of ``core``'s control-page registers (no configuration needed)."""
    lines = [
        "| offset | register | access | bits | description |",
        "|---|---|---|---|---|",
    ]
    for r in registers(core):
        lines.append(f"| `0x{r.offset:03X}` | {r.name} | {_access_text(r.access)} | | {r.doc} |")
        for f in r.fields:
            bits = f"{f.lsb}" if f.width == 1 else f"{f.lsb + f.width - 1}:{f.lsb}"
            lines.append(f"| | .{f.name} | | {bits} | {f.doc} |")
    return "\n".join(lines) + "\n"


def _marker(core: str) -> tuple[str, str]:
    return f"<!-- regmap:{core} begin -->\n", f"<!-- regmap:{core} end -->"


def update_doc(text: str) -> str:
    """``text`` (``docs/bus.md``) with the table between each core's markers regenerated."""
    for core in CORES:
        begin, end = _marker(core)
        i, j = text.find(begin), text.find(end)
        if i < 0 or j < i:
            raise ValueError(f"no '{begin.strip()}' ... '{end}' markers")
        text = text[: i + len(begin)] + register_table(core) + text[j:]
    return text


def markdown(core: str, config) -> str:
    """The register-map document of ``core`` with ``config`` (Markdown)."""
    lay = layout(core, config)
    name = {"eie": "EIE", "diannao": "DianNao"}[core]
    lines = [
        f"# {name} bus register map (version {VERSION})",
        "",
        "Generated by `accelgen generate` from `accelgen.spec.regmap`; see `docs/bus.md`.",
        "32-bit registers, byte addresses.",
        "",
        register_table(core).rstrip("\n"),
    ]
    lines += [
        "",
        "## Window and streams",
        "",
        f"- window base `0x{lay.window_base:X}`, {lay.word_bytes} bytes per core word, "
        f"{lay.lanes} lanes of 32 bits ({lay.data_bits}-bit core words, "
        f"{lay.core_addr_bits}-bit core addresses); bus address width {lay.addr_bits} bits.",
        "- byte address of lane `k` of core word `a`: "
        "`WINDOW_BASE + a * WORD_BYTES + 4 * k`; writing lane `LANES - 1` commits the word.",
        f"- AXI4-Stream command beat ({lay.cmd_bits} bits): data bits `0..{lay.rsp_bits - 1}`, "
        f"core address bits `{lay.rsp_bits}..{lay.rsp_bits + 31}`, flags bits "
        f"`{lay.rsp_bits + 32}..{lay.cmd_bits - 1}` (bit 0: read). A read answers one result "
        f"beat ({lay.rsp_bits} bits, `tlast` = the command's `tlast`, `tuser` = bad address).",
        "",
        "## Core constants",
        "",
        "| name | value |",
        "|---|---|",
    ]
    lines += [f"| {k} | {v} |" for k, v in lay.core_consts.items()]
    return "\n".join(lines) + "\n"


def c_header(core: str, config) -> str:
    """The C header ``accelgen_<core>.h``: register offsets, field masks, window helpers."""
    p = f"ACCELGEN_{core.upper()}"
    guard = f"{p}_H"
    out = [
        f"/* accelgen_{core}.h: bus register map of the accelgen {core} core, version {VERSION}.",
        " * Generated by `accelgen generate` from accelgen.spec.regmap; do not edit. */",
        f"#ifndef {guard}",
        f"#define {guard}",
        "",
        "#include <stdint.h>",
        "",
    ]
    for k, v in constants(core, config).items():
        out.append(f"#define {p}_{k} 0x{v:X}u")
    out += [
        "",
        "/* byte offset of lane `lane` of core word `core_addr` in the window */",
        f"#define {p}_WINDOW(core_addr, lane) \\",
        f"    ({p}_WINDOW_BASE + (uint32_t)(core_addr) * {p}_WORD_BYTES + 4u * (uint32_t)(lane))",
    ]
    if core == "eie":
        out += [
            "/* core address of `offset` in memory region `region` */",
            f"#define {p}_CORE_ADDR(region, offset) \\",
            f"    (((uint32_t)(region) << {p}_OFFSET_BITS) | (uint32_t)(offset))",
            "/* busy | starved << 32 of PE `pe` in layer `layer`, and the layer's cycles */",
            f"#define {p}_STATS_PE(pe, layer) {p}_CORE_ADDR({p}_REGION_STATS, \\",
            f"    ((uint32_t)(pe) << {p}_LAYER_BITS) | (uint32_t)(layer))",
            f"#define {p}_STATS_LAYER(layer) {p}_CORE_ADDR({p}_REGION_STATS, \\",
            f"    {p}_STATS_LAYER_FLAG | (uint32_t)(layer))",
        ]
    else:
        out += [
            "/* core address of `addr` in host target `sel` */",
            f"#define {p}_CORE_ADDR(sel, addr) \\",
            f"    (((uint32_t)(sel) << {p}_HOST_ADDR_BITS) | (uint32_t)(addr))",
        ]
    out += ["", f"#endif /* {guard} */", ""]
    return "\n".join(out)
