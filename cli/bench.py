"""``accelgen bench``: the paper-reproduction benchmarks (``make bench``).

Writes ``OUT/`` (default ``build/bench``):

* ``bench.json``: every table, note and the run's parameters, machine and date;
* ``<section>_<table>.csv``: one CSV per table;
* ``*.png``: plots (matplotlib, Agg backend), the papers' points beside ours;
* ``benchmarks.md``: the human-readable report (``docs/benchmarks.md`` holds a committed copy);
* ``configs/*.json`` and ``verilog/*.v``: the resolved configuration and the Verilog of every
  RTL run.

Sections (``--only`` picks one):

``eie``
    The nine Table III layers of Han et al., ISCA 2016 as seeded synthetic matrices
    (:mod:`accelgen.golden.synthetic`) at 64 PEs, queue depth 8, from the cycle model
    (:mod:`accelgen.golden.eie_cycles`): cycles, load efficiency (both definitions of
    ``design/eie.md``), theoretical and actual time at 800 MHz, the paper's numbers beside them
    and the ratios; the "beyond the paper" options' gains on every layer; sensitivity to the
    queue depth and the PE count on Alex-8; RTL confirmation of Alex-8 at 64 PEs in Verilator.
``diannao``
    The ten Table 2 layers of Chen et al., ASPLOS 2014 through the layer compiler and the
    control-processor cycle model at ``Tn = 16``: cycles, NFU utilization and GOP/s at 0.98 GHz
    against the 452 GOP/s peak; RTL confirmation on reduced-size CONV, POOL and CLASS layers.
``speed``
    Simulated cycles per second on Verilator and Icarus (EIE ``N = 8``, DianNao ``Tn = 8``)
    and the Verilator build times.
``energy``
    Energy per inference from access counts (:mod:`accelgen.golden.energy`, Horowitz
    ISSCC 2014, 45 nm): each Table III layer compressed on EIE vs the same layer dense on
    DianNao; the Table 2 layers on DianNao.

``--quick`` runs a subset in about a minute (fewer layers and sweep points, no RTL runs).
A section whose core module is not available is reported as skipped, with the reason.
``--only SECTION`` re-runs one section and keeps the other sections of an earlier run in the
same folder (same ``--quick`` and ``--seed``), so the report can be completed section by
section; each section notes when it ran.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime
import json
import os
import platform
import shutil
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import cores
from .golden import balance, paper, synthetic
from .golden.arith import Numerics
from .golden.eie_format import encode
from .golden.netspec import EIELayer, FCLayer

__all__ = ["SECTIONS", "BenchContext", "Section", "add_arguments", "run", "write_report"]

SECTIONS = ("eie", "diannao", "speed", "energy")
FIFO_DEPTHS = (1, 2, 4, 8, 16, 32)
PE_COUNTS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
EIE_QUICK_LAYERS = ("Alex-8", "NT-We")
QUICK_FIFO_DEPTHS = (2, 8)
QUICK_PE_COUNTS = (64,)
#: The layer of the sensitivity sweeps (as in the EIE paper).
SWEEP_LAYER = "Alex-8"
DIANNAO_QUICK_LAYERS = ("CONV3", "CONV4", "POOL3", "CLASS1", "CLASS3")
#: The fixed-point formats of every benchmark (EIE's default 32-bit accumulator).
_NUM = Numerics(acc_bits=32)
#: Amortisation of one-off weight loads in the energy estimates (inferences per model load).
ENERGY_INFERENCES = 1000


# ---------------------------------------------------------------------------------- framework
@dataclass
class Section:
    """One part of the report: tables (lists of row dicts), notes, plots, skipped parts."""

    name: str
    title: str
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    plots: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "tables": self.tables,
            "notes": self.notes,
            "plots": self.plots,
            "skipped": self.skipped,
        }

    @classmethod
    def from_json(cls, name: str, data: dict[str, Any]) -> Section:
        return cls(
            name,
            data["title"],
            data["tables"],
            data["notes"],
            data["plots"],
            data["skipped"],
        )


@dataclass
class BenchContext:
    """What every section needs: output folder, mode, seed, caches of synthetic layers and
    their encodings, and ``checkpoint(section)``, which writes the report with a section's
    results so far (before its long RTL runs)."""

    out: Path
    quick: bool
    seed: int
    num: Numerics = field(default_factory=lambda: _NUM)
    _layers: dict[str, synthetic.SyntheticEIE] = field(default_factory=dict)
    checkpoint: Callable[[Section], None] = lambda section: None
    _cache: dict[tuple, Any] = field(default_factory=dict)
    #: (layer, PE count) pairs whose encoding exceeds EIE's 16-bit column pointers.
    oversize: set[tuple[str, int]] = field(default_factory=set)

    def eie_layer(self, name: str) -> synthetic.SyntheticEIE:
        """The synthetic version of Table III layer ``name`` (cached; seed = bench seed)."""
        if name not in self._layers:
            p = paper.eie_layer(name)
            self._layers[name] = synthetic.synthetic_eie(
                p.inputs,
                p.outputs,
                p.weight_density,
                p.act_density,
                seed=self.seed + paper.EIE_TABLE3.index(p),
                name=name,
                num=self.num,
            )
        return self._layers[name]

    def column_work(self, name: str, n_pes: int) -> np.ndarray:
        """Entries of each column in each PE for EIE's own placement (cached)."""
        key = ("colwork", name, n_pes)
        if key not in self._cache:
            self._cache[key] = balance.column_work(self.eie_layer(name).layer.index, n_pes)
        return self._cache[key]

    def assignment(self, name: str, n_pes: int) -> balance.RowAssignment:
        """Option (b)'s row placement of layer ``name`` for ``n_pes`` PEs (cached)."""
        key = ("assign", name, n_pes)
        if key not in self._cache:
            index = self.eie_layer(name).layer.index
            self._cache[key] = balance.balanced_assignment(index, n_pes)
        return self._cache[key]

    def encoding(self, name: str, variant: str, n_pes: int):
        """The EIE encoding of layer ``name`` with EIE's or option (b)'s placement (cached)."""
        key = ("enc", name, variant, n_pes)
        if key not in self._cache:
            index = self.eie_layer(name).layer.index
            if variant == BALANCED:
                index = index[self.assignment(name, n_pes).perm]
            try:
                self._cache[key] = encode(index, n_pes)
            except ValueError:  # beyond 16-bit pointers: the model still runs, noted
                self._cache[key] = encode(index, n_pes, pointer_bits=None)
                self.oversize.add((name, n_pes))
        return self._cache[key]

    def eie_layer_names(self) -> tuple[str, ...]:
        return EIE_QUICK_LAYERS if self.quick else tuple(p.name for p in paper.EIE_TABLE3)

    def save_artifacts(self, tag: str, config, verilog: Path | str | None) -> None:
        """Keep the resolved config and the Verilog (a file or its text) of an RTL run."""
        (self.out / "configs").mkdir(exist_ok=True)
        config.save(self.out / "configs" / f"{tag}.json")
        if verilog is None:
            return
        (self.out / "verilog").mkdir(exist_ok=True)
        dest = self.out / "verilog" / f"{tag}.v"
        if isinstance(verilog, Path):
            shutil.copyfile(verilog, dest)
        else:
            dest.write_text(verilog)


