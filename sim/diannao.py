"""Python API of the DianNao core: check a network, run it on the RTL or on the CP model.

* :func:`check_mappable` validates a network against a :class:`DianNaoConfig` before anything
  runs (shapes chain, values fit the formats, every layer fits the buffers and the IMEM).
* :func:`simulate` runs the network on the generated RTL (``diannao_top``) in cocotb on
  Icarus or Verilator, in chunks of the batch with a progress bar, and returns the outputs with
  the counters the RTL measured.
* :func:`run_model` runs the same compiled programs on the Python CP model
  (:mod:`accelgen.golden.diannao_cp`), which predicts the RTL's outputs and cycle counts.

The golden network is :func:`accelgen.golden.netspec.run_dense` with ``group = tn``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from accelgen.golden.arith import check_fixed
from accelgen.golden.diannao_cp import DianNaoCPModel
from accelgen.golden.netspec import ConvLayer, DenseLayer, FCLayer, PoolLayer
from accelgen.golden.npzformat import dense_shapes
from accelgen.hdl.diannao.top import TOP_MODULE, verilog
from accelgen.host.diannao import LayerPlan, check_programs, layer_input, plan_layer, run_layer
from accelgen.spec.diannao import DianNaoConfig

__all__ = [
    "check",
    "check_cases",
    "ConvLayer",
    "DianNaoResult",
    "FCLayer",
    "PoolLayer",
    "check_mappable",
    "run_model",
    "simulate",
    "simulate_cases",
    "verilog",
]


@dataclass
class DianNaoResult:
    """Outputs and measured counters of a network run.

    Attributes
    ----------
    y : numpy.ndarray
        Output of the last layer, batched (``[batch, ...]``).
    outputs : list of numpy.ndarray
        Every layer's batched output.
    layer_cycles : numpy.ndarray
        ``int64[batch, n_layers]``: cycles of the CP programs that computed each sample's
        outputs of each layer. A program shared by several samples (a batched FC tile) is split
        evenly between them (the remainder to the first), so the sum over the batch is the
        layer's total. Host load/drain time is not included.
    cycles : numpy.ndarray
        ``int64[batch]``: ``layer_cycles.sum(axis=1)``.
    nfu_busy, stall_cycles : numpy.ndarray
        ``int64[n_layers]``: cycles with an NFU step issued / without, over the whole batch.
    useful_ops : numpy.ndarray
        ``int64[n_layers]``: MACs of FC / conv layers (Winograd convolutions: the MACs of their
        Winograd-domain products), window elements of pooling layers.
    utilization : numpy.ndarray
        ``float[n_layers]``: ``useful_ops / (tn**2 * layer cycles)``.
    tiles : numpy.ndarray
        ``int64[n_layers]``: host tiles (load / run / drain rounds) per layer.
    tile_stats : list of numpy.ndarray
        Per layer, ``int64[n_tiles, 5]``: cycles, NFU busy, stalls, first and end sample of
        every host tile's program, in execution order.
    host_adds : numpy.ndarray
        ``int64[n_layers]``: adds the host spends on Winograd input / output transforms over the
        whole batch (0 for the other layers; not part of ``cycles``).
    """

    y: np.ndarray
    outputs: list[np.ndarray]
    layer_cycles: np.ndarray
    cycles: np.ndarray
    nfu_busy: np.ndarray
    stall_cycles: np.ndarray
    useful_ops: np.ndarray
    utilization: np.ndarray
    tiles: np.ndarray
    tile_stats: list[np.ndarray]
    host_adds: np.ndarray | None = None


def _batched(layers: Sequence[DenseLayer], x) -> np.ndarray:
    a = np.asarray(x)
    if a.dtype.kind not in "iu":
        raise TypeError(f"x must be an integer array (int16 activations), got dtype {a.dtype}")
    if not layers:
        raise ValueError("the network has no layers")
    first_fc = isinstance(layers[0], FCLayer)
    if a.ndim == (1 if first_fc else 3):
        a = a[None]
    if a.ndim != (2 if first_fc else 4):
        want = "[batch, Ni]" if first_fc else "[batch, C, H, W]"
        raise ValueError(f"x must have shape {want} for a {layers[0].kind} layer, got {a.shape}")
    if a.shape[0] < 1:
        raise ValueError("x holds an empty batch")
    return a


def check_mappable(
    layers: Sequence[DenseLayer], input_shape: Sequence[int], config: DianNaoConfig
) -> list[LayerPlan]:
    """Check that ``layers`` run on ``config`` for an input of ``input_shape`` (batched).

    Returns each layer's :class:`~accelgen.host.diannao.LayerPlan`; raises
    ``ValueError`` naming the layer and the limit otherwise.
    """
    if not isinstance(config, DianNaoConfig):
        raise TypeError(f"config must be a DianNaoConfig, got {type(config).__name__}")
    for i, layer in enumerate(layers):
        if not isinstance(layer, FCLayer | ConvLayer | PoolLayer):
            raise TypeError(
                f"layer {i} must be an FCLayer, ConvLayer or PoolLayer, got {type(layer).__name__}"
            )
        if not isinstance(layer, PoolLayer):
            check_fixed(layer.w, config.w_bits, f"layer {i} w")
            if layer.b is not None:
                check_fixed(layer.b, config.act_bits, f"layer {i} b")
    shape = tuple(int(s) for s in input_shape)
    shapes = dense_shapes(layers, shape)
    plans = []
    for i, layer in enumerate(layers):
        in_shape = shape if i == 0 else shapes[i - 1]
        if isinstance(layer, FCLayer):
            in_shape = (in_shape[0], int(np.prod(in_shape[1:])))
        try:
            plan = plan_layer(layer, in_shape, config)
            check_programs(layer, plan, config)
            plans.append(plan)
        except ValueError as e:
            raise ValueError(f"layer {i} ({layer.kind}) cannot be mapped: {e}") from None
    return plans


def check(
    layers: Sequence[DenseLayer], x, config: DianNaoConfig
) -> tuple[np.ndarray, list[LayerPlan]]:
    """Every check :func:`simulate` makes before a simulator starts: ``x`` (batched, integer,
    within ``act_bits``) and each layer against ``config`` (:func:`check_mappable`).

    Returns the batched input and the layer plans.
    """
    xb = _batched(layers, x)
    check_fixed(xb, config.act_bits, "x")
    return xb, check_mappable(layers, xb.shape, config)


def check_cases(cases, config: DianNaoConfig) -> tuple[list, list[list[LayerPlan]]]:
    """:func:`check` for every ``(layers, x)`` case (errors name the case); returns the cases
    with batched inputs and each case's layer plans."""
    batched, plans = [], []
    for i, (layers, x) in enumerate(cases):
        try:
            xb, plan = check(layers, x, config)
        except (TypeError, ValueError) as e:
            raise type(e)(f"case {i}: {e}") from None
        plans.append(plan)
        batched.append((list(layers), xb))
    return batched, plans


