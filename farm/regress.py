"""Random regression of the cores' RTL against the golden model and the cycle model.

:func:`plan` draws, from one seed, a pool of random configurations per core (PE counts / NFU
widths at the edges, queue depths, 24/32-bit accumulators, 8/16-bit formats, the EIE options)
and assigns every case one of them; a case is a seed from which :func:`make_case` draws random
layers and inputs that fit the config: shapes with empty rows and columns, densities from 0 to
1, saturation-heavy values (codebook / weight extremes, full-scale activations), batches of 1-3
and chains of up to 3 layers. :func:`run_group` runs a group of cases of one config in **one**
simulation (the native engine where it exists, so one Verilator build per config, cached on
the worker's disk) and checks every case's outputs bit for bit against the golden model and
its cycles against the cycle model. A failing case is shrunk (:func:`shrink`: fewer inputs,
fewer layers, fewer rows and columns, while it still fails) into a minimal reproducer.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["CORES", "Case", "check_case", "make_case", "plan", "run_group", "shrink"]

CORES = ("eie", "diannao")
MAX_SHRINK_RUNS = 24


@dataclass(frozen=True, eq=False)
class Case:
    """One regression case: its id, seed, core, config and the generated layers and input."""

    id: int
    seed: int
    core: str
    config: Any
    layers: tuple
    x: np.ndarray


def _eie_config(rng: np.random.Generator):
    from accelgen.spec.eie import EIEConfig

    act_bits = int(rng.choice([8, 16]))
    w_bits = int(rng.choice([8, 16]))
    return EIEConfig(
        n_pes=int(rng.choice([1, 2, 4, 8])),
        fifo_depth=int(rng.choice([1, 2, 4, 8])),
        act_bits=act_bits,
        act_frac=act_bits // 2,
        w_bits=w_bits,
        w_frac=w_bits - 4,
        acc_bits=int(rng.choice([24, 32])),
        regfile_depth=16,
        spmat_words=128,
        ptr_depth=256,
        max_layers=3,
        skip_empty=bool(rng.integers(2)),
        filter_empty=bool(rng.integers(2)),
        merge_padding=bool(rng.integers(2)),
        decouple_depth=int(rng.choice([0, 0, 2, 4])),
    )


def _diannao_config(rng: np.random.Generator):
    from accelgen.spec.diannao import DianNaoConfig

    act_bits = int(rng.choice([8, 16]))
    w_bits = int(rng.choice([8, 16]))
    return DianNaoConfig(
        tn=int(rng.choice([2, 4, 8])),
        nbin_depth=256,
        nbout_depth=128,
        sb_depth=256,
        act_bits=act_bits,
        act_frac=act_bits // 2,
        w_bits=w_bits,
        w_frac=w_bits - 4,
        acc_bits=int(rng.choice([24, 32])),
        imem_depth=64,
        double_buffer=bool(rng.integers(2)),
    )


def plan(
    n_cases: int, seed: int, cores: Sequence[str], configs_per_core: int
) -> dict[str, list[tuple[Any, list[tuple[int, int]]]]]:
    """Per core, ``[(config, [(case id, case seed), ...]), ...]``: ``n_cases`` cases spread
    round-robin over the cores and uniformly over each core's pool of random configs."""
    rng = np.random.default_rng(seed)
    pools: dict[str, list] = {}
    for core in cores:
        make = _eie_config if core == "eie" else _diannao_config
        pool: list = []
        while len(pool) < configs_per_core:
            cfg = make(rng)
            if cfg not in pool or len(pool) >= 8:
                pool.append(cfg)
        pools[core] = pool
    out: dict[str, list] = {core: [(cfg, []) for cfg in pools[core]] for core in cores}
    for i in range(n_cases):
        core = cores[i % len(cores)]
        j = int(rng.integers(len(pools[core])))
        out[core][j][1].append((i, int(rng.integers(2**31))))
    return {core: [g for g in groups if g[1]] for core, groups in out.items()}