def _progress(iterable: Iterable, desc: str, total: int | None = None):
    from tqdm import tqdm

    return tqdm(iterable, desc=desc, total=total, file=sys.stderr, leave=False, unit="run")


def _first_line(e: BaseException) -> str:
    lines = str(e).strip().splitlines()
    return f"{type(e).__name__}: {lines[0] if lines else ''}"


def _pct(v: float | None) -> float | None:
    return None if v is None else round(100.0 * float(v), 2)


def _ratio(ours: float | None, theirs: float | None) -> float | None:
    if ours is None or theirs in (None, 0):
        return None
    return round(float(ours) / float(theirs), 3)


# ---------------------------------------------------------------------------------- EIE
#: The variants compared: EIE's scheme, option (b) (balanced rows), option (a) (empty-column
#: skipping, ``EIEConfig.skip_empty``) and both.
BASELINE, BALANCED = "baseline", "balanced rows (b)"
SKIP, SKIP_BALANCED = "skip empty (a)", "(a) + (b)"
EIE_VARIANTS = (BASELINE, BALANCED, SKIP, SKIP_BALANCED)
#: Row placement and ``skip_empty`` of each variant.
_PLACEMENT = {BASELINE: BASELINE, BALANCED: BALANCED, SKIP: BASELINE, SKIP_BALANCED: BALANCED}
_SKIPS = (SKIP, SKIP_BALANCED)


def _eie_predict(
    layer: EIELayer, x: np.ndarray, *, n_pes: int, fifo_depth: int, skip_empty: bool = False
):
    """The cycle model's prediction of every RTL counter for one layer and input vector."""
    from .golden.eie_cycles import predict

    return predict(
        [layer],
        np.atleast_2d(x),
        n_pes=n_pes,
        fifo_depth=fifo_depth,
        num=_NUM,
        skip_empty=skip_empty,
    )


def _eie_run(ctx: BenchContext, name: str, variant: str, n_pes: int, depth: int) -> dict:
    """Run cycles of a Table III layer from the cycle model, and both load efficiencies.

    Run cycles are the layer's run phase (first broadcast to last accumulate), the quantity the
    paper's time refers to; the boundary pass (bias load, output write-back) is excluded. Both
    placements share the ideal work of EIE's own placement (the same total work).
    """
    from .golden.eie_cycles import layer_run

    s = ctx.eie_layer(name)
    cycles, busy, starved = layer_run(
        ctx.encoding(name, _PLACEMENT[variant], n_pes),
        s.x != 0,
        fifo_depth=depth,
        skip_empty=variant in _SKIPS,
    )
    ideal = balance.ideal_cycles(ctx.column_work(name, n_pes), s.x)
    return {
        "cycles": int(cycles),
        "ideal_max": int(ideal["max"]),
        "ideal_mean": float(ideal["mean"]),
        "eff_max_pct": _pct(ideal["max"] / cycles),
        "eff_mean_pct": _pct(ideal["mean"] / cycles),
        "starved_pct": _pct(starved.sum() / (n_pes * cycles)),
    }


