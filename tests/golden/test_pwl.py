"""golden.pwl: fitted tables meet the accuracy targets; evaluate() against a long-hand reference."""

import math
from fractions import Fraction

import numpy as np
import pytest

from accelgen.golden.pwl import DEFAULT_RANGES, FUNCTIONS, PWLTable, evaluate, fit, segment_index


def ref_evaluate(table: PWLTable, x: int) -> int:
    """docs/numerics.md spelled out: clamp, segment by division, exact rational rounding."""
    x_max = table.x_min + table.segments * 2**table.seg_shift
    xc = min(max(x, table.x_min), x_max - 1)
    seg = (xc - table.x_min) // 2**table.seg_shift
    a, b = table.slopes[seg], table.intercepts[seg]
    v = math.floor(Fraction(a * xc, 2**table.act_frac) + Fraction(1, 2)) + b
    lo, hi = -(2 ** (table.act_bits - 1)), 2 ** (table.act_bits - 1) - 1
    return lo if v < lo else hi if v > hi else v


def all_inputs(act_bits: int = 16) -> np.ndarray:
    return np.arange(-(2 ** (act_bits - 1)), 2 ** (act_bits - 1), dtype=np.int64)


@pytest.mark.parametrize("function, bound", [("sigmoid", 0.015), ("tanh", 0.03)])
def test_fit_meets_the_error_target(function, bound):
    table = fit(function)
    lo, hi = DEFAULT_RANGES[function]
    x = np.arange(int(lo * 256), int(hi * 256), dtype=np.int64)  # every Q8 input of the range
    err = np.abs(evaluate(table, x) / 256.0 - FUNCTIONS[function](x / 256.0))
    assert err.max() <= bound, f"{function}: max error {err.max():.4f} > {bound}"
    assert table.x_min == int(lo * 256) and table.x_max == int(hi * 256)
    assert table.segments == 16


@pytest.mark.parametrize("function", ["sigmoid", "tanh"])
def test_fit_outside_the_range_is_clamped(function):
    table = fit(function)
    below = evaluate(table, np.array([-32768, table.x_min - 1, table.x_min]))
    above = evaluate(table, np.array([table.x_max - 1, table.x_max, 32767]))
    assert len(set(below.tolist())) == 1 and len(set(above.tolist())) == 1
    # and the ends approach the asymptotes
    low_asymptote = 0.0 if function == "sigmoid" else -1.0
    assert abs(below[0] / 256 - low_asymptote) < 0.01 and abs(above[0] / 256 - 1.0) < 0.01


@pytest.mark.parametrize("segments", [2, 4, 8])  # beyond 16, Q8 coefficients limit it
def test_fit_improves_with_segments(segments):
    err = []
    for n in (segments, 2 * segments):
        t = fit("sigmoid", segments=n)
        x = np.arange(t.x_min, t.x_max)
        err.append(np.abs(evaluate(t, x) / 256 - FUNCTIONS["sigmoid"](x / 256)).max())
    assert err[1] < err[0]


def random_table(rng, seg_shift: int, act_bits: int = 16, act_frac: int = 8) -> PWLTable:
    span = 16 << seg_shift
    lo, hi = -(2 ** (act_bits - 1)), 2 ** (act_bits - 1) - 1
    return PWLTable(
        x_min=int(rng.integers(lo, hi + 2 - span)),
        seg_shift=seg_shift,
        slopes=tuple(int(v) for v in rng.integers(-32768, 32768, 16)),
        intercepts=tuple(int(v) for v in rng.integers(-32768, 32768, 16)),
        act_bits=act_bits,
        act_frac=act_frac,
    )


@pytest.mark.parametrize("seg_shift", [0, 3, 7, 12])
def test_evaluate_matches_reference(seg_shift):
    rng = np.random.default_rng(seg_shift)
    tables = [random_table(rng, seg_shift), fit("sigmoid"), fit("tanh")]
    for t in tables:
        edges = t.x_min + (np.arange(17) << t.seg_shift)
        x = np.concatenate([edges - 1, edges, edges + 1, rng.integers(-32768, 32768, 1500)])
        x = np.clip(x, -32768, 32767)
        assert evaluate(t, x).tolist() == [ref_evaluate(t, int(v)) for v in x]


def test_evaluate_other_format():
    rng = np.random.default_rng(9)
    t = random_table(rng, 4, act_bits=12, act_frac=5)
    x = all_inputs(12)
    assert evaluate(t, x).tolist() == [ref_evaluate(t, int(v)) for v in x]


def test_segment_index():
    t = fit("sigmoid")  # x_min -2048, width 256
    xc, seg = segment_index(t, np.array([-32768, -2049, -2048, -1793, -1792, 2047, 2048]))
    assert xc.tolist() == [-2048, -2048, -2048, -1793, -1792, 2047, 2047]
    assert seg.tolist() == [0, 0, 0, 0, 1, 15, 15]


def test_json_round_trip():
    t = fit("tanh")
    assert PWLTable.from_json(t.to_json()) == t


def table(**kw) -> PWLTable:
    args = dict(x_min=-2048, seg_shift=8, slopes=(0,) * 16, intercepts=(0,) * 16)
    args.update(kw)
    return PWLTable(**args)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(slopes=(0,) * 12, intercepts=(0,) * 12), "power of two, got 12"),
        (dict(slopes=(), intercepts=()), "power of two, got 0"),
        (dict(intercepts=(0,) * 8), "16 slopes but 8 intercepts"),
        (dict(slopes=(32768,) + (0,) * 15), "slope 32768 does not fit"),
        (dict(intercepts=(0,) * 15 + (-32769,)), "intercept -32769 does not fit"),
        (dict(act_frac=0), "act_frac .* got 0"),
        (dict(act_frac=16), "act_frac .* got 16"),
        (dict(seg_shift=-1), "seg_shift must be >= 0, got -1"),
        (dict(x_min=-32769), r"range \[-32769, "),
        (dict(x_min=30000), r"range \[30000, 34096\)"),
        (dict(seg_shift=13, x_min=-32768), "does not fit 16-bit"),
    ],
)
def test_table_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        table(**kwargs)


def test_table_accepts_the_full_range():
    t = table(x_min=-32768, seg_shift=12)
    assert t.x_max - 1 == 32767


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        (("relu",), {}, "unknown PWL function 'relu'"),
        (("sigmoid",), dict(segments=12), "power of two, got 12"),
        (("sigmoid",), dict(x_range=(-8.0, 7.0)), "does not split"),
        (("tanh",), dict(x_range=(1.0, 1.0)), "does not split"),
    ],
)
def test_fit_validation(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        fit(*args, **kwargs)
