"""``accelgen synth``: synthesis and place-and-route reports on open tools (YoWASP).

Examples::

    accelgen synth eie --target ecp5 -o build/synth/eie
    accelgen synth diannao --config dn.json --set tn=8 --target generic -o build/synth/dn
    accelgen synth --default-set -o build/synth

Each output directory gets ``config.json``, the Verilog, the tool logs and ``report.json`` /
``report.md`` (see ``docs/synth.md``). ``--default-set`` runs the documented default set and
writes ``summary.md`` / ``summary.json`` next to the per-run directories.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from . import outputs
from .main import UserError
from .outputs import output_path
from .spec import regmap

__all__ = [
    "DEFAULT_SET",
    "ECP5_PNR_TIMEOUT_S",
    "ICE40_EIE",
    "ICE40_PNR_TIMEOUT_S",
    "SINGLE_RUN_PNR_TIMEOUT_S",
    "add_arguments",
    "run",
]

# The iCE40 UP5K entry: one PE with the paper's per-PE memory sizes but one layer descriptor
# (max_layers=1). The default EIEConfig's four per-layer codebooks (4 x 16 x 16-bit registers),
# per-layer counters and cycle counters alone take ~1500 of the UP5K's 5280 logic cells, which
# has no LUT RAM; at 97 % utilisation nextpnr's placer did not converge (docs/synth.md).
ICE40_EIE: dict[str, Any] = {"n_pes": 1, "max_layers": 1}
# The "if it fits" run is stopped after this many seconds of nextpnr (it takes ~1 minute).
ICE40_PNR_TIMEOUT_S = 1800.0
# The ECP5 runs get a limit too, so that `make synth` always ends: nextpnr's router2 iterates
# until no wire is overused, with no iteration limit (EIE N = 4 and DianNao Tn = 8 each took
# 7-15 minutes of nextpnr in all).
ECP5_PNR_TIMEOUT_S = 7200.0

# Both cores are routed with router1 on the ECP5: on the pipelined EIE (session 3) router2
# stalled at a few hundred overused wires for some placements (seed 1 and 2 of the final RTL,
# 13-14 minutes without converging); router1 rips up arc by arc and finishes. On DianNao
# Tn = 8 (2026-12-06) router1 routed the same netlist at 101.75 / 105.21 MHz (seeds 1 / 2, 5-7
# minutes of nextpnr) where router2 gave 91.36 / 79.01 MHz (docs/synth.md).
ECP5_ROUTER = "router1"
# ... except the AXI-wrapped EIE: router1 did not route it within 30 minutes (2026-12-06, seed 1:
# ~500 arcs left, no longer falling); router2 routed it in about 2 minutes of nextpnr at seeds
# 1 and 2 and diverged at seed 3 (docs/synth.md, "The AXI-wrapped EIE: router2").
ECP5_AXI_EIE_ROUTER = "router2"

# (directory, design, config overrides, synthesis options): the set `make synth` runs. The
# option "bus" (not a SynthConfig field) synthesizes the core behind that bus wrapper
# (`accelgen synth --bus`, docs/bus.md) with the same nextpnr options as the bare core.
DEFAULT_SET: tuple[tuple[str, str, dict[str, Any], dict[str, Any]], ...] = (
    (
        "eie-n4-ecp5",
        "eie",
        {"n_pes": 4},
        {
            "target": "ecp5",
            "device": "85k",
            "pnr_timeout_s": ECP5_PNR_TIMEOUT_S,
            "router": ECP5_ROUTER,
        },
    ),
    (
        "diannao-tn8-ecp5",
        "diannao",
        {"tn": 8},
        {
            "target": "ecp5",
            "device": "85k",
            "pnr_timeout_s": ECP5_PNR_TIMEOUT_S,
            "router": ECP5_ROUTER,
        },
    ),
    (
        "eie-n1-ice40",
        "eie",
        ICE40_EIE,
        {"target": "ice40", "device": "up5k", "pnr_timeout_s": ICE40_PNR_TIMEOUT_S},
    ),
    (
        "eie-n4-axi-ecp5",
        "eie",
        {"n_pes": 4},
        {
            "target": "ecp5",
            "device": "85k",
            "pnr_timeout_s": ECP5_PNR_TIMEOUT_S,
            "router": ECP5_AXI_EIE_ROUTER,
            "bus": "axi",
        },
    ),
    (
        "diannao-tn8-axi-ecp5",
        "diannao",
        {"tn": 8},
        {
            "target": "ecp5",
            "device": "85k",
            "pnr_timeout_s": ECP5_PNR_TIMEOUT_S,
            "router": ECP5_ROUTER,
            "bus": "axi",
        },
    ),
)


# A single run (`accelgen synth eie --target ecp5 -o DIR`) stops nextpnr after this many seconds
# unless --pnr-timeout says otherwise (0: no limit), then reports nextpnr's post-placement
# estimate: a new user gets a result within the hour instead of a router that may not converge.
SINGLE_RUN_PNR_TIMEOUT_S = 1800.0


def single_run_defaults(design: str, target: str, bus: str = "native") -> dict[str, Any]:
    """nextpnr options a single run of ``design`` on ``target`` behind ``bus`` takes unless
    given: the router / placer the default set uses for that core, target and bus (ECP5:
    router1; the AXI-wrapped EIE: router2), else those of the bare core, and
    :data:`SINGLE_RUN_PNR_TIMEOUT_S`."""
    opts: dict[str, Any] = {"pnr_timeout_s": SINGLE_RUN_PNR_TIMEOUT_S}
    # the set's entry for this core and target per bus (reversed: the first one wins)
    by_bus = {
        r.get("bus", "native"): r
        for _, d, _, r in reversed(DEFAULT_SET)
        if d == design and r.get("target") == target
    }
    run_opts = by_bus.get(bus) or by_bus.get("native", {})
    opts.update({k: run_opts[k] for k in ("router", "placer") if k in run_opts})
    return opts


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from accelgen.synth.flow import TARGETS

    from .cores import designs

    parser.add_argument(
        "design",
        nargs="?",
        choices=designs.names(),
        metavar="DESIGN",
        help=f"what to synthesize: {', '.join(designs.names())}",
    )
    parser.add_argument("--config", type=Path, help="core configuration (JSON)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override one configuration field (VALUE is JSON, e.g. n_pes=4); repeatable",
    )
    parser.add_argument("--target", choices=TARGETS, default="ecp5", help="default: ecp5")
    parser.add_argument(
        "--liberty",
        default="",
        metavar="FILE",
        help="asic: standard-cell liberty (default: the OSU 0.18 um cells of Debian's "
        "qflow-tech-osu018, installed by `make setup`)",
    )
    parser.add_argument(
        "--clock-ns",
        type=float,
        default=0.0,
        metavar="T",
        help="asic: clock period in ns for ABC and OpenSTA (default: 1000 / --freq)",
    )
    parser.add_argument(
        "--memories",
        choices=("macros", "flops"),
        default=None,
        help="asic: every memory a RAM macro (default; area from an SRAM model) or flip-flops",
    )
    parser.add_argument(
        "--process-nm",
        type=int,
        default=180,
        metavar="NM",
        help="asic: the liberty's process node (default 180, the OSU cells), for the SRAM "
        "model and the scaling to the papers' nodes",
    )
    parser.add_argument("--device", default="", help="85k|45k|25k (ecp5), up5k|hx8k (ice40)")
    parser.add_argument("--package", default="", help="nextpnr package (default per device)")
    parser.add_argument("--freq", type=float, default=100.0, help="clock goal in MHz (100)")
    parser.add_argument(
        "--io",
        choices=("auto", "parallel", "serial"),
        default="auto",
        help="I/O register wrapper pin scheme (default: auto)",
    )
    parser.add_argument("--no-pnr", action="store_true", help="stop after Yosys")
    parser.add_argument("--seed", type=int, default=1, help="nextpnr seed")
    parser.add_argument(
        "--router",
        choices=("router2", "router1"),
        default=None,
        help="nextpnr router (default: the one the default set uses for the core, target and "
        "bus: router1 on ECP5 but router2 for the AXI-wrapped EIE, router2 otherwise)",
    )
    parser.add_argument(
        "--placer",
        choices=("heap", "sa", "static"),
        default=None,
        help="nextpnr placer (default: heap; in the default set, each run's own choice)",
    )
    parser.add_argument(
        "--pnr-timeout",
        type=float,
        default=None,
        metavar="S",
        help=f"stop nextpnr after S seconds and report the post-placement estimate (0: no "
        f"limit; default {SINGLE_RUN_PNR_TIMEOUT_S:g} for a single run; the default set uses "
        f"{ECP5_PNR_TIMEOUT_S:g} for ECP5, {ICE40_PNR_TIMEOUT_S:g} for iCE40)",
    )
    parser.add_argument(
        "-j",
        "--jobs",
        type=int,
        default=2,
        metavar="J",
        help="default set: runs at once, each in its own process (default 2; the tools are "
        "single-threaded)",
    )
    parser.add_argument(
        "--default-set",
        action="store_true",
        help="run the documented default set: EIE N=4 and DianNao Tn=8 on ECP5-85F, "
        "EIE N=1 (one layer descriptor) on iCE40 UP5K",
    )
    parser.add_argument(
        "--bus",
        choices=("native", "axi", "wishbone"),
        default="native",
        help="a core behind its own port (native, default), AXI4-Lite + AXI4-Stream (axi) or "
        "Wishbone B4 (wishbone); docs/bus.md",
    )
    parser.add_argument("-o", "--output", type=output_path, required=True, help="output directory")


def _overrides(items: list[str]) -> dict[str, Any]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UserError(f"--set needs FIELD=VALUE, got {item!r}")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def _progress(label: str, t_start: float | None = None):
    t0 = time.monotonic()

    def say(msg: str) -> None:
        total = "" if t_start is None else f" total {(time.monotonic() - t_start) / 60:5.1f}m"
        print(
            f"[synth {label} {time.monotonic() - t0:6.1f}s{total}] {msg}",
            file=sys.stderr,
            flush=True,
        )

    return say


def _prepare(design: str, cfg_path: Path | None, overrides: dict[str, Any], synth_opts: dict):
    """Validate one run's synthesis options and core configuration (no tool runs yet)."""
    from accelgen.synth.flow import SynthConfig

    from . import cores
    from .cores import designs

    synth_cfg = SynthConfig(**synth_opts)
    cfg = designs.load_config(design, cfg_path, **overrides)
    if designs.is_core(design):  # the generation budget, before any tool
        cores.get(design).check_budget(cfg, synth_cfg.memories)
    return cfg, synth_cfg


