"""The ``eie_uarch`` section (issue 23): the EIE core's cycles beside the EIE authors' own C++
cycle simulator on scaled Table III layers, where the cycles go (per-PE categories from the
cycle model), and the cycle model's design study of the options past the paper's scheme
(empty-column filter before the queues, multi-issue broadcast, padding merged with the next
entry) at 64 PEs.

The authors' cycles are measured by the bench itself when ``--authors-sim PATH`` names a
checkout of their public simulator (:mod:`.authors_sim`); otherwise the table quotes the
figures measured that way for seed 1 (:data:`AUTHORS_MEASURED`, with the date)."""

from __future__ import annotations

import subprocess

import numpy as np

from ..golden import balance, paper, synthetic
from ..golden.eie_cycles import BOUNDARY_EXTRA_CYCLES, layer_run
from ..golden.eie_format import encode
from ..spec.eie import EIEConfig
from .context import BenchContext, Section, first_line, pct, progress, ratio

__all__ = [
    "AUTHORS_MEASURED",
    "AUTHORS_MEASURED_DATE",
    "SCALED_LAYERS",
    "STUDY_VARIANTS",
    "scaled_layer",
    "section_eie_uarch",
]

#: The scaled Table III layers of the side-by-side (issue 23): 1024 inputs, outputs / 8.
SCALED_LAYERS = ("Alex-8", "Alex-7", "NT-We", "VGG-8")
SCALED_INPUTS = 1024
SCALED_PES = 8
SCALED_DEPTH = 8
#: The authors' simulator's cycles on the scaled layers (seed 1; EIE's row placement and
#: option (b)'s), measured with ``--authors-sim`` on a build of their public repository.
AUTHORS_MEASURED = {
    ("Alex-8", False): 1628,
    ("Alex-8", True): 1615,
    ("Alex-7", False): 2508,
    ("Alex-7", True): 2525,
    ("NT-We", False): 1447,
    ("NT-We", True): 1411,
    ("VGG-8", False): 1605,
    ("VGG-8", True): 1635,
}
AUTHORS_MEASURED_DATE = "2026-12-05"
AUTHORS_MEASURED_SEED = 1


def config_options(config: EIEConfig) -> dict:
    """The :func:`~accelgen.golden.eie_cycles.layer_run` keywords of ``config``'s options."""
    return {
        "skip_empty": config.skip_empty,
        "filter_empty": config.filter_empty,
        "merge_padding": config.merge_padding,
        "decouple": config.decouple_depth,
    }


#: The options of the default configuration (``EIEConfig()``), as layer_run keywords.
DEFAULT_OPTIONS = config_options(EIEConfig())
PAPER, DEFAULT = "paper scheme (no options)", "default"
#: The variants of the side-by-side: (label, layer_run keywords, balanced rows). The paper's
#: scheme is layer_run without options; 'default' follows EIEConfig's defaults.
SIDE_VARIANTS = (
    (PAPER, {}, False),
    (DEFAULT, DEFAULT_OPTIONS, False),
    ("default + balanced rows (b)", DEFAULT_OPTIONS, True),
    ("padding merge (d)", {"merge_padding": True}, False),
    ("skip_empty (a)", {"skip_empty": True}, False),
    ("(a) + (d)", {"skip_empty": True, "merge_padding": True}, False),
    ("(a) + balanced rows (b)", {"skip_empty": True}, True),
    ("(a) + (b) + filter (c)", {"skip_empty": True, "filter_empty": True}, True),
)
#: The cycle model's design study at 64 PEs, queue 8: (label, layer_run keywords, balanced).
STUDY_VARIANTS = (
    ("(a) + (b)", {"skip_empty": True}, True),
    ("(a) + (b), 2-issue CCU [model]", {"skip_empty": True, "issue_width": 2}, True),
    ("(a) + (b) + filter (c)", {"skip_empty": True, "filter_empty": True}, True),
    (
        "(a) + (b) + (c), 2-issue CCU [model]",
        {"skip_empty": True, "filter_empty": True, "issue_width": 2},
        True,
    ),
    ("(a) + (b), padding merge (d)", {"skip_empty": True, "merge_padding": True}, True),
    (
        "(a) + (b) + (c), decoupled 8-column buffer (e)",
        {"skip_empty": True, "filter_empty": True, "decouple": 8},
        True,
    ),
    (
        "(a) + (b) + (c) + (d)",
        {"skip_empty": True, "filter_empty": True, "merge_padding": True},
        True,
    ),
    ("default (c) + (d) + (e) S = 2, (b)", DEFAULT_OPTIONS, True),
    (
        "default + (b), multi-issue: (e) S = 8",
        {**DEFAULT_OPTIONS, "decouple": 8},
        True,
    ),
)
#: The label of the "multi-issue" figure of issue 23: the default options with balanced rows
#: and an 8-column shared buffer.
MULTI_ISSUE = STUDY_VARIANTS[-1][0]
STUDY_LAYERS = ("Alex-7", "NT-We")
QUICK_STUDY_LAYERS = ("NT-We",)
#: ``--quick``: (a) + (b), the filter, the decoupled broadcast, the default and multi-issue.
QUICK_STUDY_VARIANTS = (
    STUDY_VARIANTS[0],
    STUDY_VARIANTS[2],
    STUDY_VARIANTS[5],
    STUDY_VARIANTS[-2],
    STUDY_VARIANTS[-1],
)


