"""DianNaoConfig validation / JSON round trip and the instruction encode/decode round trip."""

import json

import numpy as np
import pytest

from accelgen.golden.arith import Numerics
from accelgen.hdl.diannao.cp import instruction_layout
from accelgen.spec.diannao import (
    FIELDS,
    DianNaoConfig,
    Instruction,
    NFU1Op,
    NFU2Op,
    NFU2Out,
    NFU3Op,
    decode,
    encode,
    field_widths,
    instruction_bits,
)


def test_defaults_follow_the_paper():
    c = DianNaoConfig()
    assert c.tn == 16 and c.nbin_bytes == 2048 and c.nbout_bytes == 64 * 16 * 3
    assert c.sb_bytes == 32 * 1024
    assert c.numerics == Numerics(act_bits=16, act_frac=8, w_bits=16, w_frac=12, acc_bits=24)


@pytest.mark.parametrize(
    "changes, match",
    [
        ({"tn": 3}, "tn must be a power of two in 2..16, got 3"),
        ({"tn": 32}, "got 32"),
        ({"tn": 1}, "got 1"),
        ({"acc_bits": 16}, "acc_bits must be 24 or 32, got 16"),
        ({"nbin_depth": 2}, "nbin_depth must be in 4..65536 words, got 2"),
        ({"sb_depth": 100000}, "sb_depth"),
        ({"imem_depth": 1}, "imem_depth must be in 2..4096, got 1"),
        ({"pwl_segments": 12}, "pwl_segments must be a power of two"),
        ({"act_frac": 0}, "act_frac must be >= 1"),
        ({"act_frac": 16}, "act_frac"),
        ({"w_bits": 20}, "w_bits must be <= 16"),
        ({"double_buffer": True, "nbin_depth": 63}, "double_buffer needs even"),
    ],
)
def test_bad_configs_name_the_value(changes, match):
    with pytest.raises(ValueError, match=match):
        DianNaoConfig(**changes)


def test_types_are_checked_and_fields_are_keyword_only():
    with pytest.raises(TypeError, match="tn must be an integer"):
        DianNaoConfig(tn="8")
    with pytest.raises(TypeError, match="double_buffer must be true or false"):
        DianNaoConfig(double_buffer=1)
    with pytest.raises(TypeError):
        DianNaoConfig(8)  # the fields are keyword-only


def test_json_round_trip(tmp_path):
    c = DianNaoConfig(tn=4, acc_bits=32, nbin_depth=128, double_buffer=True)
    assert DianNaoConfig.from_json(json.loads(json.dumps(c.to_json()))) == c
    c.save(tmp_path / "c.json")
    assert DianNaoConfig.load(tmp_path / "c.json") == c
    with pytest.raises(ValueError, match="unknown DianNaoConfig field.*tm"):
        DianNaoConfig.from_json({"tm": 4})


def _random_instruction(rng, config):
    widths = field_widths(config)
    values = {}
    for name, width in widths.items():
        lo = 1 if name.startswith("n_") else 0
        values[name] = int(rng.integers(lo, 1 << width))
    for name in ("end", "sb_reuse", "nbout_read"):
        values[name] = bool(values[name])
    values["nfu2_op"] = int(rng.integers(0, 3))
    return Instruction(**values)


@pytest.mark.parametrize("tn, depth", [(2, 16), (4, 64), (16, 1024)])
def test_encode_decode_round_trip(tn, depth):
    config = DianNaoConfig(tn=tn, nbin_depth=depth, sb_depth=depth, nbout_depth=depth)
    rng = np.random.default_rng(tn)
    widths = field_widths(config)
    for _ in range(200):
        ins = _random_instruction(rng, config)
        # field checks against buffer bounds are a compiler concern; pack the raw fields here
        word = 0
        shift = 0
        for name, width in field_widths(config).items():
            word |= int(getattr(ins, name)) << shift
            shift += width
        assert decode(word, config) == ins
        # the gateware's layout packs the same fields to the same word
        const = instruction_layout(config).const({n: int(getattr(ins, n)) for n in widths})
        assert const.as_value().value == word
        assert word >> instruction_bits(config) == 0
    assert [name for _, name, _ in FIELDS] == list(field_widths(config))


def test_encode_checks_fields_and_bounds():
    config = DianNaoConfig(tn=4, nbin_depth=16, sb_depth=16, nbout_depth=16)
    ins = Instruction(
        nfu1_op=NFU1Op.MUL,
        nfu2_op=NFU2Op.MAC,
        nfu2_out=NFU2Out.NFU3,
        nfu3_op=NFU3Op.RELU,
        nbin_addr=3,
        n_r0=4,
        n_o0=2,
        s_o0=4,
        nbout_addr=5,
        end=True,
    )
    assert decode(encode(ins, config), config) == ins
    with pytest.raises(ValueError, match="reads NBin word 16 of 16"):
        encode(Instruction(nbin_addr=13, n_r0=4), config)
    with pytest.raises(ValueError, match="writes NBout words up to 16 of 16"):
        encode(Instruction(nbout_addr=15, n_o0=2, s_o0=0), config)
    with pytest.raises(ValueError, match="reads SB word 16 of 16"):
        encode(Instruction(sb_addr=10, n_r0=7, s_r0=0), config)
    with pytest.raises(ValueError, match="nbin_addr=99 does not fit in 4 bits"):
        encode(Instruction(nbin_addr=99), config)
    with pytest.raises(ValueError, match="n_r0 must be >= 1"):
        Instruction(n_r0=0)
    with pytest.raises(ValueError, match="does not fit"):
        decode(1 << instruction_bits(config), config)


def test_generation_budget():
    from accelgen.hdl.diannao.top import (
        GENERATION_MEMORY_BITS,
        check_generation_budget,
        memory_bits,
    )

    paper = DianNaoConfig()
    assert memory_bits(paper)["sb"] == 64 * 16 * 16 * 16  # the paper's 32 KB SB
    check_generation_budget(paper)
    huge = DianNaoConfig(tn=16, sb_depth=65536)  # a valid config (the cycle model takes it)
    assert memory_bits(huge)["total"] > GENERATION_MEMORY_BITS
    with pytest.raises(ValueError, match=r"sb 268435456: sb_depth=65536 at tn=16"):
        check_generation_budget(huge)
