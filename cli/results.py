"""``results.csv`` of a sweep: one row per finished task, appended whole, read back to resume.

Each row is written with one ``write`` system call of a complete line on a file opened with
``O_APPEND`` and flushed to disk before the next task is recorded, so a Ctrl-C (which Python
delivers between bytecodes) never leaves half a row; a line cut short by a hard kill or a full
disk is dropped when the file is opened again. Rows are keyed (``key`` column) by the task's
identity, so a rerun skips the keys already there.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from pathlib import Path

__all__ = ["ResultStore"]


class ResultStore:
    """The rows of ``path`` (created with ``columns`` as header) and an atomic ``append``."""

    def __init__(self, path: Path, columns: Sequence[str]) -> None:
        self.path = Path(path)
        self.columns = list(columns)
        self.rows: dict[str, dict[str, str]] = {}
        if self.path.exists():
            self._load()
        else:
            self._write_line(self.columns, create=True)

    def _load(self) -> None:
        raw = self.path.read_bytes()
        end = raw.rfind(b"\n") + 1
        if end < len(raw):  # a cut-off last line (hard kill): drop it
            with open(self.path, "r+b") as f:
                f.truncate(end)
            raw = raw[:end]
        text = raw.decode("utf-8")
        reader = csv.DictReader(io.StringIO(text))
        if reader.fieldnames is None:
            self._write_line(self.columns)
            return
        if list(reader.fieldnames) != self.columns:
            raise ValueError(
                f"{self.path} was written by another kind of run (its columns differ); "
                "use a new -o folder"
            )
        for row in reader:
            self.rows[row["key"]] = row

    def _write_line(self, values: Sequence, create: bool = False) -> None:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow(values)
        data = buf.getvalue().encode("utf-8")
        flags = os.O_WRONLY | os.O_APPEND | (os.O_CREAT if create else 0)
        fd = os.open(self.path, flags, 0o666)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)

    def done(self, key: str) -> bool:
        return key in self.rows

    def append(self, row: dict) -> None:
        """Write ``row`` (missing columns empty) as one line; remember it."""
        values = ["" if row.get(c) is None else row.get(c) for c in self.columns]
        self._write_line(values)
        self.rows[str(row["key"])] = {c: str(v) for c, v in zip(self.columns, values, strict=True)}
