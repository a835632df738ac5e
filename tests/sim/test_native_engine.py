"""The native engine's stream helpers and the harness's error paths."""

from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import pytest

from accelgen.golden.netspec import EIELayer
from accelgen.hdl.eie.top import TOP_MODULE, verilog
from accelgen.host.eie import build_image
from accelgen.sim import native
from accelgen.sim.runner import SimulationError
from accelgen.spec.eie import EIEConfig


def assert_no_mismatch(tmp_path, src: str, new: str, tb: str) -> None:
    """Run the testbench ``tb`` (which prints ``BAD <count>``) on the original module ``src``
    and its rewrite ``new`` in Icarus; no input may tell them apart."""
    (tmp_path / "a.v").write_text(src)
    (tmp_path / "b.v").write_text(new)
    (tmp_path / "tb.v").write_text(tb)
    subprocess.run(["iverilog", "-o", "sim", "a.v", "b.v", "tb.v"], cwd=tmp_path, check=True)
    out = subprocess.run(["vvp", "sim"], cwd=tmp_path, capture_output=True, text=True).stdout
    assert "BAD 0" in out, out


@pytest.mark.parametrize("bits", [8, 16, 24, 32])
@pytest.mark.parametrize("lanes", [1, 2, 3, 8, 16])
def test_pack_unpack_lanes_round_trip(bits, lanes):
    rng = np.random.default_rng(bits * lanes)
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    v = rng.integers(lo, hi + 1, (5, lanes))
    v[0] = lo
    v[1] = hi
    words = native.words_of(bits * lanes)
    packed = native.pack_lanes(v, bits, words)
    # the same integer as the cocotb host's packing (lane 0 in the low bits)
    for row, w in zip(v.tolist(), packed, strict=True):
        want = sum((x & ((1 << bits) - 1)) << (i * bits) for i, x in enumerate(row))
        assert sum(int(x) << (32 * k) for k, x in enumerate(w)) == want
    np.testing.assert_array_equal(native.unpack_lanes(packed, bits, lanes), v)


def test_words_of():
    assert [native.words_of(b) for b in (1, 32, 33, 64, 65, 256, 257)] == [1, 1, 2, 2, 3, 8, 9]


@pytest.fixture(scope="module")
def eie_exe():
    return native.build_native(verilog(EIEConfig(n_pes=1)), toplevel=TOP_MODULE, core="eie")


def test_bad_stream_is_one_clear_error(eie_exe):
    s = native.Stream(w=3, r=2)  # EIE's write data is 2 words
    s.end()
    with pytest.raises(SimulationError, match="write-data words differ"):
        native.run_stream(eie_exe, s)


def test_stream_ending_early_is_an_error(eie_exe):
    s = native.Stream(w=2, r=2)
    s.read([0])  # no END
    with pytest.raises(SimulationError, match="ended early"):
        native.run_stream(eie_exe, s)


def test_run_timeout_is_reported(eie_exe):
    """A loaded 32 x 32 dense layer cannot finish within a limit of 2 edges."""
    rng = np.random.default_rng(0)
    layer = EIELayer(np.arange(16, dtype=np.int16), rng.integers(1, 16, (32, 32)).astype(np.uint8))
    waddr, wdata = build_image([layer], EIEConfig(n_pes=1)).writes()
    s = native.Stream(w=2, r=2)
    s.write(waddr, wdata.astype("<u8").view("<u4").reshape(-1, 2))
    s.run(2)
    s.end()
    replies = native.run_stream(eie_exe, s)
    with pytest.raises(SimulationError, match="test run did not finish"):
        replies.run("test run")


def test_stream_rejects_addresses_over_32_bits():
    s = native.Stream(w=2, r=2)
    with pytest.raises(ValueError, match="0x200000000 does not fit"):
        s.read([1, 1 << 33])


