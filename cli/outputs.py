"""Output policy of every ``accelgen`` command: ``-o`` checked first, outputs written atomically.

Every command checks its ``-o`` with :func:`check_output_dir` (a folder of results) or
:func:`check_output_file` (one file) **before** it reads big inputs, generates, simulates or
starts a tool, and then writes through :func:`atomic_dir` / :func:`atomic_file`:

* ``-o`` must be a non-empty path; a folder target must not be an existing file and a file
  target must not be an existing folder; the name is used exactly as given (no suffix such as
  ``.npz`` is ever appended).
* A file target's folder must exist. A folder target's missing parent folders are created
  (like ``mkdir -p``), but only when the results are complete; the nearest existing ancestor
  must be a folder the user can write to, which is checked by creating (and removing) a probe
  file in it, so read-only file systems are caught too.
* Results are built under a temporary name next to the target (``.NAME.*.tmp``) and renamed
  into place at the end, so an error at any point leaves no partial file or folder: a new
  folder appears whole or not at all; into an existing folder, each result replaces its old
  version by a rename (other files there are left alone).

Every violation is an :class:`OutputError` (a ``ValueError``) whose message names the path, so
the command line reports it as one ``accelgen: error: ...`` line.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

__all__ = [
    "OutputError",
    "atomic_dir",
    "atomic_file",
    "check_output_dir",
    "check_output_file",
    "output_path",
    "save_npz",
    "write_text",
]


class OutputError(ValueError):
    """``-o`` names a place the command cannot write its results to."""


def _as_path(path: str | os.PathLike, what: str) -> Path:
    text = os.fspath(path)
    if not isinstance(text, str) or not text.strip():
        raise OutputError(f"{what} is empty; name a {'folder' if 'folder' in what else 'file'}")
    if "\x00" in text:
        raise OutputError(f"{what} {text!r} contains a NUL character")
    return Path(text)


def _probe_writable(folder: Path, target: Path) -> None:
    """Create and remove a file in ``folder``: the one reliable test (root, read-only mounts)."""
    try:
        fd, name = tempfile.mkstemp(prefix=".accelgen-probe.", dir=folder)
    except OSError as e:
        reason = os.strerror(e.errno) if e.errno else str(e)
        raise OutputError(
            f"cannot write {target}: folder {folder} is not writable ({reason})"
        ) from None
    os.close(fd)
    os.unlink(name)


def _nearest_existing(path: Path) -> Path:
    """The first ancestor of ``path`` (or ``.``) that exists, checking nothing is a file."""
    p = path.parent
    while True:
        try:
            exists = p.exists()
        except OSError as e:
            raise OutputError(f"cannot use {path}: {p}: {os.strerror(e.errno or 0)}") from None
        if exists:
            if not p.is_dir():
                raise OutputError(f"cannot create {path}: {p} is a file, not a folder")
            return p
        if p == p.parent:
            return p
        p = p.parent


def output_path(text: str) -> Path:
    """argparse ``type`` of every ``-o``: an empty path is refused at once (``Path("")`` would
    silently mean the current folder)."""
    import argparse

    if not text.strip():
        raise argparse.ArgumentTypeError("the output path is empty; name a file or folder")
    return Path(text)


def check_output_dir(path: str | os.PathLike, *, flag: str = "-o") -> Path:
    """Check a folder target (see the module docstring); returns it as a :class:`Path`."""
    p = _as_path(path, f"{flag} (output folder)")
    if p.exists() and not p.is_dir():
        raise OutputError(f"{flag} {p} is an existing file; name a folder for the results")
    if p.is_dir():
        _probe_writable(p, p)
    else:
        _probe_writable(_nearest_existing(p), p)
    return p


def check_output_file(path: str | os.PathLike, *, flag: str = "-o") -> Path:
    """Check a file target (see the module docstring); returns it as a :class:`Path`."""
    p = _as_path(path, f"{flag} (output file)")
    if p.is_dir():
        raise OutputError(f"{flag} {p} is an existing folder; name the output file")
    if p.name in ("", ".", ".."):
        raise OutputError(f"{flag} {str(p)!r} names no file")
    parent = p.parent
    if not parent.exists():
        raise OutputError(f"{flag} {p}: folder {parent} does not exist")
    if not parent.is_dir():
        raise OutputError(f"{flag} {p}: {parent} is a file, not a folder")
    _probe_writable(parent, p)
    return p


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike, mode: str = "wb") -> Iterator:
    """Open a temporary file next to ``path``; renamed to ``path`` when the block ends cleanly.

    On any exception the temporary file is removed and ``path`` is left as it was.
    """
    p = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, mode) as f:
            yield f
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_file(path, "w") as f:
        f.write(text)


def save_npz(path: str | os.PathLike, **arrays) -> None:
    """``numpy.savez`` to exactly ``path`` (no ``.npz`` appended), atomically."""
    import numpy as np

    with atomic_file(path, "wb") as f:
        np.savez(f, **arrays)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike, *, stale: Iterable[str] = ()) -> Iterator[Path]:
    """Yield an empty temporary folder to build results in; moved to ``path`` at the end.

    A new ``path`` is created by one rename (its missing parents first). Into an existing
    folder, every entry of the temporary folder replaces the entry of the same name (files by a
    rename; folders are merged the same way), and the entries named in ``stale`` that the new
    results lack are removed (results of an earlier run that must not mix with the new ones).
    On any exception the temporary folder is removed and nothing at ``path`` changes.
    """
    p = Path(path)
    base = p if p.is_dir() else _nearest_existing(p)
    tmp = Path(tempfile.mkdtemp(prefix=f".{p.name or 'out'}.", suffix=".tmp", dir=base))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())
        if p.is_dir():
            for name in stale:
                if not (tmp / name).exists() and ((p / name).exists() or (p / name).is_symlink()):
                    _remove(p / name)
            _merge(tmp, p)
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            p.parent.mkdir(parents=True, exist_ok=True)
            _move(tmp, p)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _move(src: Path, dst: Path) -> None:
    try:
        os.rename(src, dst)
    except OSError as e:
        if e.errno != errno.EXDEV:
            raise
        shutil.move(str(src), str(dst))


def _merge(src: Path, dst: Path) -> None:
    for entry in sorted(src.iterdir()):
        target = dst / entry.name
        if entry.is_dir() and not entry.is_symlink():
            if target.is_dir() and not target.is_symlink():
                _merge(entry, target)
                continue
            if target.exists() or target.is_symlink():
                _remove(target)
            _move(entry, target)
        else:
            if target.is_dir() and not target.is_symlink():
                _remove(target)
            os.replace(entry, target)


def _remove(p: Path) -> None:
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p)
    else:
        p.unlink()
