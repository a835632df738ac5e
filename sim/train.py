"""SGD steps of the golden fixed-point MLP training (:mod:`accelgen.golden.sgd`) on the RTL.

One step on one sample, each product on generated hardware:

1. forward: the MLP's FC layers on ``diannao_top`` (:func:`accelgen.sim.diannao.simulate_cases`);
2. output error on the host (:func:`accelgen.golden.sgd.output_error` of the RTL's logits);
3. backward products ``W^T g`` on ``diannao_top``: an FC layer whose weights are the transposed
   matrix, tiled by the DianNao compiler like any FC layer (no bias, no activation); the ReLU
   derivative is applied by the host (``g = 0`` where the layer's forward output is ``<= 0``);
4. the weight updates of every layer (last layer first, row-major ``[out, in]``) streamed through
   the stand-alone weight-update unit (:class:`accelgen.hdl.diannao.update.WeightUpdate`,
   ``lanes = Tn``) in one simulator run; its LFSR state is carried from step to step (loaded at
   the start of each run).

So every step costs ``1 + (layers - 1) + 1`` simulator runs. The update unit is not yet inside
``diannao_top`` (no synapse-buffer write-back port or CP instruction): the host moves the weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from accelgen.golden import sgd
from accelgen.golden.netspec import FCLayer
from accelgen.hdl.diannao.update import WeightUpdate
from accelgen.spec.diannao import DianNaoConfig

from . import diannao as dn

__all__ = ["StepResult", "check_training", "run_update", "train_step", "update_unit"]


@dataclass
class StepResult:
    """Weights after one step on the RTL, the LFSR state, the logits and the cycles."""

    weights: list[np.ndarray]
    lfsr_state: int
    logits: np.ndarray
    forward_cycles: int
    backward_cycles: int
    update_cycles: int

    @property
    def cycles(self) -> int:
        return self.forward_cycles + self.backward_cycles + self.update_cycles


def check_training(cfg: sgd.SGDConfig, config: DianNaoConfig) -> None:
    """The SGD formats must be the core's (``ValueError`` naming the field)."""
    for name in ("act_bits", "act_frac", "w_bits", "w_frac", "acc_bits"):
        a, b = getattr(cfg, name), getattr(config, name)
        if a != b:
            raise ValueError(f"training {name}={a} differs from the DianNao config's {name}={b}")
    if cfg.group != config.tn:
        raise ValueError(f"training group={cfg.group} must equal the core's tn={config.tn}")


def update_unit(cfg: sgd.SGDConfig, lanes: int) -> WeightUpdate:
    return WeightUpdate(
        lanes=lanes,
        act_bits=cfg.act_bits,
        act_frac=cfg.act_frac,
        w_bits=cfg.w_bits,
        w_frac=cfg.w_frac,
        g_frac=cfg.g_frac,
        alpha_frac=cfg.alpha_frac,
        lfsr_width=cfg.lfsr_width,
        lfsr_taps=cfg.lfsr_taps,
        lfsr_seed=cfg.lfsr_seed,
    )


def run_update(
    unit: WeightUpdate,
    updates: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
    *,
    alpha: int,
    stochastic: bool,
    seed: int,
    simulator: str,
) -> tuple[list[np.ndarray], int, int]:
    """Stream ``w += alpha * outer(g, a)`` of every ``(w, a, g)`` through the unit's RTL, each
    matrix in row-major order starting on a fresh beat, after loading the LFSR with ``seed``.

    Returns the new matrices, the LFSR state after the run and the unit's busy cycles (beats).
    """
    from accelgen.sim.runner import run_cocotb

    lanes = unit.lanes
    rows: dict[str, list] = {k: [] for k in ("w", "g", "a", "n_valid")}
    for w, a, g in updates:
        ww = np.asarray(w, dtype=np.int64).ravel()
        gg = np.repeat(np.asarray(g, dtype=np.int64), w.shape[1])
        aa = np.tile(np.asarray(a, dtype=np.int64), w.shape[0])
        for b0 in range(0, ww.size, lanes):
            n = min(lanes, ww.size - b0)
            for key, v in (("w", ww), ("g", gg), ("a", aa)):
                beat = np.zeros(lanes, dtype=np.int64)
                beat[:n] = v[b0 : b0 + n]
                rows[key].append(beat)
            rows["n_valid"].append(n)
    beats = len(rows["n_valid"])
    zero = np.zeros(lanes, dtype=np.int64)
    # beat 0 loads the LFSR; one idle beat at the end collects the last result (latency 2)
    inputs = {k: np.array([zero, *rows[k], zero]) for k in ("w", "g", "a")}
    inputs["n_valid"] = np.array([0, *rows["n_valid"], 0])
    n = beats + 2
    inputs["alpha"] = np.full(n, alpha)
    inputs["stochastic"] = np.full(n, int(stochastic))
    inputs["load"] = np.array([1] + [0] * (n - 1))
    inputs["seed"] = np.full(n, seed, dtype=np.int64)
    res = run_cocotb(
        unit,
        toplevel="weight_update",
        test_module="accelgen.sim.update_tb",
        simulator=simulator,
        inputs=inputs,
        params={"lanes": lanes, "w_bits": unit.w_bits},
    )
    w_out = np.asarray(res.outputs["w_out"])[2 : 2 + beats]  # beat j's result: step j + 1
    flat = np.concatenate(
        [w_out[i, : rows["n_valid"][i]] for i in range(beats)] if beats else [np.zeros(0)]
    )
    out, k = [], 0
    for w, _, _ in updates:
        out.append(flat[k : k + w.size].reshape(w.shape).astype(np.int64))
        k += w.size
    state = int(np.asarray(res.outputs["lfsr_state"])[-1])
    return out, state, beats


def train_step(
    ws: list[np.ndarray],
    x: np.ndarray,
    y: int,
    cfg: sgd.SGDConfig,
    config: DianNaoConfig,
    *,
    lfsr_state: int,
    simulator: str,
) -> StepResult:
    """One SGD step (module docstring) of the MLP ``ws`` on sample ``x`` with label ``y``."""
    check_training(cfg, config)
    fwd = [FCLayer(w, act="relu" if i < len(ws) - 1 else "none") for i, w in enumerate(ws)]
    (res,) = dn.simulate_cases([(fwd, np.asarray(x)[None])], config=config, simulator=simulator)
    acts = [np.asarray(x, dtype=np.int64)] + [np.asarray(o[0], dtype=np.int64) for o in res.outputs]
    g = sgd.output_error(acts[-1], y, cfg)
    gs = {len(ws) - 1: g}
    bwd_cycles = 0
    for i in range(len(ws) - 1, 0, -1):
        layer = FCLayer(np.ascontiguousarray(ws[i].T))
        (rb,) = dn.simulate_cases([([layer], gs[i][None])], config=config, simulator=simulator)
        gs[i - 1] = np.where(acts[i] > 0, np.asarray(rb.y[0], dtype=np.int64), 0)
        bwd_cycles += int(rb.cycles.sum())
    updates = [(ws[i], acts[i], gs[i]) for i in range(len(ws) - 1, -1, -1)]
    new, state, beats = run_update(
        update_unit(cfg, config.tn),
        updates,
        alpha=cfg.alpha,
        stochastic=cfg.rounding == "stochastic",
        seed=lfsr_state,
        simulator=simulator,
    )
    return StepResult(
        weights=new[::-1],
        lfsr_state=state,
        logits=acts[-1],
        forward_cycles=int(res.cycles.sum()),
        backward_cycles=bwd_cycles,
        update_cycles=beats,
    )
