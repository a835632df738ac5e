"""``accelgen bench --quick`` writes the report files with the expected keys and arithmetic.

One reduced quick run feeds every check; the checks are helpers called from one test so that
pytest-xdist does not run the bench once per worker.
"""

import json

import numpy as np
import pytest

from accelgen import bench, main
from accelgen.bench import context as bench_context
from accelgen.bench import cpu as bench_cpu
from accelgen.bench import eie as bench_eie
from accelgen.bench import eie_uarch as bench_uarch
from accelgen.bench import farm as bench_farm
from accelgen.bench import training as bench_training
from accelgen.golden import balance, paper


def test_quick_bench(tmp_path, monkeypatch):
    # the smallest subset that still fills every table: one EIE layer, one sweep point each
    monkeypatch.setattr(bench_context, "EIE_QUICK_LAYERS", ("NT-We",))
    monkeypatch.setattr(bench_eie, "SWEEP_LAYER", "NT-We")
    monkeypatch.setattr(bench_eie, "QUICK_FIFO_DEPTHS", (8,))
    monkeypatch.setattr(bench_eie, "QUICK_PE_COUNTS", (64,))
    monkeypatch.setattr(bench_context, "DIANNAO_QUICK_LAYERS", ("POOL3", "CLASS1", "CLASS3"))
    monkeypatch.setattr(bench_uarch, "SCALED_LAYERS", ("NT-We",))
    monkeypatch.setattr(bench_cpu, "QUICK_LAYERS", ("NT-We",))
    monkeypatch.setattr(bench_cpu, "REPEATS", 3)
    grid = {"n_pes": [64], "fifo_depth": [2, 8], "skip_empty": [False]}
    monkeypatch.setattr(bench_farm, "QUICK_GRID", grid)
    monkeypatch.setattr(bench_training, "QUICK_EPOCHS", 1)
    monkeypatch.setattr(bench_training, "QUICK_SAMPLES", 100)
    assert main.main(["bench", "--quick", "-o", str(tmp_path)]) == 0
    quick = tmp_path, json.loads((tmp_path / "bench.json").read_text())
    for check in (
        check_files_and_meta,
        check_csv_per_table,
        check_diannao_arithmetic,
        check_eie_section,
        check_eie_uarch_section,
        check_cpu_section,
        check_energy_section,
        check_winograd_section,
        check_farm_section,
        check_training_section,
        check_only_keeps_the_other_sections,
    ):
        check(quick)


