"""The explore SPEC is checked in one line before any worker starts; results rows are whole;
the Pareto front and the area estimator's pieces."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from accelgen.farm import area, pareto
from accelgen.farm.spec import load_spec, parse_spec
from accelgen.main import main
from accelgen.results import ResultStore

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "explore"
BASE = {
    "core": "eie",
    "workload": {
        "synthetic": [{"inputs": 16, "outputs": 8, "weight_density": 0.5, "act_density": 0.5}]
    },
    "grid": {"n_pes": [1, 2]},
}


# eie_onnx.toml needs accelgen export-onnx's model: test_onnx_workload.py loads it
@pytest.mark.parametrize(
    "path",
    sorted(p for p in EXAMPLES.glob("*.toml") if p.name != "eie_onnx.toml"),
    ids=lambda p: p.name,
)
def test_examples_load(path):
    spec = load_spec(path)
    assert spec.points and spec.core in ("eie", "diannao")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"colour": 1}, "unknown SPEC key 'colour'"),
        ({"grid": {"n_pes": []}}, "grid.n_pes is empty"),
        ({"grid": {"n_pes": [3]}}, "n_pes must be a power of two in 1..256, got 3"),
        ({"grid": {"pes_count": [1]}}, "unknown config field 'pes_count'"),
        ({"grid": {}}, "no grid and no sample"),
        ({"core": "tpu"}, "unknown core 'tpu'"),
        ({"workload": {}}, "the workload is empty"),
        ({"workload": {"paper": ["Alex-9"]}}, "no EIE Table III layer 'Alex-9'"),
        (
            {
                "workload": {
                    "synthetic": [
                        {"inputs": 0, "outputs": 1, "weight_density": 1, "act_density": 1}
                    ]
                }
            },
            "workload.synthetic[0].inputs must be an integer in 1..65536, got 0",
        ),
        ({"pareto": {"max_points": -1}}, "pareto.max_points must be an integer in 0..1000"),
        ({"constraints": {"max_area": 3}}, "unknown constraints key 'max_area'"),
        ({"fixed": {"n_pes": 4}}, "field 'n_pes' is both fixed and varied"),
    ],
)
def test_bad_spec_one_line(change, message):
    with pytest.raises(ValueError) as e:
        parse_spec({**BASE, **change}, source="s.toml")
    text = str(e.value)
    assert text.startswith("s.toml: ") and message in text and "\n" not in text


def test_bad_spec_cli_no_output(tmp_path, capsys):
    spec = tmp_path / "s.json"
    spec.write_text(json.dumps({**BASE, "grid": {"fifo_depth": [0]}}))
    out = tmp_path / "out"
    assert main(["explore", str(spec), "-o", str(out), "--workers", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "fifo_depth must be in 1..64, got 0" in err[0]
    assert not out.exists()


def test_store_drops_cut_line_and_resumes(tmp_path):
    path = tmp_path / "results.csv"
    store = ResultStore(path, ["key", "status", "note"])
    store.append({"key": "a", "status": "ok", "note": 'comma, "quote"\nnewline'})
    with open(path, "ab") as f:  # a row cut off by a hard kill
        f.write(b"b,ok,half")
    again = ResultStore(path, ["key", "status", "note"])
    assert set(again.rows) == {"a"} and again.rows["a"]["note"] == 'comma, "quote"\nnewline'
    again.append({"key": "b", "status": "ok"})
    assert set(ResultStore(path, ["key", "status", "note"]).rows) == {"a", "b"}
    with pytest.raises(ValueError, match="columns differ"):
        ResultStore(path, ["key", "other"])


def test_pareto_front_and_select():
    rows = [
        {"key": "a", "cycles": 10, "energy_pj": 5, "est_lut": 100},
        {"key": "b", "cycles": 5, "energy_pj": 5, "est_lut": 200},
        {"key": "c", "cycles": 10, "energy_pj": 5, "est_lut": 150},  # dominated by a
        {"key": "d", "cycles": 4, "energy_pj": 9, "est_lut": 300},
    ]
    front = pareto.front(rows)
    assert [r["key"] for r in front] == ["a", "b", "d"]
    assert [r["key"] for r in pareto.select(front, 2)] == ["a", "d"]
    assert pareto.select(front, 0) == []


def test_bram_blocks_and_fit_recovers_a_linear_model():
    assert area.bram_blocks(512, 36) == 1 and area.bram_blocks(1024, 64) == 4
    assert area.bram_blocks(16384, 1) == 1 and area.bram_blocks(2048, 10) == 2
    from accelgen.spec.eie import EIEConfig

    configs = [
        EIEConfig(
            n_pes=n,
            fifo_depth=f,
            skip_empty=s,
            filter_empty=e,
            merge_padding=d,
            decouple_depth=dec,
            acc_bits=a,
        )
        for n in (1, 2, 4, 8)
        for f, s, e, d, dec, a in (
            (2, False, True, False, 0, 32),
            (4, True, True, True, 2, 24),
            (8, True, False, True, 4, 24),
            (16, False, False, False, 0, 32),
            (8, False, True, True, 8, 32),
            (4, False, False, False, 2, 24),
        )
    ]
    # every resource an arbitrary linear function of its own features: the fit recovers it
    rng = np.random.default_rng(21)
    truth = {
        res: {k: float(rng.uniform(1, 50)) for k in area.FEATURES["eie"][res]}
        for res in ("abc_lut", "ff")
    }
    meas = []
    for c in configs:
        f = area.features("eie", c)
        m = {res: sum(v * f[k] for k, v in t.items()) for res, t in truth.items()}
        m["lut"] = m["abc_lut"] * 1.15  # LUT4s per ABC LUT
        meas.append({**m, "dsp": c.n_pes, "bram": f["blocks"]})
    coef = area.fit("eie", configs, meas)
    for res, t in truth.items():
        assert coef[res] == pytest.approx(t, rel=1e-6)
    assert coef["lut"] == pytest.approx({"abc_lut": 1.15})
    model = area.AreaModel({"eie": coef}, {"eie": {"n_pes": (1, 8)}}, {})
    errs = area.relative_errors("eie", configs, meas, model)
    assert max(errs[r] for r in ("abc_lut", "lut", "ff", "dsp")) < 0.5
    assert area.in_range("eie", configs[0], model)
    assert not area.in_range("eie", EIEConfig(n_pes=64), model)


def test_select_features_finds_the_true_features():
    """Resources linear in a few candidate features: the leave-one-out selection returns
    exactly those features (not a superset, not a look-alike), from the training configs."""
    from accelgen import cores
    from accelgen.farm.synth import TRAINING

    cls = cores.get("eie").config_cls
    configs = [cls(**ov) for ov, held in TRAINING["eie"] if not held]
    for truth in (
        {"1": 900.0, "pes": 700.0, "pes*acc": 20.0, "pes*skip": 150.0},
        {"1": 1200.0, "pes": 500.0, "pes*filter": 90.0, "pes*fifo": 30.0},
        # option (e): the shared buffer's registers, the PEs' pointers and keep bits
        {"1": 1200.0, "pes": 500.0, "dec_regs": 1.0, "pes*dec_ptr": 3.0, "pes*dec_keep": 1.0},
        {"1": 600.0, "pes": 580.0, "pes*fifo": 20.0, "pes*dec_mux": 0.6},
    ):
        meas = []
        for c in configs:
            f = area.features("eie", c)
            v = sum(w * f[k] for k, w in truth.items())
            meas.append({"lut": v})
        chosen = area.select_features("eie", "lut", configs, meas)
        assert set(chosen) == set(truth)


def test_filter_empty_is_a_feature_and_a_memory():
    """Option (c) keeps a ptr_depth x 1 bitmap per PE: one more block RAM per PE, and the
    estimator's features see the option."""
    from accelgen.spec.eie import EIEConfig

    for n in (1, 2, 4):
        off = EIEConfig(n_pes=n, ptr_depth=512, filter_empty=False)
        on = EIEConfig(n_pes=n, ptr_depth=512, filter_empty=True)
        f_off, f_on = area.features("eie", off), area.features("eie", on)
        assert f_on["blocks"] - f_off["blocks"] == n
        assert (f_off["filter"], f_on["filter"], f_on["pes*filter"]) == (0, 1, n)
        est_on, est_off = area.estimate("eie", on), area.estimate("eie", off)
        assert est_on["bram_bits"] - est_off["bram_bits"] == n * 512


