"""What every ``accelgen bench`` section shares: :class:`Section` (one part of the report),
:class:`BenchContext` (output folder, mode, seed and the cached synthetic layers and encodings),
the quick-mode layer subsets and the small number formatters of the tables."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..golden import balance, paper, synthetic
from ..golden.arith import Numerics
from ..golden.eie_format import encode

__all__ = [
    "DIANNAO_QUICK_LAYERS",
    "EIE_QUICK_LAYERS",
    "NUM",
    "BenchContext",
    "Section",
    "first_line",
    "guarded",
    "pct",
    "progress",
    "ratio",
]

#: The Table III layers of ``--quick``.
EIE_QUICK_LAYERS = ("Alex-8", "NT-We")
#: The Table 2 layers of ``--quick``.
DIANNAO_QUICK_LAYERS = ("CONV3", "CONV4", "POOL3", "CLASS1", "CLASS3")
#: The fixed-point formats of every benchmark (EIE's default 32-bit accumulator).
NUM = Numerics(acc_bits=32)


@dataclass
class Section:
    """One part of the report: tables (lists of row dicts), notes, plots, skipped parts."""

    name: str
    title: str
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    plots: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "tables": self.tables,
            "notes": self.notes,
            "plots": self.plots,
            "skipped": self.skipped,
        }

    @classmethod
    def from_json(cls, name: str, data: dict[str, Any]) -> Section:
        return cls(
            name,
            data["title"],
            data["tables"],
            data["notes"],
            data["plots"],
            data["skipped"],
        )


@dataclass
class BenchContext:
    """What every section needs: output folder, mode, seed, caches of synthetic layers and
    their encodings, and ``checkpoint(section)``, which writes the report with a section's
    results so far (before its long RTL runs)."""

    out: Path
    quick: bool
    seed: int
    num: Numerics = field(default_factory=lambda: NUM)
    _layers: dict[str, synthetic.SyntheticEIE] = field(default_factory=dict)
    checkpoint: Callable[[Section], None] = lambda section: None
    _cache: dict[tuple, Any] = field(default_factory=dict)
    #: A checkout of the EIE authors' simulator (``--authors-sim``), or None.
    authors_sim: Path | None = None
    #: (layer, PE count) pairs whose encoding exceeds EIE's 16-bit column pointers.
    oversize: set[tuple[str, int]] = field(default_factory=set)

    def eie_layer(self, name: str) -> synthetic.SyntheticEIE:
        """The synthetic version of Table III layer ``name`` (cached; seed = bench seed)."""
        if name not in self._layers:
            p = paper.eie_layer(name)
            self._layers[name] = synthetic.synthetic_eie(
                p.inputs,
                p.outputs,
                p.weight_density,
                p.act_density,
                seed=self.seed + paper.EIE_TABLE3.index(p),
                name=name,
                num=self.num,
            )
        return self._layers[name]

    def column_work(self, name: str, n_pes: int) -> np.ndarray:
        """Entries of each column in each PE for EIE's own placement (cached)."""
        key = ("colwork", name, n_pes)
        if key not in self._cache:
            self._cache[key] = balance.column_work(self.eie_layer(name).layer.index, n_pes)
        return self._cache[key]

    def assignment(self, name: str, n_pes: int) -> balance.RowAssignment:
        """Option (b)'s row placement of layer ``name`` for ``n_pes`` PEs (cached)."""
        key = ("assign", name, n_pes)
        if key not in self._cache:
            index = self.eie_layer(name).layer.index
            self._cache[key] = balance.balanced_assignment(index, n_pes)
        return self._cache[key]

    def encoding(self, name: str, balanced: bool, n_pes: int):
        """The EIE encoding of layer ``name`` with EIE's or option (b)'s placement (cached)."""
        key = ("enc", name, balanced, n_pes)
        if key not in self._cache:
            index = self.eie_layer(name).layer.index
            if balanced:
                index = index[self.assignment(name, n_pes).perm]
            try:
                self._cache[key] = encode(index, n_pes)
            except ValueError:  # beyond 16-bit pointers: the model still runs, noted
                self._cache[key] = encode(index, n_pes, pointer_bits=None)
                self.oversize.add((name, n_pes))
        return self._cache[key]

    def eie_layer_names(self) -> tuple[str, ...]:
        """The Table III layers of this run."""
        return EIE_QUICK_LAYERS if self.quick else tuple(p.name for p in paper.EIE_TABLE3)

    def diannao_layer_names(self) -> tuple[str, ...]:
        """The Table 2 layers of this run."""
        return DIANNAO_QUICK_LAYERS if self.quick else tuple(p.name for p in paper.DIANNAO_TABLE2)

    def save_artifacts(self, tag: str, config, verilog: Path | str | None) -> None:
        """Keep the resolved config and the Verilog (a file or its text) of an RTL run."""
        (self.out / "configs").mkdir(exist_ok=True)
        config.save(self.out / "configs" / f"{tag}.json")
        if verilog is None:
            return
        (self.out / "verilog").mkdir(exist_ok=True)
        dest = self.out / "verilog" / f"{tag}.v"
        if isinstance(verilog, Path):
            shutil.copyfile(verilog, dest)
        else:
            dest.write_text(verilog)


def progress(iterable: Iterable, desc: str, total: int | None = None):
    from tqdm import tqdm

    return tqdm(iterable, desc=desc, total=total, file=sys.stderr, leave=False, unit="run")


def first_line(e: BaseException) -> str:
    lines = str(e).strip().splitlines()
    return f"{type(e).__name__}: {lines[0] if lines else ''}"


def guarded(
    sec: Section, fn: Callable[[], Any], *, expected: type[Exception], skip: str, failed: str
) -> Any | None:
    """``fn()``, or ``None`` with a note in ``sec.skipped``: ``"<skip> (<error>)"`` for an
    ``expected`` error (a core or tool not available, a layer that does not fit), ``"FAILED:
    <failed>: <error>"`` for any other, so that a failed RTL run does not lose the results
    before it."""
    try:
        return fn()
    except expected as e:
        sec.skipped.append(f"{skip} ({e})")
    except Exception as e:
        sec.skipped.append(f"FAILED: {failed}: {first_line(e)}")
    return None


def pct(v: float | None) -> float | None:
    return None if v is None else round(100.0 * float(v), 2)


def ratio(ours: float | None, theirs: float | None) -> float | None:
    if ours is None or theirs in (None, 0):
        return None
    return round(float(ours) / float(theirs), 3)
