"""The EIE cycle model on its own (its agreement with the RTL is checked in test_core.py)."""

from __future__ import annotations

import numpy as np
from eie_cases import codebook, random_layer

from accelgen.golden.eie_cycles import layer_run, predict
from accelgen.golden.eie_format import encode
from accelgen.golden.netspec import EIELayer
from accelgen.hdl.eie.top import RUN_FILL_CYCLES, RUN_FILL_CYCLES_SKIP_EMPTY


def test_dense_balanced_layer_runs_at_one_entry_per_cycle():
    n, local, cols = 4, 5, 30
    idx = np.ones((n * local, cols), dtype=np.uint8)
    cycles, busy, starved = layer_run(encode(idx, n), np.ones(cols), fifo_depth=8)
    assert cycles == local * cols + RUN_FILL_CYCLES
    assert (busy == local * cols).all()


def test_zero_input_costs_one_cycle_per_window():
    n, cols = 4, 37
    enc = encode(np.ones((8, cols), dtype=np.uint8), n)
    cycles, busy, starved = layer_run(enc, np.zeros(cols), fifo_depth=2)
    windows = -(-cols // n)
    # one read per window, one cycle of read latency, one cycle that sees everything idle
    assert cycles == windows + 2 and not busy.any() and (starved == cycles).all()


def test_shallow_queues_and_imbalance_cost_cycles():
    rng = np.random.default_rng(0)
    layer = random_layer(rng, 64, 200, 0.2)
    x = np.ones((1, 200), dtype=np.int16)
    deep = predict([layer], x, n_pes=8, fifo_depth=16)
    shallow = predict([layer], x, n_pes=8, fifo_depth=1)
    assert shallow.run_cycles[0, 0] > deep.run_cycles[0, 0]
    assert deep.run_cycles[0, 0] >= deep.pe_busy[0, 0].max()


def test_empty_columns_cost_a_bubble_per_pe():
    n, cols = 2, 10
    idx = np.zeros((2, cols), dtype=np.uint8)
    idx[0, :] = 1  # PE 0 has one entry per column, PE 1 none
    layer = EIELayer(codebook(np.random.default_rng(1)), idx)
    res = predict([layer], np.ones((1, cols), dtype=np.int16), n_pes=n, fifo_depth=4)
    assert res.pe_busy[0, 0].tolist() == [cols, 0]
    # PE 1 walks every (empty) column through its pointer stage: it is never starved for
    # long, but PE 0 sets the pace of one entry per cycle
    assert res.run_cycles[0, 0] == cols + RUN_FILL_CYCLES


def test_skip_empty_issues_columns_back_to_back():
    """Two PEs with two entries in alternate columns: a bubble per empty column without
    option (a) (3 cycles per column pair), one entry per cycle with it."""
    n, cols = 2, 40
    idx = np.zeros((4, cols), dtype=np.uint8)
    idx[0::2, 0::2] = 3  # PE 0: two entries in every even column
    idx[1::2, 1::2] = 5  # PE 1: two entries in every odd column
    enc = encode(idx, n)
    base = layer_run(enc, np.ones(cols), fifo_depth=4)
    skip = layer_run(enc, np.ones(cols), fifo_depth=4, skip_empty=True)
    assert base[0] == 3 * cols // 2 + RUN_FILL_CYCLES
    # PE 1's first column is broadcast one cycle after PE 0's
    assert skip[0] == cols + RUN_FILL_CYCLES_SKIP_EMPTY + 1
    assert base[1].tolist() == skip[1].tolist() == [cols, cols]


def test_skip_empty_costs_at_most_its_latency():
    """On random layers option (a) never loses more than its one cycle of extra latency, and
    never changes the work (busy cycles)."""
    rng = np.random.default_rng(0)
    for _ in range(100):
        n = int(2 ** rng.integers(0, 4))
        rows, cols = int(rng.integers(1, 60)), int(rng.integers(1, 80))
        idx = (rng.random((rows, cols)) < rng.random()) * rng.integers(1, 16, (rows, cols))
        enc = encode(idx.astype(np.uint8), n)
        nz = rng.random(cols) < rng.random()
        depth = int(rng.integers(1, 9))
        base = layer_run(enc, nz, fifo_depth=depth)
        skip = layer_run(enc, nz, fifo_depth=depth, skip_empty=True)
        assert skip[0] <= base[0] + 1
        assert skip[1].tolist() == base[1].tolist()
