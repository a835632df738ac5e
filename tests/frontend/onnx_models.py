"""ONNX models built with ``onnx.helper`` for the importer tests (seeded random weights)."""

from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper, numpy_helper


def init(name: str, a) -> object:
    return numpy_helper.from_array(np.asarray(a, dtype=np.float32), name)


def model(nodes, inits, in_shape, out_shape, *, opset: int = 17, out: str = "y", inp: str = "x"):
    graph = helper.make_graph(
        nodes,
        "t",
        [helper.make_tensor_value_info(inp, TensorProto.FLOAT, in_shape)],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, out_shape)],
        inits,
    )
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def bn_inits(rng, prefix: str, n: int) -> tuple[list, list[str]]:
    names = [f"{prefix}_{k}" for k in ("scale", "bias", "mean", "var")]
    vals = [
        rng.uniform(0.5, 1.5, n),
        rng.normal(0, 0.1, n),
        rng.normal(0, 0.1, n),
        rng.uniform(0.5, 1.5, n),
    ]
    return [init(nm, v) for nm, v in zip(names, vals, strict=True)], names


def mlp(
    rng,
    *,
    sizes=(13, 9, 5),
    gemm=True,
    trans_b=1,
    alpha=1.0,
    beta=1.0,
    act="Relu",
    bn=False,
    extra=(),
    tail=(),
):
    """An MLP of Gemm (or MatMul + Add) layers; ``extra`` ops after the first layer's act."""
    nodes, inits, cur = [], [], "x"
    last = len(sizes) - 2
    for i in range(len(sizes) - 1):
        n_in, n_out = sizes[i], sizes[i + 1]
        w = rng.normal(0, 1.0 / np.sqrt(n_in), (n_out, n_in))
        b = rng.normal(0, 0.1, n_out)
        if gemm:
            bw = w if trans_b else w.T
            inits += [init(f"w{i}", bw / alpha), init(f"b{i}", b / beta)]
            nodes.append(
                helper.make_node(
                    "Gemm",
                    [cur, f"w{i}", f"b{i}"],
                    [f"g{i}"],
                    transB=trans_b,
                    alpha=alpha,
                    beta=beta,
                )
            )
            cur = f"g{i}"
        else:
            inits += [init(f"w{i}", w.T), init(f"b{i}", b)]
            nodes.append(helper.make_node("MatMul", [cur, f"w{i}"], [f"m{i}"]))
            nodes.append(helper.make_node("Add", [f"m{i}", f"b{i}"], [f"g{i}"]))
            cur = f"g{i}"
        if bn:
            bi, names = bn_inits(rng, f"bn{i}", n_out)
            inits += bi
            nodes.append(helper.make_node("BatchNormalization", [cur, *names], [f"bn{i}"]))
            cur = f"bn{i}"
        if i != last:
            nodes.append(helper.make_node(act, [cur], [f"a{i}"]))
            cur = f"a{i}"
            for j, op in enumerate(extra if i == 0 else ()):
                nodes.append(helper.make_node(op, [cur], [f"e{i}_{j}"]))
                cur = f"e{i}_{j}"
    for j, op in enumerate(tail):
        nodes.append(helper.make_node(op, [cur], [f"t{j}"], axis=-1))
        cur = f"t{j}"
    nodes[-1].output[0] = "y"
    return model(nodes, inits, ["N", sizes[0]], ["N", sizes[-1]])


def cnn(
    rng,
    *,
    c_in=3,
    hw=(9, 9),
    k=(3, 3),
    pads=(1, 1, 1, 1),
    stride=1,
    c1=5,
    bn=True,
    pool="MaxPool",
    pool_k=2,
    pool_s=2,
    act="Relu",
    n_out=7,
    flatten="Flatten",
    auto_pad=None,
):
    """Conv [+ BN] + act + pool + flatten + Gemm."""
    w1 = rng.normal(0, 1.0 / np.sqrt(c_in * k[0] * k[1]), (c1, c_in, *k))
    b1 = rng.normal(0, 0.1, c1)
    inits = [init("w1", w1), init("b1", b1)]
    attrs = {"strides": [stride, stride], "kernel_shape": list(k)}
    if auto_pad:
        attrs["auto_pad"] = auto_pad
    else:
        attrs["pads"] = list(pads)
    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], **attrs)]
    cur = "c1"
    if bn:
        bi, names = bn_inits(rng, "bn", c1)
        inits += bi
        nodes.append(helper.make_node("BatchNormalization", [cur, *names], ["bn"], epsilon=1e-3))
        cur = "bn"
    nodes.append(helper.make_node(act, [cur], ["a1"]))
    cur = "a1"
    h, w = hw
    if auto_pad == "SAME_UPPER":
        oh, ow = -(-h // stride), -(-w // stride)
    else:
        oh = (h + pads[0] + pads[2] - k[0]) // stride + 1
        ow = (w + pads[1] + pads[3] - k[1]) // stride + 1
    if pool == "GlobalAveragePool":
        nodes.append(helper.make_node(pool, [cur], ["p1"]))
        oh = ow = 1
    elif pool:
        nodes.append(
            helper.make_node(
                pool, [cur], ["p1"], kernel_shape=[pool_k, pool_k], strides=[pool_s, pool_s]
            )
        )
        oh, ow = (oh - pool_k) // pool_s + 1, (ow - pool_k) // pool_s + 1
    else:
        nodes.append(helper.make_node("Identity", [cur], ["p1"]))
    n_flat = c1 * oh * ow
    if flatten == "Flatten":
        nodes.append(helper.make_node("Flatten", ["p1"], ["f"], axis=1))
    else:
        inits.append(numpy_helper.from_array(np.array([0, -1], dtype=np.int64), "shape"))
        nodes.append(helper.make_node("Reshape", ["p1", "shape"], ["f"]))
    w2 = rng.normal(0, 1.0 / np.sqrt(n_flat), (n_out, n_flat))
    inits += [init("w2", w2), init("b2", rng.normal(0, 0.1, n_out))]
    nodes.append(helper.make_node("Gemm", ["f", "w2", "b2"], ["y"], transB=1))
    return model(nodes, inits, ["N", c_in, *hw], ["N", n_out])


def lstm(rng, *, steps=5, n_in=3, hidden=8, n_out=4, layout=0, bias=True, classifier=True):
    """LSTM (forward, ONNX gate order i, o, f, c) -> Squeeze(Y_h) [-> Gemm]."""
    w = rng.normal(0, 0.5, (1, 4 * hidden, n_in))
    r = rng.normal(0, 0.5, (1, 4 * hidden, hidden))
    inits = [init("W", w), init("R", r)]
    ins = ["x", "W", "R"]
    if bias:
        inits.append(init("B", rng.normal(0, 0.2, (1, 8 * hidden))))
        ins.append("B")
    nodes = [
        helper.make_node("LSTM", ins, ["Y", "Y_h"], hidden_size=hidden, layout=layout),
    ]
    inits.append(numpy_helper.from_array(np.array([layout], dtype=np.int64), "axes"))
    nodes.append(helper.make_node("Squeeze", ["Y_h", "axes"], ["h"]))
    out, shape = "h", ["N", hidden]
    if classifier:
        inits += [
            init("wc", rng.normal(0, 0.5, (n_out, hidden))),
            init("bc", rng.normal(0, 0.1, n_out)),
        ]
        nodes.append(helper.make_node("Gemm", ["h", "wc", "bc"], ["y"], transB=1))
        out, shape = "y", ["N", n_out]
    in_shape = [steps, "N", n_in] if layout == 0 else ["N", steps, n_in]
    return model(nodes, inits, in_shape, shape, out=out)