def _build(design: str, cfg, bus: str = "native"):
    """``(component, top module, config)`` of ``design``, behind ``bus`` unless native."""
    if bus != "native":
        from .hdl.bus.generate import top_module, wrapped

        return wrapped(design, bus, cfg), top_module(design, bus), cfg
    from .cores import designs

    return designs.build(design, cfg)


def _summary_line(name: str, report: dict[str, Any] | None, error: str | None) -> str:
    from accelgen.synth.report import critical_path_summary

    if report is None:
        return f"| {name} | - | - | - | - | - | - | - | - | {error} |"
    r = report["resources"]
    timing = report.get("timing", {})
    fmax = timing.get("fmax_mhz", "-")
    if timing.get("routed", True) is False:
        fmax = f"not routed (placement estimate {timing['placement_estimate_mhz']})"
    cp = timing.get("critical_path")
    checks = ", ".join(
        f"{k} {'ok' if c['ok'] else 'FAIL'}"
        for k, c in report["checks"].items()
        if c["ok"] is not None
    )
    secs = report.get("tool_seconds", {})
    tools = " + ".join(f"{k.removesuffix('_s')} {v / 60:.1f}" for k, v in secs.items())
    return (
        f"| {name} | {report['target']} {report['device']} | {r.get('lut', '-')} | "
        f"{r.get('ff', '-')} | {r.get('bram', '-')} | {r.get('dsp', '-')} | {fmax} | "
        f"{critical_path_summary(cp) if cp else '-'} | {tools or '-'} | {checks} |"
    )


