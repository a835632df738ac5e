"""SGD steps of the golden fixed-point MLP training (:mod:`accelgen.golden.sgd`) on the RTL.

One step on one sample, each product on generated hardware (a ``diannao_top`` built with
``weight_update``):

1. forward: the MLP's FC layers on ``diannao_top`` (:func:`accelgen.sim.diannao.simulate_cases`);
2. output error on the host (:func:`accelgen.golden.sgd.output_error` of the RTL's logits);
3. backward products with the ReLU derivative, ``(a > 0) * W^T g``, on ``diannao_top``: an FC
   layer whose weights are the transposed matrix, tiled by the DianNao compiler like any FC layer
   (no bias), its instructions marked ``drelu`` with the layer's forward input ``a`` as the NBout
   mask (:func:`accelgen.host.diannao.compile_backward`);
4. the weight updates of every layer, last layer first, **inside the core**: programs of
   ``upd`` instructions (:func:`accelgen.host.diannao.compile_update`, one per host tile) update
   the SB rows in place with the core's LFSR (loaded once with the state the previous step
   left), and the host reads the updated weights back from SB (:func:`run_updates`).

So every step costs ``1 + (layers - 1) + 1`` simulator runs; the cycles of each part are the
RTL's counters. The stand-alone unit (:func:`run_update`, :func:`update_unit`) remains for its
own unit tests.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from accelgen.golden import sgd
from accelgen.golden.netspec import FCLayer
from accelgen.hdl.diannao.top import TOP_MODULE, verilog
from accelgen.hdl.diannao.update import WeightUpdate
from accelgen.host.diannao import (
    HostTile,
    UpdateTile,
    assemble,
    compile_backward,
    compile_update,
    finish_layer,
    read_weights,
)
from accelgen.spec.diannao import DianNaoConfig

from . import diannao as dn

__all__ = [
    "StepResult",
    "TileRun",
    "check_training",
    "run_update",
    "run_tiles",
    "run_updates",
    "train_step",
    "update_unit",
]


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
    """The SGD formats and LFSR must be the core's, and the core must have the weight-update
    unit (``ValueError`` naming the field)."""
    if not config.weight_update:
        raise ValueError("training on the RTL needs a DianNao core built with weight_update")
    for name in (
        "act_bits",
        "act_frac",
        "w_bits",
        "w_frac",
        "acc_bits",
        "g_frac",
        "alpha_frac",
        "lfsr_width",
        "lfsr_taps",
    ):
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


@dataclass
class TileRun:
    """Result of one host tile on the RTL: NBout words and SB rows read back after its program,
    the counters and the LFSR state."""

    nbout: np.ndarray
    rows: np.ndarray
    cycles: int
    nfu_busy: int
    stalls: int
    lfsr_state: int


def run_tiles(
    tiles: list[tuple[HostTile, np.ndarray, int | None]],
    *,
    config: DianNaoConfig,
    simulator: str,
) -> list[TileRun]:
    """Run host tiles ``(tile, SB rows to read after it, LFSR state to load first or None)``
    one after the other on ``diannao_top`` (built with ``weight_update``) in one simulator run
    (:mod:`accelgen.sim.diannao_train_tb`); each result holds the NBout words
    ``tile.read_addr`` and the SB rows read back after the tile's program."""
    from accelgen.sim.runner import run_cocotb

    if not config.weight_update:
        raise ValueError("these programs need a core built with weight_update")
    arrays: dict[str, np.ndarray] = {}
    programs, seeds = [], []
    for k, (tile, read, seed) in enumerate(tiles):
        for name in ("nbin_addr", "nbin_data", "sb_addr", "sb_data", "nbout_addr", "nbout_data"):
            arrays[f"t{k}_{name}"] = np.asarray(getattr(tile, name), dtype=np.int64)
        arrays[f"t{k}_read"] = np.asarray(read, dtype=np.int64)
        arrays[f"t{k}_nbout_read"] = np.asarray(tile.read_addr, dtype=np.int64)
        for ins in tile.program:
            ins.check(config)
        programs.append([dataclasses.asdict(ins) for ins in tile.program])
        seeds.append(None if seed is None else int(seed))
    res = run_cocotb(
        verilog(config),
        toplevel=TOP_MODULE,
        test_module="accelgen.sim.diannao_train_tb",
        simulator=simulator,
        inputs=arrays,
        params={"config": config.to_json(), "programs": programs, "seeds": seeds},
    ).outputs
    lfsr = np.asarray(res["lfsr"])
    out = []
    for k in range(len(tiles)):
        cyc, busy, stalls = (int(v) for v in np.asarray(res[f"t{k}_stats"]))
        nb = np.asarray(res[f"t{k}_nbout"]).reshape(-1, config.tn)
        sb = np.asarray(res[f"t{k}_sb"]).reshape(-1, config.tn)
        out.append(TileRun(nb, sb, cyc, busy, stalls, int(lfsr[k])))
    return out


def run_updates(
    tiles: list[tuple[UpdateTile, int | None]],
    *,
    config: DianNaoConfig,
    simulator: str,
) -> list[TileRun]:
    """:func:`run_tiles` of update tiles ``(tile, LFSR state to load first or None)``, each
    read back at ``tile.read``."""
    return run_tiles(
        [(ut.tile, ut.read, seed) for ut, seed in tiles], config=config, simulator=simulator
    )


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
        plan, tiles, layer = compile_backward(ws[i], gs[i][None], acts[i][None], config)
        runs = run_tiles(
            [(t, np.zeros(0, dtype=np.int64), None) for t in tiles],
            config=config,
            simulator=simulator,
        )
        y = finish_layer(layer, plan, assemble(plan, tiles, [r.nbout for r in runs]), config)
        gs[i - 1] = np.asarray(y[0], dtype=np.int64)
        bwd_cycles += sum(r.cycles for r in runs)
    updates = [(ws[i], acts[i], gs[i]) for i in range(len(ws) - 1, -1, -1)]
    tiles = compile_update(
        updates, config, alpha=cfg.alpha, stochastic=cfg.rounding == "stochastic"
    )
    seeds = [lfsr_state] + [None] * (len(tiles) - 1)  # the LFSR runs on from tile to tile
    runs = run_updates(list(zip(tiles, seeds, strict=True)), config=config, simulator=simulator)
    new = read_weights(tiles, [r.rows for r in runs], config)
    return StepResult(
        weights=new[::-1],
        lfsr_state=runs[-1].lfsr_state,
        logits=acts[-1],
        forward_cycles=int(res.cycles.sum()),
        backward_cycles=bwd_cycles,
        update_cycles=sum(r.cycles for r in runs),
    )