def _case_results(config, batched, plans, outputs) -> list:
    """The results of every case of one simulation run, from its ``c<i>_y<j>`` / ``c<i>_s<j>``
    outputs (layer ``j`` of case ``i``)."""
    out = []
    for i, ((layers, xb), plan) in enumerate(zip(batched, plans, strict=True)):
        ys = [outputs[f"c{i}_y{j}"] for j in range(len(layers))]
        stats = [outputs[f"c{i}_s{j}"] for j in range(len(layers))]
        out.append(_result(config, plan, ys, stats, xb.shape[0]))
    return out


def _result(
    config: DianNaoConfig,
    plans: list[LayerPlan],
    outputs: list[np.ndarray],
    stats: list[np.ndarray],
    batch: int,
) -> DianNaoResult:
    """Combine per-tile counters ``[n, 5]`` (cycles, busy, stalls, first, end) per layer."""
    n = len(plans)
    layer_cycles = np.zeros((batch, n), dtype=np.int64)
    busy = np.zeros(n, dtype=np.int64)
    stall = np.zeros(n, dtype=np.int64)
    for j, st in enumerate(stats):
        for cyc, b, s, first, end in np.asarray(st, dtype=np.int64).reshape(-1, 5).tolist():
            share, rest = divmod(cyc, end - first)
            layer_cycles[first:end, j] += share
            layer_cycles[first : first + rest, j] += 1
            busy[j] += b
            stall[j] += s
    useful = np.array([p.useful_ops for p in plans], dtype=np.int64)
    total = layer_cycles.sum(axis=0)
    util = useful / (config.tn**2 * np.maximum(total, 1))
    return DianNaoResult(
        y=outputs[-1],
        outputs=outputs,
        layer_cycles=layer_cycles,
        cycles=layer_cycles.sum(axis=1),
        nfu_busy=busy,
        stall_cycles=stall,
        useful_ops=useful,
        utilization=util,
        tiles=np.array([p.n_tiles for p in plans], dtype=np.int64),
        tile_stats=[np.asarray(st, dtype=np.int64).reshape(-1, 5) for st in stats],
        host_adds=np.array([p.host_adds for p in plans], dtype=np.int64),
    )


def _stats_rows(res: DianNaoResult, layer: int, offset: int) -> np.ndarray:
    rows = res.tile_stats[layer].copy()
    rows[:, 3:] += offset
    return rows


