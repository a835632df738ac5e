"""Register replicas: copies of one register that synthesis must keep apart.

A register that feeds many distant consumers (one NBin word feeding a whole row of DSP
multipliers) is faster as several copies, each placed next to its consumers. Yosys merges
identical flip-flops, so the copies carry the attribute :data:`REPLICA_ATTR`; the synthesis
flow (``accelgen.synth.flow``) marks the flip-flops that drive such signals ``keep``, which
``opt_merge`` respects. Simulation is unaffected (the copies hold equal values).
"""

from __future__ import annotations

from amaranth.hdl import Signal

__all__ = ["REPLICA_ATTR", "replica"]

#: Verilog attribute on the replicated registers (read by the synthesis flow).
REPLICA_ATTR = "accelgen_replica"


def replica(shape, name: str) -> Signal:
    """A signal for one copy of a replicated register (assign it in a sync domain)."""
    return Signal(shape, name=name, attrs={REPLICA_ATTR: 1}, src_loc_at=1)
