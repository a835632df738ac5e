"""Result keys: a point is identified by its core, config, workload and the tool versions."""

from __future__ import annotations

import hashlib
import json
from typing import Any

__all__ = ["point_key"]


def point_key(kind: str, core: str, config: dict, workload: Any, tools: dict) -> str:
    """16 hex digits of SHA-256 over the canonical JSON of the point's identity."""
    text = json.dumps(
        {"kind": kind, "core": core, "config": config, "workload": workload, "tools": tools},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]
