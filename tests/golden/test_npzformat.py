"""The EIE and DianNao layer .npz formats: round trips and clear errors for malformed files."""

import numpy as np
import pytest

from accelgen.golden.arith import Numerics
from accelgen.golden.netspec import ConvLayer, EIELayer, FCLayer, PoolLayer, run_dense, run_eie
from accelgen.golden.npzformat import (
    dense_shapes,
    load_diannao_npz,
    load_eie_npz,
    read_npz,
    save_diannao_npz,
    save_eie_npz,
)

NUM = Numerics()


def _eie_layer(rng, n_out, n_in, relu=True, bias=True):
    cb = np.concatenate([[0], rng.integers(-2000, 2000, 15)]).astype(np.int16)
    idx = (rng.integers(1, 16, (n_out, n_in)) * (rng.random((n_out, n_in)) < 0.3)).astype(np.uint8)
    b = rng.integers(-300, 300, n_out).astype(np.int16) if bias else None
    return EIELayer(cb, idx, b, relu)


def _dense_net(rng):
    return [
        ConvLayer(
            rng.integers(-900, 900, (4, 1, 3, 3)), rng.integers(-99, 99, 4), pad=1, act="relu"
        ),
        PoolLayer(k=2, stride=2, mode="avg"),
        ConvLayer(rng.integers(-900, 900, (5, 4, 3, 3)), None, stride=2, pad=1, act="tanh"),
        FCLayer(rng.integers(-900, 900, (3, 5 * 2 * 2)), rng.integers(-99, 99, 3), act="sigmoid"),
    ]


def test_eie_network_round_trip(tmp_path):
    rng = np.random.default_rng(1)
    layers = [_eie_layer(rng, 12, 9), _eie_layer(rng, 5, 12, relu=False, bias=False)]
    x = rng.integers(-500, 500, (3, 9))
    save_eie_npz(tmp_path / "net.npz", layers, x)
    assert set(read_npz(tmp_path / "net.npz")) >= {"x", "l0_codebook", "l1_index", "l1_relu"}
    got, gx = load_eie_npz(tmp_path / "net.npz")
    assert gx.dtype == np.int16 and gx.tolist() == x.tolist()
    assert len(got) == 2 and got[1].bias is None and got[0].relu and not got[1].relu
    for a, b in zip(got, layers, strict=True):
        np.testing.assert_array_equal(a.index, b.index)
        np.testing.assert_array_equal(a.codebook, b.codebook)
    want = run_eie(layers, x, num=NUM, n_pes=4)[-1]
    np.testing.assert_array_equal(run_eie(got, gx, num=NUM, n_pes=2)[-1], want)


def test_eie_single_layer_plain_keys(tmp_path):
    rng = np.random.default_rng(2)
    layer = _eie_layer(rng, 6, 7)
    save_eie_npz(tmp_path / "one.npz", [layer], rng.integers(-9, 9, 7))
    assert set(read_npz(tmp_path / "one.npz")) == {"x", "codebook", "index", "bias", "relu"}
    # minimal hand-written file: no bias, no relu, int64 arrays that fit
    np.savez(
        tmp_path / "min.npz",
        codebook=np.arange(16) * 3,
        index=np.eye(3, dtype=int),
        x=np.ones(3).astype(int),
    )
    (got,), x = load_eie_npz(tmp_path / "min.npz")
    assert got.bias is None and got.relu is False and x.tolist() == [1, 1, 1]


def test_dense_network_round_trip(tmp_path):
    rng = np.random.default_rng(3)
    layers = _dense_net(rng)
    x = rng.integers(-256, 256, (1, 8, 8))
    save_diannao_npz(tmp_path / "net.npz", layers, x)
    got, gx = load_diannao_npz(tmp_path / "net.npz")
    assert [g.kind for g in got] == ["conv", "pool", "conv", "fc"]
    assert (
        got[1].mode == "avg" and got[2].stride == 2 and got[0].pad == 1 and got[3].act == "sigmoid"
    )
    want = run_dense(layers, x, num=NUM, group=4)
    for a, b in zip(run_dense(got, gx, num=NUM, group=4), want, strict=True):
        np.testing.assert_array_equal(a, b)
    assert dense_shapes(layers, x.shape) == [(4, 8, 8), (4, 4, 4), (5, 2, 2), (3,)]
    assert dense_shapes(layers, (2, 1, 8, 8))[-1] == (2, 3)


