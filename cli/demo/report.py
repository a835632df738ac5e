"""The report of ``accelgen demo``: ``report.json``, ``report.md`` and PNG plots.

:func:`build_report` turns what :func:`accelgen.demo.run_demo` measured into one JSON-ready
dict (its fields are documented in ``docs/demo.md``); :func:`write_report` writes it with the
markdown rendering and the plots (:mod:`accelgen.demo.plots`); :func:`find_fmax` reads the
synthesis report of ``make synth`` when there is one.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..spec.textio import json_default
from .plots import PLOTS, write_plots

__all__ = ["build_report", "find_fmax", "render_markdown", "write_report"]


def _layer_name(layer: Any) -> str:
    kind = getattr(layer, "kind", "fc")
    if kind == "conv":
        no, ni, k, _ = layer.w.shape
        return f"conv {k}x{k} {ni}->{no}"
    if kind == "pool":
        return f"{layer.mode}pool {layer.k}x{layer.k}"
    rows, cols = layer.shape if hasattr(layer, "shape") else layer.w.shape
    return f"fc {cols}->{rows}"


def _synth_roots() -> list[Path]:
    from ..hdl.verilog import build_dir_root

    return [build_dir_root() / "synth"]


def find_fmax(
    core: str, config: dict | None = None, roots: Sequence[Path] | None = None
) -> dict | None:
    """The Fmax ``make synth`` measured for ``core``, or ``None`` when no synthesis ran.

    Reads the per-run ``report.json`` files of :mod:`accelgen.synth` under ``build/synth``
    (``{"design": ..., "top": ..., "target": ..., "design_config": ..., "timing": {"fmax_mhz":
    ...}}``), the bare core's runs only (its registered top, ``eie_top``; the default set's
    bus-wrapped runs, ``<core>_axi``, are another design; reports without ``top`` count). A
    run of the same core configuration (``config``, the core's ``to_json()``) is preferred, then
    an ECP5 run, then any; ties go to the first path in sorted order.

    Returns
    -------
    dict or None
        ``fmax_mhz``, ``target``, ``device``, ``design_config``, ``same_config`` and ``path``.
    """
    from .. import cores

    bare_top = cores.get(core).verilog_name
    found = []
    for root in roots if roots is not None else _synth_roots():
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("report.json")):
            try:
                data = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            if not isinstance(data, dict) or data.get("design") != core:
                continue
            if data.get("top", bare_top) != bare_top:
                continue  # the core behind a bus wrapper (<core>_axi, <core>_wb): not the core's
            fmax = (data.get("timing") or {}).get("fmax_mhz")
            if not isinstance(fmax, (int, float)) or fmax <= 0:
                continue
            same = config is not None and data.get("design_config") == config
            entry = {
                "fmax_mhz": float(fmax),
                "target": data.get("target"),
                "device": data.get("device"),
                "design_config": data.get("design_config"),
                "same_config": same,
                "path": str(path),
            }
            found.append(((not same, data.get("target") != "ecp5", len(found)), entry))
    return min(found, key=lambda f: f[0])[1] if found else None


def _mean(a) -> float:
    a = np.asarray(a, dtype=np.float64)
    return float(a.mean()) if a.size else float("nan")


def eie_efficiency(run) -> dict:
    """Load efficiency from the per-PE busy counters (``docs/papers.md``: both definitions)."""
    busy = run.stats["pe_busy"].astype(np.float64)  # [images, layers, N]
    starved = run.stats["pe_starved"].astype(np.float64)
    actual = run.layer_cycles.astype(np.float64)  # [images, layers]
    n_pes = busy.shape[-1]

    def ratio(num, den):
        return float(num.sum() / den.sum()) if den.sum() else float("nan")

    per_layer = [
        {
            "max_pe": ratio(busy[:, i].max(-1), actual[:, i]),
            "mean_pe": ratio(busy[:, i].sum(-1) / n_pes, actual[:, i]),
            "starved_fraction": ratio(starved[:, i].sum(-1) / n_pes, actual[:, i]),
        }
        for i in range(busy.shape[1])
    ]
    return {
        "definition": "ideal cycles / actual cycles, summed over images and layers; ideal = "
        "busiest PE's busy cycles (max_pe) or total busy cycles / N (mean_pe)",
        "max_pe": ratio(busy.max(-1), actual),
        "mean_pe": ratio(busy.sum(-1) / n_pes, actual),
        "starved_fraction": ratio(starved.sum(-1) / n_pes, actual),
        "per_layer": per_layer,
        "busy_cycles_per_inference": float(busy.sum() / len(busy)),
    }


def _diannao_utilization(run, tn: int) -> dict:
    """NFU utilization from the measured counters: useful MACs / (Tn^2 x cycles)."""
    useful = run.stats["useful_ops"].sum(axis=0).astype(np.float64)  # [layers]
    busy = run.stats["nfu_busy"].sum(axis=0).astype(np.float64)
    cycles = run.layer_cycles.sum(axis=0).astype(np.float64)
    peak = tn * tn
    return {
        "definition": "useful MACs (pooling: window elements) / (Tn^2 x measured cycles)",
        "mean": float(useful.sum() / (peak * cycles.sum())) if cycles.sum() else float("nan"),
        "per_layer": [
            float(u / (peak * c)) if c else float("nan")
            for u, c in zip(useful, cycles, strict=True)
        ],
        "nfu_busy_fraction": float(busy.sum() / cycles.sum()) if cycles.sum() else float("nan"),
        "per_layer_nfu_busy_fraction": [
            float(b / c) if c else float("nan") for b, c in zip(busy, cycles, strict=True)
        ],
    }


def _padding_processed(net, n_pes: int, n: int) -> float:
    """Padding entries of the broadcast columns per inference, counted from the data (each
    layer's input: the network input, then the golden outputs, equal to the RTL's)."""
    from ..golden.eie_format import encode

    total = 0.0
    for i, layer in enumerate(net.layers):
        x = np.atleast_2d(net.x if i == 0 else net.golden[i - 1])[:n]
        enc = encode(layer.index, n_pes)
        pad = np.zeros(layer.shape[1])
        for k in range(n_pes):
            is_pad = (np.asarray(enc.v[k]) == 0).astype(np.int64)
            starts = np.asarray(enc.ptr[k])
            csum = np.concatenate([[0], np.cumsum(is_pad)])
            pad += csum[starts[1:]] - csum[starts[:-1]]
        total += float(((x != 0) @ pad).sum())
    return total / n


def _counts_check(net, energy: dict, n: int, config=None) -> dict:
    """Compare the energy model's counted work with the RTL's own counters.

    EIE with ``merge_padding`` (option (d)) issues a merged padding entry in its successor's
    busy cycle: busy cycles = entries - merged, with 0 <= merged <= the padding entries of the
    broadcast columns (counted from the data); ``equal`` then means within those bounds."""
    counts = {i["name"]: i["count_per_inference"] for i in energy["items"]}
    extra: dict[str, Any] = {}
    if net.core == "eie":
        counted = counts["16-bit multiplies"]
        measured = float(net.run.stats["pe_busy"].sum() / n)
        what = "matrix entries processed (counted from the data) vs PE busy cycles (measured)"
        if config is not None and config.merge_padding:
            padding = _padding_processed(net, config.n_pes, n)
            merged = counted - measured
            what += "; merged padding entries (option (d)) take no busy cycle of their own"
            extra = {"padding_entries": padding, "merged_padding_entries": merged}
            ok = -1e-9 <= merged <= padding + 1e-9
            return {"what": what, "counted": counted, "measured": measured, "equal": ok, **extra}
    else:
        counted = next(v for k, v in counts.items() if k.startswith("NBin reads"))
        measured = float(net.run.stats["nfu_busy"].sum() / n)
        what = "NFU steps (counted from the tiling) vs NFU busy cycles (measured)"
    return {"what": what, "counted": counted, "measured": measured, "equal": counted == measured}


def build_report(
    *,
    cfg,
    models,
    labels: np.ndarray,
    networks: Sequence,
    configs: dict,
    artefacts: dict,
    compression,
    energy: dict,
    wall_s: float,
) -> dict:
    """Assemble the JSON report of one demo run (fields in ``docs/demo.md``)."""
    report: dict[str, Any] = {
        "accelgen_version": __version__,
        "date_utc": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M:%S"),
        "demo_config": cfg.to_json(),
        "data": {
            "name": "scikit-learn digits (8x8), held-out test split",
            "test_images": int(len(models.labels)),
            "images_run": int(len(labels)),
        },
        "wall_s": wall_s,
        "networks": {},
    }
    for net in networks:
        run = net.run
        n = len(labels)
        golden_pred = net.golden[-1].reshape(n, -1).argmax(1)
        rtl_last = run.outputs[-1]
        rtl_pred = np.asarray(rtl_last).reshape(n, -1).argmax(1)
        acc = dict(models.accuracy[net.key])
        acc["golden_on_images"] = float(np.mean(golden_pred == labels))
        acc["rtl"] = float(np.mean(rtl_pred == labels))
        cycles = run.cycles.astype(np.float64)
        mean_cycles = _mean(cycles)
        fmax = find_fmax(net.core, configs[net.core].to_json())
        clock_hz = cfg.clock_mhz * 1e6
        throughput = {
            "clock_mhz": cfg.clock_mhz,
            "inferences_per_s": clock_hz / mean_cycles if mean_cycles else None,
            "fmax_mhz": fmax["fmax_mhz"] if fmax else None,
            "inferences_per_s_at_fmax": (
                fmax["fmax_mhz"] * 1e6 / mean_cycles if fmax and mean_cycles else None
            ),
            "synthesis_report": fmax,
        }
        e = energy[net.key].to_json()
        entry: dict[str, Any] = {
            "title": net.title,
            "core": net.core,
            "layers": [_layer_name(layer) for layer in net.layers],
            "bit_exact": net.mismatch is None,
            "mismatch": None if net.mismatch is None else net.mismatch.to_json(),
            "outputs_checked": int(sum(np.asarray(o).size for o in run.outputs if o is not None)),
            "accuracy": acc,
            "predictions": rtl_pred.tolist(),
            "cycles": {
                "per_inference_mean": mean_cycles,
                "per_inference_min": int(cycles.min()),
                "per_inference_max": int(cycles.max()),
                "per_layer_mean": [_mean(run.layer_cycles[:, i]) for i in range(len(net.layers))],
            },
            "throughput": throughput,
            "energy": e,
            "simulation": {
                "simulator": cfg.simulator,
                "engine": cfg.sim_engine,
                "wall_s": run.wall_s,
                "images_per_s": n / run.wall_s if run.wall_s else None,
                "core_cycles_per_s": float(cycles.sum() / run.wall_s) if run.wall_s else None,
            },
            "core_config": configs[net.core].to_json(),
            "artefacts": artefacts[net.core],
        }
        entry["energy_counts_check"] = _counts_check(net, e, n, configs[net.core])
        if net.core == "eie":
            entry["weight_density"] = compression.density
            entry["compression_ratio"] = compression.ratio
            entry["compression_ratio_huffman"] = compression.ratio_huffman
            entry["compression"] = compression.to_json()
            entry["eie_load_efficiency"] = eie_efficiency(run)
        else:
            weights = [layer.w for layer in net.layers if hasattr(layer, "w")]
            total = sum(w.size for w in weights)
            entry["weight_density"] = sum(int(np.count_nonzero(w)) for w in weights) / total
            entry["compression_ratio"] = 32 / configs[net.core].w_bits  # float32 -> fixed point
            entry["nfu_utilization"] = _diannao_utilization(run, configs[net.core].tn)
        report["networks"][net.key] = entry
    return report


def _fmt(v, spec: str = ".2f", none: str = "-") -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return none
    return format(v, spec)


def _fmax_text(n: dict) -> str:
    t = n["throughput"]
    syn = t["synthesis_report"]
    if syn is None:
        return "no synthesis report (run `make synth`)"
    if syn["same_config"]:
        which = "this configuration"
    else:
        ours, theirs = n["core_config"], syn["design_config"] or {}
        diff = [f"{k}={v}" for k, v in theirs.items() if ours.get(k) != v]
        which = "configuration with " + (", ".join(diff) or "other fields")
    return (
        f"{syn['fmax_mhz']:.1f} MHz ({syn['target']} {syn['device']}, {which}) / "
        f"{t['inferences_per_s_at_fmax']:,.0f}"
    )


def _engine(report: dict) -> str:
    nets = list(report["networks"].values())
    return nets[0]["simulation"].get("engine", "cocotb") if nets else "cocotb"


def render_markdown(report: dict) -> str:
    """The human-readable ``report.md``."""
    cfg = report["demo_config"]
    lines = [
        "# accelgen demo report",
        "",
        f"{report['date_utc']} UTC, accelgen {report['accelgen_version']}, simulator "
        f"`{cfg['simulator']}` ({_engine(report)} engine), {report['data']['images_run']} of "
        f"{report['data']['test_images']} test images ({report['data']['name']}), "
        f"EIE N = {cfg['pes']}, DianNao Tn = {cfg['tn']}, wall time {report['wall_s']:.0f} s.",
        "",
    ]
    nets = report["networks"]
    lines += ["## Summary", "", "| | " + " | ".join(n["title"] for n in nets.values()) + " |"]
    lines.append("|---|" + "---|" * len(nets))

    def row(label, fn):
        lines.append(f"| {label} | " + " | ".join(fn(n) for n in nets.values()) + " |")

    row("RTL == golden model, bit for bit", lambda n: "yes" if n["bit_exact"] else "**NO**")
    row("outputs compared", lambda n: str(n["outputs_checked"]))
    row("float accuracy (full test split)", lambda n: _fmt(n["accuracy"].get("float"), ".2%"))
    row(
        "fixed-point golden accuracy (full split)",
        lambda n: _fmt(n["accuracy"].get("fixed"), ".2%"),
    )
    row(
        "compressed float accuracy (full split)",
        lambda n: _fmt(n["accuracy"].get("compressed_float"), ".2%"),
    )
    row(
        "compressed golden accuracy (full split)",
        lambda n: _fmt(n["accuracy"].get("compressed"), ".2%"),
    )
    row(
        "golden accuracy on the images run",
        lambda n: _fmt(n["accuracy"]["golden_on_images"], ".2%"),
    )
    row("**RTL accuracy on the images run**", lambda n: _fmt(n["accuracy"]["rtl"], ".2%"))
    row("weight density", lambda n: _fmt(n["weight_density"], ".1%"))
    row("compression ratio vs float32", lambda n: _fmt(n["compression_ratio"], ".1f") + "x")
    row("cycles per inference (mean)", lambda n: _fmt(n["cycles"]["per_inference_mean"], ".0f"))
    row(
        f"inferences/s at {cfg['clock_mhz']:g} MHz",
        lambda n: _fmt(n["throughput"]["inferences_per_s"], ",.0f"),
    )
    row(
        "Fmax (synthesis) / inferences/s at Fmax",
        _fmax_text,
    )
    row(
        "EIE load efficiency (max-PE / mean-PE)",
        lambda n: (
            f"{n['eie_load_efficiency']['max_pe']:.1%} / {n['eie_load_efficiency']['mean_pe']:.1%}"
            if "eie_load_efficiency" in n
            else "-"
        ),
    )
    row(
        "DianNao NFU utilization",
        lambda n: _fmt(n["nfu_utilization"]["mean"], ".1%") if "nfu_utilization" in n else "-",
    )
    row("energy per inference (estimate)", lambda n: _fmt(n["energy"]["total_nj"], ".1f") + " nJ")
    row(
        "dense weights from DRAM instead (baseline)",
        lambda n: _fmt(n["energy"]["dense_dram_baseline_pj"] / 1000, ".1f") + " nJ",
    )
    row(
        "energy model counts == RTL counters",
        lambda n: "yes" if n["energy_counts_check"]["equal"] else "**no**",
    )
    row(
        "simulation speed (first run includes the build)",
        lambda n: _fmt(n["simulation"]["images_per_s"], ".1f") + " images/s",
    )
    row(
        "simulated core cycles per second",
        lambda n: (
            _fmt(n["simulation"].get("core_cycles_per_s"), ",.0f")
            + f" ({n['simulation'].get('engine', 'cocotb')} engine)"
        ),
    )
    for n in nets.values():
        if not n["bit_exact"]:
            m = n["mismatch"]
            lines += [
                "",
                f"**Mismatch** in {n['title']}: image {m['image']}, layer {m['layer']}, neuron "
                f"{m['neuron']}: RTL {m['rtl']}, golden {m['golden']}.",
            ]
    for n in nets.values():
        lines += ["", f"## {n['title']}", "", "| layer | mean cycles per inference |", "|---|---|"]
        for name, c in zip(n["layers"], n["cycles"]["per_layer_mean"], strict=True):
            lines.append(f"| {name} | {c:.1f} |")
        if "nfu_utilization" in n:
            u = n["nfu_utilization"]
            lines += ["", "| layer | NFU utilization | NFU busy |", "|---|---|---|"]
            for name, a, b in zip(
                n["layers"], u["per_layer"], u["per_layer_nfu_busy_fraction"], strict=True
            ):
                lines.append(f"| {name} | {a:.1%} | {b:.1%} |")
        if "eie_load_efficiency" in n:
            lines += [
                "",
                "| layer | load efficiency max-PE | mean-PE | starved |",
                "|---|---|---|---|",
            ]
            for name, e in zip(n["layers"], n["eie_load_efficiency"]["per_layer"], strict=True):
                lines.append(
                    f"| {name} | {e['max_pe']:.1%} | {e['mean_pe']:.1%} | "
                    f"{e['starved_fraction']:.1%} |"
                )
        lines += [
            "",
            f"Energy per inference ({n['energy']['reference']}; derived entries are marked):",
            "",
            "| item | count | pJ each | pJ | source |",
            "|---|---|---|---|---|",
        ]
        for it in n["energy"]["items"]:
            lines.append(
                f"| {it['name']} | {it['count_per_inference']:,.1f} | {it['unit_pj']:g} | "
                f"{it['total_pj']:,.1f} | {it['source']} |"
            )
        lines.append(f"| **total** | | | **{n['energy']['total_pj']:,.1f}** | |")
        lines += [""] + [f"- {note}" for note in n["energy"]["notes"]]
        a = n["artefacts"]
        lines += [
            "",
            f"Generated Verilog: `{a['verilog']}` (top `{a['toplevel']}`), configuration "
            f"`{a['config']}`.",
        ]
    if "lstm" in report:
        ls = report["lstm"]
        lines += [
            "",
            f"## {ls['title']}",
            "",
            f"{ls['task']}; {ls['sequences']} sequences x {ls['steps']} steps, {ls['inputs']} "
            f"inputs, hidden {ls['hidden']}, gate layer {ls['gate_layer']} at "
            f"{ls['weight_density']:.0%} weight density. Gates on the RTL, element-wise part "
            "per the golden LSTM cell.",
            "",
            f"- bit-exact against the golden LSTM: {'yes' if ls['bit_exact'] else '**NO**'}",
            "- cycles per step (mean over sequences): "
            + ", ".join(f"{c:.0f}" for c in ls["cycles_per_step"])
            + f" (mean {ls['cycles_per_step_mean']:.0f})",
        ]
    lines += [
        "",
        "## Plots",
        "",
        "![cycles](cycles.png) ![accuracy](accuracy.png)",
        "",
        "![energy](energy.png) ![digits](digits.png)",
        "",
    ]
    return "\n".join(lines)


def write_report(report: dict, out: Path, *, images: np.ndarray, labels: np.ndarray) -> list[Path]:
    """Write ``report.json``, ``report.md`` and the plots into ``out``; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    report["plots"] = list(PLOTS)
    js = out / "report.json"
    js.write_text(json.dumps(report, indent=2, default=json_default) + "\n")
    md = out / "report.md"
    md.write_text(render_markdown(report))
    return [js, md, *write_plots(report, out, images, labels)]
