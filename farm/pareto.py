"""The Pareto front of a sweep, its plot and its Markdown report (pure functions of the rows)."""

from __future__ import annotations

import io
from collections.abc import Sequence

__all__ = ["OBJECTIVES", "front", "plot_png", "report_markdown", "select"]

#: Minimised together: cycles per inference, energy per inference, estimated LUTs.
OBJECTIVES = ("cycles", "energy_pj", "est_lut")


def _dominates(a: dict, b: dict) -> bool:
    va = [float(a[k]) for k in OBJECTIVES]
    vb = [float(b[k]) for k in OBJECTIVES]
    return all(x <= y for x, y in zip(va, vb, strict=True)) and va != vb


def front(rows: Sequence[dict]) -> list[dict]:
    """The rows no other row dominates (every objective <= and one <), sorted by LUTs."""
    out = [r for r in rows if not any(_dominates(o, r) for o in rows if o is not r)]
    return sorted(out, key=lambda r: (float(r["est_lut"]), float(r["cycles"])))


def select(points: Sequence[dict], k: int) -> list[dict]:
    """Up to ``k`` points spread evenly along the front (by LUTs), both ends included."""
    n = len(points)
    if k <= 0 or n == 0:
        return []
    if n <= k:
        return list(points)
    if k == 1:
        return [points[0]]
    idx = sorted({round(i * (n - 1) / (k - 1)) for i in range(k)})
    return [points[i] for i in idx]


def plot_png(
    rows: Sequence[dict], pareto: Sequence[dict], synth: dict[str, dict], title: str
) -> bytes:
    """Throughput vs area and energy vs area; the front highlighted, synthesized points' real
    LUTs marked beside their estimates."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    keys = {r["key"] for r in pareto}
    for ax, (ykey, ylabel, scale) in zip(
        axes,
        (
            ("cycles", "throughput (inferences per 10^6 cycles)", None),
            ("energy_pj", "energy per inference (nJ, 45 nm model)", 1e-3),
        ),
        strict=True,
    ):

        def y(r, ykey=ykey, scale=scale):
            v = float(r[ykey])
            return 1e6 / v if scale is None else v * scale

        rest = [r for r in rows if r["key"] not in keys]
        ax.scatter(
            [float(r["est_lut"]) for r in rest],
            [y(r) for r in rest],
            s=14,
            c="0.7",
            label="design points",
        )
        ax.scatter(
            [float(r["est_lut"]) for r in pareto],
            [y(r) for r in pareto],
            s=30,
            c="tab:blue",
            label="Pareto front (estimated LUTs)",
        )
        real = [(r, synth[r["key"]]) for r in pareto if r["key"] in synth]
        if real:
            ax.scatter(
                [float(s["lut"]) for _, s in real],
                [y(r) for r, _ in real],
                s=40,
                marker="x",
                c="tab:red",
                label="Yosys synth_ecp5 LUTs",
            )
            for r, s in real:
                ax.plot([float(r["est_lut"]), float(s["lut"])], [y(r), y(r)], c="tab:red", lw=0.6)
        ax.set_xlabel("area: ECP5 LUT4s")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


def _fmt(v, digits: int = 0) -> str:
    if v is None or v == "":
        return "-"
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    return f"{f:,.{digits}f}"


def report_markdown(
    spec: dict,
    counts: dict[str, int],
    pareto: Sequence[dict],
    synth: dict[str, dict],
    spot: dict[str, dict],
    tools: dict[str, str],
    wall_s: float,
) -> str:
    """``report.md``: the sweep's summary and the Pareto front with real synthesis results."""
    lines = [
        f"# accelgen explore: {spec['name']} ({spec['core']})",
        "",
        f"Points: {counts.get('total', 0)} (ok {counts.get('ok', 0)}, infeasible "
        f"{counts.get('infeasible', 0)}, outside the constraints {counts.get('constrained', 0)}, "
        f"failed {counts.get('failed', 0)}); wall time {wall_s:.1f} s.",
        "",
        f"Workload: {', '.join(_workload_names(spec['workload']))} (batch "
        f"{spec['workload']['batch']}, seed {spec['workload']['seed']}). Cycles and efficiency "
        "from the exact cycle model (EIE: load efficiency, mean definition; DianNao: NFU "
        "utilization), energy per inference from the 45 nm model (the model load amortised over "
        "1000 inferences), LUT/FF from the area estimator (accelgen.farm.area)"
        + (
            "; the front's points were synthesized with Yosys (synth_ecp5) and spot-checked on "
            "the RTL."
            if synth or spot
            else "; no synthesis (pareto.synth = false)."
        ),
        "",
        "![Pareto plot](pareto.png)",
        "",
        "## Pareto front",
        "",
        "| point | cycles | efficiency | energy (nJ) | LUT est | LUT Yosys | FF est | FF Yosys "
        "| DSP | BRAM | Fmax (MHz) | RTL spot check |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in pareto:
        s = synth.get(r["key"], {})
        c = spot.get(r["key"], {})
        sp = c.get("status", "-")
        if sp == "ok":
            sp = f"ok ({c.get('inputs')} inputs, {c.get('engine')})"
        elif c.get("error"):
            sp = f"{sp}: {c['error']}"
        synth_lut = s.get("lut") if s.get("status") == "ok" else s.get("status", "-")
        lines.append(
            f"| {r['point']} | {_fmt(r['cycles'])} | {_fmt(100 * float(r['efficiency']), 1)} % "
            f"| {_fmt(float(r['energy_pj']) / 1e3, 1)} | {_fmt(r['est_lut'])} | "
            f"{_fmt(synth_lut)} | {_fmt(r['est_ff'])} | {_fmt(s.get('ff'))} | "
            f"{_fmt(s.get('dsp', r['est_dsp']))} | {_fmt(s.get('bram', r['est_bram']))} | "
            f"{_fmt(s.get('fmax_mhz'), 1)} | {sp} |"
        )
    lines += ["", "Tools: " + ", ".join(f"{k} {v}" for k, v in sorted(tools.items())), ""]
    return "\n".join(lines)


def _workload_names(w: dict) -> list[str]:
    out = []
    for item in w["layers"]:
        if "paper" in item:
            out.append(item["paper"])
        elif "synthetic" in item:
            s = item["synthetic"]
            out.append(s.get("name") or "synthetic")
        elif "onnx" in item:
            name = item.get("name") or str(item["onnx"]).rsplit("/", 1)[-1]
            dens = f", density {item['density']:g}" if "density" in item else ""
            out.append(f"{name} (ONNX{dens})")
        else:
            out.append(str(item["network"]).rsplit("/", 1)[-1])
    return out
