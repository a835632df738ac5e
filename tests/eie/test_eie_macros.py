"""``--memories macros`` on EIE: the regression's N = 1 and N = 2 cases pass on both simulators
with every memory replaced by a RAM macro and its behavioural model (``hdl/macros.py``)."""

from __future__ import annotations

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
