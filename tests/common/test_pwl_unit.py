"""PWLUnit: run-time-loaded piecewise-linear tables, bit-exact with golden.pwl.evaluate.

(Named ``test_pwl_unit`` because ``tests/golden/test_pwl.py`` tests the golden tables.)
"""

import numpy as np
import pytest
from blocksim import response_cycle, run_amaranth, run_rtl, with_extremes

from accelgen.golden.arith import smax, smin
from accelgen.golden.pwl import PWLTable, evaluate, fit
from accelgen.hdl.common.pwl import PWLUnit
from accelgen.sim import runner

OUTPUTS = ("y", "out_valid")
FIELDS = ("x", "bypass", "in_valid", "wr__en", "wr__addr", "wr__data")


def random_table(rng, *, act_bits=16, act_frac=8, segments=16, seg_shift=None) -> PWLTable:
    """Random coefficients (extremes included, so y saturates) over a random range."""
    if seg_shift is None:
        seg_shift = int(rng.integers(0, act_bits - int(np.log2(segments)) + 1))
    span = segments << seg_shift
    x_min = int(rng.integers(smin(act_bits), smax(act_bits) + 2 - span))
    return PWLTable(
        x_min=x_min,
        seg_shift=seg_shift,
        slopes=tuple(with_extremes(rng, 16, segments).tolist()),
        intercepts=tuple(with_extremes(rng, 16, segments).tolist()),
        act_bits=act_bits,
        act_frac=act_frac,
    )


def probe_points(table: PWLTable) -> np.ndarray:
    """Every segment boundary +-1, the range ends and far outside them, the activation limits."""
    width = 1 << table.seg_shift
    edges = table.x_min + width * np.arange(table.segments + 1)
    far = [table.x_min - 1000, table.x_max + 1000, smin(table.act_bits), smax(table.act_bits)]
    pts = np.concatenate([edges - 1, edges, edges + 1, far])
    return np.clip(pts, smin(table.act_bits), smax(table.act_bits))


class Program:
    """Builds the input vectors: table loads through the write port, then samples."""

    def __init__(self, unit: PWLUnit):
        self.unit = unit
        self.rows: list[tuple] = []
        self.table_of: list[PWLTable | None] = []  # the table in force for each sample row

    def idle(self, n: int) -> None:
        self.rows += [(0, 0, 0, 0, 0, 0)] * n
        self.table_of += [None] * n

    def load(self, table: PWLTable) -> None:
        self.idle(self.unit.latency)  # nothing in flight while the table changes
        for addr, data in self.unit.table_writes(table):
            self.rows.append((0, 0, 0, 1, addr, data))
            self.table_of.append(None)
        self.idle(self.unit.write_settle)  # the range's upper end is registered

    def samples(self, table: PWLTable, x: np.ndarray, bypass: np.ndarray) -> None:
        self.rows += [(int(v), int(b), 1, 0, 0, 0) for v, b in zip(x, bypass, strict=True)]
        self.table_of += [table] * len(x)

    def inputs(self) -> dict:
        return {
            k: np.array([r[i] for r in self.rows], dtype=np.int64) for i, k in enumerate(FIELDS)
        }

    def golden(self) -> np.ndarray:
        """y for every sample row (bypass: x itself); 0 elsewhere (not compared)."""
        v = self.inputs()
        y = np.zeros(len(self.rows), dtype=np.int64)
        for table in {id(t): t for t in self.table_of if t is not None}.values():
            rows = np.array([t is table for t in self.table_of])
            y[rows] = evaluate(table, v["x"][rows])
        return np.where(v["bypass"] != 0, v["x"], y)


def build_program(rng, unit: PWLUnit, tables: list[PWLTable], n_random: int) -> Program:
    """The first table is the unit's reset table; the others are loaded at run time."""
    prog = Program(unit)
    for i, table in enumerate(tables):
        if i:
            prog.load(table)
        x = np.concatenate([probe_points(table), with_extremes(rng, unit.act_bits, n_random)])
        x = np.concatenate([x, rng.integers(table.x_min, table.x_max, n_random)])
        bypass = (rng.random(len(x)) < 0.1).astype(np.int64)
        bypass[: len(probe_points(table))] = 0
        prog.samples(table, x, bypass)
    prog.idle(unit.latency)
    return prog


