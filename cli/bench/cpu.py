"""The ``cpu`` section: EIE's Figure 6/7 comparison measured on this machine's CPU.

Each Table III layer (the synthetic one of the ``eie`` section, full size) as a float32
matrix-vector product at batch 1: dense GEMV (NumPy ``W @ x``, through the BLAS NumPy is
linked with) and CSR sparse MxV (SciPy ``csr_matrix @ x``), wall time per product (median of
repeated runs after a warm-up), beside EIE's run time at 64 PEs (cycle model, options (a) +
(b) + (c) and EIE's own scheme) at the paper's 800 MHz and at our measured FPGA Fmax. Speed-ups
are over the dense CPU time, as in the paper's Figure 6. GPU columns (cuBLAS / cuSPARSE through
CuPy) are measured only when CuPy finds a GPU; otherwise they are skipped with a note.
"""

from __future__ import annotations

import os
import time

import numpy as np

from ..golden import paper
from . import eie as bench_eie
from .context import BenchContext, Section, first_line, progress

__all__ = ["FMAX_MHZ", "FMAX_SOURCE", "section_cpu"]

#: Our measured Fmax (nextpnr, routed, EIE N = 4 on ECP5-85F; docs/eie.md "Timing").
FMAX_MHZ = 69.13
FMAX_SOURCE = "EIE N = 4 on ECP5-85F, nextpnr routed (docs/eie.md, Timing)"
QUICK_LAYERS = ("Alex-8", "NT-We")
#: Products per timing (median over them), and the time budget per layer and kernel.
REPEATS = 25
BUDGET_S = 2.0
#: BLAS threads of the timings: one, since the bench machine is shared (two BLAS threads
#: waiting on each other under load measured 9x slower than one on the 2-CPU bench machine).
BLAS_THREADS = 1


def _blas_info() -> tuple[str, int | None]:
    """The BLAS NumPy calls and its thread count now (threadpoolctl if present)."""
    try:
        from threadpoolctl import threadpool_info

        for pool in threadpool_info():
            if pool.get("user_api") == "blas":
                name = f"{pool.get('internal_api')} {pool.get('version')}"
                return name, int(pool.get("num_threads"))
    except ImportError:
        pass
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{blas.get('name')} {blas.get('version')}", None
    except Exception:  # an older NumPy: no dict form
        return "unknown", None


def _time(fn) -> float:
    """Median CPU time of ``fn()`` on the calling thread, in microseconds (one warm-up call
    first). With one BLAS thread the product runs on this thread, so its CPU time is the
    kernel's time without the waits of a shared machine (wall time is not)."""
    fn()
    times = []
    t_end = time.perf_counter() + BUDGET_S
    while len(times) < REPEATS and (len(times) < 3 or time.perf_counter() < t_end):
        t = time.thread_time()
        fn()
        times.append(time.thread_time() - t)
    return float(np.median(times) * 1e6)


def _threads(n: int):
    """Limit the BLAS to ``n`` threads (threadpoolctl), or leave it as it is."""
    try:
        from threadpoolctl import threadpool_limits

        return threadpool_limits(n)
    except ImportError:
        import contextlib

        return contextlib.nullcontext()


def _gpu_note() -> str:
    try:
        import cupy  # noqa: F401

        if cupy.cuda.runtime.getDeviceCount() > 0:
            return ""
    except Exception as e:
        return f"GPU columns (cuBLAS / cuSPARSE through CuPy): skipped, no GPU ({first_line(e)})"
    return "GPU columns (cuBLAS / cuSPARSE through CuPy): skipped, no GPU found"


