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


#: Table unit -> (pJ per unit, decimals).
_UNITS = {"nj": (1e3, 1), "uj": (1e6, 2)}


def _breakdown(e, prefix: str, unit: str) -> dict[str, float]:
    """Total, compute, SRAM and DRAM energy of an estimate as table columns
    ``<prefix><part>_<unit>``."""
    scale, digits = _UNITS[unit]
    parts = {**e.by_category(), "total": e.total_pj}
    return {
        f"{prefix}{k}_{unit}": round(parts[k] / scale, digits)
        for k in ("total", "compute", "sram", "dram")
    }


def section_energy(ctx: BenchContext) -> Section:
    from ..golden import energy

    sec = Section("energy", "Energy per inference (Horowitz ISSCC 2014, 45 nm)")

    def on_diannao(layer, input_shape: tuple[int, ...]):
        """The energy of ``layer`` at the paper's Tn = 16 with its 32 KB SB."""
        return energy.diannao_energy(
            [layer],
            input_shape,
            num=ctx.num,
            tn=paper.DIANNAO_TN,
            sb_bytes=32 * 1024,
            n_inferences=ENERGY_INFERENCES,
        )

    rows = []
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
        d = on_diannao(dense, (s.layer.shape[1],))
        rows.append(
            {
                "layer": name,
                **_breakdown(e, "eie_", "nj"),
                **_breakdown(d, "diannao_", "nj"),
                "dense_dram_baseline_nj": round(e.dense_dram_baseline_pj / 1e3, 1),
                "diannao_over_eie": ratio(d.total_pj, e.total_pj),
            }
        )
    sec.tables["eie_vs_diannao"] = rows
    rows = []
    for i, name in enumerate(progress(ctx.diannao_layer_names(), "energy DianNao Table 2")):
        p = paper.diannao_layer(name)
        layer, x = diannao_layer(p, ctx.seed + i)
        d = on_diannao(layer, x.shape)
        rows.append({"layer": name, **_breakdown(d, "", "uj")})
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
