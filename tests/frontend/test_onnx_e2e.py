"""End to end: a scikit-learn MLP (skl2onnx) on EIE and an ONNX CNN with BatchNorm on DianNao.

The golden model runs all 359 test images (top-1 agreement with ONNX Runtime >= 99 %, accuracy
within one point); the RTL runs a subset in the default suite (bit-exact against the golden
model on both simulators) and all 359 images behind ``-m slow``.
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import helper

from accelgen.frontend.onnx_export import cnn_to_onnx, digits_arrays, mlp_to_onnx
from accelgen.frontend.onnx_import import ort_forward
from accelgen.frontend.quantize import quantize_input
from accelgen.main import main
from accelgen.onnx_cmd import compare, do_import, load_data
from accelgen.sim import runner

from .onnx_models import init


def _save_data(d: Path, images: bool) -> tuple[Path, Path]:
    paths = []
    for split, arrays in digits_arrays(images).items():
        p = d / f"{'img' if images else 'flat'}_{split}.npz"
        np.savez(p, **arrays)
        paths.append(p)
    return paths[0], paths[1]


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> dict[str, Path]:
    """The skl2onnx MLP, the BatchNorm CNN and the digits split as DATA.npz files."""
    from skl2onnx import to_onnx
    from sklearn.neural_network import MLPClassifier

    from accelgen.golden import train
    from accelgen.golden.models import digits_cnn

    d = tmp_path_factory.mktemp("onnx_e2e")
    split = train.digits_split()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = MLPClassifier((32,), alpha=1e-2, max_iter=500, random_state=0)
        clf.fit(split.x_train, split.y_train)
        skl = to_onnx(
            clf, split.x_train[:1].astype(np.float32), options={"zipmap": False}, target_opset=17
        )
    onnx.save(skl, d / "skl_mlp.onnx")
    onnx.save(_cnn_with_batchnorm(digits_cnn().float_params), d / "cnn_bn.onnx")
    ftr, fte = _save_data(d, False)
    itr, ite = _save_data(d, True)
    return {
        "dir": d,
        "skl": d / "skl_mlp.onnx",
        "cnn": d / "cnn_bn.onnx",
        "flat_train": ftr,
        "flat_test": fte,
        "img_train": itr,
        "img_test": ite,
    }


def _cnn_with_batchnorm(params):
    """The trained digits CNN with a BatchNormalization after each conv (same function).

    Each conv's weights are divided by the BN scale and its bias shifted so that
    BN(conv'(x)) == conv(x): a real trained network, written the way PyTorch exports one.
    """
    rng = np.random.default_rng(7)
    m = cnn_to_onnx(params)
    g = m.graph
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in g.initializer}
    new_nodes, extra = [], []
    for node in g.node:
        new_nodes.append(node)
        if node.op_type != "Conv":
            continue
        w, b = inits[node.input[1]].astype(np.float64), inits[node.input[2]].astype(np.float64)
        n = w.shape[0]
        gamma, beta = rng.uniform(0.5, 2.0, n), rng.normal(0, 0.2, n)
        mean, var = rng.normal(0, 0.2, n), rng.uniform(0.5, 2.0, n)
        s = gamma / np.sqrt(var + 1e-5)
        w2, b2 = w / s[:, None, None, None], (b - beta) / s + mean
        for name, arr in ((node.input[1], w2), (node.input[2], b2)):
            [t for t in g.initializer if t.name == name][0].CopyFrom(init(name, arr))
        pre = f"{node.output[0]}_pre"
        names = [f"{node.output[0]}_{k}" for k in ("g", "b", "m", "v")]
        extra += [init(nm, a) for nm, a in zip(names, (gamma, beta, mean, var), strict=True)]
        bn = helper.make_node("BatchNormalization", [pre, *names], [node.output[0]])
        node.output[0] = pre
        new_nodes.append(bn)
    del g.node[:]
    g.node.extend(new_nodes)
    g.initializer.extend(extra)
    onnx.checker.check_model(m)
    return m


def _args(model, core, calib, **kw) -> argparse.Namespace:
    base = dict(
        model=model,
        core=core,
        calib=calib,
        pes=None,
        tn=None,
        config=None,
        density=None,
        accuracy_budget=1.0,
        finetune_epochs=None,
        conv="direct",
    )
    base.update(kw)
    return argparse.Namespace(**base)


def _golden_vs_ort(args, test: Path, shape) -> dict:
    imp = do_import(args)
    x, y = load_data(test, shape, "test")
    g = imp.golden(quantize_input(x, imp.net.cal, imp.num))[-1]
    return compare(g, ort_forward(imp.graph, x), imp.net.cal, imp.num, y)


def test_sklearn_mlp_on_eie_golden_359(work):
    res = _golden_vs_ort(
        _args(work["skl"], "eie", work["flat_train"], pes=4, density="1.0"),
        work["flat_test"],
        (64,),
    )
    assert res["samples"] == 359
    assert res["top1_agreement"] >= 0.99
    assert abs(res["accuracy_fixed"] - res["accuracy_ort"]) <= 0.01


def test_cnn_batchnorm_on_diannao_golden_359(work):
    res = _golden_vs_ort(
        _args(work["cnn"], "diannao", work["img_train"], tn=8), work["img_test"], (1, 8, 8)
    )
    assert res["top1_agreement"] >= 0.99
    assert abs(res["accuracy_fixed"] - res["accuracy_ort"]) <= 0.01


def test_batchnorm_cnn_matches_the_trained_cnn(work):
    """The BN-unfolded CNN computes what the project's CNN computes (ORT vs the float model)."""
    from accelgen.frontend.onnx_import import import_onnx
    from accelgen.golden import train
    from accelgen.golden.models import digits_cnn

    x, _ = load_data(work["img_test"], (1, 8, 8), "test")
    ref = ort_forward(import_onnx(work["cnn"]), x)
    logits = train.cnn_forward(digits_cnn().float_params, x.astype(np.float64))[0]
    assert np.abs(ref - logits).max() < 1e-3


def test_density_auto_compresses(work):
    imp = do_import(_args(work["skl"], "eie", work["flat_train"], pes=4, density="auto"))
    assert imp.net.densities[0] < 1.0
    assert imp.report["compression"]["ratio"] > 4.0
    assert imp.report["calib"]["accuracy_fixed"] >= imp.report["calib"]["accuracy_ort"] - 0.01


def _run(work, name, core, train, test, out, simulator, limit, *extra):
    rc = main(
        [
            "run",
            str(work[name]),
            "--core",
            core,
            "--calib",
            str(work[train]),
            "--inputs",
            str(work[test]),
            "-o",
            str(out),
            "--simulator",
            simulator,
            *extra,
        ]
        + (["--limit", str(limit)] if limit else [])
    )
    assert rc == 0
    rep = json.loads(out.with_name(out.stem + ".report.json").read_text())
    data = np.load(out)
    assert rep["rtl"]["bit_exact"] and rep["rtl"]["mismatches"] == 0
    assert data["y_fixed"].shape[0] == data["y"].shape[0] == data["cycles"].shape[0]
    return rep


@pytest.mark.parametrize("simulator", runner.default_simulators())
def test_run_sklearn_mlp_on_eie_rtl(work, simulator, tmp_path):
    rep = _run(
        work,
        "skl",
        "eie",
        "flat_train",
        "flat_test",
        tmp_path / "o.npz",
        simulator,
        24,
        "--pes",
        "4",
        "--density",
        "1.0",
    )
    assert rep["inputs"]["samples"] == 24 and rep["inputs"]["top1_agreement"] >= 0.95


@pytest.mark.parametrize("simulator", runner.default_simulators())
def test_run_cnn_on_diannao_rtl(work, simulator, tmp_path):
    rep = _run(
        work,
        "cnn",
        "diannao",
        "img_train",
        "img_test",
        tmp_path / "o.npz",
        simulator,
        8,
        "--tn",
        "8",
    )
    assert rep["inputs"]["samples"] == 8


@pytest.mark.parametrize("simulator", runner.default_simulators())
def test_run_cnn_on_diannao_rtl_winograd(work, simulator, tmp_path):
    """``--conv winograd``: the 3x3 stride-1 convolutions run as Winograd F(2x2, 3x3), bit-exact
    with the golden model (checked by ``run``), in fewer cycles than direct."""
    flags = ("--tn", "8")
    _run(work, "cnn", "diannao", "img_train", "img_test", tmp_path / "d.npz", simulator, 4, *flags)
    direct = np.load(tmp_path / "d.npz")["cycles"]
    rep = _run(
        work,
        "cnn",
        "diannao",
        "img_train",
        "img_test",
        tmp_path / "w.npz",
        simulator,
        4,
        "--tn",
        "8",
        "--conv",
        "winograd",
    )
    wino = np.load(tmp_path / "w.npz")["cycles"]
    assert rep["inputs"]["top1_agreement"] >= 0.75
    assert wino.sum() < direct.sum()


def test_conv_option_sets_the_layers(work):
    from accelgen.golden.netspec import ConvLayer

    imp = do_import(_args(work["cnn"], "diannao", work["img_train"], tn=8, conv="auto"))
    convs = [layer for layer in imp.net.layers if isinstance(layer, ConvLayer)]
    assert convs and all(layer.conv == "winograd" for layer in convs)
    with pytest.raises(ValueError, match="DianNao option"):
        do_import(_args(work["skl"], "eie", work["flat_train"], pes=4, conv="winograd"))


@pytest.mark.slow
@pytest.mark.parametrize("simulator", runner.default_simulators())
def test_run_full_359_on_rtl(work, simulator, tmp_path):
    for name, core, tr, te, flags in (
        ("skl", "eie", "flat_train", "flat_test", ("--pes", "4", "--density", "1.0")),
        ("cnn", "diannao", "img_train", "img_test", ("--tn", "8")),
    ):
        rep = _run(work, name, core, tr, te, tmp_path / f"{name}.npz", simulator, None, *flags)
        r = rep["inputs"]
        assert r["samples"] == 359 and r["top1_agreement"] >= 0.99
        assert abs(r["accuracy_fixed"] - r["accuracy_ort"]) <= 0.01


def test_export_onnx_models_match_the_float_models(tmp_path):
    from accelgen.frontend.onnx_import import import_onnx
    from accelgen.golden import train
    from accelgen.golden.models import digits_cnn, digits_mlp

    out = tmp_path / "ex"
    assert main(["export-onnx", "-o", str(out)]) == 0
    x, y = load_data(out / "digits_test.npz", (64,), "t")
    ref = ort_forward(import_onnx(out / "digits_mlp.onnx"), x)
    mlp = digits_mlp()
    logits = train.mlp_forward(mlp.float_params, x.astype(np.float64))[0]
    assert np.abs(ref - logits).max() < 1e-3
    xi, _ = load_data(out / "digits_images_test.npz", (1, 8, 8), "t")
    ref = ort_forward(import_onnx(out / "digits_cnn.onnx"), xi)
    assert float((ref.argmax(1) == y).mean()) == pytest.approx(digits_cnn().float_accuracy)
    # and the exported MLP imports and runs on the golden DianNao model within a point
    res = _golden_vs_ort(
        _args(out / "digits_mlp.onnx", "diannao", out / "digits_train.npz", tn=8),
        out / "digits_test.npz",
        (64,),
    )
    assert res["top1_agreement"] >= 0.99
    assert mlp_to_onnx  # exported through the same function the command uses


RTL_OPS = {
    "asym_pads_sigmoid_avgpool": dict(
        k=(2, 2),
        pads=(0, 0, 1, 1),
        stride=2,
        hw=(8, 8),
        act="Sigmoid",
        pool="AveragePool",
        pool_k=2,
        pool_s=1,
    ),
    "conv_11x11": dict(c_in=1, k=(11, 11), pads=(0, 0, 0, 0), hw=(13, 13), pool=None),
    "global_avgpool_tanh_reshape": dict(
        pool="GlobalAveragePool", hw=(6, 6), act="Tanh", flatten="Reshape"
    ),
}


def _run_ops(name, simulator, tmp_path):
    from .onnx_models import cnn

    rng = np.random.default_rng(sum(map(ord, name)))
    m = cnn(rng, **RTL_OPS[name])
    onnx.save(m, tmp_path / "m.onnx")
    dims = [d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim[1:]]
    np.savez(tmp_path / "x.npz", x=rng.uniform(-1, 1, (3, *dims)).astype(np.float32))
    out = tmp_path / "o.npz"
    rc = main(
        [
            "run",
            str(tmp_path / "m.onnx"),
            "--core",
            "diannao",
            "--tn",
            "4",
            "--inputs",
            str(tmp_path / "x.npz"),
            "-o",
            str(out),
            "--simulator",
            simulator,
        ]
    )
    rep = json.loads(out.with_name("o.report.json").read_text())
    assert rc == 0 and rep["rtl"]["bit_exact"]
    assert rep["inputs"]["top1_agreement"] == 1.0


@pytest.mark.parametrize("simulator", runner.default_simulators())
def test_run_ops_on_diannao_rtl(simulator, tmp_path):
    """Asymmetric pads (kernel grown with zero taps), Sigmoid PWL and average pooling on RTL."""
    _run_ops("asym_pads_sigmoid_avgpool", simulator, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("simulator", runner.default_simulators())
@pytest.mark.parametrize("name", ["conv_11x11", "global_avgpool_tanh_reshape"])
def test_run_more_ops_on_diannao_rtl(name, simulator, tmp_path):
    _run_ops(name, simulator, tmp_path)


def _run_lstm(core, simulator, tmp_path, flags):
    from .onnx_models import lstm

    rng = np.random.default_rng(4)
    onnx.save(lstm(rng, steps=4), tmp_path / "m.onnx")
    np.savez(tmp_path / "x.npz", x=rng.uniform(-1, 1, (6, 4, 3)).astype(np.float32))
    out = tmp_path / "o.npz"
    rc = main(
        [
            "run",
            str(tmp_path / "m.onnx"),
            "--core",
            core,
            "--inputs",
            str(tmp_path / "x.npz"),
            "-o",
            str(out),
            "--simulator",
            simulator,
            *flags,
        ]
    )
    rep = json.loads(out.with_name("o.report.json").read_text())
    assert rc == 0 and rep["rtl"]["bit_exact"]
    assert rep["layers"][0]["kind"] == "lstm"


@pytest.mark.parametrize("simulator", runner.default_simulators())
def test_run_lstm_on_eie_rtl(simulator, tmp_path):
    """The gate layer on the RTL once per step, the element-wise part on the host."""
    _run_lstm("eie", simulator, tmp_path, ["--pes", "2"])


@pytest.mark.slow
@pytest.mark.parametrize("simulator", runner.default_simulators())
def test_run_lstm_on_diannao_rtl(simulator, tmp_path):
    _run_lstm("diannao", simulator, tmp_path, ["--tn", "4"])
