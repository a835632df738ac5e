"""The DianNao core's registry entry (Chen et al., "DianNao", ASPLOS 2014)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import numpy as np

from accelgen.golden.netspec import CONV_ALGORITHMS, FCLayer, with_conv
from accelgen.golden.npzformat import load_diannao_npz
from accelgen.hdl.diannao.top import (
    PIPELINE_DRAIN,
    TOP_MODULE,
    DianNaoTop,
    check_generation_budget,
    verilog,
)
from accelgen.sim import bus as sim_bus
from accelgen.sim import diannao as sim_diannao
from accelgen.spec.diannao import DianNaoConfig, field_widths, instruction_bits

from .registry import Core

__all__ = ["DIANNAO"]


def _report(config: DianNaoConfig) -> dict:
    """Derived sizes of a configuration (the ``report.json`` of ``accelgen generate``)."""
    return {
        "top_module": TOP_MODULE,
        "config": config.to_json(),
        "multipliers": config.tn * config.tn,
        "adder_trees": config.tn,
        "peak_macs_per_cycle": config.peak_macs_per_cycle,
        "nbin_bytes": config.nbin_bytes,
        "nbout_bytes": config.nbout_bytes,
        "sb_bytes": config.sb_bytes,
        "instruction_bits": instruction_bits(config),
        "instruction_fields": field_widths(config),
        "host_data_bits": config.host_data_bits,
        "host_addr_bits": config.host_addr_bits,
        "pipeline_drain_cycles": PIPELINE_DRAIN,
        "program_overhead_cycles": 1 + PIPELINE_DRAIN,
    }


def _check(layers: Sequence, x, config: DianNaoConfig) -> None:
    check_generation_budget(config)  # the simulation generates the RTL first
    sim_diannao.check(layers, x, config)


def _single(layers: Sequence, x) -> bool:
    return np.ndim(x) == (1 if isinstance(layers[0], FCLayer) else 3)


def _arrays(res: sim_diannao.DianNaoResult) -> dict[str, np.ndarray]:
    return {
        "y": res.y,
        "cycles": res.cycles,
        "layer_cycles": res.layer_cycles,
        "utilization": res.utilization,
        "nfu_busy": res.nfu_busy,
        "stall_cycles": res.stall_cycles,
        "host_adds": res.host_adds,
    }


def _summary(res: sim_diannao.DianNaoResult, config: DianNaoConfig) -> str:
    util = ", ".join(f"{u:.1%}" for u in res.utilization)
    host = int(res.host_adds.sum())
    return (
        f"{len(res.cycles)} input(s), {int(res.cycles.sum())} cycles, "
        f"NFU utilization {util} (Tn = {config.tn})"
        + (f", host Winograd transforms {host} adds" if host else "")
    )


def _sim_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--conv",
        choices=CONV_ALGORITHMS,
        help="convolution algorithm of every conv layer (default: each layer's `conv` key, "
        "else direct); winograd = F(2x2, 3x3) with host transforms, 3x3 stride-1 layers only",
    )


def _prepare_network(layers: list, args: argparse.Namespace, src: str) -> list:
    conv = getattr(args, "conv", None)
    return with_conv(layers, conv, src) if conv else layers


def _simulate(layers, x, *, bus: str = "native", **kwargs):
    """The core's own port (``bus="native"``) or a bus wrapper (``axi``, ``wishbone``)."""
    if bus == "native":
        return sim_diannao.simulate(layers, x, **kwargs)
    return sim_bus.simulate_diannao(layers, x, bus=bus, **kwargs)


DIANNAO = Core(
    name="diannao",
    description="DianNao dense NFU accelerator",
    config_cls=DianNaoConfig,
    top=DianNaoTop,
    verilog_name=TOP_MODULE,
    generate_verilog=verilog,
    report=_report,
    load_network=load_diannao_npz,
    check=_check,
    simulate=_simulate,
    single_input=_single,
    result_arrays=_arrays,
    summary=_summary,
    small_config={"tn": 4},
    sim_arguments=_sim_arguments,
    prepare_network=_prepare_network,
    check_generation=check_generation_budget,
)
