"""``accelgen compress MODEL.npz -o OUTDIR``: Deep Compression of a float MLP for EIE.

Input ``MODEL.npz`` (see :func:`accelgen.golden.npzformat.load_float_model`): ``w0``, ``w1``, ...
float32 ``[out, in]``, optional biases ``b0``, ``b1``, ... float32 ``[out]``, optional ``x``
float32 ``[in]`` or ``[batch, in]``. Every layer but the last gets a ReLU.

Each layer is pruned to ``--density`` (one value, or one per layer separated by commas), its
surviving weights are shared by k-means (15 values + zero) and the codebook is quantized to
``--w-frac`` fractional bits; biases and ``x`` are quantized to ``--act-frac``. No retraining is
done here (that needs training data; see :mod:`accelgen.golden.models`).

Written to ``OUTDIR``:

``model.npz``
    The compressed network in the EIE layer format (:mod:`accelgen.golden.npzformat`), ready for
    ``accelgen sim eie``; ``x`` is the quantized ``x`` of MODEL.npz or zeros ``[in]``.
``encoded.npz``
    The per-PE EIE encoding of every layer: ``l{i}_ptr`` uint16 ``[N, in + 1]`` (column
    pointers), ``l{i}_pe{k}_v`` and ``l{i}_pe{k}_z`` uint8 (4-bit weight and relative row
    indices, padding entries included), ``l{i}_codebook`` int16 ``[16]``.
``summary.txt``, ``summary.json``
    Per layer: shape, density, stored entries (with padding), bytes dense / EIE / Huffman and the
    compression ratios (:class:`accelgen.golden.compress.CompressionReport`).
``config.json``
    The resolved options and number formats.
``images.npz``, ``eie_config.json`` (only with ``--eie-config CFG.json``)
    The memory images the EIE core loads for this network
    (:func:`accelgen.host.eie.build_image`, format documented there): ``addr`` and
    ``data`` uint64, every host write in order; ``ptr`` ``[N, words]`` absolute pointer words;
    ``lines_pe{k}`` uint64 sparse-matrix lines of PE ``k``. The EIE configuration fixes the PE
    count and the number formats (``--pes``, ``--w-frac``, ``--act-frac`` must agree or be left
    at their defaults); a network that does not fit its memories is a clear error.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from . import outputs
from .golden.arith import Numerics, quantize
from .golden.compress import check_representable, compress_layer, compression_report
from .golden.eie_format import encode
from .golden.npzformat import load_float_model, save_eie_npz

__all__ = ["add_arguments", "compress_model", "parse_densities", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", type=Path, help="float model .npz (w0, b0, w1, ... [, x])")
    parser.add_argument(
        "-o", "--out", type=outputs.output_path, required=True, help="output directory"
    )
    parser.add_argument(
        "--density",
        default="0.1",
        help="kept weight fraction in (0, 1]: one value or one per layer, comma-separated "
        "(default 0.1)",
    )
    parser.add_argument(
        "--pes", type=int, default=None, help="number of EIE PEs the encoding is for (default 1)"
    )
    parser.add_argument(
        "--w-frac", type=int, default=None, help="codebook fractional bits (default 12)"
    )
    parser.add_argument(
        "--act-frac", type=int, default=None, help="activation fractional bits (default 8)"
    )
    parser.add_argument(
        "--eie-config",
        type=Path,
        default=None,
        help="EIE core config JSON: also write the core's memory images (images.npz)",
    )


def parse_densities(text: str, n_layers: int) -> list[float]:
    """``"0.1"`` or ``"0.1,0.1,0.25"`` -> one density per layer, each in (0, 1]."""
    parts = [p.strip() for p in str(text).split(",")]
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise ValueError(f"--density must be numbers separated by commas, got {text!r}") from None
    if len(values) == 1:
        values *= n_layers
    if len(values) != n_layers:
        raise ValueError(
            f"--density lists {len(values)} values but the model has {n_layers} layers"
        )
    for v in values:
        if not 0.0 < v <= 1.0:
            raise ValueError(f"--density must be in (0, 1], got {v!r}")
    return values


def _check_n_pes(n_pes) -> None:
    """The EIE core's PE rule (a power of two in 1..256), so no encoding is made for a core
    that cannot exist."""
    from .spec.eie import EIEConfig

    if isinstance(n_pes, bool) or not isinstance(n_pes, int):
        raise ValueError(f"--pes must be an integer, got {n_pes!r}")
    try:
        EIEConfig(n_pes=n_pes)
    except ValueError as e:
        raise ValueError(f"--pes {n_pes}: the EIE core rejects it ({e})") from None


def compress_model(
    model: Path, out: Path, *, densities: str, n_pes: int, num: Numerics, eie_config=None
) -> dict:
    """Compress ``model`` into the folder ``out`` (files in the module docstring); returns
    the summary.

    ``eie_config`` (an :class:`~accelgen.spec.eie.EIEConfig`) adds the memory images. Every
    check (``out``, the PE count, the model, values beyond the fixed-point formats, the network
    fitting the core's memories) runs before anything is written, and the folder is written
    atomically (:func:`accelgen.outputs.atomic_dir`): an error leaves nothing at ``out``.
    """
    out = outputs.check_output_dir(out)
    _check_n_pes(n_pes)
    float_layers, x = load_float_model(model)
    dens = parse_densities(densities, len(float_layers))
    last = len(float_layers) - 1
    layers = [
        compress_layer(w, b, density=d, num=num, relu=i < last, name=f"w{i}").layer
        for i, ((w, b), d) in enumerate(zip(float_layers, dens, strict=True))
    ]
    n_in = float_layers[0][0].shape[1]
    if x is None:
        xq = np.zeros(n_in, np.int16)
    else:
        check_representable(x, num.act_frac, num.act_bits, f"{model}: x value")
        xq = quantize(x, num.act_frac, num.act_bits)
    encoded: dict[str, np.ndarray] = {}
    for i, layer in enumerate(layers):
        enc = encode(layer.index, n_pes)
        encoded[f"l{i}_ptr"] = enc.ptr.astype(np.uint16)
        encoded[f"l{i}_codebook"] = layer.codebook
        for k in range(n_pes):
            encoded[f"l{i}_pe{k}_v"] = enc.v[k]
            encoded[f"l{i}_pe{k}_z"] = enc.z[k]
    report = compression_report(layers, n_pes)
    summary = {"model": str(model), **report.to_json()}
    config = {
        "model": str(model),
        "densities": dens,
        "n_pes": n_pes,
        "relu": [layer.relu for layer in layers],
        "numerics": num.to_json(),
    }
    image = None
    if eie_config is not None:
        from .host.eie import build_image

        image = build_image(layers, eie_config)  # checks the fit before anything is written
    # images of an earlier run with --eie-config must not outlive a run without it
    with outputs.atomic_dir(out, stale=("images.npz", "eie_config.json")) as tmp:
        save_eie_npz(tmp / "model.npz", layers, xq)
        np.savez(tmp / "encoded.npz", **encoded)
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        (tmp / "summary.txt").write_text(report.table() + "\n")
        if image is not None:
            addr, data = image.writes()
            lines = {f"lines_pe{k}": words for k, words in enumerate(image.lines)}
            np.savez(tmp / "images.npz", addr=addr, data=data, ptr=image.ptr, **lines)
            eie_config.save(tmp / "eie_config.json")
        (tmp / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    return summary


def _resolve(args: argparse.Namespace):
    """``(n_pes, Numerics, EIEConfig | None)`` from the flags and the optional EIE config."""
    if args.eie_config is None:
        n_pes = 1 if args.pes is None else args.pes
        w_frac = 12 if args.w_frac is None else args.w_frac
        act_frac = 8 if args.act_frac is None else args.act_frac
        _check_n_pes(n_pes)
        return n_pes, Numerics(w_frac=w_frac, act_frac=act_frac, acc_bits=32), None
    from .spec.eie import EIEConfig

    cfg = EIEConfig.load(args.eie_config)
    num = cfg.numerics
    for flag, given, value in (
        ("--pes", args.pes, cfg.n_pes),
        ("--w-frac", args.w_frac, num.w_frac),
        ("--act-frac", args.act_frac, num.act_frac),
    ):
        if given is not None and given != value:
            raise ValueError(f"{flag} {given} disagrees with {args.eie_config} ({value})")
    return cfg.n_pes, num, cfg


def run(args: argparse.Namespace) -> int:
    outputs.check_output_dir(args.out)
    n_pes, num, eie_config = _resolve(args)
    compress_model(
        args.model, args.out, densities=args.density, n_pes=n_pes, num=num, eie_config=eie_config
    )
    print((args.out / "summary.txt").read_text(), end="")
    names = "model.npz, encoded.npz, summary.txt, summary.json, config.json"
    if eie_config is not None:
        names += ", images.npz, eie_config.json"
    print(f"wrote {args.out}/: {names}")
    return 0