def check_files_and_meta(quick):
    out, data = quick
    for name in ("bench.json", "bench_config.json", "benchmarks.md"):
        assert (out / name).stat().st_size > 0
    meta = data["meta"]
    assert set(meta["machine"]) == {"date", "platform", "cpu", "cpu_count", "python"}
    assert meta["quick"] is True and set(data["sections"]) == set(bench.SECTIONS)
    md = (out / "benchmarks.md").read_text()
    assert meta["machine"]["date"] in md and "Synthetic layers" in md
    for sec in data["sections"].values():
        for tname, rows in sec["tables"].items():
            assert rows, tname
        for plot in sec["plots"]:
            assert (out / plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
            assert f"]({plot})" in md


def check_csv_per_table(quick):
    out, data = quick
    for name, sec in data["sections"].items():
        for tname, rows in sec["tables"].items():
            lines = (out / f"{name}_{tname}.csv").read_text().splitlines()
            assert lines[0].split(",") == list(rows[0]) and len(lines) == len(rows) + 1


def check_diannao_arithmetic(quick):
    rows = {r["layer"]: r for r in quick[1]["sections"]["diannao"]["tables"]["table2"]}
    assert set(rows) == set(bench_context.DIANNAO_QUICK_LAYERS)
    for name, r in rows.items():
        p = paper.diannao_layer(name)
        assert r["cycles"] >= r["nfu_busy_cycles"] > 0
        if p.kind == "pool":
            continue
        # every useful MAC needs one of the Tn^2 multipliers in some cycle
        assert r["nfu_busy_cycles"] * 16 * 16 >= p.macs
        assert r["utilization_pct"] == pytest.approx(100 * p.macs / (256 * r["cycles"]), abs=0.01)
        assert r["gops"] == pytest.approx(2 * p.macs * 0.98 / r["cycles"], abs=0.1)
    # CLASS1: 960 inputs -> 20 outputs is ceil(20/16) * ceil(960/16) = 120 NFU steps
    assert rows["CLASS1"]["nfu_busy_cycles"] == 120


def check_eie_section(quick):
    sec = quick[1]["sections"]["eie"]
    tables = sec["tables"]
    rows = tables["table3"]
    assert [r["layer"] for r in rows] == list(bench_context.EIE_QUICK_LAYERS)
    ctx = bench.BenchContext(out=quick[0], quick=True, seed=1)
    for r in rows:
        s = ctx.eie_layer(r["layer"])
        active = s.layer.index[:, s.x != 0]
        # total work = non-zeros of the broadcast columns plus a few padding entries
        total = r["ideal_mean_cycles"] * paper.EIE_PES
        assert np.count_nonzero(active) <= total <= 1.02 * np.count_nonzero(active)
        ideal = balance.ideal_cycles(balance.column_work(s.layer.index, 64), s.x)
        assert r["ideal_max_cycles"] == ideal["max"]
        if "cycles" in r:  # the cycle model is available
            # no PE can finish before its own work is done
            assert r["cycles"] >= r["ideal_max_cycles"] >= r["ideal_mean_cycles"]
            assert r["theoretical_us"] == pytest.approx(r["ideal_mean_cycles"] / 800, abs=0.01)
            assert r["actual_us"] == pytest.approx(r["cycles"] / 800, abs=0.01)
            assert r["paper_eff_pct"] == paper.eie_layer(r["layer"]).efficiency_pct
    if "options" in tables:
        opts = tables["options"]
        assert {(o["layer"], o["option"]) for o in opts} == {
            (r["layer"], v) for r in rows for v in bench_eie.EIE_VARIANTS
        }
        for o in opts:
            base = next(b for b in opts if b["layer"] == o["layer"] and b["option"] == "baseline")
            assert o["gain_pct"] == pytest.approx(
                100 * (base["cycles"] / o["cycles"] - 1), abs=0.01
            )
        assert [r["fifo_depth"] for r in tables["fifo_sweep"]] == [8] * len(bench_eie.EIE_VARIANTS)
        # option (a) never changes the work, and on NT-We (~1 entry per column per PE, a third
        # of the columns empty in each PE) it removes most of the empty-column bubbles
        eff = {o["option"]: o for o in opts}
        assert eff[bench_eie.SKIP]["cycles"] < 0.9 * eff[bench_eie.BASELINE]["cycles"]
        assert eff[bench_eie.SKIP_BALANCED]["cycles"] < eff[bench_eie.BALANCED]["cycles"]
        assert [r["n_pes"] for r in tables["pe_sweep"]] == [64]


def check_eie_uarch_section(quick):
    tables = quick[1]["sections"]["eie_uarch"]["tables"]
    rows = [r for r in tables["authors"] if r["layer"] == "NT-We"]
    assert [r["variant"] for r in rows] == [v[0] for v in bench_uarch.SIDE_VARIANTS]
    for r in rows:
        # no boundary passes: a run is its run phase; the first run after loading the network
        # starts with the bias pass, 75 outputs on 8 PEs: ceil(75 / 8) + 2 cycles
        assert r["total_cycles"] == r["run_cycles"]
        assert r["first_run_cycles"] == r["run_cycles"] + 10 + 2
        assert r["authors_cycles"] == bench_uarch.AUTHORS_MEASURED[("NT-We", False)]
        assert float(r["run_ratio"]) == pytest.approx(
            r["run_cycles"] / r["authors_cycles"], abs=1e-3
        )
    # the default configuration (options (c), (d), (e) S = 2) beats their simulator on NT-We
    by_variant = {r["variant"]: r for r in rows}
    default, plain = by_variant[bench_uarch.DEFAULT], by_variant[bench_uarch.PAPER]
    assert default["run_cycles"] <= 0.85 * default["authors_cycles"]
    assert default["run_cycles"] < plain["run_cycles"]
    where = {r["variant"]: r for r in tables["where_cycles_go"]}
    assert set(where) == {bench_uarch.PAPER, bench_uarch.DEFAULT}
    parts = ("entry_pct", "padding_pct", "bubble_pct", "starved_pct")
    for r in where.values():
        assert sum(r[k] for k in parts) == pytest.approx(100, abs=0.05)
    study = {r["variant"]: r for r in tables["design_study"]}
    assert study["(a) + (b) + filter (c)"]["cycles"] < study["(a) + (b)"]["cycles"]
    multi = study[bench_uarch.MULTI_ISSUE]
    assert multi["eff_mean_pct"] >= 85
    notes = " ".join(quick[1]["sections"]["eie_uarch"]["notes"])
    assert f"{multi['eff_mean_pct']:.2f} %" in notes


def check_cpu_section(quick):
    (row,) = quick[1]["sections"]["cpu"]["tables"]["cpu"]
    assert row["layer"] == "NT-We" and row["cpu_dense_us"] > 0 and row["cpu_csr_us"] > 0
    assert row["eie_800mhz_us"] == pytest.approx(row["eie_cycles"] / 800, abs=0.01)
    assert row["best_cycles"] < row["eie_cycles"]
    speedup = row["cpu_dense_us"] / row["best_fmax_us"]
    assert row["speedup_best_fmax"] == pytest.approx(speedup, rel=0.01)


def check_farm_section(quick):
    tables = quick[1]["sections"]["farm"]["tables"]
    sweep = {r["workers"]: r for r in tables["sweep"]}
    assert set(sweep) == {1, 2} and all(
        r["points"] == 2 and r["status"] == 0 for r in sweep.values()
    )
    assert sweep[1]["speedup"] == 1.0 and all(r["load_1min"] >= 0 for r in sweep.values())
    (reg,) = tables["regress"]
    assert reg["engine"] == "native" and reg["cases"] == 20 and reg["failures"] == 0
    assert reg["passed"] and reg["cases_per_s"] > 0
    assert {r["core"] for r in tables["estimator"]} == {"eie", "diannao"}


def check_winograd_section(quick):
    tables = quick[1]["sections"]["winograd"]["tables"]
    ops = {r["layer"]: r for r in tables["opcount"]}
    # Alex-conv3: 256 -> 384, 13x13 outputs; Winograd = 16 products per 2x2 tile (7 x 7 tiles)
    assert ops["Alex-conv3"]["direct_mults"] == 256 * 384 * 9 * 13 * 13
    assert ops["Alex-conv3"]["winograd_mults"] == 256 * 384 * 16 * 7 * 7
    assert {r["layer"] for r in tables["kernel_sweep"]} == set(ops)
    cycles = {r["layer"]: r for r in tables["cycles"]}
    for name in ("digits conv1", "digits conv2"):
        assert cycles[name]["speedup"] >= 1.8
    for r in tables["error"]:
        assert r["winograd_vs_float_rms_lsb"] <= 2 * r["direct_vs_float_rms_lsb"] + 1


def check_training_section(quick):
    tables = quick[1]["sections"]["training"]["tables"]
    runs = {r["run"] for r in tables["curves"]}
    assert runs == {"float"} | {
        f"FL {fl} {r}" for fl in (12, 14) for r in ("nearest", "stochastic")
    }
    for r in tables["curves"]:
        assert 0 <= r["train_error_pct"] <= 100 and 0 <= r["test_error_pct"] <= 100
    final = {r["run"]: r for r in tables["final"]}
    assert final["float"]["test_gap_to_float_pts"] == 0
    lost = {r["fl"]: r["updates_below_half_lsb_pct"] for r in tables["lost_updates"]}
    assert lost[12] > lost[14] > 0  # a coarser weight LSB loses more updates
    small = {r["run"] for r in tables["small_rate"]}
    assert small == {f"{r} lr 2^-15" for r in ("float", "FL 14 nearest", "FL 14 stochastic")}


def check_energy_section(quick):
    rows = quick[1]["sections"]["energy"]["tables"]["eie_vs_diannao"]
    for r in rows:
        parts = r["eie_compute_nj"] + r["eie_sram_nj"] + r["eie_dram_nj"]
        assert parts == pytest.approx(r["eie_total_nj"], abs=0.2)
        # docs/papers.md (energy): compressed on-chip weights beat dense weights from DRAM
        assert r["diannao_over_eie"] > 10


def test_bad_arguments(tmp_path, capsys):
    assert main.main(["bench", "--quick", "--seed", "-1", "-o", str(tmp_path)]) == 2
    assert "--seed must be >= 0, got -1" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main.main(["bench", "--only", "fpga"])
    assert e.value.code == 2


def check_only_keeps_the_other_sections(quick):
    out, before = quick
    assert main.main(["bench", "--quick", "--only", "speed", "-o", str(out)]) == 0
    after = json.loads((out / "bench.json").read_text())
    assert list(after["sections"]) == list(before["sections"])
    assert after["meta"]["updated_sections"] == ["speed"]
    assert after["sections"]["diannao"] == before["sections"]["diannao"]
    # a different seed does not mix results of two runs
    assert main.main(["bench", "--quick", "--only", "speed", "--seed", "2", "-o", str(out)]) == 0
    assert list(json.loads((out / "bench.json").read_text())["sections"]) == ["speed"]