_EVAL_SRC = """void Vtop___024root___eval(Vtop___024root* vlSelf) {
    // Body
    __VicoIterCount = 0U;
    vlSelfRef.__VicoFirstIteration = 1U;
    do {
    } while (vlSelfRef.__VicoPhaseResult);
}
"""


def test_ico_skip_patch_of_the_expected_shape(tmp_path):
    (tmp_path / "Vtop___024root__0__Slow.cpp").write_text("vlSelfRef.__VicoFirstIteration = 1U;")
    (tmp_path / "Vtop___024root__0.cpp").write_text("// model\n" + _EVAL_SRC)
    assert native.patch_ico_skip(tmp_path)
    text = (tmp_path / "Vtop___024root__0.cpp").read_text()
    assert "extern unsigned char accelgen_ico_skip;\nvoid Vtop___024root___eval(" in text
    assert "__VicoFirstIteration = !accelgen_ico_skip; accelgen_ico_skip = 0U;" in text
    assert "__VicoFirstIteration = 1U" not in text
    slow = (tmp_path / "Vtop___024root__0__Slow.cpp").read_text()
    assert slow == "vlSelfRef.__VicoFirstIteration = 1U;"  # the settle code is left alone


@pytest.mark.parametrize(
    "source",
    [
        _EVAL_SRC.replace("vlSelfRef.__VicoFirstIteration = 1U;\n", ""),  # no such line
        _EVAL_SRC.replace("do {", "vlSelfRef.__VicoFirstIteration = 1U;\n    do {"),  # two
        "void other() {}\n",  # no eval function at all
    ],
)
def test_ico_skip_patch_leaves_another_shape_alone(tmp_path, source):
    f = tmp_path / "Vtop___024root__0.cpp"
    f.write_text(source)
    assert not native.patch_ico_skip(tmp_path)
    assert f.read_text() == source


def test_ico_skip_is_on_for_the_pinned_verilator(eie_exe):
    """The speed-up of docs/benchmarks.md is applied to the models this Verilator generates."""
    assert "input-combinational skip on" in (eie_exe.parent / "build.log").read_text()
    # and the harness's direct evaluation (without Vtop::eval()'s bookkeeping) is defined
    patched = [f.read_text() for f in eie_exe.parent.glob("Vtop___024root__*.cpp")]
    assert sum("void accelgen_eval(" in text for text in patched) == 1


_INSTANCES_SRC = """module sub(a, b, c, clk, y);
  input [3:0] a;
  input b;
  input \\odd$name ;
  input clk;
  output [3:0] y;
endmodule
module once(a);
  input a;
endmodule
module top(clk, x, z);
  sub u0 (
    .a(x),
    .b(z[0]),
    .\\odd$name (z[0]),
    .clk(clk),
    .y(y0)
  );
  sub u1 (
    .a(x),
    .b(z[1]),
    .\\odd$name (z[1]),
    .clk(clk),
    .y(y1)
  );
  once o (
    .a(x[0])
  );
endmodule
"""


def test_shared_instances_config_marks_the_ports_that_differ():
    """Inputs connected differently per instance and outputs: rd (not rw: an input the user
    may write is re-evaluated as a model input); shared inputs and modules instantiated once:
    nothing; escaped names are left out."""
    assert native.shared_instances_config(_INSTANCES_SRC).splitlines() == [
        "`verilator_config",
        'public_flat_rd -module "sub" -var "b"',
        'public_flat_rd -module "sub" -var "y"',
    ]


def test_shared_instances_config_is_empty_without_repeated_modules():
    src = _INSTANCES_SRC.split("  sub u1 (")[0] + "endmodule\n"
    assert native.shared_instances_config(src) == ""


