"""Dask distributed as the farm's engine: a LocalCluster started and stopped by the command, or
an existing scheduler (``--scheduler tcp://host:8786``), and one loop that runs tasks with a
progress bar (done / failed / ETA on stderr).

Every task is a plain function of its arguments (:mod:`accelgen.farm.evaluate`,
:mod:`accelgen.farm.synth`, :mod:`accelgen.farm.regress`) that returns a result dict and never
raises for a tool failure. Dask reschedules the tasks of a worker that dies; the driver records
each task's result once, by its key, so a point is never duplicated or lost.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Task", "default_workers", "open_client", "run_tasks"]


@dataclass(frozen=True)
class Task:
    """One unit of work: ``fn(*args, **kwargs)`` identified by ``key`` (unique in a run)."""

    key: str
    fn: Callable[..., dict]
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)


def default_workers() -> int:
    """Workers of the default LocalCluster: one per CPU the process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def check_scheduler(address: str) -> str:
    """``tcp://host:port`` (or ``tls://``, ``ucx://``, ``inproc://``), else a one-line error."""
    if not isinstance(address, str) or "://" not in address or not address.split("://", 1)[1]:
        raise ValueError(f"--scheduler must be an address like tcp://host:8786, got {address!r}")
    return address


@contextlib.contextmanager
def open_client(scheduler: str | None = None, workers: int | None = None) -> Iterator[Any]:
    """A ``distributed.Client``: to ``scheduler``, or to a LocalCluster of ``workers`` worker
    processes (one thread each) on 127.0.0.1, closed on exit. ``workers=0`` yields ``None``:
    the tasks then run in this process, one after the other (for debugging)."""
    if scheduler is None and workers == 0:
        yield None
        return
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            client = Client(check_scheduler(scheduler), timeout="20s")
        except OSError as e:
            raise ValueError(f"cannot reach the Dask scheduler at {scheduler}: {e}") from None
        try:
            yield client
        finally:
            client.close()
        return
    cluster = LocalCluster(
        n_workers=workers or default_workers(),
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=":0",  # a free port: never clashes with another cluster
        silence_logs=logging.ERROR,
    )
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def _failed(e: BaseException) -> dict:
    return {"status": "failed", "error": (str(e).splitlines() or [type(e).__name__])[0]}


def run_tasks(
    client,
    tasks: Sequence[Task],
    on_result: Callable[[Task, dict], None],
    *,
    label: str = "points",
    progress: bool = True,
) -> dict[str, int]:
    """Run ``tasks`` on ``client`` (``None``: in this process), calling ``on_result(task,
    result)`` once per task as it finishes. A task that raises (or whose workers all died) is a
    ``failed`` result. Returns ``{"done": n, "failed": n}``. On ``KeyboardInterrupt`` the
    pending tasks are cancelled and the interrupt re-raised."""
    from tqdm import tqdm

    counts = {"done": 0, "failed": 0}
    bar = tqdm(total=len(tasks), desc=label, unit="pt", disable=not progress, file=sys.stderr)

    def record(task: Task, result: dict) -> None:
        ok = result.get("status") not in ("failed", "mismatch")
        counts["done" if ok else "failed"] += 1
        on_result(task, result)
        bar.set_postfix(failed=counts["failed"], refresh=False)
        bar.update(1)

    try:
        if client is None:
            for t in tasks:
                try:
                    result = t.fn(*t.args, **t.kwargs)
                except Exception as e:
                    result = _failed(e)
                record(t, result)
            return counts
        from distributed import as_completed

        by_key = {}
        futures = []
        for t in tasks:
            f = client.submit(t.fn, *t.args, key=f"accelgen-{t.key}", pure=False, **t.kwargs)
            by_key[f.key] = t
            futures.append(f)
        seen = set()
        try:
            for f in as_completed(futures):
                if f.key in seen:  # as_completed yields a future once; be sure anyway
                    continue
                seen.add(f.key)
                try:
                    result = f.result()
                except Exception as e:  # the task raised, or KilledWorker
                    result = _failed(e)
                f.release()
                record(by_key[f.key], result)
        except BaseException:
            client.cancel(futures)
            raise
        return counts
    finally:
        bar.close()


def timed(fn: Callable[..., dict], *args, **kwargs) -> dict:
    """``fn(*args, **kwargs)`` with its wall time in ``seconds`` (a task wrapper)."""
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    out["seconds"] = round(time.perf_counter() - t, 3)
    return out
