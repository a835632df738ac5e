"""Configuration, memory images and fit checks of the EIE core (no simulation)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from eie_cases import PAPER_PE0, paper_layer, random_layer

from accelgen.golden.eie_format import decode
from accelgen.golden.netspec import EIELayer
from accelgen.host.eie import build_image, check_fits, pack_lines, unpack_lines
from accelgen.spec.eie import EIEConfig, MemoryMap, Region, pack_descriptor

# eie.md: the paper's PE0 encoding
PAPER_Z = [0, 1, 0, 1, 0, 2, 0, 0, 0, 2, 0, 2, 0]
PAPER_P = [0, 3, 4, 6, 6, 8, 10, 11, 13]


def test_paper_example_in_the_memory_images():
    # the paper's plain scheme: no non-empty flag in the pointer writes (filter_empty's)
    config = EIEConfig(n_pes=4, regfile_depth=8, spmat_words=16, ptr_depth=32, filter_empty=False)
    layer = paper_layer(np.random.default_rng(0))
    image = build_image([layer], config)
    enc = image.encodings[0]
    # v lists W0,0 W8,0 W12,0 W4,1 ... in the paper's order; paper_layer numbers them 1..13
    assert enc.v[0].tolist() == list(range(1, 14))
    assert enc.z[0].tolist() == PAPER_Z
    assert image.ptr[0].tolist() == PAPER_P
    v, z = unpack_lines(image.lines[0], 13)
    assert v.tolist() == list(range(1, 14)) and z.tolist() == PAPER_Z
    assert len(image.lines[0]) == 2  # 13 entries -> two 64-bit lines
    assert int(image.lines[0][0]) & 0xFF == 0x01  # entry 0: v = 1, z = 0
    assert (int(image.lines[0][0]) >> 8) & 0xFF == 0x12  # entry 1: v = 2, z = 1
    assert (int(image.lines[0][1]) >> 40) & 0xFF == 0  # padding after entry 12
    # the host writes carry exactly these words to the PE0 regions
    mm = image.memory_map
    writes = dict(zip(*(a.tolist() for a in image.writes()), strict=True))
    assert [writes[mm.ptr(0, a)] for a in range(9)] == PAPER_P
    assert [writes[mm.spmat(0, i)] for i in range(2)] == [int(w) for w in image.lines[0]]
    assert writes[mm.desc(0)] == pack_descriptor(8, 16, 0, False)
    assert [writes[mm.codebook(0, i)] for i in range(16)] == [
        int(c) & 0xFFFF for c in layer.codebook
    ]
    assert [writes[mm.bias(k, 0, r)] for r in range(4) for k in range(4)] == [
        int(b) & 0xFFFF for b in layer.bias
    ]
    for (row, col), v in PAPER_PE0.items():
        assert decode(enc)[row, col] == v


def test_network_layout_packs_layers_one_after_the_other():
    config = EIEConfig(n_pes=2, regfile_depth=32, spmat_words=64, ptr_depth=128)
    rng = np.random.default_rng(1)
    layers = [random_layer(rng, 9, 13, 0.4), random_layer(rng, 4, 9, 0.7)]
    image = build_image(layers, config)
    assert image.ptr_base == (0, 14)
    for k in range(2):
        e0 = int(image.encodings[0].ptr[k, -1])
        assert image.entry_base[1, k] == e0
        assert image.ptr[k, 14:].tolist() == (image.encodings[1].ptr[k] + e0).tolist()
        v, z = unpack_lines(image.lines[k], int(image.ptr[k, -1]))
        assert v.tolist() == image.encodings[0].v[k].tolist() + image.encodings[1].v[k].tolist()


def test_pack_lines_round_trip():
    rng = np.random.default_rng(2)
    for n in (0, 1, 7, 8, 9, 100):
        v, z = rng.integers(0, 16, n), rng.integers(0, 16, n)
        lines = pack_lines(v, z)
        assert len(lines) == -(-n // 8)
        got_v, got_z = unpack_lines(lines, n)
        assert got_v.tolist() == v.tolist() and got_z.tolist() == z.tolist()


def test_memory_map_fields_do_not_overlap():
    config = EIEConfig(n_pes=8, max_layers=3, regfile_depth=16)
    mm = MemoryMap(config)
    addrs = {
        mm.ptr(7, config.ptr_depth - 1),
        mm.spmat(7, config.spmat_words - 1),
        mm.bias(7, 2, 15),
        mm.act(config.max_rows - 1),
        mm.stats_pe(7, 2),
        mm.stats_layer(2),
        mm.codebook(2, 15),
        mm.desc(2),
    }
    assert len(addrs) == 8
    assert all(a < 1 << mm.addr_bits for a in addrs)
    assert mm.ptr(1, 0) >> mm.offset_bits == Region.PTR
    assert mm.stats_layer(0) != mm.stats_pe(config.n_pes - 1, 0)


def test_config_defaults_json_round_trip(tmp_path):
    c = EIEConfig(n_pes=16, fifo_depth=4, acc_bits=24)
    assert EIEConfig.from_json(json.loads(json.dumps(c.to_json()))) == c
    c.save(tmp_path / "c.json")
    assert EIEConfig.load(tmp_path / "c.json") == c
    assert c.max_rows == 16 * 64
    assert c.max_cols == min(16 * 64, c.ptr_depth - 1)
    assert c.numerics.acc_bits == 24
    bits = c.memory_bits
    assert bits["total"] == sum(v for k, v in bits.items() if k != "total")
    assert bits["spmat"] == 16 * c.spmat_words * 64


@pytest.mark.parametrize(
    ("field", "value", "exc"),
    [
        ("n_pes", 3, ValueError),
        ("n_pes", 0, ValueError),
        ("n_pes", 512, ValueError),
        ("n_pes", True, TypeError),
        ("fifo_depth", 0, ValueError),
        ("acc_bits", 16, ValueError),
        ("act_frac", 16, ValueError),
        ("w_bits", 17, ValueError),
        ("regfile_depth", 0, ValueError),
        ("spmat_words", 8192, ValueError),
        ("ptr_depth", 1, ValueError),
        ("max_layers", 0, ValueError),
        ("fifo_depth", 2.5, TypeError),
    ],
)
def test_config_rejects_bad_values(field, value, exc):
    with pytest.raises(exc, match=field):
        EIEConfig(**{field: value})


def test_config_rejects_unknown_json_keys():
    with pytest.raises(ValueError, match="n_pe"):
        EIEConfig.from_json({"n_pe": 4})


def _layer(rows, cols, density=0.5, seed=0):
    return random_layer(np.random.default_rng(seed), rows, cols, density)


@pytest.mark.parametrize(
    ("layers", "match"),
    [
        ([_layer(4 * 16 + 1, 8)], "layer 0 has 65 outputs.*regfile_depth"),
        ([_layer(8, 4 * 16 + 1)], "layer 0 has 65 inputs"),
        ([_layer(8, 8), _layer(8, 8), _layer(8, 8)], "3 layers.*max_layers"),
        ([_layer(60, 60, 0.02), _layer(60, 60, 0.02)], "layer 1 overflows the pointer memory"),
        ([_layer(64, 40, 1.0)], "layer 0 overflows the sparse-matrix memory of PE"),
        ([_layer(8, 5), _layer(3, 7)], "layer 1 expects 7 inputs but layer 0 has 8"),
    ],
)
def test_check_fits_names_layer_and_memory(layers, match):
    config = EIEConfig(n_pes=4, regfile_depth=16, spmat_words=32, ptr_depth=100, max_layers=2)
    with pytest.raises(ValueError, match=match):
        check_fits(layers, config)


def test_check_fits_value_ranges():
    config = EIEConfig(n_pes=2, w_bits=8, w_frac=4, act_bits=8, act_frac=4)
    layer = _layer(4, 4)
    with pytest.raises(ValueError, match="codebook value .* w_bits 8"):
        check_fits([layer], config)
    small = EIELayer(np.arange(16, dtype=np.int16), layer.index, np.full(4, 300), False)
    with pytest.raises(ValueError, match="bias value 300 does not fit act_bits 8"):
        check_fits([small], config)
    with pytest.raises(TypeError, match="EIELayer"):
        check_fits([object()], config)
    with pytest.raises(ValueError, match="no layers"):
        check_fits([], config)


def test_codebook_entry_zero_changed_after_construction():
    """The numerics contract (entry 0 is the pruned weight, 0) is checked again where the core
    is loaded: an EIELayer's arrays can be changed in place after it validated them."""
    layer = _layer(4, 4)
    layer.codebook[0] = 5
    with pytest.raises(ValueError, match=r"layer 0 codebook\[0\] is 5; entry 0 is the pruned"):
        check_fits([layer], EIEConfig(n_pes=2))
    with pytest.raises(ValueError, match=r"codebook\[0\] is 5"):
        build_image([layer], EIEConfig(n_pes=2))


