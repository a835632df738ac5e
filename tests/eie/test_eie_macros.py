"""``--memories macros`` on EIE: the regression's N = 1 and N = 2 cases pass on both simulators
with every memory replaced by a RAM macro and its behavioural model (``hdl/macros.py``)."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from test_core import CONFIGS, build_cases

from accelgen.golden.netspec import run_eie
from accelgen.hdl import macros
from accelgen.hdl.eie.top import generate_verilog, verilog
from accelgen.host.eie import build_image
from accelgen.sim import eie as api
from accelgen.sim import runner


def test_every_eie_memory_becomes_a_macro():
    config = CONFIGS["n2"]
    text = generate_verilog(config, memories="macros")
    plain = generate_verilog(config)
    array = re.compile(r"^\s*reg \[\d+:0\] \S+ \[\d+:0\];", re.M)  # an inferred memory
    assert array.search(plain)
    assert not array.search(text.split("// behavioural model")[0])
    for name in ("spmat", "even", "odd", "rf_a", "rf_b", "bias", "counters"):
        assert f"  {macros.PREFIX}" in text and f" {name} (" in text, name
    # the models are appended once per shape
    shapes = {ln.split()[1] for ln in text.splitlines() if ln.startswith(f"module {macros.PREFIX}")}
    assert shapes and all(text.count(f"module {s} ") == 1 for s in shapes)


@pytest.mark.parametrize("simulator", runner.default_simulators())
@pytest.mark.parametrize("name", ["n1", "n2"])
def test_regression_with_macro_models(name, simulator, monkeypatch):
    config = CONFIGS[name]
    monkeypatch.setattr(api, "verilog", lambda c: verilog(c, memories="macros"))
    cases = build_cases(config, seed=sorted(CONFIGS).index(name))
    jobs = [api.Job(build_image(layers, config), x) for _, layers, x in cases]
    results = api.run_jobs(config, jobs, simulator=simulator)
    for (case, layers, x), res in zip(cases, results, strict=True):
        gold = run_eie(layers, x, num=config.numerics, n_pes=config.n_pes)[-1]
        np.testing.assert_array_equal(res.y, gold, err_msg=f"{name}/{case}")


def test_generate_with_macros(tmp_path, capsys):
    from accelgen import main as cli

    assert (
        cli.main(["generate", "eie", "--pes", "1", "--memories", "macros", "-o", str(tmp_path)])
        == 0
    )
    capsys.readouterr()
    report = json.loads((tmp_path / "report.json").read_text())
    text = (tmp_path / "eie.v").read_text()
    assert report["memories"] == "macros" and report["macros"]
    for name in report["macros"]:
        assert f"module {name} (" in text  # the behavioural model ships with the Verilog
    assert cli.main(["generate", "eie", "--pes", "1", "-o", str(tmp_path / "f")]) == 0
    assert json.loads((tmp_path / "f" / "report.json").read_text())["memories"] == "flops"
    assert macros.PREFIX not in (tmp_path / "f" / "eie.v").read_text()