def test_dense_single_layer_defaults(tmp_path):
    np.savez(tmp_path / "p.npz", kind=np.array("pool"), k=np.array(2), x=np.zeros((2, 4, 4), int))
    (pool,), _ = load_diannao_npz(tmp_path / "p.npz")
    assert (pool.k, pool.stride, pool.mode) == (2, 2, "max")
    np.savez(
        tmp_path / "f.npz", kind=np.array("fc"), w=np.ones((3, 5), int), x=np.ones((4, 5), int)
    )
    (fcl,), x = load_diannao_npz(tmp_path / "f.npz")
    assert fcl.act == "none" and fcl.b is None and x.shape == (4, 5)


def _eie_ok():
    return {
        "codebook": np.arange(16, dtype=np.int16),
        "index": np.ones((4, 3), np.uint8),
        "x": np.ones(3, np.int16),
    }


@pytest.mark.parametrize(
    "change, match",
    [
        ({"codebook": np.arange(1, 17, dtype=np.int16)}, r"codebook\[0\] must be 0.*got 1"),
        ({"codebook": np.arange(8, dtype=np.int16)}, "16 entries"),
        ({"codebook": np.arange(16) * 0.5}, "integer"),
        ({"codebook": np.arange(16) * 4000}, "outside the signed 16-bit"),
        ({"index": np.full((4, 3), 16)}, "index holds 16"),
        ({"index": np.ones(3, np.uint8)}, "index must have 2"),
        ({"x": np.ones(4, np.int16)}, "x has 4 inputs"),
        ({"x": np.ones(3, np.float32)}, "x must be an integer"),
        ({"x": np.full(3, 40000)}, "x holds 40000"),
        ({"bias": np.ones(5, np.int16)}, "bias has 5 entries"),
        ({"relu": np.array(3)}, "relu must be a boolean"),
        ({"weights": np.ones(3)}, "unknown key"),
        ({"l1_index": np.ones((2, 2))}, "mixes single-layer keys"),
        ({"index": None}, "index is missing"),
        ({"x": None}, "missing the input activations 'x'"),
    ],
)
def test_eie_bad_files(tmp_path, change, match):
    d = _eie_ok()
    d.update(change)
    d = {k: v for k, v in d.items() if v is not None}
    np.savez(tmp_path / "bad.npz", **d)
    with pytest.raises((ValueError, TypeError), match=match) as e:
        load_eie_npz(tmp_path / "bad.npz")
    assert "bad.npz" in str(e.value)


def test_eie_network_errors(tmp_path):
    cb, idx = np.arange(16), np.ones((4, 3), np.uint8)
    np.savez(
        tmp_path / "gap.npz",
        l0_codebook=cb,
        l0_index=idx,
        l2_codebook=cb,
        l2_index=idx,
        x=[1, 1, 1],
    )
    with pytest.raises(ValueError, match=r"without gaps.*\[0, 2\]"):
        load_eie_npz(tmp_path / "gap.npz")
    np.savez(
        tmp_path / "chain.npz",
        l0_codebook=cb,
        l0_index=idx,
        l1_codebook=cb,
        l1_index=idx,
        x=[1, 1, 1],
    )
    with pytest.raises(ValueError, match="l1_index expects 3 inputs but layer 0 has 4 outputs"):
        load_eie_npz(tmp_path / "chain.npz")


