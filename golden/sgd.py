"""Fixed-point SGD of a bias-free ReLU MLP, bit-exact (``docs/numerics.md``, "Training").

One step on one sample ``x`` (activation format) with label ``y``, weights ``W_l[out, in]``
(``w_bits``/``w_frac``), error terms ``g`` ``act_bits`` wide with ``g_frac`` fractional bits:

1. **Forward**: ``a_0 = x``, ``a_{l+1} = fc(a_l, W_l)`` in DianNao's order (groups of ``group``
   inputs, :func:`accelgen.golden.layers.fc`), ReLU on every layer but the last; the last
   layer's outputs are the logits.
2. **Output error** (host): ``g = quantize(onehot(y) - softmax(logits / 2^act_frac), g_frac,
   act_bits)``, the *negative* gradient of the softmax cross-entropy, computed in float64 from the
   integer logits (:func:`output_error`). The golden model and the RTL flow call this same
   function on the same integer logits.
3. **Backward**, from the last layer down: ``g_{l-1} = relu'(a_l) * fc(g_l, W_l^T)``: the
   transposed weights in the same multiply / accumulate rules as the forward pass (the product
   ``g * w`` is rounded by ``w_frac`` back to the error's scale, groups of ``group`` summed exactly,
   saturating ``acc_bits`` accumulator, saturated to ``act_bits``), no bias; the ReLU derivative
   keeps ``g`` where the forward output ``a_l`` is ``> 0`` and writes 0 elsewhere. ``g_{l-1}`` is
   computed with ``W_l`` *before* ``W_l`` is updated.
4. **Update** of ``W_l`` right after its backward product (so the order is: backward of the last
   layer, update of the last layer, backward of the one below, ...; the first layer has no
   backward product): ``W_l += alpha * outer(g_l, a_l)`` by
   :func:`accelgen.golden.update.weight_update` with ``nearest`` or ``stochastic`` rounding, one
   LFSR shared by all layers and steps, advancing once per weight in row-major ``[out, in]`` order
   of each layer (in stochastic mode only).

A CNN's FC layers train the same way (:func:`head_features`): its convolution / pooling front
runs once per sample in the fixed-point DianNao order and stays fixed, and its flattened output
(``C, H, W`` order, the FC layers' input) is the ``x`` of the FC stack, bias-free like the MLP.

The learning rate is ``alpha / 2^alpha_frac``. There are no biases (the DianNao training flow
updates the synapse buffer only). :func:`train_float` runs the same network in float64 with the
same initial weights, sample order and learning rate, the reference of the Gupta et al. 2015
reproduction (:func:`training_curves`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..spec.config import Config, require
from .arith import Numerics, check_fixed, dequantize, quantize
from .layers import fc
from .netspec import DenseLayer, FCLayer, run_dense
from .update import LFSR, LFSRConfig, update_shift, weight_update

__all__ = [
    "SGDConfig",
    "backward",
    "forward",
    "head_features",
    "init_weights",
    "output_error",
    "sgd_step",
    "train_fixed",
    "train_float",
]


@dataclass(frozen=True, kw_only=True)
class SGDConfig(Config):
    """Formats, learning rate and rounding of fixed-point SGD (module docstring).

    Parameters
    ----------
    act_bits, act_frac, w_bits, w_frac, acc_bits : int
        The datapath formats (``docs/numerics.md``).
    g_frac : int
        Fractional bits of the error terms (``act_bits`` wide).
    alpha : int
        Learning rate numerator, unsigned 16 bits.
    alpha_frac : int
        Fractional bits of ``alpha`` (learning rate ``alpha / 2^alpha_frac``).
    rounding : str
        ``nearest`` or ``stochastic`` rounding of the weight update.
    group : int
        Inputs summed exactly per accumulator step (DianNao's ``Tn``).
    lfsr_width, lfsr_taps, lfsr_seed : int
        The stochastic-rounding LFSR (:class:`accelgen.golden.update.LFSRConfig`).
    """

    act_bits: int = 16
    act_frac: int = 8
    w_bits: int = 16
    w_frac: int = 14
    acc_bits: int = 24
    g_frac: int = 12
    alpha: int = 64
    alpha_frac: int = 16
    rounding: Literal["nearest", "stochastic"] = "stochastic"
    group: int = 16
    lfsr_width: int = 32
    lfsr_taps: int = 0x80200003
    lfsr_seed: int = 1

    def __post_init__(self) -> None:
        self.validate_fields()
        try:
            self.numerics  # noqa: B018 - validates the formats
        except TypeError as e:
            raise ValueError(str(e)) from None
        self.lfsr  # noqa: B018 - validates the LFSR fields
        require(
            0 <= self.g_frac < self.act_bits,
            f"g_frac must be in 0..{self.act_bits - 1}, got {self.g_frac!r}",
        )
        require(0 <= self.alpha < 2**16, f"alpha must be in 0..65535, got {self.alpha!r}")
        require(0 <= self.alpha_frac <= 32, f"alpha_frac must be in 0..32, got {self.alpha_frac!r}")
        require(self.group >= 1, f"group must be >= 1, got {self.group!r}")
        s = self.shift
        require(
            self.rounding == "nearest" or s <= self.lfsr_width,
            f"stochastic rounding drops {s} bits but lfsr_width is {self.lfsr_width}",
        )

    @property
    def numerics(self) -> Numerics:
        return Numerics(
            act_bits=self.act_bits,
            act_frac=self.act_frac,
            w_bits=self.w_bits,
            w_frac=self.w_frac,
            acc_bits=self.acc_bits,
        )

    @property
    def lfsr(self) -> LFSRConfig:
        return LFSRConfig(width=self.lfsr_width, taps=self.lfsr_taps, seed=self.lfsr_seed)

    @property
    def shift(self) -> int:
        """Bits dropped from the exact update (``alpha_frac + g_frac + act_frac - w_frac``)."""
        return update_shift(
            alpha_frac=self.alpha_frac,
            act_frac=self.act_frac,
            g_frac=self.g_frac,
            w_frac=self.w_frac,
        )

    @property
    def lr(self) -> float:
        """The learning rate ``alpha / 2^alpha_frac``."""
        return self.alpha / 2.0**self.alpha_frac


Weights = list[np.ndarray]


def init_weights(sizes: Sequence[int], cfg: SGDConfig, *, seed: int = 0) -> tuple[list, Weights]:
    """He-initialised float weights ``[out, in]`` for layer sizes ``sizes`` and the same weights
    quantized to ``cfg``'s weight format: ``(float, fixed)``."""
    rng = np.random.default_rng(seed)
    wf = [
        rng.normal(0.0, np.sqrt(2.0 / n_in), (n_out, n_in))
        for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True)
    ]
    return wf, [quantize(w, cfg.w_frac, cfg.w_bits) for w in wf]