def _run_one(
    name: str,
    design: str,
    cfg,
    synth_cfg,
    out: Path,
    label: str,
    t_start: float,
    bus: str = "native",
):
    """One run of the default set (also in a worker process): ``(name, report, error, target)``."""
    from accelgen.synth.flow import SynthError, run_synth

    say = _progress(label, t_start)
    wrapper = "" if bus == "native" else f" behind {bus}"
    say(f"starting: {design}{wrapper} on {synth_cfg.target} {synth_cfg.device}")
    component, top, cfg = _build(design, cfg, bus)
    try:
        report = run_synth(
            component, top, synth_cfg, out, design=design, design_config=cfg, progress=say
        )
    except SynthError as e:
        say(f"failed: {e}")
        return name, None, str(e), synth_cfg.target
    timing = report.get("timing", {})
    if timing.get("routed", True):
        say(f"done: Fmax {timing.get('fmax_mhz', '-')} MHz")
    else:
        say(f"done: not routed; post-placement estimate {timing['placement_estimate_mhz']} MHz")
    return name, report, None, synth_cfg.target


def _default_set(args: argparse.Namespace, final: Path) -> int:
    """Run the default set; ``args.output`` is the (temporary) folder being built, ``final``
    the name it gets."""
    t_start = time.monotonic()
    plan = []
    for name, design, overrides, opts in DEFAULT_SET:
        opts = {
            **opts,
            "freq_mhz": args.freq,
            "seed": args.seed,
        }
        if args.router is not None:
            opts["router"] = args.router
        if args.placer is not None:
            opts["placer"] = args.placer
        if args.pnr_timeout is not None:
            opts["pnr_timeout_s"] = args.pnr_timeout
        bus = opts.pop("bus", "native")
        # every run is validated and built before the first tool starts
        plan.append((name, design, *_prepare(design, None, overrides, opts), bus))
    # _run_one's arguments per run, in the documented order
    runs = [
        (name, design, cfg, synth_cfg, args.output / name, f"run {i}/{len(plan)} {name}", t_start)
        + (bus,)
        for i, (name, design, cfg, synth_cfg, bus) in enumerate(plan, 1)
    ]
    jobs = max(1, min(args.jobs, len(plan)))
    if jobs == 1:
        outcomes = [_run_one(*run) for run in runs]
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # the longest run first, so that the short ones fill the other worker meanwhile
        order = sorted(runs, key=lambda r: r[3].target != "ecp5" or r[1] != "diannao")
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
            futures = [pool.submit(_run_one, *run) for run in order]
            done = {outcome[0]: outcome for outcome in (f.result() for f in futures)}
        outcomes = [done[run[0]] for run in runs]
    rows, results = [], {}
    failed = False
    for name, report, error, target in outcomes:
        rows.append(_summary_line(name, report, error and error.splitlines()[0]))
        results[name] = report if report is not None else {"error": error}
        # iCE40 is "if it fits": a failed placement is a result, not a crash
        failed = failed or (report is None and target != "ice40")
    header = [
        "# Default synthesis set",
        "",
        "| run | device | LUT | FF | BRAM | DSP | Fmax MHz | critical path | tool minutes "
        "| checks |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    (args.output / "summary.md").write_text("\n".join(header + rows) + "\n")
    (args.output / "summary.json").write_text(json.dumps(results, indent=2) + "\n")
    print("\n".join(header[2:] + rows))
    print(f"reports in {final}/<run>/report.md")
    return 1 if failed else 0


def run(args: argparse.Namespace) -> int:
    from accelgen.synth.flow import SynthError, ToolMissing, run_synth

    out = outputs.check_output_dir(args.output)
    if args.default_set:
        if args.design or args.config or args.set or args.bus != "native":
            raise UserError("--default-set takes no DESIGN, --config, --set or --bus")
        with outputs.atomic_dir(out) as tmp:
            return _default_set(argparse.Namespace(**{**vars(args), "output": tmp}), out)
    if args.design is None:
        raise UserError("name a DESIGN (eie, diannao, ...) or pass --default-set")
    opts = {
        **single_run_defaults(args.design, args.target, args.bus),
        "target": args.target,
        "device": args.device,
        "package": args.package,
        "freq_mhz": args.freq,
        "io": args.io,
        "place_route": not args.no_pnr,
        "seed": args.seed,
        "liberty": args.liberty,
        "clock_ns": args.clock_ns,
        "memories": args.memories or "",
        "process_nm": args.process_nm,
    }
    if args.pnr_timeout is not None:
        opts["pnr_timeout_s"] = args.pnr_timeout
    if args.router is not None:  # else the default set's choice or SynthConfig's default
        opts["router"] = args.router
    if args.placer is not None:
        opts["placer"] = args.placer
    if args.target == "asic":
        opts.pop("pnr_timeout_s")
    if args.bus != "native" and args.design not in regmap.CORES:
        raise UserError(
            f"--bus {args.bus} needs a core ({', '.join(regmap.CORES)}), not {args.design!r}"
        )
    # every check (options, device and package, config, generation budget) before any tool
    cfg, synth_cfg = _prepare(args.design, args.config, _overrides(args.set), opts)
    component, top, cfg = _build(args.design, cfg, args.bus)
    # written atomically; a failed tool run is a result (its logs are kept), a crash leaves
    # nothing
    # (a missing tool is found before any tool runs: then nothing is left either)
    error = report = None
    try:
        with outputs.atomic_dir(out, stale=_stale_files()) as tmp:
            try:
                report = run_synth(
                    component,
                    top,
                    synth_cfg,
                    tmp,
                    design=args.design,
                    design_config=cfg,
                    progress=_progress(args.design),
                )
            except SynthError as e:
                error = e
                if isinstance(e, ToolMissing):
                    raise
    except ToolMissing:
        pass
    if error is not None:
        print(f"accelgen: error: {error}", file=sys.stderr)
        return 1
    print((out / "report.md").read_text(), end="")
    timing = (report or {}).get("timing") or {}
    if timing.get("routed", True) is False:
        print(
            f"accelgen: nextpnr did not finish routing within {synth_cfg.pnr_timeout_s:g} s "
            f"(--pnr-timeout); the Fmax above is its post-placement estimate "
            f"({timing['placement_estimate_mhz']} MHz), not a routed result",
            file=sys.stderr,
        )
    return 0


def _stale_files() -> tuple[str, ...]:
    """Files of an earlier run in the same folder that a new run may not write (no place and
    route, another target, a timeout): removed when the new results are moved in, so reports
    never mix runs."""
    from accelgen.synth.flow import ABC_CONSTR, MACRO_MODELS, MACRO_STUBS, TOOL_OUTPUTS

    return ("report.json", "report.md", *TOOL_OUTPUTS, MACRO_STUBS, MACRO_MODELS, ABC_CONSTR)