def test_stored_coefficients_cover_both_cores():
    model = area.load_model()
    for core in ("eie", "diannao"):
        for res in ("lut", "ff", "dsp", "bram"):
            assert res in model.coefficients[core]
    assert os.path.exists(area.COEFFICIENTS)
    # the stored coefficients are those of the features the estimator computes
    stored = json.loads(area.COEFFICIENTS.read_text())
    for core, res_features in area.FEATURES.items():
        for res, names in res_features.items():
            assert stored["features"][core][res] == list(names)
            assert set(model.coefficients[core][res]) == set(names)
        # ... and those its training set chose (accelgen explore --fit-area)
        for res, names in model.errors[core].get("selected_features", {}).items():
            assert names == list(area.FEATURES[core][res])
    assert model.errors["eie"]["selected_features"]


def test_option_e_features_count_its_hardware():
    """Option (e) with S columns costs (docs/eie.md "Decoupled broadcast") S x (column +
    activation) registers at the top, per PE a pointer of log2(2S) bits, an S:1 multiplexer
    of column and activation per PE and, with option (c), S keep bits per PE; nothing off."""
    from accelgen.spec.eie import EIEConfig

    mem = {"regfile_depth": 64, "spmat_words": 256, "ptr_depth": 512, "max_layers": 2}
    for n, s, filt, ptr in ((1, 2, True, 2), (4, 4, False, 3), (8, 8, True, 4), (2, 64, True, 7)):
        c = EIEConfig(n_pes=n, decouple_depth=s, filter_empty=filt, **mem)
        f = area.features("eie", c)
        slot = c.col_bits + 16  # a column index and a 16-bit activation
        assert f["dec_regs"] == s * slot
        assert f["pes*dec_ptr"] == n * ptr
        assert f["pes*dec_mux"] == n * s * slot
        assert f["pes*dec_keep"] == (n * s if filt else 0)
        off = area.features("eie", c.replace(decouple_depth=0))
        assert [off[k] for k in ("dec_regs", "pes*dec_ptr", "pes*dec_mux", "pes*dec_keep")] == [
            0
        ] * 4
        # the shared buffer is registers: no block RAM for it
        assert (
            area.estimate("eie", c)["bram_bits"]
            == area.estimate("eie", c.replace(decouple_depth=0))["bram_bits"]
        )


