"""Energy estimates: the table, the derived entries and hand-counted small networks."""

import numpy as np
import pytest

from accelgen.golden.arith import Numerics
from accelgen.golden.energy import (
    DERIVED,
    HOROWITZ,
    OPERATIONS,
    add_pj,
    diannao_energy,
    dram_pj,
    eie_energy,
    sram_read_pj,
)
from accelgen.golden.netspec import ConvLayer, EIELayer, FCLayer, PoolLayer

NUM32 = Numerics(acc_bits=32)
CODEBOOK = np.arange(16) * 10


def eie(index, bias=None):
    return EIELayer(codebook=CODEBOOK, index=np.asarray(index, dtype=np.uint8), bias=bias)


def counts(est):
    return {i.name: i.count for i in est.items}


def test_table_matches_energy_md():
    expect = {
        "add8": 0.03, "add16": 0.05, "add32": 0.1, "fadd16": 0.4, "fadd32": 0.9, "mul8": 0.2,
        "mul32": 3.1, "fmul16": 1.1, "fmul32": 3.7, "sram32": 5.0, "dram32": 640.0,
    }  # fmt: skip
    for key, pj in expect.items():
        assert OPERATIONS[key].pj == pj
        assert OPERATIONS[key].source == HOROWITZ
    assert OPERATIONS["mul16"].pj == 0.8
    assert OPERATIONS["mul16"].source.startswith(DERIVED)


def test_derived_widths():
    assert sram_read_pj(64) == 10.0  # a 64-bit sparse line ~ 2 x 5 pJ
    assert sram_read_pj(16) == 2.5
    assert add_pj(24) == ("add32", 0.1)  # a 24-bit accumulate is a 32-bit add
    assert add_pj(17) == ("add32", 0.1)
    assert add_pj(16) == ("add16", 0.05)
    assert dram_pj(33) == 2 * 640.0
    # the energy.md point: one DRAM read ~ 200 16-bit multiplies
    assert 150 < OPERATIONS["dram32"].pj / OPERATIONS["mul16"].pj < 1000
    with pytest.raises(ValueError, match="0"):
        sram_read_pj(0)
    with pytest.raises(ValueError, match="64-bit"):
        add_pj(64)


def test_eie_hand_counted():
    # 4 x 3, 2 PEs: PE0 holds rows 0, 2 (column 0: 2 entries), PE1 row 1 (column 1: 1 entry)
    layer = eie([[1, 0, 0], [0, 2, 0], [3, 0, 0], [0, 0, 0]])
    x = np.array([[5, 0, 7]])  # column 1 is skipped (zero activation), column 2 is empty
    est = eie_energy([layer], [x], num=NUM32, n_pes=2)
    c = counts(est)
    assert c["16-bit multiplies"] == 2
    assert c["codebook lookups (16-bit table read)"] == 2
    assert c["32-bit accumulates"] == 2
    assert c["64-bit sparse-matrix line reads"] == 1
    assert c["16-bit column-pointer reads"] == 8  # 2 non-zero activations x 2 PEs x 2 pointers
    assert c["16-bit activation reads"] == 3
    assert c["16-bit activation writes"] == 4
    assert c["DRAM words: input vector and outputs"] == 4  # (3 + 4) x 16 bits = 3.5 words
    # model: 3 entries x 8 bits + 2 x 4 pointers x 16 bits + 16 x 16-bit codebook = 408 bits
    assert c["DRAM words: compressed model loaded once (amortised over 1)"] == 13
    total = 5 + 1.6 + 0.2 + 10 + 20 + 7.5 + 10 + 4 * 640 + 13 * 640
    assert est.total_pj == pytest.approx(total)
    assert est.dense_dram_baseline_pj == 6 * 640  # 12 weights x 16 bits
    assert est.by_category()["dram"] == pytest.approx(17 * 640)
    js = est.to_json()
    assert js["total_pj"] == pytest.approx(total)
    assert js["reference"] == HOROWITZ


def test_eie_lines_straddle_and_batch_average():
    # one PE: column 0 holds entries 0..6, column 1 entries 7, 8 -> straddles lines 0 and 1
    index = np.zeros((10, 2), dtype=np.uint8)
    index[:7, 0] = 1
    index[:2, 1] = 2
    layer = eie(index)
    one = eie_energy([layer], [np.array([[0, 1]])], num=NUM32, n_pes=1)
    assert counts(one)["64-bit sparse-matrix line reads"] == 2
    both = eie_energy([layer], [np.array([[0, 1], [1, 0]])], num=NUM32, n_pes=1)
    c = counts(both)
    assert c["64-bit sparse-matrix line reads"] == 1.5
    assert c["16-bit multiplies"] == (2 + 7) / 2
    assert "amortised over 2" in " ".join(c)


def test_eie_padding_entries_are_processed():
    index = np.zeros((20, 1), dtype=np.uint8)
    index[0, 0] = index[19, 0] = 3  # a gap of 18 zero rows needs one padding entry
    est = eie_energy([eie(index)], [np.array([[4]])], num=NUM32, n_pes=1)
    assert counts(est)["16-bit multiplies"] == 3


