"""``accelgen bench --only mnist``: the seed's two Deep Compression rows on the RTL, full test set.

LeNet-300-100 on EIE (:func:`accelgen.demo.mnist.run_mnist`) and LeNet-5 with its convolutions
on DianNao and its FC layers on EIE (:func:`accelgen.demo.lenet5.run_lenet5`), each over all
10,000 MNIST test images with every layer's output checked against the golden model, on
Verilator with the native engine. Tables: one row per network (errors float / fixed-point
golden / RTL beside the paper's, sizes and ratios, cycles per image, inferences/s at the
configured clock and at the measured Fmax, energy per image), the storage per layer, and EIE's
load efficiency per layer. Each run's own ``report.md``/``report.json`` goes to
``OUT/mnist-<net>/``. The first run downloads MNIST and trains both networks (cached under
``build/models``; LeNet-5 takes about an hour on a loaded 2-core machine). ``--quick`` skips
the section (its RTL runs take tens of minutes).
"""

from __future__ import annotations

from .context import BenchContext, Section, guarded, pct

__all__ = ["section_mnist"]

CLOCK_MHZ = 200.0
EIE_PES = 16
DIANNAO_TN = 8


def _at_fmax(r: dict) -> float | None:
    fmax = r.get("fmax")
    if isinstance(fmax, dict) and "fmax_mhz" in fmax:  # LeNet-300-100: EIE alone
        return fmax["fmax_mhz"] * 1e6 / r["cycles_per_image"]
    return r.get("inferences_per_s_at_fmax")


def _row(net: str, r: dict) -> dict:
    p, o = r["paper"], r["ours"]
    cycles = r["cycles_per_image"]
    total = cycles["total"] if isinstance(cycles, dict) else cycles
    ips = r["inferences_per_s"]
    energy = r["energy_nj_per_image"]
    return {
        "network": net,
        "images": r["images"],
        "paper_error_before_pct": pct(p["error_before"]),
        "paper_error_after_pct": pct(p["error_after"]),
        "error_float_pct": pct(o["error_float"]),
        "error_compressed_float_pct": pct(o["error_compressed_float"]),
        "error_golden_pct": pct(o["error_compressed_golden"]),
        "error_rtl_pct": pct(o["error_rtl"]),
        "bit_exact": r["bit_exact"],
        "paper_kb": f"{p['bytes_before'] / 1e3:.0f} -> {p['bytes_after'] / 1e3:.0f}",
        "ours_kb": f"{o['bytes_before'] / 1e3:.1f} -> {o['bytes_after'] / 1e3:.1f}",
        "paper_ratio": p["ratio"],
        "ratio": round(o["ratio"], 1),
        "ratio_huffman": round(o["ratio_huffman"], 1),
        "cycles_per_image": round(total, 1),
        "inferences_per_s_200mhz": round(ips["pipelined"] if isinstance(ips, dict) else ips),
        "inferences_per_s_at_fmax": None if _at_fmax(r) is None else round(_at_fmax(r)),
        "energy_nj_per_image": round(energy["total"] if isinstance(energy, dict) else energy, 1),
        "sim_wall_s": round(r["wall_seconds"], 1),
    }


def section_mnist(ctx: BenchContext) -> Section:
    from pathlib import Path

    sec = Section("mnist", "MNIST: the seed's Deep Compression rows on the RTL (10,000 images)")
    if ctx.quick:
        sec.skipped.append("MNIST on the RTL: not in --quick (tens of minutes of simulation)")
        return sec
    from ..data.mnist import DatasetUnavailable
    from ..demo.lenet5 import run_lenet5
    from ..demo.mnist import run_mnist

    log = lambda m: None  # noqa: E731
    runs = {
        "LeNet-300-100": lambda: run_mnist(
            Path(ctx.out) / "mnist-lenet300",
            images=None,
            pes=EIE_PES,
            simulator="verilator",
            clock_mhz=CLOCK_MHZ,
            progress=False,
            log=log,
            engine="native",
        ),
        "LeNet-5": lambda: run_lenet5(
            Path(ctx.out) / "mnist-lenet5",
            images=None,
            pes=EIE_PES,
            tn=DIANNAO_TN,
            simulator="verilator",
            clock_mhz=CLOCK_MHZ,
            engine="native",
            log=log,
        ),
    }
    rows, layers, eff = [], [], []
    for net, fn in runs.items():
        r = guarded(
            sec,
            fn,
            expected=(DatasetUnavailable, FileNotFoundError),
            skip=f"{net} on MNIST",
            failed=f"{net} on MNIST",
        )
        if r is None:
            continue
        rows.append(_row(net, r))
        for s in r["layers"]:
            layers.append(
                {
                    "network": net,
                    "layer": s["name"],
                    "weights": s["rows"] * s["cols"],
                    "density_pct": pct(s["density"]),
                    "entries": s["entries"],
                    "padding": s["padding"],
                    "bytes_before": s["dense_bytes"],
                    "bytes_after": round(s["compressed_bytes"]),
                    "bytes_huffman": round(s["huffman_bytes"]),
                    "ratio": round(s["ratio"], 1),
                }
            )
        names = [s["name"] for s in r["layers"]][-len(r["eie_load_efficiency"]["per_layer"]) :]
        for name, e in zip(names, r["eie_load_efficiency"]["per_layer"], strict=True):
            eff.append(
                {
                    "network": net,
                    "layer": name,
                    "max_pe_pct": pct(e["max_pe"]),
                    "mean_pe_pct": pct(e["mean_pe"]),
                    "starved_pct": pct(e["starved_fraction"]),
                }
            )
        ctx.checkpoint(sec)
    sec.tables["networks"] = rows
    sec.tables["layers"] = layers
    sec.tables["eie_load_efficiency"] = eff
    sec.notes += [
        f"Verilator, native engine; EIE N = {EIE_PES}, DianNao Tn = {DIANNAO_TN} (LeNet-5's "
        "convolutions and poolings; the host flattens their output for EIE's FC layers). Every "
        "output of every layer is compared with the golden model; a difference fails the run.",
        "Errors: float = the dense float network; golden = the compressed network in fixed "
        "point (the golden model); RTL = the generated cores. Sizes as the paper counts them "
        "(docs/mnist.md): FC layers in EIE's format (4-bit index + 4-bit relative row index "
        "per entry, column pointers, codebook), convolutions with 8-bit indices and 8-bit "
        "relative indices; 'ratio_huffman' with both streams Huffman-coded (real bit streams).",
        f"inferences_per_s_200mhz: at a {CLOCK_MHZ:g} MHz clock (LeNet-5: the two cores "
        "overlapped, the slower sets the rate); at_fmax: each core at the Fmax `make synth` "
        "measured, when a synthesis report is present.",
    ]
    return sec
