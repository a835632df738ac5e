"""Weight update with stochastic rounding: the LFSR, bit-exact rules, expected value kept."""

import numpy as np
import pytest

from accelgen.golden.arith import Numerics
from accelgen.golden.update import LFSR, LFSRConfig, weight_update

NUM = Numerics()  # act_frac 8, w_frac 12
ALPHA_FRAC = 16  # update has 16 + 8 + 8 = 32 fractional bits; 20 are dropped


def test_lfsr_galois_16bit_reference_values_and_period():
    cfg = LFSRConfig(width=16, taps=0xB400, seed=0xACE1)
    lfsr = LFSR(cfg)
    assert lfsr.step() == 0xE270  # 0xACE1 >> 1 = 0x5670, lsb 1 -> ^ 0xB400
    assert lfsr.step() == 0x7138  # 0xE270 >> 1, lsb 0
    lfsr = LFSR(cfg)
    period = 1
    while lfsr.step() != cfg.seed:
        period += 1
    assert period == 2**16 - 1  # maximal length


def test_lfsr_default_32bit_no_short_cycle():
    lfsr = LFSR()
    states = lfsr.draw(20000)
    assert len(set(states.tolist())) == 20000 and 0 not in states
    assert LFSR().draw(5).tolist() == states[:5].tolist()  # deterministic from the seed


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"width": 1}, "width"),
        ({"width": 16, "taps": 0x80200003}, "taps"),
        ({"width": 16, "taps": 0x3400}, "bit 15 set"),
        ({"seed": 0}, "seed"),
        ({"width": 8, "taps": 0xB8, "seed": 256}, "seed"),
        ({"seed": 1.5}, "seed"),
    ],
)
def test_lfsr_config_errors(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        LFSRConfig(**kwargs)


def test_lfsr_config_json_round_trip():
    cfg = LFSRConfig(width=16, taps=0xB400, seed=7)
    assert LFSRConfig.from_json(cfg.to_json()) == cfg


def _tiny_update(n_out, n_in, fraction_of_lsb):
    """alpha, a, g such that every exact update is ``fraction_of_lsb`` weight LSBs."""
    # a = 1.0 (256), g = 1.0 (256): p = alpha * 2**16 with 32 fractional bits; one weight LSB is
    # 2**20 at that scale, so alpha = fraction * 2**4
    alpha = round(fraction_of_lsb * 16)
    return alpha, np.full(n_in, 256), np.full(n_out, 256)


def test_nearest_drops_tiny_updates_stochastic_keeps_their_mean():
    alpha, a, g = _tiny_update(100, 100, 0.3125)  # alpha = 5: 5/16 of an LSB
    w = np.zeros((100, 100), dtype=np.int64)
    near = weight_update(w, a, g, alpha=alpha, alpha_frac=ALPHA_FRAC, num=NUM, rounding="nearest")
    assert (near == 0).all()
    sto = weight_update(w, a, g, alpha=alpha, alpha_frac=ALPHA_FRAC, num=NUM)
    assert set(np.unique(sto).tolist()) == {0, 1}
    # binomial mean 0.3125, std of the mean sqrt(p(1-p)/n) = 0.0046; allow 5 sigma
    assert abs(sto.mean() - 0.3125) < 0.025


def test_repeated_steps_accumulate_the_expected_change():
    alpha, a, g = _tiny_update(4, 8, 0.125)
    w_near = w_sto = np.zeros((4, 8), dtype=np.int64)
    lfsr = LFSR()
    for _ in range(400):
        w_near = weight_update(
            w_near, a, -g, alpha=alpha, alpha_frac=ALPHA_FRAC, num=NUM, rounding="nearest"
        )
        w_sto = weight_update(w_sto, a, -g, alpha=alpha, alpha_frac=ALPHA_FRAC, num=NUM, lfsr=lfsr)
    assert (w_near == 0).all()
    # expected -0.125 * 400 = -50 per weight; 32 weights x 400 draws: mean within a few percent
    assert abs(w_sto.mean() + 50) < 3
    assert w_sto.max() < -30


def test_exact_updates_are_not_perturbed():
    a, g = np.array([256, -512, 0, 256]), np.array([128, 256])
    w = np.array([[10, 20, 30, 40], [-5, 0, 5, 32767]])
    # alpha = 1.0 with alpha_frac = 4: 20 fractional bits, 8 dropped, all of them zero here
    want = np.clip(w + (16 * np.outer(g, a)) // 256, -32768, 32767)
    assert want[0, 0] == 10 + 2048  # 1.0 * 0.5 * 1.0 = 0.5 = 2048 weight LSBs
    for rounding in ("stochastic", "nearest"):
        got = weight_update(w, a, g, alpha=16, alpha_frac=4, num=NUM, rounding=rounding)
        np.testing.assert_array_equal(got, want)
    assert want[1, 3] == 32767  # saturated


def test_stochastic_rule_bit_exact():
    """Recompute the rule by hand with an independently stepped LFSR."""
    rng = np.random.default_rng(5)
    w = rng.integers(-3000, 3000, (3, 5))
    a, g = rng.integers(-400, 400, 5), rng.integers(-400, 400, 3)
    cfg = LFSRConfig(width=24, taps=0xE10000, seed=12345)
    got = weight_update(w, a, g, alpha=77, alpha_frac=8, num=NUM, lfsr=LFSR(cfg))
    state, want = cfg.seed, np.zeros_like(w)
    for i in range(3):
        for j in range(5):
            state = (state >> 1) ^ (cfg.taps if state & 1 else 0)
            p = 77 * int(g[i]) * int(a[j])  # 24 fractional bits, drop 12
            up = 1 if (p % 4096) > (state % 4096) else 0
            want[i, j] = max(-32768, min(32767, int(w[i, j]) + (p // 4096) + up))
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"alpha": -1}, "alpha must be"),
        ({"alpha": 1 << 16}, "alpha must be"),
        ({"alpha_frac": 40}, "alpha_frac"),
        ({"alpha_frac": 0, "num": Numerics(act_frac=4, w_frac=12)}, "fewer than w_frac"),
        ({"alpha_frac": 32}, "LFSR has only 32"),
        ({"rounding": "up"}, "rounding"),
        ({"w": np.ones((2, 3), float)}, "w must be an integer"),
        ({"a": np.ones(4, int)}, "a\\[in\\]"),
    ],
)
def test_bad_input(kwargs, match):
    args = {"w": np.zeros((2, 3), int), "a": np.ones(3, int), "g": np.ones(2, int)}
    opts = {"alpha": 1, "alpha_frac": 16, "num": NUM}
    for k, v in kwargs.items():
        (args if k in args else opts)[k] = v
    with pytest.raises((ValueError, TypeError), match=match):
        weight_update(args["w"], args["a"], args["g"], **opts)
