"""Drive the EIE authors' public C++ cycle simulator on our synthetic layers (``--authors-sim``).

The user builds nothing by hand: given a checkout of the authors' public simulator repository
(``PATH`` with its ``src/`` folder, not part of this project), :func:`run_authors_sim` copies its
sources into a temporary folder, writes the layer in the simulator's input format there (our own
writer of the format its dump scripts produce: per-PE pointer and sparse-matrix files, the input
vector, the codebook and the ``params.h`` it is compiled with), compiles it with ``g++`` and
returns the cycle count it prints. Nothing of the simulator is stored in this repository.

Their accounting, read from their sources (the reason for the side-by-side in
``docs/benchmarks.md``): the non-zero detector scans one window of N activations and pushes one
non-zero per cycle into every PE's FIFO (``fifo_depth`` slots, one of which is always free, so
``fifo_depth - 1`` columns); a window costs one more cycle unless its last non-zero sits in the
last slot; the pointer unit takes a column from the FIFO and issues its first entry in the
next cycle, one entry per cycle after that (padding included), one cycle per column without
entries; 64-bit lines are read without stalling; the layer also broadcasts one bias column; the
run ends in the first cycle (>= 9) after the last window is taken in which no PE writes an
accumulator. A non-zero activation is a positive float there: the writer stores ``|x|``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from ..golden.eie_format import EIEEncoding

__all__ = ["AuthorsSimError", "check_authors_sim", "run_authors_sim", "write_inputs"]

_SOURCES = (
    "actrw.cpp",
    "arithm.cpp",
    "nzfetch.cpp",
    "ptrvec.cpp",
    "spmat.cpp",
    "system.cpp",
    "components.h",
    "configs.h",
    "module.h",
    "utils.h",
)
_CYCLES = re.compile(r"cycles:\s*(\d+)")


class AuthorsSimError(RuntimeError):
    """The authors' simulator could not be built or did not report a cycle count."""


def check_authors_sim(path) -> Path:
    """``path`` as a :class:`Path` if it holds the simulator's sources, else ``ValueError``."""
    p = Path(path)
    missing = [f for f in _SOURCES if not (p / "src" / f).is_file()]
    if missing:
        raise ValueError(
            f"--authors-sim {str(path)!r} is not a checkout of the EIE authors' simulator "
            f"(no src/{missing[0]})"
        )
    if shutil.which("g++") is None:
        raise ValueError("--authors-sim needs g++ to build the authors' simulator")
    return p


def write_inputs(
    root: Path, enc: EIEEncoding, x: np.ndarray, codebook: np.ndarray, *, fifo_depth: int
) -> None:
    """Write ``enc`` and the input ``x`` in the simulator's format under ``root``
    (``data/ptr/ptr<k>.dat``, ``data/spm/spm<k>.dat``, ``data/act.dat``, ``data/arithm.dat``,
    ``src/params.h``). One layer, a bias column without entries (the simulator always runs
    one)."""
    n, cols, rows = enc.n_pes, enc.cols, enc.rows
    padded = -(-cols // n) * n
    (root / "src").mkdir(parents=True, exist_ok=True)
    (root / "data" / "ptr").mkdir(parents=True, exist_ok=True)
    (root / "data" / "spm").mkdir(parents=True, exist_ok=True)
    max_words = 0
    for k in range(n):
        p = np.zeros(padded + 2, dtype=np.uint32)
        p[: cols + 1] = enc.ptr[k]
        p[cols + 1 :] = enc.ptr[k, -1]  # padding columns and the empty bias column
        p.tofile(root / "data" / "ptr" / f"ptr{k}.dat")
        mem = np.stack([enc.v[k], enc.z[k]], axis=1).astype(np.uint32).reshape(-1)
        mem.tofile(root / "data" / "spm" / f"spm{k}.dat")
        max_words = max(max_words, mem.size)
    act = np.abs(np.asarray(x, dtype=np.float32)) / 256.0
    act.astype(np.float32).tofile(root / "data" / "act.dat")
    np.asarray(codebook, dtype=np.float32).tofile(root / "data" / "arithm.dat")
    unit = 8  # entries per 64-bit line
    spm_lines = max(1, (max_words - 1) // unit // 2 + 1)
    params = (
        "#ifndef PARAMS\n#define PARAMS\n"
        f"const int NUM_PE = {n};\n"
        f"const int ACTRW_maxcapacity = {max(cols, rows)};\n"
        f"const int NZFETCH_buffersize = {fifo_depth};\n"
        f"const int PTRVEC_num_lines = {padded + 2};\n"
        f"const int SPMAT_unit_line = {unit};\n"
        f"const int SPMAT_num_lines = {spm_lines};\n"
        "const int SPMAT_index_bits = 4;\n"
        "const int SPMAT_weights_bits = 4;\n"
        "const int ARITHM_codebooksize = 16;\n"
        f"const int ACT_length = {cols};\n"
        "#endif\n"
    )
    (root / "src" / "params.h").write_text(params)


def run_authors_sim(
    sim: Path,
    enc: EIEEncoding,
    x: np.ndarray,
    codebook: np.ndarray,
    *,
    fifo_depth: int,
    timeout: float = 600.0,
) -> int:
    """Build the authors' simulator for this layer and return the cycles it reports."""
    with tempfile.TemporaryDirectory(prefix="eie-authors-") as tmp:
        root = Path(tmp)
        (root / "src").mkdir()
        for f in _SOURCES:
            shutil.copyfile(sim / "src" / f, root / "src" / f)
        write_inputs(root, enc, x, codebook, fifo_depth=fifo_depth)
        srcs = [f"src/{f}" for f in _SOURCES if f.endswith(".cpp")]
        cmd = ["g++", "-std=c++11", "-O2", "-DPROFILE=0", "-o", "simulation", *srcs]
        r = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=timeout)
        if r.returncode:
            raise AuthorsSimError(f"g++ failed: {r.stderr.strip().splitlines()[:1]}")
        r = subprocess.run(
            ["./simulation"], cwd=root, capture_output=True, text=True, timeout=timeout
        )
        found = _CYCLES.findall(r.stdout + r.stderr)
        if r.returncode or not found:
            raise AuthorsSimError(f"the simulator reported no cycle count (exit {r.returncode})")
        return int(found[-1])
