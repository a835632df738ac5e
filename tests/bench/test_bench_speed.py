"""The ``speed`` bench section's measurement: the build is timed on its own, not as the
difference of two runs (which came out negative when the machine slowed between them)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from accelgen.bench import speed


class _Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_build_time_is_the_build_alone_and_the_run_the_faster_cached_one(monkeypatch):
    from accelgen.sim import runner

    clock = _Clock()
    monkeypatch.setattr(speed.time, "perf_counter", clock)
    built = []

    def fake_build(verilog, *, toplevel, simulator, waves=None):
        built.append((verilog, toplevel, simulator))
        clock.t += 7.0

    # the first cached run slower than the second (a busy machine): the old difference
    # "first run - cached run" would have been negative here
    durations = iter([5.0, 3.0])

    def go():
        clock.t += next(durations)
        return SimpleNamespace(cycles=np.array([100, 23]))

    monkeypatch.setattr(runner, "build", fake_build)
    m = speed._measure(go, "module t; endmodule", "t", "icarus")
    assert built == [("module t; endmodule", "t", "icarus")]
    assert m == {"cycles": 123, "build_s": 7.0, "run_s": 3.0}


def test_runs_that_count_different_cycles_are_an_error(monkeypatch):
    from accelgen.sim import runner

    monkeypatch.setattr(runner, "build", lambda *a, **k: None)
    counts = iter([10, 11])

    def go():
        return SimpleNamespace(cycles=np.array([next(counts)]))

    with pytest.raises(RuntimeError, match="different cycles"):
        speed._measure(go, "", "t", "verilator")
