"""The EIE core on Icarus and Verilator against the golden model (cocotb integration).

Each configuration is built once per simulator and runs many networks (sizes, densities, bias,
ReLU and codebooks are run-time data). Cycle counts are read from the RTL counters.
"""

from __future__ import annotations

import numpy as np
import pytest
from eie_cases import (
    activations,
    codebook,
    index_matrix,
    paper_layer,
    random_layer,
    random_network,
)

from accelgen.golden.eie_cycles import predict_for
from accelgen.golden.eie_format import encode
from accelgen.golden.netspec import EIELayer, run_eie
from accelgen.host.eie import build_image
from accelgen.sim import runner
from accelgen.sim.eie import Job, run_jobs, simulate
from accelgen.spec.eie import EIEConfig

#: The paper's plain scheme, spelled out (the default config has options (c), (d), (e) on).
PAPER_SCHEME = {
    "skip_empty": False, "filter_empty": False, "merge_padding": False, "decouple_depth": 0
}  # fmt: skip

# n1, n2, n4: the default options (filter (c), padding merge (d), decoupled broadcast (e) with
# S = 2); n8: the paper's plain scheme
CONFIGS = {
    "n1": EIEConfig(
        n_pes=1, fifo_depth=1, acc_bits=24, regfile_depth=64, spmat_words=512,
        ptr_depth=512, max_layers=3,
    ),
    "n2": EIEConfig(
        n_pes=2, fifo_depth=2, acc_bits=32, act_frac=6, w_frac=10, regfile_depth=32,
        spmat_words=256, ptr_depth=512, max_layers=3,
    ),
    "n4": EIEConfig(
        n_pes=4, fifo_depth=8, acc_bits=24, regfile_depth=256, spmat_words=256,
        ptr_depth=1024, max_layers=3,
    ),
    "n8": EIEConfig(
        n_pes=8, fifo_depth=8, acc_bits=32, regfile_depth=32, spmat_words=256,
        ptr_depth=512, max_layers=3, **PAPER_SCHEME,
    ),
}  # fmt: skip
# option (a), empty-column skipping: the n8 build with skip_empty (one more build per simulator)
CONFIGS["n8s"] = CONFIGS["n8"].replace(skip_empty=True)
# ... and with the empty-column filter too
CONFIGS["n8sf"] = CONFIGS["n8s"].replace(filter_empty=True)
# the n4 build without padding merge, (c) + (e) (tall register files: layers with padding)
CONFIGS["n4nm"] = CONFIGS["n4"].replace(merge_padding=False)
# decoupled broadcast through a shared 4-column buffer, with the filter and skipping
CONFIGS["n8sfd"] = CONFIGS["n8sf"].replace(decouple_depth=4)


def run_fill_cycles(config: EIEConfig) -> int:
    """Run-phase cycles beyond one per entry when no PE starves, from the pipeline (docs/eie.md,
    run schedule): window read, window register, broadcast register, queue, pointer read, span
    hand-over, line read, slot select, decode, multiply, round, accumulate, and the cycle in
    which the registered run-end condition ends the run (13); the span buffer of option (a)
    and the shared broadcast buffer of option (e) add one stage each."""
    return 13 + int(config.skip_empty) + int(config.decouple_depth > 0)


def balanced_layer(rng: np.random.Generator, n: int, local_rows: int, cols: int, k: int):
    """Every PE has exactly ``k`` entries in every column (no padding)."""
    idx = np.zeros((n * local_rows, cols), dtype=np.uint8)
    for pe in range(n):
        for col in range(cols):
            rows = rng.choice(local_rows, size=k, replace=False)
            idx[rows * n + pe, col] = rng.integers(1, 16, k)
    return EIELayer(codebook(rng), idx, None, False)


def saturating_layer(rng: np.random.Generator, rows: int, cols: int) -> EIELayer:
    cb = np.array([0, 32767, -32768, 30000, -30000] + [32767] * 11, dtype=np.int16)
    idx = rng.integers(1, 16, (rows, cols)).astype(np.uint8)
    return EIELayer(cb, idx, rng.integers(-32768, 32768, rows).astype(np.int16), False)


