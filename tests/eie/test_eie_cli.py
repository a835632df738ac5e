"""``accelgen generate eie`` and ``accelgen sim eie``."""

from __future__ import annotations

import json

import numpy as np
import pytest
from eie_cases import activations, random_layer

from accelgen.golden.netspec import run_eie
from accelgen.golden.npzformat import save_eie_npz
from accelgen.main import main
from accelgen.sim import eie as api
from accelgen.spec.eie import EIEConfig

SMALL = ["--pes", "2", "--regfile-depth", "8", "--spmat-words", "16", "--ptr-depth", "32"]


def test_generate_writes_verilog_config_and_report(tmp_path):
    cfg = tmp_path / "c.json"
    EIEConfig(n_pes=4, regfile_depth=8, spmat_words=16, ptr_depth=32, fifo_depth=3).save(cfg)
    out = tmp_path / "gen"
    argv = ["generate", "eie", "--config", str(cfg), *SMALL, "--acc-bits", "24", "-o", str(out)]
    assert main(argv) == 0
    config = EIEConfig.load(out / "config.json")
    assert config == EIEConfig(
        n_pes=2, regfile_depth=8, spmat_words=16, ptr_depth=32, acc_bits=24, fifo_depth=3
    )
    text = (out / "eie.v").read_text()
    assert "module eie_top(" in text and "module eie_pe(" in text
    report = json.loads((out / "report.json").read_text())
    assert report["top_module"] == "eie_top"
    assert report["memory_bits"]["spmat"] == 2 * 16 * 64
    assert report["max_rows"] == 16


def test_generate_skip_empty_option(tmp_path):
    """``--skip-empty`` lands in the resolved config and in the Verilog (the span buffer)."""
    out = tmp_path / "gen"
    assert main(["generate", "eie", *SMALL, "--skip-empty", "-o", str(out)]) == 0
    config = EIEConfig.load(out / "config.json")
    assert config.skip_empty is True
    assert json.loads((out / "report.json").read_text())["config"]["skip_empty"] is True
    assert "module \\eie_pe.spans" in (out / "eie.v").read_text()
    base = tmp_path / "base"
    assert main(["generate", "eie", *SMALL, "-o", str(base)]) == 0
    assert EIEConfig.load(base / "config.json").skip_empty is False
    assert "module \\eie_pe.spans" not in (base / "eie.v").read_text()


def test_generate_filter_empty_option(tmp_path):
    """Option (c) is on by default: the resolved config and the Verilog have the bitmap;
    ``--no-filter-empty`` (or ``--filter-empty false``) leaves it out."""
    out = tmp_path / "gen"
    assert main(["generate", "eie", *SMALL, "-o", str(out)]) == 0
    assert EIEConfig.load(out / "config.json").filter_empty is True
    report = json.loads((out / "report.json").read_text())
    assert report["memory_bits"]["column_bitmap"] == 2 * 32
    assert "bitmap" in (out / "eie.v").read_text()
    for flag in (["--no-filter-empty"], ["--filter-empty", "false"]):
        base = tmp_path / flag[-1].strip("-")
        assert main(["generate", "eie", *SMALL, *flag, "-o", str(base)]) == 0
        assert EIEConfig.load(base / "config.json").filter_empty is False
        assert "column_bitmap" not in json.loads((base / "report.json").read_text())["memory_bits"]
        assert "bitmap" not in (base / "eie.v").read_text()
    with pytest.raises(TypeError, match="filter_empty"):
        EIEConfig(filter_empty=1)


def test_skip_empty_config_round_trip_and_validation(tmp_path):
    config = EIEConfig(n_pes=4, skip_empty=True)
    config.save(tmp_path / "c.json")
    assert EIEConfig.load(tmp_path / "c.json") == config
    with pytest.raises(TypeError, match="skip_empty"):
        EIEConfig(skip_empty=1)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--pes", "3"], "n_pes must be a power of two"),
        (["--fifo-depth", "0"], "fifo_depth must be in 1..64"),
        # a one-entry register file has a 0-bit address, which the gateware cannot build
        (["--regfile-depth", "1"], "regfile_depth must be in 2..4096, got 1"),
        (["--config", "missing.json"], "missing.json"),
    ],
)
def test_generate_rejects_bad_configs(tmp_path, capsys, args, message):
    assert main(["generate", "eie", *args, "-o", str(tmp_path / "x")]) == 2
    assert message in capsys.readouterr().err