def test_not_an_npz(tmp_path):
    (tmp_path / "junk.npz").write_text("hello")
    with pytest.raises(ValueError, match=r"junk.npz: not an .npz file \(an .npz is a zip"):
        load_eie_npz(tmp_path / "junk.npz")
    np.save(tmp_path / "arr.npy", np.ones(3))
    with pytest.raises(ValueError, match="single .npy array"):
        load_diannao_npz(tmp_path / "arr.npy")
    with pytest.raises(FileNotFoundError, match="nope.npz"):
        load_eie_npz(tmp_path / "nope.npz")
    np.savez(tmp_path / "obj.npz", x=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match=r"obj.npz: x holds Python objects \(pickled"):
        read_npz(tmp_path / "obj.npz")
    with pytest.raises(ValueError, match="is a folder, not an .npz file"):
        read_npz(tmp_path)


@pytest.mark.parametrize(
    "d, match",
    [
        ({"kind": "dense", "w": np.ones((2, 3), int), "x": np.ones(3, int)}, "kind must be one of"),
        ({"w": np.ones((2, 3), int), "x": np.ones(3, int)}, "kind is missing"),
        ({"kind": "fc", "w": np.ones((2, 3), int), "x": np.ones(4, int)}, r"3 inputs.*4 values"),
        ({"kind": "fc", "w": np.ones((2, 3)), "x": np.ones(3, int)}, "w must be an integer"),
        ({"kind": "fc", "w": np.ones((2, 3), int), "act": "gelu", "x": np.ones(3, int)}, "act"),
        ({"kind": "fc", "w": np.ones((2, 3), int), "k": 2, "x": np.ones(3, int)}, "do not apply"),
        (
            {"kind": "fc", "w": np.ones((2, 3), int), "b": np.ones(3, int), "x": np.ones(3, int)},
            "b has 3",
        ),
        (
            {"kind": "conv", "w": np.ones((2, 3, 3, 3), int), "x": np.ones((2, 5, 5), int)},
            "3 input channels",
        ),
        ({"kind": "conv", "w": np.ones((2, 3, 3, 2), int), "x": np.ones((3, 5, 5), int)}, "square"),
        (
            {
                "kind": "conv",
                "w": np.ones((2, 1, 3, 3), int),
                "stride": 0,
                "x": np.ones((1, 5, 5), int),
            },
            "stride must be >= 1",
        ),
        (
            {"kind": "conv", "w": np.ones((2, 1, 7, 7), int), "x": np.ones((1, 5, 5), int)},
            "does not fit",
        ),
        ({"kind": "pool", "x": np.ones((1, 5, 5), int)}, "k is missing"),
        ({"kind": "pool", "k": 2, "mode": "min", "x": np.ones((1, 5, 5), int)}, "mode must be"),
        ({"kind": "pool", "k": 2.0, "x": np.ones((1, 5, 5), int)}, "integer scalar"),
        ({"kind": "pool", "k": 2, "x": np.ones(5, int)}, "x must have 3 or 4"),
    ],
)
def test_diannao_bad_files(tmp_path, d, match):
    np.savez(tmp_path / "bad.npz", **{k: np.asarray(v) for k, v in d.items()})
    with pytest.raises((ValueError, TypeError), match=match) as e:
        load_diannao_npz(tmp_path / "bad.npz")
    assert "bad.npz" in str(e.value)


def test_save_rejects_bad_networks(tmp_path):
    rng = np.random.default_rng(4)
    with pytest.raises(ValueError, match="layer 1 expects 12 inputs but layer 0 has 5"):
        save_eie_npz(tmp_path / "a.npz", [_eie_layer(rng, 5, 3), _eie_layer(rng, 4, 12)], [1, 2, 3])
    with pytest.raises(ValueError, match="at least one layer"):
        save_diannao_npz(tmp_path / "b.npz", [], [1])
    with pytest.raises(ValueError, match="layer 0 .fc."):
        save_diannao_npz(tmp_path / "b.npz", [FCLayer(np.ones((2, 3), int))], np.ones(4, int))


def test_header_size_checked_before_allocation(tmp_path):
    import io
    import zipfile

    buf = io.BytesIO()  # the header (magic included) claims 2**40 values; no data follows
    np.lib.format.write_array_header_1_0(
        buf, {"descr": "<i2", "fortran_order": False, "shape": (1 << 40,)}
    )
    with zipfile.ZipFile(tmp_path / "big.npz", "w") as zf:
        zf.writestr("x.npy", buf.getvalue())
        zf.writestr("codebook.npy", buf.getvalue())
    with pytest.raises(ValueError, match=r"big.npz: (x|codebook) has shape \(1099511627776,\)"):
        load_eie_npz(tmp_path / "big.npz")


