"""MAC: rounding multiply and saturating accumulate, cycle-accurate against golden.arith."""

import itertools

import numpy as np
import pytest
from blocksim import (
    Parallel,
    compare,
    expand,
    response_cycle,
    run_amaranth,
    run_rtl,
    with_extremes,
)

from accelgen.golden.arith import accumulate, multiply, sat, smax, smin
from accelgen.hdl.common.mac import MAC
from accelgen.sim import runner

OUTPUTS = ("acc", "y", "out_valid")
FIELDS = ("a", "w", "in_valid", "clear", "load_bias", "bias")


def steps(*rows, repeat=1):
    """Vectors from ``(a, w, in_valid, clear, load_bias, bias)`` rows, each held ``repeat``."""
    return [(dict(zip(FIELDS, r, strict=True)), repeat) for r in rows]


def corner_steps(mac: MAC, *, max_hold: int | None = None) -> list:
    """Operand extremes, rounding ties, controls, and saturation of acc and y both ways (left out
    when that takes more than ``max_hold`` cycles)."""
    ab, wb, wf = mac.act_bits, mac.w_bits, mac.w_frac
    a_ext = [smin(ab), smin(ab) + 1, -1, 0, 1, smax(ab)]
    w_ext = [smin(wb), smin(wb) + 1, -1, 0, 1, smax(wb)]
    # every extreme pair, each product on its own (clear + in_valid: acc = p)
    out = steps(*[(a, w, 1, 1, 0, 0) for a, w in itertools.product(a_ext, w_ext)])
    if wf:
        half = 1 << (wf - 1)  # products exactly half an LSB away: round half up
        out += steps(*[(a, s * half, 1, 1, 0, 0) for a in (1, -1, 3, -3) for s in (1, -1)])
        out += steps(*[(a, s * (half + 1), 1, 1, 0, 0) for a in (1, -1) for s in (1, -1)])
    # the largest product magnitude, so the accumulator saturates in as few cycles as possible
    big = max(1, int(np.max(np.abs(multiply(a_ext, smax(wb), w_frac=wf, act_bits=ab)))))
    n_sat = ((1 << (mac.acc_bits - 1)) // big) + 8
    if max_hold is not None and n_sat > max_hold:
        return out
    p_max, p_min = (smax(ab), smax(wb)), (smin(ab), smax(wb))
    out += steps((*p_max, 1, 1, 0, 0))  # clear, then up into positive saturation
    out += steps((*p_max, 1, 0, 0, 0), repeat=n_sat)
    out += steps((*p_max, 1, 0, 0, 0), repeat=3)  # stays saturated
    out += steps((*p_min, 1, 0, 0, 0), repeat=2)  # leaves saturation by exactly p
    out += steps((*p_min, 1, 0, 0, 0), repeat=2 * n_sat)  # down into negative saturation
    out += steps((*p_max, 1, 0, 0, 0))  # and out again
    out += steps((0, 0, 0, 0, 0, 0), repeat=5)  # no valid: holds
    out += steps((*p_min, 1, 0, 1, smin(ab)), (*p_min, 1, 0, 0, 0))  # bias + products
    out += steps((*p_min, 1, 0, 0, 0), repeat=n_sat)
    out += steps((0, 0, 0, 1, 0, 0), (0, 0, 0, 0, 1, smax(ab)))  # clear / load_bias alone
    out += steps((0, 0, 0, 1, 1, 77), (5, smax(wb), 0, 0, 0, 0))  # clear wins; no valid
    out += steps((*p_max, 1, 0, 1, smax(ab)), (*p_max, 1, 0, 0, 0), repeat=1)
    out += steps((*p_max, 1, 0, 0, 0), repeat=n_sat)
    return out


def random_steps(rng, mac: MAC, n: int) -> list:
    """Random traffic; one stretch of same-sign products drives the accumulator to saturation."""
    a = with_extremes(rng, mac.act_bits, n)
    w = with_extremes(rng, mac.w_bits, n)
    drift = slice(n // 2, n // 2 + n // 5)
    a[drift] = np.minimum(np.abs(a[drift]), smax(mac.act_bits))
    w[drift] = np.minimum(np.abs(w[drift]), smax(mac.w_bits))
    cols = dict(
        a=a,
        w=w,
        in_valid=rng.random(n) < 0.8,
        clear=rng.random(n) < 0.01,
        load_bias=rng.random(n) < 0.01,
        bias=with_extremes(rng, mac.act_bits, n),
    )
    cols["clear"][drift] = cols["load_bias"][drift] = False
    return [({k: int(cols[k][i]) for k in FIELDS}, 1) for i in range(n)]


def to_vectors(step_list):
    inputs = {k: np.array([s[k] for s, _ in step_list], dtype=np.int64) for k in FIELDS}
    return inputs, np.array([r for _, r in step_list], dtype=np.int64)


def golden(v, mac: MAC) -> dict:
    """Per-cycle accumulator after each input vector: restart at clear (0) or load_bias (bias),
    then ``acc = sat(acc_bits, acc + multiply(a, w))`` for every valid product, in order."""
    p = multiply(v["a"], v["w"], w_frac=mac.w_frac, act_bits=mac.act_bits)
    p = np.where(v["in_valid"] != 0, p, 0)  # adding 0 leaves an in-range accumulator as it is
    restart = np.flatnonzero((v["clear"] != 0) | (v["load_bias"] != 0)).tolist()
    acc = np.empty(len(p), dtype=np.int64)
    for start, end in zip([0, *restart], [*restart, len(p)], strict=True):
        if start == end:
            continue
        init = 0 if start == 0 or v["clear"][start] else int(v["bias"][start])
        acc[start:end] = accumulate(p[start:end], acc_bits=mac.acc_bits, init=init)
    return {"acc": acc, "y": sat(mac.act_bits, acc), "out_valid": v["in_valid"]}


def check(run, mac: MAC, step_list):
    inputs, repeat = to_vectors(step_list)
    got = run(mac, inputs, repeat)
    want = golden(expand(inputs, repeat), mac)
    compare(got, want, response_cycle(len(repeat), repeat, mac.latency))
    return got


def both_saturations(got, mac: MAC) -> None:
    """The run really reached both accumulator limits and both output limits."""
    for port, bits in (("acc", mac.acc_bits), ("y", mac.act_bits)):
        assert got[port].max() == smax(bits) and got[port].min() == smin(bits), port


@pytest.mark.parametrize("acc_bits", [24, 32])
def test_amaranth(acc_bits):
    mac = MAC(acc_bits=acc_bits)
    rng = np.random.default_rng(acc_bits)
    got = check(
        lambda d, i, r: run_amaranth(d, i, OUTPUTS, repeat=r),
        mac,
        corner_steps(mac, max_hold=1000) + random_steps(rng, mac, 1500),
    )
    if acc_bits == 24:  # the 32-bit saturation runs (65k cycles) are left to the RTL tests
        both_saturations(got, mac)


@pytest.mark.parametrize(
    "kwargs", [dict(w_frac=0, w_bits=8, act_bits=8, act_frac=4), dict(act_bits=24)]
)
def test_amaranth_other_formats(kwargs):
    mac = MAC(**kwargs)
    rng = np.random.default_rng(7)
    check(
        lambda d, i, r: run_amaranth(d, i, OUTPUTS, repeat=r),
        mac,
        corner_steps(mac, max_hold=1000) + random_steps(rng, mac, 500),
    )


@pytest.mark.parametrize("simulator", runner.default_simulators())
def test_rtl(simulator):
    """Both accumulator widths in one design (one build), fed the corners of both and 10,000
    random vectors; each must hit both limits of its accumulator and of y."""
    macs = {"mac24": MAC(acc_bits=24), "mac32": MAC(acc_bits=32)}
    rng = np.random.default_rng(124)
    step_list = corner_steps(macs["mac24"]) + corner_steps(macs["mac32"])
    step_list += random_steps(rng, macs["mac24"], 10_000)
    inputs, repeat = to_vectors(step_list)
    both = Parallel(**macs)
    got = run_rtl(
        both,
        toplevel="macs",
        simulator=simulator,
        inputs=inputs,
        outputs=both.outputs(OUTPUTS),
        repeat=repeat,
    )
    for name, mac in macs.items():
        part = both.split(got, name, OUTPUTS)
        want = golden(expand(inputs, repeat), mac)
        compare(part, want, response_cycle(len(repeat), repeat, mac.latency))
        both_saturations(part, mac)


@pytest.mark.slow
@pytest.mark.parametrize("simulator", runner.default_simulators())
@pytest.mark.parametrize(
    "kwargs",
    [
        dict(act_bits=8, act_frac=4, w_bits=8, w_frac=0, acc_bits=24),
        dict(act_bits=24, act_frac=12, w_bits=12, w_frac=11, acc_bits=32),
    ],
)
def test_rtl_other_formats(simulator, kwargs):
    mac = MAC(**kwargs)
    rng = np.random.default_rng(3)
    check(
        lambda d, i, r: run_rtl(
            d, toplevel="mac_fmt", simulator=simulator, inputs=i, outputs=OUTPUTS, repeat=r
        ),
        mac,
        corner_steps(mac) + random_steps(rng, mac, 10_000),
    )


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(acc_bits=16), "acc_bits must be 24 or 32, got 16"),
        (dict(acc_bits=24.0), "acc_bits must be 24 or 32, got 24.0"),
        (dict(act_bits=1), "act_bits .* got 1"),
        (dict(act_bits=25, acc_bits=24), "act_bits .* got 25"),
        (dict(act_frac=16), "act_frac .* got 16"),
        (dict(act_frac=-1), "act_frac .* got -1"),
        (dict(w_bits=33), "w_bits .* got 33"),
        (dict(w_frac=16), "w_frac .* got 16"),
        (dict(w_bits=8, w_frac=8), "w_frac .* got 8"),
        (dict(w_frac=True), "w_frac .* got True"),
    ],
)
def test_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MAC(**kwargs)
