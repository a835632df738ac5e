"""An ONNX model as an explore workload item (``workload.onnx`` of a SPEC): imported and quantized
for a core with the ONNX front end (:mod:`accelgen.frontend`), as ``accelgen import`` does."""

from __future__ import annotations

import numpy as np

__all__ = ["onnx_layers"]


def onnx_layers(core: str, item: dict, batch: int, seed: int) -> tuple[str, tuple, np.ndarray]:
    """``(name, layers, inputs)`` of a workload item from an ONNX model.

    ``item`` holds ``onnx`` (the model's path), ``numerics`` (the formats of the points),
    optional ``density`` (EIE: weights kept by pruning, default 1) and ``data`` (an ``.npz``
    with float inputs ``x``: calibration data, and its first ``batch`` rows the inputs; without
    it ``batch`` seeded standard-normal inputs and no calibration). Raises ``ValueError`` (one
    line) for a model the core cannot run.
    """
    from accelgen.frontend import quantize as q
    from accelgen.frontend.onnx_import import import_onnx
    from accelgen.spec.numerics import Numerics

    graph = import_onnx(item["onnx"])
    if any(layer.kind == "lstm" for layer in graph.layers):
        raise ValueError("LSTM models are not supported by explore (accelgen run takes them)")
    num = Numerics(**item["numerics"])
    if item.get("data"):
        with np.load(item["data"]) as d:
            if "x" not in d:
                raise ValueError(f"{item['data']}: no array 'x' (float inputs)")
            x = np.asarray(d["x"], dtype=np.float64)
        if tuple(x.shape[1:]) != tuple(graph.input_shape):
            raise ValueError(
                f"{item['data']}: inputs of shape {list(x.shape[1:])}, the model takes "
                f"{list(graph.input_shape)}"
            )
        calib = x
    else:
        rng = np.random.default_rng(seed)
        x = rng.standard_normal((batch, *graph.input_shape))
        calib = None
    if core == "eie":
        q.check_eie_layers(graph.layers)
        cal = q.calibrate(graph.layers, calib, num)
        dens = [float(item.get("density", 1.0))] * len(graph.layers)
        layers = q.quantize_eie(graph.layers, cal, num, dens, epochs=0)
    else:
        cal = q.calibrate(graph.layers, calib, num)
        layers = q.quantize_diannao(graph.layers, cal, num)
    xq = q.quantize_input(x[:batch], cal, num)
    if core == "eie":
        xq = xq.reshape(len(xq), -1)
    return item.get("name") or item["onnx"].rsplit("/", 1)[-1], tuple(layers), xq
