"""The ``farm`` section (issue 21, ``docs/explore.md``): the Dask farm's throughput.

* a 64-point EIE sweep on the synthetic Alex-8 (``examples/explore/eie_alex8.toml``: PEs x
  queue depth x option (a), cycle model + energy + area estimate per point) on a LocalCluster of
  1 and of 2 workers, side by side;
* ``accelgen regress`` throughput (cases/s) on each engine (native and cocotb, Verilator),
  1000 cases on both cores;
* the area estimator's error table (training and held-out, from ``area_coefficients.json``).
"""

from __future__ import annotations

import json
import os
import shutil
import time

from .context import BenchContext, Section, first_line

__all__ = ["REGRESS_CASES", "SWEEP_SPEC", "section_farm"]

SWEEP_SPEC = {
    "core": "eie",
    "name": "eie-alex8",
    "workload": {"paper": ["Alex-8"], "batch": 1, "seed": 1},
    "grid": {
        "n_pes": [16, 32, 64, 128],
        "fifo_depth": [1, 2, 3, 4, 6, 8, 12, 16],
        "skip_empty": [False, True],
    },
    "pareto": {"synth": False},
}
#: ``--quick``: 8 points.
QUICK_GRID = {"n_pes": [32, 64], "fifo_depth": [2, 8], "skip_empty": [False, True]}
#: Cases per engine and random configs per core (``--quick``: 20 cases, 1 config, native only).
REGRESS_CASES = {"native": 1000, "cocotb": 1000}
REGRESS_CONFIGS = 4


def _sweep(ctx: BenchContext, sec: Section) -> None:
    from ..main import main

    spec = dict(SWEEP_SPEC)
    if ctx.quick:
        spec["grid"] = QUICK_GRID
    folder = ctx.out / "farm"
    folder.mkdir(exist_ok=True)
    (folder / "eie_alex8.json").write_text(json.dumps(spec, indent=1) + "\n")
    rows = []
    for workers in (1, 2):
        out = folder / f"sweep-{workers}w"
        shutil.rmtree(out, ignore_errors=True)  # a fresh sweep: nothing resumed
        load = os.getloadavg()[0]  # other jobs on the machine bound the speed-up
        t = time.perf_counter()
        status = main(
            ["explore", str(folder / "eie_alex8.json"), "-o", str(out)]
            + ["--workers", str(workers), "--no-progress"]
        )
        wall = time.perf_counter() - t
        with open(out / "results.csv") as f:
            n = sum(1 for _ in f) - 1
        rows.append(
            {
                "workers": workers,
                "points": n,
                "status": status,
                "wall_s": round(wall, 1),
                "points_per_s": round(n / wall, 3),
                "load_1min": round(load, 1),
            }
        )
    base = rows[0]["wall_s"]
    for r in rows:
        r["speedup"] = round(base / r["wall_s"], 2)
    sec.tables["sweep"] = rows
    png = folder / "sweep-2w" / "pareto.png"
    if png.exists():
        shutil.copyfile(png, ctx.out / "farm_alex8_pareto.png")
        sec.plots.append("farm_alex8_pareto.png")
    sec.notes.append(
        "Sweep ('sweep'): accelgen explore on the synthetic Alex-8, "
        f"{rows[0]['points']} points (PEs x queue depth x option (a), memories sized to the "
        "layer), exact cycle model + load efficiency + energy + area estimate per point, no "
        "synthesis; a LocalCluster of 1 and of 2 worker processes (one thread each) started by "
        "the command, wall time including the cluster's start and stop; load_1min: the machine's "
        "1-minute load average when the run started (other jobs share the CPUs)."
    )


def _regress(ctx: BenchContext, sec: Section) -> None:
    from ..main import main
    from ..sim.runner import default_simulators

    rows = []
    engines = ("native",) if ctx.quick else ("native", "cocotb")
    for engine in engines:
        if "verilator" not in default_simulators():
            sec.skipped.append("regress throughput: Verilator not available")
            return
        cases = 20 if ctx.quick else REGRESS_CASES[engine]
        configs = 1 if ctx.quick else REGRESS_CONFIGS
        out = ctx.out / "farm" / f"regress-{engine}"
        shutil.rmtree(out, ignore_errors=True)
        argv = ["regress", "--cases", str(cases), "--engine", engine, "--seed", str(ctx.seed)]
        argv += ["--configs", str(configs)]
        status = main([*argv, "--workers", "2", "--no-progress", "-o", str(out)])
        s = json.loads((out / "summary.json").read_text())
        rows.append(
            {
                "engine": engine,
                "simulator": "verilator",
                "cases": s["cases"],
                "configs": len(s["configs"]),
                "failures": s["failures"],
                "task_errors": s["task_errors"],
                "wall_s": s["wall_s"],
                "cases_per_s": s["cases_per_s"],
                "passed": status == 0,
            }
        )
    sec.tables["regress"] = rows
    sec.notes.append(
        f"Regression ('regress'): accelgen regress on both cores, {configs} random config(s) "
        "per core, "
        "cases in tasks of 50 (one simulation each) on a 2-worker LocalCluster; the wall time "
        "includes the Verilator builds of configs not yet in the build cache "
        "(build/sim/, shared by the workers of one machine)."
    )


def _estimator(sec: Section) -> None:
    from ..farm.area import load_model

    model = load_model()
    rows = []
    for core, e in model.errors.items():
        for name, key in (
            ("training", "train_pct"),
            ("leave-one-out", "loo_pct"),
            ("held out", "held_out_pct"),
        ):
            if key in e:
                n = e["n_held_out"] if key == "held_out_pct" else e["n_train"]
                v = e[key]
                rows.append(
                    {"core": core, "set": name, "configs": n}
                    | {r: v.get(r) for r in ("lut", "ff", "dsp", "bram", "abc_lut")}
                )
    sec.tables["estimator"] = rows
    sec.notes.append(
        "Area estimator ('estimator'): mean relative error in percent of the estimate vs Yosys "
        "synth_ecp5, on its training configurations, in leave-one-out cross-validation and on "
        "held-out ones (accelgen explore --fit-area; accelgen/farm/area_coefficients.json); "
        "abc_lut: the LUTs (up to 7 inputs) ABC maps EIE to, the first step of its LUT4 estimate."
    )


def section_farm(ctx: BenchContext) -> Section:
    sec = Section("farm", "Scale-out on Dask: sweeps, regression farm, area estimator")
    try:
        import distributed  # noqa: F401
    except ModuleNotFoundError as e:
        sec.skipped.append(f"Dask distributed not installed: {e}")
        return sec
    for part in (_sweep, _regress):
        try:
            part(ctx, sec)
        except Exception as e:  # one part failing leaves the others
            sec.skipped.append(f"{part.__name__.strip('_')}: {first_line(e)}")
        ctx.checkpoint(sec)
    try:
        _estimator(sec)
    except ValueError as e:
        sec.skipped.append(f"estimator: {first_line(e)}")
    return sec
