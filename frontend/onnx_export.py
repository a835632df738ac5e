"""The built-in digits models (float) as ONNX graphs, and the digits split as DATA.npz arrays."""

from __future__ import annotations

import numpy as np

__all__ = ["cnn_to_onnx", "digits_arrays", "mlp_to_onnx"]

OPSET = 17


def _init(name: str, a) -> object:
    from onnx import numpy_helper

    return numpy_helper.from_array(np.asarray(a, dtype=np.float32), name)


def _model(nodes, inits, in_shape, out_dim, name: str):
    from onnx import TensorProto, checker, helper

    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", *in_shape])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", out_dim])],
        inits,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="accelgen"
    )
    model.ir_version = 8
    checker.check_model(model)
    return model


def mlp_to_onnx(params, name: str = "digits_mlp"):
    """A ReLU MLP ``[(w[out, in], b[out]), ...]`` (no activation on the last layer) as Gemms."""
    from onnx import helper

    nodes, inits, cur = [], [], "x"
    last = len(params) - 1
    for i, (w, b) in enumerate(params):
        out = "logits" if i == last else f"fc{i}"
        inits += [_init(f"w{i}", w), _init(f"b{i}", b)]
        nodes.append(helper.make_node("Gemm", [cur, f"w{i}", f"b{i}"], [out], transB=1))
        if i != last:
            nodes.append(helper.make_node("Relu", [out], [f"relu{i}"]))
            out = f"relu{i}"
        cur = out
    return _model(nodes, inits, [int(params[0][0].shape[1])], int(params[-1][0].shape[0]), name)


def cnn_to_onnx(params, input_shape=(1, 8, 8), name: str = "digits_cnn"):
    """The digits CNN: 2 x (3x3 conv pad 1, ReLU, 2x2 max pool), Flatten, Gemm."""
    from onnx import helper

    (w1, b1), (w2, b2), (w3, b3) = params
    inits = [
        _init(n, a)
        for n, a in zip(("w1", "b1", "w2", "b2", "w3", "b3"), params_flat(params), strict=True)
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node(
            "Conv", ["p1", "w2", "b2"], ["c2"], pads=[1, 1, 1, 1], kernel_shape=[3, 3]
        ),
        helper.make_node("Relu", ["c2"], ["r2"]),
        helper.make_node("MaxPool", ["r2"], ["p2"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["p2"], ["f"], axis=1),
        helper.make_node("Gemm", ["f", "w3", "b3"], ["logits"], transB=1),
    ]
    del w1, b1, w2, b2, b3
    return _model(nodes, inits, list(input_shape), int(w3.shape[0]), name)


def params_flat(params):
    return [a for wb in params for a in wb]


def digits_arrays(images: bool) -> dict[str, dict[str, np.ndarray]]:
    """``{"train": {x, y}, "test": {x, y}}`` of the digits split (pixels / 16, float32)."""
    from accelgen.golden import train

    d = train.digits_split()
    shape = (-1, 1, 8, 8) if images else (-1, 64)
    return {
        "train": {
            "x": d.x_train.reshape(shape).astype(np.float32),
            "y": d.y_train.astype(np.int64),
        },
        "test": {"x": d.x_test.reshape(shape).astype(np.float32), "y": d.y_test.astype(np.int64)},
    }
