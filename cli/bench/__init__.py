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
    ``docs/papers.md``), theoretical and actual time at 800 MHz, the paper's numbers beside them
    and the ratios; the "beyond the paper" options' gains on every layer; sensitivity to the
    queue depth and the PE count on Alex-8; RTL confirmation of Alex-8 at 64 PEs in Verilator.
``diannao``
    The ten Table 2 layers of Chen et al., ASPLOS 2014 through the layer compiler and the
    control-processor cycle model at ``Tn = 16``: cycles, NFU utilization and GOP/s at 0.98 GHz
    against the 452 GOP/s peak; RTL confirmation on reduced-size CONV, POOL and CLASS layers.
``speed``
    Simulated cycles per second on Verilator and Icarus (EIE ``N = 8``, DianNao ``Tn = 8``)
    and the Verilator build times.
``native``
    The native simulation engine (compiled Verilator harness) beside cocotb in one run: core
    cycles per second of wall and CPU time on EIE ``N = 8`` / ``64`` and DianNao ``Tn = 8``,
    and the full-size synthetic Alex-7 on the 64-PE RTL (:mod:`.native`).
``eie_uarch``
    Issue 23 (:mod:`.eie_uarch`): the EIE core beside the authors' C++ cycle simulator on
    scaled Table III layers (their cycles measured with ``--authors-sim PATH``, else the
    stored figures), where the cycles go (per-PE categories of the cycle model), and the
    cycle model's study of the options past the paper (empty-column filter, 2-issue CCU,
    padding merge) at 64 PEs.
``cpu``
    The EIE paper's Figure 6/7 measured here (:mod:`.cpu`): dense GEMV (NumPy, its BLAS) and
    CSR SpMV (SciPy) at batch 1 on the Table III layers beside EIE's time at 800 MHz and at
    our Fmax, as speed-ups over the dense CPU time (GPU columns only with a GPU).
``energy``
    Energy per inference from access counts (:mod:`accelgen.golden.energy`, Horowitz
    ISSCC 2014, 45 nm): each Table III layer compressed on EIE vs the same layer dense on
    DianNao; the Table 2 layers on DianNao.

``winograd``
    Issue 25 (:mod:`.winograd`): the seed's FFT / Winograd cost claims from the op-count model
    (:mod:`accelgen.golden.opcount`) on the Table 2 and AlexNet conv layers; the fixed-point
    Winograd error against float and direct; DianNao cycles of direct vs Winograd mode (cycle
    model at full size, RTL on reduced layers and the digits CNN, with its accuracy).

``farm``
    Issue 21 (:mod:`.farm`): a 64-point ``accelgen explore`` sweep of EIE on Alex-8 on a
    LocalCluster of 1 and of 2 workers, ``accelgen regress`` throughput per engine, the area
    estimator's error table.
``training``
    Issue 17 (:mod:`.training`): Gupta et al. 2015's reduced-precision training claim with the
    golden fixed-point SGD: train / test error per epoch of the digits MLP in float and 16-bit
    fixed point (weight FL 12 and 14) with nearest and stochastic rounding, and the training
    curves' plot.
``mnist``
    Issue 22 (:mod:`.mnist`): LeNet-300-100 on EIE and LeNet-5 on DianNao + EIE over the
    10,000 MNIST test images on the RTL (native engine), beside the seed's compression rows:
    errors float / fixed-point golden / RTL, sizes, cycles, inferences/s, energy, EIE load
    efficiency per layer.

``--quick`` runs a subset in about a minute (fewer layers and sweep points, no RTL runs).
A section whose core module is not available is reported as skipped, with the reason.
``--only SECTION`` re-runs one section and keeps the other sections of an earlier run in the
same folder (same ``--quick`` and ``--seed``), so the report can be completed section by
section; each section notes when it ran.

The package: :mod:`.context` (:class:`Section`, :class:`BenchContext`), one module per section
(:mod:`.eie`, :mod:`.diannao`, :mod:`.speed`, :mod:`.native`, :mod:`.energy`, :mod:`.winograd`,
:mod:`.training`, :mod:`.mnist`:
each a ``section_<name>(ctx) -> Section`` and the sizing of its runs), :mod:`.plots` and
:mod:`.writers` (JSON, CSV, Markdown).
A new section is a module with its section function plus one entry in :data:`SECTIONS`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable

from .. import outputs
from ..golden import synthetic
from ..outputs import output_path
from .context import BenchContext, Section
from .cpu import section_cpu
from .diannao import section_diannao
from .eie import section_eie
from .eie_uarch import section_eie_uarch
from .energy import section_energy
from .farm import section_farm
from .mnist import section_mnist
from .native import section_native
from .speed import section_speed
from .training import section_training
from .winograd import section_winograd
from .writers import machine_info, previous_sections, write_report

__all__ = ["SECTIONS", "BenchContext", "Section", "add_arguments", "run", "write_report"]

#: The sections in report order: name (``--only NAME``) -> ``section(ctx) -> Section``.
SECTIONS: dict[str, Callable[[BenchContext], Section]] = {
    "eie": section_eie,
    "eie_uarch": section_eie_uarch,
    "cpu": section_cpu,
    "diannao": section_diannao,
    "speed": section_speed,
    "native": section_native,
    "energy": section_energy,
    "winograd": section_winograd,
    "farm": section_farm,
    "training": section_training,
    "mnist": section_mnist,
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-o",
        "--output",
        type=output_path,
        default="build/bench",
        help="output folder (default build/bench)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="a ~1-minute subset (no RTL runs, fewer layers)"
    )
    parser.add_argument("--only", choices=tuple(SECTIONS), help="run one section only")
    parser.add_argument("--seed", type=int, default=1, help="seed of the synthetic layers")
    parser.add_argument(
        "--authors-sim",
        metavar="PATH",
        help="a checkout of the EIE authors' public C++ simulator: the eie_uarch section builds "
        "it (g++) and measures their cycles on its layers (default: quote the stored figures)",
    )


def run(args: argparse.Namespace) -> int:
    if args.seed < 0:
        raise ValueError(f"--seed must be >= 0, got {args.seed}")
    # the folder is checked first; it is then written section by section (a checkpoint after
    # each, so the finished sections of a long run survive an interruption), each file
    # atomically (writers.py)
    authors_sim = None
    if args.authors_sim is not None:
        from .authors_sim import check_authors_sim

        authors_sim = check_authors_sim(args.authors_sim)
    out = outputs.check_output_dir(args.output)
    out.mkdir(parents=True, exist_ok=True)
    ctx = BenchContext(out=out, quick=args.quick, seed=args.seed, authors_sim=authors_sim)
    names = (args.only,) if args.only else tuple(SECTIONS)
    t0 = time.perf_counter()
    sections: dict[str, Section] = {}

    def report(partial: Section | None = None) -> None:
        # re-read the folder each time: another `--only` run may have finished meanwhile
        previous = (
            previous_sections(out, quick=args.quick, seed=args.seed, names=SECTIONS)
            if args.only
            else {}
        )
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
        outputs.write_text(out / "bench_config.json", json.dumps(meta, indent=2) + "\n")
        write_report(out, meta, merged)

    ctx.checkpoint = report
    for name in names:
        print(f"accelgen bench: {name} ...", file=sys.stderr, flush=True)
        t = time.perf_counter()
        sec = SECTIONS[name](ctx)
        sec.notes.append(
            f"Section run {machine_info()['date']}, wall time {time.perf_counter() - t:.1f} s."
        )
        sections[name] = sec
        report()
    print(f"accelgen bench: wrote {out / 'benchmarks.md'}", file=sys.stderr)
    return 0