def section_cpu(ctx: BenchContext) -> Section:
    sec = Section("cpu", "EIE vs CPU (Figure 6/7 of the EIE paper, measured)")
    try:
        import scipy.sparse as sp
    except ImportError as e:
        sec.skipped.append(f"CPU comparison: SciPy is not installed ({e})")
        return sec
    from ..golden.eie_cycles import layer_run

    with _threads(BLAS_THREADS):
        blas, threads = _blas_info()
    names = QUICK_LAYERS if ctx.quick else ctx.eie_layer_names()
    n, depth = paper.EIE_PES, paper.EIE_FIFO_DEPTH
    rows = []
    for name in progress(names, "CPU GEMV / SpMV"):
        s = ctx.eie_layer(name)
        cb = s.layer.codebook.astype(np.float32) / np.float32(1 << ctx.num.w_frac)
        w = cb[s.layer.index]  # dense float32 [out, in]
        x = s.x.astype(np.float32) / np.float32(1 << ctx.num.act_frac)
        csr = sp.csr_matrix(w)
        with _threads(BLAS_THREADS):
            dense_us = _time(lambda w=w, x=x: w @ x)
            sparse_us = _time(lambda csr=csr, x=x: csr @ x)
        del w, csr
        cycles = {}
        for label, variant in (("eie", bench_eie.BASELINE), ("best", bench_eie.FILTER)):
            cycles[label], _, _ = layer_run(
                ctx.encoding(name, bench_eie._PLACEMENT[variant] == bench_eie.BALANCED, n),
                s.x != 0,
                fifo_depth=depth,
                skip_empty=variant in bench_eie._SKIPS,
                filter_empty=variant in bench_eie._FILTERS,
            )
        row = {
            "layer": name,
            "cpu_dense_us": round(dense_us, 1),
            "cpu_csr_us": round(sparse_us, 1),
            "eie_cycles": int(cycles["eie"]),
            "best_cycles": int(cycles["best"]),
            "eie_800mhz_us": round(cycles["eie"] / paper.EIE_FREQ_MHZ, 2),
            "best_800mhz_us": round(cycles["best"] / paper.EIE_FREQ_MHZ, 2),
            "best_fmax_us": round(cycles["best"] / FMAX_MHZ, 2),
        }
        for k in ("cpu_csr_us", "eie_800mhz_us", "best_800mhz_us", "best_fmax_us"):
            row[f"speedup_{k.removesuffix('_us')}"] = round(dense_us / row[k], 1)
        rows.append(row)
    sec.tables["cpu"] = rows
    sec.notes += [
        f"CPU: {blas} (NumPy's BLAS), {threads if threads is not None else 'unknown'} "
        f"thread(s), {os.cpu_count()} logical CPUs, shared with other jobs; float32, batch 1, "
        "median CPU time of the calling thread (the BLAS runs on it) over up to "
        f"{REPEATS} products per kernel after a warm-up (wall time on the shared machine "
        "includes other jobs' time slices). Dense = NumPy W @ x on the decoded "
        "weights; CSR = SciPy csr_matrix(W) @ x (non-zero weights only). EIE: run cycles of "
        f"the cycle model at {n} PEs, queue {depth} (the paper's scheme 'eie', and options "
        "(a) + (b) + (c) 'best'), at the paper's 800 MHz and at our measured Fmax of "
        f"{FMAX_MHZ} MHz ({FMAX_SOURCE}; a 64-PE build would not be faster). Speed-ups are "
        "over the dense CPU time (the paper's Figure 6 normalisation).",
    ]
    note = _gpu_note()
    if note:
        sec.skipped.append(note)
    _plot(ctx, sec, rows)
    return sec


def _plot(ctx: BenchContext, sec: Section, rows: list[dict]) -> None:
    from .plots import _pyplot, _save

    plt = _pyplot()
    series = (
        ("speedup_cpu_csr", "CPU CSR (SciPy)"),
        ("speedup_eie_800mhz", "EIE scheme, 800 MHz"),
        ("speedup_best_800mhz", "(a)+(b)+(c), 800 MHz"),
        ("speedup_best_fmax", f"(a)+(b)+(c), {FMAX_MHZ} MHz"),
    )
    x = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(9, 3.8))
    width = 0.8 / (len(series) + 1)
    ax.bar(x - 0.4 + width / 2, [1.0] * len(rows), width, label="CPU dense (NumPy)")
    for i, (key, label) in enumerate(series, start=1):
        ax.bar(x - 0.4 + width * (i + 0.5), [r[key] for r in rows], width, label=label)
    ax.set_yscale("log")
    ax.set_xticks(x, [r["layer"] for r in rows], rotation=30)
    ax.set_ylabel("speed-up over CPU dense")
    ax.legend(fontsize=7, ncol=2)
    _save(ctx, sec, fig, "cpu_speedup.png")
