"""``accelgen regress``: random configs x random layers on the RTL vs the golden model and the
cycle model, farmed out on Dask (:mod:`accelgen.farm.regress`).

Writes ``DIR/summary.json`` and ``DIR/summary.md`` (cases, cases/s, failures, per core and
config) and, for every failing case, ``DIR/failures/case-<id>/`` with the shrunk layers and
input (``network.npz``), the config (``config.json``) and ``case.json`` holding the one-line
command that reruns it (``accelgen regress --replay DIR/failures/case-<id>``). Exit status 1
when a case failed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from . import outputs
from .explore import check_cluster_args, cluster_arguments
from .outputs import output_path

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cases", type=int, help="number of random cases")
    parser.add_argument("--seed", type=int, default=1, help="seed of the configs and cases")
    parser.add_argument(
        "--cores", default="eie,diannao", help="comma-separated cores (default eie,diannao)"
    )
    parser.add_argument(
        "--simulator", default="verilator", choices=("verilator", "icarus"), help="simulator"
    )
    parser.add_argument(
        "--engine",
        choices=("native", "cocotb"),
        help="native (compiled Verilator harness; the default on verilator) or cocotb",
    )
    parser.add_argument(
        "--configs", type=int, default=4, help="random configs per core (default 4)"
    )
    parser.add_argument(
        "--chunk", type=int, default=50, help="cases per task, one simulation each (default 50)"
    )
    parser.add_argument("-o", "--output", type=output_path, help="output folder")
    parser.add_argument(
        "--replay", type=Path, metavar="CASE_DIR", help="rerun one saved failure (case folder)"
    )
    cluster_arguments(parser)


def _check(args: argparse.Namespace) -> tuple[list[str], str]:
    from accelgen.farm.regress import CORES

    if args.replay is not None:
        return [], ""
    if args.cases is None or isinstance(args.cases, bool) or args.cases < 1:
        raise ValueError(f"--cases must be a positive integer, got {args.cases}")
    if args.seed < 0:
        raise ValueError(f"--seed must be >= 0, got {args.seed}")
    if not 1 <= args.configs <= 64:
        raise ValueError(f"--configs must be in 1..64, got {args.configs}")
    if args.chunk < 1:
        raise ValueError(f"--chunk must be >= 1, got {args.chunk}")
    names = [c.strip() for c in args.cores.split(",") if c.strip()]
    if not names:
        raise ValueError(f"--cores names no core: {args.cores!r}")
    for c in names:
        if c not in CORES:
            raise ValueError(f"--cores: unknown core {c!r}; expected {', '.join(CORES)}")
    engine = args.engine or ("native" if args.simulator == "verilator" else "cocotb")
    if engine == "native" and args.simulator != "verilator":
        raise ValueError(f"the native engine runs on Verilator only, not {args.simulator!r}")
    if args.output is None:
        raise ValueError("give an output folder with -o")
    check_cluster_args(args)
    return list(dict.fromkeys(names)), engine


def run(args: argparse.Namespace) -> int:
    names, engine = _check(args)
    if args.replay is not None:
        return _replay(args.replay)
    out = outputs.check_output_dir(args.output)
    from accelgen.farm.cluster import Task, open_client, run_tasks
    from accelgen.farm.regress import plan, run_group

    groups = plan(args.cases, args.seed, names, args.configs)
    tasks = []
    for core, rows in groups.items():
        for gi, (config, cases) in enumerate(rows):
            for s in range(0, len(cases), args.chunk):
                part = cases[s : s + args.chunk]
                tasks.append(
                    Task(
                        f"{core}-{gi}-{s}",
                        run_group,
                        (core, config.to_json(), part, args.simulator, engine),
                    )
                )
    results: list[tuple[Task, dict]] = []
    t0 = time.perf_counter()
    with open_client(args.scheduler, args.workers) as client:
        run_tasks(
            client,
            tasks,
            lambda t, r: results.append((t, r)),
            label=f"regress {args.cases} cases",
            progress=not args.no_progress,
        )
    wall = time.perf_counter() - t0
    return _write(out, args, names, engine, results, wall)


def _write(out: Path, args, names, engine, results, wall: float) -> int:
    from accelgen import cores as registry
    from accelgen.golden.npzformat import save_diannao_npz, save_eie_npz

    cases = sum(r["cases"] for _, r in results)
    failures, errors = [], []
    per_config: dict[str, dict] = {}
    with outputs.atomic_dir(out, stale=("failures",)) as tmp:
        for task, r in results:
            core, config = task.args[0], task.args[1]
            label = f"{core} " + json.dumps(config, sort_keys=True)
            row = per_config.setdefault(
                label, {"core": core, "config": config, "cases": 0, "failed": 0}
            )
            row["cases"] += r["cases"]
            if r["status"] == "failed":
                row["failed"] += r["cases"]
                errors.append({"task": task.key, "core": core, "error": r.get("error")})
                (tmp / "logs").mkdir(exist_ok=True)
                (tmp / "logs" / f"{task.key}.log").write_text(r.get("log", ""))
            for f in r["failures"]:
                row["failed"] += 1
                d = tmp / "failures" / f"case-{f['id']}"
                d.mkdir(parents=True)
                cfg = registry.get(core).config_cls.from_json(config)
                (d / "config.json").write_text(json.dumps(cfg.to_json(), indent=2) + "\n")
                save = save_eie_npz if core == "eie" else save_diannao_npz
                save(d / "network.npz", list(f["layers"]), f["x"])
                command = f"accelgen regress --replay {out / 'failures' / d.name}"
                info = {
                    "id": f["id"],
                    "seed": f["seed"],
                    "core": core,
                    "simulator": args.simulator,
                    "engine": engine,
                    "error": f["error"],
                    "shrink_runs": f["shrink_runs"],
                    "command": command,
                }
                (d / "case.json").write_text(json.dumps(info, indent=2) + "\n")
                failures.append(info)
        summary = {
            "cases": cases,
            "cases_per_s": round(cases / wall, 2) if wall else None,
            "wall_s": round(wall, 2),
            "failures": len(failures),
            "task_errors": len(errors),
            "seed": args.seed,
            "cores": names,
            "simulator": args.simulator,
            "engine": engine,
            "configs": list(per_config.values()),
            "failed_cases": failures,
            "errors": errors,
        }
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        (tmp / "summary.md").write_text(_markdown(summary))
    print(
        f"accelgen regress: {cases} cases, {summary['cases_per_s']} cases/s, "
        f"{len(failures)} failure(s), {len(errors)} task error(s) ({engine} on {args.simulator})",
        file=sys.stderr,
    )
    for f in failures:
        print(f"  case {f['id']}: {f['error']}; rerun: {f['command']}", file=sys.stderr)
    return 1 if failures or errors else 0


def _markdown(s: dict) -> str:
    lines = [
        "# accelgen regress",
        "",
        f"{s['cases']} cases in {s['wall_s']} s ({s['cases_per_s']} cases/s), "
        f"{s['failures']} failure(s), {s['task_errors']} task error(s); engine {s['engine']} on "
        f"{s['simulator']}, seed {s['seed']}.",
        "",
        "| core | config | cases | failed |",
        "|---|---|---:|---:|",
    ]
    for c in s["configs"]:
        cfg = ", ".join(f"{k}={v}" for k, v in c["config"].items())
        lines.append(f"| {c['core']} | {cfg} | {c['cases']} | {c['failed']} |")
    for f in s["failed_cases"]:
        lines.append(f"\n- case {f['id']}: {f['error']} - `{f['command']}`")
    return "\n".join(lines) + "\n"


def _replay(folder: Path) -> int:
    from accelgen import cores as registry
    from accelgen.farm.regress import Case, check_case, simulate

    try:
        info = json.loads((folder / "case.json").read_text())
    except (OSError, ValueError) as e:
        raise ValueError(f"--replay {folder}: no readable case.json ({e})") from None
    core = registry.get(info["core"])
    config = core.load_config(folder / "config.json")
    layers, x = core.load_network(folder / "network.npz")
    x = x[None] if core.single_input(layers, x) else x
    case = Case(info["id"], info["seed"], core.name, config, tuple(layers), x)
    got = simulate(config, [case], info["simulator"], info["engine"])[0]
    why = check_case(case, got)
    print(f"accelgen regress: case {info['id']}: {why or 'passes'}", file=sys.stderr)
    return 1 if why else 0
