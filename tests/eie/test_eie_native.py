"""The native engine (compiled Verilator harness) on EIE: bit-exact with the golden model, the
cycle model and the cocotb engine (every output and every counter).

The cocotb runs compare on both simulators; on Icarus the cocotb host writes with random idle
cycles, which the counters (start to done) must not see.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from test_core import CONFIGS, build_cases

from accelgen.golden.eie_cycles import predict_for
from accelgen.golden.netspec import run_eie
from accelgen.hdl.eie.top import TOP_MODULE, verilog
from accelgen.host.eie import build_image
from accelgen.sim import native, runner
from accelgen.sim.eie import Job, run_jobs, simulate

FIELDS = ("y", "cycles", "layer_cycles", "pe_busy", "pe_starved")
# the cases compared with cocotb as well (the cocotb runs are the slow part)
COCOTB_CASES = ("chain3", "empty-rows-cols", "gaps", "saturation", "paper", "many-empty-cols")


# n1 has the same host port as n4 (one more build): slow suite only
@pytest.mark.parametrize("name", [pytest.param("n1", marks=pytest.mark.slow), "n4", "n8s"])
def test_native_matches_golden_and_cycle_model(name):
    config = CONFIGS[name]
    cases = build_cases(config, seed=sorted(CONFIGS).index(name))
    jobs = [Job(build_image(layers, config), x) for _, layers, x in cases]
    results = run_jobs(config, jobs, engine="native")
    _assert_golden_and_model(name, config, cases, results)
    stats = native.last_stats()
    assert stats.edges > sum(int(r.cycles.sum()) for r in results)  # loads and reads too


def _assert_golden_and_model(name, config, cases, results):
    """Every case's outputs equal the golden model's, every counter the cycle model's."""
    for (case, layers, x), res in zip(cases, results, strict=True):
        gold = run_eie(layers, x, num=config.numerics, n_pes=config.n_pes)[-1]
        np.testing.assert_array_equal(res.y, gold, err_msg=f"{name}/{case}")
        model = predict_for(layers, x, config)
        for field in FIELDS[1:]:
            np.testing.assert_array_equal(
                getattr(res, field), getattr(model, field), err_msg=f"{case}: model {field}"
            )


def test_native_pes_share_one_copy_of_code():
    """The PEs' instances run one copy of the PE's code (native.shared_instances_config): the
    speed-up of docs/benchmarks.md, checked on the model the pinned Verilator generates."""
    config = CONFIGS["n4"]
    exe = native.build_native(verilog(config), toplevel=TOP_MODULE, core="eie")
    assert (exe.parent / "shared.vlt").exists()
    fast = [f for f in exe.parent.glob("Vtop_eie_pe__*.cpp") if not f.name.endswith("Slow.cpp")]
    defined = set()
    for f in fast:
        defined |= set(re.findall(r"^void (Vtop_eie_pe___nba_\w+)\(", f.read_text(), re.M))
    assert defined and len(defined) < config.n_pes, sorted(defined)


def _gate_checked_run(monkeypatch, name: str, seed: int):
    """The bit-exact cases of ``name`` on the gate-checking build (every gated PE's code runs
    anyway and the harness fails if it changed the PE)."""
    monkeypatch.setenv("ACCELGEN_NATIVE_GATE_CHECK", "1")
    config = CONFIGS[name]
    cases = build_cases(config, seed=seed)
    jobs = [Job(build_image(layers, config), x) for _, layers, x in cases]
    return config, cases, run_jobs(config, jobs, engine="native")


# the n4 build (three layers, 24-bit accumulators) and every option with the decoupled
# broadcast; the other builds in the slow suite
@pytest.mark.parametrize(
    "name",
    ["n4", "n8sfd"]
    + [pytest.param(n, marks=pytest.mark.slow) for n in ("n1", "n2", "n8", "n8s", "n8sf", "n4nm")],
)
def test_native_pe_gating_keeps_every_state(monkeypatch, name):
    """PE gating (native.patch_pe_gating) skips the PEs a host access does not address; on
    the checking build no skipped PE would have changed, and the results are the golden ones."""
    config, cases, results = _gate_checked_run(monkeypatch, name, seed=sorted(CONFIGS).index(name))
    stats = native.last_stats()
    exe = native.build_native(verilog(config), toplevel=TOP_MODULE, core="eie")
    log = (exe.parent / "build.log").read_text()
    if config.n_pes > 1:
        assert "PE gating on" in log
        assert 0 < stats.gated_edges < stats.edges  # gating ran
    else:  # one PE: no shared PE code to gate
        assert "PE gating off" in log and stats.gated_edges == 0
    _assert_golden_and_model(name, config, cases, results)


# one layer descriptor: output reads are gated too (native._gate_marks)
ONE_LAYER = CONFIGS["n8"].replace(max_layers=1)


