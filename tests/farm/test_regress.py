"""``accelgen regress``: cases are reproducible and fit their configs, a failure is shrunk into a
minimal reproducer with a rerun command, and the real RTL passes (native engine)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from accelgen.farm import regress
from accelgen.main import main
from accelgen.sim.runner import default_simulators


def test_plan_and_cases_reproducible():
    a = regress.plan(40, 3, ["eie", "diannao"], 3)
    b = regress.plan(40, 3, ["eie", "diannao"], 3)
    assert a.keys() == b.keys()
    n = 0
    for core in a:
        for (ca, cases_a), (cb, cases_b) in zip(a[core], b[core], strict=True):
            assert ca == cb and cases_a == cases_b
            for i, s in cases_a:
                k1 = regress.make_case(core, ca, i, s)
                k2 = regress.make_case(core, ca, i, s)
                assert np.array_equal(k1.x, k2.x)
                n += 1
    assert n == 40


def _fake_rtl(bad_rows: int):
    """An "RTL" that is the golden model and cycle model, except that an EIE layer with more
    than ``bad_rows`` outputs gets its first output off by one."""

    def simulate(config, cases, simulator, engine):
        out = []
        for k in cases:
            y, cyc = regress.expected(k)
            y = y.copy()
            if k.core == "eie" and any(la.shape[0] > bad_rows for la in k.layers):
                y[..., 0] += 1
            out.append((y, cyc))
        return out

    return simulate


def test_failure_is_shrunk_with_rerun_command(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(regress, "simulate", _fake_rtl(bad_rows=4))
    out = tmp_path / "reg"
    args = ["regress", "--cases", "12", "--cores", "eie", "--configs", "2", "--workers", "0"]
    assert main([*args, "--no-progress", "-o", str(out)]) == 1
    summary = json.loads((out / "summary.json").read_text())
    assert summary["cases"] == 12 and summary["failures"] >= 1
    err = capsys.readouterr().err
    assert "rerun: accelgen regress --replay" in err
    for f in summary["failed_cases"]:
        d = out / "failures" / f"case-{f['id']}"
        from accelgen.golden.npzformat import load_eie_npz

        layers, x = load_eie_npz(d / "network.npz")
        # minimal: one layer, one input, and halving its rows would make it pass
        assert len(layers) == 1 and np.atleast_2d(x).shape[0] == 1
        assert 4 < layers[0].shape[0] <= 9
        assert f["command"] == f"accelgen regress --replay {d}"
        assert "outputs differ" in f["error"]
        # the replay reruns it (still failing with the fake RTL, passing with the golden one)
        assert main(["regress", "--replay", str(d)]) == 1
        monkeypatch.setattr(regress, "simulate", _fake_rtl(bad_rows=10_000))
        assert main(["regress", "--replay", str(d)]) == 0
        monkeypatch.setattr(regress, "simulate", _fake_rtl(bad_rows=4))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--cases", "0"], "--cases must be a positive integer, got 0"),
        (["--cases", "5", "--cores", "tpu"], "--cores: unknown core 'tpu'"),
        (["--cases", "5", "--simulator", "icarus", "--engine", "native"], "Verilator only"),
        (["--cases", "5", "--workers", "-1"], "--workers must be >= 0, got -1"),
    ],
)
def test_bad_arguments_one_line(tmp_path, capsys, argv, message):
    out = tmp_path / "o"
    assert main(["regress", *argv, "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert not out.exists()


@pytest.mark.parametrize("simulator", default_simulators())
def test_real_rtl_passes(tmp_path, simulator):
    """Random cases per core on the real RTL (native engine on Verilator, cocotb on Icarus),
    one config each."""
    out = tmp_path / "reg"
    n = 16 if simulator == "verilator" else 6
    argv = ["regress", "--cases", str(n), "--configs", "1", "--seed", "1", "--workers", "0"]
    argv += ["--simulator", simulator]
    assert main([*argv, "--no-progress", "-o", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["cases"] == n and summary["failures"] == 0 and summary["task_errors"] == 0
    assert summary["engine"] == ("native" if simulator == "verilator" else "cocotb")
