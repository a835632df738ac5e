"""Text helpers of the reports every layer writes: JSON of NumPy values, Markdown tables.

This module sits at the bottom of the layers (``spec``) although it holds no spec: the
simulation harness (:mod:`accelgen.sim.runner`), the synthesis report (:mod:`accelgen.synth`)
and the commands (``accelgen bench``, ``accelgen demo``) all write reports with it, and a helper
used by several layers must live in the lowest of them. It is pure Python (NumPy values are
recognised through the :mod:`numbers` ABCs NumPy registers them with), so it adds no dependency
to the spec layer.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["json_default", "md_cell", "md_table"]


def json_default(o: Any) -> Any:
    """``default=`` of :func:`json.dumps` for NumPy scalars and arrays and ``to_json()`` objects.

    >>> import json, numpy as np
    >>> json.dumps([np.int16(3), np.float32(0.5), np.arange(2)], default=json_default)
    '[3, 0.5, [0, 1]]'
    """
    if isinstance(o, numbers.Integral):
        return int(o)
    if isinstance(o, numbers.Real):
        return float(o)
    if hasattr(o, "to_json"):
        return o.to_json()
    if hasattr(o, "tolist"):  # NumPy arrays
        return o.tolist()
    raise TypeError(f"cannot write {type(o).__name__} to JSON")


def md_cell(v: Any) -> str:
    """One Markdown table cell: ``-`` for ``None``, yes/no, thousands separators, 2 decimals.

    >>> [md_cell(v) for v in (None, True, 1234, 0.5, 2.5e7, "x")]
    ['-', 'yes', '1,234', '0.50', '2.5e+07', 'x']
    """
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:,.2f}" if abs(v) < 1e6 else f"{v:.3g}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def md_table(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """The lines of a Markdown table: the first row's keys as the header, cells by :func:`md_cell`.

    >>> print("\\n".join(md_table([{"quantity": "LUT", "value": 12}])))
    | quantity | value |
    |---|---|
    | LUT | 12 |
    """
    if not rows:
        return ["(no rows)"]
    cols = list(rows[0])
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    out += ["| " + " | ".join(md_cell(r.get(c)) for c in cols) + " |" for r in rows]
    return out