def test_ambiguous_layer_prefixes_are_rejected(tmp_path):
    rng = np.random.default_rng(5)
    a, b = _eie_layer(rng, 2, 3), _eie_layer(rng, 2, 3)
    np.savez(
        tmp_path / "dup.npz",
        x=np.zeros(3, np.int16),
        l0_codebook=a.codebook,
        l0_index=a.index,
        l00_codebook=b.codebook,
        l00_index=b.index,
    )
    with pytest.raises(ValueError, match="l00_codebook has the layer prefix l00_; write l0_"):
        load_eie_npz(tmp_path / "dup.npz")


def test_range_error_reports_the_value_as_given(tmp_path):
    cb = np.arange(16, dtype=np.int16)
    np.savez(
        tmp_path / "u64.npz",
        codebook=cb,
        index=np.full((2, 3), 2**64 - 1, np.uint64),
        x=np.zeros(3, np.int16),
    )
    with pytest.raises(ValueError, match="index holds 18446744073709551615, outside 0..15"):
        load_eie_npz(tmp_path / "u64.npz")
    np.savez(
        tmp_path / "x64.npz",
        codebook=cb,
        index=np.ones((2, 3), np.uint8),
        x=np.full(3, 2**63, np.uint64),
    )
    with pytest.raises(ValueError, match="x holds 9223372036854775808, outside the signed 16"):
        load_eie_npz(tmp_path / "x64.npz")


def test_empty_batch_is_named(tmp_path):
    cb = np.arange(16, dtype=np.int16)
    np.savez(tmp_path / "e.npz", codebook=cb, index=np.ones((2, 3), np.uint8), x=np.zeros((0, 3)))
    with pytest.raises(TypeError, match="x must be an integer array"):
        load_eie_npz(tmp_path / "e.npz")
    np.savez(
        tmp_path / "e.npz",
        codebook=cb,
        index=np.ones((2, 3), np.uint8),
        x=np.zeros((0, 3), np.int16),
    )
    with pytest.raises(ValueError, match=r"x is an empty batch \(shape \(0, 3\)\)"):
        load_eie_npz(tmp_path / "e.npz")
    np.savez(
        tmp_path / "e.npz",
        kind=np.array("fc"),
        w=np.ones((2, 3), np.int16),
        x=np.zeros((0, 3), np.int16),
    )
    with pytest.raises(ValueError, match="x is an empty batch"):
        load_diannao_npz(tmp_path / "e.npz")


def test_empty_layer_is_rejected(tmp_path):
    cb = np.arange(16, dtype=np.int16)
    np.savez(
        tmp_path / "e.npz", codebook=cb, index=np.ones((0, 3), np.uint8), x=np.zeros(3, np.int16)
    )
    with pytest.raises(ValueError, match=r"index has shape \(0, 3\); a layer needs"):
        load_eie_npz(tmp_path / "e.npz")


def test_codebook_entry_zero_must_be_zero(tmp_path):
    cb = np.arange(16, dtype=np.int16) + 5
    np.savez(
        tmp_path / "c.npz", codebook=cb, index=np.ones((2, 3), np.uint8), x=np.zeros(3, np.int16)
    )
    with pytest.raises(ValueError, match=r"codebook\[0\] must be 0 \(the pruned weight\), got 5"):
        load_eie_npz(tmp_path / "c.npz")
    with pytest.raises(ValueError, match=r"codebook\[0\] must be 0"):
        EIELayer(cb, np.ones((2, 3), np.uint8))


def test_save_keeps_the_exact_name(tmp_path):
    rng = np.random.default_rng(3)
    save_eie_npz(tmp_path / "out.bin", [_eie_layer(rng, 2, 3)], np.zeros(3, np.int16))
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]
    assert load_eie_npz(tmp_path / "out.bin")[0][0].shape == (2, 3)