def test_fast_leave_one_out_equals_refitting_without_each_config():
    """select_features ranks subsets by leave-one-out errors from one QR per subset; they are
    those of a fit without each config, also when a column is nonzero in one config only."""
    rng = np.random.default_rng(5)
    a = np.column_stack([np.ones(12), rng.uniform(1, 8, 12), rng.uniform(0, 30, 12)])
    lone = np.zeros(12)
    lone[3] = 4.0  # left out, its column is all zero: the refit drops it
    y = a @ [900.0, 300.0, 12.0] * rng.uniform(0.95, 1.05, 12)
    for cols in (a, np.column_stack([a, lone]), a[:, :1]):
        ref = []
        for i in range(12):
            keep = np.arange(12) != i
            w = 1.0 / y[keep]
            coef, *_ = np.linalg.lstsq(cols[keep] * w[:, None], y[keep] * w, rcond=None)
            ref.append(100.0 * abs(cols[i] @ coef - y[i]) / y[i])
        assert area._loo_rel(cols, y) == pytest.approx(ref, rel=1e-9, abs=1e-9)


def test_fitted_range_holds_option_e():
    """The EIE fit covers option (e), decouple_depth 2-8, at 1-8 PEs with option (c) on and off:
    the default options of 2026-12-06 ((c), (d) and (e) with S = 2) are inside the fitted
    range at the training memories; every training config states options (a), (c), (d) and
    (e), so a change of their defaults does not change what a training config means."""
    from accelgen.farm.synth import TRAINING
    from accelgen.spec.eie import EIEConfig

    model = area.load_model()
    mem = {"regfile_depth": 64, "spmat_words": 256, "ptr_depth": 512, "max_layers": 2}
    options = {"skip_empty": False, "filter_empty": True, "merge_padding": True}
    default = EIEConfig(n_pes=4, fifo_depth=8, acc_bits=32, decouple_depth=2, **options, **mem)
    assert area.in_range("eie", default, model)
    for s in (0, 4, 8):
        assert area.in_range("eie", default.replace(decouple_depth=s), model)
    for n in (1, 2, 8):
        assert area.in_range("eie", default.replace(n_pes=n), model)
    assert not area.in_range("eie", default.replace(decouple_depth=16), model)
    for overrides, _ in TRAINING["eie"]:
        assert {"skip_empty", "filter_empty", "merge_padding", "decouple_depth"} <= set(overrides)
    train = [ov for ov, held in TRAINING["eie"] if not held]
    dec = [ov for ov in train if ov["decouple_depth"]]
    assert {ov["decouple_depth"] for ov in dec} == {2, 4, 8}
    assert {ov["n_pes"] for ov in dec} == {1, 2, 4, 8}
    assert {ov["filter_empty"] for ov in dec} == {ov["skip_empty"] for ov in dec} == {False, True}
    assert any(not ov["decouple_depth"] for ov in train)
    # the default options' config at 4 PEs is held out, not trained on
    held = [EIEConfig(**ov) for ov, h in TRAINING["eie"] if h]
    assert default in held and default not in [EIEConfig(**ov) for ov in train]


