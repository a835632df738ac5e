"""Result keys follow the gateware: a synthesis result (or spot check) of earlier RTL is never
reused once a source that determines the Verilog (``hdl/``, ``spec/``) changes."""

from __future__ import annotations

import importlib
from pathlib import Path

from accelgen.farm import synth
from accelgen.farm.keys import point_key

REPO = Path(__file__).resolve().parents[2]


def _tree(root: Path) -> None:
    (root / "sub").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "top.py").write_text("WIDTH = 8\n")
    (root / "sub" / "__init__.py").write_text("")
    (root / "sub" / "pe.py").write_text("DEPTH = 4\n")


def test_source_hash_changes_with_any_source_edit(tmp_path):
    root = tmp_path / "gw"
    _tree(root)
    seen = {synth.source_hash([root])}
    (root / "sub" / "pe.py").write_text("DEPTH = 5\n")  # an edit
    seen.add(synth.source_hash([root]))
    (root / "sub" / "new.py").write_text("")  # a new, empty module
    seen.add(synth.source_hash([root]))
    (root / "sub" / "new.py").rename(root / "sub" / "other.py")  # a rename
    seen.add(synth.source_hash([root]))
    assert len(seen) == 4
    # bytecode caches and non-Python files do not count
    before = synth.source_hash([root])
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "top.cpython-311.pyc").write_bytes(b"\0\1")
    (root / "notes.txt").write_text("x")
    assert synth.source_hash([root]) == before


def test_tool_versions_hash_the_installed_gateware():
    """The ``gateware`` entry is the hash of this checkout's hdl/ and spec/ sources."""
    tools = synth.tool_versions()
    assert tools["gateware"] == synth.source_hash([REPO / "hdl", REPO / "spec"])
    assert len(tools["gateware"]) == 12


def test_a_changed_gateware_source_gives_a_new_synth_key(tmp_path, monkeypatch):
    root = tmp_path / "fakegw"
    _tree(root)
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    monkeypatch.setattr(synth, "GATEWARE_PACKAGES", ("fakegw",))
    cfg = {"n_pes": 2, "fifo_depth": 4}

    def key() -> str:
        return point_key("synth", "eie", cfg, None, synth.tool_versions())

    k1 = key()
    assert key() == k1  # stable while nothing changes
    (root / "top.py").write_text("WIDTH = 9\n")
    k2 = key()
    assert k2 != k1
    (root / "top.py").write_text("WIDTH = 8\n")
    assert key() == k1  # the same sources, the same key
