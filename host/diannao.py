"""DianNao layer compiler: a layer -> host tiles (buffer images + one CP program each).

The compiler maps one :class:`~accelgen.golden.netspec.FCLayer`, ``ConvLayer`` or ``PoolLayer``
onto a core described by :class:`DianNaoConfig`. A layer larger than the buffers is split into
**host tiles**; for each tile the host writes NBin / SB / NBout (and the IMEM program, plus the
PWL table on a layer's first tile), starts the CP, waits for it, and reads the finished NBout
words. Partial sums stay in NBout, at ``acc_bits``, between the input tiles of one output tile.

Buffer layouts (``T = tn``; lanes beyond a layer's channel count are zero)
-------------------------------------------------------------------------
* NBin word = ``T`` consecutive input channels (or FC inputs) of one position.
  FC: ``[sample][input word]``; conv: ``[channel tile][padded row][padded column]`` of a band of
  input rows (zero padding is stored); pool: ``[channel tile][row][column]``.
* SB word = a ``T x T`` block, row ``r`` = the ``T`` weights of output lane ``r``. FC:
  ``[output tile][input word]``; conv: ``[output tile][channel tile][ky][kx]``.
* NBout word = ``T`` outputs of one position: FC ``[output tile][sample]``; conv
  ``[output tile][row][column]``; pool ``[channel tile][row][column]``. Before a tile's first
  input chunk the host writes the bias (sign-extended) there when the layer has one.

Group order (``docs/numerics.md``; :mod:`accelgen.golden.layers` follows it)
-----------------------------------------------------------------------
Every NFU cycle adds one group of ``T`` products per output lane (an exact adder tree) into the
accumulator with one saturating add. FC: groups are consecutive runs of ``T`` inputs, in
ascending order (input chunks are visited in ascending order, innermost in the host loop, so
partial sums stay in NBout). Conv: ``for channel_tile: for ky: for kx`` with ``T`` consecutive
input channels per group; a program reduces a chunk of channel tiles (``r2``), kernel rows
(``r1``) and kernel columns (``r0``), and chunks follow in ascending channel order.

Weight update (cores with ``weight_update``; ``docs/diannao.md``, "Training")
---------------------------------------------------------------------------
:func:`compile_update` maps ``W_l += alpha * outer(g_l, a_l)`` of several layers onto host
tiles, as many output tiles per host tile as the buffers and the IMEM hold: the weights in the
FC layout above (``[output tile][input word]``), the activations ``a_l`` in NBin (``[input
word]``), the errors ``g_l`` in NBout (``[output tile]``, lane = row), one part after another in
every buffer. The program has one ``upd`` instruction per output tile (its rows, all input
words), layers in the given order, so the LFSR sees each layer's weights in row-major
``[out, in]`` order: the golden SGD's order. The LFSR state stays in the core from one program
to the next. The host reads the updated SB rows back after each tile
(:attr:`UpdateTile.read`) and reassembles them (:func:`read_weights`).

The backward product with the ReLU derivative, ``g_below = (a > 0) * (W^T g)``, is an FC layer
of the transposed weights compiled as above whose instructions carry ``drelu``
(:func:`compile_backward`): the host writes the mask ``a`` (the layer's forward input) into the
output words of NBout where a bias would go, the NFU starts from 0 and zeroes the lanes whose
mask is ``<= 0``. Every output tile must reduce all its inputs in one host tile (no partial sums
in NBout).

Host tile order: FC ``for sample chunk: for output chunk: for input chunk``; conv and pool
``for sample: for output-row band: for output(-channel) chunk: for input-channel chunk``.
With ``double_buffer`` the tiles alternate between the two halves of NBin and SB.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from accelgen.golden.arith import avg_reciprocal, check_fixed, sat
from accelgen.golden.diannao_cp import DianNaoCPModel, ProgramStats
from accelgen.golden.layers import activate, conv_output_size, default_pwl
from accelgen.golden.netspec import ConvLayer, DenseLayer, FCLayer, PoolLayer
from accelgen.golden.pwl import PWLTable, fit
from accelgen.golden.winograd import (
    filter_transform,
    input_tiles,
    input_transform,
    output_transform,
    tile_grid,
)
from accelgen.spec.diannao import (
    DianNaoConfig,
    HostTile,
    Instruction,
    NFU1Op,
    NFU2Op,
    NFU2Out,
    NFU3Op,
)
from accelgen.spec.pwl import pwl_table_writes

__all__ = [
    "LayerPlan",
    "UpdateMap",
    "UpdateTile",
    "compile_backward",
    "compile_update",
    "read_weights",
    "assemble",
    "check_programs",
    "compile_layer",
    "finish_layer",
    "layer_input",
    "plan_layer",
    "pwl_table",
    "pwl_writes",
    "run_layer",
]


_ACT_OP = {"none": NFU3Op.NONE, "relu": NFU3Op.RELU, "sigmoid": NFU3Op.PWL, "tanh": NFU3Op.PWL}


def _cdiv(a: int, b: int) -> int:
    return -(-a // b)


def pwl_table(act: str, config: DianNaoConfig) -> PWLTable | None:
    """The NFU-3 table loaded for activation ``act`` (``None`` for none / ReLU)."""
    if act not in ("sigmoid", "tanh"):
        return None
    if config.pwl_segments == 16:
        return default_pwl(act, config.act_bits, config.act_frac)
    return fit(
        act, act_bits=config.act_bits, act_frac=config.act_frac, segments=config.pwl_segments
    )


def pwl_writes(table: PWLTable) -> list[tuple[int, int]]:
    """``(address, value)`` host writes that load ``table`` into NFU-3 (the map of
    :mod:`accelgen.spec.pwl`: slopes, intercepts, ``x_min``, ``seg_shift``)."""
    return pwl_table_writes(
        slopes=table.slopes,
        intercepts=table.intercepts,
        x_min=table.x_min,
        seg_shift=table.seg_shift,
    )


@dataclass(frozen=True)
class LayerPlan:
    """Shape-only mapping of one layer: tile sizes, output shape and useful work.

    A Winograd convolution's tiles produce its Winograd-domain products ``M`` of shape
    ``domain_shape`` (``[16, tiles, No]``), which :func:`finish_layer` turns into the output on
    the host; ``host_adds`` counts the host's transform adds (0 for the other layers).
    """

    kind: str
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    chunks: dict[str, int]
    useful_ops: int
    n_tiles: int
    domain_shape: tuple[int, ...] | None = None
    host_adds: int = 0


def _layer_pwl_act(layer: DenseLayer) -> str:
    return "none" if isinstance(layer, PoolLayer) else layer.act


def plan_layer(layer: DenseLayer, in_shape: tuple[int, ...], config: DianNaoConfig) -> LayerPlan:
    """Choose the tiling of ``layer`` for an input of shape ``in_shape`` (batched).

    ``in_shape`` is ``[batch, Ni]`` for FC and ``[batch, C, H, W]`` for conv / pool. Raises
    ``ValueError`` naming the buffer and the value when the layer cannot be mapped.
    """
    t = config.tn
    if any(int(d) < 1 for d in in_shape):
        raise ValueError(f"{layer.kind} layer input has an empty dimension: shape {in_shape}")
    if not isinstance(layer, PoolLayer) and min(layer.w.shape) < 1:
        raise ValueError(f"{layer.kind} layer has an empty weight array of shape {layer.w.shape}")
    nb = config.nbin_depth // 2 if config.double_buffer else config.nbin_depth
    sbd = config.sb_depth // 2 if config.double_buffer else config.sb_depth
    nod, im = config.nbout_depth, config.imem_depth
    if isinstance(layer, FCLayer):
        if len(in_shape) != 2:
            raise ValueError(f"fc layer needs a [batch, Ni] input, got shape {in_shape}")
        b, ni = in_shape
        no = layer.w.shape[0]
        if ni != layer.w.shape[1]:
            raise ValueError(f"fc layer has {layer.w.shape[1]} inputs but x has {ni}")
        it, ot = _cdiv(ni, t), _cdiv(no, t)
        ic = min(it, nb, sbd)
        bc = min(b, nb // ic, nod)
        oc = min(ot, sbd // ic, nod // bc, im)
        n_tiles = _cdiv(b, bc) * _cdiv(ot, oc) * _cdiv(it, ic)
        return LayerPlan(
            "fc", tuple(in_shape), (b, no), {"ic": ic, "bc": bc, "oc": oc}, b * no * ni, n_tiles
        )
    if len(in_shape) != 4:
        raise ValueError(f"{layer.kind} layer needs a [batch, C, H, W] input, got shape {in_shape}")
    b, c, h, w = in_shape
    ct = _cdiv(c, t)
    if isinstance(layer, ConvLayer) and layer.conv == "winograd":
        return _plan_winograd(layer, tuple(in_shape), config)
    if isinstance(layer, ConvLayer):
        k, s, p = layer.k, layer.stride, layer.pad
        if c != layer.w.shape[1]:
            raise ValueError(f"conv layer has {layer.w.shape[1]} input channels but x has {c}")
        no = layer.w.shape[0]
    else:
        k, s, p = layer.k, layer.stride, 0
        no = c
        if layer.mode == "avg" and k * k > 1 << (config.acc_bits - config.act_bits):
            limit = 1 << (config.acc_bits - config.act_bits)
            raise ValueError(
                f"average pooling window {k}x{k} ({k * k} values) can overflow the "
                f"{config.acc_bits}-bit accumulator; at most {limit} values"
            )
    oh, ow = conv_output_size(h, k, s, p), conv_output_size(w, k, s, p)
    wp = w + 2 * p
    if ow > nod:
        raise ValueError(
            f"{layer.kind} output row of {ow} positions does not fit nbout_depth={nod} words"
        )
    if k * wp > nb:
        raise ValueError(
            f"{layer.kind} needs {k} input rows of {wp} words ({k * wp}) in NBin but "
            f"nbin_depth{'/2 (double_buffer)' if config.double_buffer else ''} is {nb}"
        )
    if isinstance(layer, ConvLayer):
        if k * k > sbd:
            raise ValueError(
                f"conv kernel {k}x{k} needs {k * k} SB words per tile pair but sb_depth"
                f"{'/2 (double_buffer)' if config.double_buffer else ''} is {sbd}"
            )
        cc = min(ct, sbd // (k * k), nb // (k * wp))
        ohc = min(oh, nod // ow, ((nb // (cc * wp)) - k) // s + 1)
        ot = _cdiv(no, t)
        oc = min(ot, sbd // (cc * k * k), nod // (ohc * ow), im)
        n_tiles = b * _cdiv(oh, ohc) * _cdiv(ot, oc) * _cdiv(ct, cc)
        useful = b * no * oh * ow * c * k * k
        chunks = {"cc": cc, "ohc": ohc, "oc": oc}
    else:
        ohc = min(oh, nod // ow, ((nb // wp) - k) // s + 1)
        hr = (ohc - 1) * s + k
        cc = min(ct, nb // (hr * wp), nod // (ohc * ow), im)
        n_tiles = b * _cdiv(oh, ohc) * _cdiv(ct, cc)
        useful = b * c * oh * ow * k * k
        chunks = {"cc": cc, "ohc": ohc}
    return LayerPlan(layer.kind, tuple(in_shape), (b, no, oh, ow), chunks, useful, n_tiles)


def _lanes(v: np.ndarray, t: int) -> np.ndarray:
    """Zero-pad the last axis of ``v`` to a multiple of ``t`` and split it into words."""
    n = v.shape[-1]
    pad = _cdiv(n, t) * t - n
    v = np.pad(v, [(0, 0)] * (v.ndim - 1) + [(0, pad)])
    return v.reshape(v.shape[:-1] + (-1, t))


def _empty(t: int) -> tuple[np.ndarray, np.ndarray]:
    return np.zeros(0, dtype=np.int64), np.zeros((0, t), dtype=np.int64)


def compile_layer(layer: DenseLayer, x, config: DianNaoConfig) -> tuple[LayerPlan, list[HostTile]]:
    """Compile ``layer`` applied to the batched input ``x`` into host tiles.

    ``x`` is ``[batch, Ni]`` (FC) or ``[batch, C, H, W]`` (conv / pool), ``act_bits`` values.
    """
    xa = check_fixed(x, config.act_bits, "x")
    plan = plan_layer(layer, xa.shape, config)
    if isinstance(layer, FCLayer):
        tiles = _compile_fc(layer, xa, plan, config)
    elif isinstance(layer, ConvLayer) and layer.conv == "winograd":
        return plan, _compile_winograd(layer, xa, plan, config)
    elif isinstance(layer, ConvLayer):
        tiles = _compile_conv(layer, xa, plan, config)
    else:
        tiles = _compile_pool(layer, xa, plan, config)
    table = pwl_table(_layer_pwl_act(layer), config)
    if table is not None and tiles:
        tiles[0].pwl = pwl_writes(table)
    return plan, tiles


def _bases(config: DianNaoConfig, index: int) -> tuple[int, int]:
    if not config.double_buffer or index % 2 == 0:
        return 0, 0
    return config.nbin_depth // 2, config.sb_depth // 2


_LOOPS = (("n_r0", "s_r0"), ("n_r1", "s_r1"), ("n_r2", "s_r2"), ("n_o0", "s_o0"), ("n_o1", "s_o1"))


def _finish(
    program: list[Instruction], config: DianNaoConfig, meaning: dict[str, str]
) -> list[Instruction]:
    """Mark the last instruction ``end`` and check every field against ``config``.

    A loop that runs once never uses its stride, so that stride is encoded as 0 (a 1x1 conv
    with stride 2 on a one-band input has an output-row stride wider than the field, and no
    second output row). A field that still does not fit is a ``ValueError`` naming the layer
    parameters it comes from (``meaning``: field -> how the compiler derived it).
    """
    program[-1] = dataclasses.replace(program[-1], end=True)
    for i, ins in enumerate(program):
        unused = {s: 0 for n, s in _LOOPS if getattr(ins, n) == 1 and getattr(ins, s) != 0}
        if unused:
            program[i] = ins = dataclasses.replace(ins, **unused)
        try:
            ins.check(config)
        except ValueError as e:
            field_name = next((f for f in meaning if f"field {f}=" in str(e)), None)
            why = f" ({field_name} = {meaning[field_name]})" if field_name else ""
            raise ValueError(f"{e}{why}") from None
    return program


def check_programs(layer: DenseLayer, plan: LayerPlan, config: DianNaoConfig) -> None:
    """Compile the programs of ``layer`` for one chunk of zero inputs, checking every
    instruction field against ``config`` (``ValueError`` naming the layer parameter).

    The instruction fields depend only on the plan's chunk sizes, not on the data, so this
    finds at check time what the full compile would find before the run.
    """
    if isinstance(layer, FCLayer):
        b, ni = plan.in_shape
        t = config.tn
        it, ot = _cdiv(ni, t), _cdiv(layer.w.shape[0], t)
        ic_n, bc_n, oc_n = plan.chunks["ic"], plan.chunks["bc"], plan.chunks["oc"]
        meaning = _fc_meaning(ni, ic_n, bc_n)
        # every distinct tile: full and last chunks of each loop, on both buffer halves
        for bc in {bc_n, b - (_cdiv(b, bc_n) - 1) * bc_n}:
            for oc in {oc_n, ot - (_cdiv(ot, oc_n) - 1) * oc_n}:
                for ic in {ic_n, it - (_cdiv(it, ic_n) - 1) * ic_n}:
                    for half in (0, 1) if config.double_buffer else (0,):
                        nbb, sbb = _bases(config, half)
                        for first, last in ((True, True), (True, False), (False, True)):
                            program = _fc_program(
                                ic, bc, oc, nbb, sbb, first=first, last=last, bias=True, act=0
                            )
                            _finish(program, config, meaning)
        return
    if isinstance(layer, ConvLayer) and layer.conv == "winograd":
        _check_winograd_programs(layer, plan, config)
        return
    shape = (1, *plan.in_shape[1:])
    x = np.zeros(shape, dtype=np.int64)
    sub = plan_layer(layer, shape, config)
    if isinstance(layer, ConvLayer):
        _compile_conv(layer, x, sub, config)
    else:
        _compile_pool(layer, x, sub, config)


def _fc_program(
    ic: int, bc: int, oc: int, nbb: int, sbb: int, *, first: bool, last: bool, bias: bool, act
) -> list[Instruction]:
    """One FC tile's program: ``oc`` output words x ``bc`` samples, ``ic`` input words."""
    return [
        Instruction(
            nfu2_out=NFU2Out.NFU3 if last else NFU2Out.PARTIAL,
            nfu3_op=act,
            sb_addr=sbb + ol * ic,
            nbin_addr=nbb,
            s_r0=1,
            n_r0=ic,
            s_o0=ic,
            n_o0=bc,
            nbout_addr=ol * bc,
            nbout_read=not first or bias,
        )
        for ol in range(oc)
    ]


