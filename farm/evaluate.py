"""Evaluate one design point of a sweep (runs on a Dask worker; pure function of its arguments).

For a core, a config and a workload (:mod:`accelgen.farm.spec`) :func:`evaluate_point` returns
the exact cycle model's cycles per inference and load efficiency (EIE, ``docs/papers.md``'s
mean definition) or NFU utilization (DianNao), the energy per inference of the 45 nm model
(:mod:`accelgen.golden.energy`) and the estimated area (:mod:`accelgen.farm.area`).
:func:`spot_check` runs a few inputs of the workload on the RTL and compares them bit for bit
with the golden model and the cycles with the cycle model.
"""

from __future__ import annotations

import functools
import json
import traceback
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "ENERGY_INFERENCES",
    "Entry",
    "evaluate_point",
    "fit_config",
    "onnx_entry",
    "spot_check",
    "workload_entries",
]

#: Inferences over which the one-off model load from DRAM is amortised in the energy per
#: inference (as in ``accelgen bench``'s energy section).
ENERGY_INFERENCES = 1000


@dataclass(frozen=True, eq=False)
class Entry:
    """One workload item: a name, its layers (a chained network) and its inputs ``[batch, ...]``."""

    name: str
    layers: tuple
    x: np.ndarray


@functools.lru_cache(maxsize=8)
def _entries(core: str, workload_json: str) -> tuple[Entry, ...]:
    from accelgen.golden import paper, synthetic
    from accelgen.golden.npzformat import load_diannao_npz, load_eie_npz

    w = json.loads(workload_json)
    batch, seed = w["batch"], w["seed"]
    out = []
    for i, item in enumerate(w["layers"]):
        if "paper" in item and core == "eie":
            p = paper.eie_layer(item["paper"])
            s = synthetic.synthetic_eie(
                p.inputs,
                p.outputs,
                p.weight_density,
                p.act_density,
                seed=seed + paper.EIE_TABLE3.index(p),
                name=p.name,
                batch=batch,
            )
            out.append(Entry(p.name, (s.layer,), s.x))
        elif "synthetic" in item and core == "eie":
            d = item["synthetic"]
            s = synthetic.synthetic_eie(
                d["inputs"],
                d["outputs"],
                d["weight_density"],
                d["act_density"],
                seed=seed + 1000 + i,
                batch=batch,
            )
            name = d.get("name", f"fc{d['inputs']}x{d['outputs']}")
            out.append(Entry(name, (s.layer,), s.x))
        elif "onnx" in item:
            out.append(onnx_entry(core, item, batch, seed + 2000 + i))
        elif "network" in item:
            load = load_eie_npz if core == "eie" else load_diannao_npz
            layers, x = load(item["network"])
            x = np.asarray(x)
            single = np.ndim(x) == (1 if core == "eie" or x.ndim in (1, 2) else 3)
            xb = x[None] if single else x
            out.append(Entry(item["network"].rsplit("/", 1)[-1], tuple(layers), xb[:batch]))
        else:
            if "paper" in item:
                p = paper.diannao_layer(item["paper"])
                d = {
                    "kind": p.kind,
                    "ni": p.ni,
                    "no": p.no,
                    "height": p.height,
                    "width": p.width,
                    "kernel": p.kernel,
                }
                name, s = p.name, seed + paper.DIANNAO_TABLE2.index(p)
            else:
                d = {k: v for k, v in item["synthetic"].items() if k != "name"}
                name = item["synthetic"].get("name", f"{d['kind']}{i}")
                s = seed + 1000 + i
            layer, x1 = synthetic.synthetic_dense(seed=s, **d)
            rng = np.random.default_rng(s + 7)
            xs = [x1] + [
                rng.permutation(x1.reshape(-1)).reshape(x1.shape) for _ in range(batch - 1)
            ]
            out.append(Entry(name, (layer,), np.stack(xs)))
    return tuple(out)


def onnx_entry(core: str, item: dict, batch: int, seed: int) -> Entry:
    """A workload item from an ONNX model (:func:`accelgen.farm.onnx_workload.onnx_layers`)."""
    from accelgen.farm.onnx_workload import onnx_layers

    return Entry(*onnx_layers(core, item, batch, seed))


