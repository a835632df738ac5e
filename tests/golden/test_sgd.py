"""Fixed-point SGD (golden/sgd.py) against slow reference formulas, and the fast LFSR draw."""

import dataclasses

import numpy as np
import pytest

from accelgen.golden import sgd
from accelgen.golden.update import DRAW_BLOCK, LFSR, LFSRConfig, weight_update

CFG = sgd.SGDConfig(group=4)


def _clamp(bits, v):
    return max(-(1 << (bits - 1)), min((1 << (bits - 1)) - 1, v))


@pytest.mark.parametrize(
    "cfg", [LFSRConfig(), LFSRConfig(width=16, taps=0xB400, seed=0xACE1), LFSRConfig(seed=0xDEAD)]
)
def test_fast_draw_equals_stepping(cfg):
    fast, slow = LFSR(cfg), LFSR(cfg)
    for n in (1, 5, DRAW_BLOCK - 1, DRAW_BLOCK, 2 * DRAW_BLOCK + 3, 0, 7):
        got = fast.draw(n).tolist()
        want = [slow.step() for _ in range(n)]
        assert got == want
        assert fast.state == slow.state


def test_fast_draw_rejects_negative():
    with pytest.raises(ValueError, match="n must be"):
        LFSR().draw(-1)


def _slow_update(w, a, g, *, alpha, shift, rounding, lfsr_cfg, w_bits=16):
    """``w + round(alpha * g_i * a_j >> shift)`` weight by weight with Python integers."""
    state = lfsr_cfg.seed
    out = np.zeros_like(w)
    for i in range(w.shape[0]):
        for j in range(w.shape[1]):
            p = alpha * int(g[i]) * int(a[j])
            if rounding == "nearest":
                upd = (p + (1 << (shift - 1))) >> shift
            else:
                state = (state >> 1) ^ (lfsr_cfg.taps if state & 1 else 0)
                upd = (p >> shift) + (1 if p % (1 << shift) > state % (1 << shift) else 0)
            out[i, j] = _clamp(w_bits, int(w[i, j]) + upd)
    return out


@pytest.mark.parametrize("rounding", ["nearest", "stochastic"])
def test_update_with_g_frac_vs_slow_formula(rounding):
    rng = np.random.default_rng(11)
    cfg = dataclasses.replace(CFG, rounding=rounding, alpha=rng.integers(1, 65536).item())
    w = rng.integers(-32768, 32768, (7, 9))
    w[0, :3] = [32767, -32768, 32760]  # saturation
    a = rng.integers(-32768, 32768, 9)
    g = rng.integers(-32768, 32768, 7)
    got = weight_update(
        w,
        a,
        g,
        alpha=cfg.alpha,
        alpha_frac=cfg.alpha_frac,
        num=cfg.numerics,
        rounding=rounding,
        lfsr=LFSR(cfg.lfsr),
        g_frac=cfg.g_frac,
    )
    shift = cfg.alpha_frac + cfg.g_frac + cfg.act_frac - cfg.w_frac
    assert shift == cfg.shift == 22
    want = _slow_update(w, a, g, alpha=cfg.alpha, shift=shift, rounding=rounding, lfsr_cfg=cfg.lfsr)
    np.testing.assert_array_equal(got, want)
    assert (got == 32767).any() and (got == -32768).any()


def _slow_fc_t(w, g, cfg):
    """``fc(g, w^T)`` by loops: each input column j, groups of ``group`` outputs, each product
    ``(g * w + 2^(w_frac-1)) >> w_frac`` saturated, group sum exact, saturating accumulator."""
    out = []
    for j in range(w.shape[1]):
        acc = 0
        for i0 in range(0, w.shape[0], cfg.group):
            s = 0
            for i in range(i0, min(i0 + cfg.group, w.shape[0])):
                p = (int(g[i]) * int(w[i, j]) + (1 << (cfg.w_frac - 1))) >> cfg.w_frac
                s += _clamp(cfg.act_bits, p)
            acc = _clamp(cfg.acc_bits, acc + s)
        out.append(_clamp(cfg.act_bits, acc))
    return np.array(out)


