"""``accelgen compress``: outputs, their consistency with the golden model, and bad input."""

import json
import re

import numpy as np
import pytest

from accelgen import main
from accelgen.golden.arith import Numerics
from accelgen.golden.eie_format import EIEEncoding, decode
from accelgen.golden.layers import fc
from accelgen.golden.npzformat import load_eie_npz, read_npz, save_float_model


@pytest.fixture
def model(tmp_path):
    rng = np.random.default_rng(0)
    layers = [
        (rng.normal(0, 0.3, (40, 20)), rng.normal(0, 0.2, 40)),
        (rng.normal(0, 0.3, (30, 40)), None),
        (rng.normal(0, 0.3, (5, 30)), rng.normal(0, 0.2, 5)),
    ]
    path = tmp_path / "model.npz"
    save_float_model(path, layers, x=rng.random((3, 20)))
    return path


def test_compress_writes_everything(model, tmp_path, capsys):
    out = tmp_path / "out"
    assert (
        main.main(
            ["compress", str(model), "-o", str(out), "--density", "0.2,0.1,0.5", "--pes", "4"]
        )
        == 0
    )
    assert "total" in capsys.readouterr().out
    assert {p.name for p in out.iterdir()} == {
        "model.npz",
        "encoded.npz",
        "summary.txt",
        "summary.json",
        "config.json",
    }
    layers, x = load_eie_npz(out / "model.npz")
    assert [layer.shape for layer in layers] == [(40, 20), (30, 40), (5, 30)]
    assert [layer.relu for layer in layers] == [True, True, False]
    assert layers[1].bias is None and layers[0].bias is not None
    assert [int(np.count_nonzero(layer.index)) for layer in layers] == [160, 120, 75]
    assert x.shape == (3, 20) and x.max() <= 256
    enc = read_npz(out / "encoded.npz")
    for i, layer in enumerate(layers):
        e = EIEEncoding(
            rows=layer.shape[0],
            cols=layer.shape[1],
            n_pes=4,
            ptr=enc[f"l{i}_ptr"].astype(np.int64),
            v=tuple(enc[f"l{i}_pe{k}_v"] for k in range(4)),
            z=tuple(enc[f"l{i}_pe{k}_z"] for k in range(4)),
        )
        np.testing.assert_array_equal(decode(e), layer.index)
        np.testing.assert_array_equal(enc[f"l{i}_codebook"], layer.codebook)
    summary = json.loads((out / "summary.json").read_text())
    assert [row["nonzeros"] for row in summary["layers"]] == [160, 120, 75]
    assert summary["layers"][0]["pointer_bytes"] == 4 * 21 * 2
    assert summary["total"]["dense_bytes"] == (800 + 1200 + 150) * 4
    config = json.loads((out / "config.json").read_text())
    assert config["densities"] == [0.2, 0.1, 0.5] and config["n_pes"] == 4
    # the compressed layers run through the golden model (dense fc on decoded weights)
    num = Numerics(acc_bits=32)
    a = x
    for layer in layers:
        a = fc(a, layer.weights, layer.bias, num=num, act="relu" if layer.relu else "none")
    assert a.shape == (3, 5)


def test_default_input_is_zeros(tmp_path):
    save_float_model(tmp_path / "m.npz", [(np.ones((3, 4)), None)])
    assert main.main(["compress", str(tmp_path / "m.npz"), "-o", str(tmp_path / "o")]) == 0
    layers, x = load_eie_npz(tmp_path / "o" / "model.npz")
    assert x.tolist() == [0, 0, 0, 0] and np.count_nonzero(layers[0].index) == 1  # floor(0.1*12)


def _bad(tmp_path, **arrays):
    np.savez(tmp_path / "bad.npz", **arrays)
    return str(tmp_path / "bad.npz")