def _fc_meaning(ni: int, ic: int, bc: int) -> dict[str, str]:
    return {
        "s_o0": f"input words per chunk ({ic}) of the fc layer with {ni} inputs",
        "n_r0": f"input words per chunk ({ic}) of the fc layer with {ni} inputs",
        "n_o0": f"samples per chunk ({bc})",
    }


def _compile_fc(layer: FCLayer, x: np.ndarray, plan: LayerPlan, config: DianNaoConfig):
    t = config.tn
    b_all, ni = x.shape
    no = layer.w.shape[0]
    ic_n, bc_n, oc_n = plan.chunks["ic"], plan.chunks["bc"], plan.chunks["oc"]
    xw = _lanes(x, t)  # [B, IT, T]
    ww = _lanes(layer.w.astype(np.int64), t)  # [No, IT, T]
    ot = _cdiv(no, t)
    ww = np.pad(ww, ((0, ot * t - no), (0, 0), (0, 0))).reshape(ot, t, -1, t)  # [OT, T, IT, T]
    bias = None if layer.b is None else _lanes(layer.b.astype(np.int64), t)  # [OT, T]
    it = xw.shape[1]
    act = _ACT_OP[layer.act]
    meaning = _fc_meaning(ni, ic_n, bc_n)
    tiles = []
    for b0 in range(0, b_all, bc_n):
        bc = min(bc_n, b_all - b0)
        for o0 in range(0, ot, oc_n):
            oc = min(oc_n, ot - o0)
            for i0 in range(0, it, ic_n):
                ic = min(ic_n, it - i0)
                first, last = i0 == 0, i0 + ic >= it
                nbb, sbb = _bases(config, len(tiles))
                nb_addr = nbb + np.arange(bc * ic)
                nb_data = xw[b0 : b0 + bc, i0 : i0 + ic].reshape(-1, t)
                blk = ww[o0 : o0 + oc, :, i0 : i0 + ic]  # [oc, T(row), ic, T]
                sb_data = blk.transpose(0, 2, 1, 3).reshape(-1, t)  # [(oc, ic, row), T]
                sb_addr = (sbb + np.arange(oc * ic))[:, None] * t + np.arange(t)[None, :]
                if first and bias is not None:
                    no_addr = np.arange(oc * bc)
                    no_data = np.repeat(bias[o0 : o0 + oc], bc, axis=0)
                else:
                    no_addr, no_data = _empty(t)
                program = _fc_program(
                    ic, bc, oc, nbb, sbb, first=first, last=last, bias=bias is not None, act=act
                )
                if last:
                    read_addr = np.arange(oc * bc)
                    ol, bl = np.divmod(read_addr, bc)
                    lane = (o0 + ol)[:, None] * t + np.arange(t)[None, :]
                    scatter = np.where(lane < no, (b0 + bl)[:, None] * no + lane, -1)
                else:
                    read_addr, scatter = _empty(t)
                tiles.append(
                    HostTile(
                        _finish(program, config, meaning),
                        nb_addr,
                        nb_data,
                        sb_addr.reshape(-1),
                        sb_data,
                        no_addr,
                        no_data,
                        read_addr,
                        scatter,
                        (b0, b0 + bc),
                    )
                )
    return tiles