def test_backward_vs_slow_formula_with_relu_derivative_and_saturation():
    rng = np.random.default_rng(3)
    w = rng.integers(-32768, 32768, (13, 6))
    g = rng.integers(-32768, 32768, 13)
    a_in = rng.integers(-3, 4, 6)  # zero and negative forward outputs: derivative 0
    got = sgd.backward(w, g, a_in, CFG)
    want = np.where(a_in > 0, _slow_fc_t(w, g, CFG), 0)
    np.testing.assert_array_equal(got, want)
    full = _slow_fc_t(w, g, CFG)
    assert np.abs(full).max() == 32767 or (full == -32768).any()  # saturation reached


def test_output_error_is_the_negative_softmax_gradient():
    logits = np.array([256, -512, 1024, 0])  # 1.0, -2.0, 4.0, 0.0
    g = sgd.output_error(logits, 2, CFG)
    p = np.exp([1.0, -2.0, 4.0, 0.0])
    p /= p.sum()
    want = np.round((np.eye(4)[2] - p) * 4096)
    np.testing.assert_array_equal(g, want)
    assert g[2] > 0 and (np.delete(g, 2) <= 0).all()


def _tiny_net(cfg, seed=0):
    _, wq = sgd.init_weights((64, 12, 10), cfg, seed=seed)
    rng = np.random.default_rng(seed)
    return wq, rng.integers(0, 257, 64), int(rng.integers(10))


@pytest.mark.parametrize("rounding", ["nearest", "stochastic"])
def test_sgd_step_vs_slow_composition(rounding):
    """One step recomposed from the slow formulas: backward with the old weights, then update,
    from the last layer down, one LFSR across both layers (last layer's weights first)."""
    cfg = dataclasses.replace(CFG, rounding=rounding, alpha=3000)
    ws, x, y = _tiny_net(cfg)
    got, acts = sgd.sgd_step(ws, x, y, cfg)
    g1 = sgd.output_error(acts[2], y, cfg)
    g0 = np.where(acts[1] > 0, _slow_fc_t(ws[1], g1, cfg), 0)
    lfsr = LFSR(cfg.lfsr)
    want1 = weight_update(
        ws[1],
        acts[1],
        g1,
        alpha=cfg.alpha,
        alpha_frac=cfg.alpha_frac,
        num=cfg.numerics,
        rounding=rounding,
        lfsr=lfsr,
        g_frac=cfg.g_frac,
    )
    want0 = weight_update(
        ws[0],
        acts[0],
        g0,
        alpha=cfg.alpha,
        alpha_frac=cfg.alpha_frac,
        num=cfg.numerics,
        rounding=rounding,
        lfsr=lfsr,
        g_frac=cfg.g_frac,
    )
    np.testing.assert_array_equal(got[1], want1)
    np.testing.assert_array_equal(got[0], want0)
    assert (got[0] != ws[0]).any() and (got[1] != ws[1]).any()


def test_sgd_step_follows_the_float_gradient():
    """A large learning rate step moves the weights like the float step (within rounding)."""
    cfg = dataclasses.replace(CFG, alpha=1 << 12, w_frac=12)  # lr 1/16
    ws, x, y = _tiny_net(cfg)
    got, _ = sgd.sgd_step(ws, x, y, cfg)
    wf = [w / 4096.0 for w in ws]
    ref = sgd.train_float(wf, (x / 256.0)[None], np.array([y]), cfg.lr, [np.array([0])])
    for g_w, r_w, w0 in zip(got, ref, ws, strict=True):
        d_fix, d_flt = (g_w - w0) / 4096.0, r_w - w0 / 4096.0
        assert np.abs(d_flt).max() > 1e-2
        assert np.abs(d_fix - d_flt).max() < 0.05 * np.abs(d_flt).max() + 2e-3


