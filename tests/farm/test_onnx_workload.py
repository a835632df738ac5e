"""An ONNX model as an explore workload: imported and quantized once per SPEC (checked before
any worker starts), evaluated per point; a bad, missing or unsupported model is one line."""

from __future__ import annotations

import csv
import json
import shutil
import tomllib
from pathlib import Path

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from accelgen.farm.evaluate import evaluate_point, workload_entries
from accelgen.farm.spec import load_spec, parse_spec
from accelgen.main import main


def _init(name, a):
    return numpy_helper.from_array(np.asarray(a, dtype=np.float32), name)


def _model(nodes, inits, in_shape, out_shape):
    graph = helper.make_graph(
        nodes,
        "t",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)],
        inits,
    )
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return m


def mlp_onnx(path, sizes=(12, 8, 4), seed=3):
    """Gemm + Relu + Gemm with seeded weights."""
    rng = np.random.default_rng(seed)
    nodes, inits, cur = [], [], "x"
    for i in range(len(sizes) - 1):
        w = rng.normal(0, 1.0 / np.sqrt(sizes[i]), (sizes[i + 1], sizes[i]))
        inits += [_init(f"w{i}", w), _init(f"b{i}", rng.normal(0, 0.1, sizes[i + 1]))]
        nodes.append(helper.make_node("Gemm", [cur, f"w{i}", f"b{i}"], [f"g{i}"], transB=1))
        cur = f"g{i}"
        if i < len(sizes) - 2:
            nodes.append(helper.make_node("Relu", [cur], [f"r{i}"]))
            cur = f"r{i}"
    nodes[-1].output[0] = "y"
    path.write_bytes(_model(nodes, inits, ["N", sizes[0]], ["N", sizes[-1]]).SerializeToString())
    return path


def cnn_onnx(path, seed=4):
    """Conv 3x3 (2 -> 4 channels, 6x6) + Relu + MaxPool 2 + Flatten + Gemm (-> 3)."""
    rng = np.random.default_rng(seed)
    inits = [
        _init("w1", rng.normal(0, 0.3, (4, 2, 3, 3))),
        _init("b1", rng.normal(0, 0.1, 4)),
        _init("w2", rng.normal(0, 0.3, (3, 16))),
        _init("b2", rng.normal(0, 0.1, 3)),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c"], kernel_shape=[3, 3], strides=[1, 1]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["p"], ["f"], axis=1),
        helper.make_node("Gemm", ["f", "w2", "b2"], ["y"], transB=1),
    ]
    path.write_bytes(_model(nodes, inits, ["N", 2, 6, 6], ["N", 3]).SerializeToString())
    return path


def _spec(core, onnx, grid, **extra):
    return {
        "core": core,
        "workload": {"onnx": onnx, "batch": 3, "seed": 5},
        "grid": grid,
        "pareto": {"synth": False, "spot_check": 0},
        **extra,
    }


def test_eie_onnx_workload_matches_onnx_runtime_and_explores(tmp_path):
    import onnxruntime as ort

    mlp_onnx(tmp_path / "mlp.onnx")
    x = np.random.default_rng(9).uniform(0, 1, (16, 12)).astype(np.float32)
    np.savez(tmp_path / "calib.npz", x=x)
    spec = _spec(
        "eie",
        {"path": "mlp.onnx", "density": 0.5, "data": "calib.npz"},
        {"n_pes": [1, 2]},
    )
    s = parse_spec(spec, source="s.toml", base_dir=tmp_path)
    (entry,) = workload_entries("eie", s.workload)
    assert [layer.shape for layer in entry.layers] == [(8, 12), (4, 8)]
    assert entry.x.shape == (3, 12) and entry.x.dtype == np.int16
    # the inputs are the data's first `batch` rows, in one fixed-point scale
    ratio = entry.x[x[:3] > 0.1] / x[:3][x[:3] > 0.1]
    assert np.allclose(ratio, ratio.mean(), rtol=0.05)

    # the golden model on the imported layers (density 1) tracks ONNX Runtime's float output
    dense = parse_spec(
        _spec("eie", {"path": "mlp.onnx", "data": "calib.npz"}, {"n_pes": [1]}),
        source="s.toml",
        base_dir=tmp_path,
    )
    (e1,) = workload_entries("eie", dense.workload)
    from accelgen.golden.netspec import run_eie
    from accelgen.spec.eie import EIEConfig

    y = run_eie(list(e1.layers), e1.x, num=EIEConfig().numerics, n_pes=1)[-1]
    sess = ort.InferenceSession(str(tmp_path / "mlp.onnx"), providers=["CPUExecutionProvider"])
    ref = sess.run(None, {"x": x[:3]})[0]
    assert np.corrcoef(np.ravel(y).astype(float), ref.ravel())[0, 1] > 0.98

    path = tmp_path / "s.json"
    path.write_text(json.dumps(spec))
    out = tmp_path / "out"
    assert main(["explore", str(path), "-o", str(out), "--workers", "0", "--no-progress"]) == 0
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert len(rows) == 2 and all(r["status"] == "ok" for r in rows)
    assert all(float(r["cycles"]) > 0 and float(r["est_lut"]) > 0 for r in rows)
    c1, c2 = (float(r["cycles"]) for r in sorted(rows, key=lambda r: r["point"]))
    assert c2 < c1  # two PEs share the work
    assert "mlp.onnx (ONNX, density 0.5)" in (out / "report.md").read_text()


