"""The EIE cycle model on its own (its agreement with the RTL is checked in test_core.py)."""

from __future__ import annotations

import numpy as np
import pytest
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
    # one read per window, one cycle of read latency, one cycle that sees everything idle,
    # one in which that (registered) condition ends the run
    assert cycles == windows + 3 and not busy.any() and (starved == cycles).all()


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


def _profile(enc, nz, **kw):
    prof = {}
    cycles, busy, starved = layer_run(enc, nz, fifo_depth=4, profile=prof, **kw)
    return cycles, busy, starved, prof


def test_profile_categories_add_up_to_the_run():
    rng = np.random.default_rng(3)
    for kw in ({}, {"skip_empty": True}, {"filter_empty": True, "issue_width": 2}):
        for _ in range(20):
            n = int(2 ** rng.integers(0, 3))
            rows, cols = int(rng.integers(1, 70)), int(rng.integers(1, 50))
            idx = (rng.random((rows, cols)) < rng.random()) * rng.integers(1, 16, (rows, cols))
            enc = encode(idx.astype(np.uint8), n)
            nz = rng.random(cols) < 0.6
            cycles, busy, starved, prof = _profile(enc, nz, **kw)
            parts = prof["entry"] + prof["padding"] + prof["bubble"] + prof["starved"]
            assert (parts == cycles).all()
            assert (prof["entry"] + prof["padding"] == busy).all()
            assert (prof["starved"] == starved).all()
            # padding cycles: every padding entry of a column with a non-zero input
            pads = [
                sum(
                    int((enc.v[k][enc.ptr[k, j] : enc.ptr[k, j + 1]] == 0).sum())
                    for j in np.flatnonzero(nz)
                )
                for k in range(n)
            ]
            assert prof["padding"].tolist() == pads


def test_filter_and_two_issue_past_one_broadcast_per_cycle():
    """Two PEs, one entry each in alternate columns: one broadcast per cycle caps both at
    half an entry per cycle; with the filter and 2-issue every PE gets one column (one entry)
    per cycle."""
    n, cols = 2, 64
    idx = np.zeros((2, cols), dtype=np.uint8)
    idx[0, 0::2] = 3  # PE 0: even columns
    idx[1, 1::2] = 5  # PE 1: odd columns
    enc, nz = encode(idx, n), np.ones(cols)
    base = layer_run(enc, nz, fifo_depth=4)[0]
    one = layer_run(enc, nz, fifo_depth=4, filter_empty=True)[0]
    two = layer_run(enc, nz, fifo_depth=4, filter_empty=True, issue_width=2)[0]
    assert base == cols + RUN_FILL_CYCLES  # the empty column costs the bubble
    assert one >= cols  # one broadcast per cycle
    assert two <= cols // 2 + RUN_FILL_CYCLES + 1
    # no filter: a second broadcast per cycle is no help, every PE walks every column
    assert layer_run(enc, nz, fifo_depth=4, issue_width=2)[0] >= cols


def test_merge_padding_saves_a_cycle_per_padding_entry():
    """One PE, rows 0 and 20 of every column: entry, padding (16 zeros), entry; a merged
    padding costs no cycle of its own. The walker merges a padding entry it sees in the
    padding mask of its held line: not in a line's last slot (slot 7), not as the first entry
    of a line (the line is read in its cycle), not right after the line's read (slot 1 when
    the column's first entry opened the line: the mask is registered a cycle after the read)."""
    cols = 30
    idx = np.zeros((24, cols), dtype=np.uint8)
    idx[0, :] = 2
    idx[20, :] = 7
    enc = encode(idx, 1)
    assert [len(v) for v in enc.v] == [3 * cols]
    pads = [3 * c + 1 for c in range(cols)]  # entry addresses of the padding entries
    merges = sum(p % 8 not in (7, 0, 1) for p in pads)
    assert 0 < merges < cols
    nz = np.ones(cols)
    base, busy, _, prof = _profile(enc, nz)
    merged, mbusy, _, mprof = _profile(enc, nz, merge_padding=True)
    assert base == merged + merges
    assert busy.tolist() == [3 * cols] and mbusy.tolist() == [3 * cols - merges]
    assert prof["padding"].tolist() == [cols] and mprof["padding"].tolist() == [cols - merges]


def test_issue_width_is_checked():
    enc = encode(np.ones((4, 4), dtype=np.uint8), 2)
    with pytest.raises(ValueError, match="issue_width"):
        layer_run(enc, np.ones(4), fifo_depth=2, issue_width=3)