def test_replicate_runs_writes_repeated_operands_as_a_replication():
    src = (
        "  assign a = x & { s[0], s[0], s[0] };\n"
        "  assign b = { \\$7 [15], \\$7 [15], \\$7  };\n"
        "  assign c = { 1'h0, 1'h0, y[3:1], z };\n"
        "  assign d = { p, q };\n"
        "  assign e = { \\odd,name , \\odd,name  };\n"
    )
    assert native.replicate_runs(src).splitlines() == [
        "  assign a = x & { 3{ s[0] } };",
        "  assign b = { { 2{ \\$7 [15] } }, \\$7  };",
        "  assign c = { { 2{ 1'h0 } }, y[3:1], z };",
        "  assign d = { p, q };",
        "  assign e = { \\odd,name , \\odd,name  };",  # not surely one operand per part
    ]


def _successor_module(n: int) -> str:
    from amaranth.hdl import Module
    from amaranth.lib import wiring
    from amaranth.lib.wiring import In, Out

    from accelgen.hdl.eie.spmat import is_successor, is_successor2
    from accelgen.hdl.verilog import convert

    class Succ(wiring.Component):
        def __init__(self):
            super().__init__({"a": In(n), "b": In(n), "y1": Out(1), "y2": Out(1)})

        def elaborate(self, platform):
            m = Module()
            m.d.comb += [self.y1.eq(is_successor(self.a, self.b))]
            m.d.comb += [self.y2.eq(is_successor2(self.a, self.b))]
            return m

    return convert(Succ(), "succ")


@pytest.mark.parametrize("n", [2, 5, 13])
def test_successor_compares_become_an_adder_compare(n):
    """The carry-free successor compares of the EIE walker become one n-bit add and compare
    (and one (n-1)-bit one for the merged pair's ``a + 2 == b``, a single compare at n = 2)."""
    src = _successor_module(n)
    got = native.successor_compares(src)
    assert f" + {n}'h1) == " in got
    assert got.count("'h1) == ") == (2 if n > 2 else 1)
    # a chain not of that exact shape stays as written
    broken = src.replace("b[0] == ", "b[1] == ")
    assert broken != src
    assert native.successor_compares(broken).count(f" + {n}'h1) == ") == 0


@pytest.mark.skipif(not shutil.which("iverilog"), reason="needs Icarus Verilog")
@pytest.mark.parametrize("n", [3, 6])
def test_successor_compares_compute_the_same_function(n, tmp_path):
    """Every pair of n-bit values through the module as generated and as rewritten (Icarus)."""
    src = _successor_module(n)
    new = native.successor_compares(src).replace("module succ(", "module succ_new(")
    tb = f"""module tb;
  reg [{n - 1}:0] a, b;
  wire y1, y2, z1, z2;
  integer i, j, bad;
  succ u0 (.a(a), .b(b), .y1(y1), .y2(y2));
  succ_new u1 (.a(a), .b(b), .y1(z1), .y2(z2));
  initial begin
    bad = 0;
    for (i = 0; i < {1 << n}; i = i + 1)
      for (j = 0; j < {1 << n}; j = j + 1) begin
        a = i; b = j; #1;
        if (y1 !== z1 || y2 !== z2 || y1 !== ((i + 1) % {1 << n} == j)) bad = bad + 1;
      end
    $display("BAD %0d", bad);
  end
endmodule
"""
    assert_no_mismatch(tmp_path, src, new, tb)


def test_successor_compares_rewrite_the_eie_walker():
    """The rewrite still finds the walker's compare in the EIE Verilog generated today (it
    leaves a chain it does not recognise as written: slower, not wrong)."""
    text = verilog(EIEConfig(n_pes=2))
    got = native.successor_compares(text)
    assert got.count("'h1) == ") >= 1