def _eie_table3(ctx: BenchContext, sec: Section) -> None:
    f = paper.EIE_FREQ_MHZ
    rows, options = [], []
    runs = [(n, v) for n in ctx.eie_layer_names() for v in EIE_VARIANTS]
    for name, variant in _progress(runs, "EIE Table III (model)"):
        p, s = paper.eie_layer(name), ctx.eie_layer(name)
        m = _eie_run(ctx, name, variant, paper.EIE_PES, paper.EIE_FIFO_DEPTH)
        if variant == BASELINE:
            base = m
            rows.append(
                {
                    "layer": name,
                    "in_x_out": f"{p.inputs} x {p.outputs}",
                    "weight_pct": _pct(s.measured_weight_density),
                    "act_pct": _pct(s.measured_act_density),
                    "cycles": m["cycles"],
                    "ideal_max_cycles": m["ideal_max"],
                    "ideal_mean_cycles": m["ideal_mean"],
                    "eff_max_pct": m["eff_max_pct"],
                    "eff_mean_pct": m["eff_mean_pct"],
                    "theoretical_us": round(m["ideal_mean"] / f, 2),
                    "actual_us": round(m["cycles"] / f, 2),
                    "paper_theoretical_us": p.theoretical_us,
                    "paper_actual_us": p.actual_us,
                    "paper_eff_pct": p.efficiency_pct,
                    "theoretical_ratio": _ratio(m["ideal_mean"] / f, p.theoretical_us),
                    "actual_ratio": _ratio(m["cycles"] / f, p.actual_us),
                    "eff_ratio": _ratio(m["eff_mean_pct"], p.efficiency_pct),
                }
            )
        options.append(
            {
                "layer": name,
                "option": variant,
                "cycles": m["cycles"],
                "eff_mean_pct": m["eff_mean_pct"],
                "eff_max_pct": m["eff_max_pct"],
                "starved_pct": m["starved_pct"],
                "gain_pct": round(100.0 * (base["cycles"] / m["cycles"] - 1), 2),
                "paper_eff_pct": p.efficiency_pct,
                "meets_paper": m["eff_mean_pct"] >= p.efficiency_pct,
            }
        )
    sec.tables["table3"] = rows
    sec.tables["options"] = options
    sec.notes += [
        "Table III at 64 PEs, queue depth 8, from the cycle model (accelgen.golden.eie_cycles, "
        "which predicts the RTL's counters exactly); times at 800 MHz. 'cycles' is the layer's "
        "run phase (first broadcast to last accumulate; the boundary pass that loads biases and "
        "writes back outputs, ceil(rows/N) + 2 cycles, is excluded). Efficiency 'max' = busiest "
        "PE's work / cycles; 'mean' = (total work / N) / cycles (work = stored entries, padding "
        "included, of the columns with a non-zero activation). Theoretical time = total work / "
        "N at 800 MHz. Ratios are ours / paper.",
        "Beyond the paper at 64 PEs, queue depth 8 ('options'): gain = baseline cycles / option "
        "cycles - 1; 'starved' = PE-cycles idle with an empty activation queue. Option (b) "
        "permutes the output rows over the PEs (accelgen.golden.balance) so that every PE "
        "holds about the same work in total and per column; the host undoes the permutation "
        "(bit-exact, tested; chaining documented in the module). Its efficiencies use the "
        "ideal work of EIE's own placement, so its 'max' efficiency exceeds 100 % when (b) "
        "finishes before EIE's placement's busiest PE could. Area cost of (b): none -- it "
        "changes only the encoding the host loads and the order in which the host reads the "
        "outputs back. Option (a) (EIEConfig.skip_empty) drops a queued column without "
        "entries for a PE in the pointer-read stage and feeds the walker from a 2-deep span "
        "buffer, so empty columns cost that PE no cycle; its area cost is in the 'area' table. "
        "'meets_paper': mean-definition efficiency >= the paper's (issue 9's goals: every "
        "layer >= the paper, NT-We >= 75 %, Alex-8 >= 92 %).",
    ]
    for name, n in sorted(ctx.oversize):
        sec.notes.append(
            f"{name} at {n} PEs needs more entries in some PE than EIE's 16-bit column pointers "
            "address: the RTL cannot hold it; the cycle model runs it with wider pointers."
        )


def _eie_sweeps(ctx: BenchContext, sec: Section) -> None:
    depths = QUICK_FIFO_DEPTHS if ctx.quick else FIFO_DEPTHS
    pes = QUICK_PE_COUNTS if ctx.quick else PE_COUNTS
    published = {p.x: p.efficiency_pct for p in paper.EIE_FIFO_SENSITIVITY}
    rows = []
    runs = [(d, v) for d in depths for v in EIE_VARIANTS]
    for depth, variant in _progress(runs, "EIE queue-depth sweep"):
        m = _eie_run(ctx, SWEEP_LAYER, variant, paper.EIE_PES, depth)
        rows.append(
            {
                "fifo_depth": depth,
                "variant": variant,
                "cycles": m["cycles"],
                "eff_mean_pct": m["eff_mean_pct"],
                "eff_max_pct": m["eff_max_pct"],
                "paper_eff_pct": published.get(depth),
            }
        )
    sec.tables["fifo_sweep"] = rows
    published = {p.x: p.efficiency_pct for p in paper.EIE_PE_SENSITIVITY}
    rows = []
    for n in _progress(pes, "EIE PE-count sweep"):
        m = _eie_run(ctx, SWEEP_LAYER, BASELINE, n, paper.EIE_FIFO_DEPTH)
        rows.append(
            {
                "n_pes": n,
                "cycles": m["cycles"],
                "eff_mean_pct": m["eff_mean_pct"],
                "eff_max_pct": m["eff_max_pct"],
                "paper_eff_pct": published.get(n),
            }
        )
    sec.tables["pe_sweep"] = rows
    sec.notes.append(
        f"Sensitivity on {SWEEP_LAYER} (synthetic): load efficiency vs activation-queue depth "
        "at 64 PEs (EIE's scheme, options (a), (b) and both), and vs PE count at depth 8. The "
        "paper's points are read off its plots (approximate)."
    )
    _plot_sweeps(ctx, sec)


def _eie_rtl(ctx: BenchContext, sec: Section) -> None:
    if ctx.quick:
        sec.skipped.append("RTL confirmation of Alex-8 at 64 PEs: skipped by --quick")
        return
    try:
        rows = _eie_rtl_rows(ctx)
    except ValueError as e:  # the layer does not fit any allowed configuration
        sec.skipped.append(f"RTL confirmation of Alex-8 at 64 PEs: the RTL cannot hold it ({e})")
        return
    except Exception as e:  # a failed RTL run must not lose the hours of results before it
        sec.skipped.append(f"FAILED: RTL confirmation of Alex-8 at 64 PEs: {_first_line(e)}")
        return
    sec.tables["rtl"] = rows
    sec.notes.append(
        "RTL confirmation: the full-size synthetic Alex-8 on the generated 64-PE core in "
        "Verilator, EIE's scheme and options (b), (a) and (a) + (b) (two builds: skip_empty "
        "off / on, each running both row placements); the layer's cycles (boundary "
        "pass included) from the core's counters vs the cycle model, the per-PE busy/starved "
        "counters vs the model, and the outputs (un-permuted for (b)) vs the golden model."
    )


