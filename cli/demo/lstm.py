"""``accelgen demo --lstm``: a small LSTM on EIE, bit-exact against the golden LSTM cell.

EIE runs an LSTM step as NeuralTalk's LSTM layer is run in the EIE paper (Han et al., ISCA 2016,
section VI): the four gates are one sparse fully-connected layer over the concatenated input
``[x_t, h_{t-1}]`` on the RTL; the element-wise part (PWL sigmoid / tanh, the cell update) follows
:mod:`accelgen.golden.lstm` on the host. Every step's gate outputs and the resulting ``h``/``c``
are compared with :func:`accelgen.golden.lstm.lstm_cell` bit for bit.

The task is generated here (no data set): sequences of sine samples ``sin(2 pi f t + phase)``
with a random frequency and phase per sequence. The gate weights are random (seeded), pruned to
25 % density and weight-shared to 15 values + 0 by :func:`accelgen.golden.compress.compress_layer`;
they are not trained, so the section reports bit-exactness and cycles per step, not accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .compare import first_mismatch

__all__ = ["LSTMTask", "lstm_elementwise", "lstm_task", "run_lstm"]


@dataclass(frozen=True, eq=False)
class LSTMTask:
    """A generated sequence task and the compressed gate layer of a small LSTM."""

    x: np.ndarray  # int16[sequences, steps, inputs]
    gates: object  # EIELayer [4H, X + H], bias inside, no ReLU
    hidden: int


def lstm_task(
    num, *, inputs: int = 8, hidden: int = 32, steps: int = 8, sequences: int = 16, seed: int = 7
) -> LSTMTask:
    """Sine-wave sequences (``inputs`` samples per step) and a seeded random sparse LSTM."""
    from accelgen.golden.arith import quantize
    from accelgen.golden.compress import compress_layer

    rng = np.random.default_rng(seed)
    freq = rng.uniform(0.02, 0.2, (sequences, 1, 1))
    phase = rng.uniform(0, 2 * np.pi, (sequences, 1, 1))
    t = np.arange(steps * inputs).reshape(1, steps, inputs)
    x = quantize(np.sin(2 * np.pi * freq * t + phase), num.act_frac, num.act_bits)
    w = rng.normal(0.0, 1.0, (4 * hidden, inputs + hidden))
    b = rng.normal(0.0, 0.2, 4 * hidden)
    layer = compress_layer(w, b, density=0.25, num=num, relu=False).layer
    return LSTMTask(x.astype(np.int16), layer, hidden)


def lstm_elementwise(z: np.ndarray, c: np.ndarray, *, num) -> tuple[np.ndarray, np.ndarray]:
    """The element-wise part of a step from the gate outputs ``z`` (order i, f, g, o).

    Uses the golden model's rules (:func:`~accelgen.golden.layers.activate`,
    :func:`~accelgen.golden.lstm.mul_act`, :func:`~accelgen.golden.arith.sat_add`) exactly as
    :func:`accelgen.golden.lstm.lstm_cell` composes them.
    """
    from accelgen.golden.arith import sat_add
    from accelgen.golden.layers import activate
    from accelgen.golden.lstm import mul_act

    hidden = z.shape[-1] // 4
    zi, zf, zg, zo = (z[..., k * hidden : (k + 1) * hidden] for k in range(4))
    i = activate(zi, "sigmoid", num)
    f = activate(zf, "sigmoid", num)
    g = activate(zg, "tanh", num)
    o = activate(zo, "sigmoid", num)
    c_new = sat_add(mul_act(f, c, num=num), mul_act(i, g, num=num), acc_bits=num.act_bits)
    return mul_act(o, activate(c_new, "tanh", num), num=num), c_new


def run_lstm(task: LSTMTask, simulate_gates, *, num, n_pes: int, log) -> dict:
    """Run every step of every sequence; return the report section.

    ``simulate_gates(layer, xh)`` runs the gate layer on the RTL for a batch ``xh`` and returns
    ``(z, cycles)``. The first difference from the golden cell stops the run and is reported.
    """
    from accelgen.golden.eie_format import encode
    from accelgen.golden.layers import eie_layer
    from accelgen.golden.lstm import lstm_cell

    seqs, steps, _ = task.x.shape
    h = np.zeros((seqs, task.hidden), dtype=np.int64)
    c = np.zeros_like(h)
    enc = encode(task.gates.index, n_pes)
    step_cycles, mismatch = [], None
    for t in range(steps):
        xh = np.concatenate([task.x[:, t], h], axis=1)
        z, cycles = simulate_gates(task.gates, xh)
        z_golden = eie_layer(enc, task.gates.codebook, xh, task.gates.bias, num=num)
        h_new, c_new = lstm_elementwise(np.asarray(z, dtype=np.int64), c, num=num)
        h_golden, c_golden = lstm_cell(task.x[:, t], h, c, task.gates, num=num, n_pes=n_pes)
        mismatch = first_mismatch(
            f"LSTM on EIE, step {t}", [z, c_new, h_new], [z_golden, c_golden, h_golden]
        )
        step_cycles.append(np.asarray(cycles, dtype=np.float64))
        if mismatch is not None:
            break
        h, c = h_new, c_new
    per_step = [float(s.mean()) for s in step_cycles]
    log(
        "      LSTM on EIE: "
        + (
            f"MISMATCH - {mismatch} (layers: 0 = gates, 1 = c, 2 = h)"
            if mismatch
            else f"{seqs} sequences x {steps} steps bit-exact, "
            f"{np.mean(per_step):.0f} cycles per step"
        )
    )
    rows, cols = task.gates.shape
    return {
        "title": "LSTM on EIE",
        "task": "sine-wave sequences (random frequency and phase), seeded random weights",
        "inputs": cols - task.hidden,
        "hidden": task.hidden,
        "gate_layer": f"fc {cols}->{rows} (gates i, f, g, o)",
        "weight_density": task.gates.density,
        "sequences": seqs,
        "steps": steps,
        "bit_exact": mismatch is None,
        "mismatch": None if mismatch is None else mismatch.to_json(),
        "cycles_per_step": per_step,
        "cycles_per_step_mean": float(np.mean(per_step)),
    }
