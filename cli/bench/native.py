"""The ``native`` section: the native simulation engine beside cocotb, in one run.

For each workload both engines run the same network and inputs on Verilator (after one
warm-up run each, so the builds are cached), :data:`REPEATS` timed runs each, the fastest
(least CPU time) reported with the median beside it: on the shared machine the same run's CPU
time varied by up to 1.6x from run to run, and interference only ever adds time. The rows give
the core cycles counted by the RTL's counters per second of wall time and of CPU time (this
process and its simulator children), startup and host traffic included, and the
native/cocotb ratios, and the share of the native engine's clock edges at which its PE
gating ran only the addressed PEs (EIE). The native engine also runs a longer batch (its fixed
costs amortised) and, outside ``--quick``, the full-size synthetic Alex-7 (4096 x 4096, 9 %
weights) on the 64-PE RTL, checked against the golden outputs and the cycle model.
"""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ..golden import synthetic
from .context import BenchContext, Section, first_line
from .eie import _eie_fit_config

__all__ = ["REPEATS", "section_native"]

#: Timed runs per row (after the warm-up run); the row reports the one with the least CPU time.
REPEATS = 3


def _cpu_s() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _measure(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """``(result, wall seconds, CPU seconds)`` of ``fn()``."""
    c, t = _cpu_s(), time.perf_counter()
    result = fn()
    return result, time.perf_counter() - t, _cpu_s() - c


def _eie_workload(ctx, fit, n_pes: int, size: int, cocotb_batch: int, native_batch: int):
    from ..sim import eie as api

    s = synthetic.synthetic_eie(
        size, size, 0.1, 0.5, seed=ctx.seed, batch=native_batch, num=ctx.num
    )
    config = fit([s.layer], n_pes=n_pes, fifo_depth=8)

    def run(engine: str, batch: int):
        res = api.simulate([s.layer], s.x[:batch], config=config, engine=engine, progress=False)
        return int(res.cycles.sum()), res

    name = f"EIE N={n_pes}"
    work = f"{size} x {size}, 10 % weights, 50 % activations"
    return name, work, config, api.verilog, run, (cocotb_batch, native_batch)


def _diannao_workload(ctx):
    from ..sim import diannao as api
    from ..spec.diannao import DianNaoConfig

    config = DianNaoConfig(tn=8, nbin_depth=256, nbout_depth=256, sb_depth=256)
    layer, x = synthetic.synthetic_dense(
        "conv", ni=16, no=32, height=24, width=24, kernel=3, seed=ctx.seed
    )
    xs = np.stack([x] * 4)

    def run(engine: str, batch: int):
        res = api.simulate([layer], xs[:batch], config=config, engine=engine, progress=False)
        return int(res.cycles.sum()), res

    work = "3 x 3 conv, 16 -> 32 maps on 24 x 24"
    return "DianNao Tn=8", work, config, api.verilog, run, (1, 4)


def _rows(ctx, workload) -> list[dict[str, Any]]:
    from ..sim import native

    name, work, config, verilog, run, (cocotb_batch, native_batch) = workload
    print(f"accelgen bench: native vs cocotb, {name} ...", file=sys.stderr, flush=True)
    rows = []
    base: dict[str, float] = {}
    for engine, batch in (
        ("cocotb", cocotb_batch),
        ("native", cocotb_batch),
        ("native", native_batch),
    ):
        run(engine, 1)  # warm-up: builds (cached afterwards) and first-call imports
        timed = []
        for _ in range(REPEATS):
            (cycles, _), wall, cpu = _measure(lambda e=engine, b=batch: run(e, b))
            stats = native.last_stats() if engine == "native" else None
            timed.append((cpu, wall, cycles, stats))
        if len({t[2] for t in timed}) != 1:
            raise RuntimeError(f"{name} {engine}: the repeated runs counted different cycles")
        cpu, wall, cycles, stats = min(timed, key=lambda t: t[0])
        median_cpu = sorted(t[0] for t in timed)[len(timed) // 2]
        row = {
            "core": name,
            "engine": engine,
            "inputs": batch,
            "core_cycles": cycles,
            "wall_s": round(wall, 3),
            "cpu_s": round(cpu, 3),
            "median_cpu_s": round(median_cpu, 3),
            "cycles_per_s": round(cycles / wall),
            "cycles_per_cpu_s": round(cycles / cpu),
            "speedup_wall": None,
            "speedup_cpu": None,
            "edges_per_cpu_s": None,
            "gated_edges_pct": None,
            "native_build_s": None,
        }
        if engine == "cocotb":
            base = {"wall": cycles / wall, "cpu": cycles / cpu}
        else:
            row["speedup_wall"] = round(cycles / wall / base["wall"], 1)
            row["speedup_cpu"] = round(cycles / cpu / base["cpu"], 1)
            row["edges_per_cpu_s"] = round(stats.edges / stats.cpu_s) if stats.cpu_s else None
            row["gated_edges_pct"] = round(100 * stats.gated_edges / stats.edges, 1)
        rows.append(row)
    exe = native.build_native(verilog(config), toplevel=_top(name), core=_core(name))
    rows[-1]["native_build_s"] = native.build_seconds(exe)
    ctx.save_artifacts(f"native_{_core(name)}_{name.split()[-1].replace('=', '')}", config, None)
    return rows


def _core(name: str) -> str:
    return "eie" if name.startswith("EIE") else "diannao"


def _top(name: str) -> str:
    return "eie_top" if name.startswith("EIE") else "diannao_top"


def _alex7(ctx, fit) -> dict[str, Any]:
    """Full-size synthetic Alex-7 on the 64-PE RTL, native engine: cycles vs the model."""
    from ..golden import paper
    from ..golden.eie_cycles import predict_for
    from ..golden.netspec import run_eie
    from ..sim import eie as api

    s = ctx.eie_layer("Alex-7")
    n, depth = paper.EIE_PES, paper.EIE_FIFO_DEPTH
    config = fit([s.layer], n_pes=n, fifo_depth=depth)
    x = np.atleast_2d(s.x)
    print("accelgen bench: Alex-7 on the 64-PE RTL (native) ...", file=sys.stderr, flush=True)
    from ..sim import native

    t = time.perf_counter()
    exe = native.build_native(api.verilog(config), toplevel="eie_top", core="eie")
    build = time.perf_counter() - t
    res, wall, cpu = _measure(
        lambda: api.simulate([s.layer], x, config=config, engine="native", progress=False)
    )
    stats = native.last_stats()
    model = predict_for([s.layer], x, config)
    golden = run_eie([s.layer], x, num=config.numerics, n_pes=n)[0]
    ctx.save_artifacts("native_eie_alex7_n64", config, None)
    return {
        "layer": "Alex-7",
        "size": f"{s.layer.shape[1]} x {s.layer.shape[0]}",
        "n_pes": n,
        "rtl_cycles": int(res.cycles[0]),
        "model_cycles": int(model.cycles[0]),
        "counters_match_model": all(
            np.array_equal(getattr(res, f), getattr(model, f))
            for f in ("cycles", "layer_cycles", "pe_busy", "pe_starved")
        ),
        "outputs_match_golden": bool(np.array_equal(res.y, golden)),
        "simulated_edges": stats.edges,
        "run_wall_s": round(wall, 2),
        "run_cpu_s": round(cpu, 2),
        "build_s": native.build_seconds(exe) or round(build, 1),
    }


def section_native(ctx: BenchContext) -> Section:
    sec = Section("native", "Native simulation engine vs cocotb")
    fit = _eie_fit_config
    if ctx.quick:
        sec.skipped.append("native engine: skipped by --quick (needs RTL builds)")
        return sec
    workloads = [
        lambda: _eie_workload(ctx, fit, 8, 512, 32, 256),
        lambda: _eie_workload(ctx, fit, 64, 1024, 4, 32),
        lambda: _diannao_workload(ctx),
    ]
    rows: list[dict[str, Any]] = []
    for make in workloads:
        try:
            rows += _rows(ctx, make())
        except Exception as e:  # a failed run must not lose the rows before it
            sec.skipped.append(f"FAILED: native vs cocotb: {first_line(e)}")
        sec.tables["engines"] = rows
        ctx.checkpoint(sec)
    try:
        sec.tables["alex7"] = [_alex7(ctx, fit)]
    except Exception as e:
        sec.skipped.append(f"FAILED: Alex-7 on the 64-PE RTL (native): {first_line(e)}")
    sec.notes.append(
        "Both engines run the same host sequence on Verilator 5 (cocotb: the model at -O0 behind "
        "cocotb's Python host; native: the compiled C++ harness of accelgen.sim.native at -O2, the"
        " instances of a repeated module (EIE's PEs) sharing one copy of code "
        "(native.shared_instances_config, -fno-dfg), the core's Verilog rewritten into the same "
        "logic in forms Verilator compiles to faster code and its rst registered in a wrapper "
        "(native.native_text, native.reset_wrapper), the model's input-combinational phase "
        "skipped while the harness waits for done with unchanged inputs, and on EIE PE gating: "
        "at host activation writes and output reads only the PEs the access can change run, "
        "native.patch_pe_gating). Core cycles = the RTL "
        "counters' start-to-done cycles summed over the inputs; per second of wall time and of "
        "CPU time (this process plus its simulator child "
        f"processes), the fastest (least CPU time) of {REPEATS} timed runs after a warm-up run per "
        "engine (median_cpu_s: the median of those runs' CPU times), Python host preparation, "
        "process start-up and the host's memory loads and reads included (whose clock edges are "
        "not counted as core cycles), so lower bounds. Speedups compare the native row with the "
        "cocotb row of the same core. edges_per_cpu_s: every simulated clock edge (host traffic "
        "included) per CPU second of the harness's loop. gated_edges_pct: the share of those "
        "edges at which PE gating skipped PEs. native_build_s: the wall time of the "
        "native harness's Verilator build (verilate + C++ compile at -O2) as recorded when it was "
        "built; ccache, when installed, reuses the objects of an identical model, so only a first "
        "build pays the whole compile."
    )
    sec.notes.append(
        "Workloads: EIE seeded synthetic layers (N = 8: 512 x 512; N = 64: 1024 x 1024); "
        "DianNao Tn = 8: a 3 x 3 convolution, 16 -> 32 maps on 24 x 24, one to four samples. "
        "Alex-7: the full-size synthetic layer of the eie section on the generated 64-PE core, "
        "one input; outputs vs golden and every counter vs the cycle model. The machine is "
        "shared: wall-time figures depend on its load; CPU-time figures much less."
    )
    return sec
