"""Seeded random EIE layers and networks for the EIE tests (shared by the test modules)."""

from __future__ import annotations

import numpy as np

from accelgen.golden.netspec import EIELayer
from accelgen.spec.eie import EIEConfig


def codebook(rng: np.random.Generator, scale: int = 4096) -> np.ndarray:
    cb = rng.integers(-scale, scale + 1, 16)
    cb[0] = 0
    return cb.astype(np.int16)


def index_matrix(rng: np.random.Generator, rows: int, cols: int, density: float) -> np.ndarray:
    mask = rng.random((rows, cols)) < density
    return (mask * rng.integers(1, 16, (rows, cols))).astype(np.uint8)


def activations(
    rng: np.random.Generator, batch: int, n: int, density: float, scale: int = 2048
) -> np.ndarray:
    x = rng.integers(-scale, scale + 1, (batch, n)) * (rng.random((batch, n)) < density)
    return x.astype(np.int16)


def random_layer(
    rng: np.random.Generator,
    rows: int,
    cols: int,
    density: float,
    *,
    bias: bool = True,
    relu: bool | None = None,
    scale: int = 4096,
) -> EIELayer:
    b = rng.integers(-1024, 1025, rows).astype(np.int16) if bias else None
    return EIELayer(
        codebook(rng, scale),
        index_matrix(rng, rows, cols, density),
        b,
        bool(rng.integers(2)) if relu is None else relu,
    )


def random_network(
    rng: np.random.Generator, config: EIEConfig, n_layers: int, density: float
) -> list[EIELayer]:
    """A chain of layers with sizes that are not multiples of N, within the config's limits."""
    top = min(config.max_rows, config.max_cols, 96)
    sizes = [int(rng.integers(1, top + 1)) for _ in range(n_layers + 1)]
    return [
        random_layer(rng, sizes[i + 1], sizes[i], density, relu=i < n_layers - 1)
        for i in range(n_layers)
    ]


# the paper's worked example (eie.md): PE0's rows 0, 4, 8, 12 of a 16 x 8 matrix, N = 4
PAPER_PE0 = {  # (global row, column): weight index
    (0, 0): 1, (8, 0): 2, (12, 0): 3, (4, 1): 4, (0, 2): 5, (12, 2): 6, (0, 4): 7,
    (4, 4): 8, (0, 5): 9, (12, 5): 10, (0, 6): 11, (8, 7): 12, (12, 7): 13,
}  # fmt: skip


def paper_layer(rng: np.random.Generator) -> EIELayer:
    """A 16 x 8 layer whose PE0 part (N = 4) is the paper's Fig. 2/3 example."""
    idx = index_matrix(rng, 16, 8, 0.4)
    idx[0::4] = 0
    for (r, col), v in PAPER_PE0.items():
        idx[r, col] = v
    return EIELayer(codebook(rng), idx, rng.integers(-300, 300, 16).astype(np.int16), False)