def test_diannao_onnx_cnn_point(tmp_path):
    cnn_onnx(tmp_path / "cnn.onnx")
    s = parse_spec(_spec("diannao", "cnn.onnx", {"tn": [2, 4]}), source="s", base_dir=tmp_path)
    (entry,) = workload_entries("diannao", s.workload)
    assert [type(la).__name__ for la in entry.layers] == ["ConvLayer", "PoolLayer", "FCLayer"]
    assert entry.x.shape == (3, 2, 6, 6)
    r = evaluate_point("diannao", s.points[0], s.workload)
    assert r["status"] == "ok", r
    assert r["cycles"] > 0 and 0 < r["efficiency"] <= 1


@pytest.mark.parametrize(
    ("make", "core", "grid", "message"),
    [
        (None, "eie", {"n_pes": [1]}, "workload.onnx 'none.onnx': no such file"),
        ("garbage", "eie", {"n_pes": [1]}, "not an ONNX model"),
        ("cnn", "eie", {"n_pes": [1]}, "EIE takes fully-connected networks"),
        ("mlp", "eie", {"act_frac": [8, 10]}, "must not vary between points"),
        ("mlp", "diannao", {"tn": [2]}, "the model takes [12]"),
    ],
)
def test_bad_onnx_workload_one_line(tmp_path, capsys, make, core, grid, message):
    name = "none.onnx"
    if make == "garbage":
        name = "bad.onnx"
        (tmp_path / name).write_bytes(b"\x00not a model")
    elif make == "cnn":
        name = cnn_onnx(tmp_path / "cnn.onnx").name
    elif make == "mlp":
        name = mlp_onnx(tmp_path / "mlp.onnx").name
    item = name
    if core == "diannao":  # data whose shape is not the model's input
        np.savez(tmp_path / "d.npz", x=np.zeros((2, 5), dtype=np.float32))
        item = {"path": name, "data": "d.npz"}
    spec = tmp_path / "s.json"
    spec.write_text(json.dumps(_spec(core, item, grid)))
    out = tmp_path / "out"
    assert main(["explore", str(spec), "-o", str(out), "--workers", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not out.exists()


def test_onnx_example_spec_loads(tmp_path):
    """examples/explore/eie_onnx.toml with a stand-in for the digits MLP (64 -> 32 -> 10)."""
    src = Path(__file__).resolve().parents[2] / "examples" / "explore" / "eie_onnx.toml"
    shutil.copyfile(src, tmp_path / src.name)
    item = tomllib.loads(src.read_text())["workload"]["onnx"]
    (tmp_path / item["path"]).parent.mkdir(parents=True, exist_ok=True)
    mlp_onnx(tmp_path / item["path"], sizes=(64, 32, 10))
    np.savez(tmp_path / item["data"], x=np.random.default_rng(0).uniform(0, 1, (8, 64)))
    spec = load_spec(tmp_path / src.name)
    (entry,) = workload_entries("eie", spec.workload)
    assert [layer.shape for layer in entry.layers] == [(32, 64), (10, 32)]
    assert entry.x.shape == (spec.workload["batch"], 64)