def _no_simulation(*args, **kwargs):
    raise AssertionError("a simulation was started for bad input")


@pytest.mark.parametrize("case", ["not-npz", "too-large", "float-x", "bad-codebook"])
def test_sim_reports_bad_input_before_simulating(tmp_path, capsys, monkeypatch, case):
    monkeypatch.setattr(api, "run_jobs", _no_simulation)
    rng = np.random.default_rng(0)
    path = tmp_path / "layer.npz"
    if case == "not-npz":
        path.write_text("hello")
        message = "not an .npz file"
    elif case == "too-large":
        save_eie_npz(path, [random_layer(rng, 65, 4, 0.5)], activations(rng, 1, 4, 1.0))
        message = "layer 0 has 65 outputs"
    elif case == "float-x":
        layer = random_layer(rng, 4, 4, 0.5)
        np.savez(path, codebook=layer.codebook, index=layer.index, x=np.ones(4))
        message = "x must be an integer array"
    else:
        layer = random_layer(rng, 4, 4, 0.5)
        cb = layer.codebook.copy()
        cb[0] = 5
        np.savez(path, codebook=cb, index=layer.index, x=np.ones(4, dtype=np.int16))
        message = "codebook[0] must be 0"
    rc = main(["sim", "eie", str(path), "-o", str(tmp_path / "o.npz"), "--pes", "1"])
    assert rc == 2
    assert message in capsys.readouterr().err


def test_sim_runs_a_network_file(tmp_path):
    rng = np.random.default_rng(7)
    layers = [random_layer(rng, 10, 6, 0.5, relu=True), random_layer(rng, 3, 10, 0.5)]
    x = activations(rng, 2, 6, 0.7)
    npz = tmp_path / "net.npz"
    save_eie_npz(npz, layers, x)
    cfg = tmp_path / "c.json"
    config = EIEConfig(n_pes=2, regfile_depth=8, spmat_words=16, ptr_depth=32)
    config.save(cfg)
    out = tmp_path / "out.npz"
    argv = ["sim", "eie", str(npz), "-o", str(out), "--config", str(cfg), "--simulator", "icarus"]
    assert main(argv) == 0
    with np.load(out) as f:
        np.testing.assert_array_equal(f["y"], run_eie(layers, x, num=config.numerics)[-1])
        assert f["cycles"].shape == (2,)
        assert f["layer_cycles"].shape == (2, 2)
        assert f["pe_busy"].shape == f["pe_starved"].shape == (2, 2, 2)
        assert (f["cycles"] == f["layer_cycles"].sum(axis=1)).all()


def test_simulate_in_chunks_with_progress(capsys):
    """A batch split into chunks gives the same results as the golden and cycle models."""
    from accelgen.golden.eie_cycles import predict_for

    rng = np.random.default_rng(8)
    layers = [random_layer(rng, 7, 9, 0.6)]
    x = activations(rng, 3, 9, 0.6)
    config = EIEConfig(n_pes=2, regfile_depth=8, spmat_words=16, ptr_depth=32)
    res = api.simulate(layers, x, config=config, simulator="icarus", chunk=2)
    np.testing.assert_array_equal(res.y, run_eie(layers, x, num=config.numerics)[-1])
    # each chunk loads the network: its first input starts with the bias pass
    model = predict_for(layers, x, config, reload_every=2)
    np.testing.assert_array_equal(res.cycles, model.cycles)
    assert "img" in capsys.readouterr().err  # the tqdm progress bar
    with pytest.raises(ValueError, match="chunk"):
        api.simulate(layers, x, config=config, chunk=0)