def _select_top() -> str:
    """``pick`` (an Array index) instantiated twice, ``once`` (the same logic) once."""
    from amaranth.hdl import Array, Module
    from amaranth.lib import wiring
    from amaranth.lib.wiring import In, Out

    from accelgen.hdl.verilog import convert

    class Pick(wiring.Component):
        def __init__(self):
            super().__init__({"table": In(5).array(8), "index": In(3), "y": Out(7)})

        def elaborate(self, platform):
            m = Module()
            m.d.comb += self.y.eq(Array(self.table)[self.index])
            return m

    table = "".join(f"    .table__{k}(t{k}),\n" for k in range(8))
    ports = ", ".join(f"t{k}" for k in range(8))
    decl = "".join(f"  input [4:0] t{k};\n" for k in range(8))
    top = f"""module seltop({ports}, i0, i1, i2, y0, y1, y2);
{decl}  input [2:0] i0;
  input [2:0] i1;
  input [2:0] i2;
  output [6:0] y0;
  output [6:0] y1;
  output [6:0] y2;
  pick p0 (
{table}    .index(i0),
    .y(y0)
  );
  pick p1 (
{table}    .index(i1),
    .y(y1)
  );
  once o (
{table}    .index(i2),
    .y(y2)
  );
endmodule
"""
    return top + convert(Pick(), "pick") + convert(Pick(), "once")


def test_case_selects_as_arrays_in_shared_modules_only(tmp_path):
    """A full casez select becomes an array read in the module instantiated twice (and only
    there); Icarus checks every index against the modules as generated."""
    src = _select_top()
    assert src.count("casez") == 2
    got = native.case_selects_as_arrays(src)
    assert got.count("casez") == 1  # in ``once``
    assert got.count("\\accelgen$select$0 [0:7];") == 1
    assert "casez" in got[got.index("module once") :]
    if not shutil.which("iverilog"):
        pytest.skip("needs Icarus Verilog")
    new = re.sub(r"\b(seltop|pick|once)\b", r"\1_new", got)
    tb = f"""module tb;
  reg [4:0] t [0:7];
  reg [2:0] i0, i1, i2;
  wire [6:0] y0, y1, y2, z0, z1, z2;
  integer i, j, bad;
  seltop u0 ({", ".join(f"t[{k}]" for k in range(8))}, i0, i1, i2, y0, y1, y2);
  seltop_new u1 ({", ".join(f"t[{k}]" for k in range(8))}, i0, i1, i2, z0, z1, z2);
  initial begin
    bad = 0;
    for (i = 0; i < 8; i = i + 1) t[i] = 5'd3 * i + 1;
    for (i = 0; i < 8; i = i + 1)
      for (j = 0; j < 8; j = j + 1) begin
        i0 = i; i1 = j; i2 = i ^ j; #1;
        if (y0 !== z0 || y1 !== z1 || y2 !== z2 || y0 !== t[i] || y1 !== t[j]) bad = bad + 1;
      end
    $display("BAD %0d", bad);
  end
endmodule
"""
    assert_no_mismatch(tmp_path, src, new, tb)


def test_reset_wrapper_registers_rst_only():
    src = (
        "module core(a, clk, rst, y);\n  input [3:0] a;\n  input clk;\n  input rst;\n"
        "  output [3:0] y;\nendmodule\n"
    )
    text, top = native.reset_wrapper(src, "core")
    assert top == native.WRAPPER and text.startswith(src)
    wrapper = text[len(src) :]
    assert "  always @(posedge clk)\n    accelgen_rst <= rst;\n" in wrapper
    assert "reg accelgen_rst = 1'h1;" in wrapper
    assert ".rst(accelgen_rst)" in wrapper and ".a(a)" in wrapper and ".y(y)" in wrapper
    # a reset of another shape, or no reset: the core is built as it is
    wide = src.replace("input rst;", "input [1:0] rst;")
    assert native.reset_wrapper(wide, "core") == (wide, "core")
    assert native.reset_wrapper(src, "other") == (src, "other")


