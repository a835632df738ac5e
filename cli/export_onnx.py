"""``accelgen export-onnx -o DIR``: the built-in digits models as ONNX, with their data.

Writes ``digits_mlp.onnx`` (the dense float MLP behind EIE's compressed model) and
``digits_cnn.onnx`` (the float CNN DianNao runs), and the digits split as DATA.npz files for
``accelgen import --calib`` / ``accelgen run --inputs``: ``digits_{train,test}.npz`` (x
``[n, 64]``) and ``digits_images_{train,test}.npz`` (x ``[n, 1, 8, 8]``), pixels / 16 in
float32 with the labels ``y``.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import numpy as np

__all__ = ["add_arguments", "run"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-o", "--output", type=Path, required=True, metavar="DIR", help="output directory"
    )
    p.add_argument("--force", action="store_true", help="replace a non-empty DIR")


def run(args: argparse.Namespace) -> int:
    from .frontend.onnx_export import cnn_to_onnx, digits_arrays, mlp_to_onnx
    from .golden.models import digits_cnn, digits_mlp
    from .onnx_cmd import _check_out_dir, write_dir_atomically

    out: Path = args.output
    _check_out_dir(out, args.force)
    mlp, cnn = digits_mlp(), digits_cnn()
    files: dict[str, bytes | str] = {
        "digits_mlp.onnx": mlp_to_onnx(mlp.float_params).SerializeToString(),
        "digits_cnn.onnx": cnn_to_onnx(cnn.float_params).SerializeToString(),
    }
    for images, stem in ((False, "digits"), (True, "digits_images")):
        for split, arrays in digits_arrays(images).items():
            buf = io.BytesIO()
            np.savez(buf, **arrays)
            files[f"{stem}_{split}.npz"] = buf.getvalue()
    write_dir_atomically(out, files, force=args.force)
    print(
        f"accelgen export-onnx: wrote {', '.join(sorted(files))} to {out} "
        f"(float accuracy: MLP {100 * mlp.float_accuracy:.2f} %, "
        f"CNN {100 * cnn.float_accuracy:.2f} %)"
    )
    return 0
