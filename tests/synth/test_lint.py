"""Verilator -Wall lint and Icarus compile of every generated top (default suite, fast)."""

from pathlib import Path

import pytest

from accelgen import cores
from accelgen.cores import designs
from accelgen.synth import lint

LINT_DIR = Path("build") / "lint"


def _build(name, small):
    cfg = None
    if designs.is_core(name):
        cfg = designs.load_config(name, **(cores.get(name).small_config if small else {}))
    return designs.build(name, cfg)


def _lint(name, small):
    component, top, _ = _build(name, small)
    results = lint.lint_component(component, top, LINT_DIR / f"{name}{'-small' if small else ''}")
    assert [r.tool for r in results] == ["verilator", "icarus"]
    for r in results:
        assert r.ok, f"{r.tool} on {top}:\n" + "\n".join(r.issues or [r.log])


@pytest.mark.parametrize("name", designs.names())
def test_generated_top_is_lint_clean(name):
    # the cores in their small configuration (the same code, a fraction of the Verilog)
    _lint(name, small=True)


@pytest.mark.slow
@pytest.mark.parametrize("name", cores.names())
def test_default_core_is_lint_clean(name):
    _lint(name, small=False)


BAD_WIDTH = """\
module bad(input wire [7:0] a, output wire [3:0] y);
  assign y = a;
endmodule
"""

BAD_SYNTAX = """\
module bad(input wire a, output wire y);
  assign y = a
endmodule
"""


def test_unwaived_warning_fails(tmp_path):
    path = tmp_path / "bad.v"
    path.write_text(BAD_WIDTH)
    r = lint.lint_verilator(path, "bad")
    assert not r.ok
    assert any(i.startswith("WIDTHTRUNC") for i in r.issues), r.log
    # the same file is clean once the rule is waived: the waiver mechanism is what passes it
    waiver = lint.Waiver("WIDTHTRUNC", "test", "*RHS's VARREF*")
    assert lint.lint_verilator(path, "bad", waivers=(*lint.WAIVERS, waiver)).ok


def test_syntax_error_fails_both(tmp_path):
    path = tmp_path / "bad.v"
    path.write_text(BAD_SYNTAX)
    assert not lint.lint_verilator(path, "bad").ok
    assert not lint.lint_icarus(path, "bad").ok


def test_waivers_are_documented_and_few():
    assert 0 < len(lint.WAIVERS) <= 8
    assert all(w.reason for w in lint.WAIVERS)
    # the project's waivers do not hide an arbitrary truncation (test above)
    assert not any(w.rule == "WIDTHTRUNC" and w.match is None for w in lint.WAIVERS)


def test_unknown_design_is_named():
    with pytest.raises(ValueError, match="'nope'"):
        designs.build("nope")


def test_lint_command(tmp_path, capsys):
    from accelgen import main as cli

    assert cli.main(["lint", "mac", "codebook", "-o", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "verilator mac: ok" in out and "icarus    codebook: ok" in out
    assert (tmp_path / "mac" / "mac.v").exists()
    assert (tmp_path / "mac" / "lint_waivers.vlt").read_text().startswith("`verilator_config")