def _eie_fit_config(layers: list[EIELayer], *, n_pes: int, fifo_depth: int):
    """The smallest EIE configuration (memories rounded up) that holds every one of ``layers``."""
    from .spec.eie import EIEConfig

    rows = max(layer.shape[0] for layer in layers)
    cols = max(layer.shape[1] for layer in layers)
    entries = max(int(balance.column_work(la.index, n_pes).sum(axis=1).max()) for la in layers)
    lines = -(-entries // 8) + 1
    return EIEConfig(
        n_pes=n_pes,
        fifo_depth=fifo_depth,
        regfile_depth=max(-(-rows // n_pes), -(-cols // n_pes)),
        ptr_depth=max(2, cols + 1),
        spmat_words=min(8191, -(-lines // 64) * 64),
        max_layers=1,
    )


def _eie_rtl_rows(ctx: BenchContext) -> list[dict[str, Any]]:
    from .golden.netspec import run_eie
    from .host.eie import build_image
    from .sim import eie as api

    s = ctx.eie_layer("Alex-8")
    n, depth = paper.EIE_PES, paper.EIE_FIFO_DEPTH
    assign = ctx.assignment("Alex-8", n)
    placed = {BASELINE: s.layer, BALANCED: assign.permute_rows(s.layer)}
    base_config = _eie_fit_config(list(placed.values()), n_pes=n, fifo_depth=depth)
    golden = run_eie([s.layer], s.x, num=base_config.numerics, n_pes=n)[0]
    rows = []
    # one build per skip_empty value, running both row placements
    for skip, variants in ((False, (BASELINE, BALANCED)), (True, (SKIP, SKIP_BALANCED))):
        config = base_config.replace(skip_empty=skip)
        jobs = [api.Job(build_image([placed[_PLACEMENT[v]]], config), s.x[None]) for v in variants]
        print(
            f"accelgen bench: Alex-8 on the {n}-PE RTL (skip_empty={skip}) in Verilator ...",
            file=sys.stderr,
        )
        t = time.perf_counter()
        results = api.run_jobs(config, jobs)
        wall = time.perf_counter() - t
        ctx.save_artifacts(
            f"eie_alex8_rtl{'_skip' if skip else ''}", config, cores.get("eie").verilog(config)
        )
        for name, res in zip(variants, results, strict=True):
            balanced = _PLACEMENT[name] == BALANCED
            y = assign.unpermute(res.y[0]) if balanced else res.y[0]
            rtl = int(res.layer_cycles[0, 0])
            model = _eie_predict(
                placed[_PLACEMENT[name]], s.x, n_pes=n, fifo_depth=depth, skip_empty=skip
            )
            rows.append(
                {
                    "layer": "Alex-8",
                    "variant": name,
                    "n_pes": n,
                    "fifo_depth": depth,
                    "rtl_layer_cycles": rtl,
                    "model_layer_cycles": int(model.layer_cycles[0, 0]),
                    "difference": rtl - int(model.layer_cycles[0, 0]),
                    "busy_starved_match": bool(
                        np.array_equal(res.pe_busy, model.pe_busy)
                        and np.array_equal(res.pe_starved, model.pe_starved)
                    ),
                    "rtl_busy_total": int(res.pe_busy[0, 0].sum()),
                    "outputs_match_golden": bool(np.array_equal(y, golden)),
                    "wall_s_build_and_run": round(wall, 1),
                }
            )
    return rows


def section_eie(ctx: BenchContext) -> Section:
    sec = Section("eie", "EIE (Han et al., ISCA 2016)")
    sec.notes.append(synthetic.DESCRIPTION)
    _eie_table3(ctx, sec)
    _plot_table3(ctx, sec)
    _eie_sweeps(ctx, sec)
    ctx.checkpoint(sec)
    _eie_area(ctx, sec)
    ctx.checkpoint(sec)
    _eie_rtl(ctx, sec)
    return sec


#: Configuration whose synthesis gives the options' area cost (issue 8's default set: EIE N = 4
#: on ECP5-85F).
AREA_CONFIG = {"n_pes": 4}


def _eie_area(ctx: BenchContext, sec: Section) -> None:
    """Yosys-only (no place and route) resources of EIE N = 4 on ECP5 without / with (a)."""
    if ctx.quick:
        sec.skipped.append("area cost of option (a) (Yosys, ECP5): skipped by --quick")
        return
    try:
        from .hdl.eie.top import TOP_MODULE, EIETop
        from .spec.eie import EIEConfig
        from .synth.flow import SynthConfig, run_synth

        rows = []
        for skip in _progress((False, True), "EIE area (Yosys, ECP5)"):
            config = EIEConfig(**AREA_CONFIG, skip_empty=skip)
            out = ctx.out / "synth" / f"eie-n4-ecp5{'-skip' if skip else ''}"
            report = run_synth(
                EIETop(config),
                TOP_MODULE,
                SynthConfig(target="ecp5", place_route=False),
                out,
                design="eie",
                design_config=config,
            )
            r = report["resources"]
            rows.append(
                {
                    "variant": SKIP if skip else BASELINE,
                    "n_pes": config.n_pes,
                    "target": "ecp5 85k (Yosys only)",
                    **{k: r[k] for k in ("lut", "ff", "carry", "lutram", "bram", "dsp")},
                }
            )
    except Exception as e:  # no YoWASP, or a tool failure: the rest of the section stands
        sec.skipped.append(f"area cost of option (a) (Yosys, ECP5): {_first_line(e)}")
        return
    base = dict(rows[0])
    for row in rows:
        for k in ("lut", "ff"):
            row[f"{k}_added"] = row[k] - base[k]
            row[f"{k}_added_pct"] = round(100.0 * (row[k] - base[k]) / base[k], 2)
    sec.tables["area"] = rows
    sec.notes.append(
        "Area cost of the options ('area'): Yosys synth_ecp5 resources of the EIE core, N = 4, "
        "default memories, without and with option (a) (skip_empty: an equality compare per "
        "PE and a 2-entry span buffer). Option (b) is encoder-only: no area. The counts include "
        "the flow's I/O register wrapper (the same for both)."
    )


# ---------------------------------------------------------------------------------- DianNao
def _diannao_config(tn: int):
    """The Table 2 configuration: ``tn`` wide, buffers deep enough for a K-row input band."""
    from .spec.diannao import DianNaoConfig

    return DianNaoConfig(tn=tn, nbin_depth=8192, nbout_depth=8192, sb_depth=8192, imem_depth=4096)


def _diannao_layer(p: paper.DianNaoPaperLayer, seed: int):
    return synthetic.synthetic_dense(
        p.kind,
        ni=p.ni,
        no=p.no,
        height=p.height,
        width=p.width,
        kernel=p.kernel,
        seed=seed,
    )


def _diannao_model(layer, x: np.ndarray, config) -> tuple[int, int, int]:
    """``(cycles, NFU busy cycles, useful ops)`` of one layer from the compiler + CP model."""
    from .golden.diannao_cp import program_cycles
    from .host.diannao import compile_layer

    plan, tiles = compile_layer(layer, x[None], config)
    stats = [program_cycles(t.program) for t in tiles]
    return sum(s.cycles for s in stats), sum(s.busy for s in stats), plan.useful_ops


def section_diannao(ctx: BenchContext) -> Section:
    sec = Section("diannao", "DianNao (Chen et al., ASPLOS 2014)")
    try:
        config = _diannao_config(paper.DIANNAO_TN)
        import accelgen.golden.diannao_cp  # noqa: F401
    except ModuleNotFoundError as e:
        sec.skipped.append(f"DianNao compiler / CP model not available: {e}")
        return sec
    ctx.save_artifacts("diannao_table2", config, None)
    names = DIANNAO_QUICK_LAYERS if ctx.quick else tuple(p.name for p in paper.DIANNAO_TABLE2)
    rows = []
    ghz, tn = paper.DIANNAO_FREQ_GHZ, paper.DIANNAO_TN
    for i, name in enumerate(_progress(names, "DianNao Table 2")):
        p = paper.diannao_layer(name)
        layer, x = _diannao_layer(p, ctx.seed + i)
        cycles, busy, useful = _diannao_model(layer, x, config)
        ops = 2 * p.macs if p.kind != "pool" else useful
        gops = ops / (cycles / ghz) if cycles else 0.0
        rows.append(
            {
                "layer": name,
                "kind": p.kind,
                "ops": ops,
                "cycles": cycles,
                "nfu_busy_cycles": busy,
                "utilization_pct": _pct(useful / (tn * tn * cycles)) if p.kind != "pool" else None,
                "lane_utilization_pct": _pct(useful / (tn * cycles)) if p.kind == "pool" else None,
                "time_us": round(cycles / (ghz * 1e3), 2),
                "gops": round(gops, 1),
                "nfu_bound_gops": round(2 * tn * tn * ghz, 1),
                "paper_peak_gops": paper.DIANNAO_PEAK_GOPS,
                "gops_ratio": _ratio(gops, paper.DIANNAO_PEAK_GOPS),
            }
        )
    sec.tables["table2"] = rows
    sec.notes += [
        synthetic.DESCRIPTION,
        f"Table 2 at Tn = {tn} through the layer compiler and the control-processor cycle model "
        f"(accelgen.golden.diannao_cp): cycles = sum over the host tiles of the programs' cycles "
        f"(fetch + one NFU step per cycle + pipeline drain); the host's buffer loads between "
        f"tiles are not counted (the paper overlaps them by DMA / double buffering). Buffers are "
        f"{config.nbin_depth}/{config.nbout_depth}/{config.sb_depth} words (NBin/NBout/SB), "
        f"deeper than the paper's 64 so that one K-row band of the large images fits.",
        "Ops = 2 x MACs (multiply + add) for CONV/CLASS, window operations for POOL; GOP/s at "
        f"{ghz} GHz against the paper's {paper.DIANNAO_PEAK_GOPS:.0f} GOP/s peak. Utilization = "
        "useful MACs / (Tn^2 x cycles); pooling uses Tn lanes, so its lane utilization is "
        "window ops / (Tn x cycles). Counting 2 ops per MAC, a fully used 16 x 16 NFU at "
        f"{ghz} GHz does {2 * tn * tn * ghz:.1f} GOP/s ('nfu_bound_gops'); the paper's 452 GOP/s "
        "peak counts about 461 ops per cycle, so a ratio above 1 at full utilization reflects "
        "that difference in op counting, not a faster datapath.",
        "Private kernels (CONV2, CONV5) are modelled with shared kernels: the NFU does the same "
        "number of steps; only the SB traffic (not modelled in cycles) differs.",
    ]
    _plot_diannao(ctx, sec)
    _diannao_rtl(ctx, sec)
    return sec


def _diannao_rtl(ctx: BenchContext, sec: Section) -> None:
    if ctx.quick:
        sec.skipped.append("RTL confirmation on reduced CONV/POOL/CLASS layers: skipped by --quick")
        return
    try:
        rows = _diannao_rtl_rows(ctx)
    except ModuleNotFoundError as e:
        sec.skipped.append(f"RTL confirmation: the DianNao core is not available ({e})")
        return
    except Exception as e:  # a failed RTL run must not lose the results before it
        sec.skipped.append(f"FAILED: DianNao RTL confirmation: {_first_line(e)}")
        return
    sec.tables["rtl"] = rows
    sec.notes.append(
        "RTL confirmation on reduced-size CONV, POOL and CLASS layers (Tn = 16, the paper's "
        "64-word buffers, Verilator): cycles from the core's counters vs the CP model, per tile "
        "and in total; outputs vs the golden model. 'utilization' is the API's useful ops / "
        "(Tn^2 x cycles), which understates pooling (it uses Tn lanes)."
    )


#: Reduced-size Table 2 layers for the RTL (the paper's 64-word buffers, Tn = 16): name ->
#: (paper layer, synthetic_dense arguments). CLASS1 and CLASS3 run at full size.
DIANNAO_RTL_LAYERS = {
    "CONV3 (12x12, Ni 20, No 24)": ("conv", dict(ni=20, no=24, height=12, width=12, kernel=4)),
    "POOL3 (16x16, 20 maps)": ("pool", dict(ni=20, no=20, height=16, width=16, kernel=4)),
    "CLASS1 (full size)": ("class", dict(ni=960, no=20)),
    "CLASS3 (full size)": ("class", dict(ni=200, no=100)),
}


def _diannao_rtl_rows(ctx: BenchContext) -> list[dict[str, Any]]:
    from .golden.netspec import run_dense
    from .sim import diannao as api
    from .spec.diannao import DianNaoConfig

    config = DianNaoConfig(tn=paper.DIANNAO_TN)
    cases = []
    for i, (kind, kwargs) in enumerate(DIANNAO_RTL_LAYERS.values()):
        layer, x = synthetic.synthetic_dense(kind, seed=ctx.seed + 100 + i, **kwargs)
        cases.append(([layer], x[None]))
    print("accelgen bench: reduced DianNao layers on the Tn = 16 RTL ...", file=sys.stderr)
    results = api.simulate_cases(cases, config=config, simulator="verilator")
    ctx.save_artifacts("diannao_rtl_tn16", config, cores.get("diannao").verilog(config))
    rows = []
    for name, (layers, xb), res in zip(DIANNAO_RTL_LAYERS, cases, results, strict=True):
        model = api.run_model(layers, xb, config=config)
        golden = run_dense(layers, xb, num=config.numerics, group=config.tn)[-1]
        rtl_tiles, model_tiles = res.tile_stats[0][:, 0], model.tile_stats[0][:, 0]
        rows.append(
            {
                "layer": name,
                "tiles": int(res.tiles[0]),
                "rtl_cycles": int(rtl_tiles.sum()),
                "model_cycles": int(model_tiles.sum()),
                "difference": int(rtl_tiles.sum() - model_tiles.sum()),
                "per_tile_match": bool(np.array_equal(rtl_tiles, model_tiles)),
                "rtl_nfu_busy": int(res.nfu_busy[0]),
                "utilization_pct": _pct(res.utilization[0]),
                "outputs_match_golden": bool(np.array_equal(res.y, golden)),
            }
        )
    return rows


# ---------------------------------------------------------------------------------- speed
@contextlib.contextmanager
def _fresh_build_root(path: Path):
    """Point the cocotb harness at an empty build folder (so build times are measured)."""
    shutil.rmtree(path, ignore_errors=True)
    saved = os.environ.get("ACCELGEN_BUILD_DIR")
    os.environ["ACCELGEN_BUILD_DIR"] = str(path)
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("ACCELGEN_BUILD_DIR", None)
        else:
            os.environ["ACCELGEN_BUILD_DIR"] = saved
        shutil.rmtree(path, ignore_errors=True)


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - t


def _speed_eie(ctx: BenchContext, simulator: str) -> dict[str, Any]:
    from .sim import eie as api
    from .spec.eie import EIEConfig

    config = EIEConfig(n_pes=8, fifo_depth=8)
    s = synthetic.synthetic_eie(512, 512, 0.1, 0.5, seed=ctx.seed, batch=32, num=ctx.num)

    def go():
        return api.simulate([s.layer], s.x, config=config, simulator=simulator, progress=False)

    _, first = _timed(go)
    res, second = _timed(go)
    ctx.save_artifacts("eie_speed_n8", config, cores.get("eie").verilog(config))
    return {"cycles": int(res.cycles.sum()), "first_s": first, "run_s": second}


def _speed_diannao(ctx: BenchContext, simulator: str) -> dict[str, Any]:
    from .sim import diannao as api
    from .spec.diannao import DianNaoConfig

    config = DianNaoConfig(tn=8, nbin_depth=256, nbout_depth=256, sb_depth=256)
    layer, x = synthetic.synthetic_dense(
        "conv", ni=16, no=32, height=24, width=24, kernel=3, seed=ctx.seed
    )

    def go():
        return api.simulate_cases([([layer], x[None])], config=config, simulator=simulator)[0]

    _, first = _timed(go)
    res, second = _timed(go)
    ctx.save_artifacts("diannao_speed_tn8", config, cores.get("diannao").verilog(config))
    return {"cycles": int(res.cycles.sum()), "first_s": first, "run_s": second}


def section_speed(ctx: BenchContext) -> Section:
    sec = Section("speed", "Simulation speed")
    if ctx.quick:
        sec.skipped.append("simulation speed: skipped by --quick (needs RTL builds)")
        return sec
    runs = [
        (core, sim, fn)
        for core, fn in (("EIE N=8", _speed_eie), ("DianNao Tn=8", _speed_diannao))
        for sim in ("verilator", "icarus")
    ]
    rows = []
    for core, sim, fn in _progress(runs, "simulation speed"):
        try:
            with _fresh_build_root(ctx.out / "speed-build"):
                m = fn(ctx, sim)
        except ModuleNotFoundError as e:
            sec.skipped.append(f"{core} on {sim}: the core is not available ({e})")
            continue
        except Exception as e:  # a failed RTL run must not lose the results before it
            sec.skipped.append(f"FAILED: {core} on {sim}: {_first_line(e)}")
            continue
        rows.append(
            {
                "core": core,
                "simulator": sim,
                "counted_cycles": m["cycles"],
                "run_wall_s": round(m["run_s"], 2),
                "cycles_per_s": round(m["cycles"] / m["run_s"]),
                "build_s": round(m["first_s"] - m["run_s"], 1),
            }
        )
    sec.tables["speed"] = rows
    sec.notes.append(
        "Cycles/s = cycles counted by the core's counters / wall time of one cached-build run "
        "(simulator start-up, cocotb and the host's memory loads included, whose cycles are not "
        "counted), so a lower bound. Build time = first run (fresh build folder) minus the "
        "cached run. EIE: 512 x 512, 10 % weights, 50 % activations, 32 inputs. DianNao: a "
        "3 x 3 convolution, 16 -> 32 maps on 24 x 24. The machine is shared, so wall times vary."
    )
    return sec


# ---------------------------------------------------------------------------------- energy
def section_energy(ctx: BenchContext) -> Section:
    from .golden import energy

    sec = Section("energy", "Energy per inference (Horowitz ISSCC 2014, 45 nm)")
    rows = []
    sb_bytes = 32 * 1024  # the paper's 32 KB SB
    for name in _progress(ctx.eie_layer_names(), "energy EIE vs DianNao"):
        s = ctx.eie_layer(name)
        try:
            e = energy.eie_energy(
                [s.layer],
                [s.x[None]],
                num=ctx.num,
                n_pes=paper.EIE_PES,
                n_inferences=ENERGY_INFERENCES,
            )
        except ValueError as err:  # the encoding does not fit EIE's 16-bit pointers
            sec.skipped.append(f"{name} on EIE: {err}")
            continue
        dense = FCLayer(w=s.layer.codebook[s.layer.index])
        d = energy.diannao_energy(
            [dense],
            (s.layer.shape[1],),
            num=ctx.num,
            tn=paper.DIANNAO_TN,
            sb_bytes=sb_bytes,
            n_inferences=ENERGY_INFERENCES,
        )
        ec, dc = e.by_category(), d.by_category()
        rows.append(
            {
                "layer": name,
                "eie_total_nj": round(e.total_pj / 1e3, 1),
                "eie_compute_nj": round(ec["compute"] / 1e3, 1),
                "eie_sram_nj": round(ec["sram"] / 1e3, 1),
                "eie_dram_nj": round(ec["dram"] / 1e3, 1),
                "diannao_total_nj": round(d.total_pj / 1e3, 1),
                "diannao_compute_nj": round(dc["compute"] / 1e3, 1),
                "diannao_sram_nj": round(dc["sram"] / 1e3, 1),
                "diannao_dram_nj": round(dc["dram"] / 1e3, 1),
                "dense_dram_baseline_nj": round(e.dense_dram_baseline_pj / 1e3, 1),
                "diannao_over_eie": _ratio(d.total_pj, e.total_pj),
            }
        )
    sec.tables["eie_vs_diannao"] = rows
    rows = []
    names = DIANNAO_QUICK_LAYERS if ctx.quick else tuple(p.name for p in paper.DIANNAO_TABLE2)
    for i, name in enumerate(_progress(names, "energy DianNao Table 2")):
        p = paper.diannao_layer(name)
        layer, x = _diannao_layer(p, ctx.seed + i)
        d = energy.diannao_energy(
            [layer],
            x.shape,
            num=ctx.num,
            tn=paper.DIANNAO_TN,
            sb_bytes=sb_bytes,
            n_inferences=ENERGY_INFERENCES,
        )
        dc = d.by_category()
        rows.append(
            {
                "layer": name,
                "total_uj": round(d.total_pj / 1e6, 2),
                "compute_uj": round(dc["compute"] / 1e6, 2),
                "sram_uj": round(dc["sram"] / 1e6, 2),
                "dram_uj": round(dc["dram"] / 1e6, 2),
            }
        )
    sec.tables["diannao_table2"] = rows
    sec.notes += [
        "Estimates from counted operations and accesses (accelgen.golden.energy) with the 45 nm "
        "table of Horowitz ISSCC 2014; entries not in the table (16-bit multiply, SRAM reads of "
        "other widths) are derived and labelled so in bench.json.",
        f"EIE: the synthetic Table III layer, compressed, 64 PEs, one input vector, the model "
        f"loaded into on-chip SRAM once per {ENERGY_INFERENCES} inferences. DianNao: the same "
        f"layer's decoded dense weights at Tn = 16 with the paper's 32 KB SB; weights larger "
        f"than SB are streamed from DRAM every inference. 'dense DRAM baseline' = every dense "
        f"weight fetched from DRAM once.",
    ]
    _plot_energy(ctx, sec)
    return sec


SECTION_FUNCS: dict[str, Callable[[BenchContext], Section]] = {
    "eie": section_eie,
    "diannao": section_diannao,
    "speed": section_speed,
    "energy": section_energy,
}


# ---------------------------------------------------------------------------------- plots
def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(ctx: BenchContext, sec: Section, fig, name: str) -> None:
    fig.tight_layout()
    fig.savefig(ctx.out / name, dpi=110)
    _pyplot().close(fig)
    sec.plots.append(name)


def _plot_table3(ctx: BenchContext, sec: Section) -> None:
    plt = _pyplot()
    rows = sec.tables["table3"]
    x = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(8, 3.6))
    ax.bar(x - 0.2, [r["eff_mean_pct"] for r in rows], 0.4, label="accelgen (model, mean def.)")
    ax.bar(x + 0.2, [r["paper_eff_pct"] for r in rows], 0.4, label="EIE paper (Table IV)")
    for variant, style in ((BALANCED, "k_"), (SKIP, "r_"), (SKIP_BALANCED, "g_")):
        opt = [r for r in sec.tables.get("options", []) if r["option"] == variant]
        if opt:
            ax.plot(x - 0.2, [r["eff_mean_pct"] for r in opt], style, ms=14, label=variant)
    ax.set_xticks(x, [r["layer"] for r in rows], rotation=30)
    ax.set_ylabel("load efficiency (%)")
    ax.set_ylim(0, 105)
    ax.legend(fontsize=8, loc="lower left")
    _save(ctx, sec, fig, "eie_table3_efficiency.png")


def _plot_sweeps(ctx: BenchContext, sec: Section) -> None:
    plt = _pyplot()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.6))
    rows = sec.tables["fifo_sweep"]
    for variant in dict.fromkeys(r["variant"] for r in rows):
        pts = [r for r in rows if r["variant"] == variant]
        a1.plot(
            [r["fifo_depth"] for r in pts], [r["eff_mean_pct"] for r in pts], "o-", label=variant
        )
    pub = [p for p in paper.EIE_FIFO_SENSITIVITY if p.efficiency_pct is not None]
    a1.plot([p.x for p in pub], [p.efficiency_pct for p in pub], "ks--", label="EIE paper (~)")
    a1.set_xscale("log", base=2)
    a1.set_xlabel(f"activation queue depth ({SWEEP_LAYER}, 64 PEs)")
    a1.set_ylabel("load efficiency (%)")
    a1.legend(fontsize=7)
    rows = sec.tables["pe_sweep"]
    a2.plot([r["n_pes"] for r in rows], [r["eff_mean_pct"] for r in rows], "o-", label="mean def.")
    a2.plot([r["n_pes"] for r in rows], [r["eff_max_pct"] for r in rows], "^-", label="max def.")
    pub = paper.EIE_PE_SENSITIVITY
    a2.plot([p.x for p in pub], [p.efficiency_pct for p in pub], "ks--", label="EIE paper (~)")
    a2.set_xscale("log", base=2)
    a2.set_xlabel(f"PEs ({SWEEP_LAYER}, queue depth 8)")
    a2.legend(fontsize=7)
    for ax in (a1, a2):
        ax.set_ylim(0, 105)
        ax.grid(alpha=0.3)
    _save(ctx, sec, fig, "eie_sensitivity.png")


def _plot_diannao(ctx: BenchContext, sec: Section) -> None:
    plt = _pyplot()
    rows = sec.tables["table2"]
    fig, ax = plt.subplots(figsize=(8, 3.6))
    ax.bar([r["layer"] for r in rows], [r["gops"] for r in rows], label="accelgen (model)")
    ax.axhline(paper.DIANNAO_PEAK_GOPS, color="k", ls="--", label="paper peak 452 GOP/s")
    ax.set_ylabel("GOP/s at 0.98 GHz, Tn = 16")
    ax.tick_params(axis="x", rotation=30)
    ax.legend(fontsize=8)
    _save(ctx, sec, fig, "diannao_table2_gops.png")


def _plot_energy(ctx: BenchContext, sec: Section) -> None:
    plt = _pyplot()
    rows = sec.tables["eie_vs_diannao"]
    x = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(8, 3.6))
    ax.bar(x - 0.2, [r["eie_total_nj"] for r in rows], 0.4, label="EIE (compressed)")
    ax.bar(x + 0.2, [r["diannao_total_nj"] for r in rows], 0.4, label="DianNao (dense)")
    ax.set_yscale("log")
    ax.set_xticks(x, [r["layer"] for r in rows], rotation=30)
    ax.set_ylabel("energy per inference (nJ)")
    ax.legend(fontsize=8)
    _save(ctx, sec, fig, "energy_eie_vs_diannao.png")


# ---------------------------------------------------------------------------------- report
def machine_info() -> dict[str, Any]:
    """Date, platform, CPU model and count, Python version."""
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "platform": platform.platform(),
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
    }


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:,.2f}" if abs(v) < 1e6 else f"{v:.3g}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def _md_table(rows: list[dict[str, Any]]) -> list[str]:
    if not rows:
        return ["(no rows)"]
    cols = list(rows[0])
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    out += ["| " + " | ".join(_fmt(r.get(c)) for c in cols) + " |" for r in rows]
    return out


