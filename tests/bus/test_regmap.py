"""The register map (``accelgen.spec.regmap``) and what is generated from it: the C header
compiles and holds the same values as the Python constants, the document lists every register,
``accelgen generate --bus`` writes the three files."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from accelgen.main import main
from accelgen.spec import regmap
from accelgen.spec.diannao import DianNaoConfig
from accelgen.spec.eie import EIEConfig, MemoryMap, Region

CONFIGS = {"eie": EIEConfig(n_pes=4), "diannao": DianNaoConfig(tn=8)}


@pytest.mark.parametrize("core", regmap.CORES)
def test_registers_are_32_bit_aligned_and_distinct(core):
    regs = regmap.registers(core)
    offsets = [r.offset for r in regs]
    assert len(set(offsets)) == len(offsets)
    assert all(o % 4 == 0 and o < regmap.PAGE_BYTES for o in offsets)
    for r in regs:
        bits = [b for f in r.fields for b in range(f.lsb, f.lsb + f.width)]
        assert len(set(bits)) == len(bits) and max(bits, default=0) < 32, r.name


def test_unknown_core_is_named():
    with pytest.raises(ValueError, match="'npu'"):
        regmap.registers("npu")


@pytest.mark.parametrize("core", regmap.CORES)
def test_layout_fits_the_core_words(core):
    lay = regmap.layout(core, CONFIGS[core])
    assert lay.lanes * 32 >= lay.data_bits > (lay.lanes - 1) * 32
    assert lay.word_bytes >= 4 * lay.lanes and lay.word_bytes & (lay.word_bytes - 1) == 0
    assert lay.window_base >= regmap.PAGE_BYTES
    last = lay.window_base + (lay.word_bytes << lay.core_addr_bits) - 1
    assert last < 1 << lay.addr_bits
    if core == "eie":
        assert lay.core_addr_bits == MemoryMap(CONFIGS[core]).addr_bits


@pytest.mark.parametrize("core", regmap.CORES)
def test_markdown_lists_every_register_and_field(core):
    doc = regmap.markdown(core, CONFIGS[core])
    for r in regmap.registers(core):
        assert re.search(rf"\| `0x{r.offset:03X}` \| {r.name} \|", doc), r.name
        for f in r.fields:
            assert f"| .{f.name} |" in doc
    other = [r for r in regmap.REGISTERS if core not in r.cores]
    for r in other:
        assert f"| {r.name} |" not in doc


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler")
@pytest.mark.parametrize("core", regmap.CORES)
def test_c_header_compiles_and_matches_the_python_constants(core, tmp_path):
    config = CONFIGS[core]
    consts = regmap.constants(core, config)
    p = f"ACCELGEN_{core.upper()}"
    (tmp_path / f"accelgen_{core}.h").write_text(regmap.c_header(core, config))
    lines = [f'#include "accelgen_{core}.h"', "#include <stdio.h>", "int main(void) {"]
    for k in consts:
        lines.append(f'  printf("{k} %lu\\n", (unsigned long)({p}_{k}));')
    if core == "eie":
        lines.append(f'  printf("STATS_PE %lu\\n", (unsigned long){p}_STATS_PE(3, 1));')
        lines.append(f'  printf("WIN %lu\\n", (unsigned long){p}_WINDOW({p}_STATS_LAYER(2), 1));')
    lines.append("  return 0;\n}")
    (tmp_path / "t.c").write_text("\n".join(lines) + "\n")
    subprocess.run(
        ["cc", "-std=c99", "-Wall", "-Werror", "-o", "t", "t.c"], cwd=tmp_path, check=True
    )
    out = subprocess.run([str(tmp_path / "t")], capture_output=True, text=True, check=True)
    got = dict(line.split() for line in out.stdout.splitlines())
    for k, v in consts.items():
        assert int(got[k]) == v, k
    if core == "eie":
        mm = MemoryMap(config)
        assert int(got["STATS_PE"]) == mm.stats_pe(3, 1)
        want = consts["WINDOW_BASE"] + mm.stats_layer(2) * consts["WORD_BYTES"] + 4
        assert int(got["WIN"]) == want
        assert consts["REGION_STATS"] == Region.STATS


def test_generate_bus_writes_verilog_header_and_regmap(tmp_path, capsys):
    out = tmp_path / "gen"
    rc = main(["generate", "eie", "--pes", "2", "--bus", "axi", "-o", str(out)])
    assert rc == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["accelgen_eie.h", "config.json", "eie_axi.v", "regmap.md", "report.json"]
    text = (out / "eie_axi.v").read_text()
    assert re.search(r"^module eie_axi\(", text, re.M)
    for port in ("s_axil_awaddr", "s_axil_rresp", "s_axis_tdata", "m_axis_tuser", "irq"):
        assert re.search(rf"(input|output) .*\b{port};", text), port
    assert "EIE bus register map" in (out / "regmap.md").read_text()


def test_docs_tables_are_generated_from_the_table():
    """docs/bus.md holds regmap.register_table() of both cores (regenerate with update_doc)."""
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "bus.md").read_text()
    assert regmap.update_doc(doc) == doc, "docs/bus.md register tables are stale"
    for core in regmap.CORES:
        assert regmap.register_table(core) in doc


@pytest.mark.parametrize("bus", ["axi", "wishbone"])
@pytest.mark.parametrize("core", regmap.CORES)
def test_wrapped_tops_pass_verilator_lint(core, bus, tmp_path):
    """``verilator --lint-only -Wall`` with the project's waiver list (accelgen.synth.lint)."""
    from accelgen.hdl.bus.generate import top_module, verilog
    from accelgen.synth.lint import lint_verilator

    config = {"eie": EIEConfig(n_pes=2), "diannao": DianNaoConfig(tn=4)}[core]
    top = top_module(core, bus)
    path = tmp_path / f"{top}.v"
    path.write_text(verilog(core, bus, config))
    result = lint_verilator(path, top)
    assert result.ok, "\n".join(result.issues[:20])


def test_synth_bus_needs_a_core(tmp_path, capsys):
    """One line naming the design, non-zero exit, before any tool runs."""
    rc = main(["synth", "mac", "--bus", "axi", "-o", str(tmp_path / "s")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc != 0 and len(err) == 1 and "'mac'" in err[0] and "--bus axi" in err[0]
    assert not (tmp_path / "s").exists()
