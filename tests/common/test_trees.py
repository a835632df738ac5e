"""AdderTree / MaxTree: exact sum and signed max of Tn inputs, pipelined with a valid bit."""

import numpy as np
import pytest
from blocksim import Parallel, compare, response_cycle, run_amaranth, run_rtl, with_extremes

from accelgen.golden.arith import adder_tree, max_tree, smax, smin
from accelgen.hdl.common.trees import AdderTree, MaxTree
from accelgen.sim import runner

OUTPUTS = ("result", "out_valid")
GOLDEN = {AdderTree: adder_tree, MaxTree: max_tree}


def make_vectors(rng, tn: int, bits: int, n_random: int) -> dict:
    """Corner sets (all min/max/0/-1, one lane against the rest, alternating), then random."""
    lo, hi = smin(bits), smax(bits)
    rows = [np.full(tn, v) for v in (hi, lo, 0, -1, 1)]
    for lane in range(tn):
        for one, rest in ((hi, lo), (lo, hi), (hi, hi - 1), (lo, lo + 1)):
            row = np.full(tn, rest)
            row[lane] = one
            rows.append(row)
    rows += [np.resize([hi, lo], tn), np.resize([lo, hi], tn)]
    corners = np.array(rows, dtype=np.int64)
    values = np.concatenate([corners, with_extremes(rng, bits, (n_random, tn))])
    valid = (rng.random(len(values)) < 0.75).astype(np.int64)
    valid[: len(corners)] = 1
    return {"inputs": values, "in_valid": valid}


def check(run, tree, n_random: int, seed: int):
    v = make_vectors(np.random.default_rng(seed), tree.tn, tree.act_bits, n_random)
    got = run(tree, v)
    want = {"result": GOLDEN[type(tree)](v["inputs"]), "out_valid": v["in_valid"]}
    compare(got, want, response_cycle(len(v["in_valid"]), None, tree.latency))
    return got


@pytest.mark.parametrize("cls", [AdderTree, MaxTree])
@pytest.mark.parametrize("tn", [1, 2, 4, 8, 16])
@pytest.mark.parametrize("register_every", [1, 2, 3])
def test_amaranth(cls, tn, register_every):
    tree = cls(tn, act_bits=16, register_every=register_every)
    check(lambda d, v: run_amaranth(d, v, OUTPUTS), tree, 200, seed=tn * 10 + register_every)


def test_latency_and_widths():
    assert [AdderTree(tn).latency for tn in (1, 2, 4, 8, 16)] == [1, 1, 2, 3, 4]
    assert [AdderTree(16, register_every=k).latency for k in (1, 2, 3, 4, 9)] == [4, 2, 2, 1, 1]
    assert len(AdderTree(16, act_bits=16).result) == 20
    assert len(AdderTree(1, act_bits=16).result) == 16
    assert len(MaxTree(16, act_bits=12).result) == 12


def test_adder_tree_is_exact_at_the_limit():
    # 16 x (-32768) = -524288 needs all 20 bits; one bit fewer would wrap
    tree = AdderTree(16)
    v = {"inputs": np.full((6, 16), smin(16)), "in_valid": np.ones(6, dtype=np.int64)}
    got = run_amaranth(tree, v, OUTPUTS)
    assert got["result"][-1] == -524288


SLOW_CONFIGS = {
    "adder4_8b": lambda: AdderTree(4, act_bits=8, register_every=3),
    "max1": lambda: MaxTree(1, act_bits=16),
    "adder32_32b": lambda: AdderTree(32, act_bits=32, register_every=2),
}


@pytest.mark.parametrize("simulator", runner.default_simulators())
def test_rtl(simulator):
    """AdderTree (a register per level) and MaxTree (every two levels) of Tn = 16 in one design
    (one build), 10,000 random input sets plus the corners."""
    trees = {"adder": AdderTree(16, register_every=1), "max": MaxTree(16, register_every=2)}
    v = make_vectors(np.random.default_rng(5), 16, 16, 10_000)
    both = Parallel(**trees)
    got = run_rtl(
        both, toplevel="trees", simulator=simulator, inputs=v, outputs=both.outputs(OUTPUTS)
    )
    for name, tree in trees.items():
        part = both.split(got, name, OUTPUTS)
        want = {"result": GOLDEN[type(tree)](v["inputs"]), "out_valid": v["in_valid"]}
        compare(part, want, response_cycle(len(v["in_valid"]), None, tree.latency))
        assert part["out_valid"].any() and not part["out_valid"].all()


@pytest.mark.slow
@pytest.mark.parametrize("simulator", runner.default_simulators())
@pytest.mark.parametrize("config", sorted(SLOW_CONFIGS))
def test_rtl_slow(simulator, config):
    tree = SLOW_CONFIGS[config]()
    check(
        lambda d, v: run_rtl(d, toplevel=config, simulator=simulator, inputs=v, outputs=OUTPUTS),
        tree,
        10_000,
        seed=6,
    )


@pytest.mark.parametrize("cls", [AdderTree, MaxTree])
@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(tn=12), "tn must be a power of two .*got 12"),
        (dict(tn=0), "got 0"),
        (dict(tn=4.0), "got 4.0"),
        (dict(tn=4, act_bits=1), "act_bits .* got 1"),
        (dict(tn=4, act_bits=33), "act_bits .* got 33"),
        (dict(tn=4, register_every=0), "register_every .* got 0"),
    ],
)
def test_bad_parameters(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cls(**kwargs)
