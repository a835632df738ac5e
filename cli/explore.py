"""``accelgen explore``: design-space exploration of a core on a workload, on Dask.

``accelgen explore SPEC -o DIR`` evaluates every point of the SPEC (``docs/explore.md``) with
the exact cycle model, the energy model and the area estimator, then synthesizes the Pareto
front with Yosys and spot-checks it on the RTL. Writes ``DIR/results.csv`` (one row per task,
resumable), ``DIR/pareto.png``, ``DIR/report.md``, ``DIR/spec.json`` (the checked SPEC),
``DIR/logs/`` (failed tasks) and
``DIR/synth/`` (the synthesis runs). ``accelgen explore --fit-area -o DIR`` synthesizes the
estimator's training set and writes ``DIR/area_coefficients.json`` and ``DIR/area_fit.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from . import outputs
from .outputs import output_path

__all__ = ["COLUMNS", "add_arguments", "run"]

COLUMNS = (
    "key",
    "kind",
    "status",
    "core",
    "point",
    "config",
    "cycles",
    "efficiency",
    "energy_pj",
    "est_lut",
    "est_ff",
    "est_dsp",
    "est_bram",
    "est_bram_bits",
    "area_in_range",
    "meets_constraints",
    "lut",
    "ff",
    "dsp",
    "bram",
    "carry",
    "lutram",
    "fmax_mhz",
    "yosys_s",
    "spot_inputs",
    "spot_engine",
    "error",
    "log",
    "seconds",
)
_LIMITS = {
    "max_lut": "est_lut",
    "max_ff": "est_ff",
    "max_dsp": "est_dsp",
    "max_bram": "est_bram",
    "max_cycles": "cycles",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", nargs="?", type=Path, help="the SPEC (.toml or .json)")
    parser.add_argument("-o", "--output", type=output_path, required=True, help="output folder")
    cluster_arguments(parser)
    parser.add_argument("--pnr", action="store_true", help="also run nextpnr on the front (Fmax)")
    parser.add_argument(
        "--fit-area",
        action="store_true",
        help="synthesize the area estimator's training set and fit it (no SPEC)",
    )
    parser.add_argument(
        "--fit-core",
        choices=("eie", "diannao"),
        help="with --fit-area: refit this core only; the other core's coefficients, range and "
        "errors are kept from the installed estimator (farm/area_coefficients.json)",
    )
    parser.add_argument(
        "--simulator",
        default="verilator",
        choices=("verilator", "icarus"),
        help="simulator of the RTL spot check (verilator: the native engine)",
    )


def cluster_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="an existing Dask scheduler (tcp://host:8786); default: a LocalCluster",
    )
    parser.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="LocalCluster worker processes (default: one per CPU; 0: run in this process)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


def check_cluster_args(args: argparse.Namespace) -> None:
    from accelgen.farm.cluster import check_scheduler

    if args.workers is not None and args.workers < 0:
        raise ValueError(f"--workers must be >= 0, got {args.workers}")
    if args.scheduler is not None:
        check_scheduler(args.scheduler)
        if args.workers is not None:
            raise ValueError("--workers sizes a LocalCluster; it cannot go with --scheduler")


def _log(out: Path, key: str, result: dict) -> str:
    text = result.get("log")
    if not text:
        return ""
    (out / "logs").mkdir(exist_ok=True)
    outputs.write_text(out / "logs" / f"{key}.log", text)
    return f"logs/{key}.log"


def _point_text(point: dict, varied) -> str:
    return " ".join(f"{k}={point[k]}" for k in varied if k in point)


def run(args: argparse.Namespace) -> int:
    check_cluster_args(args)
    if args.fit_core and not args.fit_area:
        raise ValueError("--fit-core needs --fit-area")
    if args.fit_area:
        if args.spec is not None:
            raise ValueError("--fit-area takes no SPEC")
        out = outputs.check_output_dir(args.output)
        return _fit_area(args, out)
    if args.spec is None:
        raise ValueError("give a SPEC (.toml or .json), or --fit-area")
    from accelgen.farm.spec import load_spec

    spec = load_spec(args.spec)  # every check before any worker starts
    out = outputs.check_output_dir(args.output)
    out.mkdir(parents=True, exist_ok=True)
    return explore(spec, out, args)


def explore(spec, out: Path, args: argparse.Namespace) -> int:
    from accelgen.farm import pareto
    from accelgen.farm.cluster import Task, open_client, run_tasks, timed
    from accelgen.farm.evaluate import evaluate_point, spot_check
    from accelgen.farm.keys import point_key
    from accelgen.farm.synth import synth_point, tool_versions

    from .results import ResultStore

    t0 = time.perf_counter()
    tools = tool_versions()
    store = ResultStore(out / "results.csv", COLUMNS)
    outputs.write_text(out / "spec.json", json.dumps(spec.to_json(), indent=1) + "\n")
    progress = not args.no_progress
    core, workload = spec.core, spec.workload
    tasks = []
    point_of = {}
    from accelgen.farm.area import model_version

    model_tools = {**tools, "area_model": model_version()}
    for p in spec.points:
        key = point_key("model", core, p, workload, model_tools)
        point_of[key] = p
        if not store.done(key):
            tasks.append(Task(key, timed, (evaluate_point, core, p, workload)))
    skipped = len(spec.points) - len(tasks)
    if skipped:
        print(
            f"accelgen explore: {skipped} point(s) already in {out / 'results.csv'}",
            file=sys.stderr,
        )

    def meets(result: dict) -> bool:
        for limit, value in spec.constraints.items():
            if limit == "max_energy_nj":
                if result["energy_pj"] / 1e3 > value:
                    return False
            elif result[_LIMITS[limit]] > value:
                return False
        return True

    def record_model(task: Task, result: dict) -> None:
        row = {
            "key": task.key,
            "kind": "model",
            "core": core,
            "point": _point_text(point_of[task.key], spec.varied),
            "config": json.dumps(result.get("config", {}), sort_keys=True),
            **{k: v for k, v in result.items() if k in COLUMNS and k not in ("config", "log")},
            "log": _log(out, task.key, result),
        }
        if result.get("status") == "ok":
            row["meets_constraints"] = meets(result)
        store.append(row)

    with open_client(args.scheduler, args.workers) as client:
        run_tasks(client, tasks, record_model, label=f"explore {spec.name}", progress=progress)
        rows = [r for r in store.rows.values() if r["kind"] == "model" and r["key"] in point_of]
        ok = [r for r in rows if r["status"] == "ok" and r["meets_constraints"] == "True"]
        front = pareto.front(ok)
        chosen = pareto.select(front, spec.pareto["max_points"]) if spec.pareto["synth"] else []
        extra, synth_key, spot_key = [], {}, {}
        n_spot = spec.pareto["spot_check"]
        for r in chosen:
            cfg = json.loads(r["config"])
            sk = point_key("synth", core, cfg, None, {**tools, "pnr": args.pnr})
            synth_key[r["key"]] = sk
            if not store.done(sk):
                extra.append(
                    Task(
                        sk,
                        timed,
                        (synth_point, core, cfg, str(out / "synth" / f"{core}-{sk}")),
                        {"pnr": args.pnr, "pnr_timeout_s": float(spec.pareto["timeout_s"])},
                    )
                )
            if n_spot:
                ck = point_key("spot", core, cfg, workload, {**tools, "n": n_spot})
                spot_key[r["key"]] = ck
                if not store.done(ck):
                    extra.append(
                        Task(ck, timed, (spot_check, core, cfg, workload, n_spot, args.simulator))
                    )

        def record_extra(task: Task, result: dict) -> None:
            kind = "synth" if task.fn is timed and task.args[0] is synth_point else "spot"
            row = {
                "key": task.key,
                "kind": kind,
                "core": core,
                "config": json.dumps(task.args[2], sort_keys=True),
                **{k: v for k, v in result.items() if k in COLUMNS and k not in ("config", "log")},
                "log": _log(out, task.key, result),
            }
            if kind == "spot":
                row["spot_inputs"] = result.get("inputs")
                row["spot_engine"] = result.get("engine")
            store.append(row)

        if extra:
            run_tasks(
                client, extra, record_extra, label="Pareto front: synth + RTL", progress=progress
            )

    synth = {k: _typed(store.rows[v]) for k, v in synth_key.items() if v in store.rows}
    spot = {}
    for k, v in spot_key.items():
        if v in store.rows:
            s = store.rows[v]
            spot[k] = {
                "status": s["status"],
                "inputs": s["spot_inputs"],
                "engine": s["spot_engine"],
                "error": s["error"],
            }
    counts = {
        "total": len(rows),
        "ok": sum(r["status"] == "ok" for r in rows),
        "infeasible": sum(r["status"] == "infeasible" for r in rows),
        "failed": sum(r["status"] == "failed" for r in rows),
        "constrained": sum(r["status"] == "ok" and r["meets_constraints"] != "True" for r in rows),
    }
    title = f"{spec.name}: {core}, {len(rows)} points, {len(front)} on the Pareto front"
    if ok:
        png = pareto.plot_png(ok, front, {k: v for k, v in synth.items() if v.get("lut")}, title)
        with outputs.atomic_file(out / "pareto.png") as f:
            f.write(png)
    report = pareto.report_markdown(
        {"name": spec.name, "core": core, "workload": workload},
        counts,
        front,
        synth,
        spot,
        tools,
        time.perf_counter() - t0,
    )
    outputs.write_text(out / "report.md", report)
    failed = counts["failed"] + sum(
        s.get("status") not in ("ok", None) for s in list(synth.values()) + list(spot.values())
    )
    print(
        f"accelgen explore: {counts['ok']} ok, {counts['infeasible']} infeasible, "
        f"{counts['failed']} failed; {len(front)} on the front, {len(chosen)} synthesized; "
        f"wrote {out / 'report.md'}",
        file=sys.stderr,
    )
    return 1 if failed else 0


def _typed(row: dict) -> dict:
    out: dict = {"status": row["status"]}
    for k in ("lut", "ff", "dsp", "bram", "fmax_mhz"):
        v = row.get(k, "")
        out[k] = float(v) if v not in ("", None) else None
    return out


def _fit_area(args: argparse.Namespace, out: Path) -> int:
    from accelgen import cores
    from accelgen.farm import area
    from accelgen.farm.cluster import Task, open_client, run_tasks, timed
    from accelgen.farm.keys import point_key
    from accelgen.farm.synth import TRAINING, abc_luts, synth_point, tool_versions

    from .results import ResultStore

    out.mkdir(parents=True, exist_ok=True)
    tools = tool_versions()
    store = ResultStore(out / "results.csv", COLUMNS)
    fitted = [c for c in TRAINING if args.fit_core in (None, c)]
    plan = []  # (core, config, held_out, key)
    for core in fitted:
        for overrides, held in TRAINING[core]:
            cfg = cores.get(core).config_cls(**overrides).to_json()
            plan.append((core, cfg, held, point_key("synth", core, cfg, None, tools)))
    tasks = [
        Task(k, timed, (synth_point, core, cfg, str(out / "synth" / f"{core}-{k}")))
        for core, cfg, _, k in plan
        if not store.done(k)
    ]

    def record(task: Task, result: dict) -> None:
        store.append(
            {
                "key": task.key,
                "kind": "fit",
                "core": task.args[1],
                "config": json.dumps(task.args[2], sort_keys=True),
                **{k: v for k, v in result.items() if k in COLUMNS and k not in ("config", "log")},
                "log": _log(out, task.key, result),
            }
        )

    with open_client(args.scheduler, args.workers) as client:
        run_tasks(client, tasks, record, label="area fit (Yosys)", progress=not args.no_progress)
    coefficients, fit_range, errors = {}, {}, {}
    if args.fit_core:  # the other core as installed
        kept = area.load_model()
        for core in TRAINING:
            if core not in fitted:
                coefficients[core] = kept.coefficients[core]
                fit_range[core] = kept.fit_range[core]
                errors[core] = kept.errors[core]
    table = []
    for core in fitted:
        cls = cores.get(core).config_cls
        runs = [(cls.from_json(cfg), held, store.rows[k]) for c, cfg, held, k in plan if c == core]
        bad = [r for _, _, r in runs if r["status"] != "ok"]
        if bad:
            raise ValueError(
                f"{len(bad)} {core} synthesis run(s) failed; see {out / 'results.csv'}"
            )
        meas = [{k: float(r[k]) for k in ("lut", "ff", "dsp", "bram")} for _, _, r in runs]
        if core in area.TWO_STEP:  # ABC's LUT count, from each run's yosys.log
            keys = [k for c, _, _, k in plan if c == core]
            for m, key in zip(meas, keys, strict=True):
                n = abc_luts(out / "synth" / f"{core}-{key}")
                if n is None:
                    raise ValueError(
                        f"no ABC LUT count in {out / 'synth' / f'{core}-{key}' / 'yosys.log'}; "
                        "remove that folder and its row of results.csv to rerun it"
                    )
                m["abc_lut"] = float(n)
        train = [i for i, (_, held, _) in enumerate(runs) if not held]
        test = [i for i, (_, held, _) in enumerate(runs) if held]
        coefficients[core] = area.fit(core, [runs[i][0] for i in train], [meas[i] for i in train])
        varied = sorted({k for ov, _ in TRAINING[core] for k in ov})
        fit_range[core] = {
            k: (
                min(getattr(runs[i][0], k) for i in train),
                max(getattr(runs[i][0], k) for i in train),
            )
            for k in varied
        }
        model = area.AreaModel(coefficients, fit_range, {})
        errors[core] = {
            "train_pct": area.relative_errors(
                core, [runs[i][0] for i in train], [meas[i] for i in train], model
            ),
            "held_out_pct": area.relative_errors(
                core, [runs[i][0] for i in test], [meas[i] for i in test], model
            ),
            "loo_pct": area.loo_errors(core, [runs[i][0] for i in train], [meas[i] for i in train]),
            "n_train": len(train),
            "n_held_out": len(test),
        }
        if core in area.CANDIDATES:  # the features this training set would choose
            errors[core]["selected_features"] = {
                res: list(
                    area.select_features(
                        core, res, [runs[i][0] for i in train], [meas[i] for i in train]
                    )
                )
                for res in (("abc_lut" if core in area.TWO_STEP else "lut"), "ff")
            }
        for i in test:
            est = area.estimate(core, runs[i][0], model)
            table.append((core, runs[i][0], meas[i], est))
    order = list(TRAINING)  # the JSON lists the cores in one order whichever was refitted
    model = area.AreaModel(
        {c: coefficients[c] for c in order},
        {c: fit_range[c] for c in order},
        {c: errors[c] for c in order},
    )
    outputs.write_text(out / "area_coefficients.json", json.dumps(model.to_json(), indent=1) + "\n")
    outputs.write_text(out / "area_fit.md", fit_markdown(errors, table))
    print(f"accelgen explore: wrote {out / 'area_coefficients.json'}", file=sys.stderr)
    return 0


def fit_markdown(errors: dict, table: list) -> str:
    """The held-out error table of an area fit (``docs/explore.md`` quotes it)."""
    lines = [
        "| core | set | configs | LUT | FF | DSP | BRAM | ABC LUTs |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for core, e in errors.items():
        for name, key, n in (
            ("training", "train_pct", e["n_train"]),
            ("leave-one-out", "loo_pct", e["n_train"]),
            ("held out", "held_out_pct", e["n_held_out"]),
        ):
            v = e[key]
            abc = f"{v['abc_lut']:.1f} %" if "abc_lut" in v else "-"
            lines.append(
                f"| {core} | {name} | {n} | {v['lut']:.1f} % | {v['ff']:.1f} % | "
                f"{v['dsp']:.1f} % | {v['bram']:.1f} % | {abc} |"
            )
    lines += [
        "",
        "Mean relative error |estimate - Yosys| / Yosys: on the training configurations, each "
        "training configuration predicted by the fit on the others (leave-one-out), and on the "
        "held-out configurations (ABC LUTs: the LUTs of up to 7 inputs ABC maps the core to, "
        "the first step of the EIE LUT estimate):",
        "",
        "| core | config | LUT Yosys / est | FF Yosys / est | DSP Yosys / est | BRAM Yosys / est "
        "| ABC LUTs Yosys / est |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for core, cfg, meas, est in table:
        text = ", ".join(
            f"{k}={getattr(cfg, k)}"
            for k in (
                (
                    "n_pes",
                    "fifo_depth",
                    "skip_empty",
                    "filter_empty",
                    "merge_padding",
                    "decouple_depth",
                    "acc_bits",
                )
                if core == "eie"
                else ("tn", "nbin_depth", "nbout_depth", "sb_depth", "acc_bits", "double_buffer")
            )
        )
        cells = " | ".join(
            f"{meas[k]:.0f} / {est[k]:.0f}" if k in meas and k in est else "-"
            for k in ("lut", "ff", "dsp", "bram", "abc_lut")
        )
        lines.append(f"| {core} | {text} | {cells} |")
    from accelgen.farm.area import FEATURES

    chosen = [
        f"- {core} {res}: {', '.join(names)}"
        + ("" if names == list(FEATURES[core][res]) else " (differs from the estimator's)")
        for core, e in errors.items()
        for res, names in e.get("selected_features", {}).items()
    ]
    if chosen:
        lines += [
            "",
            "Features chosen on this training set (leave-one-out, the smallest set within one "
            "standard error of the best; accelgen.farm.area.select_features):",
            "",
            *chosen,
        ]
    return "\n".join(lines) + "\n"
