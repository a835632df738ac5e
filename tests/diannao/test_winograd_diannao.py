"""DianNao Winograd mode: compiler + CP model vs the golden Winograd convolution, the cycle model's
step count, the RTL on Icarus and Verilator (bit-exact, cycle-exact), and bad requests."""

import dataclasses

import numpy as np
import pytest

from accelgen.golden.arith import smax, smin
from accelgen.golden.netspec import ConvLayer, FCLayer, PoolLayer, run_dense
from accelgen.golden.npzformat import save_diannao_npz
from accelgen.golden.winograd import winograd_conv2d
from accelgen.host.diannao import compile_layer
from accelgen.main import main
from accelgen.sim import diannao as api
from accelgen.sim.runner import default_simulators
from accelgen.spec.diannao import DianNaoConfig

SIMS = default_simulators()
TN4 = DianNaoConfig(tn=4, nbin_depth=64, sb_depth=32, nbout_depth=32, imem_depth=8)  # test_rtl's
TN2 = DianNaoConfig(tn=2, acc_bits=32)  # the CLI's default depths


def _wconv(rng, c, o, *, h, w, pad=1, act="none", bias=True, batch=1, scale=3000):
    layer = ConvLayer(
        rng.integers(-scale, scale, (o, c, 3, 3)),
        rng.integers(-800, 800, o) if bias else None,
        pad=pad,
        act=act,
        conv="winograd",
    )
    return [layer], rng.integers(-2000, 2000, (batch, c, h, w))


def _saturating():
    """Full-scale inputs and weights: V, U, the products and the output all saturate."""
    w = np.full((3, 5, 3, 3), smax(16))
    w[1] = smin(16)
    w[2, :, 1] = smin(16)
    x = np.full((1, 5, 5, 5), smax(16))
    x[0, :, ::2] = smin(16)
    return [ConvLayer(w, None, pad=1, conv="winograd")], x


def _network(rng):
    """Winograd conv -> max pool -> direct conv (stride 2) -> Winograd conv -> fc."""
    layers = [
        ConvLayer(
            rng.integers(-3000, 3000, (6, 3, 3, 3)),
            rng.integers(-500, 500, 6),
            pad=1,
            act="relu",
            conv="winograd",
        ),
        PoolLayer(2, 2, "max"),
        ConvLayer(rng.integers(-3000, 3000, (5, 6, 3, 3)), None, stride=2, pad=1, act="tanh"),
        ConvLayer(
            rng.integers(-3000, 3000, (3, 5, 3, 3)), None, pad=1, act="sigmoid", conv="winograd"
        ),
        FCLayer(rng.integers(-3000, 3000, (4, 12)), rng.integers(-500, 500, 4)),
    ]
    return layers, rng.integers(-2000, 2000, (2, 3, 7, 8))


def _cases(seed):
    rng = np.random.default_rng(seed)
    return [
        ("odd-5x7-p1-c5", *_wconv(rng, 5, 3, h=5, w=7, act="relu")),
        ("p0-c6-batch2", *_wconv(rng, 6, 5, h=6, w=5, pad=0, act="sigmoid", batch=2)),
        ("c1-8x8-tanh", *_wconv(rng, 1, 8, h=8, w=8, act="tanh", bias=False)),
        ("3x3-p2", *_wconv(rng, 2, 2, h=3, w=3, pad=2)),
        ("saturate", *_saturating()),
        ("network", *_network(rng)),
    ]


def _golden(layers, x, config):
    return run_dense(layers, x, num=config.numerics, group=config.tn)


@pytest.mark.parametrize(
    "config",
    [
        TN4,
        TN2,
        DianNaoConfig(tn=8, double_buffer=True),
        DianNaoConfig(tn=4, nbin_depth=8, sb_depth=4, nbout_depth=8, imem_depth=4),
    ],
    ids=["tn4", "tn2", "tn8-db", "tn4-tiny"],
)
def test_cp_model_matches_golden_winograd(config):
    cases = _cases(3)
    if config.nbin_depth < 32:  # the network's direct layers need deeper buffers
        cases = [c for c in cases if c[0] != "network"]
    rng = np.random.default_rng(4)
    # more input channels than one host tile holds: partial sums stay in NBout
    cases.append(("multi-chunk", *_wconv(rng, 4 * config.tn * 9 + 1, 2, h=3, w=4)))
    for name, layers, x in cases:
        res = api.run_model(layers, x, config=config)
        for j, want in enumerate(_golden(layers, x, config)):
            np.testing.assert_array_equal(res.outputs[j], want, err_msg=f"{name} layer {j}")


def test_cp_model_accumulator_saturates_in_group_order():
    config = TN4
    x = np.full((1, 300, 3, 3), smax(16))
    layers = [ConvLayer(np.full((1, 300, 3, 3), smax(16)), None, conv="winograd")]
    res = api.run_model(layers, x, config=config)
    np.testing.assert_array_equal(
        res.y, winograd_conv2d(x[0], layers[0].w, num=config.numerics, group=4)[None]
    )


