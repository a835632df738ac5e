"""The synthesis flows' errors (shared by :mod:`accelgen.synth.flow` and its helpers)."""

from __future__ import annotations

__all__ = ["SynthError", "SynthTimeout", "ToolMissing"]


class SynthError(RuntimeError):
    """A synthesis or place-and-route tool failed; the message holds the log tail."""


class ToolMissing(SynthError):
    """A tool (YoWASP, OpenSTA) or the default liberty is not installed."""


class SynthTimeout(SynthError):
    """A tool ran longer than the run's ``pnr_timeout_s``; the message names its last phase."""