def _values(rng, n, bits, density, extreme=0.3):
    """``n`` values of a signed ``bits``-bit format, ``density`` non-zero, saturation-heavy."""
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    v = rng.integers(lo, hi + 1, n)
    ext = rng.random(n) < extreme
    v[ext] = rng.choice([lo, hi, lo + 1, hi - 1], int(ext.sum()))
    v[rng.random(n) >= density] = 0
    return v.astype(np.int64)


def _eie_case(rng, config) -> tuple[tuple, np.ndarray]:
    from accelgen.golden.netspec import EIELayer
    from accelgen.host.eie import check_fits

    c = config
    for _ in range(50):
        n_layers = int(rng.integers(1, c.max_layers + 1))
        sizes = [int(rng.integers(1, min(c.max_cols, 40) + 1))]
        for _ in range(n_layers):
            sizes.append(int(rng.integers(1, min(c.max_rows, c.max_cols, 40) + 1)))
        layers = []
        for k in range(n_layers):
            rows, cols = sizes[k + 1], sizes[k]
            density = float(rng.choice([0.0, 0.05, 0.3, 0.7, 1.0]))
            index = np.where(
                rng.random((rows, cols)) < density, rng.integers(1, 16, (rows, cols)), 0
            )
            if rows > 1 and rng.random() < 0.5:
                index[rng.integers(rows)] = 0  # an empty row
            if cols > 1 and rng.random() < 0.5:
                index[:, rng.integers(cols)] = 0  # an empty column
            codebook = _values(rng, 16, c.w_bits, 1.0)
            codebook[0] = 0
            bias = _values(rng, rows, c.act_bits, 0.5) if rng.random() < 0.5 else None
            layers.append(
                EIELayer(codebook=codebook, index=index, bias=bias, relu=bool(rng.integers(2)))
            )
        batch = int(rng.integers(1, 4))
        x = _values(rng, batch * sizes[0], c.act_bits, float(rng.choice([0.1, 0.5, 1.0])))
        x = x.reshape(batch, sizes[0])
        try:
            check_fits(layers, c)
        except ValueError:
            continue
        return tuple(layers), x
    raise RuntimeError("no EIE case fits the config in 50 draws")  # pragma: no cover


def _diannao_case(rng, config) -> tuple[tuple, np.ndarray]:
    from accelgen.golden.netspec import ConvLayer, FCLayer, PoolLayer
    from accelgen.sim.diannao import check_mappable

    c = config
    acts = ("none", "relu", "sigmoid", "tanh")
    for _ in range(50):
        batch = int(rng.integers(1, 4))
        if rng.random() < 0.5:  # an MLP
            sizes = [int(rng.integers(1, 41)) for _ in range(int(rng.integers(2, 4)))]
            layers = [
                FCLayer(
                    w=_values(rng, o * i, c.w_bits, float(rng.choice([0.3, 1.0]))).reshape(o, i),
                    b=_values(rng, o, c.act_bits, 0.5) if rng.random() < 0.5 else None,
                    act=str(rng.choice(acts)),
                )
                for i, o in zip(sizes[:-1], sizes[1:], strict=True)
            ]
            x = _values(rng, batch * sizes[0], c.act_bits, 0.8).reshape(batch, sizes[0])
        else:  # conv (+ pool)
            ch, k = int(rng.integers(1, 5)), int(rng.integers(1, 4))
            no, hw = int(rng.integers(1, 7)), int(rng.integers(k + 1, 9))
            w = _values(rng, no * ch * k * k, c.w_bits, 1.0).reshape(no, ch, k, k)
            layers = [ConvLayer(w=w, act=str(rng.choice(acts)))]
            if rng.random() < 0.5 and hw - k + 1 >= 2:
                layers.append(PoolLayer(k=2, stride=2, mode=str(rng.choice(["max", "avg"]))))
            x = _values(rng, batch * ch * hw * hw, c.act_bits, 0.8).reshape(batch, ch, hw, hw)
        try:
            check_mappable(layers, x.shape, c)
        except ValueError:
            continue
        return tuple(layers), x
    raise RuntimeError("no DianNao case fits the config in 50 draws")  # pragma: no cover