def run_model(layers: Sequence[DenseLayer], x, *, config: DianNaoConfig) -> DianNaoResult:
    """Run the network on the Python CP model: the RTL's outputs and cycle counts, no RTL."""
    xb = _batched(layers, x)
    check_fixed(xb, config.act_bits, "x")
    plans = check_mappable(layers, xb.shape, config)
    model = DianNaoCPModel(config)
    outputs, stats = [], []
    a = xb.astype(np.int64)
    for layer in layers:
        a, st = run_layer(model, layer, layer_input(layer, a))
        stats.append(np.array([(s.cycles, s.busy, s.stall, *t) for s, t in st], dtype=np.int64))
        outputs.append(a)
    return _result(config, plans, outputs, stats, xb.shape[0])


def simulate_cases(
    cases: Sequence[tuple[Sequence[DenseLayer], np.ndarray]],
    *,
    config: DianNaoConfig,
    simulator: str = "verilator",
    waves: bool = False,
    engine: str = "cocotb",
) -> list[DianNaoResult]:
    """Run several networks ``[(layers, batched x), ...]`` in **one** simulator run.

    Every case is checked first (:func:`check_mappable`); the RTL is built once per config.
    ``engine="native"`` runs the compiled Verilator harness (:mod:`accelgen.sim.native`):
    the same host sequence, outputs and counters; Verilator only, no waveforms.
    """
    from accelgen.sim.native import check_engine
    from accelgen.sim.runner import check_simulator

    check_simulator(simulator)
    check_engine(engine, simulator=simulator, waves=waves)
    batched, plans = check_cases(cases, config)
    if engine == "native":
        from accelgen.sim.native import run_diannao

        outputs = run_diannao(verilog(config), batched, config=config, toplevel=TOP_MODULE)
    else:
        from accelgen.sim.diannao_host import pack_cases
        from accelgen.sim.runner import run_cocotb

        inputs, params = pack_cases(batched, config)
        outputs = run_cocotb(
            verilog(config),
            toplevel=TOP_MODULE,
            test_module="accelgen.sim.diannao_host",
            simulator=simulator,
            inputs=inputs,
            params=params,
            waves=waves,
        ).outputs
    return _case_results(config, batched, plans, outputs)


def simulate(
    layers: Sequence[DenseLayer],
    x,
    *,
    config: DianNaoConfig,
    simulator: str = "verilator",
    waves: bool = False,
    progress: bool = True,
    chunk: int = 32,
    engine: str = "cocotb",
) -> DianNaoResult:
    """Run a network on the generated RTL in cocotb and return outputs and measured counters.

    Parameters
    ----------
    layers : list of FCLayer, ConvLayer, PoolLayer
    x : numpy.ndarray
        ``[batch, Ni]`` (first layer FC) or ``[batch, C, H, W]``; an unbatched input is taken
        as a batch of one.
    config : DianNaoConfig
    simulator : {"verilator", "icarus"}
    waves : bool
        Dump waveforms (kept in the run directory under ``build/sim/runs``).
    progress : bool
        Show a progress bar over the chunks of the batch.
    chunk : int
        Samples per simulator run.
    engine : {"cocotb", "native"}
        ``native``: the compiled Verilator harness (:mod:`accelgen.sim.native`), same outputs
        and counters without Python per cycle (Verilator only, no waveforms).

    Raises
    ------
    ValueError, TypeError
        Before any simulation, for inputs or layers that do not fit ``config``.
    """
    from tqdm import tqdm

    from accelgen.sim.native import check_engine
    from accelgen.sim.runner import check_simulator

    check_simulator(simulator)
    check_engine(engine, simulator=simulator, waves=waves)
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        raise ValueError(f"chunk must be a positive integer, got {chunk!r}")
    xb, plans = check(layers, x, config)
    outputs: list[list[np.ndarray]] = [[] for _ in layers]
    stats: list[list[np.ndarray]] = [[] for _ in layers]
    starts = range(0, xb.shape[0], chunk)
    label = engine if engine == "native" else simulator
    bar = tqdm(starts, desc=f"diannao {label}", unit="chunk", disable=not progress)
    for b0 in bar:
        part = xb[b0 : b0 + chunk]
        (res,) = simulate_cases(
            [(layers, part)], config=config, simulator=simulator, waves=waves, engine=engine
        )
        for j in range(len(layers)):
            outputs[j].append(res.outputs[j])
            stats[j].append(_stats_rows(res, j, b0))
    merged = [np.concatenate(o, axis=0) for o in outputs]
    return _result(config, plans, merged, [np.concatenate(s) for s in stats], xb.shape[0])