def _fc(x, w, cfg: SGDConfig, act: str) -> np.ndarray:
    """:func:`~accelgen.golden.layers.fc` in groups of ``cfg.group``. When no partial sum can
    reach the accumulator's limits (``n_in * 2^(act_bits-1) < 2^(acc_bits-1)``: every product is
    ``act_bits`` wide) the grouping cannot change the result, so one group is used (faster)."""
    n_in = np.shape(w)[1]
    group = cfg.group
    if n_in << (cfg.act_bits - 1) < 1 << (cfg.acc_bits - 1):
        group = max(group, n_in)
    return fc(x, w, num=cfg.numerics, act=act, group=group)


def forward(ws: Weights, x, cfg: SGDConfig) -> list[np.ndarray]:
    """``[a_0 = x, a_1, ..., logits]`` for one sample ``x[in]`` or a batch ``x[n, in]``."""
    acts = [check_fixed(x, cfg.act_bits, "x")]
    for i, w in enumerate(ws):
        acts.append(_fc(acts[-1], w, cfg, "relu" if i < len(ws) - 1 else "none"))
    return acts


def output_error(logits, y: int, cfg: SGDConfig) -> np.ndarray:
    """``quantize(onehot(y) - softmax(logits / 2^act_frac), g_frac, act_bits)`` (step 2)."""
    z = dequantize(logits, cfg.act_frac)
    z = z - z.max()
    p = np.exp(z)
    p /= p.sum()
    t = np.zeros_like(p)
    t[int(y)] = 1.0
    return quantize(t - p, cfg.g_frac, cfg.act_bits)


def backward(w, g, a_in, cfg: SGDConfig) -> np.ndarray:
    """``relu'(a_in) * fc(g, w^T)``: the error of the layer's input (step 3)."""
    gb = _fc(g, np.asarray(w).T, cfg, "none")
    return np.where(np.asarray(a_in) > 0, gb, 0)


def sgd_step(
    ws: Weights, x, y: int, cfg: SGDConfig, lfsr: LFSR | None = None
) -> tuple[Weights, list[np.ndarray]]:
    """One SGD step on one sample; returns the new weights and ``[a_0, ..., logits]``.

    ``lfsr`` carries the stochastic-rounding state across steps (a fresh one from ``cfg`` when
    ``None``).
    """
    gen = lfsr if lfsr is not None else LFSR(cfg.lfsr)
    acts = forward(ws, x, cfg)
    g = output_error(acts[-1], y, cfg)
    new = list(ws)
    for i in range(len(ws) - 1, -1, -1):
        g_below = backward(ws[i], g, acts[i], cfg) if i else None
        new[i] = weight_update(
            ws[i],
            acts[i],
            g,
            alpha=cfg.alpha,
            alpha_frac=cfg.alpha_frac,
            num=cfg.numerics,
            rounding=cfg.rounding,
            lfsr=gen,
            g_frac=cfg.g_frac,
        )
        g = g_below
    return new, acts