def write_report(out: Path, meta: dict[str, Any], sections: list[Section]) -> None:
    """Write ``bench.json``, one CSV per table and ``benchmarks.md`` into ``out``."""
    data = {"meta": meta, "sections": {s.name: s.to_json() for s in sections}}
    (out / "bench.json").write_text(json.dumps(data, indent=2, default=_json_default) + "\n")
    for s in sections:
        for tname, rows in s.tables.items():
            with open(out / f"{s.name}_{tname}.csv", "w", newline="") as fh:
                if rows:
                    w = csv.DictWriter(fh, fieldnames=list(rows[0]))
                    w.writeheader()
                    w.writerows(rows)
    m = meta["machine"]
    lines = [
        "# accelgen benchmarks",
        "",
        f"Generated by `accelgen bench{' --quick' if meta['quick'] else ''}"
        f"{' --only ...` runs (each section says when it ran), last' if meta['only'] else '`'}"
        f" on {m['date']}; "
        f"machine: {m['platform']}, {m['cpu']}, {m['cpu_count']} CPUs, Python {m['python']}; "
        f"wall time {meta['wall_s']:.0f} s; seed {meta['seed']}.",
        "",
        f"Papers: {paper.EIE}; {paper.DIANNAO}. Energy table: Horowitz, \"Computing's Energy "
        'Problem", ISSCC 2014 (45 nm).',
        "",
    ]
    for s in sections:
        lines += [f"## {s.title}", ""]
        lines += [f"- {n}" for n in s.notes]
        lines += [f"- **skipped**: {n}" for n in s.skipped]
        lines.append("")
        for tname, rows in s.tables.items():
            lines += [f"### {s.name} / {tname}", ""] + _md_table(rows) + [""]
        lines += [f"![{p}]({p})" for p in s.plots]
        lines.append("")
    (out / "benchmarks.md").write_text("\n".join(lines))


