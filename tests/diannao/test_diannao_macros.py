"""``--memories macros`` on DianNao: regression cases pass on both simulators with every memory
replaced by a RAM macro and its behavioural model (``hdl/macros.py``)."""

from __future__ import annotations

import re

import pytest
from test_rtl import CONFIGS, _cases, _check

from accelgen.hdl import macros
from accelgen.hdl.diannao.top import verilog
from accelgen.sim import diannao as api
from accelgen.sim.runner import default_simulators

# every layer type and a multi-tile classifier, kept short (Icarus runs this core slowly)
CASES = ("fc-sigmoid", "conv-k3-s1-p1", "pool-avg", "fc-multi-tile")


def test_every_diannao_memory_becomes_a_macro():
    text = verilog(CONFIGS["tn4"], memories="macros")
    plain = verilog(CONFIGS["tn4"])
    array = re.compile(r"^\s*reg \[\d+:0\] \S+ \[\d+:0\];", re.M)  # an inferred memory
    assert array.search(plain)
    assert not array.search(text.split("// behavioural model")[0])
    names = set(re.findall(rf"^module ({macros.PREFIX}\S+) ", text, re.M))
    # NBin, NBout, SB (masked writes), the CP's instruction RAM (two read ports), PWL tables
    assert any("_m" in n for n in names)
    assert any("_2rs_" in n for n in names)
    assert any("ra_" in n for n in names)


@pytest.mark.parametrize("simulator", default_simulators())
def test_regression_with_macro_models(simulator, monkeypatch):
    config = CONFIGS["tn4"]
    monkeypatch.setattr(api, "verilog", lambda c: verilog(c, memories="macros"))
    cases = [c for c in _cases("tn4", config, seed=11) if c[0] in CASES]
    assert len(cases) == len(CASES)
    results = api.simulate_cases(
        [(layers, x) for _, layers, x in cases], config=config, simulator=simulator
    )
    _check(config, cases, results)
