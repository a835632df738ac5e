"""cocotb on Icarus and Verilator: the generated ``diannao_top`` runs the compiler's programs and
matches the golden layers bit for bit, and the Python CP model's outputs and cycle counts.

Every Verilog configuration is built once per simulator and runs many layers (programs and
buffer contents are run-time data), so each test here is one simulator run of many cases.
"""

import numpy as np
import pytest
from diannao_cases import fc, regression_cases

from accelgen.golden.netspec import run_dense
from accelgen.sim import diannao as api
from accelgen.sim.runner import default_simulators
from accelgen.spec.diannao import DianNaoConfig

SIMS = default_simulators()

# tn2-acc32 has the CLI's default depths, so `accelgen sim diannao --tn 2 --acc-bits 32`
# reuses its build.
CONFIGS = {
    "tn2-acc32": DianNaoConfig(tn=2, acc_bits=32),
    "tn4": DianNaoConfig(tn=4, nbin_depth=64, sb_depth=32, nbout_depth=32, imem_depth=8),
    "tn8": DianNaoConfig(tn=8, double_buffer=True),
}


# Every case runs on tn4 (24-bit accumulator); the other builds run a subset that still covers
# every layer type, so the suite stays within its time budget (simulated host traffic is the
# cost: Icarus runs this design at roughly 1 ms per cycle).
SUBSETS = {
    "tn2-acc32": (
        "fc-none",
        "fc-sigmoid",
        "fc-batched",
        "conv-k3-s1-p1",
        "conv-k1-s2-p0",
        "pool-avg",
        "saturate-fc",
        "saturate-conv",
        "fc-multi-tile",
    ),
    "tn8": (
        "fc-tanh",
        "fc-batched",
        "conv-k3-s1-p1",
        "conv-k3-s2-p1",
        "pool-max",
        "fc-multi-tile",
    ),
}


def _cases(name: str, config: DianNaoConfig, seed: int):
    rng = np.random.default_rng(seed)
    cases = regression_cases(seed, tn=config.tn)
    # a classifier larger than NBin / SB: several host tiles, partial sums kept in NBout
    ni = (min(config.nbin_depth, config.sb_depth) + 3) * config.tn + 1
    cases.append(("fc-multi-tile", *fc(rng, ni, config.tn + 1, batch=2, act="relu")))
    keep = SUBSETS.get(name)
    return [
        (case, layers, x)
        for case, layers, x in cases
        if (keep is None or case in keep) and _fits(layers, x, config)
    ]


def _fits(layers, x, config) -> bool:
    try:
        api.check_mappable(layers, x.shape, config)
    except ValueError:
        return False
    return True


def _check(config, cases, results):
    for (name, layers, x), res in zip(cases, results, strict=True):
        golden = run_dense(layers, x, num=config.numerics, group=config.tn)
        model = api.run_model(layers, x, config=config)
        for j, want in enumerate(golden):
            np.testing.assert_array_equal(res.outputs[j], want, err_msg=f"{name} layer {j}")
        np.testing.assert_array_equal(res.layer_cycles, model.layer_cycles, err_msg=name)
        np.testing.assert_array_equal(res.nfu_busy, model.nfu_busy, err_msg=name)
        np.testing.assert_array_equal(res.stall_cycles, model.stall_cycles, err_msg=name)
        for got, want in zip(res.tile_stats, model.tile_stats, strict=True):
            np.testing.assert_array_equal(got, want, err_msg=f"{name} per-tile counters")


@pytest.mark.parametrize("simulator", SIMS)
@pytest.mark.parametrize("name", list(CONFIGS))
def test_regression_on_rtl(name, simulator):
    config = CONFIGS[name]
    cases = _cases(name, config, seed=11)
    assert len(cases) == len(SUBSETS.get(name, cases))
    if name == "tn8":
        # dense classifier with Ni, No multiples of Tn: measured NFU utilization >= 80 %. A batch
        # of two shares each SB block (64 steps per host tile); at batch 1 a tile of this
        # double-buffered 64-word SB has 32 steps and the 16-cycle program overhead (fetch +
        # 15-cycle pipeline drain) limits it to 32 / 48 = 67 %.
        cases.append(("fc-utilization", *fc(np.random.default_rng(2), 128, 64, batch=2)))
    results = api.simulate_cases(
        [(layers, x) for _, layers, x in cases], config=config, simulator=simulator
    )
    _check(config, cases, results)
    if name == "tn8":
        util = results[-1].utilization[0]
        assert util >= 0.8, f"dense classifier utilization {util:.3f} < 0.8"
        names = [n for n, _, _ in cases]
        conv = results[names.index("conv-k3-s1-p1")]
        assert 0 < conv.utilization[0] < 1


@pytest.mark.slow
@pytest.mark.parametrize("simulator", SIMS)
def test_regression_tn16(simulator):
    config = DianNaoConfig(tn=16)
    cases = _cases("tn16", config, seed=12)
    cases.append(("fc-utilization", *fc(np.random.default_rng(3), 512, 64)))
    results = api.simulate_cases(
        [(layers, x) for _, layers, x in cases], config=config, simulator=simulator
    )
    _check(config, cases, results)
    assert results[-1].utilization[0] >= 0.8


def test_simulate_chunks_a_batch_and_splits_cycles():
    """The public simulate(): chunked batch, progress off, per-sample cycle split."""
    config = CONFIGS["tn4"]
    layers, x = fc(np.random.default_rng(4), 9, 5, batch=3, act="sigmoid")
    res = api.simulate(layers, x, config=config, simulator=SIMS[-1], progress=False, chunk=2)
    np.testing.assert_array_equal(res.y, run_dense(layers, x, num=config.numerics, group=4)[-1])
    assert res.layer_cycles.shape == (3, 1) and res.cycles.shape == (3,)
    assert res.layer_cycles.sum() == res.tile_stats[0][:, 0].sum()
    assert res.tile_stats[0][:, 3].tolist() == [0, 2]  # two runs of 2 and 1 samples
    # the run of two samples shares its program: its cycles are split between them
    first, second = res.tile_stats[0][:, 0]
    assert res.layer_cycles[:2, 0].sum() == first and res.layer_cycles[2, 0] == second
    assert abs(res.layer_cycles[0, 0] - res.layer_cycles[1, 0]) <= 1