@pytest.mark.parametrize("core", ["eie", "diannao"])
def test_reset_wrapper_applies_to_both_cores(core):
    from accelgen.hdl.diannao.top import TOP_MODULE as DN_TOP
    from accelgen.hdl.diannao.top import verilog as dn_verilog
    from accelgen.spec.diannao import DianNaoConfig

    text, top = (
        (verilog(EIEConfig(n_pes=2)), TOP_MODULE)
        if core == "eie"
        else (dn_verilog(DianNaoConfig(tn=4)), DN_TOP)
    )
    assert native.reset_wrapper(text, top)[1] == native.WRAPPER


def _decoder_module(n: int) -> str:
    from amaranth.hdl import Cat, Module
    from amaranth.lib import wiring
    from amaranth.lib.wiring import In, Out

    from accelgen.hdl.verilog import convert

    class Dec(wiring.Component):
        def __init__(self):
            super().__init__({"x": In(n + 1), "y": Out(1 << n), "z": Out(1 << n)})

        def elaborate(self, platform):
            m = Module()
            part = self.x[:n]
            m.d.comb += self.y.eq(Cat(*[part == k for k in range(1 << n)]))
            # not a full decoder (the last compare is against another operand): left as is
            m.d.comb += self.z.eq(
                Cat(*[part == k for k in range((1 << n) - 1)], self.x[1:] == (1 << n) - 1)
            )
            return m

    return convert(Dec(), "dec")


@pytest.mark.parametrize("n", [2, 3])  # (n = 1: Yosys writes x[0] == 1 as x[0])
def test_onehot_decodes_become_a_shift(n, tmp_path):
    """A full one-hot decoder becomes ``1 << x``; Icarus checks every value of ``x`` against
    the module as generated."""
    src = _decoder_module(n)
    got = native.onehot_decodes(src)
    assert got.count(f"({1 << n}'h1 << ") == 1
    if not shutil.which("iverilog"):
        pytest.skip("needs Icarus Verilog")
    new = got.replace("module dec(", "module dec_new(")
    tb = f"""module tb;
  reg [{n}:0] x;
  wire [{(1 << n) - 1}:0] y, z, y2, z2;
  integer i, bad;
  dec u0 (.x(x), .y(y), .z(z));
  dec_new u1 (.x(x), .y(y2), .z(z2));
  initial begin
    bad = 0;
    for (i = 0; i < {2 << n}; i = i + 1) begin
      x = i; #1;
      if (y !== y2 || z !== z2 || y !== (1 << (i % {1 << n}))) bad = bad + 1;
    end
    $display("BAD %0d", bad);
  end
endmodule
"""
    assert_no_mismatch(tmp_path, src, new, tb)


def test_onehot_decodes_rewrite_the_eie_walker():
    text = verilog(EIEConfig(n_pes=2))
    assert native.onehot_decodes(text).count("(8'h1 << ") == 1


