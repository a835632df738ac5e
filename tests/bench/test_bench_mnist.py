"""The ``mnist`` bench section on a tiny synthetic MNIST (both networks, every test image of
the toy set on the RTL; no registry needed)."""

from __future__ import annotations

import pytest

from accelgen.bench import mnist as bench_mnist
from accelgen.bench.context import BenchContext
from accelgen.golden import lenet
from accelgen.golden.models import MLPParams


def test_quick_skips_the_section(tmp_path):
    sec = bench_mnist.section_mnist(BenchContext(out=tmp_path, quick=True, seed=0))
    assert not sec.tables and "not in --quick" in sec.skipped[0]


def test_unavailable_data_is_a_skip_not_a_failure(tmp_path, monkeypatch):
    from accelgen.data.mnist import DatasetUnavailable

    def fail(progress=None):
        raise DatasetUnavailable("no network")

    monkeypatch.setattr("accelgen.demo.mnist.load_mnist", fail)
    monkeypatch.setattr("accelgen.demo.lenet5.load_mnist", fail)
    sec = bench_mnist.section_mnist(BenchContext(out=tmp_path, quick=False, seed=0))
    assert sec.tables["networks"] == []
    assert all("no network" in s and "FAILED" not in s for s in sec.skipped)
    assert len(sec.skipped) == 2


@pytest.mark.slow
def test_section_on_toy_mnist(tmp_path, monkeypatch, toy_mnist):
    toy = toy_mnist(400, 12, seed=3)
    monkeypatch.setattr("accelgen.golden.models.cache_dir", lambda: tmp_path / "models")
    for mod in ("mnist", "lenet5"):
        monkeypatch.setattr(f"accelgen.demo.{mod}.load_mnist", lambda progress=None: toy)
    small = MLPParams(
        hidden=(32, 16), densities=(0.2, 0.3, 0.5), epochs=2, prune_epochs=1, share_epochs=1
    )
    tiny = lenet.LeNet5Params(epochs=1, prune_epochs=1, share_epochs=1)
    l300, l5 = lenet.lenet300, lenet.lenet5
    monkeypatch.setattr(lenet, "lenet300", lambda **kw: l300(**{**kw, "params": small}))
    monkeypatch.setattr(lenet, "lenet5", lambda **kw: l5(**{**kw, "params": tiny}))
    sec = bench_mnist.section_mnist(BenchContext(out=tmp_path, quick=False, seed=0))
    assert not sec.skipped, sec.skipped
    nets = sec.tables["networks"]
    assert [r["network"] for r in nets] == ["LeNet-300-100", "LeNet-5"]
    for r in nets:
        assert r["images"] == 12 and r["bit_exact"] and r["error_rtl_pct"] == r["error_golden_pct"]
        assert r["cycles_per_image"] > 0 and r["energy_nj_per_image"] > 0
    assert [r["layer"] for r in sec.tables["layers"]] == ["l0", "l1", "l2"] + [
        "conv1",
        "conv2",
        "ip1",
        "ip2",
    ]
    assert [r["layer"] for r in sec.tables["eie_load_efficiency"]] == [
        "l0",
        "l1",
        "l2",
        "ip1",
        "ip2",
    ]
    assert (tmp_path / "mnist-lenet5" / "report.md").is_file()
