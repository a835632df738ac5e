"""CodebookDecoder: run-time-loadable codebook, entry 0 forced to 0, against codebook_decode."""

import numpy as np
import pytest
from blocksim import (
    compare,
    expand,
    response_cycle,
    run_amaranth,
    run_rtl,
    with_extremes,
)

from accelgen.golden.arith import CODEBOOK_SIZE, codebook_decode, smax, smin
from accelgen.hdl.common.codebook import CodebookDecoder
from accelgen.sim import runner

OUTPUTS = ("weight", "out_valid")


def initial_codebook(rng, w_bits):
    cb = with_extremes(rng, w_bits, CODEBOOK_SIZE)
    cb[0] = 0
    cb[1], cb[2] = smin(w_bits), smax(w_bits)
    return cb


def make_vectors(rng, w_bits, n_random):
    """Every index; random look-ups interleaved with writes (some to entry 0); rewrite all."""
    idx = np.arange(CODEBOOK_SIZE)
    zeros = np.zeros(CODEBOOK_SIZE, dtype=np.int64)
    ones = np.ones(CODEBOOK_SIZE, dtype=np.int64)
    parts = [
        # every index with the initial codebook
        dict(index=idx, in_valid=ones, wr__en=zeros, wr__addr=zeros, wr__data=zeros),
        # random traffic: ~10% writes, any address including 0 (which must be ignored)
        dict(
            index=rng.integers(0, CODEBOOK_SIZE, n_random),
            in_valid=(rng.random(n_random) < 0.9).astype(np.int64),
            wr__en=(rng.random(n_random) < 0.1).astype(np.int64),
            wr__addr=rng.integers(0, CODEBOOK_SIZE, n_random),
            wr__data=with_extremes(rng, w_bits, n_random),
        ),
        # rewrite every entry (entry 0 with a non-zero value) while reading the one being written
        dict(
            index=idx,
            in_valid=ones,
            wr__en=ones,
            wr__addr=idx,
            wr__data=with_extremes(rng, w_bits, 16),
        ),
        # then every index again
        dict(index=idx[::-1], in_valid=ones, wr__en=zeros, wr__addr=zeros, wr__data=zeros),
    ]
    parts[2]["wr__data"][0] = smax(w_bits)
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def golden(v, codebook):
    """Per cycle: the look-up sees the table before that cycle's write; address 0 is read-only."""
    table = np.array(codebook, dtype=np.int64)
    n = len(v["index"])
    weight = np.empty(n, dtype=np.int64)
    start = 0
    for c in [*np.flatnonzero(v["wr__en"]).tolist(), n]:
        weight[start : c + 1] = codebook_decode(v["index"][start : c + 1], table)
        if c < n and v["wr__addr"][c] != 0:
            table[v["wr__addr"][c]] = v["wr__data"][c]
        start = c + 1
    return {"weight": weight, "out_valid": v["in_valid"]}


def check(run, w_bits, n_random, seed):
    rng = np.random.default_rng(seed)
    cb = initial_codebook(rng, w_bits)
    dut = CodebookDecoder(w_bits=w_bits, codebook=cb.tolist())
    v = make_vectors(rng, w_bits, n_random)
    got = run(dut, v)
    compare(got, golden(expand(v, None), cb), response_cycle(len(v["index"]), None, dut.latency))
    return got, v


def test_amaranth():
    got, v = check(lambda dut, v: run_amaranth(dut, v, OUTPUTS), 16, 500, seed=1)
    # the sweep covered every index, and index 0 always read 0 although entry 0 was written
    assert set(v["index"].tolist()) == set(range(CODEBOOK_SIZE))
    assert (v["wr__en"] & (v["wr__addr"] == 0)).any()
    assert np.all(got["weight"][v["index"] == 0] == 0)


def test_reset_restores_initial_codebook():
    cb = list(range(0, 160, 10))
    dut = CodebookDecoder(codebook=cb)
    v = dict(
        index=np.array([5, 5, 5]),
        in_valid=np.ones(3, dtype=np.int64),
        wr__en=np.array([1, 0, 0]),
        wr__addr=np.array([5, 0, 0]),
        wr__data=np.array([-7, 0, 0]),
    )
    got = run_amaranth(dut, v, OUTPUTS)
    np.testing.assert_array_equal(got["weight"], [50, -7, -7])


@pytest.mark.parametrize("simulator", runner.default_simulators())
def test_rtl(simulator):
    check(
        lambda dut, v: run_rtl(
            dut, toplevel="codebook", simulator=simulator, inputs=v, outputs=OUTPUTS
        ),
        16,
        10_000,
        seed=2,
    )


@pytest.mark.slow
@pytest.mark.parametrize("simulator", runner.default_simulators())
@pytest.mark.parametrize("w_bits", [8, 32])
def test_rtl_widths(simulator, w_bits):
    check(
        lambda dut, v: run_rtl(
            dut, toplevel=f"codebook_w{w_bits}", simulator=simulator, inputs=v, outputs=OUTPUTS
        ),
        w_bits,
        10_000,
        seed=3,
    )


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(w_bits=1), "w_bits must be an integer in 2..32, got 1"),
        (dict(w_bits=33), "got 33"),
        (dict(w_bits=16.0), "got 16.0"),
        (dict(codebook=[0] * 15), "codebook must have 16 entries, got 15"),
        (dict(codebook=[3] + [0] * 15), "codebook entry 0 must be 0 .*got 3"),
        (dict(codebook=[0, 32768] + [0] * 14), "codebook entry 1 is 32768"),
        (dict(w_bits=8, codebook=[0, -129] + [0] * 14), "codebook entry 1 is -129"),
        (dict(codebook=[0, 1.5] + [0] * 14), "codebook entry 1 is 1.5"),
    ],
)
def test_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CodebookDecoder(**kwargs)


def test_external_table_decodes_from_its_input():
    """external=True: the entries come from ``table`` (entry 0 still decodes to 0)."""
    dut = CodebookDecoder(w_bits=8, external=True)
    assert not hasattr(dut, "wr")
    table = [(-1) ** e * 7 * e for e in range(CODEBOOK_SIZE)]
    idx = np.arange(CODEBOOK_SIZE)
    v = dict(index=idx, in_valid=np.ones(CODEBOOK_SIZE, dtype=np.int64))
    v.update({f"table__{e}": np.full(CODEBOOK_SIZE, table[e]) for e in range(CODEBOOK_SIZE)})
    got = run_amaranth(dut, v, OUTPUTS)
    np.testing.assert_array_equal(got["weight"][:-1], [0, *table[1:-1]])
