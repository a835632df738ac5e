"""Fixed-point formats by calibration, and the golden layers of an imported model.

Per-layer formats without per-layer hardware
--------------------------------------------
Both cores compute ``sat(act_bits, sum(round((a * w) >> w_frac)) + b)`` with one global
``act_frac`` / ``w_frac``. A layer whose activation is ReLU or none is positively homogeneous,
and pooling and flattening commute with a power-of-two scale, so each layer ``l`` can keep its
output at its own scale ``2**e[l]`` (activation format ``act_frac + e[l]`` fractional bits) by
storing ``w * 2**(e[l] - e[l-1])`` and ``b * 2**e[l]``; the input is quantized with
``act_frac + e_in`` fractional bits and the output is read with ``act_frac + e[-1]``. The cores
run unchanged and stay bit-exact against the golden model. Sigmoid and Tanh layers are pinned to
``e = 0`` (their PWL tables expect ``act_frac``).

:func:`calibrate` picks every ``e`` from the float activations on calibration data: the largest
exponent such that the layer's calibration outputs (pre-activation; only the positive side under
ReLU), its largest single product and its bias fit the activation range, and its scaled weights
fit ``w_bits``. Without calibration data every ``e`` is 0 unless the weights need less.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from accelgen.golden.arith import Numerics, quantize
from accelgen.golden.compress import compression_report, prune, quantize_codebook, share_weights
from accelgen.golden.netspec import ConvLayer, EIELayer, FCLayer, PoolLayer, run_dense, run_eie

from .onnx_import import float_forward

__all__ = [
    "DENSITY_GRID",
    "Calibration",
    "LayerStats",
    "QuantLSTM",
    "QuantizedNetwork",
    "calibrate",
    "check_eie_layers",
    "dequantize_output",
    "quantize_input",
    "run_golden",
    "quantize_diannao",
    "quantize_eie",
    "search_densities",
]

E_MAX = 16
DENSITY_GRID = (1.0, 0.7, 0.5, 0.35, 0.25, 0.18, 0.12, 0.09, 0.06, 0.04)


@dataclass
class LayerStats:
    """What calibration saw in one layer (float, real units)."""

    kind: str
    act: str
    out_max: float  # largest |output| (pre-activation; positive side under ReLU)
    w_max: float
    b_max: float
    prod_max: float
    exp: int = 0
    limit: str = ""  # what bounded exp

    def to_json(self) -> dict:
        return {
            "kind": self.kind,
            "act": self.act,
            "out_max": self.out_max,
            "w_max": self.w_max,
            "b_max": self.b_max,
            "prod_max": self.prod_max,
            "exp": self.exp,
            "limit": self.limit,
        }


@dataclass
class Calibration:
    """Per-layer exponents: activations of layer ``l`` have ``act_frac + exps[l]`` bits."""

    e_in: int
    exps: list[int]
    stats: list[LayerStats]
    in_max: float
    calibrated: bool

    @property
    def e_out(self) -> int:
        return self.exps[-1]

    def to_json(self) -> dict:
        return {
            "e_in": self.e_in,
            "exps": list(self.exps),
            "in_max": self.in_max,
            "calibrated": self.calibrated,
            "layers": [s.to_json() for s in self.stats],
        }


def _bound(limit: float, value: float) -> int:
    """Largest ``e`` with ``value * 2**e <= limit`` (``E_MAX`` when ``value`` is 0)."""
    if value <= 0 or not math.isfinite(limit / value):
        return E_MAX
    return min(E_MAX, math.floor(math.log2(limit / value)))


def _stats(layers, x) -> tuple[float, list[LayerStats]]:
    """Float ranges per layer; ``x`` None gives weight and bias ranges only."""
    outs = float_forward(layers, x, pre_activation=True) if x is not None else None
    a = None if x is None else np.asarray(x, dtype=np.float64)
    in_max = 0.0 if a is None else float(np.abs(a).max(initial=0.0))
    stats = []
    for i, layer in enumerate(layers):
        if layer.kind == "pool":
            stats.append(LayerStats("pool", "none", 0.0, 0.0, 0.0, 0.0))
        elif layer.kind == "lstm":
            w_max = float(np.abs(layer.w).max(initial=0.0))
            b_max = float(np.abs(layer.b).max(initial=0.0))
            stats.append(LayerStats("lstm", "none", 0.0, w_max, b_max, 0.0))
        else:
            w_max = float(np.abs(layer.w).max(initial=0.0))
            b_max = float(np.abs(layer.b).max(initial=0.0))
            out_max = prod_max = 0.0
            if outs is not None:
                pre = outs[i][0]
                out_max = float(
                    (np.maximum(pre, 0) if layer.act == "relu" else np.abs(pre)).max(initial=0.0)
                )
                # largest single product |w| * |x| (per input channel / feature)
                ab = np.abs(a.reshape(a.shape[0], -1) if layer.kind == "fc" else a)
                if layer.kind == "fc":
                    prod_max = float((np.abs(layer.w) * ab.max(axis=0)[None, :]).max(initial=0.0))
                else:
                    per_c = ab.max(axis=(0, 2, 3))
                    prod_max = float(
                        (np.abs(layer.w) * per_c[None, :, None, None]).max(initial=0.0)
                    )
            stats.append(LayerStats(layer.kind, layer.act, out_max, w_max, b_max, prod_max))
        if outs is not None:
            a = outs[i][1]
    return in_max, stats


def calibrate(layers, x, num: Numerics) -> Calibration:
    """Choose ``e_in`` and one exponent per layer (see the module docstring)."""
    act_range = ((1 << (num.act_bits - 1)) - 1) / (1 << num.act_frac)
    w_range = ((1 << (num.w_bits - 1)) - 1) / (1 << num.w_frac)
    in_max, stats = _stats(layers, x)
    e_in = min(E_MAX, _bound(act_range, in_max)) if x is not None and in_max > 0 else 0
    if (x is not None and in_max == 0) or (layers and layers[0].kind == "lstm"):
        e_in = 0  # an LSTM's gate layer reads [x_t, h]: x shares h's (fixed) format
    e_prev = e_in
    exps = []
    for i, (layer, st) in enumerate(zip(layers, stats, strict=True)):
        if layer.kind == "pool":
            e, limit = e_prev, "pool"
        elif layer.kind == "lstm":
            if _bound(w_range, st.w_max) < 0 or _bound(act_range, st.b_max) < 0:
                raise ValueError(
                    f"layer {i} (lstm): gate weights up to {st.w_max:.4g} or biases up to "
                    f"{st.b_max:.4g} do not fit the fixed format (w_frac {num.w_frac}, act_frac "
                    f"{num.act_frac}); use a smaller --w-frac / --act-frac"
                )
            e, limit = 0, "lstm (fixed)"
        else:
            bounds = {"weights": e_prev + _bound(w_range, st.w_max)}
            if x is not None:
                bounds["outputs"] = _bound(act_range, st.out_max)
                bounds["products"] = _bound(act_range, st.prod_max)
                bounds["bias"] = _bound(act_range, st.b_max)
            else:
                bounds["default"] = 0
            limit = min(bounds, key=lambda k: bounds[k])
            e = min(E_MAX, bounds[limit])
            if layer.act in ("sigmoid", "tanh"):
                if bounds["weights"] < 0:
                    raise ValueError(
                        f"layer {i} ({layer.act}): weights up to {st.w_max:.4g} do not fit w_bits "
                        f"{num.w_bits} with w_frac {num.w_frac} at the sigmoid/tanh input format; "
                        "use a smaller --w-frac"
                    )
                e, limit = 0, f"{layer.act} (fixed)"
        st.exp, st.limit = e, limit
        exps.append(e)
        e_prev = e
    return Calibration(e_in, exps, stats, in_max, x is not None)


@dataclass(eq=False)
class QuantLSTM:
    """A fixed-point LSTM: the gate layer (EIE or dense) run once per step, as EIE runs LSTMs."""

    gates: EIELayer | FCLayer
    hidden: int
    steps: int
    kind: str = "lstm"


def run_golden(layers, xq, *, core: str, num: Numerics, group: int = 1, n_pes: int = 1) -> list:
    """Every layer's fixed-point output for the quantized batch ``xq`` (an LSTM first: its
    last hidden state, :func:`accelgen.golden.lstm.lstm_cell` step by step)."""
    from accelgen.golden.lstm import lstm_cell

    outs: list = []
    a = np.asarray(xq)
    rest = list(layers)
    if rest and isinstance(rest[0], QuantLSTM):
        lstm = rest.pop(0)
        h = np.zeros((len(a), lstm.hidden), dtype=np.int64)
        c = np.zeros_like(h)
        for t in range(lstm.steps):
            if core == "eie":
                h, c = lstm_cell(a[:, t], h, c, lstm.gates, num=num, n_pes=n_pes)
            else:
                g = lstm.gates
                h, c = lstm_cell(a[:, t], h, c, g.w, g.b, num=num, group=group)
        outs.append(h)
        a = h
    if rest:
        if core == "eie":
            outs += run_eie(rest, a, num=num, n_pes=n_pes)
        else:
            outs += run_dense(rest, a, num=num, group=group)
    return outs


def quantize_input(x, cal: Calibration, num: Numerics) -> np.ndarray:
    """Float inputs to the fixed-point input format ``act_frac + e_in``."""
    xa = np.asarray(x, dtype=np.float64) * 2.0**cal.e_in
    return quantize(xa, num.act_frac, num.act_bits).astype(np.int16)


def dequantize_output(y, cal: Calibration, num: Numerics) -> np.ndarray:
    """Fixed-point outputs to float in the model's output scale."""
    return np.asarray(y, dtype=np.float64) / 2.0 ** (num.act_frac + cal.e_out)


