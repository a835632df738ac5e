"""The DianNao weight-update unit (hdl/diannao/update.py) against the golden update rule, beat by
beat: random and extreme operands, saturation both ways, nearest ties, partial beats, idle cycles,
LFSR loads, and the LFSR sequence itself."""

import sys
from pathlib import Path

import numpy as np
import pytest
from amaranth.hdl import Module, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import Out

sys.path.insert(0, str(Path(__file__).parents[1] / "common"))
from blocksim import run_amaranth, with_extremes  # noqa: E402

from accelgen.golden.arith import sat  # noqa: E402
from accelgen.golden.update import LFSR, LFSRConfig, rounded_update  # noqa: E402
from accelgen.hdl.diannao.update import WeightUpdate  # noqa: E402
from accelgen.sim import runner  # noqa: E402

OUTPUTS = ("w_out", "out_valid", "lfsr_state")


def beats(rng, unit: WeightUpdate, n: int) -> dict[str, np.ndarray]:
    """``n`` random beats: mostly full, some partial or idle, rare LFSR loads, the rounding mode
    switching in runs, ``alpha`` from 0 / 1 / small / large / 65535."""
    lanes = unit.lanes
    shape = (n, lanes)
    v = {
        "w": with_extremes(rng, unit.w_bits, shape),
        "g": with_extremes(rng, unit.act_bits, shape),
        "a": with_extremes(rng, unit.act_bits, shape),
    }
    nv = np.full(n, lanes)
    pick = rng.random(n)
    nv[pick < 0.15] = rng.integers(1, lanes + 1, int((pick < 0.15).sum()))
    nv[pick > 0.95] = 0
    v["n_valid"] = nv
    alpha_kind = rng.integers(0, 5, n)
    v["alpha"] = np.choose(
        alpha_kind,
        [
            np.zeros(n, int),
            np.ones(n, int),
            rng.integers(0, 64, n),
            rng.integers(0, 1 << 16, n),
            np.full(n, 65535),
        ],
    )
    v["stochastic"] = (np.cumsum(rng.random(n) < 0.02) % 3 != 2).astype(int)
    v["load"] = (rng.random(n) < 0.005).astype(int)
    v["seed"] = rng.integers(1, 1 << unit.lfsr.width, n, dtype=np.int64)
    return v