def _map_reads(
    bi: int, w0: int, words: int, oy0: int, n_out: int, maps: int, oh: int, ow: int, t: int
) -> tuple[np.ndarray, np.ndarray]:
    """The NBout reads of a convolution or pooling tile and where each lane lands.

    The tile left ``words`` map words (word ``w`` = maps ``(w0 + w) * T ..``, ``n_out`` output
    positions each, from output row ``oy0``) at NBout ``0 ..``. Returns ``read_addr`` and, per
    lane, the flat index into the batched ``[B, maps, oh, ow]`` output of sample ``bi`` (-1 for
    padding lanes beyond ``maps``).
    """
    read_addr = np.arange(words * n_out)
    wl, rest = np.divmod(read_addr, n_out)
    oyl, ox = np.divmod(rest, ow)
    ch = (w0 + wl)[:, None] * t + np.arange(t)[None, :]
    flat = ((bi * maps + ch) * oh + (oy0 + oyl)[:, None]) * ow + ox[:, None]
    return read_addr, np.where(ch < maps, flat, -1)


def _compile_conv(layer: ConvLayer, x: np.ndarray, plan: LayerPlan, config: DianNaoConfig):
    t = config.tn
    b_all, c, h, w = x.shape
    no, _, k, _ = layer.w.shape
    s, p = layer.stride, layer.pad
    _, _, oh, ow = plan.out_shape
    cc_n, ohc_n, oc_n = plan.chunks["cc"], plan.chunks["ohc"], plan.chunks["oc"]
    ct, ot = _cdiv(c, t), _cdiv(no, t)
    xp = np.pad(x, ((0, 0), (0, ct * t - c), (p, p), (p, p)))  # [B, CT*T, Hp, Wp]
    wp = w + 2 * p
    xw = xp.reshape(b_all, ct, t, h + 2 * p, wp).transpose(0, 1, 3, 4, 2)  # [B, CT, Hp, Wp, T]
    wt = np.pad(layer.w.astype(np.int64), ((0, ot * t - no), (0, ct * t - c), (0, 0), (0, 0)))
    # [OT, CT, K, K, row, T]
    wt = wt.reshape(ot, t, ct, t, k, k).transpose(0, 2, 4, 5, 1, 3)
    bias = None if layer.b is None else _lanes(layer.b.astype(np.int64), t)
    act = _ACT_OP[layer.act]
    where = f"conv k={k} stride={s} pad={p} on a {c}x{h}x{w} input"
    meaning = {
        "s_o1": f"stride {s} x padded input width {wp}; {where}",
        "s_o0": f"stride {s}; {where}",
        "s_r1": f"padded input width {wp}; {where}",
        "s_r2": f"band rows x padded input width {wp}; {where}",
        "n_o0": f"output width {ow}; {where}",
        "n_r0": f"kernel size {k}; {where}",
        "n_r1": f"kernel size {k}; {where}",
    }
    tiles = []
    for bi in range(b_all):
        for oy0 in range(0, oh, ohc_n):
            ohc = min(ohc_n, oh - oy0)
            hr = (ohc - 1) * s + k
            for o0 in range(0, ot, oc_n):
                oc = min(oc_n, ot - o0)
                for c0 in range(0, ct, cc_n):
                    cc = min(cc_n, ct - c0)
                    first, last = c0 == 0, c0 + cc >= ct
                    nbb, sbb = _bases(config, len(tiles))
                    band = xw[bi, c0 : c0 + cc, oy0 * s : oy0 * s + hr]  # [cc, hr, Wp, T]
                    nb_data = band.reshape(-1, t)
                    nb_addr = nbb + np.arange(nb_data.shape[0])
                    sb_data = wt[o0 : o0 + oc, c0 : c0 + cc].reshape(-1, t)
                    n_words = oc * cc * k * k
                    sb_addr = (sbb + np.arange(n_words))[:, None] * t + np.arange(t)[None, :]
                    n_out = ohc * ow
                    if first and bias is not None:
                        no_addr = np.arange(oc * n_out)
                        no_data = np.repeat(bias[o0 : o0 + oc], n_out, axis=0)
                    else:
                        no_addr, no_data = _empty(t)
                    program = [
                        Instruction(
                            nfu2_out=NFU2Out.NFU3 if last else NFU2Out.PARTIAL,
                            nfu3_op=act,
                            sb_addr=sbb + ol * cc * k * k,
                            nbin_addr=nbb,
                            s_r0=1,
                            n_r0=k,
                            s_r1=wp,
                            n_r1=k,
                            s_r2=hr * wp,
                            n_r2=cc,
                            s_o0=s,
                            n_o0=ow,
                            s_o1=s * wp,
                            n_o1=ohc,
                            nbout_addr=ol * n_out,
                            nbout_read=not first or bias is not None,
                        )
                        for ol in range(oc)
                    ]
                    if last:
                        read_addr, scatter = _map_reads(bi, o0, oc, oy0, n_out, no, oh, ow, t)
                    else:
                        read_addr, scatter = _empty(t)
                    tiles.append(
                        HostTile(
                            _finish(program, config, meaning),
                            nb_addr,
                            nb_data,
                            sb_addr.reshape(-1),
                            sb_data,
                            no_addr,
                            no_data,
                            read_addr,
                            scatter,
                            (bi, bi + 1),
                        )
                    )
    return tiles


