"""``accelgen demo --dataset mnist`` end to end on a tiny synthetic MNIST (no registry needed):
the RTL outputs are checked against the golden model inside the command, the report's numbers
against values recomputed here."""

from __future__ import annotations

import json

import pytest

from accelgen.golden import lenet
from accelgen.golden.models import MLPParams
from accelgen.main import main
from accelgen.sim.runner import default_simulators


@pytest.mark.parametrize("simulator", default_simulators())
def test_mnist_demo_on_rtl(tmp_path, monkeypatch, capsys, simulator, toy_mnist):
    monkeypatch.setenv("ACCELGEN_BUILD_DIR", str(tmp_path / "build"))
    toy = toy_mnist(400, 60, seed=1)
    small = MLPParams(
        hidden=(32, 16), densities=(0.2, 0.3, 0.5), epochs=3, prune_epochs=2, share_epochs=1
    )
    real = lenet.lenet300
    monkeypatch.setattr("accelgen.demo.mnist.load_mnist", lambda progress=None: toy)
    monkeypatch.setattr("accelgen.demo.mnist.lenet.lenet300", lambda **kw: real(**kw, params=small))
    out = tmp_path / "out"
    args = ["demo", "--dataset", "mnist", "--images", "6", "--pes", "4", "-o", str(out)]
    assert main([*args, "--simulator", simulator]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["images"] == 6 and report["bit_exact"]
    model = real(data=toy, params=small, n_pes=1)
    x = lenet.mnist_data(model.numerics, toy).x[:6]
    want = model.predict(x)
    assert report["ours"]["error_rtl"] == pytest.approx(float((want != toy.y_test[:6]).mean()))
    assert report["ours"]["density"] == pytest.approx(model.density)
    eff = report["eie_load_efficiency"]
    assert 0 < eff["mean_pe"] <= eff["max_pe"] <= 1
    assert report["cycles_per_image"] > sum(layer.shape[1] for layer in model.layers) / 4
    assert "| compression ratio | 40x |" in (out / "report.md").read_text()
    assert report["engine"] == ("native" if simulator == "verilator" else "cocotb")
    assert report["core_cycles_per_s"] > 0
    assert "demo passed" in capsys.readouterr().out