def _state_top() -> str:
    """``stcell`` (registers with enables and reset, a memory with an enabled write port and a
    registered read port) instantiated twice under ``statetop``."""
    from amaranth.hdl import Module, Signal
    from amaranth.lib import wiring
    from amaranth.lib.memory import Memory
    from amaranth.lib.wiring import In, Out

    from accelgen.hdl.verilog import convert

    class Cell(wiring.Component):
        def __init__(self):
            super().__init__(
                {"a": In(6), "en": In(1), "we": In(1), "re": In(1), "y": Out(8), "q": Out(6)}
            )

        def elaborate(self, platform):
            m = Module()
            m.submodules.mem = mem = Memory(shape=6, depth=16, init=[])
            m.submodules.mem2 = mem2 = Memory(shape=6, depth=16, init=[])
            wr, rd = mem.write_port(), mem.read_port()
            wr2, rd2 = mem2.write_port(), mem2.read_port(transparent_for=[])
            count, held = Signal(8, name="count"), Signal(8, name="held")
            with m.If(self.en):
                m.d.sync += count.eq(count + self.a)
            with m.Elif(self.a[0]):
                m.d.sync += count.eq(count - 1)
            with m.If(self.we & self.a[1]):
                m.d.sync += held.eq(self.a)
            m.d.comb += [
                wr.addr.eq(self.a[2:]),
                wr.data.eq(count[:6]),
                wr.en.eq(self.we & count[7]),  # from the module's state: no branch
                wr2.addr.eq(self.a[:4]),
                wr2.data.eq(held[:6]),
                wr2.en.eq(self.we),  # the parent's: left as written
                rd.addr.eq(self.a[:4]),
                rd.en.eq(self.re),
                rd2.addr.eq(self.a[2:]),
                self.y.eq(count ^ held),
                self.q.eq(rd.data ^ rd2.data),
            ]
            return m

    inst = "".join(
        f"  stcell c{k} (\n    .clk(clk),\n    .rst(rst),\n    .a(a{k}),\n    .en(en{k}),\n"
        f"    .we(we{k}),\n    .re(re{k}),\n    .y(y{k}),\n    .q(q{k})\n  );\n"
        for k in range(2)
    )
    decl = "".join(
        f"  input [5:0] a{k};\n  input en{k};\n  input we{k};\n  input re{k};\n"
        f"  output [7:0] y{k};\n  output [5:0] q{k};\n"
        for k in range(2)
    )
    ports = ", ".join(f"a{k}, en{k}, we{k}, re{k}, y{k}, q{k}" for k in range(2))
    head = f"module statetop(clk, rst, {ports});\n  input clk;\n  input rst;\n"
    top = f"{head}{decl}{inst}endmodule\n"
    return top + convert(Cell(), "stcell")


def _random_state_tb(cycles: int = 4000) -> str:
    """Testbench of ``statetop`` against ``statetop_new``: random inputs (and resets) for
    ``cycles`` clock cycles, every output compared after every edge."""
    ports = "a0, en0, we0, re0, {y}0, {q}0, a1, en1, we1, re1, {y}1, {q}1"
    return f"""module tb;
  reg clk, rst;
  reg [5:0] a0, a1;
  reg en0, we0, re0, en1, we1, re1;
  wire [7:0] y0, y1, z0, z1;
  wire [5:0] q0, q1, p0, p1;
  integer i, bad;
  statetop u0 (clk, rst, {ports.format(y="y", q="q")});
  statetop_new u1 (clk, rst, {ports.format(y="z", q="p")});
  initial begin
    bad = 0; clk = 0; rst = 1;
    {{a0, a1, en0, we0, re0, en1, we1, re1}} = 0;
    #1 clk = 1; #1 clk = 0;
    for (i = 0; i < {cycles}; i = i + 1) begin
      rst = ($random % 97) == 0;
      {{a0, en0, we0, re0}} = $random;
      {{a1, en1, we1, re1}} = $random;
      #1 clk = 1; #1 clk = 0;
      if (y0 !== z0 || q0 !== p0 || y1 !== z1 || q1 !== p1) bad = bad + 1;
    end
    $display("BAD %0d", bad);
  end
endmodule
"""


def test_next_state_in_clocked_blocks(tmp_path):
    """Every next-value process of the registers moves into one clocked block (its reset
    tests merged); Icarus checks random inputs and resets against the module as generated."""
    src = _state_top()
    got = native.next_state_in_clocked_blocks(src)
    cell = got[got.index("module stcell") :]
    assert src.count("always @*") > 0
    assert cell.count("always @*") == 0
    assert cell.count("if (rst) begin") == 1
    # a process whose variable is read elsewhere stays as written
    clocked = "  always @(posedge clk)\n    count <= \\$4 ;\n"
    extra = src.replace(clocked, clocked + "  wire [7:0] \\$x ;\n  assign \\$x  = \\$4 ;\n")
    assert extra != src
    kept = native.next_state_in_clocked_blocks(extra)
    assert kept[kept.index("module stcell") :].count("always @*") == 1
    if not shutil.which("iverilog"):
        pytest.skip("needs Icarus Verilog")
    new = re.sub(r"\b(statetop|stcell)\b", r"\1_new", got)
    assert_no_mismatch(tmp_path, src, new, _random_state_tb())