def _one_layer_run(monkeypatch):
    from eie_cases import activations, random_layer

    monkeypatch.setenv("ACCELGEN_NATIVE_GATE_CHECK", "1")
    rng = np.random.default_rng(11)
    layer = random_layer(rng, 128, 96, 0.3, relu=True)
    x = activations(rng, 3, 96, 0.6)
    res = run_jobs(ONE_LAYER, [Job(build_image([layer], ONE_LAYER), x)], engine="native")[0]
    return layer, x, res


def test_native_pe_gating_on_output_reads(monkeypatch):
    """With one layer descriptor the output reads of a row already read twice are gated too:
    more gated edges than the activation writes alone give, the results still the golden
    ones, and the checking build finds no skipped PE that would have changed."""
    layer, x, res = _one_layer_run(monkeypatch)
    np.testing.assert_array_equal(res.y, run_eie([layer], x, num=ONE_LAYER.numerics)[-1])
    np.testing.assert_array_equal(res.cycles, predict_for([layer], x, ONE_LAYER).cycles)
    writes = len(x) * (96 - 32)  # each input's writes after the 32 settling ones
    assert native.last_stats().gated_edges > writes


@pytest.mark.parametrize("access", ["write", "read"])
def test_native_gate_check_fails_on_a_wrong_mark(monkeypatch, access):
    """The check can fail: a stream that names the wrong PE for each activation write, or marks
    the first reads of a row as changing no PE, gates a PE that changes, and the
    checking build stops at that edge."""
    n = ONE_LAYER.n_pes
    marks = native._gate_marks

    def wrong(*args):
        act, out = marks(*args)
        if access == "write":
            return act % n + 1, out  # the next PE's
        return act, np.where(out == native.GATE_ALL, native.GATE_NONE, out)

    monkeypatch.setattr(native, "_gate_marks", wrong)
    with pytest.raises(runner.SimulationError, match=r"PE \d changed state at a gated edge"):
        _one_layer_run(monkeypatch)


@pytest.mark.parametrize("simulator", runner.default_simulators())
@pytest.mark.parametrize("name", ["n4", "n8s"])
def test_native_matches_cocotb(name, simulator):
    config = CONFIGS[name]
    cases = [c for c in build_cases(config, seed=7) if c[0] in COCOTB_CASES]
    assert len(cases) >= 5
    jobs = [Job(build_image(layers, config), x) for _, layers, x in cases]
    gap = 0.3 if simulator == "icarus" else 0.0
    ref = run_jobs(config, jobs, simulator=simulator, gap=gap)
    got = run_jobs(config, jobs, engine="native")
    for (case, _, _), a, b in zip(cases, got, ref, strict=True):
        for field in FIELDS:
            np.testing.assert_array_equal(
                getattr(a, field), getattr(b, field), err_msg=f"{name}/{case} {field}"
            )


def test_simulate_native_chunks():
    """The public simulate() with engine='native', a batch over several chunks."""
    config = CONFIGS["n4"]
    rng = np.random.default_rng(3)
    _, layers, _ = next(c for c in build_cases(config, seed=3) if c[0] == "chain3")
    x = rng.integers(-2000, 2000, (5, layers[0].shape[1])).astype(np.int16)
    res = simulate(layers, x, config=config, engine="native", progress=False, chunk=2)
    np.testing.assert_array_equal(res.y, run_eie(layers, x, num=config.numerics)[-1])
    assert res.cycles.shape == (5,) and res.pe_busy.shape == (5, 3, 4)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"engine": "fast"}, "unknown engine 'fast'"),
        ({"engine": "native", "simulator": "icarus"}, "Verilator only"),
        ({"engine": "native", "waves": True}, "no waveforms"),
    ],
)
def test_engine_errors_before_simulating(kwargs, message):
    config = CONFIGS["n1"]
    _, layers, x = build_cases(config, seed=0)[0]
    with pytest.raises(ValueError, match=message):
        simulate(layers, x, config=config, progress=False, **kwargs)


def test_cli_sim_engine_native(tmp_path, capsys):
    from eie_cases import activations, random_layer

    from accelgen.golden.npzformat import save_eie_npz
    from accelgen.main import main
    from accelgen.spec.eie import EIEConfig

    rng = np.random.default_rng(7)
    layers = [random_layer(rng, 10, 6, 0.5, relu=True), random_layer(rng, 3, 10, 0.5)]
    x = activations(rng, 2, 6, 0.7)
    npz, out = tmp_path / "net.npz", tmp_path / "out.npz"
    save_eie_npz(npz, layers, x)
    argv = ["sim", "eie", str(npz), "-o", str(out), "--pes", "2", "--no-progress"]
    assert main([*argv, "--engine", "native"]) == 0
    with np.load(out) as f:
        np.testing.assert_array_equal(
            f["y"], run_eie(layers, x, num=EIEConfig(n_pes=2).numerics)[-1]
        )
        assert f["pe_busy"].shape == (2, 2, 2)
    capsys.readouterr()
    assert main([*argv, "--engine", "native", "--simulator", "icarus"]) == 2
    assert "the native engine runs on Verilator only" in capsys.readouterr().err