def _scaled(layers, cal: Calibration):
    """``(layer, w * 2**(e - e_prev), b * 2**e)`` per layer (pooling: ``None, None``)."""
    e_prev = cal.e_in
    for layer, e in zip(layers, cal.exps, strict=True):
        if layer.kind == "pool":
            yield layer, None, None
        else:
            yield layer, layer.w * 2.0 ** (e - e_prev), layer.b * 2.0**e
        e_prev = e


def quantize_diannao(layers, cal: Calibration, num: Numerics) -> list:
    """Golden DianNao layers (FCLayer, ConvLayer, PoolLayer) of the float layers."""
    out = []
    for layer, w, b in _scaled(layers, cal):
        if layer.kind == "lstm":
            wq = quantize(w, num.w_frac, num.w_bits)
            bq = quantize(b, num.act_frac, num.act_bits)
            out.append(QuantLSTM(FCLayer(wq, bq), layer.hidden, layer.steps))
            continue
        if layer.kind == "pool":
            if layer.act != "none":
                raise ValueError("an activation after pooling is not supported")
            out.append(PoolLayer(k=layer.k, stride=layer.stride, mode=layer.mode))
            continue
        wq = quantize(w, num.w_frac, num.w_bits)
        bq = quantize(b, num.act_frac, num.act_bits)
        if layer.kind == "fc":
            out.append(FCLayer(wq, bq, act=layer.act))
        else:
            out.append(ConvLayer(wq, bq, stride=layer.stride, pad=layer.pad, act=layer.act))
    return out