def _json_default(o):
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    raise TypeError(f"cannot write {type(o).__name__} to JSON")


# ---------------------------------------------------------------------------------- CLI
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-o", "--output", default="build/bench", help="output folder (default build/bench)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="a ~1-minute subset (no RTL runs, fewer layers)"
    )
    parser.add_argument("--only", choices=SECTIONS, help="run one section only")
    parser.add_argument("--seed", type=int, default=1, help="seed of the synthetic layers")


def _previous_sections(out: Path, args: argparse.Namespace) -> dict[str, Section]:
    """Sections of an earlier run in ``out`` with the same mode and seed (``--only`` keeps them)."""
    try:
        data = json.loads((out / "bench.json").read_text())
        meta = data["meta"]
        if meta["quick"] != bool(args.quick) or meta["seed"] != args.seed:
            return {}
        return {n: Section.from_json(n, d) for n, d in data["sections"].items() if n in SECTIONS}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def run(args: argparse.Namespace) -> int:
    if args.seed < 0:
        raise ValueError(f"--seed must be >= 0, got {args.seed}")
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    ctx = BenchContext(out=out, quick=args.quick, seed=args.seed)
    names = (args.only,) if args.only else SECTIONS
    t0 = time.perf_counter()
    sections: dict[str, Section] = {}

    def report(partial: Section | None = None) -> None:
        # re-read the folder each time: another `--only` run may have finished meanwhile
        previous = _previous_sections(out, args) if args.only else {}
        done = {**previous, **sections, **({partial.name: partial} if partial else {})}
        merged = [done[n] for n in SECTIONS if n in done]
        meta = {
            "machine": machine_info(),
            "quick": bool(args.quick),
            "only": args.only,
            "seed": args.seed,
            "sections": [s.name for s in merged],
            "updated_sections": list(names),
            "synthetic": synthetic.DESCRIPTION,
            "wall_s": round(time.perf_counter() - t0, 1),
        }
        (out / "bench_config.json").write_text(json.dumps(meta, indent=2) + "\n")
        write_report(out, meta, merged)

    ctx.checkpoint = report
    for name in names:
        print(f"accelgen bench: {name} ...", file=sys.stderr, flush=True)
        t = time.perf_counter()
        sec = SECTION_FUNCS[name](ctx)
        sec.notes.append(
            f"Section run {machine_info()['date']}, wall time {time.perf_counter() - t:.1f} s."
        )
        sections[name] = sec
        report()
    print(f"accelgen bench: wrote {out / 'benchmarks.md'}", file=sys.stderr)
    return 0