def test_filter_flags_in_the_pointer_writes():
    """With filter_empty, bit 32 of the write of pointer word ``base + j`` is set exactly when
    column ``j`` has a non-zero weight among the PE's rows (two layers: the last word of the
    first is the second's first and is never flagged); without it no flag is written."""
    rng = np.random.default_rng(4)
    layers = [random_layer(rng, 13, 9, 0.3), random_layer(rng, 6, 13, 0.3)]
    layers[0].index[:, 3] = 0  # an empty column in every PE
    for filt in (False, True):
        config = EIEConfig(n_pes=4, regfile_depth=8, spmat_words=16, ptr_depth=32)
        config = config.replace(filter_empty=filt)
        image = build_image(layers, config)
        mm = image.memory_map
        writes = dict(zip(*(a.tolist() for a in image.writes()), strict=True))
        for k in range(4):
            flags = []
            for a in range(image.ptr.shape[1]):
                data = writes[mm.ptr(k, a)]
                assert data & 0xFFFF == image.ptr[k, a]
                flags.append(data >> 32)
            want = []
            for layer in layers:
                rows = layer.index[k::4]
                want += [int(rows[:, j].any()) if filt else 0 for j in range(layer.shape[1])] + [0]
            assert flags == want
    assert config.memory_bits["column_bitmap"] == 4 * 32