def head_features(front: Sequence[DenseLayer], x, *, num: Numerics, group: int) -> np.ndarray:
    """The input of a CNN's FC layers: the fixed-point output of its front ``front`` (the layers
    before the first FC layer, weights in ``num``'s format;
    :func:`accelgen.golden.netspec.run_dense`) for quantized inputs ``x[n, C, H, W]``, flattened
    per sample to ``[n, F]`` (``C, H, W`` order). :func:`train_fixed` / :func:`sgd_step` then
    train the FC layers on it (the SGD config's ``act_bits`` / ``act_frac`` must be ``num``'s)."""
    if any(isinstance(layer, FCLayer) for layer in front):
        raise ValueError("the front of a CNN must hold no FC layer (they are the trained head)")
    xq = check_fixed(x, num.act_bits, "x")
    if not front:
        return xq.reshape(len(xq), -1)
    out = run_dense(list(front), xq, num=num, group=group)[-1]
    return np.asarray(out).reshape(len(xq), -1)


def _error_pct(pred: np.ndarray, y: np.ndarray) -> float:
    return float(100.0 * np.mean(pred != y))


def fixed_error(ws: Weights, x, y, cfg: SGDConfig) -> float:
    """Classification error (%) of the fixed-point network on quantized inputs ``x[n, in]``."""
    return _error_pct(forward(ws, x, cfg)[-1].argmax(axis=1), np.asarray(y))


def float_error(wf: Sequence[np.ndarray], x, y) -> float:
    h = np.asarray(x, dtype=np.float64)
    for i, w in enumerate(wf):
        h = h @ w.T
        if i < len(wf) - 1:
            h = np.maximum(h, 0.0)
    return _error_pct(h.argmax(axis=1), np.asarray(y))


def epoch_orders(n: int, epochs: int, seed: int) -> list[np.ndarray]:
    """The sample order of every epoch (a seeded permutation each)."""
    rng = np.random.default_rng(seed)
    return [rng.permutation(n) for _ in range(epochs)]


def train_fixed(
    ws: Weights,
    x_train,
    y_train,
    cfg: SGDConfig,
    orders: Sequence[np.ndarray],
    *,
    alphas: Sequence[int] | None = None,
    on_epoch: Callable[[int, Weights], None] | None = None,
) -> Weights:
    """Fixed-point SGD, one step per sample, epochs in ``orders``; ``alphas[e]`` (default
    ``cfg.alpha``) is epoch ``e``'s learning rate numerator; ``on_epoch(e, ws)`` after each
    epoch."""
    lfsr = LFSR(cfg.lfsr)
    xq = check_fixed(x_train, cfg.act_bits, "x_train")
    for e, order in enumerate(orders):
        step_cfg = cfg if alphas is None else dataclasses.replace(cfg, alpha=int(alphas[e]))
        for i in order:
            ws, _ = sgd_step(ws, xq[i], int(y_train[i]), step_cfg, lfsr)
        if on_epoch:
            on_epoch(e, ws)
    return ws


def train_float(
    wf: Sequence[np.ndarray],
    x_train,
    y_train,
    lr: float | Sequence[float],
    orders: Sequence[np.ndarray],
    *,
    on_epoch: Callable[[int, list], None] | None = None,
) -> list[np.ndarray]:
    """The float64 reference of :func:`train_fixed`: same network, order and learning rate
    (``lr`` one value, or one per epoch)."""
    ws = [w.copy() for w in wf]
    x_train = np.asarray(x_train, dtype=np.float64)
    lrs = [lr] * len(orders) if np.ndim(lr) == 0 else list(lr)
    for e, order in enumerate(orders):
        lr_e = float(lrs[e])
        for i in order:
            acts = [x_train[i]]
            for k, w in enumerate(ws):
                h = w @ acts[-1]
                acts.append(np.maximum(h, 0.0) if k < len(ws) - 1 else h)
            z = acts[-1] - acts[-1].max()
            p = np.exp(z)
            p /= p.sum()
            g = -p
            g[int(y_train[i])] += 1.0
            for k in range(len(ws) - 1, -1, -1):
                g_below = (ws[k].T @ g) * (acts[k] > 0) if k else None
                ws[k] += lr_e * np.outer(g, acts[k])
                g = g_below
        if on_epoch:
            on_epoch(e, ws)
    return ws
