"""``accelgen import`` and ``accelgen run``: bring an ONNX model to a core (shared code).

``import`` reads the model (:mod:`accelgen.frontend.onnx_import`), picks per-layer fixed-point
formats on ``--calib`` data (:mod:`accelgen.frontend.quantize`), Deep-Compresses the weights for
EIE, sizes a core configuration the network fits and writes ``DIR/network.npz``,
``DIR/config.json`` and ``DIR/report.md`` / ``report.json``. ``run`` does the same in memory,
runs every input on the generated RTL and checks RTL == golden bit for bit and the golden model
against ONNX Runtime. Every check on the model, the data and the configuration happens before any
file is written or any simulator starts.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

CORES = ("eie", "diannao")


def add_import_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", type=Path, metavar="MODEL.onnx", help="the ONNX model")
    p.add_argument("--core", choices=CORES, required=True, help="target core")
    p.add_argument(
        "--calib",
        type=Path,
        metavar="DATA.npz",
        help="calibration data: x float32 [batch, ...input shape], optional y int labels",
    )
    p.add_argument("--pes", type=int, help="EIE: number of PEs (default: the config's)")
    p.add_argument("--tn", type=int, help="DianNao: tile size Tn (default: the config's)")
    p.add_argument(
        "--config",
        type=Path,
        metavar="CFG.json",
        help="use this core configuration (error if the network does not fit) instead of "
        "sizing one",
    )
    p.add_argument(
        "--density",
        default=None,
        metavar="D|auto",
        help="EIE: weight density in (0, 1] for every layer, or 'auto' (per-layer search on "
        "--calib; the default when --calib is given, else 1.0)",
    )
    p.add_argument(
        "--accuracy-budget",
        type=float,
        default=1.0,
        metavar="P",
        help="EIE --density auto: accuracy points the compressed model may lose against "
        "ONNX Runtime on the calibration data (default 1)",
    )
    p.add_argument(
        "--conv",
        choices=("direct", "winograd", "auto"),
        default="direct",
        help="DianNao: convolution algorithm; winograd: every convolution as Winograd "
        "F(2x2, 3x3) (an error names a layer that is not 3x3 stride 1); auto: Winograd where "
        "it applies, direct elsewhere (default: direct)",
    )
    p.add_argument(
        "--finetune-epochs",
        type=int,
        default=None,
        metavar="E",
        help="EIE: epochs of centroid fine-tuning on the calibration data (default 10; 0 = off)",
    )


# ------------------------------------------------------------------------------------ data


def load_data(path: Path, input_shape: tuple[int, ...], what: str) -> tuple[np.ndarray, Any]:
    """``(x float32 [batch, *input_shape], y int64[batch] or None)`` from a DATA.npz."""
    from .golden.npzformat import read_npz

    data = read_npz(path)
    unknown = sorted(set(data) - {"x", "y"})
    if unknown:
        raise ValueError(f"{path}: unknown key(s) {', '.join(unknown)}; {what} holds x and y")
    if "x" not in data:
        raise ValueError(f"{path}: missing 'x' ({what} holds x float32 and optional y)")
    x = np.asarray(data["x"])
    if x.dtype.kind not in "fiu":
        raise ValueError(f"{path}: x must be float32, got dtype {x.dtype}")
    want = (-1, *input_shape)
    if x.ndim != len(want) or tuple(x.shape[1:]) != tuple(input_shape) or x.shape[0] < 1:
        shape = ", ".join(str(s) for s in input_shape)
        raise ValueError(
            f"{path}: x has shape {list(x.shape)}; the model takes [batch, {shape}] (batch >= 1)"
        )
    x = x.astype(np.float32)
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{path}: x holds NaN or infinite values")
    y = None
    if "y" in data:
        y = np.asarray(data["y"])
        if y.dtype.kind not in "iu" or y.shape != (x.shape[0],):
            raise ValueError(
                f"{path}: y must be {x.shape[0]} integer labels, got {y.dtype} {list(y.shape)}"
            )
        y = y.astype(np.int64)
        if y.size and y.min() < 0:
            raise ValueError(f"{path}: y holds the label {int(y.min())}; labels must be >= 0")
    return x, y


# ---------------------------------------------------------------------------------- config


def _base_config(args, core):
    """The core's default config (or ``--config``) with ``--pes`` / ``--tn`` applied."""
    changes = {}
    if args.pes is not None:
        if core.name != "eie":
            raise ValueError("--pes applies to --core eie (DianNao takes --tn)")
        changes["n_pes"] = args.pes
    if args.tn is not None:
        if core.name != "diannao":
            raise ValueError("--tn applies to --core diannao (EIE takes --pes)")
        changes["tn"] = args.tn
    return core.load_config(args.config, **changes)