def check(run, unit: PWLUnit, prog: Program):
    v = prog.inputs()
    got = run(unit, v)
    cycle = response_cycle(len(v["x"]), None, unit.latency)
    ok = cycle >= 0
    np.testing.assert_array_equal(got["out_valid"][ok], v["in_valid"][cycle[ok]])
    sampled = ok & (got["out_valid"] != 0)
    np.testing.assert_array_equal(
        got["y"][sampled], prog.golden()[cycle[sampled]], err_msg="PWL output y"
    )
    return got


def default_tables(rng) -> list[PWLTable]:
    full_range = random_table(rng, seg_shift=12)  # x_min = -32768: nothing to clamp
    return [fit("sigmoid"), fit("tanh"), random_table(rng), full_range]


def test_amaranth():
    rng = np.random.default_rng(11)
    tables = default_tables(rng)
    unit = PWLUnit(table=tables[0])
    got = check(
        lambda d, v: run_amaranth(d, v, OUTPUTS), unit, build_program(rng, unit, tables, 150)
    )
    assert got["y"].max() == smax(16) and got["y"].min() == smin(16)  # saturated both ways


@pytest.mark.parametrize("segments", [1, 2, 8])
def test_amaranth_segments(segments):
    rng = np.random.default_rng(segments)
    tables = [
        fit("sigmoid", segments=segments),
        random_table(rng, segments=segments),
        random_table(rng, segments=segments, seg_shift=0),
    ]
    unit = PWLUnit(segments=segments)  # starts from an all-zero table: load every one
    prog = Program(unit)
    for t in tables:
        prog.load(t)
        x = np.concatenate([probe_points(t), with_extremes(rng, 16, 100)])
        prog.samples(t, x, np.zeros(len(x), dtype=np.int64))
    prog.idle(unit.latency)
    check(lambda d, v: run_amaranth(d, v, OUTPUTS), unit, prog)


def test_amaranth_other_format():
    rng = np.random.default_rng(5)
    tables = [
        fit("tanh", act_bits=12, act_frac=6, segments=16),
        random_table(rng, act_bits=12, act_frac=6),
    ]
    unit = PWLUnit(act_bits=12, act_frac=6, table=tables[0])
    check(lambda d, v: run_amaranth(d, v, OUTPUTS), unit, build_program(rng, unit, tables, 150))


@pytest.mark.parametrize("simulator", runner.default_simulators())
def test_rtl(simulator):
    rng = np.random.default_rng(12)
    tables = default_tables(rng)
    unit = PWLUnit(table=tables[0])
    prog = build_program(rng, unit, tables, 1300)  # 4 tables x 2600 random + probes: > 10,000
    got = check(
        lambda d, v: run_rtl(d, toplevel="pwl", simulator=simulator, inputs=v, outputs=OUTPUTS),
        unit,
        prog,
    )
    assert got["out_valid"].sum() > 10_000


def test_table_writes_layout():
    unit = PWLUnit(segments=4)
    t = PWLTable(x_min=-8, seg_shift=1, slopes=(1, 2, 3, 4), intercepts=(-1, -2, -3, -4))
    assert unit.table_writes(t) == [
        (0, 1),
        (1, 2),
        (2, 3),
        (3, 4),
        (4, -1),
        (5, -2),
        (6, -3),
        (7, -4),
        (8, -8),
        (9, 1),
    ]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(act_bits=1), "act_bits .* got 1"),
        (dict(act_frac=0), "act_frac .* got 0"),
        (dict(act_frac=16), "act_frac .* got 16"),
        (dict(segments=12), "segments must be a power of two .* got 12"),
        (dict(segments=512), "got 512"),
        (dict(table="sigmoid"), "table must be a PWLTable, got 'sigmoid'"),
        (dict(segments=8, table=fit("sigmoid")), "table has 16 segments but the unit has 8"),
        (dict(act_frac=7, table=fit("sigmoid")), "table has act_frac=8 but the unit has 7"),
        (dict(act_bits=12, act_frac=8, table=fit("sigmoid")), "act_bits=16 .* 12"),
    ],
)
def test_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        PWLUnit(**kwargs)
