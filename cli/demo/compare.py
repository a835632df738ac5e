"""The bit-for-bit comparison of RTL outputs with the golden model: :func:`first_mismatch`
finds the first difference, :class:`Mismatch` names it, :class:`DemoMismatch` carries it (and
the report written) out of :func:`accelgen.demo.run_demo`. Used by the digits networks and by
the LSTM task alike."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["DemoMismatch", "Mismatch", "first_mismatch"]


@dataclass(frozen=True)
class Mismatch:
    """The first RTL output that differs from the golden model."""

    network: str
    image: int
    layer: int
    neuron: tuple[int, ...]
    rtl: int
    golden: int
    located: bool = True

    def __str__(self) -> str:
        where = "" if self.located else " (first layer the RTL returned; not localised further)"
        neuron = self.neuron[0] if len(self.neuron) == 1 else self.neuron
        return (
            f"{self.network}: RTL differs from the golden model at image {self.image}, "
            f"layer {self.layer}{where}, neuron {neuron}: RTL {self.rtl}, golden {self.golden}"
        )

    def to_json(self) -> dict:
        return {
            "network": self.network,
            "image": self.image,
            "layer": self.layer,
            "neuron": list(self.neuron),
            "rtl": self.rtl,
            "golden": self.golden,
            "located": self.located,
        }


class DemoMismatch(Exception):
    """Raised by :func:`run_demo` when an RTL output differs; carries the report written."""

    def __init__(self, mismatch: Mismatch, report: dict):
        super().__init__(str(mismatch))
        self.mismatch = mismatch
        self.report = report


def first_mismatch(
    network: str,
    rtl: Sequence[np.ndarray | None],
    golden: Sequence[np.ndarray],
    *,
    image_ids: Sequence[int] | None = None,
) -> Mismatch | None:
    """Compare per-layer RTL outputs with the golden ones; return the first difference.

    Parameters
    ----------
    network:
        Name used in the message.
    rtl, golden:
        For each layer, the outputs of every image, ``[images, ...]``. An RTL entry may be
        ``None`` for a layer the core did not return (only the last layer's output leaves the
        chip); such layers are skipped.
    image_ids:
        The test-split index of each row (default ``0, 1, ...``).

    Returns
    -------
    Mismatch or None
        The smallest image with any difference, its earliest differing layer and, within that
        layer, the first differing neuron (C order; ``(channel, y, x)`` for feature maps).
    """
    if len(rtl) != len(golden):
        raise ValueError(
            f"{network}: RTL returned {len(rtl)} layers, the golden model {len(golden)}"
        )
    diff_rows: list[np.ndarray] = []
    for i, (r, g) in enumerate(zip(rtl, golden, strict=True)):
        if r is None:
            diff_rows.append(np.zeros(len(golden[0]), dtype=bool))
            continue
        r, g = np.asarray(r), np.asarray(g)
        if r.shape != g.shape:
            raise ValueError(
                f"{network}: layer {i} RTL output has shape {r.shape}, golden {g.shape}"
            )
        diff_rows.append((r.astype(np.int64) != g.astype(np.int64)).reshape(len(g), -1).any(1))
    bad = np.flatnonzero(np.any(diff_rows, axis=0)) if diff_rows else np.zeros(0, int)
    if bad.size == 0:
        return None
    row = int(bad[0])
    layer = next(i for i, d in enumerate(diff_rows) if d[row])
    r = np.asarray(rtl[layer])[row].astype(np.int64)
    g = np.asarray(golden[layer])[row].astype(np.int64)
    flat = int(np.flatnonzero((r != g).reshape(-1))[0])
    neuron = tuple(int(v) for v in np.unravel_index(flat, g.shape))
    image = int(image_ids[row]) if image_ids is not None else row
    located = all(x is not None for x in rtl[:layer])
    return Mismatch(network, image, layer, neuron, int(r[neuron]), int(g[neuron]), located)
