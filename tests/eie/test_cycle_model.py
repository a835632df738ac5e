"""The EIE cycle model on its own (its agreement with the RTL is checked in test_core.py)."""

from __future__ import annotations

import numpy as np
from eie_cases import codebook, random_layer

from accelgen.golden.eie_cycles import layer_run, predict
from accelgen.golden.eie_format import encode
from accelgen.golden.netspec import EIELayer
from accelgen.hdl.eie.top import RUN_FILL_CYCLES


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
