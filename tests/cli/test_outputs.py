"""The output policy (accelgen.outputs): -o checks and atomic files and folders."""

import os

import numpy as np
import pytest

from accelgen import outputs
from accelgen.outputs import OutputError


def _listing(path):
    return sorted(p.relative_to(path).as_posix() for p in path.rglob("*"))


@pytest.mark.parametrize("check", [outputs.check_output_dir, outputs.check_output_file])
@pytest.mark.parametrize("bad", ["", "   "])
def test_empty_output_is_rejected(check, bad):
    with pytest.raises(OutputError, match="empty"):
        check(bad)


def test_dir_target_that_is_a_file(tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(OutputError, match="afile is an existing file"):
        outputs.check_output_dir(tmp_path / "afile")


def test_dir_target_under_a_file(tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(OutputError, match="afile is a file, not a folder"):
        outputs.check_output_dir(tmp_path / "afile" / "sub" / "deeper")


def test_file_target_that_is_a_folder(tmp_path):
    with pytest.raises(OutputError, match="is an existing folder"):
        outputs.check_output_file(tmp_path)


def test_file_target_in_a_missing_folder(tmp_path):
    with pytest.raises(OutputError, match="does not exist"):
        outputs.check_output_file(tmp_path / "nodir" / "y.npz")


def test_file_target_under_a_file(tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(OutputError, match="is a file, not a folder"):
        outputs.check_output_file(tmp_path / "afile" / "y.npz")


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc")
@pytest.mark.parametrize("check", [outputs.check_output_dir, outputs.check_output_file])
def test_unwritable_place(check):
    # /proc refuses new files even for root; the probe file catches it
    with pytest.raises(OutputError, match="not writable"):
        check("/proc/accelgen-x")


def test_dir_target_may_create_parents(tmp_path):
    target = tmp_path / "a" / "b" / "c"
    assert outputs.check_output_dir(target) == target
    assert not (tmp_path / "a").exists()  # the check writes nothing
    with outputs.atomic_dir(target) as tmp:
        (tmp / "x.txt").write_text("1")
    assert (target / "x.txt").read_text() == "1"
    assert _listing(tmp_path) == ["a", "a/b", "a/b/c", "a/b/c/x.txt"]


def test_atomic_file_keeps_exact_name(tmp_path):
    outputs.save_npz(tmp_path / "out.bin", y=np.arange(3))
    assert _listing(tmp_path) == ["out.bin"]
    with np.load(tmp_path / "out.bin") as f:
        assert f["y"].tolist() == [0, 1, 2]


def test_atomic_file_error_leaves_old_content(tmp_path):
    target = tmp_path / "r.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), outputs.atomic_file(target, "w") as f:
        f.write("new, partial")
        raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert _listing(tmp_path) == ["r.txt"]


def test_atomic_dir_error_leaves_nothing(tmp_path):
    target = tmp_path / "out"
    with pytest.raises(RuntimeError), outputs.atomic_dir(target) as tmp:
        (tmp / "model.npz").write_text("partial")
        raise RuntimeError("boom")
    assert _listing(tmp_path) == []


def test_atomic_dir_into_existing_folder_replaces_only_its_files(tmp_path):
    target = tmp_path / "out"
    (target / "sub").mkdir(parents=True)
    (target / "keep.txt").write_text("mine")
    (target / "report.json").write_text("old")
    (target / "sub" / "old.txt").write_text("old")
    with outputs.atomic_dir(target) as tmp:
        (tmp / "report.json").write_text("new")
        (tmp / "sub").mkdir()
        (tmp / "sub" / "new.txt").write_text("new")
    assert (target / "keep.txt").read_text() == "mine"
    assert (target / "report.json").read_text() == "new"
    assert _listing(target) == ["keep.txt", "report.json", "sub", "sub/new.txt", "sub/old.txt"]


def test_atomic_dir_error_in_existing_folder_changes_nothing(tmp_path):
    target = tmp_path / "out"
    target.mkdir()
    (target / "report.json").write_text("old")
    with pytest.raises(RuntimeError), outputs.atomic_dir(target) as tmp:
        (tmp / "report.json").write_text("new")
        raise RuntimeError("boom")
    assert _listing(target) == ["report.json"]
    assert (target / "report.json").read_text() == "old"