def order_saturation_layer(cols: int) -> EIELayer:
    """One row: large positive products first, then as many negative ones.

    Without saturation the sum is small; a 24-bit accumulator saturates after the first half,
    so the result is far negative.
    """
    cb = np.zeros(16, dtype=np.int16)
    cb[1], cb[2] = 32767, -32768
    idx = np.ones((1, cols), dtype=np.uint8)
    idx[0, cols // 2 :] = 2
    return EIELayer(cb, idx, None, False)


def build_cases(config: EIEConfig, seed: int):
    """``[(name, layers, x)]`` covering the corner cases that fit ``config``."""
    rng = np.random.default_rng(seed)
    n = config.n_pes
    cases = []
    dens = [(0.01, 0.5), (0.05, 1.0), (0.2, 0.0), (0.3, 0.3), (0.6, 0.8), (1.0, 0.1), (1.0, 1.0)]
    for wd, ad in dens:
        layers = random_network(rng, config, 1, wd)
        cases.append((f"w{wd}-a{ad}", layers, activations(rng, 2, layers[0].shape[1], ad)))
    layers = random_network(rng, config, 3, 0.3)
    cases.append(("chain3", layers, activations(rng, 2, layers[0].shape[1], 0.7)))
    # empty columns and rows without weights, sizes not multiples of N
    layer = random_layer(rng, 3 * n + 1, 2 * n + 3, 0.5)
    layer.index[:, ::3] = 0
    layer.index[1::2] = 0
    cases.append(("empty-rows-cols", [layer], activations(rng, 2, 2 * n + 3, 1.0)))
    # no weights at all: the output is relu(bias)
    layer = random_layer(rng, 2 * n + 3, 6, 0.0, relu=True)
    cases.append(("all-zero-weights", [layer], activations(rng, 1, 6, 1.0)))
    # the largest layer the register files and pointer memory take
    rows, cols = config.max_rows, config.max_cols
    layer = random_layer(rng, rows, cols, 0.0)
    layer.index[: 8 * n] = index_matrix(rng, 8 * n, cols, 0.1)
    layer.index[rows - 1, :: max(1, cols // 8)] = 5  # long gaps: padding entries
    cases.append(("max-size", [layer], activations(rng, 1, cols, 0.5)))
    # gaps of 16 and more rows within a PE (padding entries)
    rows = min(config.max_rows, 40 * n)
    layer = random_layer(rng, rows, 5, 0.0)
    layer.index[rows - 1, :] = 7
    layer.index[17 * n, 1] = 3
    layer.index[n, 2] = 9
    cases.append(("gaps", [layer], activations(rng, 1, 5, 1.0)))
    # saturation of products and outputs in both directions
    layer = saturating_layer(rng, 2 * n + 1, 9)
    x = np.concatenate([np.full((1, 9), 32767), np.full((1, 9), -32768)]).astype(np.int16)
    cases.append(("saturation", [layer], x))
    if config.acc_bits == 24 and config.max_cols >= 768:
        cases.append(("acc-saturation", [order_saturation_layer(768)], np.full((1, 768), 32767)))
    # NT-We-like: ~1 row per PE, 10 % weights, dense input: most columns are empty in each PE
    layers = [random_layer(rng, 2 * n - 1, min(config.max_cols, 90), 0.1)]
    cases.append(("many-empty-cols", layers, activations(rng, 2, layers[0].shape[1], 1.0)))
    if n == 4:
        layer = paper_layer(rng)
        cases.append(("paper", [layer], activations(rng, 2, 8, 0.8)))
    return cases


@pytest.mark.parametrize("simulator", runner.default_simulators())
@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_random_layers_match_golden(name, simulator):
    config = CONFIGS[name]
    cases = build_cases(config, seed=sorted(CONFIGS).index(name))
    jobs = [Job(build_image(layers, config), x) for _, layers, x in cases]
    # random idle cycles between host writes on one simulator, back to back on the other
    gap = 0.3 if simulator == "icarus" else 0.0
    results = run_jobs(config, jobs, simulator=simulator, gap=gap)
    for (case, layers, x), res in zip(cases, results, strict=True):
        gold = run_eie(layers, x, num=config.numerics, n_pes=config.n_pes)[-1]
        np.testing.assert_array_equal(res.y, gold, err_msg=f"{name}/{case}")
        # busy cycles are exactly the entries (padding included) of the broadcast columns
        a = np.atleast_2d(x)
        for li, layer in enumerate(layers):
            enc = encode(layer.index, config.n_pes)
            per_col = enc.column_entries()  # [N, cols]
            expect = (per_col[None] * (a != 0)[:, None, :]).sum(axis=-1)
            if config.merge_padding:  # a merged padding entry takes no cycle of its own
                assert (res.pe_busy[:, li] <= expect).all(), f"{case} L{li}"
            else:
                np.testing.assert_array_equal(res.pe_busy[:, li], expect, err_msg=f"{case} L{li}")
            assert (
                res.pe_busy[:, li] + res.pe_starved[:, li] <= res.layer_cycles[:, li, None]
            ).all()
            a = run_eie(layers[: li + 1], x, num=config.numerics)[-1]
            a = np.atleast_2d(a)
        # no pass after the last layer: the outputs are finished as the host reads them
        np.testing.assert_array_equal(res.cycles, res.layer_cycles.sum(axis=1))
        # the cycle model predicts every counter exactly
        model = predict_for(layers, x, config)
        for field in ("cycles", "layer_cycles", "pe_busy", "pe_starved"):
            np.testing.assert_array_equal(
                getattr(res, field), getattr(model, field), err_msg=f"{case}: model {field}"
            )


def test_saturation_cases_really_saturate():
    """The corner cases above exercise saturation (so their tests can fail on a wrong rule)."""
    config = CONFIGS["n4"]
    num = config.numerics
    layer = order_saturation_layer(768)
    x = np.full((1, 768), 32767)
    y = run_eie([layer], x, num=num)[0]
    wide = run_eie([layer], x, num=num.__class__(**{**num.to_json(), "acc_bits": 32}))[0]
    assert y[0, 0] != wide[0, 0]
    layer = saturating_layer(np.random.default_rng(0), 9, 9)
    y = run_eie([layer], np.full((1, 9), 32767), num=num)[0]
    assert (np.abs(y) == 32767).any() or (y == -32768).any()


@pytest.mark.parametrize("simulator", runner.default_simulators())
@pytest.mark.parametrize("name", ["n8", "n4"])
def test_balanced_layer_cycles(name, simulator):
    """A perfectly balanced layer runs in entries-per-PE + the documented fill latency, on the
    paper's scheme (n8: + 13) and the default options (n4: + 14, the shared buffer's stage)."""
    config = CONFIGS[name]
    rng = np.random.default_rng(5)
    n, local, cols, k = config.n_pes, 12, 40, 3
    layers = [balanced_layer(rng, n, local, cols, k)]
    x = rng.integers(1, 3000, (2, cols)).astype(np.int16)
    res = simulate(layers, x, config=config, simulator=simulator, progress=False)
    np.testing.assert_array_equal(res.y, run_eie(layers, x, num=config.numerics)[-1])
    # documented: the first run after loading the network starts with layer 0's bias pass,
    # R + 2 cycles (read, registered, written); the second finds the biases loaded by the
    # first (the loader, behind the CCU) and is the run alone
    bias_pass = local + 2
    fill = run_fill_cycles(config)
    assert fill == {"n8": 13, "n4": 14}[name]
    assert res.layer_cycles[0, 0] == bias_pass + cols * k + fill
    assert res.layer_cycles[1, 0] == cols * k + fill
    np.testing.assert_array_equal(res.cycles, res.layer_cycles[:, 0])
    assert (res.pe_busy[:, 0] == cols * k).all()
    model = predict_for(layers, x, config)
    assert (model.run_cycles[:, 0] == cols * k + fill).all()


@pytest.mark.parametrize("simulator", runner.default_simulators())
def test_skip_empty_removes_the_empty_column_bubbles(simulator):
    """Option (a) on the RTL: the same sparse layer on the n8, n8s and n8sf builds. Without skipping
    every empty column costs a PE a cycle; with it the run is measurably shorter; both runs
    match the golden outputs and the cycle model."""
    rng = np.random.default_rng(11)
    # NT-We-like: 8 rows per PE at 12 % density, about one entry per column per PE, so a third
    # of the columns are empty in each PE
    layers = [random_layer(rng, 64, 200, 0.12)]
    x = activations(rng, 2, 200, 1.0)
    runs = {}
    for name in ("n8", "n8s", "n8sf"):
        config = CONFIGS[name]
        res = simulate(layers, x, config=config, simulator=simulator, progress=False)
        np.testing.assert_array_equal(res.y, run_eie(layers, x, num=config.numerics)[-1])
        model = predict_for(layers, x, config)
        np.testing.assert_array_equal(res.layer_cycles, model.layer_cycles)
        np.testing.assert_array_equal(res.pe_starved, model.pe_starved)
        runs[name] = res
    np.testing.assert_array_equal(runs["n8"].pe_busy, runs["n8s"].pe_busy)
    np.testing.assert_array_equal(runs["n8"].pe_busy, runs["n8sf"].pe_busy)
    # empty columns cost the baseline ~40 cycles here (model: 294 -> 252 run cycles)
    assert (runs["n8s"].layer_cycles[:, 0] < 0.9 * runs["n8"].layer_cycles[:, 0]).all()
    # the filter: the queues hold only columns with work (model: 252 -> 235 run cycles)
    assert (runs["n8sf"].layer_cycles[:, 0] < runs["n8s"].layer_cycles[:, 0]).all()


@pytest.mark.parametrize("simulator", runner.default_simulators())
def test_merge_padding_issues_padding_with_the_next_entry(simulator):
    """``merge_padding`` on the RTL: a tall sparse layer (200 rows per PE at 3 %: about every
    third entry is a padding entry) on the n4nm and n4 (default, merged) builds; the merged run
    is shorter, both match the golden outputs and every counter of the cycle model."""
    rng = np.random.default_rng(23)
    layers = [random_layer(rng, 800, 64, 0.03), random_layer(rng, 40, 800, 0.05)]
    x = activations(rng, 2, 64, 0.8)
    runs = {}
    for name in ("n4nm", "n4"):
        config = CONFIGS[name]
        res = simulate(layers, x, config=config, simulator=simulator, progress=False)
        np.testing.assert_array_equal(res.y, run_eie(layers, x, num=config.numerics)[-1])
        model = predict_for(layers, x, config)
        for field in ("cycles", "layer_cycles", "pe_busy", "pe_starved"):
            np.testing.assert_array_equal(
                getattr(res, field), getattr(model, field), err_msg=f"{name}: {field}"
            )
        runs[name] = res
    assert not CONFIGS["n4nm"].merge_padding and CONFIGS["n4"].merge_padding
    base, merged = runs["n4nm"].layer_cycles[:, 0], runs["n4"].layer_cycles[:, 0]
    assert (merged < 0.9 * base).all(), (base, merged)


@pytest.mark.slow
@pytest.mark.parametrize("simulator", runner.default_simulators())
@pytest.mark.parametrize(("n_pes", "skip_empty"), [(16, False), (64, False), (16, True)])
def test_large_builds(n_pes, skip_empty, simulator):
    config = EIEConfig(
        n_pes=n_pes, fifo_depth=8, regfile_depth=16, spmat_words=256, ptr_depth=2048,
        skip_empty=skip_empty,
    )  # fmt: skip
    rng = np.random.default_rng(n_pes)
    layers = [
        random_layer(rng, n_pes * 16 - 3, 200, 0.1),
        random_layer(rng, 77, n_pes * 16 - 3, 0.3),
    ]
    x = activations(rng, 2, 200, 0.5)
    res = simulate(layers, x, config=config, simulator=simulator, progress=False)
    np.testing.assert_array_equal(res.y, run_eie(layers, x, num=config.numerics)[-1])
    model = predict_for(layers, x, config)
    for field in ("cycles", "layer_cycles", "pe_busy", "pe_starved"):
        np.testing.assert_array_equal(getattr(res, field), getattr(model, field), err_msg=field)