def make_case(core: str, config, case_id: int, seed: int) -> Case:
    """The case of ``seed`` on ``config`` (the same seed gives the same case)."""
    rng = np.random.default_rng(seed)
    layers, x = (_eie_case if core == "eie" else _diannao_case)(rng, config)
    return Case(case_id, seed, core, config, layers, x)


def expected(case: Case) -> tuple[np.ndarray, np.ndarray]:
    """Golden outputs and the cycle model's cycles per input of ``case``."""
    c, num = case.config, case.config.numerics
    if case.core == "eie":
        from accelgen.golden.eie_cycles import predict_for
        from accelgen.golden.netspec import run_eie

        y = run_eie(list(case.layers), case.x, num=num, n_pes=c.n_pes)[-1]
        cyc = predict_for(list(case.layers), case.x, c).cycles
        return np.atleast_2d(y), cyc
    from accelgen.golden.netspec import run_dense
    from accelgen.sim.diannao import run_model

    y = run_dense(list(case.layers), case.x, num=num, group=c.tn)[-1]
    return y, run_model(list(case.layers), case.x, config=c).cycles


def simulate(config, cases: Sequence[Case], simulator: str, engine: str) -> list:
    """``(y, cycles)`` of every case from the RTL, all in one simulation."""
    if not cases:
        return []
    if cases[0].core == "eie":
        from accelgen.host.eie import build_image
        from accelgen.sim.eie import Job, run_jobs

        jobs = [Job(build_image(list(k.layers), config), k.x) for k in cases]
        res = run_jobs(config, jobs, simulator=simulator, engine=engine)
    else:
        from accelgen.sim.diannao import simulate_cases

        res = simulate_cases(
            [(list(k.layers), k.x) for k in cases],
            config=config,
            simulator=simulator,
            engine=engine,
        )
    return [(np.asarray(r.y), np.asarray(r.cycles)) for r in res]


def check_case(case: Case, got: tuple[np.ndarray, np.ndarray]) -> str:
    """``""`` when the RTL's outputs and cycles match, else what differs (one line)."""
    y, cycles = got
    gy, gc = expected(case)
    if y.shape != gy.shape or not np.array_equal(y, gy):
        diff = int(np.count_nonzero(y != gy)) if y.shape == gy.shape else "shape"
        return f"outputs differ from the golden model ({diff} values)"
    if not np.array_equal(cycles, gc):
        return f"cycles {cycles.tolist()} != cycle model {gc.tolist()}"
    return ""


def _first_output(case: Case) -> np.ndarray:
    """The golden output of the first layer: the input of the network without it."""
    num = case.config.numerics
    if case.core == "eie":
        from accelgen.golden.netspec import run_eie

        h = run_eie(list(case.layers[:1]), case.x, num=num, n_pes=case.config.n_pes)[0]
        return np.atleast_2d(h).astype(np.int64)
    from accelgen.golden.netspec import run_dense

    return run_dense(list(case.layers[:1]), case.x, num=num, group=case.config.tn)[0]


