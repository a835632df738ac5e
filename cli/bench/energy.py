"""The ``energy`` section: energy per inference from access counts
(:mod:`accelgen.golden.energy`, Horowitz ISSCC 2014, 45 nm): each Table III layer compressed on
EIE vs the same layer dense on DianNao, and the Table 2 layers on DianNao."""

from __future__ import annotations

from ..golden import paper
from ..golden.netspec import FCLayer
from . import plots
from .context import BenchContext, Section, progress, ratio
from .diannao import diannao_layer

__all__ = ["ENERGY_INFERENCES", "section_energy"]

#: Amortisation of one-off weight loads in the energy estimates (inferences per model load).
ENERGY_INFERENCES = 1000


def section_energy(ctx: BenchContext) -> Section:
    from ..golden import energy

    sec = Section("energy", "Energy per inference (Horowitz ISSCC 2014, 45 nm)")
    rows = []
    sb_bytes = 32 * 1024  # the paper's 32 KB SB
    for name in progress(ctx.eie_layer_names(), "energy EIE vs DianNao"):
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
                "diannao_over_eie": ratio(d.total_pj, e.total_pj),
            }
        )
    sec.tables["eie_vs_diannao"] = rows
    rows = []
    names = ctx.diannao_layer_names()
    for i, name in enumerate(progress(names, "energy DianNao Table 2")):
        p = paper.diannao_layer(name)
        layer, x = diannao_layer(p, ctx.seed + i)
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
    plots.plot_energy(ctx, sec)
    return sec