def test_memory_writes_without_branches_in_shared_modules_only(tmp_path):
    """The memory's enabled write port becomes an unconditional masked write in the module
    instantiated twice, not in a module instantiated once; Icarus checks random inputs."""
    src = _state_top()
    got = native.memory_writes_without_branches(src)
    assert got != src
    assert re.search(r"\bmem\[[^\n]*\] <= \(\{ 6\{ [^\n]* \} \} & ", got)
    assert not re.search(r"\bmem2\[[^\n]*\] <= \(\{ 6\{ [^\n]* \} \} & ", got)
    once = src[: src.index("  stcell c1 ")] + src[src.index("endmodule") :]
    assert native.memory_writes_without_branches(once) == once
    if not shutil.which("iverilog"):
        pytest.skip("needs Icarus Verilog")
    new = re.sub(r"\b(statetop|stcell)\b", r"\1_new", got)
    assert_no_mismatch(tmp_path, src, new, _random_state_tb())
    both = native.next_state_in_clocked_blocks(got)
    new = re.sub(r"\b(statetop|stcell)\b", r"\1_new", both)
    assert_no_mismatch(tmp_path, src, new, _random_state_tb())


def _swap_top() -> str:
    """``swapper`` (``x, y = (a, b) if c else (b, a)``) instantiated twice under ``swaptop``."""
    from amaranth.hdl import Module, Mux
    from amaranth.lib import wiring
    from amaranth.lib.wiring import In, Out

    from accelgen.hdl.verilog import convert

    class Swapper(wiring.Component):
        def __init__(self):
            super().__init__({"a": In(3), "b": In(3), "c": In(1), "x": Out(3), "y": Out(3)})

        def elaborate(self, platform):
            m = Module()
            m.d.comb += [
                self.x.eq(Mux(self.c, self.a, self.b)),
                self.y.eq(Mux(self.c, self.b, self.a)),
            ]
            return m

    inst = "".join(
        f"  swapper s{k} (\n    .a(a),\n    .b(b),\n    .c(c{k}),\n"
        f"    .x(x{k}),\n    .y(y{k})\n  );\n"
        for k in range(2)
    )
    head = "module swaptop(a, b, c0, c1, x0, y0, x1, y1);\n  input [2:0] a;\n  input [2:0] b;\n"
    decl = "  input c0;\n  input c1;\n" + "".join(
        f"  output [2:0] {p};\n" for p in ("x0", "y0", "x1", "y1")
    )
    return head + decl + inst + "endmodule\n" + convert(Swapper(), "swapper")


def test_swaps_without_branches(tmp_path):
    """A pair of selects that swap two operands on one condition becomes XOR masks in the
    module instantiated twice; Icarus checks every input."""
    src = _swap_top()
    got = native.swaps_without_branches(src)
    assert got.count("\\accelgen$swap$0 ") == 4  # declared, assigned, used twice
    assert " ? " not in got[got.index("module swapper") :]
    if not shutil.which("iverilog"):
        pytest.skip("needs Icarus Verilog")
    new = re.sub(r"\b(swaptop|swapper)\b", r"\1_new", got)
    tb = """module tb;
  reg [2:0] a, b;
  reg c0, c1;
  wire [2:0] x0, y0, x1, y1, u0, v0, u1, v1;
  integer i, bad;
  swaptop t0 (a, b, c0, c1, x0, y0, x1, y1);
  swaptop_new t1 (a, b, c0, c1, u0, v0, u1, v1);
  initial begin
    bad = 0;
    for (i = 0; i < 256; i = i + 1) begin
      {c1, c0, a, b} = i; #1;
      if (x0 !== u0 || y0 !== v0 || x1 !== u1 || y1 !== v1) bad = bad + 1;
      if (x0 !== (c0 ? a : b) || y0 !== (c0 ? b : a)) bad = bad + 1;
    end
    $display("BAD %0d", bad);
  end
endmodule
"""
    assert_no_mismatch(tmp_path, src, new, tb)