def check_eie_layers(layers) -> None:
    """EIE runs fully-connected layers with ReLU or no activation."""
    for i, layer in enumerate(layers):
        if layer.kind == "lstm":
            continue
        if layer.kind != "fc":
            raise ValueError(
                f"layer {i} is a {layer.kind} layer; EIE takes fully-connected networks "
                "(use --core diannao)"
            )
        if layer.act not in ("none", "relu"):
            raise ValueError(
                f"layer {i} has a {layer.act} activation; EIE supports ReLU or none "
                "(use --core diannao)"
            )


FINETUNE_EPOCHS = 10
FINETUNE_LR = 1e-4


def _finetunable(layers) -> bool:
    """``train_centroids`` trains ReLU MLPs with a linear last layer."""
    last = len(layers) - 1
    return all(
        la.kind == "fc" and la.act == ("none" if i == last else "relu")
        for i, la in enumerate(layers)
    )


def quantize_eie(
    layers,
    cal: Calibration,
    num: Numerics,
    densities,
    *,
    x=None,
    labels=None,
    epochs: int = FINETUNE_EPOCHS,
) -> list[EIELayer]:
    """Deep-Compressed EIE layers: prune to ``densities[l]``, 15 shared weights + 0, codebook.

    With ``x`` and ``labels`` (the calibration inputs and their labels, or the float model's
    top-1 when the data has none) the shared centroids and biases are fine-tuned for ``epochs``
    (indices fixed, :func:`accelgen.golden.train.train_centroids`) before quantization.
    """
    from accelgen.golden import train

    check_eie_layers(layers)
    cents, idxs, biases = [], [], []
    for layer, d in zip(layers, densities, strict=True):
        c, idx = share_weights(layer.w, prune(layer.w, d))
        cents.append(c)
        idxs.append(idx)
        biases.append(layer.b)
    if x is not None and labels is not None and epochs > 0 and _finetunable(layers):
        xa = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
        ya = np.asarray(labels, dtype=np.int64)
        data = train.DigitsSplit(xa, ya, xa[:0], ya[:0])
        with train.single_thread_blas():
            cents, biases = train.train_centroids(
                data, cents, idxs, biases, epochs=epochs, lr=FINETUNE_LR, seed=0
            )
    out = []
    e_prev = cal.e_in
    for layer, c, idx, b, e in zip(layers, cents, idxs, biases, cal.exps, strict=True):
        cb = quantize_codebook(
            np.asarray(c) * 2.0 ** (e - e_prev), w_frac=num.w_frac, w_bits=num.w_bits
        )
        bq = quantize(np.asarray(b) * 2.0**e, num.act_frac, num.act_bits)
        q = EIELayer(cb, idx, bq, relu=layer.act == "relu")
        out.append(QuantLSTM(q, layer.hidden, layer.steps) if layer.kind == "lstm" else q)
        e_prev = e
    return out