def test_tool_failure_is_recorded_and_sweep_continues(tmp_path, monkeypatch):
    """A Yosys crash on a front point is a failed row with its log; the rest completes."""
    from accelgen.synth import flow
    from accelgen.synth.errors import SynthError

    calls = []

    def broken(component, top, cfg, out_dir, **kwargs):
        calls.append(out_dir)
        (Path(out_dir) / "yosys.log").parent.mkdir(parents=True, exist_ok=True)
        (Path(out_dir) / "yosys.log").write_text("ERROR: out of cheese\n")
        component._MustUse__silence = True
        raise SynthError("yosys failed: ERROR: out of cheese")

    monkeypatch.setattr(flow, "run_synth", broken)
    spec = tmp_path / "s.json"
    spec.write_text(json.dumps({**BASE, "pareto": {"max_points": 2, "spot_check": 0}}))
    out = tmp_path / "out"
    assert main(["explore", str(spec), "-o", str(out), "--workers", "0", "--no-progress"]) == 1
    rows = list(ResultStore(out / "results.csv", _columns()).rows.values())
    model = [r for r in rows if r["kind"] == "model"]
    synth = [r for r in rows if r["kind"] == "synth"]
    assert len(model) == 2 and all(r["status"] == "ok" for r in model)
    assert synth and len(synth) == len(calls)
    for r in synth:
        assert r["status"] == "failed" and "out of cheese" in r["error"]
        assert "out of cheese" in (out / r["log"]).read_text()
    assert (out / "report.md").exists() and (out / "pareto.png").exists()


def _columns():
    from accelgen.explore import COLUMNS

    return COLUMNS


def test_interrupt_leaves_whole_rows_and_rerun_completes(tmp_path, monkeypatch, capsys):
    from accelgen.farm import evaluate

    real = evaluate.evaluate_point
    calls = []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(evaluate, "evaluate_point", interrupted)
    spec = tmp_path / "s.json"
    spec.write_text(
        json.dumps({**BASE, "grid": {"n_pes": [1, 2, 4, 8]}, "pareto": {"synth": False}})
    )
    out = tmp_path / "out"
    argv = ["explore", str(spec), "-o", str(out), "--workers", "0", "--no-progress"]
    assert main(argv) == 130
    assert "interrupted" in capsys.readouterr().err
    text = (out / "results.csv").read_text()
    assert text.endswith("\n") and len(ResultStore(out / "results.csv", _columns()).rows) == 2
    monkeypatch.setattr(evaluate, "evaluate_point", real)
    assert main(argv) == 0
    rows = ResultStore(out / "results.csv", _columns()).rows
    assert len(rows) == 4 and all(r["status"] == "ok" for r in rows.values())


