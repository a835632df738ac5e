"""The PNG plots of ``accelgen bench`` (matplotlib, Agg backend): each draws one section's
tables, the papers' points beside ours, into the output folder and lists the file in the
section."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..golden import paper
from .context import BenchContext, Section

__all__ = ["plot_diannao", "plot_energy", "plot_sweeps", "plot_table3"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(ctx: BenchContext, sec: Section, fig, name: str) -> None:
    """Write ``fig`` as ``OUT/name`` and list it in the section."""
    fig.tight_layout()
    fig.savefig(ctx.out / name, dpi=110)
    _pyplot().close(fig)
    sec.plots.append(name)


def _layer_bars(rows: list[dict], left: tuple[str, str], right: tuple[str, str]):
    """A figure with two bars per row (``left`` / ``right`` = ``(column, label)``), the rows'
    layers as ticks; returns ``(figure, axes, bar positions)``."""
    plt = _pyplot()
    x = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(8, 3.6))
    for dx, (column, label) in ((-0.2, left), (0.2, right)):
        ax.bar(x + dx, [r[column] for r in rows], 0.4, label=label)
    ax.set_xticks(x, [r["layer"] for r in rows], rotation=30)
    return fig, ax, x


def plot_table3(ctx: BenchContext, sec: Section, options: Sequence[tuple[str, str]]) -> None:
    """Load efficiency per Table III layer, ours beside the paper's; ``options`` =
    ``(option name, marker style)`` of the "options" table rows drawn over the bars."""
    rows = sec.tables["table3"]
    fig, ax, x = _layer_bars(
        rows,
        ("eff_mean_pct", "accelgen (model, mean def.)"),
        ("paper_eff_pct", "EIE paper (Table IV)"),
    )
    for variant, style in options:
        opt = [r for r in sec.tables.get("options", []) if r["option"] == variant]
        if opt:
            ax.plot(x - 0.2, [r["eff_mean_pct"] for r in opt], style, ms=14, label=variant)
    ax.set_ylabel("load efficiency (%)")
    ax.set_ylim(0, 105)
    ax.legend(fontsize=8, loc="lower left")
    _save(ctx, sec, fig, "eie_table3_efficiency.png")


def plot_sweeps(ctx: BenchContext, sec: Section, layer: str) -> None:
    """Load efficiency vs queue depth and vs PE count on ``layer``, with the paper's points."""
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
    a1.set_xlabel(f"activation queue depth ({layer}, 64 PEs)")
    a1.set_ylabel("load efficiency (%)")
    a1.legend(fontsize=7)
    rows = sec.tables["pe_sweep"]
    a2.plot([r["n_pes"] for r in rows], [r["eff_mean_pct"] for r in rows], "o-", label="mean def.")
    a2.plot([r["n_pes"] for r in rows], [r["eff_max_pct"] for r in rows], "^-", label="max def.")
    pub = paper.EIE_PE_SENSITIVITY
    a2.plot([p.x for p in pub], [p.efficiency_pct for p in pub], "ks--", label="EIE paper (~)")
    a2.set_xscale("log", base=2)
    a2.set_xlabel(f"PEs ({layer}, queue depth 8)")
    a2.legend(fontsize=7)
    for ax in (a1, a2):
        ax.set_ylim(0, 105)
        ax.grid(alpha=0.3)
    _save(ctx, sec, fig, "eie_sensitivity.png")


def plot_diannao(ctx: BenchContext, sec: Section) -> None:
    """GOP/s per Table 2 layer against the paper's peak."""
    plt = _pyplot()
    rows = sec.tables["table2"]
    fig, ax = plt.subplots(figsize=(8, 3.6))
    ax.bar([r["layer"] for r in rows], [r["gops"] for r in rows], label="accelgen (model)")
    ax.axhline(paper.DIANNAO_PEAK_GOPS, color="k", ls="--", label="paper peak 452 GOP/s")
    ax.set_ylabel("GOP/s at 0.98 GHz, Tn = 16")
    ax.tick_params(axis="x", rotation=30)
    ax.legend(fontsize=8)
    _save(ctx, sec, fig, "diannao_table2_gops.png")


def plot_energy(ctx: BenchContext, sec: Section) -> None:
    """Energy per inference of each Table III layer, EIE (compressed) vs DianNao (dense)."""
    fig, ax, _ = _layer_bars(
        sec.tables["eie_vs_diannao"],
        ("eie_total_nj", "EIE (compressed)"),
        ("diannao_total_nj", "DianNao (dense)"),
    )
    ax.set_yscale("log")
    ax.set_ylabel("energy per inference (nJ)")
    ax.legend(fontsize=8)
    _save(ctx, sec, fig, "energy_eie_vs_diannao.png")