def _compile_pool(layer: PoolLayer, x: np.ndarray, plan: LayerPlan, config: DianNaoConfig):
    t = config.tn
    b_all, c, h, w = x.shape
    k, s = layer.k, layer.stride
    _, _, oh, ow = plan.out_shape
    cc_n, ohc_n = plan.chunks["cc"], plan.chunks["ohc"]
    ct = _cdiv(c, t)
    xw = np.pad(x, ((0, 0), (0, ct * t - c), (0, 0), (0, 0)))
    xw = xw.reshape(b_all, ct, t, h, w).transpose(0, 1, 3, 4, 2)  # [B, CT, H, W, T]
    avg = layer.mode == "avg"
    where = f"{layer.mode} pool k={k} stride={s} on a {c}x{h}x{w} input"
    meaning = {
        "s_o1": f"stride {s} x input width {w}; {where}",
        "s_o0": f"stride {s}; {where}",
        "s_r1": f"input width {w}; {where}",
        "n_o0": f"output width {ow}; {where}",
        "n_r0": f"window size {k}; {where}",
        "n_r1": f"window size {k}; {where}",
    }
    tiles = []
    for bi in range(b_all):
        for oy0 in range(0, oh, ohc_n):
            ohc = min(ohc_n, oh - oy0)
            hr = (ohc - 1) * s + k
            for c0 in range(0, ct, cc_n):
                cc = min(cc_n, ct - c0)
                nbb, _ = _bases(config, len(tiles))
                nb_data = xw[bi, c0 : c0 + cc, oy0 * s : oy0 * s + hr].reshape(-1, t)
                nb_addr = nbb + np.arange(nb_data.shape[0])
                n_out = ohc * ow
                program = [
                    Instruction(
                        nfu1_op=NFU1Op.BYPASS,
                        nfu2_op=NFU2Op.SUM if avg else NFU2Op.MAX,
                        nfu3_op=NFU3Op.AVG if avg else NFU3Op.NONE,
                        avg_recip=avg_reciprocal(k * k) if avg else 0,
                        nbin_addr=nbb + cl * hr * w,
                        s_r0=1,
                        n_r0=k,
                        s_r1=w,
                        n_r1=k,
                        s_o0=s,
                        n_o0=ow,
                        s_o1=s * w,
                        n_o1=ohc,
                        nbout_addr=cl * n_out,
                    )
                    for cl in range(cc)
                ]
                read_addr, scatter = _map_reads(bi, c0, cc, oy0, n_out, c, oh, ow, t)
                no_addr, no_data = _empty(t)
                sb_addr, sb_data = _empty(t)
                tiles.append(
                    HostTile(
                        _finish(program, config, meaning),
                        nb_addr,
                        nb_data,
                        sb_addr,
                        sb_data,
                        no_addr,
                        no_data,
                        read_addr,
                        scatter,
                        (bi, bi + 1),
                    )
                )
    return tiles


