"""``accelgen demo --dataset mnist --net lenet5`` end to end on a tiny synthetic MNIST: the
convolutions on the DianNao RTL, the FC layers on the EIE RTL, chained by the host; every layer
is checked against the golden model inside the command, and the report's numbers here against
the reference layers and the DianNao cycle model."""

from __future__ import annotations

import json

import numpy as np
import pytest

from accelgen.golden import lenet
from accelgen.golden.netspec import run_dense, run_eie
from accelgen.main import main
from accelgen.sim import diannao as dn_api

TINY = lenet.LeNet5Params(epochs=1, prune_epochs=1, share_epochs=1)


def _run(tmp_path, monkeypatch, toy, simulator, images):
    # the model cache goes to tmp_path; the RTL builds stay in the shared build cache
    monkeypatch.setattr("accelgen.golden.models.cache_dir", lambda: tmp_path / "models")
    real = lenet.lenet5
    monkeypatch.setattr("accelgen.demo.lenet5.load_mnist", lambda progress=None: toy)
    monkeypatch.setattr(
        "accelgen.demo.lenet5.lenet.lenet5", lambda **kw: real(**{**kw, "params": TINY})
    )
    out = tmp_path / "out"
    args = ["demo", "--dataset", "mnist", "--net", "lenet5", "--images", str(images)]
    args += ["--pes", "4", "--tn", "8", "-o", str(out), "--simulator", simulator]
    assert main(args) == 0
    return json.loads((out / "report.json").read_text()), out, real(params=TINY, data=toy)


def _check(report, out, model, toy, images):
    assert report["images"] == images and report["bit_exact"]
    x, y = lenet.mnist_images(model.numerics, toy)
    x, y = x[:images], y[:images]
    conv = run_dense(model.conv_layers, x, num=model.numerics, group=8)
    logits = run_eie(model.fc_layers, conv[-1].reshape(images, -1), num=model.numerics)[-1]
    want = float((np.asarray(logits).argmax(-1) != y).mean())
    assert report["ours"]["error_rtl"] == report["ours"]["error_compressed_golden"] == want
    dn_config = dn_api.DianNaoConfig(tn=8, nbin_depth=1024, nbout_depth=1024, sb_depth=1024)
    cp = dn_api.run_model(model.conv_layers, x, config=dn_config)
    assert report["cycles_per_image"]["diannao"] == pytest.approx(cp.cycles.mean())
    assert report["cycles_per_image"]["eie"] > 800 / 4  # at least one cycle per column per PE
    eff = report["eie_load_efficiency"]
    assert 0 < eff["mean_pe"] <= eff["max_pe"] <= 1 and len(eff["per_layer"]) == 2
    assert report["energy_nj_per_image"]["total"] > report["energy_nj_per_image"]["eie"] > 0
    md = (out / "report.md").read_text()
    assert "| compression ratio | 39x |" in md and "| conv2 | 25,000 | 12.0% (12%) |" in md


def test_lenet5_demo_native(tmp_path, monkeypatch, capsys, toy_mnist):
    toy = toy_mnist(400, 20, seed=2)
    report, out, model = _run(tmp_path, monkeypatch, toy, "verilator", 3)
    assert report["engine"] == "native"
    _check(report, out, model, toy, 3)
    assert "demo passed: LeNet-5 on DianNao + EIE" in capsys.readouterr().out


@pytest.mark.slow
def test_lenet5_demo_icarus(tmp_path, monkeypatch, toy_mnist):
    """The same chain with cocotb on Icarus (about 80,000 DianNao cycles per image)."""
    toy = toy_mnist(400, 20, seed=2)
    report, out, model = _run(tmp_path, monkeypatch, toy, "icarus", 1)
    assert report["engine"] == "cocotb"
    _check(report, out, model, toy, 1)


def test_net_needs_mnist(capsys):
    assert main(["demo", "--net", "lenet5"]) != 0
    err = capsys.readouterr().err
    assert "--net lenet5 needs --dataset mnist" in err and "Traceback" not in err