def test_nearest_stalls_on_sub_half_lsb_updates_stochastic_does_not():
    """With a learning rate whose updates of the first layer are all below half a weight LSB,
    nearest-rounding SGD never changes that layer; stochastic rounding does, and its mean
    change follows the exact updates."""
    cfg = dataclasses.replace(CFG, alpha=1, w_frac=14)  # lr 2^-16
    ws, x, y = _tiny_net(cfg, seed=4)
    near, acts = sgd.sgd_step(ws, x, y, dataclasses.replace(cfg, rounding="nearest"))
    g1 = sgd.output_error(acts[2], y, cfg)
    g0 = sgd.backward(ws[1], g1, acts[1], cfg)
    exact = cfg.alpha * np.outer(g0, acts[0]) / 2.0**cfg.shift  # in weight LSBs
    assert np.abs(exact).max() < 0.5 and np.abs(exact).max() > 0.01
    np.testing.assert_array_equal(near[0], ws[0])
    sto, _ = sgd.sgd_step(ws, x, y, cfg)
    diff = sto[0] - ws[0]
    assert diff.any() and np.abs(diff).max() == 1
    # stochastic rounding keeps the expected value: the sum of the changes matches
    assert abs(diff.sum() - exact.sum()) < 5 * np.sqrt(np.count_nonzero(exact)) + 1


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"alpha": 1 << 16}, "alpha must be"),
        ({"g_frac": 16}, "g_frac"),
        ({"alpha_frac": 0, "g_frac": 0, "act_frac": 4}, "fewer than w_frac"),
        ({"alpha_frac": 32, "rounding": "stochastic"}, "lfsr_width"),
        ({"rounding": "up"}, "rounding"),
        ({"lfsr_seed": 0}, "seed"),
        ({"w_frac": 16}, "w_frac"),
        ({"group": 0}, "group"),
    ],
)
def test_config_errors(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        sgd.SGDConfig(**kwargs)


def test_config_json_round_trip():
    cfg = sgd.SGDConfig(rounding="nearest", w_frac=12, alpha=9, lfsr_seed=77)
    assert sgd.SGDConfig.from_json(cfg.to_json()) == cfg


def test_backward_grouped_accumulator_saturation_order():
    """556 outputs: partial sums reach the 24-bit accumulator's limits, so the groups of
    ``group`` and the saturation after each matter (the slow formula follows them)."""
    w = np.full((556, 3), 32767)
    w[:, 1] = -32768
    w[300:, 2] = -32768  # column 2 climbs into saturation, then comes back down to -1
    g = np.full(556, 32767)
    got = sgd.backward(w, g, np.ones(3, dtype=np.int64), CFG)
    want = _slow_fc_t(w, g, CFG)
    np.testing.assert_array_equal(got, want)
    unsat = sum(_clamp(16, (32767 * int(v) + (1 << 13)) >> 14) for v in w[:, 2])
    assert want[2] != _clamp(16, unsat)  # saturation really changed the result


def test_cnn_fc_layers_trained_with_fixed_point_sgd():
    """The digits CNN's FC layer retrained (bias-free, from scratch) by the fixed-point SGD on
    the fixed-point output of its convolution / pooling front: the trained head composed with
    the front is the whole fixed-point network, and stochastic rounding learns it."""
    from accelgen.golden import models, train
    from accelgen.golden.arith import quantize
    from accelgen.golden.netspec import FCLayer, run_dense

    cnn = models.digits_cnn(16)
    front = cnn.layers[:-1]
    cfg = sgd.SGDConfig(w_frac=14, alpha=64, rounding="stochastic", group=16)
    d = train.digits_split()

    def images(x):
        return quantize(x, cfg.act_frac, cfg.act_bits).reshape(-1, 1, 8, 8)

    ftr = sgd.head_features(front, images(d.x_train), num=cnn.numerics, group=16)
    fte = sgd.head_features(front, images(d.x_test), num=cnn.numerics, group=16)
    assert ftr.shape == (len(d.y_train), 64)
    _, ws = sgd.init_weights((64, 10), cfg, seed=1)
    before = sgd.fixed_error(ws, fte, d.y_test, cfg)
    ws = sgd.train_fixed(ws, ftr, d.y_train, cfg, sgd.epoch_orders(len(ftr), 2, 1))
    after = sgd.fixed_error(ws, fte, d.y_test, cfg)
    assert before > 50 and after < 10, (before, after)
    # the head on the features == the whole network (front + FC layer) on the images
    head = FCLayer(ws[0])  # w_frac 14: the head's own format (same act format as the front)
    whole = run_dense([*front], images(d.x_test[:50]), num=cnn.numerics, group=16)[-1]
    logits = run_dense([head], whole.reshape(50, -1), num=cfg.numerics, group=16)[-1]
    np.testing.assert_array_equal(logits, sgd.forward(ws, fte[:50], cfg)[-1])
    with pytest.raises(ValueError, match="no FC layer"):
        sgd.head_features(cnn.layers, images(d.x_test[:2]), num=cnn.numerics, group=16)