def corner_beats(unit: WeightUpdate) -> dict[str, np.ndarray]:
    """Nearest ties (``p = odd * 2^(s-1)``) both signs, saturation of both limits, exact
    updates, ``alpha = 0``."""
    lanes, s = unit.lanes, unit.shift
    rows = []
    hi, lo = (1 << (unit.w_bits - 1)) - 1, -(1 << (unit.w_bits - 1))
    amax = (1 << (unit.act_bits - 1)) - 1
    # alpha = 1, g * a = k * 2^(s-1): ties at odd k (s - 1 split over g and a)
    ga = 1 << ((s - 1) // 2)
    gb = 1 << (s - 1 - (s - 1) // 2)
    for sto in (0, 1):
        for k in (1, -1, 3, -3):
            rows.append(([0] * lanes, [k * ga] * lanes, [gb] * lanes, lanes, 1, sto))
        rows.append(([hi - 1] * lanes, [amax] * lanes, [amax] * lanes, lanes, 65535, sto))
        rows.append(([lo + 1] * lanes, [-amax - 1] * lanes, [amax] * lanes, lanes, 65535, sto))
        rows.append(([hi] * lanes, [1] * lanes, [1] * lanes, lanes, 0, sto))
    loads = [0] * len(rows)
    seeds = [1] * len(rows)
    # dropped bits equal to the LFSR draw (no round-up) and one above it (round-up): load the
    # state whose next state has low bits 2^(s-1) (- 1), then present p = 2^(s-1) in lane 0
    for below in (0, 1):
        seeds += [_previous_state(unit.lfsr, (1 << (s - 1)) - below), 1]
        loads += [1, 0]
        rows.append(([0] * lanes, [0] * lanes, [0] * lanes, 0, 0, 1))
        pad = [0] * (lanes - 1)
        rows.append(([5] * lanes, [ga, *pad], [gb, *pad], lanes, 1, 1))
    out = {k: [] for k in ("w", "g", "a", "n_valid", "alpha", "stochastic")}
    for r in rows:
        for k, val in zip(out, r, strict=True):
            out[k].append(val)
    res = {k: np.array(v, dtype=np.int64) for k, v in out.items()}
    res["load"] = np.array(loads, dtype=np.int64)
    res["seed"] = np.array(seeds, dtype=np.int64)
    return res


def _previous_state(cfg: LFSRConfig, target: int) -> int:
    """The state whose Galois step gives ``target`` (the step is invertible)."""
    if target >> (cfg.width - 1):
        return (((target ^ cfg.taps) << 1) | 1) & ((1 << cfg.width) - 1)
    return target << 1


def concat(*parts):
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def golden(v, unit: WeightUpdate) -> dict[str, np.ndarray]:
    """Per beat: ``w_out`` and the LFSR register after it (golden rule, golden LFSR)."""
    gen = LFSR(unit.lfsr)
    n = len(v["n_valid"])
    w_out = v["w"].copy()
    state = np.zeros(n, dtype=np.int64)
    for i in range(n):
        k = int(v["n_valid"][i])
        if k:
            p = int(v["alpha"][i]) * v["g"][i, :k] * v["a"][i, :k]
            mode = "stochastic" if v["stochastic"][i] else "nearest"
            upd = rounded_update(p, unit.shift, rounding=mode, lfsr=gen)
            w_out[i, :k] = sat(unit.w_bits, v["w"][i, :k] + upd)
        if v["load"][i]:
            gen.state = int(v["seed"][i])
        state[i] = gen.state
    return {"w_out": w_out, "out_valid": (v["n_valid"] != 0).astype(np.int64), "lfsr": state}


class LaneOutputs(wiring.Component):
    """Test harness: the unit with ``w_out`` as one signed port per lane (``w_out_k``), so the
    cocotb side records 64-bit integers."""

    def __init__(self, unit: WeightUpdate) -> None:
        self.unit = unit
        members = {n: m for n, m in unit.signature.members.items() if n != "w_out"}
        members.update({f"w_out_{k}": Out(signed(unit.w_bits)) for k in range(unit.lanes)})
        super().__init__(members)

    def elaborate(self, platform) -> Module:
        m = Module()
        m.submodules.unit = u = self.unit
        for name, member in u.signature.members.items():
            if member.flow == wiring.In:
                m.d.comb += getattr(u, name).eq(getattr(self, name))
            elif name != "w_out":
                m.d.comb += getattr(self, name).eq(getattr(u, name))
        for k in range(u.lanes):
            m.d.comb += getattr(self, f"w_out_{k}").eq(u.w_out[k])
        return m


def check(got, v, unit: WeightUpdate) -> dict:
    want = golden(v, unit)
    # step i samples the registers after beat i: the LFSR (latency 1) and w_out of beat i - 1
    np.testing.assert_array_equal(got["lfsr_state"], want["lfsr"], err_msg="lfsr_state")
    w = np.asarray(got["w_out"], dtype=np.int64)
    np.testing.assert_array_equal(w[1:], want["w_out"][:-1], err_msg="w_out")
    np.testing.assert_array_equal(got["out_valid"][1:], want["out_valid"][:-1])
    return want


def _properties(want, v, unit):
    """The vectors exercised what they should: both saturation limits, both modes, LFSR loads."""
    w = want["w_out"][v["n_valid"] == unit.lanes]
    assert (w == (1 << (unit.w_bits - 1)) - 1).any() and (w == -(1 << (unit.w_bits - 1))).any()
    assert v["stochastic"].any() and not v["stochastic"].all() and v["load"].any()


def test_amaranth():
    unit = WeightUpdate(lanes=4)
    v = concat(corner_beats(unit), beats(np.random.default_rng(1), unit, 600))
    got = run_amaranth(unit, {k: v[k] for k in v}, OUTPUTS)
    _properties(check(got, v, unit), v, unit)


def test_amaranth_small_formats_and_16bit_lfsr():
    unit = WeightUpdate(
        lanes=3,
        act_bits=8,
        act_frac=4,
        w_bits=8,
        w_frac=6,
        g_frac=6,
        alpha_frac=4,
        lfsr_width=16,
        lfsr_taps=0xB400,
        lfsr_seed=0xACE1,
    )
    assert unit.shift == 8
    v = concat(corner_beats(unit), beats(np.random.default_rng(2), unit, 400))
    got = run_amaranth(unit, {k: v[k] for k in v}, OUTPUTS)
    check(got, v, unit)


def test_lfsr_sequence_matches_golden_steps():
    """Full stochastic beats only: the register after beat i is the golden LFSR stepped
    ``lanes * (i + 1)`` times (recomputed here by hand, not by the golden LFSR class)."""
    unit = WeightUpdate(lanes=5, lfsr_seed=0x1234567)
    n = 40
    zeros = np.zeros((n, 5), dtype=np.int64)
    v = {
        "w": zeros,
        "g": zeros,
        "a": zeros,
        "n_valid": np.full(n, 5),
        "alpha": np.zeros(n),
        "stochastic": np.ones(n),
        "load": np.zeros(n),
        "seed": np.ones(n),
    }
    got = run_amaranth(unit, v, ("lfsr_state",))
    state, want = 0x1234567, []
    for _ in range(n):
        for _ in range(5):
            state = (state >> 1) ^ (0x80200003 if state & 1 else 0)
        want.append(state)
    assert got["lfsr_state"].tolist() == want


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(lanes=0), "lanes"),
        (dict(alpha_frac=33), "alpha_frac"),
        (dict(alpha_frac=0, g_frac=0, act_frac=0), "fewer than w_frac"),
        (dict(alpha_frac=32), "LFSR has only 32"),
        (dict(lfsr_seed=0), "seed"),
        (dict(g_frac=16), "g_frac"),
    ],
)
def test_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        WeightUpdate(**kwargs)


@pytest.mark.parametrize("simulator", runner.default_simulators())
def test_rtl(simulator):
    """>= 10,000 weights through the Verilog (8 lanes) on the simulator, against the golden
    rule and LFSR."""
    unit = WeightUpdate(lanes=8)
    v = concat(corner_beats(unit), beats(np.random.default_rng(17), unit, 1400))
    assert v["n_valid"].sum() >= 10_000
    dut = LaneOutputs(unit)
    lane_ports = [f"w_out_{k}" for k in range(unit.lanes)]
    res = runner.run_cocotb(
        dut,
        toplevel="weight_update",
        test_module="tb_vectors",
        module_dir=Path(__file__).parents[1] / "common",
        simulator=simulator,
        inputs=v,
        params={"outputs": [*lane_ports, "out_valid", "lfsr_state"], "signed": lane_ports},
    )
    got = {k: np.asarray(res.outputs[k], dtype=np.int64) for k in ("out_valid", "lfsr_state")}
    got["w_out"] = np.stack([np.asarray(res.outputs[p], dtype=np.int64) for p in lane_ports], 1)
    _properties(check(got, v, unit), v, unit)
