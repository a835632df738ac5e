"""The farm on real Dask clusters: a 2-worker LocalCluster losing a worker mid-sweep, and a
``dask scheduler`` + ``dask worker`` subprocess pair on 127.0.0.1 reached with ``--scheduler``.
Every point must be recorded exactly once."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

pytest.importorskip("distributed")
psutil = pytest.importorskip("psutil")

from accelgen.main import main  # noqa: E402

# A layer big enough that a point takes a fraction of a second in the cycle model.
SPEC = {
    "core": "eie",
    "name": "faults",
    "workload": {
        "synthetic": [{"inputs": 256, "outputs": 128, "weight_density": 0.3, "act_density": 0.6}],
        "batch": 2,
    },
    "grid": {"n_pes": [2, 4, 8, 16], "fifo_depth": [1, 2, 4, 8], "skip_empty": [False, True]},
    "pareto": {"synth": False},
}


def _rows(out: Path) -> list[dict]:
    with open(out / "results.csv", newline="") as f:
        return list(csv.DictReader(f))


def _worker_processes() -> list:
    """The LocalCluster's worker processes (children started by multiprocessing)."""
    out = []
    for p in psutil.Process().children(recursive=True):
        try:
            cmd = " ".join(p.cmdline())
        except psutil.Error:
            continue
        if "multiprocessing" in cmd and "resource_tracker" not in cmd:
            out.append(p)
    return out


def test_killed_worker_every_point_once(tmp_path):
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(SPEC))
    out = tmp_path / "out"
    killed = []

    def killer():
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            path = out / "results.csv"
            if path.exists() and path.read_text().count("\n") >= 4:  # header + 3 rows
                workers = _worker_processes()
                if len(workers) >= 2:
                    workers[0].kill()
                    killed.append(workers[0].pid)
                    return
            time.sleep(0.05)

    t = threading.Thread(target=killer, daemon=True)
    t.start()
    status = main(["explore", str(spec), "-o", str(out), "--workers", "2", "--no-progress"])
    t.join(timeout=10)
    assert killed, "no worker was killed mid-sweep (the sweep ended first)"
    assert status == 0
    rows = _rows(out)
    counts = Counter(r["key"] for r in rows)
    assert len(counts) == 32 and set(counts.values()) == {1}
    assert all(r["status"] == "ok" for r in rows)
    # a rerun finds every point done and adds nothing
    assert main(["explore", str(spec), "-o", str(out), "--workers", "0", "--no-progress"]) == 0
    assert len(_rows(out)) == 32


def test_scheduler_subprocess_pair(tmp_path):
    dask = Path(sys.executable).with_name("dask")
    if not dask.exists():
        pytest.skip("the dask command is not installed next to this Python")
    sched_file = tmp_path / "scheduler.json"
    common = ["--no-dashboard"]
    procs = [
        subprocess.Popen(
            [str(dask), "scheduler", "--host", "127.0.0.1", "--port", "0"]
            + ["--scheduler-file", str(sched_file), *common],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    ]
    try:
        deadline = time.monotonic() + 60
        while not sched_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert sched_file.exists(), "the dask scheduler did not start within 60 s"
        address = json.loads(sched_file.read_text())["address"]
        procs.append(
            subprocess.Popen(
                [str(dask), "worker", address, "--nthreads", "1", "--host", "127.0.0.1"]
                + ["--nworkers", "1", *common],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        spec = tmp_path / "spec.json"
        small = {**SPEC, "grid": {"n_pes": [2, 4], "fifo_depth": [2, 8], "skip_empty": [False]}}
        spec.write_text(json.dumps(small))
        out = tmp_path / "out"
        assert (
            main(["explore", str(spec), "-o", str(out), "--scheduler", address, "--no-progress"])
            == 0
        )
        rows = _rows(out)
        assert len(rows) == 4 and all(r["status"] == "ok" for r in rows)
        assert (out / "report.md").exists() and (out / "pareto.png").exists()
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


def test_unreachable_scheduler_one_line(tmp_path, capsys):
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(SPEC))
    assert main(["explore", str(spec), "-o", str(tmp_path / "o"), "--scheduler", "nonsense"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--scheduler must be an address like tcp://host:8786" in err[0]