@pytest.mark.parametrize(
    "arrays, extra, match",
    [
        (
            {"w0": np.ones((3, 4), np.float32)},
            ["--density", "0"],
            r"density must be in \(0, 1\], got 0.0",
        ),
        ({"w0": np.ones((3, 4), np.float32)}, ["--density", "1.5"], "got 1.5"),
        ({"w0": np.ones((3, 4), np.float32)}, ["--density", "a"], "numbers separated by commas"),
        (
            {"w0": np.ones((3, 4), np.float32)},
            ["--density", "0.1,0.2"],
            "2 values but the model has 1",
        ),
        ({"w0": np.ones((3, 4), np.float32)}, ["--pes", "0"], "--pes 0: the EIE core rejects it"),
        ({"w0": np.ones((3, 4), np.float32)}, ["--w-frac", "16"], "w_frac"),
        ({"w0": np.ones((3, 4), np.int16)}, [], "w0 must be a float array"),
        ({"w0": np.ones(4, np.float32)}, [], "w0 must have 2 dimension"),
        ({"w1": np.ones((3, 4), np.float32)}, [], "w0 .. w0 without gaps"),
        ({"b0": np.ones(3, np.float32)}, [], "no weight matrices"),
        (
            {"w0": np.ones((3, 4), np.float32), "b1": np.ones(3, np.float32)},
            [],
            "b1 has no matching w1",
        ),
        ({"w0": np.ones((3, 4), np.float32), "b0": np.ones(4, np.float32)}, [], "b0 has shape"),
        (
            {"w0": np.ones((3, 4), np.float32), "w1": np.ones((2, 4), np.float32)},
            [],
            "w0 has 3 outputs",
        ),
        ({"w0": np.full((3, 4), np.nan, np.float32)}, [], "NaN"),
        ({"w0": np.ones((3, 4), np.float32), "x": np.ones(5, np.float32)}, [], "x has 5 inputs"),
        ({"w0": np.ones((3, 4), np.float32), "weights": np.ones(2)}, [], "unknown key"),
    ],
)
def test_bad_input_is_one_line(tmp_path, capsys, monkeypatch, arrays, extra, match):
    monkeypatch.delenv("ACCELGEN_DEBUG", raising=False)
    path = _bad(tmp_path, **arrays)
    assert main.main(["compress", path, "-o", str(tmp_path / "o"), *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("accelgen: error:") and err.count("\n") == 1
    assert re.search(match, err), err


def test_missing_and_malformed_files(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("ACCELGEN_DEBUG", raising=False)
    assert main.main(["compress", str(tmp_path / "none.npz"), "-o", str(tmp_path / "o")]) == 2
    assert "none.npz: no such file" in capsys.readouterr().err
    (tmp_path / "junk.npz").write_bytes(b"PK\x03\x04 not really a zip")
    assert main.main(["compress", str(tmp_path / "junk.npz"), "-o", str(tmp_path / "o")]) == 2
    assert "junk.npz: not an .npz file" in capsys.readouterr().err


def test_eie_memory_images(model, tmp_path):
    from accelgen.host.eie import unpack_lines
    from accelgen.spec.eie import EIEConfig

    cfg = EIEConfig(n_pes=4, regfile_depth=16, max_layers=4)
    cfg.save(tmp_path / "eie.json")
    out = tmp_path / "out"
    assert (
        main.main(
            ["compress", str(model), "-o", str(out), "--eie-config", str(tmp_path / "eie.json")]
        )
        == 0
    )
    assert EIEConfig.load(out / "eie_config.json") == cfg
    images, enc = read_npz(out / "images.npz"), read_npz(out / "encoded.npz")
    assert images["addr"].dtype == np.uint64 and images["addr"].shape == images["data"].shape
    assert images["ptr"].shape[0] == 4 and enc["l0_ptr"].shape == (4, 21)
    for k in range(4):  # layer 0's entries open every PE's sparse-matrix memory
        n0 = len(enc[f"l0_pe{k}_v"])
        v, z = unpack_lines(images[f"lines_pe{k}"], n0)
        np.testing.assert_array_equal(v, enc[f"l0_pe{k}_v"])
        np.testing.assert_array_equal(z, enc[f"l0_pe{k}_z"])
    assert json.loads((out / "config.json").read_text())["n_pes"] == 4
    # a second run into the same folder without --eie-config: no images of the first run stay
    (out / "mine.txt").write_text("keep")
    assert main.main(["compress", str(model), "-o", str(out), "--pes", "2"]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "config.json",
        "encoded.npz",
        "mine.txt",
        "model.npz",
        "summary.json",
        "summary.txt",
    ]
    assert json.loads((out / "config.json").read_text())["n_pes"] == 2


def test_eie_config_errors(model, tmp_path, capsys, monkeypatch):
    from accelgen.spec.eie import EIEConfig

    monkeypatch.delenv("ACCELGEN_DEBUG", raising=False)
    EIEConfig(n_pes=2, regfile_depth=8).save(tmp_path / "small.json")
    args = [
        "compress",
        str(model),
        "-o",
        str(tmp_path / "o"),
        "--eie-config",
        str(tmp_path / "small.json"),
    ]
    assert main.main(args) == 2
    assert (
        "layer 0 has 40 outputs but the destination register files hold 16"
        in capsys.readouterr().err
    )
    assert main.main([*args, "--pes", "4"]) == 2
    assert "--pes 4 disagrees with" in capsys.readouterr().err