def workload_entries(core: str, workload: dict) -> tuple[Entry, ...]:
    """The workload's items (cached per worker process)."""
    return _entries(core, json.dumps(workload, sort_keys=True))


@functools.lru_cache(maxsize=64)
def _column_work(core_entry: Entry, layer_index: int, n_pes: int) -> np.ndarray:
    from accelgen.golden.balance import column_work

    return column_work(core_entry.layers[layer_index].index, n_pes)


def fit_config(core: str, config, entries, given: set[str]):
    """``config`` with the memories not in ``given`` sized to hold every entry (EIE).

    Raises ``ValueError`` when no configuration of this shape holds the workload.
    """
    if core != "eie":
        return config
    from accelgen.farm.spec import AUTO_FIELDS

    n = config.n_pes
    need = {"regfile_depth": 1, "ptr_depth": 2, "spmat_words": 1, "max_layers": 1}
    for e in entries:
        entries_pe = np.zeros(n, dtype=np.int64)
        ptr = 0
        for li, layer in enumerate(e.layers):
            rows, cols = layer.shape
            need["regfile_depth"] = max(need["regfile_depth"], -(-rows // n), -(-cols // n))
            ptr += cols + 1
            entries_pe += _column_work(e, li, n).sum(axis=1)
        need["ptr_depth"] = max(need["ptr_depth"], ptr)
        need["spmat_words"] = max(need["spmat_words"], -(-int(entries_pe.max()) // 8) + 1)
        need["max_layers"] = max(need["max_layers"], len(e.layers))
    changes = {k: v for k, v in need.items() if k in AUTO_FIELDS[core] and k not in given}
    return config.replace(**changes) if changes else config


def _eie_metrics(config, entries) -> dict[str, float]:
    from accelgen.golden.balance import ideal_cycles
    from accelgen.golden.eie_cycles import predict_for
    from accelgen.golden.energy import eie_energy
    from accelgen.golden.netspec import run_eie
    from accelgen.host.eie import check_fits

    num = config.numerics
    cycles = run = ideal = energy = 0.0
    for e in entries:
        check_fits(list(e.layers), config)
        res = predict_for(list(e.layers), e.x, config)
        cycles += float(res.cycles.mean())
        run += float(res.run_cycles.sum(axis=1).mean())
        acts = [e.x] + list(run_eie(list(e.layers), e.x, num=num, n_pes=config.n_pes)[:-1])
        for li in range(len(e.layers)):
            cw = _column_work(e, li, config.n_pes)
            ideal += float(np.mean(ideal_cycles(cw, acts[li])["mean"]))
        energy += eie_energy(
            list(e.layers), acts, num=num, n_pes=config.n_pes, n_inferences=ENERGY_INFERENCES
        ).total_pj
    return {"cycles": cycles, "efficiency": ideal / run if run else 0.0, "energy_pj": energy}


def _diannao_metrics(config, entries) -> dict[str, float]:
    from accelgen.golden.diannao_cp import program_cycles
    from accelgen.golden.energy import diannao_energy
    from accelgen.golden.netspec import FCLayer, run_dense
    from accelgen.host.diannao import compile_layer
    from accelgen.sim.diannao import check_mappable

    num = config.numerics
    cycles = useful = energy = 0.0
    for e in entries:
        check_mappable(list(e.layers), e.x.shape, config)
        acts = [e.x] + list(run_dense(list(e.layers), e.x, num=num, group=config.tn)[:-1])
        for layer, a in zip(e.layers, acts, strict=True):
            if isinstance(layer, FCLayer) and a.ndim > 2:  # after a conv / pool: [C, H, W] order
                a = a.reshape(len(a), -1)
            plan, tiles = compile_layer(layer, a, config)
            cycles += sum(program_cycles(t.program).cycles for t in tiles) / len(e.x)
            useful += plan.useful_ops / len(e.x)
        energy += diannao_energy(
            list(e.layers),
            tuple(e.x.shape[1:]),
            num=num,
            tn=config.tn,
            sb_bytes=config.sb_bytes,
            n_inferences=ENERGY_INFERENCES,
        ).total_pj
    util = useful / (config.tn**2 * cycles) if cycles else 0.0
    return {"cycles": cycles, "efficiency": util, "energy_pj": energy}


def evaluate_point(
    core: str, overrides: dict, workload: dict, given: list[str] | None = None
) -> dict[str, Any]:
    """Cycles, efficiency, energy and area of one point; never raises.

    Returns ``{"status": "ok" | "infeasible" | "failed", "config": full config JSON, ...}``:
    ``infeasible`` when the workload does not fit the config (the reason in ``error``),
    ``failed`` for anything unexpected (the traceback in ``log``).
    """
    from accelgen import cores
    from accelgen.farm import area

    try:
        c = cores.get(core)
        entries = workload_entries(core, workload)
        config = c.config_cls(**overrides)
        try:
            config = fit_config(core, config, entries, set(given or overrides))
            metrics = (_eie_metrics if core == "eie" else _diannao_metrics)(config, entries)
        except ValueError as e:
            return {"status": "infeasible", "config": config.to_json(), "error": str(e)}
        est = area.estimate(core, config)
        return {
            "status": "ok",
            "config": config.to_json(),
            **metrics,
            **{f"est_{k}": v for k, v in est.items()},
            "area_in_range": area.in_range(core, config),
        }
    except Exception as e:
        return {
            "status": "failed",
            "config": overrides,
            "error": (str(e).splitlines() or [type(e).__name__])[0],
            "log": traceback.format_exc()[-4000:],
        }


def spot_check(
    core: str, config_json: dict, workload: dict, n_inputs: int, simulator: str = "verilator"
) -> dict[str, Any]:
    """Run ``n_inputs`` inputs of every workload item on the RTL: outputs bit-exact vs the
    golden model and cycles equal to the cycle model. Never raises."""
    from accelgen import cores
    from accelgen.sim.runner import default_simulators

    try:
        c = cores.get(core)
        config = c.config_cls.from_json(config_json)
        entries = workload_entries(core, workload)
        engine = "native" if simulator == "verilator" else "cocotb"
        if simulator not in default_simulators():
            simulator = default_simulators()[0]
            engine = "native" if simulator == "verilator" else "cocotb"
        bad = []
        checked = 0
        for e in entries:
            x = e.x[:n_inputs]
            res = c.simulate(
                list(e.layers), x, config=config, simulator=simulator, progress=False, engine=engine
            )
            gold, model = _golden(core, config, e, x)
            if not np.array_equal(np.asarray(res.y), gold):
                bad.append(f"{e.name}: outputs differ from the golden model")
            if not np.array_equal(np.asarray(res.cycles), model):
                bad.append(f"{e.name}: cycles {res.cycles.tolist()} != model {model.tolist()}")
            checked += len(x)
        return {
            "status": "ok" if not bad else "mismatch",
            "inputs": checked,
            "engine": engine,
            "error": "; ".join(bad),
        }
    except Exception as e:
        return {
            "status": "failed",
            "error": (str(e).splitlines() or [type(e).__name__])[0],
            "log": traceback.format_exc()[-4000:],
        }


def _golden(core: str, config, e: Entry, x) -> tuple[np.ndarray, np.ndarray]:
    """Golden outputs and the cycle model's cycles of ``x`` through the entry's layers."""
    num = config.numerics
    if core == "eie":
        from accelgen.golden.eie_cycles import predict_for
        from accelgen.golden.netspec import run_eie

        y = run_eie(list(e.layers), x, num=num, n_pes=config.n_pes)[-1]
        cyc = predict_for(list(e.layers), x, config).cycles
        return np.atleast_2d(y), cyc
    from accelgen.golden.netspec import run_dense
    from accelgen.sim.diannao import run_model

    y = run_dense(list(e.layers), x, num=num, group=config.tn)[-1]
    return y, run_model(list(e.layers), x, config=config).cycles
