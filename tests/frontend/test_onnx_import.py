"""ONNX import: every supported op and attribute against ONNX Runtime, and bad models.

ONNX Runtime is the float reference: the imported float layers must match it to float
precision, and the fixed-point golden model (DianNao order, Tn = 4) after calibration must stay
within a tolerance of it (relative to the output range; the PWL sigmoid/tanh tables add their
approximation error).
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import helper

from accelgen.frontend.onnx_import import float_forward, import_onnx, ort_forward
from accelgen.frontend.quantize import (
    calibrate,
    dequantize_output,
    quantize_diannao,
    quantize_input,
)
from accelgen.golden.arith import Numerics
from accelgen.golden.netspec import run_dense

from .onnx_models import cnn, init, mlp, model

NUM = Numerics()

CASES = {
    "gemm_transB1": lambda r: mlp(r),
    "gemm_transB0_alpha_beta": lambda r: mlp(r, trans_b=0, alpha=0.5, beta=2.0),
    "matmul_add": lambda r: mlp(r, gemm=False, sizes=(11, 7, 3)),
    "gemm_bn": lambda r: mlp(r, bn=True),
    "sigmoid": lambda r: mlp(r, act="Sigmoid"),
    "tanh": lambda r: mlp(r, act="Tanh", sizes=(5, 17, 4)),
    "dropout_identity_relu": lambda r: mlp(r, extra=("Dropout", "Identity", "Relu")),
    "softmax_tail": lambda r: mlp(r, tail=("Softmax",)),
    "logsoftmax_tail": lambda r: mlp(r, tail=("LogSoftmax",)),
    "conv_bn_maxpool": lambda r: cnn(r),
    "conv_asym_pads": lambda r: cnn(r, k=(2, 2), pads=(0, 0, 1, 1), stride=2, hw=(8, 8)),
    "conv_rect_kernel": lambda r: cnn(r, k=(3, 1), pads=(1, 0, 1, 0), hw=(6, 7), pool_s=1),
    "conv_same_upper": lambda r: cnn(r, auto_pad="SAME_UPPER", stride=2, hw=(9, 9), pool=None),
    "conv_1x1": lambda r: cnn(r, k=(1, 1), pads=(0, 0, 0, 0), hw=(5, 5), pool="AveragePool"),
    "conv_5x5_stride2": lambda r: cnn(r, k=(5, 5), pads=(2, 2, 2, 2), stride=2, hw=(11, 11)),
    "conv_11x11": lambda r: cnn(r, c_in=1, k=(11, 11), pads=(0, 0, 0, 0), hw=(13, 13), pool=None),
    "avgpool_3_s1": lambda r: cnn(r, pool="AveragePool", pool_k=3, pool_s=1, bn=False),
    "global_avgpool": lambda r: cnn(r, pool="GlobalAveragePool", hw=(8, 8)),
    "reshape_flatten_tanh": lambda r: cnn(r, flatten="Reshape", act="Tanh", bn=False),
    "conv_sigmoid": lambda r: cnn(r, act="Sigmoid", c_in=2, c1=3),
}


def _input(m: onnx.ModelProto, rng, n: int = 32) -> np.ndarray:
    dims = [d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim[1:]]
    return rng.uniform(-1, 1, (n, *dims)).astype(np.float32)


@pytest.mark.parametrize("name", list(CASES))
def test_op_against_onnxruntime(name, tmp_path):
    rng = np.random.default_rng(sum(map(ord, name)))
    m = CASES[name](rng)
    path = tmp_path / f"{name}.onnx"
    onnx.save(m, path)
    g = import_onnx(path)
    x = _input(m, rng)
    ref = ort_forward(g, x)
    scale = float(np.abs(ref).max())
    flt = float_forward(g.layers, x)[-1].reshape(len(x), -1)
    assert np.abs(flt - ref).max() <= 1e-5 * max(1.0, scale)
    cal = calibrate(g.layers, x, NUM)
    layers = quantize_diannao(g.layers, cal, NUM)
    y = run_dense(layers, quantize_input(x, cal, NUM), num=NUM, group=4)[-1]
    yf = dequantize_output(y, cal, NUM).reshape(len(x), -1)
    pwl = any(la.act in ("sigmoid", "tanh") for la in g.layers)
    tol = (0.05 if pwl else 0.01) * scale
    assert np.abs(yf - ref).max() <= tol, (np.abs(yf - ref).max(), scale)


def test_asymmetric_pads_map_exactly():
    rng = np.random.default_rng(3)
    g = import_onnx("m", model=cnn(rng, k=(2, 2), pads=(0, 0, 1, 1), stride=2, hw=(8, 8)))
    conv = g.layers[0]
    assert (conv.w.shape[2], conv.pad, conv.stride) == (3, 1, 2)
    assert np.all(conv.w[:, :, 0, :] == 0) and np.all(conv.w[:, :, :, 0] == 0)


def test_node_table_and_host_ops():
    g = import_onnx("m", model=mlp(np.random.default_rng(0), bn=True, tail=("Softmax",)))
    whats = [r["what"] for r in g.nodes]
    assert whats[0].startswith("layer 0 (fc 13 -> 9)")
    assert "folded into layer 0" in whats
    assert g.host_ops == ["Softmax"]
    assert g.output_shape == (5,)


def test_formats_follow_the_ranges():
    """Inputs 100x larger -> the input exponent drops by log2(100) rounded; no saturation."""
    rng = np.random.default_rng(1)
    g = import_onnx("m", model=mlp(rng))
    x = _input(mlp(np.random.default_rng(1)), rng, 64)
    small, big = calibrate(g.layers, x, NUM), calibrate(g.layers, 100 * x, NUM)
    assert small.e_in - big.e_in in (6, 7)
    assert all(s.limit for s in big.stats)


# ---------------------------------------------------------------------------- bad models


def _grouped_conv():
    w = np.ones((4, 1, 3, 3), np.float32)
    n = helper.make_node("Conv", ["x", "w"], ["y"], group=2, kernel_shape=[3, 3])
    return model([n], [init("w", w)], ["N", 2, 5, 5], ["N", 4, 3, 3])


def _unsupported():
    m = mlp(np.random.default_rng(0), act="LeakyRelu")
    m.graph.node[1].name = "leaky"
    return m


def _dynamic():
    return model([helper.make_node("Relu", ["x"], ["y"])], [], ["N", "features"], ["N", "features"])


def _nan():
    m = mlp(np.random.default_rng(0))
    arr = onnx.numpy_helper.to_array(m.graph.initializer[0]).copy()
    arr[0, 0] = np.nan
    m.graph.initializer[0].CopyFrom(onnx.numpy_helper.from_array(arr, m.graph.initializer[0].name))
    return m


BAD = {
    "unsupported": (_unsupported, "node 'leaky': op LeakyRelu is not supported"),
    "grouped_conv": (_grouped_conv, "group 2; only group 1 is supported"),
    "dynamic": (_dynamic, "input 'x' has a dynamic dimension 1 ('features')"),
    "nan": (_nan, "initializer 'w0' holds NaN"),
    "old_opset": (lambda: mlp(np.random.default_rng(0)), "opset 11"),
}


@pytest.mark.parametrize("name", list(BAD))
def test_bad_model_one_line_no_dir(name, tmp_path, capsys):
    from accelgen.main import main

    build, msg = BAD[name]
    m = build()
    if name == "old_opset":
        m.opset_import[0].version = 11
    path = tmp_path / "bad.onnx"
    onnx.save(m, path)
    out = tmp_path / "out"
    rc = main(["import", str(path), "--core", "diannao", "-o", str(out)])
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert len(err.splitlines()) == 1 and err.startswith("accelgen: error:")
    assert msg in err
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["bad.onnx"]


def test_not_onnx(tmp_path, capsys):
    from accelgen.main import main

    path = tmp_path / "junk.onnx"
    path.write_text("this is not a protobuf\n" * 10)
    rc = main(["import", str(path), "--core", "eie", "-o", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and "not an ONNX model" in err
    assert not (tmp_path / "o").exists()


def test_wrong_input_shape_in_data(tmp_path, capsys):
    from accelgen.main import main

    path = tmp_path / "m.onnx"
    onnx.save(mlp(np.random.default_rng(0)), path)
    np.savez(tmp_path / "d.npz", x=np.zeros((4, 12), np.float32))
    rc = main(
        [
            "import",
            str(path),
            "--core",
            "eie",
            "--calib",
            str(tmp_path / "d.npz"),
            "-o",
            str(tmp_path / "o"),
        ]
    )
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1
    assert "x has shape [4, 12]; the model takes [batch, 13]" in err
    assert not (tmp_path / "o").exists()


def test_eie_rejects_conv(tmp_path, capsys):
    from accelgen.main import main

    path = tmp_path / "m.onnx"
    onnx.save(cnn(np.random.default_rng(0)), path)
    rc = main(["import", str(path), "--core", "eie", "-o", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 2 and "EIE takes fully-connected networks" in err


def test_import_writes_dir(tmp_path):
    import json

    from accelgen.golden.npzformat import load_diannao_npz
    from accelgen.main import main

    rng = np.random.default_rng(5)
    m = cnn(rng)
    path = tmp_path / "m.onnx"
    onnx.save(m, path)
    np.savez(tmp_path / "c.npz", x=_input(m, rng, 16), y=rng.integers(0, 7, 16))
    out = tmp_path / "o"
    rc = main(
        [
            "import",
            str(path),
            "--core",
            "diannao",
            "--tn",
            "4",
            "--calib",
            str(tmp_path / "c.npz"),
            "-o",
            str(out),
        ]
    )
    assert rc == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "config.json",
        "network.npz",
        "report.json",
        "report.md",
    ]
    rep = json.loads((out / "report.json").read_text())
    assert rep["calib"]["samples"] == 16 and "accuracy_ort" in rep["calib"]
    assert json.loads((out / "config.json").read_text())["tn"] == 4
    layers, x = load_diannao_npz(out / "network.npz")
    assert len(layers) == 3 and x.shape == (16, 3, 9, 9)
    # a second import into the same DIR needs --force
    assert main(["import", str(path), "--core", "diannao", "-o", str(out)]) == 2


def test_large_weights_lower_the_format():
    """Weights beyond the 16-bit weight range (|w| >= 8 at w_frac 12) scale down exactly."""
    rng = np.random.default_rng(11)
    m = mlp(rng, sizes=(6, 4, 3))
    arr = onnx.numpy_helper.to_array(m.graph.initializer[0]) * 40.0
    m.graph.initializer[0].CopyFrom(onnx.numpy_helper.from_array(arr, "w0"))
    g = import_onnx("m", model=m)
    x = _input(m, rng, 64)
    cal = calibrate(g.layers, x, NUM)
    assert cal.exps[0] - cal.e_in < 0 or cal.stats[0].limit == "weights"
    y = run_dense(
        quantize_diannao(g.layers, cal, NUM), quantize_input(x, cal, NUM), num=NUM, group=4
    )[-1]
    ref = ort_forward(g, x)
    assert np.abs(dequantize_output(y, cal, NUM) - ref).max() <= 0.01 * np.abs(ref).max()


def test_given_config_that_does_not_fit(tmp_path, capsys):
    from accelgen.main import main
    from accelgen.spec.eie import EIEConfig

    path = tmp_path / "m.onnx"
    onnx.save(mlp(np.random.default_rng(0), sizes=(40, 30, 5)), path)
    EIEConfig(n_pes=2, regfile_depth=8).save(tmp_path / "cfg.json")
    rc = main(
        [
            "import",
            str(path),
            "--core",
            "eie",
            "--config",
            str(tmp_path / "cfg.json"),
            "-o",
            str(tmp_path / "o"),
        ]
    )
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and "register files hold 16" in err
    assert not (tmp_path / "o").exists()


def test_eie_config_grows_to_fit(tmp_path):
    import json

    from accelgen.main import main

    path = tmp_path / "m.onnx"
    onnx.save(mlp(np.random.default_rng(0), sizes=(300, 200, 10)), path)
    out = tmp_path / "o"
    assert main(["import", str(path), "--core", "eie", "--pes", "2", "-o", str(out)]) == 0
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["n_pes"] == 2 and cfg["regfile_depth"] >= 150 and cfg["ptr_depth"] >= 512


def test_run_checks_before_simulating(tmp_path, capsys):
    from accelgen.main import main

    path = tmp_path / "m.onnx"
    onnx.save(mlp(np.random.default_rng(0)), path)
    np.savez(tmp_path / "d.npz", x=np.zeros((4, 13, 1), np.float32))
    args = [
        "run",
        str(path),
        "--core",
        "eie",
        "--inputs",
        str(tmp_path / "d.npz"),
        "-o",
        str(tmp_path / "o.npz"),
    ]
    assert main(args) == 2
    assert "x has shape [4, 13, 1]; the model takes [batch, 13]" in capsys.readouterr().err
    np.savez(tmp_path / "d.npz", x=np.zeros((4, 13), np.float32))
    with pytest.raises(SystemExit):  # argparse: invalid choice
        main([*args, "--simulator", "iverilog"])
    assert main([*args[:-1], str(tmp_path / "o.txt")]) == 2
    assert "must be an .npz file" in capsys.readouterr().err
    assert not (tmp_path / "o.npz").exists()


# ------------------------------------------------------------------------------------ LSTM


@pytest.mark.parametrize("core", ["diannao", "eie"])
@pytest.mark.parametrize("classifier", [False, True])
def test_lstm_against_onnxruntime(core, classifier):
    from accelgen.frontend.quantize import quantize_eie, run_golden

    from .onnx_models import lstm

    rng = np.random.default_rng(4)
    g = import_onnx("m", model=lstm(rng, classifier=classifier))
    assert g.layers[0].kind == "lstm" and g.seq_first and g.input_shape == (5, 3)
    x = rng.uniform(-1, 1, (40, 5, 3)).astype(np.float32)
    ref = ort_forward(g, x)
    assert np.abs(float_forward(g.layers, x)[-1] - ref).max() < 1e-5
    cal = calibrate(g.layers, x, NUM)
    assert cal.e_in == 0 and cal.exps[0] == 0
    if core == "eie":
        layers = quantize_eie(g.layers, cal, NUM, [1.0] * len(g.layers))
    else:
        layers = quantize_diannao(g.layers, cal, NUM)
    y = run_golden(layers, quantize_input(x, cal, NUM), core=core, num=NUM, group=4)[-1]
    err = np.abs(dequantize_output(y, cal, NUM) - ref).max()
    assert err <= (0.05 if core == "diannao" else 0.15) * np.abs(ref).max()


def test_lstm_layouts_agree():
    """Batch-first (layout 1) and sequence-first (layout 0) LSTMs import to the same layer."""
    from .onnx_models import lstm

    g0 = import_onnx("m", model=lstm(np.random.default_rng(2), layout=0))
    g1 = import_onnx("m", model=lstm(np.random.default_rng(2), layout=1))
    assert not g1.seq_first and g1.input_shape == g0.input_shape
    x = np.random.default_rng(3).uniform(-1, 1, (4, 5, 3))
    assert np.array_equal(float_forward(g0.layers, x)[-1], float_forward(g1.layers, x)[-1])


def test_lstm_bidirectional_rejected(tmp_path, capsys):
    from accelgen.main import main

    from .onnx_models import lstm

    m = lstm(np.random.default_rng(0), classifier=False)
    m.graph.node[0].attribute.append(helper.make_attribute("direction", "reverse"))
    onnx.save(m, tmp_path / "m.onnx")
    rc = main(["import", str(tmp_path / "m.onnx"), "--core", "eie", "-o", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and "direction reverse not supported" in err
