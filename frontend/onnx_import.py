"""Import an ONNX model into a chain of float layers (fully connected, convolution, pooling).

:func:`import_onnx` reads an ``.onnx`` file (opset 13 or later, static shapes except the batch
dimension) and returns an :class:`ImportedGraph`: the float layers in evaluation order, the input
shape, the name of the tensor the layers compute (the logits, before a trailing
Softmax/LogSoftmax that is left to the host) and a row per ONNX node saying what became of it.
Everything is checked before anything is returned: an unsupported op, a grouped or dilated
convolution, pooling with padding, a dynamic dimension, NaN weights or a file that is not ONNX
raise one ``ValueError`` naming the node (or input) and the value.

What is folded:

* Gemm (``alpha``, ``beta``, ``transB``) and MatMul (+ a following Add of a constant) become one
  fully-connected layer ``w[out, in]``, ``b[out]``.
* Conv (group 1, dilation 1, equal strides) becomes a square-kernel convolution with one
  symmetric zero padding. Asymmetric or per-axis pads ``(b, e)`` are mapped exactly by
  padding every side to ``p = max(pads)`` and growing the kernel with zero taps
  (``p - b`` in front, ``p - e`` behind), which keeps every output's window and the output size;
  a non-square kernel is padded the same way when that gives a square kernel.
* BatchNormalization is folded into the preceding Conv / Gemm / MatMul.
* Relu, Sigmoid and Tanh become the preceding layer's activation (a Relu after a MaxPool moves in
  front of it: both orders give the same result).
* An activation, BatchNormalization or bias Add with no layer to fold into (the first node, or
  after pooling or another activation) gets an identity layer (fully connected, or a 1x1
  convolution; weights exactly 1.0) to carry it.
* Identity, Dropout, Cast to float and Flatten / flattening Reshape are removed (a
  fully-connected layer after a convolution flattens in ``[C, H, W]`` order, as ONNX's Flatten).
* A trailing Softmax / LogSoftmax and what follows it (ArgMax, label lookup, ...) is left to
  the host; the imported network ends with the logits (top-1 unchanged).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from accelgen.golden.float_layers import activate_float, conv2d_float, pool2d_float

__all__ = [
    "FloatConv",
    "FloatFC",
    "FloatLSTM",
    "FloatPool",
    "ImportedGraph",
    "MIN_OPSET",
    "SUPPORTED_OPS",
    "float_forward",
    "import_onnx",
    "load_model",
    "ort_forward",
]

MIN_OPSET = 13
SUPPORTED_OPS = (
    "Gemm",
    "MatMul",
    "Add",
    "Conv",
    "MaxPool",
    "AveragePool",
    "GlobalAveragePool",
    "Relu",
    "Sigmoid",
    "Tanh",
    "Flatten",
    "Reshape",
    "BatchNormalization",
    "Dropout",
    "Identity",
    "Cast",
    "Constant",
    "Softmax",
    "LogSoftmax",
    "LSTM",
    "Squeeze",
)
# Ops accepted after a trailing Softmax/LogSoftmax: host-side post-processing (labels).
_HOST_TAIL_OPS = (
    "Softmax",
    "LogSoftmax",
    "Identity",
    "ArgMax",
    "ArrayFeatureExtractor",
    "Cast",
    "Reshape",
    "Flatten",
    "ZipMap",
)
_ACTS = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh"}
_FLOAT = 1  # onnx.TensorProto.FLOAT


@dataclass(eq=False)
class FloatFC:
    """``y = act(w @ x + b)``, ``w[out, in]``."""

    w: np.ndarray
    b: np.ndarray
    act: str = "none"
    kind: str = field(default="fc", init=False)


@dataclass(eq=False)
class FloatConv:
    """Square-kernel convolution ``w[O, C, K, K]`` with symmetric zero padding ``pad``."""

    w: np.ndarray
    b: np.ndarray
    stride: int = 1
    pad: int = 0
    act: str = "none"
    kind: str = field(default="conv", init=False)


@dataclass(eq=False)
class FloatPool:
    """Max or average pooling over ``k x k`` windows with ``stride``, no padding."""

    k: int
    stride: int
    mode: str = "max"
    act: str = "none"
    kind: str = field(default="pool", init=False)


@dataclass(eq=False)
class FloatLSTM:
    """An LSTM over ``steps`` time steps; its output is the last hidden state ``h[hidden]``.

    ``w[4H, X + H]`` and ``b[4H]`` hold the gates in the golden model's order ``i, f, g, o``
    (:mod:`accelgen.golden.lstm`) over the concatenated input ``[x_t, h_{t-1}]``.
    """

    w: np.ndarray
    b: np.ndarray
    hidden: int
    steps: int
    act: str = "none"
    kind: str = field(default="lstm", init=False)


FloatLayer = FloatFC | FloatConv | FloatPool | FloatLSTM


@dataclass(eq=False)
class ImportedGraph:
    """A model imported as a chain of float layers.

    Attributes
    ----------
    layers : list of FloatFC, FloatConv, FloatPool
    input_name : str
    input_shape : tuple of int
        Shape of one sample (``(F,)`` or ``(C, H, W)``).
    batch : int or None
        The model's fixed batch size, or ``None`` when the batch dimension is dynamic.
    output_name : str
        The tensor the layers compute (the logits before a host-side Softmax).
    output_shape : tuple of int
        Shape of one sample's output.
    nodes : list of dict
        One row per ONNX node: ``name``, ``op``, ``what`` (``layer N``, ``folded into layer N``,
        ``removed``, ``host``).
    host_ops : list of str
        The op types left to the host after the last layer.
    model : onnx.ModelProto
    """

    layers: list[FloatLayer]
    input_name: str
    input_shape: tuple[int, ...]
    batch: int | None
    output_name: str
    output_shape: tuple[int, ...]
    nodes: list[dict]
    host_ops: list[str]
    model: object
    path: str = ""
    seq_first: bool = False  # an LSTM model whose ONNX input is [seq, batch, features]


def load_model(path: str | Path):
    """Read and check an ONNX file; ``ValueError`` with one line if it is not a valid model."""
    import onnx

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such file")
    try:
        model = onnx.load(str(p))
    except Exception as e:  # protobuf's DecodeError and friends
        raise ValueError(f"{p}: not an ONNX model ({type(e).__name__})") from None
    if not model.ir_version or not model.graph.node:
        raise ValueError(f"{p}: not an ONNX model (no IR version or no graph nodes)")
    try:
        onnx.checker.check_model(model)
    except Exception as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ValueError(f"{p}: invalid ONNX model: {first}") from None
    return model


def _opset(model) -> int:
    for imp in model.opset_import:
        if imp.domain in ("", "ai.onnx"):
            return int(imp.version)
    return 0


def _attrs(node) -> dict:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _node_name(node, i: int) -> str:
    out = next((o for o in node.output if o), "?")
    return node.name or f"#{i} ({out})"


def _unsupported(name: str, op: str, why: str = "") -> ValueError:
    extra = f" ({why})" if why else ""
    return ValueError(
        f"node {name!r}: op {op} is not supported{extra}; supported ops: {', '.join(SUPPORTED_OPS)}"
    )


def _input_shape(
    model, consts: dict, lstm_layout: int | None = None
) -> tuple[str, tuple[int, ...], int | None]:
    """Name, per-sample shape and fixed batch (or None) of the one input.

    ``lstm_layout`` (the first node is an LSTM): the input is ``[seq, batch, features]``
    (layout 0) or ``[batch, seq, features]`` (layout 1); the per-sample shape is
    ``(seq, features)`` either way.
    """
    inputs = [i for i in model.graph.input if i.name not in consts]
    if len(inputs) != 1:
        names = ", ".join(repr(i.name) for i in inputs)
        raise ValueError(f"the model must have exactly one input, it has {len(inputs)}: {names}")
    inp = inputs[0]
    tt = inp.type.tensor_type
    if inp.type.WhichOneof("value") != "tensor_type" or tt.elem_type != _FLOAT:
        raise ValueError(f"input {inp.name!r} must be a float32 tensor")
    if not tt.HasField("shape"):
        raise ValueError(f"input {inp.name!r} has no shape; accelgen needs static shapes")
    dims = list(tt.shape.dim)
    b_axis = 1 if lstm_layout == 0 else 0
    if lstm_layout is not None:
        if len(dims) != 3:
            raise ValueError(f"input {inp.name!r} of the LSTM must have rank 3, got {len(dims)}")
    elif len(dims) not in (2, 4):
        raise ValueError(
            f"input {inp.name!r} has rank {len(dims)}; expected [batch, features] or "
            "[batch, C, H, W]"
        )
    shape = []
    for k, d in enumerate(dims):
        if k == b_axis:
            continue
        if d.WhichOneof("value") != "dim_value" or d.dim_value < 1:
            what = d.dim_param or "unknown"
            raise ValueError(
                f"input {inp.name!r} has a dynamic dimension {k} ({what!r}); accelgen needs "
                "static shapes (only the batch dimension may be dynamic)"
            )
        shape.append(int(d.dim_value))
    d0 = dims[b_axis]
    batch = int(d0.dim_value) if d0.WhichOneof("value") == "dim_value" and d0.dim_value else None
    return inp.name, tuple(shape), batch


def _constants(model) -> dict[str, np.ndarray]:
    from onnx import numpy_helper

    consts = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Constant":
            a = _attrs(node)
            if "value" in a:
                consts[node.output[0]] = numpy_helper.to_array(a["value"])
            elif "value_float" in a:
                consts[node.output[0]] = np.array(a["value_float"], dtype=np.float32)
            elif "value_floats" in a:
                consts[node.output[0]] = np.array(a["value_floats"], dtype=np.float32)
            elif "value_int" in a:
                consts[node.output[0]] = np.array(a["value_int"], dtype=np.int64)
            elif "value_ints" in a:
                consts[node.output[0]] = np.array(a["value_ints"], dtype=np.int64)
    for name, arr in consts.items():
        if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
            bad = "NaN" if np.isnan(arr).any() else "an infinite value"
            raise ValueError(f"initializer {name!r} holds {bad}")
    return consts


def _conv_geometry(name: str, w: np.ndarray, a: dict, in_hw: tuple[int, int]):
    """(square kernel, stride, pad, out_hw) for an ONNX Conv's attributes."""
    kh, kw = int(w.shape[2]), int(w.shape[3])
    strides = list(a.get("strides", [1, 1]))
    if len(set(strides)) != 1:
        raise ValueError(f"node {name!r} (Conv): strides {strides} differ per axis; not supported")
    s = int(strides[0])
    if any(int(d) != 1 for d in a.get("dilations", [1, 1])):
        raise ValueError(f"node {name!r} (Conv): dilations {list(a['dilations'])} not supported")
    auto = a.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else str(auto)
    h, wd = in_hw
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        pads = []
        for size, k in ((h, kh), (wd, kw)):
            out = -(-size // s)
            total = max(0, (out - 1) * s + k - size)
            small, big = total // 2, total - total // 2
            pads.append((small, big) if auto == "SAME_UPPER" else (big, small))
        (bh, eh), (bw, ew) = pads
    elif auto == "VALID":
        bh = eh = bw = ew = 0
    elif auto == "NOTSET":
        p = [int(v) for v in a.get("pads", [0, 0, 0, 0])]
        bh, bw, eh, ew = p
    else:
        raise ValueError(f"node {name!r} (Conv): auto_pad {auto!r} not supported")
    if kh - bh - eh != kw - bw - ew:
        raise ValueError(
            f"node {name!r} (Conv): kernel {kh}x{kw} with pads {[bh, bw, eh, ew]} cannot be "
            "mapped onto a square kernel with one symmetric padding"
        )
    p = max(bh, eh, bw, ew)
    k = kh - bh - eh + 2 * p
    wk = np.zeros((w.shape[0], w.shape[1], k, k), dtype=np.float64)
    wk[:, :, p - bh : p - bh + kh, p - bw : p - bw + kw] = w
    oh = (h + bh + eh - kh) // s + 1
    ow = (wd + bw + ew - kw) // s + 1
    if oh < 1 or ow < 1:
        raise ValueError(f"node {name!r} (Conv): kernel larger than the padded {h}x{wd} input")
    return wk, s, p, (oh, ow)


def _pool_geometry(name: str, op: str, a: dict, in_hw: tuple[int, int]):
    ks = [int(v) for v in a.get("kernel_shape", [])]
    if len(ks) != 2 or ks[0] != ks[1]:
        raise ValueError(f"node {name!r} ({op}): kernel_shape {ks} must be square 2-D")
    k = ks[0]
    strides = [int(v) for v in a.get("strides", [1, 1])]
    if len(set(strides)) != 1:
        raise ValueError(f"node {name!r} ({op}): strides {strides} differ per axis")
    s = strides[0]
    pads = [int(v) for v in a.get("pads", [0, 0, 0, 0])]
    auto = a.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else str(auto)
    if any(pads) or auto not in ("NOTSET", "VALID"):
        raise ValueError(
            f"node {name!r} ({op}): padding (pads {pads}, auto_pad {auto}) not supported"
        )
    if any(int(d) != 1 for d in a.get("dilations", [1, 1])):
        raise ValueError(f"node {name!r} ({op}): dilations not supported")
    h, w = in_hw
    if k > h or k > w:
        raise ValueError(f"node {name!r} ({op}): {k}x{k} window larger than the {h}x{w} input")
    if int(a.get("ceil_mode", 0)) and ((h - k) % s or (w - k) % s):
        raise ValueError(f"node {name!r} ({op}): ceil_mode 1 with a partial window not supported")
    return k, s, ((h - k) // s + 1, (w - k) // s + 1)


def _lstm(name: str, node, a: dict, consts: dict, shape, *, first: bool) -> FloatLSTM:
    """An ONNX LSTM node as a :class:`FloatLSTM` (gates reordered from ONNX's i, o, f, c)."""
    if not first:
        raise ValueError(f"node {name!r} (LSTM): an LSTM must be the model's first node")
    inputs = list(node.input) + [""] * (8 - len(node.input))
    _x, w_name, r_name, b_name, seq_lens, h0, c0, p = inputs[:8]
    direction = a.get("direction", b"forward")
    direction = direction.decode() if isinstance(direction, bytes) else str(direction)
    acts = [v.decode() if isinstance(v, bytes) else str(v) for v in a.get("activations", [])]
    problems = []
    if direction != "forward":
        problems.append(f"direction {direction}")
    if acts and acts != ["Sigmoid", "Tanh", "Tanh"]:
        problems.append(f"activations {acts}")
    if "clip" in a:
        problems.append("clip")
    if int(a.get("input_forget", 0)):
        problems.append("input_forget")
    if p:
        problems.append("peepholes P")
    if seq_lens:
        problems.append("sequence_lens")
    for nm in (w_name, r_name):
        if nm not in consts:
            problems.append(f"{nm!r} is not a constant")
    for nm in (h0, c0):
        if nm and (nm not in consts or np.any(consts[nm])):
            problems.append(f"non-zero initial state {nm!r}")
    if problems:
        raise ValueError(f"node {name!r} (LSTM): {', '.join(problems)} not supported")
    w = np.asarray(consts[w_name], dtype=np.float64)[0]
    r = np.asarray(consts[r_name], dtype=np.float64)[0]
    hidden = int(a.get("hidden_size", r.shape[-1]))
    steps, n_in = shape
    if w.shape != (4 * hidden, n_in) or r.shape != (4 * hidden, hidden):
        raise ValueError(
            f"node {name!r} (LSTM): W {list(w.shape)} / R {list(r.shape)} do not match "
            f"{n_in} inputs and hidden_size {hidden}"
        )
    b = np.zeros(8 * hidden)
    if b_name:
        b = np.asarray(consts[b_name], dtype=np.float64).reshape(-1)
    b = b[: 4 * hidden] + b[4 * hidden :]
    order = [0, 2, 3, 1]  # ONNX i, o, f, c -> golden i, f, g, o

    def gates(m):
        blocks = m.reshape(4, hidden, *m.shape[1:])
        return np.concatenate([blocks[k] for k in order])

    wg = np.concatenate([gates(w), gates(r)], axis=1)
    return FloatLSTM(wg, gates(b[:, None])[:, 0], hidden, steps)


def _identity(name: str, op: str, shape: tuple[int, ...]) -> FloatFC | FloatConv:
    """An identity layer (weights exactly 1.0) for an op with no layer to fold into."""
    if len(shape) == 1:
        return FloatFC(np.eye(shape[0]), np.zeros(shape[0]))
    if len(shape) == 3:
        c = shape[0]
        return FloatConv(np.eye(c)[:, :, None, None], np.zeros(c))
    raise ValueError(f"node {name!r} ({op}) gets a {list(shape)} tensor; not supported")


def import_onnx(path: str | Path, model=None) -> ImportedGraph:
    """Import ``path`` (or an already loaded ``model``) as an :class:`ImportedGraph`."""
    if model is None:
        model = load_model(path)
    opset = _opset(model)
    if opset < MIN_OPSET:
        raise ValueError(f"{path}: opset {opset}; accelgen imports opset {MIN_OPSET} and later")
    consts = _constants(model)
    nodes = [n for n in model.graph.node if n.op_type != "Constant"]
    lstm_layout = None
    if nodes and nodes[0].op_type == "LSTM":
        lstm_layout = int(_attrs(nodes[0]).get("layout", 0))
    in_name, in_shape, batch = _input_shape(model, consts, lstm_layout)
    layers: list[FloatLayer] = []
    rows: list[dict] = []
    host: list[str] = []
    cur, shape = in_name, in_shape
    tail = False
    # set by the node that created the last layer: may an Add/BatchNorm still fold into it
    foldable = False

    def row(name, op, what):
        rows.append({"name": name, "op": op, "what": what})

    for i, node in enumerate(model.graph.node):
        op, name = node.op_type, _node_name(node, i)
        if node.domain not in ("", "ai.onnx") and not (tail and op in _HOST_TAIL_OPS):
            raise _unsupported(name, f"{node.domain}.{op}")
        if op == "Constant":
            row(name, op, "constant")
            continue
        if tail:
            if op not in _HOST_TAIL_OPS:
                raise _unsupported(name, op, "after the trailing Softmax")
            host.append(op)
            row(name, op, "host")
            continue
        if op not in SUPPORTED_OPS:
            raise _unsupported(name, op)
        a = _attrs(node)
        data = [t for t in node.input if t and t not in consts]
        if op in ("Softmax", "LogSoftmax"):
            if data != [cur] or len(shape) != 1:
                raise ValueError(
                    f"node {name!r} ({op}) must be applied to the network's 1-D output"
                )
            tail = True
            host.append(op)
            row(name, op, "host")
            continue
        if data != [cur]:
            raise ValueError(
                f"node {name!r} ({op}) reads {list(node.input)}; accelgen imports single-path "
                f"networks where each node reads the previous node's output ({cur!r}) and constants"
            )
        n = len(layers)
        last = layers[-1] if layers else None
        if op == "LSTM":
            layers.append(_lstm(name, node, a, consts, shape, first=n == 0 and cur == in_name))
            shape = (layers[-1].hidden,)
            foldable = False
            row(name, op, f"layer 0 (lstm {shape[0]} hidden, {in_shape[0]} steps; output Y_h)")
            cur = node.output[1]
            continue
        if op == "Squeeze":
            if not (n and layers[-1].kind == "lstm" and len(shape) == 1):
                raise _unsupported(name, op, "only to drop the direction axis of an LSTM's Y_h")
            row(name, op, "removed (direction axis)")
        elif op in ("Identity", "Dropout"):
            if op == "Dropout" and len(node.input) > 2 and node.input[2]:
                if node.input[2] not in consts or bool(np.asarray(consts[node.input[2]]).any()):
                    raise ValueError(f"node {name!r} (Dropout): training mode is not supported")
            row(name, op, "removed")
        elif op == "Cast":
            if int(a.get("to", 0)) != _FLOAT:
                raise _unsupported(name, op, "only a cast to float32 is supported")
            row(name, op, "removed")
        elif op == "Flatten":
            axis = int(a.get("axis", 1))
            if axis not in (1, -len(shape)):
                raise ValueError(f"node {name!r} (Flatten): axis {axis}; only axis 1 is supported")
            if len(shape) != 1:
                foldable = False
            shape = (math.prod(shape),)
            row(name, op, "removed (flatten)")
        elif op == "Reshape":
            target = [int(v) for v in consts[node.input[1]].reshape(-1)]
            total = math.prod(shape)
            ok = len(target) == 2 and (
                target[1] in (-1, total)
                and target[0] in (-1, 0, 1, batch or -2)
                or target[0] == -1
                and target[1] == total
            )
            if not ok:
                raise ValueError(
                    f"node {name!r} (Reshape): target shape {target} is not a flattening reshape "
                    f"of {list(shape)} to [batch, {total}]"
                )
            if len(shape) != 1:
                foldable = False
            shape = (total,)
            row(name, op, "removed (flatten)")
        elif op in ("Gemm", "MatMul"):
            if len(shape) != 1:
                raise ValueError(
                    f"node {name!r} ({op}) gets a {list(shape)} tensor; flatten it first"
                )
            if op == "Gemm":
                if int(a.get("transA", 0)):
                    raise ValueError(f"node {name!r} (Gemm): transA=1 is not supported")
                bmat = np.asarray(consts[node.input[1]], dtype=np.float64)
                w = bmat if int(a.get("transB", 0)) else bmat.T
                w = w * float(a.get("alpha", 1.0))
                b = np.zeros(w.shape[0])
                if len(node.input) > 2 and node.input[2]:
                    c = np.asarray(consts[node.input[2]], dtype=np.float64).reshape(-1)
                    if c.size not in (1, w.shape[0]):
                        raise ValueError(
                            f"node {name!r} (Gemm): bias C of {c.size} values does not broadcast "
                            f"to {w.shape[0]} outputs"
                        )
                    b = b + float(a.get("beta", 1.0)) * c
            else:
                if node.input[1] not in consts or node.input[0] != cur:
                    raise ValueError(f"node {name!r} (MatMul): the second input must be a constant")
                bmat = np.asarray(consts[node.input[1]], dtype=np.float64)
                if bmat.ndim != 2:
                    raise ValueError(
                        f"node {name!r} (MatMul): weight must be 2-D, got {bmat.shape}"
                    )
                w, b = bmat.T, np.zeros(bmat.shape[1])
            if w.ndim != 2 or w.shape[1] != shape[0]:
                raise ValueError(
                    f"node {name!r} ({op}): weight {list(w.shape)} does not take {shape[0]} inputs"
                )
            layers.append(FloatFC(w, b))
            shape = (w.shape[0],)
            foldable = True
            row(name, op, f"layer {n} (fc {w.shape[1]} -> {w.shape[0]})")
        elif op == "Add":
            c = np.asarray(consts[[t for t in node.input if t in consts][0]], dtype=np.float64)
            where = f"folded into layer {n - 1} (bias)"
            if not foldable or last is None or last.kind == "pool" or last.act != "none":
                last = _identity(name, op, shape)
                layers.append(last)
                foldable, n = True, n + 1
                where = f"layer {n - 1} (identity {last.kind} with this bias)"
            nout = last.b.shape[0]
            if c.size == 1 or (c.size == nout and c.reshape(-1).shape == (nout,)):
                if last.kind == "conv" and c.size == nout and c.ndim >= 2 and c.shape[-1] != 1:
                    raise ValueError(
                        f"node {name!r} (Add): constant {list(c.shape)} is not per channel"
                    )
                last.b = last.b + c.reshape(-1)
            else:
                raise ValueError(
                    f"node {name!r} (Add): constant {list(c.shape)} is not a bias of {nout} values"
                )
            row(name, op, where)
        elif op == "Conv":
            if len(shape) != 3:
                raise ValueError(f"node {name!r} (Conv) needs a [C, H, W] input, got {list(shape)}")
            if int(a.get("group", 1)) != 1:
                raise ValueError(
                    f"node {name!r} (Conv): group {int(a['group'])}; only group 1 is supported"
                )
            w = np.asarray(consts[node.input[1]], dtype=np.float64)
            if w.ndim != 4:
                raise ValueError(f"node {name!r} (Conv): only 2-D convolutions are supported")
            if w.shape[1] != shape[0]:
                raise ValueError(
                    f"node {name!r} (Conv): weight takes {w.shape[1]} channels, "
                    f"input has {shape[0]}"
                )
            b = np.zeros(w.shape[0])
            if len(node.input) > 2 and node.input[2]:
                b = np.asarray(consts[node.input[2]], dtype=np.float64).reshape(-1)
            wk, s, p, (oh, ow) = _conv_geometry(name, w, a, shape[1:])
            layers.append(FloatConv(wk, b, stride=s, pad=p))
            shape = (w.shape[0], oh, ow)
            foldable = True
            row(name, op, f"layer {n} (conv {wk.shape[2]}x{wk.shape[3]} s{s} p{p})")
        elif op == "BatchNormalization":
            if int(a.get("training_mode", 0)):
                raise ValueError(f"node {name!r} (BatchNormalization): training_mode not supported")
            where = f"folded into layer {n - 1}"
            if not foldable or last is None or last.kind == "pool" or last.act != "none":
                last = _identity(name, op, shape)
                layers.append(last)
                foldable, n = True, n + 1
                where = f"layer {n - 1} (identity {last.kind} with this BatchNormalization)"
            scale, bias, mean, var = (
                np.asarray(consts[t], dtype=np.float64).reshape(-1) for t in node.input[1:5]
            )
            s = scale / np.sqrt(var + float(a.get("epsilon", 1e-5)))
            last.w = last.w * s.reshape((-1,) + (1,) * (last.w.ndim - 1))
            last.b = (last.b - mean) * s + bias
            row(name, op, where)
        elif op in _ACTS:
            act = _ACTS[op]
            if last is not None and last.kind != "pool" and last.act == "none":
                last.act = act
                foldable = False
                row(name, op, f"layer {n - 1} activation")
            elif last is not None and last.act == act == "relu":
                row(name, op, "removed (ReLU after ReLU)")
            elif (
                act == "relu"
                and last is not None
                and last.kind == "pool"
                and last.mode == "max"
                and n >= 2
                and layers[n - 2].kind != "pool"
                and layers[n - 2].act in ("none", "relu")
            ):
                layers[n - 2].act = "relu"
                row(name, op, f"layer {n - 2} activation (moved before the MaxPool)")
            else:
                last = _identity(name, op, shape)
                last.act = act
                layers.append(last)
                foldable = False
                row(name, op, f"layer {n} (identity {last.kind} with this activation)")
        elif op in ("MaxPool", "AveragePool", "GlobalAveragePool"):
            if len(shape) != 3:
                raise ValueError(f"node {name!r} ({op}) needs a [C, H, W] input, got {list(shape)}")
            if op == "GlobalAveragePool":
                if shape[1] != shape[2]:
                    raise ValueError(
                        f"node {name!r} (GlobalAveragePool): {shape[1]}x{shape[2]} input is not "
                        "square; not supported"
                    )
                k, s, (oh, ow) = shape[1], shape[1], (1, 1)
            else:
                k, s, (oh, ow) = _pool_geometry(name, op, a, shape[1:])
            mode = "max" if op == "MaxPool" else "avg"
            layers.append(FloatPool(k, s, mode))
            shape = (shape[0], oh, ow)
            foldable = False
            row(name, op, f"layer {n} ({mode} pool {k}x{k} s{s})")
        else:  # pragma: no cover - every supported op is handled above
            raise _unsupported(name, op)
        for out in node.output[:1]:
            cur = out
    if not layers:  # nothing to compute: one identity layer carries the data through
        layers.append(_identity("(output)", "Identity", shape))
        rows.append({"name": "(none)", "op": "-", "what": "layer 0 (identity: no layer in model)"})
    return ImportedGraph(
        layers=layers,
        input_name=in_name,
        input_shape=in_shape,
        batch=batch,
        output_name=cur,
        output_shape=shape,
        nodes=rows,
        host_ops=host,
        model=model,
        path=str(path),
        seq_first=lstm_layout == 0,
    )


# ------------------------------------------------------------------------- float references


def float_forward(layers, x, *, pre_activation: bool = False) -> list[np.ndarray]:
    """Every layer's float output for the batch ``x`` (float64, batch first), computed with the
    golden model's float layers (:mod:`accelgen.golden.float_layers`).

    With ``pre_activation`` the list holds ``(pre, post)`` pairs (``pre`` is ``None`` for pooling).
    """
    a = np.asarray(x, dtype=np.float64)
    outs = []
    for layer in layers:
        if layer.kind == "lstm":
            from accelgen.golden.lstm import lstm_cell_float

            h = np.zeros((a.shape[0], layer.hidden))
            c = np.zeros_like(h)
            for t in range(a.shape[1]):
                h, c = lstm_cell_float(a[:, t], h, c, layer.w, layer.b)
            pre = None
            a = h
            outs.append((pre, a) if pre_activation else a)
            continue
        if layer.kind == "fc":
            a = a.reshape(a.shape[0], -1)
            pre = a @ layer.w.T + layer.b
        elif layer.kind == "conv":
            pre = conv2d_float(a, layer.w, layer.b, stride=layer.stride, pad=layer.pad)
        else:
            pre = pool2d_float(a, k=layer.k, stride=layer.stride, mode=layer.mode)
        a = activate_float(pre, layer.act)
        outs.append((pre, a) if pre_activation else a)
    return outs


def ort_forward(graph: ImportedGraph, x) -> np.ndarray:
    """ONNX Runtime's float output of ``graph.output_name`` (the logits) for the batch ``x``."""
    import onnx
    import onnxruntime as ort

    model = onnx.ModelProto()
    model.CopyFrom(graph.model)
    names = [o.name for o in model.graph.output]
    if graph.output_name not in names:
        model.graph.output.append(
            onnx.helper.make_tensor_value_info(graph.output_name, _FLOAT, None)
        )
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 4
    ort.set_default_logger_severity(4)  # errors are reported as one line below
    xa = np.asarray(x, dtype=np.float32)
    step = graph.batch or len(xa)

    def feed(part):
        return np.ascontiguousarray(part.transpose(1, 0, 2)) if graph.seq_first else part

    try:
        sess = ort.InferenceSession(
            model.SerializeToString(), opts, providers=["CPUExecutionProvider"]
        )
        parts = [
            sess.run([graph.output_name], {graph.input_name: feed(xa[s : s + step])})[0]
            for s in range(0, len(xa), max(1, step))
        ]
    except Exception as e:  # onnxruntime's own exception types
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ValueError(f"ONNX Runtime cannot run the model: {first}") from None
    return np.concatenate(parts).reshape(len(xa), -1).astype(np.float64)