def _pow2_at_least(n: int, lo: int) -> int:
    v = lo
    while v < n:
        v *= 2
    return v


def _grow_eie(layers, config):
    """EIE memories grown (powers of two, never below ``config``'s) to hold ``layers``."""
    from .golden import balance

    n = config.n_pes
    rows = max(la.shape[0] for la in layers)
    cols = max(la.shape[1] for la in layers)
    entries = np.zeros(n, dtype=np.int64)
    for la in layers:
        entries += balance.column_work(la.index, n).sum(axis=1)
    lines = -(-int(entries.max()) // 8) + len(layers) + 1
    return config.replace(
        regfile_depth=_pow2_at_least(max(-(-rows // n), -(-cols // n)), config.regfile_depth),
        ptr_depth=_pow2_at_least(sum(la.shape[1] + 1 for la in layers), config.ptr_depth),
        spmat_words=_pow2_at_least(lines, config.spmat_words),
        max_layers=max(config.max_layers, len(layers)),
    )


def _grow_diannao(config):
    return config.replace(
        nbin_depth=config.nbin_depth * 2,
        nbout_depth=config.nbout_depth * 2,
        sb_depth=config.sb_depth * 2,
        imem_depth=config.imem_depth * 2,
    )


def fit_config(core, parts, config, *, given: bool):
    """``config`` if every part ``(layers, x)`` fits it (the core's own check); with ``given`` a
    misfit is an error, otherwise the memories grow until it fits (EIE: sized from the layers;
    DianNao: buffers and instruction memory doubled, up to 8 times)."""

    def check(cfg):
        for layers, x in parts:
            core.check(layers, x, cfg)

    if given:
        check(config)
        return config
    if core.name == "eie":
        config = _grow_eie([la for layers, _ in parts for la in layers], config)
    err = None
    for _ in range(8):
        try:
            check(config)
            return config
        except ValueError as e:
            err = e
            if core.name != "diannao":
                break
            config = _grow_diannao(config)
    raise ValueError(f"the network does not fit a {core.name} core: {err}")


# ---------------------------------------------------------------------------------- import


@dataclass
class Imported:
    """Everything ``import`` computed (nothing written yet)."""

    graph: Any
    core: str
    config: Any
    net: Any  # QuantizedNetwork
    calib_x: np.ndarray | None
    calib_y: np.ndarray | None
    report: dict = field(default_factory=dict)

    @property
    def num(self):
        return self.config.numerics

    def golden(self, xq) -> list[np.ndarray]:
        """Every layer's golden output for the quantized batch ``xq``."""
        if self.core == "eie":
            return self.net.golden(xq, n_pes=self.config.n_pes)
        return self.net.golden(xq, group=self.config.tn)

    @property
    def lstm(self):
        """The leading LSTM (``QuantLSTM``) or None."""
        from .frontend.quantize import QuantLSTM

        first = self.net.layers[0]
        return first if isinstance(first, QuantLSTM) else None

    def parts(self, xq) -> list[tuple[list, np.ndarray]]:
        """``(layers, example input)`` of each program the core runs: the network, or for an
        LSTM its gate layer (input ``[x_t, h]``) and the layers after it (input ``h``)."""
        return core_parts(self.net.layers, xq, self.core)


def core_parts(layers, xq, core: str) -> list[tuple[list, np.ndarray]]:
    from .frontend.quantize import QuantLSTM

    xq = np.asarray(xq)
    if layers and isinstance(layers[0], QuantLSTM):
        lstm = layers[0]
        n = len(xq)
        parts = [([lstm.gates], np.zeros((n, xq.shape[-1] + lstm.hidden), dtype=np.int16))]
        if len(layers) > 1:
            parts.append((list(layers[1:]), np.zeros((n, lstm.hidden), dtype=np.int16)))
        return parts
    return [(list(layers), xq.reshape(len(xq), -1) if core == "eie" else xq)]


def _density_arg(value: str | None, calib: bool):
    if value is None:
        return "auto" if calib else 1.0
    if value == "auto":
        if not calib:
            raise ValueError("--density auto needs --calib data")
        return "auto"
    try:
        d = float(value)
    except ValueError:
        raise ValueError(f"--density must be a number in (0, 1] or 'auto', got {value!r}") from None
    if not 0.0 < d <= 1.0:
        raise ValueError(f"--density must be in (0, 1], got {value!r}")
    return d


def do_import(args, *, calib_fallback: tuple | None = None) -> Imported:
    """Import, calibrate, compress and fit; raises ``ValueError`` on any problem."""
    from . import cores
    from .frontend import quantize as q
    from .frontend.onnx_import import import_onnx, ort_forward

    graph = import_onnx(args.model)
    core = cores.get(args.core)
    if core.name == "eie":
        q.check_eie_layers(graph.layers)
        if args.conv != "direct":
            raise ValueError(f"--conv {args.conv} is a DianNao option (EIE runs no convolutions)")
    if args.accuracy_budget < 0 or args.accuracy_budget > 100:
        raise ValueError(f"--accuracy-budget must be in 0..100 points, got {args.accuracy_budget}")
    if args.finetune_epochs is not None and args.finetune_epochs < 0:
        raise ValueError(f"--finetune-epochs must be >= 0, got {args.finetune_epochs}")
    cx = cy = None
    if args.calib is not None:
        cx, cy = load_data(args.calib, graph.input_shape, "--calib")
    elif calib_fallback is not None:
        cx, cy = calib_fallback
    density = _density_arg(args.density, cx is not None) if core.name == "eie" else None
    config = _base_config(args, core)
    num = config.numerics
    cal = q.calibrate(graph.layers, cx, num)
    ref = ort_forward(graph, cx) if cx is not None else None
    labels = None if cx is None else (cy if cy is not None else ref.argmax(1))
    epochs = q.FINETUNE_EPOCHS if args.finetune_epochs is None else args.finetune_epochs
    trials: list[dict] = []
    if core.name == "eie":
        if density == "auto":
            dens, trials = q.search_densities(
                graph.layers,
                cal,
                num,
                cx,
                labels,
                ref.argmax(1),
                args.accuracy_budget / 100.0,
                epochs=epochs,
            )
        else:
            dens = [float(density)] * len(graph.layers)
        layers = q.quantize_eie(graph.layers, cal, num, dens, x=cx, labels=labels, epochs=epochs)
    else:
        dens = None
        layers = _with_conv(q.quantize_diannao(graph.layers, cal, num), args.conv, args.model)
    parts = core_parts(layers, np.zeros((1, *graph.input_shape), dtype=np.int16), core.name)
    config = fit_config(core, parts, config, given=args.config is not None)
    net = q.QuantizedNetwork(core.name, layers, cal, config.numerics, dens, trials)
    imp = Imported(graph, core.name, config, net, cx, cy)
    imp.report = build_report(imp, ref)
    return imp


def _with_conv(layers: list, conv: str, model) -> list:
    """The DianNao layers with each convolution's algorithm set by ``--conv``."""
    from .golden.netspec import ConvLayer, with_conv
    from .golden.winograd import winograd_unsupported

    if conv != "auto":
        return with_conv(layers, conv, src=str(model))
    return [
        dataclasses.replace(layer, conv="winograd")
        if isinstance(layer, ConvLayer) and winograd_unsupported(layer.k, layer.stride) is None
        else layer
        for layer in layers
    ]


def _saturation(outs: list[np.ndarray], num) -> list[int]:
    hi, lo = (1 << (num.act_bits - 1)) - 1, -(1 << (num.act_bits - 1))
    return [int(np.count_nonzero((o == hi) | (o == lo))) for o in outs]


def compare(y_fixed, ref, cal, num, labels=None) -> dict:
    """Golden (fixed point) vs ONNX Runtime (float): error in output LSBs, top-1, accuracy."""
    from .frontend.quantize import dequantize_output

    yf = dequantize_output(y_fixed, cal, num).reshape(len(ref), -1)
    lsb = 2.0 ** -(num.act_frac + cal.e_out)
    out = {
        "samples": int(len(ref)),
        "max_abs_error": float(np.abs(yf - ref).max()),
        "max_abs_error_lsb": float(np.abs(yf - ref).max() / lsb),
        "output_lsb": lsb,
        "top1_agreement": float((yf.argmax(1) == ref.argmax(1)).mean()),
    }
    if labels is not None:
        out["accuracy_ort"] = float((ref.argmax(1) == labels).mean())
        out["accuracy_fixed"] = float((yf.argmax(1) == labels).mean())
    return out


def build_report(imp: Imported, ref) -> dict:
    from .frontend.quantize import quantize_input

    num, cal, net = imp.num, imp.net.cal, imp.net
    rep: dict[str, Any] = {
        "model": str(imp.graph.path),
        "core": imp.core,
        "input": {"name": imp.graph.input_name, "shape": list(imp.graph.input_shape)},
        "output": {"name": imp.graph.output_name, "shape": list(imp.graph.output_shape)},
        "host_ops": imp.graph.host_ops,
        "nodes": imp.graph.nodes,
        "config": imp.config.to_json(),
        "calibration": cal.to_json(),
        "input_format": {"frac_bits": num.act_frac + cal.e_in},
        "layers": [],
    }
    sat = None
    if imp.calib_x is not None:
        outs = imp.golden(quantize_input(imp.calib_x, cal, num))
        sat = _saturation(outs, num)
        rep["calib"] = compare(outs[-1], ref, cal, num, imp.calib_y)
    comp = net.compression(imp.config.n_pes) if imp.core == "eie" else None
    e_prev = cal.e_in
    for i, (fl, st) in enumerate(zip(imp.graph.layers, cal.stats, strict=True)):
        row = {
            "layer": i,
            "kind": fl.kind,
            "act": fl.act,
            "act_frac_bits": num.act_frac + cal.exps[i],
            "limit": st.limit,
        }
        if fl.kind != "pool":
            row["shape"] = list(fl.w.shape)
            row["w_frac_bits"] = num.w_frac + (cal.exps[i] - e_prev)
        if sat is not None:
            row["saturated"] = sat[i]
        if comp is not None:
            row["density"] = net.core_layers[i].density
            row["bytes"] = comp.layers[i].to_json()
        rep["layers"].append(row)
        e_prev = cal.exps[i]
    if comp is not None:
        rep["compression"] = {
            "density": comp.density,
            "ratio": comp.ratio,
            "ratio_huffman": comp.ratio_huffman,
            "dense_bytes": comp.dense_bytes,
            "compressed_bytes": comp.compressed_bytes,
        }
        rep["density_search"] = net.density_search
    return rep


def report_md(rep: dict) -> str:
    lines = [
        f"# accelgen import: {Path(rep['model']).name} on {rep['core']}",
        "",
        f"Input `{rep['input']['name']}` {rep['input']['shape']} "
        f"({rep['input_format']['frac_bits']} fractional bits); output "
        f"`{rep['output']['name']}` {rep['output']['shape']}"
        + (f"; left to the host: {', '.join(rep['host_ops'])}" if rep["host_ops"] else "")
        + ".",
        "",
        "## Graph",
        "",
        "| node | op | imported as |",
        "|---|---|---|",
    ]
    lines += [f"| {n['name']} | {n['op']} | {n['what']} |" for n in rep["nodes"]]
    lines += [
        "",
        "## Layers",
        "",
        "| layer | kind | shape | act | act frac bits | w frac bits | bound by | saturated | "
        "density |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rep["layers"]:
        lines.append(
            f"| {r['layer']} | {r['kind']} | {r.get('shape', '')} | {r['act']} | "
            f"{r['act_frac_bits']} | {r.get('w_frac_bits', '')} | {r['limit']} | "
            f"{r.get('saturated', '')} | {r.get('density', ''):{'.3f' if 'density' in r else ''}} |"
        )
    if "compression" in rep:
        c = rep["compression"]
        lines += [
            "",
            f"Compression: density {c['density']:.3f}, {c['dense_bytes']} dense bytes -> "
            f"{c['compressed_bytes']:.0f} ({c['ratio']:.1f}x; {c['ratio_huffman']:.1f}x with "
            "Huffman coding).",
        ]
    for key, title in (("calib", "Calibration data"), ("inputs", "Inputs")):
        if key in rep:
            c = rep[key]
            lines += ["", f"## {title}: golden model vs ONNX Runtime", ""]
            lines.append(
                f"{c['samples']} samples; max abs error {c['max_abs_error']:.4g} "
                f"({c['max_abs_error_lsb']:.1f} output LSBs); top-1 agreement "
                f"{100 * c['top1_agreement']:.2f} %"
            )
            if "accuracy_ort" in c:
                lines[-1] += (
                    f"; accuracy ONNX Runtime {100 * c['accuracy_ort']:.2f} %, fixed point "
                    f"{100 * c['accuracy_fixed']:.2f} %"
                )
            lines[-1] += "."
    if "rtl" in rep:
        r = rep["rtl"]
        lines += [
            "",
            "## RTL",
            "",
            f"{r['simulator']}: {r['samples']} samples, RTL == golden "
            f"{'bit for bit' if r['bit_exact'] else 'MISMATCH (' + str(r['mismatches']) + ')'}; "
            f"cycles per sample mean {r['cycles_mean']:.0f}.",
        ]
    return "\n".join(lines) + "\n"


def write_dir_atomically(out: Path, files: dict[str, bytes | str], *, force: bool) -> None:
    """Write ``files`` into ``out`` via a temporary sibling directory and one rename."""
    _check_out_dir(out, force)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        for name, data in files.items():
            mode = "w" if isinstance(data, str) else "wb"
            with open(tmp / name, mode) as f:
                f.write(data)
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def network_files(imp: Imported) -> dict[str, bytes]:
    """``network.npz`` (with the quantized calibration inputs as ``x``); for an LSTM model the
    gate layer (``x`` = the first step's ``[x_0, h = 0]``) and, when layers follow it,
    ``tail.npz`` (``x`` = the golden last hidden state)."""
    import tempfile

    from .frontend.quantize import quantize_input
    from .golden.npzformat import save_diannao_npz, save_eie_npz

    if imp.calib_x is not None:
        xq = quantize_input(imp.calib_x, imp.net.cal, imp.num)
    else:
        xq = np.zeros((1, *imp.graph.input_shape), dtype=np.int16)
    save = save_eie_npz if imp.core == "eie" else save_diannao_npz
    if imp.lstm is not None:
        h0 = np.zeros((len(xq), imp.lstm.hidden), dtype=np.int16)
        files = [("network.npz", [imp.lstm.gates], np.concatenate([xq[:, 0], h0], axis=1))]
        if len(imp.net.layers) > 1:
            files.append(("tail.npz", imp.net.layers[1:], imp.golden(xq)[0].astype(np.int16)))
    else:
        files = [
            ("network.npz", imp.net.layers, xq.reshape(len(xq), -1) if imp.core == "eie" else xq)
        ]
    out = {}
    with tempfile.TemporaryDirectory() as d:
        for name, layers, x in files:
            p = Path(d) / name
            save(p, layers, x)
            out[name] = p.read_bytes()
    return out


def _out_path(text: str) -> Path:
    """``-o``: an empty path is refused (``Path("")`` would mean the current folder)."""
    from .outputs import output_path

    return output_path(text)


def _check_out_dir(out: Path, force: bool) -> None:
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not force)):
        raise ValueError(f"{out} exists and is not an empty directory (use --force to replace)")


def run_import(args: argparse.Namespace) -> int:
    from . import outputs

    _check_out_dir(args.output, args.force)
    outputs.check_output_dir(args.output)  # not under a file, a writable place
    imp = do_import(args)
    files = {
        **network_files(imp),
        "config.json": json.dumps(imp.config.to_json(), indent=2) + "\n",
        "report.json": json.dumps(imp.report, indent=2) + "\n",
        "report.md": report_md(imp.report),
    }
    write_dir_atomically(args.output, files, force=args.force)
    print(report_md(imp.report))
    print(f"accelgen import: wrote {args.output}/network.npz, config.json, report.md, report.json")
    return 0


def add_import_arguments(p: argparse.ArgumentParser) -> None:
    add_import_options(p)
    p.add_argument(
        "-o", "--output", type=_out_path, required=True, metavar="DIR", help="output directory"
    )
    p.add_argument("--force", action="store_true", help="replace a non-empty DIR")


# ------------------------------------------------------------------------------------- run


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    add_import_options(p)
    p.add_argument(
        "--inputs",
        type=Path,
        required=True,
        metavar="DATA.npz",
        help="inputs: x float32 [batch, ...input shape], optional y int labels "
        "(also the calibration data when --calib is not given)",
    )
    p.add_argument("-o", "--output", type=_out_path, required=True, metavar="OUT.npz")
    p.add_argument(
        "--simulator", choices=("verilator", "icarus"), default="verilator", help="HDL simulator"
    )
    p.add_argument("--limit", type=int, help="run only the first N inputs")


def simulate_network(core, imp: Imported, xq, simulator: str) -> tuple[np.ndarray, np.ndarray]:
    """The network's outputs and cycles per input on the RTL.

    An LSTM runs as EIE runs one (the demo's ``--lstm`` section): each step's gate layer over
    ``[x_t, h]`` on the RTL for the whole batch, the element-wise part on the host by the golden
    model's rules; the layers after it run on the RTL from the last hidden state.
    """
    n = len(xq)
    for layers, x in imp.parts(xq):  # every check before the first simulation
        core.check(layers, x, imp.config)
    cycles = np.zeros(n, dtype=np.int64)
    a = np.asarray(xq)
    rest = list(imp.net.layers)
    if imp.lstm is not None:
        from .demo.lstm import lstm_elementwise

        lstm = rest.pop(0)
        h = np.zeros((n, lstm.hidden), dtype=np.int64)
        c = np.zeros_like(h)
        for t in range(lstm.steps):
            xh = np.concatenate([a[:, t], h], axis=1).astype(np.int16)
            res = core.simulate(
                [lstm.gates], xh, config=imp.config, simulator=simulator, progress=False
            )
            cycles += np.asarray(res.cycles, dtype=np.int64)
            z = np.asarray(res.y).reshape(n, -1).astype(np.int64)
            h, c = lstm_elementwise(z, c, num=imp.num)
        a = h.astype(np.int16)
        if not rest:
            return h, cycles
    x_core = a.reshape(n, -1) if imp.core == "eie" else a
    res = core.simulate(rest, x_core, config=imp.config, simulator=simulator)
    cycles += np.asarray(res.cycles, dtype=np.int64)
    return np.asarray(res.y).reshape(n, -1).astype(np.int64), cycles


def run_run(args: argparse.Namespace) -> int:
    from . import cores, outputs

    outputs.check_output_file(args.output)  # before the import and the simulation
    from .frontend.onnx_import import import_onnx, ort_forward
    from .frontend.quantize import dequantize_output, quantize_input
    from .sim.runner import check_simulator

    graph = import_onnx(args.model)
    x, y = load_data(args.inputs, graph.input_shape, "--inputs")
    if args.limit is not None:
        if args.limit < 1:
            raise ValueError(f"--limit must be >= 1, got {args.limit}")
        x, y = x[: args.limit], None if y is None else y[: args.limit]
    if args.output.suffix != ".npz":
        raise ValueError(f"-o {args.output}: the output must be an .npz file")
    check_simulator(args.simulator)
    imp = do_import(args, calib_fallback=(x, y))
    xq = quantize_input(x, imp.net.cal, imp.num)
    golden = imp.golden(xq)[-1].reshape(len(x), -1)
    core = cores.get(imp.core)
    y_rtl, cycles = simulate_network(core, imp, xq, args.simulator)
    mism = int(np.count_nonzero(np.any(y_rtl != golden, axis=1)))
    ref = ort_forward(graph, x)
    rep = imp.report
    rep["inputs"] = compare(y_rtl, ref, imp.net.cal, imp.num, y)
    rep["rtl"] = {
        "simulator": args.simulator,
        "samples": int(len(x)),
        "bit_exact": mism == 0,
        "mismatches": mism,
        "cycles_mean": float(np.mean(cycles)),
    }
    yf = dequantize_output(y_rtl, imp.net.cal, imp.num).astype(np.float32)
    out = args.output
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.stem}.tmp-{os.getpid()}.npz")
    np.savez(tmp, y=yf, y_fixed=y_rtl.astype(np.int16), cycles=cycles)
    tmp.replace(out)
    base = out.with_suffix("")
    for suffix, text in (
        (".report.json", json.dumps(rep, indent=2) + "\n"),
        (".report.md", report_md(rep)),
    ):
        p = base.with_name(base.name + suffix)
        t = p.with_name(f".{p.name}.tmp-{os.getpid()}")
        t.write_text(text)
        t.replace(p)
    print(report_md(rep))
    print(f"accelgen run: wrote {out} and {base.name}.report.md/.json")
    if mism:
        print(
            f"accelgen run: {mism} of {len(x)} outputs differ between RTL and golden model",
            file=sys.stderr,
        )
        return 1
    return 0