def assemble(plan: LayerPlan, tiles: list[HostTile], reads: list[np.ndarray]) -> np.ndarray:
    """Scatter the NBout words read after each tile into the layer's batched output array.

    ``reads[i]`` is ``[len(tiles[i].read_addr), T]`` signed values. Raises ``ValueError`` if
    an output element was never read (a compiler bug, not a user error).
    """
    shape = plan.domain_shape or plan.out_shape
    out = np.zeros(int(np.prod(shape)), dtype=np.int64)
    seen = np.zeros(out.size, dtype=bool)
    for tile, words in zip(tiles, reads, strict=True):
        keep = tile.scatter >= 0
        out[tile.scatter[keep]] = np.asarray(words)[keep]
        seen[tile.scatter[keep]] = True
    if not seen.all():
        raise ValueError(f"{int((~seen).sum())} outputs of the {plan.kind} layer were not produced")
    return out.reshape(shape)


# ---------------------------------------------------------------- Winograd F(2x2, 3x3)
#
# A 3x3 stride-1 convolution in Winograd mode (``ConvLayer.conv == "winograd"``,
# :mod:`accelgen.golden.winograd`). The host transforms every 4x4 input tile (``V = B^T d B``,
# 32 adds per tile and input channel) and the compiler the filters (``U = G g G^T``, offline).
# For each of the 16 positions the products ``M[pos] = U[pos] V[pos]`` summed over input channels
# are a classifier layer with the input channels as inputs and the 2x2 output tiles as the batch;
# the core runs them as FC programs (one instruction per position and output-channel word) and
# keeps ``M`` at ``acc_bits`` (``NFU2Out.PARTIAL``). The host reads ``M`` and computes
# ``y = f(sat(act_bits, A^T M A + b))`` (24 adds per tile and output channel, 4 more with a bias).
#
# Buffers (``T = tn``): NBin word = ``T`` input channels of one (position, tile):
# ``[position][tile][channel word]``; SB word = ``T x T`` block of ``U[position]``:
# ``[position][output word][channel word]``; NBout word = ``T`` output channels of one
# (position, tile): ``[position][output word][tile]``. Host tiles:
# ``for tile chunk: for position chunk: for output chunk: for input-channel chunk``.

WINOGRAD_POSITIONS = 16
HOST_INPUT_ADDS = 32  # B^T d B per 4x4 tile and input channel
HOST_OUTPUT_ADDS = 24  # A^T M A per tile and output channel (+4 for the bias)


def _steps_values(n: int) -> list[int]:
    """The chunk sizes worth trying for ``n`` items: ``ceil(n / k)`` for every chunk count k."""
    return sorted({_cdiv(n, k) for k in range(1, n + 1)}, reverse=True)


