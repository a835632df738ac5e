"""The bus-wrapped cores (AXI4-Lite + AXI4-Stream, Wishbone B4) on Icarus and Verilator.

cocotbext-axi / cocotbext-wishbone drive them with seeded random pauses on every channel; each
run first checks the response codes of bad accesses and the register block, then runs whole
small networks through the bus. Outputs are compared with the golden model, counters with the
cycle models (EIE: ``golden.eie_cycles``, DianNao: the CP model); a monitor checks every cycle
that no valid drops (or payload changes) before its handshake.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import numpy as np
import pytest

from accelgen.golden.eie_cycles import predict_for
from accelgen.golden.netspec import run_dense, run_eie
from accelgen.host.eie import build_image
from accelgen.sim import bus as bus_sim
from accelgen.sim import diannao as diannao_api
from accelgen.sim.eie import Job
from accelgen.sim.runner import default_simulators
from accelgen.spec.diannao import DianNaoConfig
from accelgen.spec.eie import EIEConfig

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "eie"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "diannao"))
from diannao_cases import fc, network  # noqa: E402
from eie_cases import activations, random_network  # noqa: E402

SIMS = default_simulators()
BUSES = ("axi", "wishbone")
PAUSE = 0.3

EIE_CONFIG = EIEConfig(
    n_pes=2, fifo_depth=2, acc_bits=32, regfile_depth=32, spmat_words=128, ptr_depth=256,
    max_layers=3,
)  # fmt: skip
DIANNAO_CONFIG = DianNaoConfig(tn=4, nbin_depth=64, sb_depth=32, nbout_depth=32, imem_depth=8)


def _eie_jobs():
    config = EIE_CONFIG
    rng = np.random.default_rng(5)
    jobs = []
    for n_layers, batch in ((2, 2), (1, 1)):
        layers = random_network(rng, config, n_layers, 0.3)
        x = activations(rng, batch, layers[0].shape[1], 0.6)
        jobs.append(Job(build_image(layers, config), x))
    return jobs


@functools.cache
def _eie_cocotb(bus, simulator):
    """The cocotb run of the EIE jobs (shared by the golden and the native comparisons)."""
    return bus_sim.run_eie(
        EIE_CONFIG, _eie_jobs(), bus=bus, simulator=simulator, pause=PAUSE, seed=3
    )


@pytest.mark.parametrize("simulator", SIMS)
@pytest.mark.parametrize("bus", BUSES)
def test_eie_network_through_bus(bus, simulator):
    config = EIE_CONFIG
    jobs = _eie_jobs()
    results = _eie_cocotb(bus, simulator)
    for job, res in zip(jobs, results, strict=True):
        layers, x = list(job.image.layers), job.x
        np.testing.assert_array_equal(res.y, run_eie(layers, x, num=config.numerics)[-1])
        model = predict_for(layers, x, config)
        for field in ("cycles", "layer_cycles", "pe_busy", "pe_starved"):
            np.testing.assert_array_equal(getattr(res, field), getattr(model, field), field)


def _diannao_cases():
    """A whole CNN (conv, pools, fc; every activation) and an FC layer with a batch of 2."""
    rng = np.random.default_rng(7)
    layers, x = network(rng)
    return [(layers, x[:1]), fc(rng, 9, 6, batch=2, act="relu")]


@functools.cache
def _diannao_cocotb(bus, simulator):
    return bus_sim.run_diannao(
        _diannao_cases(), config=DIANNAO_CONFIG, bus=bus, simulator=simulator, pause=PAUSE, seed=4
    )


@pytest.mark.parametrize("simulator", SIMS)
@pytest.mark.parametrize("bus", BUSES)
def test_diannao_network_through_bus(bus, simulator):
    config = DIANNAO_CONFIG
    cases = _diannao_cases()
    results = _diannao_cocotb(bus, simulator)
    for (layers, x), res in zip(cases, results, strict=True):
        golden = run_dense(layers, x, num=config.numerics, group=config.tn)
        for j, want in enumerate(golden):
            np.testing.assert_array_equal(res.outputs[j], want, err_msg=f"layer {j}")
        model = diannao_api.run_model(layers, x, config=config)
        np.testing.assert_array_equal(res.layer_cycles, model.layer_cycles)
        np.testing.assert_array_equal(res.nfu_busy, model.nfu_busy)
        np.testing.assert_array_equal(res.stall_cycles, model.stall_cycles)


# ------------------------------------------------------------------ native engine, AXI build
# The compiled C host of accelgen.sim.native drives eie_axi / diannao_axi through the generated
# accelgen_<core>.h (registers, window, command and result streams); its outputs and every
# counter must equal the cocotb AXI run's (random pauses on every channel) and the golden model.


@pytest.mark.parametrize("simulator", SIMS)
def test_eie_native_axi_matches_cocotb_axi(simulator):
    jobs = _eie_jobs()
    got = bus_sim.run_eie(EIE_CONFIG, jobs, bus="axi", engine="native")
    ref = _eie_cocotb("axi", simulator)
    for i, (job, a, b) in enumerate(zip(jobs, got, ref, strict=True)):
        want = run_eie(list(job.image.layers), job.x, num=EIE_CONFIG.numerics)[-1]
        np.testing.assert_array_equal(a.y, want, err_msg=f"job {i} y vs golden")
        for field in ("y", "cycles", "layer_cycles", "pe_busy", "pe_starved"):
            np.testing.assert_array_equal(
                getattr(a, field), getattr(b, field), err_msg=f"job {i} {field}"
            )


@pytest.mark.parametrize("simulator", SIMS)
def test_diannao_native_axi_matches_cocotb_axi(simulator):
    cases = _diannao_cases()
    got = bus_sim.run_diannao(cases, config=DIANNAO_CONFIG, bus="axi", engine="native")
    ref = _diannao_cocotb("axi", simulator)
    for i, ((layers, x), a, b) in enumerate(zip(cases, got, ref, strict=True)):
        golden = run_dense(layers, x, num=DIANNAO_CONFIG.numerics, group=DIANNAO_CONFIG.tn)
        for j, want in enumerate(golden):
            np.testing.assert_array_equal(a.outputs[j], want, err_msg=f"case {i} layer {j}")
            np.testing.assert_array_equal(a.outputs[j], b.outputs[j])
        for field in ("layer_cycles", "nfu_busy", "stall_cycles"):
            np.testing.assert_array_equal(
                getattr(a, field), getattr(b, field), err_msg=f"case {i} {field}"
            )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"bus": "wishbone"}, "drives the AXI build only"),
        ({"bus": "axi", "pause": 0.1}, "no random bus pauses"),
        ({"bus": "axi", "simulator": "icarus"}, "Verilator only"),
    ],
)
def test_native_bus_errors_before_simulating(kwargs, message):
    with pytest.raises(ValueError, match=message):
        bus_sim.run_eie(EIE_CONFIG, _eie_jobs(), engine="native", **kwargs)


def test_cli_sim_native_axi(tmp_path, capsys):
    """`accelgen sim eie --engine native --bus axi`: the C host of eie_axi, golden outputs."""
    from accelgen.golden.npzformat import save_eie_npz
    from accelgen.main import main

    rng = np.random.default_rng(11)
    config = EIEConfig(n_pes=2)
    layers = random_network(rng, config, 2, 0.4)
    x = activations(rng, 3, layers[0].shape[1], 0.6)
    npz, out = tmp_path / "net.npz", tmp_path / "out.npz"
    save_eie_npz(npz, layers, x)
    argv = ["sim", "eie", str(npz), "-o", str(out), "--pes", "2", "--no-progress"]
    assert main([*argv, "--engine", "native", "--bus", "axi"]) == 0
    with np.load(out) as f:
        np.testing.assert_array_equal(f["y"], run_eie(layers, x, num=config.numerics)[-1])
        model = predict_for(layers, x, config)
        np.testing.assert_array_equal(f["cycles"], model.cycles)
        np.testing.assert_array_equal(f["pe_busy"], model.pe_busy)
    capsys.readouterr()
    assert main([*argv, "--engine", "native", "--bus", "wishbone"]) == 2
    assert "drives the AXI build only" in capsys.readouterr().err
