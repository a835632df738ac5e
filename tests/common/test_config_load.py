"""Config.load: every bad config file is one error naming the file."""

import json

import pytest

from accelgen.spec.config import MAX_CONFIG_BYTES
from accelgen.spec.diannao import DianNaoConfig
from accelgen.spec.eie import EIEConfig


@pytest.mark.parametrize("cls", [EIEConfig, DianNaoConfig])
def test_bad_config_files_name_the_file(tmp_path, cls):
    cases = {
        "notutf8.json": (b"\xff\xfe{}", ValueError, "not UTF-8 text"),
        "notjson.json": (b"{n_pes: 4", ValueError, "not valid JSON"),
        "list.json": (b"[1, 2]", TypeError, "JSON must be an object"),
        "unknown.json": (b'{"bogus": 1}', ValueError, "unknown .* field"),
        "badvalue.json": (b'{"acc_bits": 7}', ValueError, "acc_bits"),
        "deep.json": (b"[" * 100000 + b"]" * 100000, ValueError, "not valid JSON"),
        "big.json": (b" " * (MAX_CONFIG_BYTES + 1) + b"{}", ValueError, "too large"),
    }
    for name, (content, exc, match) in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(exc, match=match) as e:
            cls.load(tmp_path / name)
        assert str(e.value).startswith(str(tmp_path / name))
    with pytest.raises(ValueError, match="is a folder, not a"):
        cls.load(tmp_path)
    with pytest.raises(FileNotFoundError, match="nope.json: no such config file"):
        cls.load(tmp_path / "nope.json")


def test_good_config_round_trips(tmp_path):
    c = EIEConfig(n_pes=2)
    (tmp_path / "c.json").write_text(json.dumps(c.to_json()))
    assert EIEConfig.load(tmp_path / "c.json") == c