def scaled_layer(name: str, seed: int) -> synthetic.SyntheticEIE:
    """Table III layer ``name`` scaled to 1024 inputs and a eighth of its outputs (same
    densities; seed ``seed + its index in Table III``, as the ``eie`` section)."""
    p = paper.eie_layer(name)
    return synthetic.synthetic_eie(
        SCALED_INPUTS,
        p.outputs // 8,
        p.weight_density,
        p.act_density,
        seed=seed + paper.EIE_TABLE3.index(p),
        name=name,
    )


_OPTION_NAMES = {
    "skip_empty": "skip_empty (a)",
    "filter_empty": "filter (c)",
    "merge_padding": "padding merge (d)",
}


def _describe(options: dict) -> str:
    """``options`` (layer_run keywords) in words, e.g. 'filter (c) + padding merge (d) + ...'."""
    words = [v for k, v in _OPTION_NAMES.items() if options.get(k)]
    if options.get("decouple"):
        words.append(f"decoupled broadcast (e), S = {options['decouple']}")
    return " + ".join(words) or "no options"


def _r3(v: float | None) -> str | None:
    """A ratio with three decimals (the report's tables print numbers with two)."""
    return None if v is None else f"{v:.3f}"


def _bias_pass(rows: int, n: int) -> int:
    """Cycles of the bias pass that starts the first run after the network is loaded."""
    return -(-rows // n) + BOUNDARY_EXTRA_CYCLES


def _side_by_side(ctx: BenchContext, sec: Section) -> None:
    from .authors_sim import AuthorsSimError, run_authors_sim

    n, depth = SCALED_PES, SCALED_DEPTH
    measured = ctx.authors_sim is not None
    rows, where = [], []
    for name in progress(SCALED_LAYERS, "EIE vs the authors' simulator"):
        s = scaled_layer(name, ctx.seed)
        idx = s.layer.index
        encs = {
            False: encode(idx, n),
            True: encode(idx[balance.balanced_assignment(idx, n).perm], n),
        }
        theirs = {}
        for bal, enc in encs.items():
            if measured:
                try:
                    theirs[bal] = run_authors_sim(
                        ctx.authors_sim, enc, s.x, s.layer.codebook, fifo_depth=depth
                    )
                except (AuthorsSimError, OSError, subprocess.SubprocessError) as e:
                    sec.skipped.append(f"FAILED: the authors' simulator on {name}: {first_line(e)}")
                    theirs[bal] = None
            elif ctx.seed == AUTHORS_MEASURED_SEED:
                theirs[bal] = AUTHORS_MEASURED[(name, bal)]
            else:
                theirs[bal] = None
        extra = _bias_pass(idx.shape[0], n)
        load = -(-idx.shape[0] // n)  # the loader writes layer 0's biases for the next run
        for label, kwargs, bal in SIDE_VARIANTS:
            prof: dict = {}
            run, _, _ = layer_run(
                encs[bal], s.x != 0, fifo_depth=depth, load_rows=load, profile=prof, **kwargs
            )
            rows.append(
                {
                    "layer": name,
                    "in_x_out": f"{idx.shape[1]} x {idx.shape[0]}",
                    "variant": label,
                    "run_cycles": int(run),
                    "total_cycles": int(run),
                    "first_run_cycles": int(run + extra),
                    "authors_cycles": theirs[False],
                    "authors_cycles_same_rows": theirs[bal],
                    "run_ratio": _r3(ratio(run, theirs[False])),
                    "total_ratio": _r3(ratio(run, theirs[False])),
                }
            )
            if label in (PAPER, DEFAULT):
                cells = n * run
                where.append(
                    {
                        "layer": name,
                        "variant": label,
                        "run_cycles": int(run),
                        **{
                            f"{k}_pct": pct(int(prof[k].sum()) / cells)
                            for k in ("entry", "padding", "bubble", "starved")
                        },
                        "line_reads_per_pe": round(float(prof["line_reads"].mean()), 1),
                        "ccu_stall_cycles": int(prof["ccu_stalls"]),
                        "first_run_bias_pass_cycles": extra,
                    }
                )
    geo = {}
    for label, _, _ in SIDE_VARIANTS:
        rs = [r for r in rows if r["variant"] == label and r["run_ratio"] is not None]
        if len(rs) == len(SCALED_LAYERS):
            geo[label] = tuple(
                _r3(float(np.exp(np.mean(np.log([float(r[k]) for r in rs])))))
                for k in ("run_ratio", "total_ratio")
            )
    for label, (run_g, total_g) in geo.items():
        rows.append(
            {"layer": "geomean", "variant": label, "run_ratio": run_g, "total_ratio": total_g}
        )
    sec.tables["authors"] = rows
    sec.tables["where_cycles_go"] = where
    source = (
        "measured by this run with --authors-sim (their public simulator built with g++ for "
        "each layer)"
        if measured
        else (
            f"measured with --authors-sim on {AUTHORS_MEASURED_DATE} (seed "
            f"{AUTHORS_MEASURED_SEED}), quoted"
            if ctx.seed == AUTHORS_MEASURED_SEED
            else "not available for this seed (give --authors-sim)"
        )
    )
    sec.notes += [
        f"Side by side with the EIE authors' C++ cycle simulator ('authors'): scaled Table III "
        f"layers ({SCALED_INPUTS} inputs, outputs / 8), {n} PEs, queue depth {depth}, the "
        f"same synthetic layers and inputs; the authors' cycles are {source}. 'run_cycles' is "
        "our run phase (first window read to the cycle after the last accumulator write, in "
        "which the registered all-done-and-idle condition ends the run; the cycle "
        "model, equal to the RTL's counters), 'total_cycles' the whole run of the one-layer "
        "network as the RTL counts it from start to done with the network loaded: equal to the "
        "run phase, since the next run's biases are loaded behind the CCU during the run and "
        "the outputs are saturated/ReLU'd as they are read, not by a pass (their simulator "
        "models neither: it treats the bias as one more broadcast column, empty here, and "
        "leaves the outputs unfinished). 'first_run_cycles': the first run after the network "
        "is loaded, which starts with a bias pass of ceil(rows/N) + 2 cycles. Ratios are ours "
        "/ theirs on EIE's row placement; 'authors_cycles_same_rows' is their simulator on the "
        "row placement of the variant. 'paper scheme (no options)' is EIE's scheme as the "
        "paper describes it; 'default' is the core's default configuration "
        f"({_describe(DEFAULT_OPTIONS)}).",
        "Reading their sources: one cycle per stored entry (padding included), one per "
        "column without entries in a PE, a window costs one more cycle unless its last "
        "non-zero is in the last slot, FIFOs hold depth - 1 columns, and the run ends in the "
        "first cycle after the last window is taken in which no PE writes an accumulator. "
        "That rule can stop before the pipeline drains: on the scaled Alex-7 (seed 1) their "
        "count stops 6 cycles before their last accumulator write (4 writes still in flight); "
        "run to their last write it is 2,514 cycles (measured 2026-12-05; our paper-scheme run "
        "phase is in the table).",
        "Where the cycles go ('where_cycles_go', the paper scheme and the default "
        "configuration, from the cycle "
        "model's per-PE categories, percent of N x run cycles): 'entry' issuing a stored "
        "entry with a weight, 'padding' issuing a padding entry, 'bubble' not issuing with "
        "columns queued (empty columns, pointer read and span hand-over after a starved "
        "spell), 'starved' not issuing with the queue empty; line reads per PE (a 64-bit "
        "line is read once per column visit, never stalling); cycles the broadcast waited for "
        "a full queue; the bias pass of the first run after loading.",
    ]


def _design_study(ctx: BenchContext, sec: Section) -> None:
    n, depth = paper.EIE_PES, paper.EIE_FIFO_DEPTH
    rows = []
    if ctx.quick:
        runs = [(name, v) for name in QUICK_STUDY_LAYERS for v in QUICK_STUDY_VARIANTS]
    else:
        # every variant on STUDY_LAYERS, option (c) on every Table III layer (the eie
        # section's 'options' table has the others)
        runs = [
            (name, v)
            for name in ctx.eie_layer_names()
            for v in STUDY_VARIANTS
            if name in STUDY_LAYERS or v is STUDY_VARIANTS[2]
        ]
    for name, (label, kwargs, bal) in progress(runs, "EIE design study (model)"):
        s = ctx.eie_layer(name)
        ideal = balance.ideal_cycles(ctx.column_work(name, n), s.x)
        prof: dict = {}
        cycles, _, _ = layer_run(
            ctx.encoding(name, bal, n), s.x != 0, fifo_depth=depth, profile=prof, **kwargs
        )
        cells = n * cycles
        rows.append(
            {
                "layer": name,
                "variant": label,
                "cycles": int(cycles),
                "eff_mean_pct": pct(ideal["mean"] / cycles),
                "paper_eff_pct": paper.eie_layer(name).efficiency_pct,
                "padding_pct": pct(int(prof["padding"].sum()) / cells),
                "bubble_pct": pct(int(prof["bubble"].sum()) / cells),
                "starved_pct": pct(int(prof["starved"].sum()) / cells),
                "ccu_stall_cycles": int(prof["ccu_stalls"]),
            }
        )
    sec.tables["design_study"] = rows
    sec.notes.append(
        f"Design study ('design_study', cycle model, {n} PEs, queue depth {depth}, "
        "full-size synthetic layers, option (b)'s rows); '[model]' marks options that are "
        "only in the cycle model (accelgen.golden.eie_cycles.layer_run), not in the RTL. "
        "Filter (c) (EIEConfig.filter_empty, in the RTL): each PE keeps a "
        "bit per column (non-empty for it), read with the broadcast, and queues only its "
        "non-empty columns, so an 8-deep queue holds 8 columns of work and the broadcast "
        "waits only for PEs that keep the column; '2-issue': the CCU broadcasts the two "
        "lowest non-zeros of the window per cycle (every queue must have room for the ones "
        "it keeps); decoupled 8-column buffer (e) (EIEConfig.decouple_depth, in the RTL): the "
        "broadcast goes into a shared 8-column "
        "buffer, each PE moves the columns it keeps into its queue through its own read "
        "pointer, and the broadcast waits only while the slowest PE is 8 columns behind; "
        "padding merge (d) (EIEConfig.merge_padding, in the RTL): the walker issues "
        "a padding entry together with the entry after it (one cycle for both) when the "
        "padding mask of the line it holds, registered the cycle after the line's read, shows "
        "it (not in a line's last slot). Efficiency 'mean' as in the Table III table "
        "(work of EIE's placement). Without the filter a second broadcast per cycle does not "
        "help at queue depth 8: the broadcast waits for the fullest queue, not for the CCU. "
        "'default ...': the default configuration's options; with padding merge (d) the "
        "efficiency can exceed 100 % (the ideal counts every padding entry as a cycle)."
    )
    multi = [r for r in rows if r["layer"] == "NT-We" and r["variant"] == MULTI_ISSUE]
    if multi:
        sec.notes.append(
            f"Multi-issue (issue 23: NT-We at {n} PEs, load efficiency >= 85 %): the default "
            f"configuration's options with option (b)'s rows and an 8-column shared buffer "
            f"({_describe(STUDY_VARIANTS[-1][1])}) run NT-We in {multi[0]['cycles']:,} "
            f"cycles, load efficiency {multi[0]['eff_mean_pct']:.2f} % (cycle model)."
        )


#: Queue depths of the NT-We sweep with options (a) + (b) (+ (c)).
NTWE_DEPTHS = (8, 10, 12, 16)
QUICK_NTWE_DEPTHS = (8,)


def _ntwe_depths(ctx: BenchContext, sec: Section) -> None:
    n, name = paper.EIE_PES, "NT-We"
    s = ctx.eie_layer(name)
    ideal = balance.ideal_cycles(ctx.column_work(name, n), s.x)
    rows = []
    depths = QUICK_NTWE_DEPTHS if ctx.quick else NTWE_DEPTHS
    for depth in progress(depths, "NT-We queue depths (model)"):
        row = {"layer": name, "n_pes": n, "fifo_depth": depth}
        for key, filt in (("ab", False), ("abc", True)):
            cycles, _, _ = layer_run(
                ctx.encoding(name, True, n),
                s.x != 0,
                fifo_depth=depth,
                skip_empty=True,
                filter_empty=filt,
            )
            row[f"{key}_cycles"] = int(cycles)
            row[f"{key}_eff_mean_pct"] = pct(ideal["mean"] / cycles)
        rows.append(row)
    sec.tables["ntwe_depth"] = rows
    sec.notes.append(
        "NT-We at 64 PEs vs the activation-queue depth ('ntwe_depth', cycle model = RTL): "
        "options (a) + (b) ('ab') and (a) + (b) + (c) ('abc'). With the filter a queue slot "
        "holds a column with work for the PE, so depth buys more than without it."
    )


def section_eie_uarch(ctx: BenchContext) -> Section:
    sec = Section("eie_uarch", "EIE micro-architecture: the authors' simulator, cycle budget")
    sec.notes.append(synthetic.DESCRIPTION)
    _side_by_side(ctx, sec)
    ctx.checkpoint(sec)
    _design_study(ctx, sec)
    _ntwe_depths(ctx, sec)
    return sec
