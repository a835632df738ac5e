"""``accelgen train --core diannao``: SGD steps on the RTL, bit-exact with the golden training."""

import json

import numpy as np
import pytest

from accelgen.golden import sgd, train
from accelgen.golden.arith import quantize
from accelgen.golden.diannao_cp import program_cycles
from accelgen.golden.update import LFSR
from accelgen.host.diannao import compile_update
from accelgen.main import main
from accelgen.sim.runner import default_simulators
from accelgen.spec.diannao import DianNaoConfig

# the "tn4" build of test_rtl.py
SMALL = ["--tn", "4", "--nbin-depth", "64", "--sb-depth", "32", "--nbout-depth", "32"]
SMALL += ["--imem-depth", "8"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--core", "eie", "--steps", "1"], "training runs on the DianNao core only"),
        (["--core", "diannao", "--steps", "0"], "--steps must be >= 1, got 0"),
        (["--core", "diannao", "--steps", "1", "--hidden", "0"], "--hidden must be >= 1"),
        (["--core", "diannao", "--steps", "1", "--alpha", "70000"], "alpha must be in 0..65535"),
        (["--core", "diannao", "--steps", "1", "--lfsr-seed", "0"], "seed must be in"),
        (["--core", "diannao", "--steps", "1", "--tn", "3"], "tn must be a power of two"),
        (["--core", "diannao", "--steps", "99999"], "--steps must be <= 1438"),
    ],
)
def test_bad_arguments_one_line_before_any_simulator(tmp_path, capsys, argv, message):
    out = tmp_path / "t"
    assert main(["train", *argv, "--pretrain-epochs", "0", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not out.exists()


@pytest.mark.parametrize("simulator", default_simulators())
def test_two_steps_bit_exact(tmp_path, simulator):
    out = tmp_path / "t"
    argv = ["train", "--core", "diannao", "--steps", "2", "--rounding", "stochastic"]
    argv += ["--hidden", "16", "--alpha", "2000", "--pretrain-epochs", "1"]
    argv += ["--simulator", simulator, "-o", str(out)]
    assert main([*argv, *SMALL]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["bit_exact"] and len(report["steps"]) == 2
    assert all(s["weights_changed"] > 0 and s["cycles"] > 0 for s in report["steps"])
    # the final weights recomputed here from the golden model alone
    cfg = sgd.SGDConfig.from_json(report["sgd"])
    assert cfg.group == 4 and cfg.rounding == "stochastic"
    d = train.digits_split(seed=0)
    xtr = quantize(d.x_train, cfg.act_frac, cfg.act_bits)
    _, ws = sgd.init_weights((64, 16, 10), cfg, seed=0)
    orders = sgd.epoch_orders(len(xtr), 2, 0)
    ws = sgd.train_fixed(ws, xtr, d.y_train, cfg, orders[:1])
    lfsr = LFSR(cfg.lfsr)
    for i in orders[1][:2]:
        ws, _ = sgd.sgd_step(ws, xtr[i], int(d.y_train[i]), cfg, lfsr)
    with np.load(out / "weights.npz") as f:
        for k, w in enumerate(ws):
            np.testing.assert_array_equal(f[f"w{k}"], w)
    # the in-core update's cycles (the core's counters) == the CP model's, for these shapes:
    # 64-16-10 at tn = 4 (76 SB words) does not fit SB (32 words): three host tiles
    config = DianNaoConfig.from_json(report["diannao"])
    assert config.weight_update
    ups = [(w, np.zeros(w.shape[1], int), np.zeros(w.shape[0], int)) for w in ws[::-1]]
    tiles = compile_update(ups, config, alpha=cfg.alpha, stochastic=True)
    assert len(tiles) == 3
    want = sum(program_cycles(t.tile.program).cycles for t in tiles)
    assert all(s["update_cycles"] == want for s in report["steps"])
    parts = report["cycles_per_step_mean_by_part"]
    assert parts["update"] == want and parts["forward"] > 0 and parts["backward"] > 0
