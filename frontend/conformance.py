"""Per-op conformance: the ONNX package's node test cases through import + golden model.

The ``onnx`` package generates its backend node tests (``onnx/backend/test/data/node`` in the
ONNX repository) from :mod:`onnx.backend.test.case.node`; :func:`conformance` takes every
single-node case of a supported op, turns the node's extra inputs (weights, biases, BatchNorm
statistics, reshape targets) into initializers with the case's data, imports the model,
calibrates on the case's own input, runs the fixed-point golden model (DianNao order,
``group = 4``) and compares with the case's expected output.

A case **passes** when the error is within :func:`tolerance`: 1 % of the largest expected
magnitude plus two output LSBs (5 % for Sigmoid, Tanh and LSTM, whose PWL tables approximate the
functions). Cases the importer rejects are listed with the reason (usually a shape outside
``[batch, features]`` / ``[batch, C, H, W]``, padding on pooling, or non-float data).

``python -m accelgen.frontend.conformance`` prints the Markdown table of ``docs/onnx.md``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from accelgen.golden.arith import Numerics

from .onnx_import import SUPPORTED_OPS, import_onnx
from .quantize import calibrate, dequantize_output, quantize_diannao, quantize_input, run_golden

__all__ = ["Result", "conformance", "markdown", "tolerance"]

NUM = Numerics()
GROUP = 4
SKIPPED_OPS = ("Cast", "Constant")  # Cast: only float -> float is imported (a no-op)
# Element-wise ops: a case whose input is not [batch, features] / [batch, C, H, W] is run with
# its input flattened to [batch, features] (the op's result does not depend on the layout).
ELEMENTWISE = ("Relu", "Sigmoid", "Tanh", "Dropout", "Identity")


@dataclass(frozen=True)
class Result:
    case: str
    op: str
    status: str  # "pass", "fail", "rejected"
    max_err: float = float("nan")
    max_err_lsb: float = float("nan")
    note: str = ""


def tolerance(expected: np.ndarray, op: str, lsb: float) -> float:
    rel = 0.05 if op in ("Sigmoid", "Tanh", "LSTM") else 0.01
    return rel * float(np.abs(expected).max(initial=0.0)) + 2 * lsb


def _flat(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a)
    return a.reshape(len(a), -1) if a.ndim >= 2 else a.reshape(1, -1)


def _with_constants(model, inputs: list[np.ndarray], flatten: bool = False):
    """The model with graph inputs 1.. turned into initializers holding ``inputs[1:]``
    (and with ``flatten`` its first input and outputs declared ``[batch, features]``)."""
    import onnx
    from onnx import helper, numpy_helper

    m = onnx.ModelProto()
    m.CopyFrom(model)
    g = m.graph
    if flatten:
        shape = list(_flat(inputs[0]).shape)
        for vi in (g.input[0], *g.output):
            t = vi.type.tensor_type
            vi.CopyFrom(helper.make_tensor_value_info(vi.name, t.elem_type, shape))
    names = [i.name for i in g.input]
    for name, arr in zip(names[1:], inputs[1:], strict=False):
        g.initializer.append(numpy_helper.from_array(np.asarray(arr), name))
    keep = [i for i in g.input if i.name == names[0]]
    del g.input[:]
    g.input.extend(keep)
    return m


def _cases():
    from onnx.backend.test.case import node

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cases = node.collect_testcases(None)
    for c in cases:
        ops = [n.op_type for n in c.model.graph.node]
        if len(ops) == 1 and ops[0] in SUPPORTED_OPS and ops[0] not in SKIPPED_OPS:
            yield c, ops[0]


def _one(case, op: str) -> Result:
    inputs, outputs = case.data_sets[0]
    inputs, outputs = list(inputs), list(outputs)
    note = ""
    flatten = op in ELEMENTWISE and np.asarray(inputs[0]).ndim not in (2, 4)
    if flatten:
        inputs[0], outputs = _flat(inputs[0]), [_flat(o) for o in outputs]
        note = "input flattened to [batch, features] (element-wise op)"
    try:
        model = _with_constants(case.model, inputs, flatten)
        g = import_onnx(case.name, model=model)
        x = np.asarray(inputs[0])
        if x.dtype != np.float32:
            raise ValueError(f"input dtype {x.dtype}")
        if op == "LSTM":
            outs = [o.name for o in case.model.graph.output]
            node_outs = list(case.model.graph.node[0].output) + ["", ""]
            if g.seq_first:
                x = x.transpose(1, 0, 2)
            # compare the last hidden state: Y_h, or the last step of Y
            if node_outs[1] and node_outs[1] in outs:
                outputs = [outputs[outs.index(node_outs[1])]]
            else:
                y_all = np.asarray(outputs[0])
                outputs = [y_all[-1, 0] if g.seq_first else y_all[:, -1, 0]]
        cal = calibrate(g.layers, x.astype(np.float64), NUM)
        layers = quantize_diannao(g.layers, cal, NUM)
    except (ValueError, TypeError, KeyError) as e:
        return Result(case.name, op, "rejected", note=str(e).split("; supported ops")[0])
    y = run_golden(layers, quantize_input(x, cal, NUM), core="diannao", num=NUM, group=GROUP)[-1]
    got = dequantize_output(y, cal, NUM).reshape(len(x), -1)
    want = np.asarray(outputs[0], dtype=np.float64)
    if op in ("Softmax", "LogSoftmax"):  # left to the host: compare the logits' top-1
        ok = bool(np.all(got.argmax(-1) == want.reshape(len(x), -1).argmax(-1)))
        return Result(case.name, op, "pass" if ok else "fail", note="host op: top-1 compared")
    want = want.reshape(len(x), -1)
    lsb = 2.0 ** -(NUM.act_frac + cal.e_out)
    err = float(np.abs(got - want).max(initial=0.0))
    ok = err <= tolerance(want, op, lsb)
    return Result(case.name, op, "pass" if ok else "fail", err, err / lsb, note)


def conformance() -> list[Result]:
    """Every single-node case of a supported op, sorted by op and case name."""
    return sorted((_one(c, op) for c, op in _cases()), key=lambda r: (r.op, r.case))


def markdown(results: list[Result]) -> str:
    lines = ["| op | case | result | max error (LSB) | note |", "|---|---|---|---|---|"]
    for r in results:
        err = "" if np.isnan(r.max_err_lsb) else f"{r.max_err_lsb:.1f}"
        note = r.note.replace("|", "/")
        lines.append(f"| {r.op} | `{r.case}` | {r.status} | {err} | {note} |")
    counts = {s: sum(r.status == s for r in results) for s in ("pass", "fail", "rejected")}
    lines.append("")
    lines.append(
        f"{len(results)} cases: {counts['pass']} pass, {counts['fail']} fail, "
        f"{counts['rejected']} rejected by the importer."
    )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown(conformance()), end="")
