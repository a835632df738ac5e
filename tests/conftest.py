"""Fixtures shared by several test folders."""

from __future__ import annotations

import numpy as np
import pytest

from accelgen.data.mnist import MNIST


def make_toy_mnist(n_train: int = 600, n_test: int = 200, seed: int = 0) -> MNIST:
    """A synthetic MNIST: ten classes, each a bright 7x7 square at its own place, plus noise."""
    rng = np.random.default_rng(seed)

    def make(n):
        y = rng.integers(0, 10, n)
        x = rng.integers(0, 40, (n, 28, 28))
        for i, k in enumerate(y):
            r, c = 7 * (k // 4), 7 * (k % 4)
            x[i, r : r + 7, c : c + 7] = rng.integers(180, 256, (7, 7))
        return x.astype(np.uint8), y.astype(np.uint8)

    xa, ya = make(n_train)
    xt, yt = make(n_test)
    return MNIST(xa, ya, xt, yt)


@pytest.fixture
def toy_mnist():
    """:func:`make_toy_mnist` as a fixture: call it with the sizes and seed."""
    return make_toy_mnist
