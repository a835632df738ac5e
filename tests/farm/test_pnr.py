"""``accelgen explore --pnr``: nextpnr's Fmax of the front's points lands in results.csv and the
report; a failing nextpnr is a failed row (with its log), not the end of the sweep. The fast tests
stub the synthesis flow (in-process, ``--workers 0``); the slow one runs Yosys and nextpnr."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from accelgen.main import main

SPEC = {
    "core": "eie",
    "name": "pnr",
    "workload": {
        "synthetic": [{"inputs": 16, "outputs": 8, "weight_density": 0.5, "act_density": 0.5}]
    },
    "grid": {"fifo_depth": [2]},
    "fixed": {"n_pes": 1},
    "pareto": {"synth": True, "max_points": 1, "spot_check": 0, "timeout_s": 900},
}


def _rows(out: Path, kind: str) -> list[dict]:
    with open(out / "results.csv", newline="") as f:
        return [r for r in csv.DictReader(f) if r["kind"] == kind]


def _front_row(report: str) -> str:
    return next(ln for ln in report.splitlines() if ln.startswith("| fifo_depth=2 "))


@pytest.fixture
def spec(tmp_path):
    p = tmp_path / "spec.json"
    p.write_text(json.dumps(SPEC))
    return p


def _stub(monkeypatch, calls, fail: bool):
    from accelgen.synth import flow
    from accelgen.synth.errors import SynthError

    def fake_run_synth(top, name, cfg, out, **kw):
        calls.append(cfg)
        Path(out).mkdir(parents=True, exist_ok=True)
        if fail:
            (Path(out) / "nextpnr.log").write_text("ERROR: Unable to place cell 'x'\n")
            raise SynthError("nextpnr failed (exit 1): ERROR: Unable to place cell 'x'")
        res = {"lut": 1900, "ff": 2100, "dsp": 1, "bram": 7, "carry": 140, "lutram": 16}
        return {
            "resources": {**res, "wrapper_ffs": 100},
            "tool_seconds": {"yosys_s": 1.5, "nextpnr_s": 2.5},
            "timing": {"fmax_mhz": 87.25} if cfg.place_route else {},
        }

    monkeypatch.setattr(flow, "run_synth", fake_run_synth)


def test_pnr_fmax_in_results_and_report(tmp_path, spec, monkeypatch):
    calls = []
    _stub(monkeypatch, calls, fail=False)
    out = tmp_path / "out"
    assert main(["explore", str(spec), "-o", str(out), "--workers", "0", "--pnr"]) == 0
    assert len(calls) == 1 and calls[0].place_route and calls[0].target == "ecp5"
    assert calls[0].pnr_timeout_s == 900
    (row,) = _rows(out, "synth")
    assert row["status"] == "ok" and float(row["fmax_mhz"]) == 87.25
    assert int(row["ff"]) == 2000  # the I/O wrapper's FFs are not the core's
    cells = _front_row((out / "report.md").read_text()).split("|")
    assert cells[-3].strip() == "87.2" or cells[-3].strip() == "87.3"

    # without --pnr the flow is asked for no place and route, and no Fmax is reported
    calls.clear()
    out2 = tmp_path / "out2"
    assert main(["explore", str(spec), "-o", str(out2), "--workers", "0"]) == 0
    assert len(calls) == 1 and not calls[0].place_route
    (row,) = _rows(out2, "synth")
    assert row["fmax_mhz"] == ""


def test_failing_nextpnr_is_a_failed_row(tmp_path, spec, monkeypatch, capsys):
    _stub(monkeypatch, [], fail=True)
    out = tmp_path / "out"
    assert main(["explore", str(spec), "-o", str(out), "--workers", "0", "--pnr"]) == 1
    (row,) = _rows(out, "synth")
    assert row["status"] == "failed" and row["error"].startswith("nextpnr failed (exit 1)")
    assert "Unable to place cell 'x'" in (out / row["log"]).read_text()  # nextpnr's log
    (model,) = _rows(out, "model")
    assert model["status"] == "ok"  # the sweep itself went on
    assert "| failed |" in _front_row((out / "report.md").read_text()).replace("  ", " ")
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.slow
def test_pnr_real_nextpnr(tmp_path, spec):
    """Yosys and nextpnr on a 1-PE EIE with small memories (a few minutes on a loaded machine)."""
    data = json.loads(spec.read_text())
    data["fixed"].update({"regfile_depth": 16, "spmat_words": 32, "ptr_depth": 32})
    spec.write_text(json.dumps(data))
    out = tmp_path / "out"
    assert main(["explore", str(spec), "-o", str(out), "--workers", "0", "--pnr"]) == 0
    (row,) = _rows(out, "synth")
    assert row["status"] == "ok", row["error"]
    fmax = float(row["fmax_mhz"])
    assert 10 < fmax < 500
    assert f"{fmax:.1f}" in _front_row((out / "report.md").read_text())
    (synth_dir,) = (out / "synth").iterdir()
    assert (synth_dir / "nextpnr.log").is_file()