@pytest.mark.parametrize("c, o, h, w", [(1, 8, 8, 8), (8, 16, 4, 4), (20, 6, 9, 7)])
def test_cycles_are_the_fc_programs_of_the_16_products(c, o, h, w):
    """NFU steps = 16 positions x tiles x output words x input words; every host tile's program
    costs its steps + 16 (fetch + the 15-cycle drain); the per-tile stats add up to the layer's
    cycles."""
    config = DianNaoConfig(tn=8)
    layers, x = _wconv(np.random.default_rng(c), c, o, h=h, w=w)
    res = api.run_model(layers, x, config=config)
    tiles = -(-h // 2) * -(-w // 2)
    steps = 16 * tiles * -(-o // 8) * -(-c // 8)
    assert res.nfu_busy[0] == steps
    _, host = compile_layer(layers[0], x, config)
    assert res.cycles[0] == steps + 16 * len(host) == res.tile_stats[0][:, 0].sum()
    assert res.host_adds[0] == 32 * tiles * c + 28 * tiles * o


def test_winograd_takes_at_least_1_8x_fewer_cycles_on_digits_shapes():
    """The digits CNN's two 3x3 layers (shapes, random weights) at Tn = 8, 64-word buffers."""
    config = DianNaoConfig(tn=8)
    rng = np.random.default_rng(0)
    for c, o, hw in ((1, 8, 8), (8, 16, 4)):
        layers, x = _wconv(rng, c, o, h=hw, w=hw, act="relu")
        direct = [dataclasses.replace(layers[0], conv="direct")]
        cw = api.run_model(layers, x, config=config).cycles[0]
        cd = api.run_model(direct, x, config=config).cycles[0]
        assert cd / cw >= 1.8, (c, o, hw, cd, cw)


def _check_rtl(config, cases, results):
    for (name, layers, x), res in zip(cases, results, strict=True):
        model = api.run_model(layers, x, config=config)
        for j, want in enumerate(_golden(layers, x, config)):
            np.testing.assert_array_equal(res.outputs[j], want, err_msg=f"{name} layer {j}")
        np.testing.assert_array_equal(res.layer_cycles, model.layer_cycles, err_msg=name)
        np.testing.assert_array_equal(res.nfu_busy, model.nfu_busy, err_msg=name)
        for got, want in zip(res.tile_stats, model.tile_stats, strict=True):
            np.testing.assert_array_equal(got, want, err_msg=f"{name} per-tile counters")


@pytest.mark.parametrize("simulator", SIMS)
def test_winograd_on_rtl(simulator):
    cases = _cases(7)
    results = api.simulate_cases(
        [(layers, x) for _, layers, x in cases], config=TN4, simulator=simulator
    )
    _check_rtl(TN4, cases, results)


@pytest.mark.parametrize("simulator", SIMS)
def test_winograd_on_rtl_with_partial_sums_across_host_tiles(simulator):
    rng = np.random.default_rng(8)
    cases = [
        ("multi-chunk", *_wconv(rng, 130, 1, h=3, w=3, pad=0, act="relu")),
        ("odd-c3", *_wconv(rng, 3, 3, h=3, w=5)),
    ]
    results = api.simulate_cases(
        [(layers, x) for _, layers, x in cases], config=TN2, simulator=simulator
    )
    _check_rtl(TN2, cases, results)


def test_cli_rejects_winograd_for_other_layers_before_simulating(tmp_path, capsys, monkeypatch):
    def no_sim(*args, **kwargs):
        raise AssertionError("a simulator was started")

    monkeypatch.setattr(api, "simulate_cases", no_sim)
    rng = np.random.default_rng(0)
    path = tmp_path / "net.npz"
    layers = [
        ConvLayer(rng.integers(-9, 9, (2, 3, 3, 3)), pad=1),
        ConvLayer(rng.integers(-9, 9, (2, 2, 3, 3)), stride=2),
    ]
    save_diannao_npz(path, layers, rng.integers(-9, 9, (3, 8, 8)))
    out = tmp_path / "o.npz"
    assert main(["sim", "diannao", str(path), "--conv", "winograd", "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "layer 1 (conv)" in err and "3x3 with stride 2" in err and "net.npz" in err
    assert not out.exists()


def test_cli_runs_a_layer_in_winograd_mode(tmp_path, capsys):
    rng = np.random.default_rng(1)
    layers, x = _wconv(rng, 3, 2, h=5, w=4, act="relu")
    direct = [dataclasses.replace(layers[0], conv="direct")]
    path = tmp_path / "layer.npz"
    save_diannao_npz(path, direct, x[0])
    out = tmp_path / "o.npz"
    argv = ["sim", "diannao", str(path), "-o", str(out), "--tn", "2", "--acc-bits", "32"]
    assert main([*argv, "--conv", "winograd", "--simulator", SIMS[-1], "--no-progress"]) == 0
    got = np.load(out)
    np.testing.assert_array_equal(got["y"], _golden(layers, x, TN2)[-1][0])
    assert int(got["host_adds"][0]) == 32 * 6 * 3 + 28 * 6 * 2
    assert "host Winograd transforms" in capsys.readouterr().out