def _candidates(case: Case) -> list[tuple[tuple, np.ndarray]]:
    """Smaller versions of a case: one input, fewer layers, halved rows / columns."""
    out = []
    layers, x = case.layers, case.x
    if len(x) > 1:
        out.append((layers, x[:1]))
    if len(layers) > 1:
        out.append((layers[:-1], x))
        out.append((layers[1:], _first_output(case)))
    if case.core == "eie":
        from accelgen.golden.netspec import EIELayer

        last = layers[-1]
        rows, cols = last.shape
        if rows > 1:
            h = rows // 2
            bias = None if last.bias is None else last.bias[:h]
            out.append(
                (layers[:-1] + (EIELayer(last.codebook, last.index[:h], bias, last.relu),), x)
            )
        first = layers[0]
        if len(layers) == 1 and cols > 1:
            h = cols // 2
            out.append(
                ((EIELayer(first.codebook, first.index[:, :h], first.bias, first.relu),), x[:, :h])
            )
    else:
        from accelgen.golden.netspec import FCLayer

        last = layers[-1]
        if isinstance(last, FCLayer) and last.w.shape[0] > 1:
            h = last.w.shape[0] // 2
            b = None if last.b is None else last.b[:h]
            out.append((layers[:-1] + (FCLayer(w=last.w[:h], b=b, act=last.act),), x))
        first = layers[0]
        if len(layers) == 1 and isinstance(first, FCLayer) and first.w.shape[1] > 1:
            h = first.w.shape[1] // 2
            out.append(((FCLayer(w=first.w[:, :h], b=first.b, act=first.act),), x[:, :h]))
    return out


def _check_fits(case: Case) -> None:
    if case.core == "eie":
        from accelgen.host.eie import check_fits

        check_fits(list(case.layers), case.config)
    else:
        from accelgen.sim.diannao import check

        check(list(case.layers), case.x, case.config)


def shrink(case: Case, fails: Callable[[Case], str]) -> tuple[Case, str, int]:
    """The smallest variant of a failing ``case`` that still fails (greedy), its failure and
    the simulator runs spent (at most :data:`MAX_SHRINK_RUNS`)."""
    reason = fails(case)
    runs = 1
    progress = True
    while progress and runs < MAX_SHRINK_RUNS:
        progress = False
        for layers, x in _candidates(case):
            cand = Case(case.id, case.seed, case.core, case.config, tuple(layers), x)
            try:
                _check_fits(cand)
            except (ValueError, TypeError):
                continue
            runs += 1
            why = fails(cand)
            if why:
                case, reason, progress = cand, why, True
                break
            if runs >= MAX_SHRINK_RUNS:
                break
    return case, reason, runs


def run_group(
    core: str, config_json: dict, cases: Sequence[tuple[int, int]], simulator: str, engine: str
) -> dict[str, Any]:
    """Generate, simulate and check ``cases`` (``(id, seed)``) on one config; never raises.

    Returns ``{"status", "cases", "failures": [{"id", "seed", "error", "layers", "x",
    "shrink_runs"}], "seconds_sim"}``; a simulator or tool error fails the whole group
    (``error``, ``log``)."""
    import time

    from accelgen import cores as registry

    try:
        cls = registry.get(core).config_cls
        config = cls.from_json(config_json)
        made = [make_case(core, config, i, s) for i, s in cases]
        t = time.perf_counter()
        got = simulate(config, made, simulator, engine)
        sim_s = time.perf_counter() - t
        failures = []
        for case, g in zip(made, got, strict=True):
            why = check_case(case, g)
            if not why:
                continue

            def fails(k: Case) -> str:
                try:
                    return check_case(k, simulate(config, [k], simulator, engine)[0])
                except Exception as e:  # a smaller case the RTL cannot even run still fails
                    return f"simulation error: {(str(e).splitlines() or [type(e).__name__])[0]}"

            small, reason, runs = shrink(case, fails)
            failures.append(
                {
                    "id": case.id,
                    "seed": case.seed,
                    "error": reason or why,
                    "layers": small.layers,
                    "x": small.x,
                    "shrink_runs": runs,
                }
            )
        return {
            "status": "ok" if not failures else "mismatch",
            "cases": len(made),
            "failures": failures,
            "seconds_sim": round(sim_s, 3),
        }
    except Exception as e:
        return {
            "status": "failed",
            "cases": len(cases),
            "failures": [],
            "error": (str(e).splitlines() or [type(e).__name__])[0],
            "log": traceback.format_exc()[-4000:],
        }
