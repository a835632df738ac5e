"""The options of ``accelgen demo`` (:class:`DemoConfig`) and the core configurations they
select (:func:`core_configs`)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from ..spec.config import Config, require

__all__ = ["DemoConfig", "core_configs"]


@dataclass(frozen=True, kw_only=True)
class DemoConfig(Config):
    """Options of one demo run.

    Parameters
    ----------
    simulator : {"verilator", "icarus"}
        The RTL simulator.
    images : int or None
        How many images of the held-out test split to run (the first ``images``); ``None`` runs
        every one.
    pes : int
        EIE processing elements N (a power of two).
    tn : int
        DianNao NFU width Tn (a power of two, 2..16).
    waves : bool
        Dump waveforms (slow; kept in the simulation run directories).
    out : str
        The report directory.
    clock_mhz : float
        The "configured clock" for inferences/s (the synthesis Fmax is reported beside it).
    chunks : int
        Simulation runs per network the images are split into (the progress bar advances once
        per run); more runs give a smoother bar at the cost of simulator start-ups.
    lstm : bool
        Also run a small LSTM on EIE (:mod:`accelgen.demo.lstm`) and report its cycles per step.
    jobs : int
        Simulator processes run at once (1..64, default 2). With more than one, the Verilator
        or Icarus builds of both cores start in worker processes while the models train, and
        the image pieces of both networks run in parallel; 1 runs everything in this process.
    engine : {"auto", "native", "cocotb"}
        The simulation engine (:mod:`accelgen.sim.native`): ``native`` runs the compiled
        Verilator C++ harness (bit-exact with cocotb, no Python per cycle), ``cocotb`` the
        cocotb testbenches; ``auto`` (default) picks native on Verilator without waveforms
        and cocotb otherwise (Icarus, ``waves``).
    """

    simulator: Literal["verilator", "icarus"] = "verilator"
    images: int | None = None
    pes: int = 8
    tn: int = 8
    waves: bool = False
    out: str = "build/demo"
    clock_mhz: float = 200.0
    chunks: int = 8
    lstm: bool = False
    jobs: int = 2
    engine: Literal["auto", "native", "cocotb"] = "auto"

    def __post_init__(self) -> None:
        self.validate_fields()
        require(
            self.engine != "native" or (self.simulator == "verilator" and not self.waves),
            "engine native needs simulator verilator and no waves "
            f"(got simulator {self.simulator!r}, waves {self.waves!r})",
        )
        require(
            self.images is None or self.images >= 1,
            f"images must be at least 1, got {self.images!r}",
        )
        require(
            self.pes >= 1 and self.pes & (self.pes - 1) == 0 and self.pes <= 256,
            f"pes must be a power of two in 1..256, got {self.pes!r}",
        )
        require(self.tn in (2, 4, 8, 16), f"tn must be a power of two in 2..16, got {self.tn!r}")
        require(
            math.isfinite(self.clock_mhz) and self.clock_mhz > 0,
            f"clock_mhz must be a positive number, got {self.clock_mhz!r}",
        )
        require(1 <= self.chunks <= 1000, f"chunks must be in 1..1000, got {self.chunks!r}")
        require(1 <= self.jobs <= 64, f"jobs must be in 1..64, got {self.jobs!r}")
        require(bool(self.out), "out must name a directory")

    @property
    def sim_engine(self) -> str:
        """The engine the run uses (``auto`` resolved)."""
        if self.engine != "auto":
            return self.engine
        return "native" if self.simulator == "verilator" and not self.waves else "cocotb"


def core_configs(cfg: DemoConfig) -> dict[str, Config]:
    """The cores of the demo by registry name: each core's default configuration with
    ``cfg.pes`` EIE PEs and DianNao's NFU width ``cfg.tn``."""
    from ..spec.diannao import DianNaoConfig
    from ..spec.eie import EIEConfig

    return {"eie": EIEConfig(n_pes=cfg.pes), "diannao": DianNaoConfig(tn=cfg.tn)}