def _winograd_chunks(
    n_t: int, it: int, ot: int, nb: int, sbd: int, nod: int, im: int
) -> tuple[int, int, int, int, int]:
    """``(ic, pc, bc, oc, host tiles)``: chunks of channel words, positions, tiles and output
    words per host tile with the fewest host tiles (each costs the 15-cycle program overhead;
    the NFU steps do not depend on the chunking), and among those the least host-port traffic
    (``V`` is written once per output chunk, ``U`` once per tile chunk). NBin holds
    ``pc*bc*ic`` words, SB ``pc*oc*ic``, NBout ``pc*oc*bc``, the IMEM ``pc*oc`` instructions.
    Remaining ties keep the first candidate in the order: largest channel chunk, then most
    positions, then most output words."""
    npos = WINOGRAD_POSITIONS
    best = None
    for ic in _steps_values(min(it, nb, sbd)):
        for pc in _steps_values(min(npos, nb // ic, sbd // ic, nod, im)):
            bc_max = min(n_t, nb // (pc * ic), nod // pc)
            for oc in _steps_values(min(ot, sbd // (pc * ic), im // pc, nod // pc)):
                bc = min(bc_max, nod // (pc * oc))
                n = _cdiv(n_t, bc) * _cdiv(npos, pc) * _cdiv(ot, oc) * _cdiv(it, ic)
                # NBin words + SB words (rows / Tn) written over the layer
                words = npos * it * (n_t * _cdiv(ot, oc) + ot * _cdiv(n_t, bc))
                if best is None or (n, words) < best[0]:
                    best = ((n, words), (ic, pc, bc, oc, n))
    assert best is not None
    return best[1]


def _plan_winograd(layer: ConvLayer, in_shape: tuple[int, ...], config: DianNaoConfig):
    t = config.tn
    b, c, h, w = in_shape
    if c != layer.w.shape[1]:
        raise ValueError(f"conv layer has {layer.w.shape[1]} input channels but x has {c}")
    no = layer.w.shape[0]
    oh, ow, th, tw = tile_grid(h, w, layer.pad)
    n_t = b * th * tw
    nb = config.nbin_depth // 2 if config.double_buffer else config.nbin_depth
    sbd = config.sb_depth // 2 if config.double_buffer else config.sb_depth
    nod, im = config.nbout_depth, config.imem_depth
    it, ot = _cdiv(c, t), _cdiv(no, t)
    ic, pc, bc, oc, n_tiles = _winograd_chunks(n_t, it, ot, nb, sbd, nod, im)
    adds = HOST_INPUT_ADDS * n_t * c + (HOST_OUTPUT_ADDS + 4 * (layer.b is not None)) * n_t * no
    return LayerPlan(
        "conv",
        in_shape,
        (b, no, oh, ow),
        {"ic": ic, "pc": pc, "bc": bc, "oc": oc, "tiles": n_t},
        WINOGRAD_POSITIONS * n_t * no * c,
        n_tiles,
        domain_shape=(WINOGRAD_POSITIONS, n_t, no),
        host_adds=adds,
    )


def _winograd_program(
    ic: int, bc: int, pc: int, oc: int, nbb: int, sbb: int, *, first: bool
) -> list[Instruction]:
    """One Winograd tile's program: ``pc`` positions x ``oc`` output words x ``bc`` tiles,
    ``ic`` input words each (a batched FC product per position)."""
    return [
        Instruction(
            nfu2_out=NFU2Out.PARTIAL,
            sb_addr=sbb + (pl * oc + ol) * ic,
            nbin_addr=nbb + pl * bc * ic,
            s_r0=1,
            n_r0=ic,
            s_o0=ic,
            n_o0=bc,
            nbout_addr=(pl * oc + ol) * bc,
            nbout_read=not first,
        )
        for pl in range(pc)
        for ol in range(oc)
    ]


def _winograd_meaning(c: int, ic: int, bc: int) -> dict[str, str]:
    where = f"winograd conv on {c} input channels"
    return {
        "s_o0": f"input words per chunk ({ic}); {where}",
        "n_r0": f"input words per chunk ({ic}); {where}",
        "n_o0": f"tiles per chunk ({bc}); {where}",
    }


def _check_winograd_programs(layer: ConvLayer, plan: LayerPlan, config: DianNaoConfig) -> None:
    """Every distinct Winograd tile program (full and last chunks, both buffer halves)."""
    c, no = layer.w.shape[1], layer.w.shape[0]
    it, ot = _cdiv(c, config.tn), _cdiv(no, config.tn)
    ic_n, pc_n, bc_n, oc_n = (plan.chunks[k] for k in ("ic", "pc", "bc", "oc"))
    n_t = plan.chunks["tiles"]
    meaning = _winograd_meaning(c, ic_n, bc_n)

    def sizes(n: int, chunk: int) -> set[int]:
        return {chunk if n >= chunk else n, n - (_cdiv(n, chunk) - 1) * chunk}

    for bc in sizes(n_t, bc_n):
        for pc in sizes(WINOGRAD_POSITIONS, pc_n):
            for oc in sizes(ot, oc_n):
                for ic in sizes(it, ic_n):
                    for half in (0, 1) if config.double_buffer else (0,):
                        nbb, sbb = _bases(config, half)
                        for first in (True, False):
                            program = _winograd_program(ic, bc, pc, oc, nbb, sbb, first=first)
                            _finish(program, config, meaning)


def _compile_winograd(layer: ConvLayer, x: np.ndarray, plan: LayerPlan, config: DianNaoConfig):
    t = config.tn
    num = config.numerics
    b_all, c, h, w = x.shape
    no = layer.w.shape[0]
    ic_n, pc_n, bc_n, oc_n = (plan.chunks[k] for k in ("ic", "pc", "bc", "oc"))
    n_t = plan.chunks["tiles"]
    per_sample = n_t // b_all
    npos = WINOGRAD_POSITIONS
    # host: input transform, [B, C, th, tw, 4, 4] -> [16, tiles, IT, T]
    v = input_transform(input_tiles(x, layer.pad), num=num)
    v = _lanes(v.transpose(4, 5, 0, 2, 3, 1).reshape(npos, n_t, c), t)
    it = v.shape[2]
    ot = _cdiv(no, t)
    # compiler: filter transform, [O, C, 4, 4] -> [16, OT, T(row), IT, T]
    u = filter_transform(layer.w, num=num).transpose(2, 3, 0, 1).reshape(npos, no, c)
    u = np.pad(u, ((0, 0), (0, ot * t - no), (0, it * t - c)))
    u = u.reshape(npos, ot, t, it, t)
    tiles = []
    for t0 in range(0, n_t, bc_n):
        bc = min(bc_n, n_t - t0)
        samples = (t0 // per_sample, _cdiv(t0 + bc, per_sample))
        for p0 in range(0, npos, pc_n):
            pc = min(pc_n, npos - p0)
            for o0 in range(0, ot, oc_n):
                oc = min(oc_n, ot - o0)
                for i0 in range(0, it, ic_n):
                    ic = min(ic_n, it - i0)
                    first, last = i0 == 0, i0 + ic >= it
                    nbb, sbb = _bases(config, len(tiles))
                    nb_data = v[p0 : p0 + pc, t0 : t0 + bc, i0 : i0 + ic].reshape(-1, t)
                    nb_addr = nbb + np.arange(nb_data.shape[0])
                    blk = u[p0 : p0 + pc, o0 : o0 + oc, :, i0 : i0 + ic]  # [pc, oc, row, ic, T]
                    sb_data = blk.transpose(0, 1, 3, 2, 4).reshape(-1, t)
                    sb_addr = (sbb + np.arange(pc * oc * ic))[:, None] * t + np.arange(t)[None, :]
                    program = _winograd_program(ic, bc, pc, oc, nbb, sbb, first=first)
                    if last:
                        read_addr = np.arange(pc * oc * bc)
                        pl, rest = np.divmod(read_addr, oc * bc)
                        ol, tl = np.divmod(rest, bc)
                        ch = (o0 + ol)[:, None] * t + np.arange(t)[None, :]
                        flat = ((p0 + pl) * n_t + t0 + tl)[:, None] * no + ch
                        scatter = np.where(ch < no, flat, -1)
                    else:
                        read_addr, scatter = _empty(t)
                    no_addr, no_data = _empty(t)
                    tiles.append(
                        HostTile(
                            _finish(program, config, _winograd_meaning(c, ic_n, bc_n)),
                            nb_addr,
                            nb_data,
                            sb_addr.reshape(-1),
                            sb_data,
                            no_addr,
                            no_data,
                            read_addr,
                            scatter,
                            samples,
                        )
                    )
    return tiles


def finish_layer(
    layer: DenseLayer, plan: LayerPlan, out: np.ndarray, config: DianNaoConfig
) -> np.ndarray:
    """The layer's output from what :func:`assemble` returned.

    The identity except for a Winograd convolution, whose ``M[16, tiles, No]`` (``acc_bits``) the
    host turns into ``f(sat(act_bits, A^T M A + b))``.
    """
    if plan.domain_shape is None:
        return out
    b, no, oh, ow = plan.out_shape
    _, _, th, tw = tile_grid(plan.in_shape[2], plan.in_shape[3], layer.pad)
    m = np.asarray(out, dtype=np.int64).reshape(4, 4, b, th, tw, no).transpose(2, 5, 3, 4, 0, 1)
    y = output_transform(m)  # [B, No, th, tw, 2, 2]
    if layer.b is not None:
        y = y + layer.b.astype(np.int64)[None, :, None, None, None, None]
    y = y.transpose(0, 1, 2, 4, 3, 5).reshape(b, no, 2 * th, 2 * tw)[..., :oh, :ow]
    num = config.numerics
    y = sat(num.act_bits, y)
    return activate(y, layer.act, num, pwl_table(layer.act, config))


def layer_input(layer: DenseLayer, a: np.ndarray) -> np.ndarray:
    """The batched input of ``layer`` from the previous batched output ``a``.

    An FC layer flattens a ``[batch, C, H, W]`` input in ``[C, H, W]`` order.
    """
    if isinstance(layer, FCLayer):
        return a.reshape(a.shape[0], -1)
    return a


def run_layer(model: DianNaoCPModel, layer, x: np.ndarray) -> tuple[np.ndarray, list[ProgramStats]]:
    """Compile ``layer`` for the batched input ``x``, run every tile on ``model``.

    Returns the batched output and the counters of every tile's program.
    """
    plan, tiles = compile_layer(layer, x, model.config)
    reads, stats = [], []
    for tile in tiles:
        words, st = model.run_tile(tile)
        reads.append(words)
        stats.append((st, tile.samples))
    return finish_layer(layer, plan, assemble(plan, tiles, reads), model.config), stats


@dataclass(frozen=True)
class UpdateMap:
    """Where :func:`compile_update` put output tiles ``ob0 .. ob0 + n_ob - 1`` of update
    ``layer`` (shape ``[n_out, n_in]``) in one host tile: the first SB, NBin and NBout words."""

    layer: int
    ob0: int
    n_ob: int
    n_out: int
    n_in: int
    sb_base: int
    nbin_base: int
    nbout_base: int

    def input_words(self, t: int) -> int:
        return _cdiv(self.n_in, t)


@dataclass
class UpdateTile:
    """One host tile of a weight update: the buffers and program, the layers' placement, and
    the SB rows (host addresses ``word * tn + row``) to read back after the run."""

    tile: HostTile
    maps: list[UpdateMap]
    read: np.ndarray


def compile_update(
    updates, config: DianNaoConfig, *, alpha: int, stochastic: bool
) -> list[UpdateTile]:
    """Host tiles that apply ``w += alpha * outer(g, a)`` to every ``(w, a, g)`` of ``updates``
    on the core (module docstring), in order: as many output tiles per host tile as SB, NBin,
    NBout and the IMEM hold; ``ValueError`` if one output tile does not fit or a value does not
    fit its format."""
    c, t = config, config.tn
    if not c.weight_update:
        raise ValueError("the weight update needs a core built with weight_update")
    if (
        isinstance(alpha, bool)
        or not isinstance(alpha, (int, np.integer))
        or not 0 <= alpha < 2**16
    ):
        raise ValueError(f"alpha must be an integer in 0..65535, got {alpha!r}")
    layers = []
    for k, (w, a, g) in enumerate(updates):
        wa = check_fixed(w, c.w_bits, f"update {k} w")
        aa = check_fixed(a, c.act_bits, f"update {k} a")
        ga = check_fixed(g, c.act_bits, f"update {k} g")
        if wa.ndim != 2 or aa.shape != (wa.shape[1],) or ga.shape != (wa.shape[0],):
            raise ValueError(
                f"update {k}: w must be [out, in] with a[in], g[out]; got w {wa.shape}, "
                f"a {aa.shape}, g {ga.shape}"
            )
        n_out, n_in = wa.shape
        ot, it = _cdiv(n_out, t), _cdiv(n_in, t)
        if it > min(c.sb_depth, c.nbin_depth) or wa.size == 0:
            raise ValueError(
                f"update {k}: w {wa.shape} needs {it} SB and NBin words per output tile, the "
                f"core has sb_depth={c.sb_depth}, nbin_depth={c.nbin_depth}"
            )
        ww = _lanes(wa, t)  # [No, IT, T]
        ww = np.pad(ww, ((0, ot * t - n_out), (0, 0), (0, 0))).reshape(ot, t, it, t)
        layers.append((ww.transpose(0, 2, 1, 3), _lanes(aa[None], t)[0], _lanes(ga[None], t)[0]))
    if not layers:
        raise ValueError("no weights to update")

    out: list[UpdateTile] = []
    cur: dict = {}

    def close() -> None:
        if not cur.get("program"):
            return
        program = cur["program"]
        program[-1] = dataclasses.replace(program[-1], end=True)
        for ins in program:
            ins.check(config)
        sb_words = cur["sb"]
        tile = HostTile(
            program,
            np.arange(cur["nbin"]),
            np.concatenate(cur["nb_data"]),
            np.arange(sb_words * t),
            np.concatenate(cur["sb_data"]),
            np.arange(cur["nbout"]),
            np.concatenate(cur["no_data"]),
            *_empty(t),
        )
        out.append(UpdateTile(tile, cur["maps"], np.arange(sb_words * t)))

    def fresh() -> None:
        cur.clear()
        cur.update(program=[], maps=[], sb=0, nbin=0, nbout=0, nb_data=[], sb_data=[], no_data=[])

    fresh()
    for k, (blocks, a_words, g_words) in enumerate(layers):
        n_out, n_in = np.shape(updates[k][0])
        ot, it = blocks.shape[0], blocks.shape[1]
        lanes = n_in - (it - 1) * t
        ob = 0
        while ob < ot:
            room = min(
                (c.sb_depth - cur["sb"]) // it,
                c.nbout_depth - cur["nbout"],
                c.imem_depth - len(cur["program"]),
            )
            if c.nbin_depth - cur["nbin"] < it or room < 1:
                close()
                fresh()
                continue
            n = min(room, ot - ob)
            m = UpdateMap(k, ob, n, n_out, n_in, cur["sb"], cur["nbin"], cur["nbout"])
            for j in range(n):
                cur["program"].append(
                    Instruction(
                        upd=True,
                        stochastic=bool(stochastic),
                        alpha=int(alpha),
                        sb_addr=m.sb_base + j * it,
                        nbin_addr=m.nbin_base,
                        s_r0=1 if it > 1 else 0,
                        n_r0=it,
                        n_o0=min(t, n_out - (ob + j) * t),
                        nbout_addr=m.nbout_base + j,
                        upd_lanes=lanes,
                    )
                )
            cur["sb_data"].append(blocks[ob : ob + n].reshape(-1, t))  # [(ob, it, row), T]
            cur["nb_data"].append(a_words)
            cur["no_data"].append(g_words[ob : ob + n])
            cur["maps"].append(m)
            cur["sb"] += n * it
            cur["nbin"] += it
            cur["nbout"] += n
            ob += n
    close()
    return out


def read_weights(tiles: list[UpdateTile], rows: list[np.ndarray], config: DianNaoConfig) -> list:
    """The updated weight matrices, one per update, from the SB rows read back after every
    tile (``rows[i]`` = ``[len(tiles[i].read), tn]``)."""
    t = config.tn
    parts: dict[int, list] = {}
    shapes: dict[int, tuple[int, int]] = {}
    for ut, r in zip(tiles, rows, strict=True):
        r = np.asarray(r, dtype=np.int64)
        for m in ut.maps:
            it = m.input_words(t)
            blk = r[m.sb_base * t : (m.sb_base + m.n_ob * it) * t]
            w = blk.reshape(m.n_ob, it, t, t).transpose(0, 2, 1, 3).reshape(m.n_ob * t, it * t)
            parts.setdefault(m.layer, []).append((m.ob0, w))
            shapes[m.layer] = (m.n_out, m.n_in)
    out = []
    for k in sorted(parts):
        n_out, n_in = shapes[k]
        w = np.concatenate([w for _, w in sorted(parts[k], key=lambda p: p[0])])
        out.append(w[:n_out, :n_in].copy())
    return out


def compile_backward(
    w, g, mask, config: DianNaoConfig
) -> tuple[LayerPlan, list[HostTile], FCLayer]:
    """``(mask > 0) * fc(g, w^T)`` for the batch ``g[n, No]``, ``mask[n, Ni]`` (module
    docstring): the FC tiles of ``W^T`` with ``drelu`` instructions and the mask as NBout
    contents. Returns the plan, the tiles and the FC layer (for :func:`assemble` /
    :func:`finish_layer`); ``ValueError`` if the core has no ``weight_update`` or an output tile
    needs partial sums across host tiles."""
    if not config.weight_update:
        raise ValueError("the ReLU derivative on the core needs a core built with weight_update")
    layer = FCLayer(np.ascontiguousarray(np.asarray(w).T))
    ga = check_fixed(g, config.act_bits, "g")
    ma = check_fixed(mask, config.act_bits, "mask")
    if ga.ndim != 2 or ma.shape != (ga.shape[0], layer.w.shape[0]):
        raise ValueError(
            f"g must be [n, {layer.w.shape[1]}] and mask [n, {layer.w.shape[0]}], got g "
            f"{ga.shape}, mask {ma.shape}"
        )
    plan, tiles = compile_layer(layer, ga, config)
    flat = ma.reshape(-1)
    out = []
    for tile in tiles:
        if not tile.read_addr.size or tile.program[0].nbout_read:
            raise ValueError(
                f"the backward product of {layer.w.shape[1]} errors needs partial sums across "
                f"host tiles at tn={config.tn}, nbin_depth={config.nbin_depth}, "
                f"sb_depth={config.sb_depth}: the ReLU derivative cannot run on the core there"
            )
        data = np.where(tile.scatter >= 0, flat[np.maximum(tile.scatter, 0)], 0)
        program = [dataclasses.replace(i, nbout_read=True, drelu=True) for i in tile.program]
        for ins in program:
            ins.check(config)
        out.append(
            dataclasses.replace(
                tile, program=program, nbout_addr=tile.read_addr.copy(), nbout_data=data
            )
        )
    return plan, out, layer
