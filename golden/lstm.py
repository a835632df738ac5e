"""LSTM cell in fixed point, as EIE runs NeuralTalk's LSTM layer (Han et al., ISCA 2016, sec. VI).

EIE executes an LSTM step as one fully-connected layer over the concatenated input
``[x_t, h_{t-1}]`` (NeuralTalk's LSTM: 1201 x 2400, i.e. 600 inputs + 600 hidden + a bias row,
times 4 gates of 600) followed by element-wise operations. Here the gate layer is either a dense
fixed-point matrix (:func:`~accelgen.golden.layers.fc`, ``group`` as for DianNao) or an
:class:`~accelgen.golden.netspec.EIELayer` (computed from the EIE encoding, one product at a time).

Gate layout: the ``4H`` outputs are the gates ``i, f, g, o`` in that order (``H`` each)::

    z = W [x, h] + b                        # fixed point, docs/numerics.md accumulation
    i = sigmoid(z_i)  f = sigmoid(z_f)  g = tanh(z_g)  o = sigmoid(z_o)   # PWL tables
    c' = sat(act_bits, mul(f, c) + mul(i, g))
    h' = mul(o, tanh(c'))                   # tanh by the same PWL table

``mul(u, v)`` multiplies two activations by the rule of :func:`~accelgen.golden.arith.multiply`
with ``w_frac = act_frac``: the exact product is rounded half up back to ``act_frac`` fractional
bits and saturated to ``act_bits`` (``sat(act_bits, (u * v + 2**(act_frac - 1)) >> act_frac)``).
The sum of the two products is saturated once to ``act_bits``.
"""

from __future__ import annotations

import numpy as np

from .arith import Numerics, check_fixed, multiply, sat_add
from .eie_format import encode
from .layers import activate, eie_layer, fc
from .netspec import EIELayer

__all__ = ["lstm_cell", "lstm_cell_float", "mul_act"]


def mul_act(u, v, *, num: Numerics) -> np.ndarray:
    """Element-wise product of two activations, rounded and saturated to the activation format."""
    return multiply(u, v, w_frac=num.act_frac, act_bits=num.act_bits)


def _split_gates(z: np.ndarray, hidden: int) -> tuple[np.ndarray, ...]:
    return tuple(z[..., k * hidden : (k + 1) * hidden] for k in range(4))


def lstm_cell(
    x,
    h,
    c,
    gates: np.ndarray | EIELayer,
    bias=None,
    *,
    num: Numerics,
    group: int = 1,
    n_pes: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """One fixed-point LSTM step; returns ``(h', c')``.

    Parameters
    ----------
    x : array of int
        ``[X]`` or ``[batch, X]`` input activations.
    h, c : array of int
        ``[H]`` or ``[batch, H]`` hidden and cell state (activation format).
    gates : array of int or EIELayer
        ``[4H, X + H]`` dense weights (``w_frac``), or a compressed layer of that shape whose own
        bias is used (``bias`` must then be ``None``).
    bias : array of int, optional
        ``[4H]`` in activation scale, for dense ``gates``.
    num : Numerics
    group : int
        Accumulation group of the dense gate layer (1 = EIE order, ``Tn`` = DianNao).
    n_pes : int
        PE count of the EIE encoding (the result does not depend on it).
    """
    xa = check_fixed(x, num.act_bits, "x")
    ha = check_fixed(h, num.act_bits, "h")
    ca = check_fixed(c, num.act_bits, "c")
    if ha.shape != ca.shape or ha.shape[:-1] != xa.shape[:-1]:
        raise ValueError(f"x {xa.shape}, h {ha.shape} and c {ca.shape} do not match")
    hidden = ha.shape[-1]
    shape = gates.shape if isinstance(gates, EIELayer) else np.shape(gates)
    if tuple(shape) != (4 * hidden, xa.shape[-1] + hidden):
        raise ValueError(
            f"gate weights must be [4H, X + H] = [{4 * hidden}, {xa.shape[-1] + hidden}], "
            f"got {tuple(shape)}"
        )
    xh = np.concatenate([xa, ha], axis=-1)
    if isinstance(gates, EIELayer):
        if bias is not None:
            raise ValueError("pass the bias inside the EIELayer, not as `bias`")
        if gates.relu:
            raise ValueError("the LSTM gate layer must not apply ReLU")
        z = eie_layer(encode(gates.index, n_pes), gates.codebook, xh, gates.bias, num=num)
    else:
        z = fc(xh, gates, bias, num=num, group=group)
    zi, zf, zg, zo = _split_gates(z, hidden)
    i = activate(zi, "sigmoid", num)
    f = activate(zf, "sigmoid", num)
    g = activate(zg, "tanh", num)
    o = activate(zo, "sigmoid", num)
    c_new = sat_add(mul_act(f, ca, num=num), mul_act(i, g, num=num), acc_bits=num.act_bits)
    h_new = mul_act(o, activate(c_new, "tanh", num), num=num)
    return h_new, c_new


def lstm_cell_float(x, h, c, w, b=None) -> tuple[np.ndarray, np.ndarray]:
    """Float LSTM step with the same gate layout and exact sigmoid / tanh."""
    xh = np.concatenate([np.asarray(x, float), np.asarray(h, float)], axis=-1)
    z = xh @ np.asarray(w, float).T
    if b is not None:
        z = z + np.asarray(b, float)
    zi, zf, zg, zo = _split_gates(z, np.shape(h)[-1])

    def sig(v):
        return 1.0 / (1.0 + np.exp(-v))

    c_new = sig(zf) * np.asarray(c, float) + sig(zi) * np.tanh(zg)
    return sig(zo) * np.tanh(c_new), c_new