def _and_or_module(n: int, w: int) -> str:
    """Yosys-style AND-OR selects of the n w-bit slices of ``d`` by the bits of ``s``: ``y``
    as a chain of ORs, ``z`` as a balanced tree, ``q`` with one term missing."""
    lines = [
        "module aosel(d, s, y, z, q);",
        f"  input [{n * w - 1}:0] d;",
        f"  input [{n - 1}:0] s;",
    ]
    lines += [f"  output [{w - 1}:0] {p};" for p in "yzq"]
    body = []
    for c in "abc":
        for k in range(n):
            lines.append(f"  wire [{w - 1}:0] {c}{k};")
            body.append(f"  assign {c}{k} = d[{w * k + w - 1}:{w * k}] & {{ {w}{{ s[{k}] }} }};")
    for k in range(1, n):  # y: ((a0 | a1) | a2) | ...
        lines.append(f"  wire [{w - 1}:0] ya{k};")
        prev = "a0" if k == 1 else f"ya{k - 1}"
        body.append(f"  assign ya{k} = {prev} | a{k};")
    body.append(f"  assign y = ya{n - 1};")
    level, i = [f"b{k}" for k in range(n)], 0  # z: a balanced tree
    while len(level) > 1:
        nxt = []
        for j in range(0, len(level) - 1, 2):
            lines.append(f"  wire [{w - 1}:0] zt{i};")
            body.append(f"  assign zt{i} = {level[j]} | {level[j + 1]};")
            nxt.append(f"zt{i}")
            i += 1
        level = nxt + level[len(level) - len(level) % 2 :] if len(level) % 2 else nxt
    body.append(f"  assign z = {level[0]};")
    for k in range(2, n):  # q: c1 | c2 | ... (c0 missing)
        lines.append(f"  wire [{w - 1}:0] qa{k};")
        prev = "c1" if k == 2 else f"qa{k - 1}"
        body.append(f"  assign qa{k} = {prev} | c{k};")
    body.append(f"  assign q = qa{n - 1};")
    return "\n".join(lines + body + ["endmodule", ""])


@pytest.mark.parametrize("n, w", [(4, 8), (3, 5)])
def test_and_or_selects_become_a_table_lookup(n, w, tmp_path):
    """Full AND-OR selects (a chain and a tree) become one masked table lookup and a fold;
    one with a term missing stays; Icarus checks every ``s`` (one-hot or not) on random
    ``d``."""
    src = _and_or_module(n, w)
    got = native.and_or_selects(src)
    assert got.count("\\accelgen$spread$0 [") == (1 << n) + 2  # declared, set, read once
    assert re.search(rf"assign zt\d+ = ya{n - 1};", got)  # the tree: the chain's result
    assert "assign q = qa" in got
    if not shutil.which("iverilog"):
        pytest.skip("needs Icarus Verilog")
    new = got.replace("module aosel(", "module aosel_new(")
    tb = f"""module tb;
  reg [{n * w - 1}:0] d;
  reg [{n - 1}:0] s;
  wire [{w - 1}:0] y, z, q, y2, z2, q2;
  integer i, j, bad;
  aosel u0 (d, s, y, z, q);
  aosel_new u1 (d, s, y2, z2, q2);
  initial begin
    bad = 0;
    for (j = 0; j < 50; j = j + 1)
      for (i = 0; i < {1 << n}; i = i + 1) begin
        d = {{$random, $random}}; s = i; #1;
        if (y !== y2 || z !== z2 || q !== q2 || y !== z) bad = bad + 1;
      end
    $display("BAD %0d", bad);
  end
endmodule
"""
    assert_no_mismatch(tmp_path, src, new, tb)