def test_eie_two_layers_and_all_zero_input():
    l1 = eie(np.ones((4, 3), dtype=np.uint8))
    l2 = eie(np.ones((2, 4), dtype=np.uint8), bias=np.array([1, 2]))
    est = eie_energy([l1, l2], [np.zeros((1, 3), int), np.zeros((1, 4), int)], num=NUM32, n_pes=2)
    c = counts(est)
    assert c["16-bit multiplies"] == 0
    assert c["16-bit column-pointer reads"] == 0
    assert c["16-bit activation reads"] == 3 + 4 + 2  # inputs of both layers + the 2 biases
    assert c["16-bit activation writes"] == 4 + 2


def test_eie_bad_inputs():
    layer = eie(np.ones((4, 3), dtype=np.uint8))
    with pytest.raises(ValueError, match="2 input arrays for 1 layers"):
        eie_energy([layer], [np.zeros(3, int)] * 2, num=NUM32, n_pes=2)
    with pytest.raises(ValueError, match=r"3 inputs.*\(1, 5\)"):
        eie_energy([layer], [np.zeros((1, 5), int)], num=NUM32, n_pes=2)
    with pytest.raises(ValueError, match="no layers"):
        eie_energy([], [], num=NUM32, n_pes=2)
    with pytest.raises(ValueError, match="batch of 0"):
        eie_energy([layer], [np.zeros((0, 3), int)], num=NUM32, n_pes=2)


def fc_layer(no, ni):
    return FCLayer(w=np.ones((no, ni), dtype=np.int16))


def test_diannao_fc_hand_counted():
    num = Numerics()  # acc_bits 24
    est = diannao_energy([fc_layer(3, 5)], (5,), num=num, tn=2, sb_bytes=100, n_inferences=4)
    c = counts(est)
    assert c["16-bit multiplies (useful products)"] == 15
    assert c["17-bit adder-tree adds"] == 15 - 9  # 3 outputs x 3 input tiles of (2, 2, 1)
    assert c["24-bit accumulates (one per group)"] == 9
    assert c["NBin reads (32-bit words)"] == 6  # 2 output tiles x 3 input tiles
    assert c["SB reads (64-bit words)"] == 6
    assert c["NBout writes (32-bit words)"] == 2
    assert c["DRAM words: input and outputs"] == 4  # (5 + 3) x 16 bits
    assert c["DRAM words: weights larger than SB, streamed every inference"] == 0
    assert c["DRAM words: weights held in SB, loaded once (amortised over 4)"] == 2  # 8 / 4
    total = 12 + 0.6 + 0.9 + 30 + 60 + 10 + 4 * 640 + 2 * 640
    assert est.total_pj == pytest.approx(total)
    assert est.dense_dram_baseline_pj == 8 * 640


def test_diannao_weights_larger_than_sb_are_streamed():
    est = diannao_energy([fc_layer(3, 5)], (5,), num=Numerics(), tn=2, sb_bytes=16)
    c = counts(est)
    assert c["DRAM words: weights larger than SB, streamed every inference"] == 8
    assert c["DRAM words: weights held in SB, loaded once (amortised over 1)"] == 0


def test_diannao_conv_pool_fc_counts():
    conv = ConvLayer(w=np.ones((2, 3, 2, 2), dtype=np.int16))
    layers = [conv, PoolLayer(k=2, stride=2, mode="max"), fc_layer(1, 2)]
    est = diannao_energy(layers, (3, 3, 3), num=Numerics(), tn=2, sb_bytes=1 << 15)
    c = counts(est)
    # conv: 1 output tile x 4 positions x 2 channel tiles x 4 kernel positions = 32 steps;
    # pool: 1 channel tile x 1 position x 4 window elements = 4; fc: 1 step
    assert c["NBin reads (32-bit words)"] == 32 + 4 + 1
    assert c["SB reads (64-bit words)"] == 32 + 1
    assert c["16-bit multiplies (useful products)"] == 2 * 4 * 3 * 4 + 2
    assert c["24-bit accumulates (one per group)"] == 2 * 4 * 2 * 4 + 1
    assert c["17-bit adder-tree adds"] == (96 - 64) + (2 - 1)
    assert c["16-bit pooling compares/adds"] == 2 * 4
    assert c["NBout writes (32-bit words)"] == 4 + 1 + 1


def test_diannao_bad_inputs():
    with pytest.raises(ValueError, match="expects 5 inputs"):
        diannao_energy([fc_layer(3, 5)], (4,), num=Numerics(), tn=2, sb_bytes=1)
    with pytest.raises(ValueError, match="tn must be a positive integer, got 0"):
        diannao_energy([fc_layer(3, 5)], (5,), num=Numerics(), tn=0, sb_bytes=1)
    with pytest.raises(ValueError, match="input channels"):
        conv = ConvLayer(w=np.ones((2, 3, 2, 2), dtype=np.int16))
        diannao_energy([conv], (2, 3, 3), num=Numerics(), tn=2, sb_bytes=1)
