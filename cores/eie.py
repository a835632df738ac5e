"""The EIE core's registry entry (Han et al., "EIE", ISCA 2016)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from accelgen.golden.npzformat import load_eie_npz
from accelgen.hdl.eie.top import PE_MODULE, TOP_MODULE, EIETop, verilog
from accelgen.sim import bus as sim_bus
from accelgen.sim import eie as sim_eie
from accelgen.spec.eie import EIEConfig, MemoryMap

from .registry import Core

__all__ = ["EIE"]


def _report(config: EIEConfig) -> dict:
    return {
        "top_module": TOP_MODULE,
        "pe_module": PE_MODULE,
        **config.report(),
        "memory_map": MemoryMap(config).to_json(),
    }


def _check(layers: Sequence, x, config: EIEConfig) -> None:
    sim_eie.check_fits(layers, config)
    sim_eie.check_input(x, layers, config)


def _arrays(res: sim_eie.EIEResult) -> dict[str, np.ndarray]:
    return {
        "y": res.y,
        "cycles": res.cycles,
        "layer_cycles": res.layer_cycles,
        "pe_busy": res.pe_busy,
        "pe_starved": res.pe_starved,
    }


def _summary(res: sim_eie.EIEResult, config: EIEConfig) -> str:
    return (
        f"{len(res.cycles)} input(s), {int(res.cycles.mean())} cycles per input "
        f"on {config.n_pes} PEs"
    )


def _simulate(layers, x, *, bus: str = "native", **kwargs):
    """The core's own port (``bus="native"``) or a bus wrapper (``axi``, ``wishbone``)."""
    if bus == "native":
        return sim_eie.simulate(layers, x, **kwargs)
    return sim_bus.simulate_eie(layers, x, bus=bus, **kwargs)


EIE = Core(
    name="eie",
    description="EIE sparse compressed-FC accelerator",
    config_cls=EIEConfig,
    top=EIETop,
    verilog_name=TOP_MODULE,
    generate_verilog=verilog,
    report=_report,
    load_network=load_eie_npz,
    check=_check,
    simulate=_simulate,
    single_input=lambda layers, x: np.ndim(x) == 1,
    result_arrays=_arrays,
    summary=_summary,
    small_config={"n_pes": 2},
    flag_aliases={"n_pes": "pes"},
)
