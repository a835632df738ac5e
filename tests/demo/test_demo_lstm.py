"""The LSTM section of the demo: the host's element-wise part and the RTL gate layer."""

import numpy as np
import pytest

from accelgen.demo import DemoConfig, run_demo
from accelgen.demo.lstm import lstm_elementwise, lstm_task, run_lstm
from accelgen.golden.eie_format import encode
from accelgen.golden.layers import eie_layer
from accelgen.golden.lstm import lstm_cell
from accelgen.sim import runner
from accelgen.spec.eie import EIEConfig

NUM = EIEConfig().numerics


def golden_gates(layer, xh):
    z = eie_layer(encode(layer.index, 8), layer.codebook, xh, layer.bias, num=NUM)
    return z, np.full(len(xh), 7)


def test_task_is_seeded_and_in_range():
    a, b = lstm_task(NUM), lstm_task(NUM)
    np.testing.assert_array_equal(a.x, b.x)
    assert a.x.shape == (16, 8, 8) and a.gates.shape == (128, 40)
    assert np.abs(a.x).max() <= 1 << NUM.act_frac  # sine samples in [-1, 1]
    assert 0.2 < a.gates.density <= 0.25 and not a.gates.relu


def test_elementwise_matches_golden_cell_with_saturated_states():
    rng = np.random.default_rng(3)
    task = lstm_task(NUM, sequences=4)
    x = task.x[:, 0]
    h = rng.integers(-32768, 32768, (4, task.hidden))
    c = np.full((4, task.hidden), 32767)
    c[1] = -32768
    xh = np.concatenate([x, h], axis=1)
    z, _ = golden_gates(task.gates, xh)
    h_new, c_new = lstm_elementwise(z, c, num=NUM)
    h_ref, c_ref = lstm_cell(x, h, c, task.gates, num=NUM, n_pes=8)
    np.testing.assert_array_equal(h_new, h_ref)
    np.testing.assert_array_equal(c_new, c_ref)


def test_run_lstm_reports_cycles_and_first_wrong_gate():
    task = lstm_task(NUM)
    ok = run_lstm(task, golden_gates, num=NUM, n_pes=8, log=lambda s: None)
    assert ok["bit_exact"] and ok["cycles_per_step"] == [7.0] * 8
    calls = []

    def wrong_at_step_3(layer, xh):
        z, cycles = golden_gates(layer, xh)
        calls.append(1)
        if len(calls) == 4:
            z = z.copy()
            z[5, 17] += 1
        return z, cycles

    bad = run_lstm(task, wrong_at_step_3, num=NUM, n_pes=8, log=lambda s: None)
    assert not bad["bit_exact"] and len(bad["cycles_per_step"]) == 4
    m = bad["mismatch"]
    assert (m["network"], m["image"], m["layer"], m["neuron"]) == (
        "LSTM on EIE, step 3",
        5,
        0,
        [17],
    )


@pytest.mark.slow
@pytest.mark.parametrize("simulator", runner.default_simulators())
def test_demo_lstm_on_rtl(simulator, tmp_path):
    cfg = DemoConfig(simulator=simulator, images=4, out=str(tmp_path), chunks=1, lstm=True)
    report = run_demo(cfg, log=lambda s: None, progress=False).report
    lstm = report["lstm"]
    assert lstm["bit_exact"] and len(lstm["cycles_per_step"]) == lstm["steps"] == 8
    assert all(c > 0 for c in lstm["cycles_per_step"])
    assert "LSTM on EIE" in (tmp_path / "report.md").read_text()
