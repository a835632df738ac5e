"""``accelgen generate diannao`` and ``accelgen sim diannao``."""

import json

import numpy as np
import pytest

from accelgen.golden.netspec import FCLayer, PoolLayer, run_dense
from accelgen.golden.npzformat import save_diannao_npz
from accelgen.main import main
from accelgen.sim.runner import default_simulators
from accelgen.spec.diannao import DianNaoConfig


def test_generate_writes_verilog_config_and_report(tmp_path, capsys):
    cfg = tmp_path / "cfg.json"
    DianNaoConfig(tn=2, nbin_depth=32, acc_bits=32).save(cfg)
    out = tmp_path / "gen"
    assert (
        main(["generate", "diannao", "--config", str(cfg), "--sb-depth", "16", "-o", str(out)]) == 0
    )
    assert "module diannao_top" in (out / "diannao.v").read_text()
    resolved = DianNaoConfig.load(out / "config.json")
    assert resolved == DianNaoConfig(tn=2, nbin_depth=32, acc_bits=32, sb_depth=16)
    report = json.loads((out / "report.json").read_text())
    assert report["multipliers"] == 4 and report["sb_bytes"] == 16 * 2 * 2 * 2
    assert "diannao.v" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--tn", "3"], "tn must be a power of two in 2..16, got 3"),
        (["--nbin-depth", "1"], "nbin_depth must be in 4..65536 words, got 1"),
        (["--double-buffer", "true", "--sb-depth", "15"], "double_buffer needs even"),
    ],
)
def test_generate_rejects_bad_configs(tmp_path, capsys, argv, message):
    assert main(["generate", "diannao", *argv, "-o", str(tmp_path / "x")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_sim_reports_bad_files_before_simulating(tmp_path, capsys):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    assert main(["sim", "diannao", str(bad), "-o", str(tmp_path / "o.npz")]) == 2
    assert "not an .npz file" in capsys.readouterr().err
    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, kind=np.array("fc"), w=np.zeros((3, 4)), x=np.zeros(4, dtype=np.int16))
    assert main(["sim", "diannao", str(wrong), "-o", str(tmp_path / "o.npz")]) == 2
    assert "w must be an integer array" in capsys.readouterr().err
    big = tmp_path / "big.npz"
    save_diannao_npz(big, [PoolLayer(2, 2, "max")], np.zeros((2, 8, 300), dtype=np.int16))
    assert main(["sim", "diannao", str(big), "--tn", "2", "-o", str(tmp_path / "o.npz")]) == 2
    assert "layer 0 (pool) cannot be mapped" in capsys.readouterr().err
    assert not (tmp_path / "o.npz").exists()


def test_sim_runs_a_layer_file(tmp_path, capsys):
    rng = np.random.default_rng(9)
    layer = FCLayer(rng.integers(-3000, 3000, (5, 9)), rng.integers(-500, 500, 5), "relu")
    x = rng.integers(-2000, 2000, 9).astype(np.int16)
    path = tmp_path / "layer.npz"
    save_diannao_npz(path, [layer], x)
    out = tmp_path / "out.npz"
    argv = ["sim", "diannao", str(path), "-o", str(out), "--tn", "2", "--acc-bits", "32"]
    argv += ["--simulator", default_simulators()[0], "--no-progress"]
    assert main(argv) == 0
    config = DianNaoConfig(tn=2, acc_bits=32)
    with np.load(out) as f:
        np.testing.assert_array_equal(
            f["y"], run_dense([layer], x, num=config.numerics, group=2)[-1]
        )
        assert f["cycles"].shape == (1,) and f["layer_cycles"].shape == (1, 1)
        # 5 outputs -> 3 output tiles of 5 input words each: 15 steps + 16 overhead cycles
        # (fetch, buffer read, 14 NFU stages)
        assert int(f["cycles"][0]) == 1 + 15 + 15
        assert f["utilization"][0] == pytest.approx(45 / (4 * 31))
    assert "NFU utilization" in capsys.readouterr().out