@dataclass
class QuantizedNetwork:
    """The golden layers of an imported model and how they were made."""

    core: str
    layers: list
    cal: Calibration
    num: Numerics
    densities: list[float] | None = None
    density_search: list[dict] = field(default_factory=list)

    def golden(self, xq, *, group: int = 1, n_pes: int = 1) -> list:
        """Every layer's fixed-point output of the golden model for quantized inputs ``xq``."""
        return run_golden(self.layers, xq, core=self.core, num=self.num, group=group, n_pes=n_pes)

    @property
    def core_layers(self) -> list:
        """The layers the core runs (an LSTM as its gate layer)."""
        return [la.gates if isinstance(la, QuantLSTM) else la for la in self.layers]

    def compression(self, n_pes: int = 1):
        return compression_report(self.core_layers, n_pes) if self.core == "eie" else None


def _agree(logits: np.ndarray, labels: np.ndarray) -> float:
    return float((np.asarray(logits).reshape(len(labels), -1).argmax(-1) == labels).mean())


HOLDOUT = 0.25  # share of the calibration data that judges the density search
MIN_HOLDOUT = 10


def search_densities(
    layers,
    cal: Calibration,
    num: Numerics,
    x,
    labels: np.ndarray,
    reference_top1: np.ndarray,
    budget: float,
    *,
    epochs: int = FINETUNE_EPOCHS,
    seed: int = 0,
) -> tuple[list[float], list[dict]]:
    """Per-layer densities from :data:`DENSITY_GRID` (greedy, first layer first).

    The calibration data is split (seeded) into a fine-tuning part and a held-out
    :data:`HOLDOUT` share (all of it is used for both when there are fewer than
    ``MIN_HOLDOUT / HOLDOUT`` samples). A candidate is accepted when, on the held-out part, the
    compressed fixed-point model's accuracy against ``labels`` is at least the float model's
    (``reference_top1``, ONNX Runtime's top-1) minus ``budget`` and its top-1 agreement with the
    float model is at least ``1 - budget`` (fractions: 0.01 = one point). Each layer's density
    is lowered step by step until the next step fails.
    """
    x = np.asarray(x)
    labels = np.asarray(labels)
    ref = np.asarray(reference_top1)
    n_val = int(round(HOLDOUT * len(x)))
    if n_val >= MIN_HOLDOUT:
        perm = np.random.default_rng(seed).permutation(len(x))
        val, fit = perm[:n_val], perm[n_val:]
    else:
        val = fit = np.arange(len(x))
    xq = quantize_input(x[val], cal, num)
    reference = float((ref[val] == labels[val]).mean())
    dens = [1.0] * len(layers)
    trials = []

    def evaluate(ds) -> tuple[float, float]:
        q = quantize_eie(layers, cal, num, ds, x=x[fit], labels=labels[fit], epochs=epochs)
        logits = run_golden(q, xq, core="eie", num=num)[-1]
        return _agree(logits, labels[val]), _agree(logits, ref[val])

    for i in range(len(layers)):
        for d in DENSITY_GRID[1:]:
            cand = dens.copy()
            cand[i] = d
            acc, agree = evaluate(cand)
            ok = acc >= reference - budget - 1e-12 and agree >= 1.0 - budget - 1e-12
            trials.append(
                {"layer": i, "density": d, "accuracy": acc, "agreement": agree, "accepted": ok}
            )
            if not ok:
                break
            dens = cand
    return dens, trials
