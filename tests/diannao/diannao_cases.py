"""Seeded layer cases shared by the DianNao tests (model-only and RTL)."""

from __future__ import annotations

import numpy as np

from accelgen.golden.arith import smax, smin
from accelgen.golden.netspec import ConvLayer, FCLayer, PoolLayer

ACTS = ("none", "relu", "sigmoid", "tanh")


def fc(rng, ni, no, *, batch=1, act="none", bias=True, scale=3000):
    layer = FCLayer(
        rng.integers(-scale, scale, (no, ni)),
        rng.integers(-800, 800, no) if bias else None,
        act,
    )
    return [layer], rng.integers(-2000, 2000, (batch, ni))


def conv(rng, ni, no, k, *, h=7, w=6, stride=1, pad=0, act="none", bias=True, batch=1):
    layer = ConvLayer(
        rng.integers(-3000, 3000, (no, ni, k, k)),
        rng.integers(-800, 800, no) if bias else None,
        stride=stride,
        pad=pad,
        act=act,
    )
    return [layer], rng.integers(-2000, 2000, (batch, ni, h, w))


def pool(rng, c, k, stride, mode, *, h=7, w=8, full_range=True):
    lo, hi = (smin(16), smax(16)) if full_range else (-2000, 2000)
    return [PoolLayer(k, stride, mode)], rng.integers(lo, hi + 1, (1, c, h, w))


def saturating_fc(rng, ni, no):
    """Weights and inputs near full scale: products and the accumulator saturate."""
    w = rng.choice([smin(16), smax(16)], (no, ni))
    x = rng.choice([smin(16), smax(16)], (2, ni))
    return [FCLayer(w, None, "none")], x


def saturating_conv(rng):
    w = np.full((3, 5, 3, 3), smax(16))
    w[1] = smin(16)
    x = np.full((1, 5, 5, 5), smax(16))
    return [ConvLayer(w, None, stride=1, pad=1, act="none")], x


def network(rng):
    """conv -> max pool -> conv (stride 2) -> avg pool -> fc -> fc (flattening in [C, H, W])."""
    layers = [
        ConvLayer(
            rng.integers(-3000, 3000, (6, 3, 3, 3)), rng.integers(-500, 500, 6), pad=1, act="relu"
        ),
        PoolLayer(2, 2, "max"),
        ConvLayer(rng.integers(-3000, 3000, (5, 6, 3, 3)), None, stride=2, pad=1, act="tanh"),
        PoolLayer(2, 1, "avg"),
        FCLayer(rng.integers(-3000, 3000, (9, 5)), rng.integers(-500, 500, 9), "sigmoid"),
        FCLayer(rng.integers(-3000, 3000, (3, 9)), None, "none"),
    ]
    return layers, rng.integers(-2000, 2000, (2, 3, 8, 8))


def regression_cases(seed: int, *, tn: int) -> list[tuple[str, list, np.ndarray]]:
    """Named (layers, batched x) cases covering the issue's list for one Verilog build."""
    rng = np.random.default_rng(seed)
    cases = []
    for act in ACTS:
        cases.append((f"fc-{act}", *fc(rng, 3 * tn + 1, 2 * tn - 1, act=act)))
    cases.append(("fc-batched", *fc(rng, 2 * tn + 3, tn + 1, batch=5, act="relu")))
    cases.append(("fc-no-bias", *fc(rng, tn, tn, bias=False)))
    cases.append(
        (
            "fc-empty-input-zero",
            [FCLayer(np.zeros((tn, tn), dtype=np.int16), None)],
            np.zeros((1, tn), dtype=np.int64),
        )
    )
    for k in (1, 3, 5):
        for stride in (1, 2):
            pad = 1 if k > 1 and stride == 1 else 0
            act = ACTS[(k + stride) % 4]
            cases.append(
                (
                    f"conv-k{k}-s{stride}-p{pad}",
                    *conv(
                        rng, tn + 1, tn + 2, k, h=k + 3, w=k + 2, stride=stride, pad=pad, act=act
                    ),
                )
            )
    cases.append(("conv-k3-s2-p1", *conv(rng, 2, 3, 3, h=6, w=7, stride=2, pad=1, act="relu")))
    # a 1x1 window with stride 2 on 3 rows of 64: one output row per band, so the unused
    # output-row stride (2 x 64) is wider than its field at nbin_depth 64
    cases.append(("conv-k1-s2-wide", *conv(rng, 1, 2, 1, h=3, w=64, stride=2)))
    cases.append(("pool-k1-s2-wide", *pool(rng, 1, 1, 2, "max", h=3, w=64)))
    cases.append(("pool-max", *pool(rng, tn + 1, 2, 2, "max")))
    cases.append(("pool-avg", *pool(rng, tn + 1, 3, 2, "avg")))
    cases.append(("pool-avg-overlap", *pool(rng, 2, 2, 1, "avg", h=4, w=5)))
    cases.append(("saturate-fc", *saturating_fc(rng, 2 * tn, tn)))
    cases.append(("saturate-conv", *saturating_conv(rng)))
    cases.append(("network", *network(rng)))
    return cases