def test_fit_area_writes_coefficients_and_error_table(tmp_path, monkeypatch):
    """--fit-area on fake "Yosys" resources that are linear in the features: the fit recovers
    them (near-zero held-out error) and writes the JSON and the Markdown table."""
    from accelgen import cores
    from accelgen.farm import synth

    def fake(core, config, out_dir, **kwargs):
        f = area.features(core, cores.get(core).config_cls.from_json(config))
        lut = 800 + 300 * f.get("pes", 0) + 40 * f.get("tn2*w", 0) / 16 + 7 * f.get("1", 0)
        Path(out_dir).mkdir(parents=True)  # Yosys' log line of ABC's LUT count
        (Path(out_dir) / "yosys.log").write_text(f"ABC RESULTS:   $lut cells: {lut / 1.25:.0f}\n")
        return {"status": "ok", "lut": lut, "ff": 0.8 * lut, "dsp": 3, "bram": f["blocks"] + 1}

    monkeypatch.setattr(synth, "synth_point", fake)
    out = tmp_path / "fit"
    assert main(["explore", "--fit-area", "-o", str(out), "--workers", "0", "--no-progress"]) == 0
    model = area.load_model(out / "area_coefficients.json")
    for core in ("eie", "diannao"):
        held = model.errors[core]["held_out_pct"]
        assert held["lut"] < 0.5 and held["ff"] < 0.5 and held["bram"] < 0.5
        assert model.fit_range[core]
    table = (out / "area_fit.md").read_text()
    for core, rows in synth.TRAINING.items():
        held = sum(h for _, h in rows)
        assert held >= 2 and f"| {core} | held out | {held} |" in table
        assert model.errors[core]["n_train"] == len(rows) - held
    assert "filter_empty=True" in table  # option (c) is in the EIE held-out set
    assert "decouple_depth=2" in table  # and option (e)


def test_fit_core_refits_one_core_and_keeps_the_other(tmp_path, monkeypatch, capsys):
    """--fit-core diannao synthesizes only DianNao's training set; EIE's coefficients, range
    and errors are the installed estimator's, unchanged."""
    from accelgen import cores
    from accelgen.farm import synth

    seen = []

    def fake(core, config, out_dir, **kwargs):
        seen.append(core)
        f = area.features(core, cores.get(core).config_cls.from_json(config))
        lut = 500 + 40 * f.get("tn2*w", 0) / 16
        Path(out_dir).mkdir(parents=True)
        return {"status": "ok", "lut": lut, "ff": 2 * lut, "dsp": 3, "bram": f["blocks"]}

    monkeypatch.setattr(synth, "synth_point", fake)
    out = tmp_path / "fit"
    args = ["explore", "--fit-area", "--fit-core", "diannao", "-o", str(out), "--workers", "0"]
    assert main([*args, "--no-progress"]) == 0
    assert seen and set(seen) == {"diannao"}
    installed, model = area.load_model(), area.load_model(out / "area_coefficients.json")
    assert model.coefficients["eie"] == installed.coefficients["eie"]
    assert model.fit_range["eie"] == installed.fit_range["eie"]
    assert model.errors["eie"] == installed.errors["eie"]
    assert model.coefficients["diannao"] != installed.coefficients["diannao"]
    assert model.errors["diannao"]["held_out_pct"]["lut"] < 0.5
    assert main(["explore", "--fit-core", "eie", "-o", str(tmp_path / "x")]) == 2
    assert "--fit-core needs --fit-area" in capsys.readouterr().err
