"""``accelgen bench`` section ``winograd``: the seed's FFT / Winograd cost claims and DianNao's
Winograd mode.

Tables:

* ``opcount``: multiplies (and all operations) of direct, FFT and Winograd convolution on the
  DianNao Table 2 and AlexNet conv layers (:mod:`accelgen.golden.opcount`), with the seed's claim.
* ``kernel_sweep``: the same layers with 3x3, 5x5 and 11x11 kernels (stride 1, "same" padding).
* ``error``: the fixed-point Winograd F(2x2, 3x3) and the direct fixed-point convolution against
  the float convolution, and against each other, on the digits CNN's layers and random 3x3
  layers with paper shapes.
* ``cycles``: DianNao cycles of direct vs Winograd mode on 3x3 stride-1 layers from the compiler
  and the cycle model (full size), with the host's transform work.
* ``digits_rtl``: the digits CNN on the RTL (Verilator) in both modes: bit-exactness, per-layer
  cycles from the core's counters, accuracy.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from .context import BenchContext, Section

__all__ = ["section_winograd"]

TITLE = "Faster algorithms: FFT / Winograd claims, DianNao Winograd mode"

SEED_CLAIM = {3: "~2x", 11: "~25x"}
SWEEP_KERNELS = (3, 5, 11)


def _r(v: float, nd: int = 2) -> float:
    return round(float(v), nd)


def _opcount_rows(shapes) -> list[dict[str, Any]]:
    from ..golden.opcount import compare

    rows = []
    for s in shapes:
        c = compare(s)
        rows.append(
            {
                "layer": s.name,
                "kernel": s.m,
                "maps_in_out": f"{s.k}->{s.j}",
                "input": f"{s.n}x{s.width or s.n}",
                "stride": s.stride,
                "direct_mults": c["direct"].mults,
                "fft_mults": c["fft"].mults,
                "winograd_mults": c["winograd"].mults,
                "fft_speedup_mults": _r(c["fft_mult_speedup"]),
                "fft_speedup_ops": _r(c["fft_ops_speedup"]),
                "winograd_speedup_mults": _r(c["winograd_mult_speedup"]),
                "winograd_speedup_ops": _r(c["winograd_ops_speedup"]),
                "winograd_f4_speedup_mults": _r(c["winograd4_mult_speedup"]),
                "seed_claim": SEED_CLAIM.get(s.m, "-"),
                "note": s.note,
            }
        )
    return rows


def _sweep_rows(shapes) -> list[dict[str, Any]]:
    from ..golden.opcount import compare

    rows = []
    for s in shapes:
        row: dict[str, Any] = {"layer": s.name, "maps_in_out": f"{s.k}->{s.j}"}
        row["input"] = f"{s.n}x{s.width or s.n}"
        for m in SWEEP_KERNELS:
            c = compare(dataclasses.replace(s, m=m, stride=1, pad=(m - 1) // 2))
            row[f"fft_{m}x{m}"] = _r(c["fft_mult_speedup"])
            row[f"winograd_{m}x{m}"] = _r(c["winograd_mult_speedup"])
        rows.append(row)
    return rows


def _error_row(name: str, x, w, b, pad: int, num, group: int) -> dict[str, Any]:
    from ..golden.arith import dequantize
    from ..golden.layers import conv2d
    from ..golden.winograd import BT, fft_conv2d_float, input_tiles, winograd_conv2d

    ref = fft_conv2d_float(dequantize(x, num.act_frac), dequantize(w, num.w_frac), pad=pad)
    if b is not None:
        ref = ref + dequantize(b, num.act_frac)[None, :, None, None]
    ref = ref * (1 << num.act_frac)  # in output LSBs
    d = conv2d(x, w, b, num=num, pad=pad, group=group)
    wg = winograd_conv2d(x, w, b, num=num, pad=pad, group=group)
    exact_v = BT @ input_tiles(np.asarray(x, dtype=np.int64), pad) @ BT.T
    hi = (1 << (num.act_bits - 1)) - 1
    v_sat = int(np.count_nonzero((exact_v > hi) | (exact_v < -hi - 1)))
    scale = float(np.sqrt(np.mean(ref**2))) or 1.0
    return {
        "layer": name,
        "shape": f"{w.shape[1]}->{w.shape[0]}, {x.shape[2]}x{x.shape[3]}, pad {pad}",
        "outputs": int(d.size),
        "rms_output_lsb": _r(scale, 1),
        "direct_vs_float_max_lsb": _r(np.abs(d - ref).max()),
        "direct_vs_float_rms_lsb": _r(np.sqrt(np.mean((d - ref) ** 2))),
        "winograd_vs_float_max_lsb": _r(np.abs(wg - ref).max()),
        "winograd_vs_float_rms_lsb": _r(np.sqrt(np.mean((wg - ref) ** 2))),
        "winograd_vs_direct_max_lsb": int(np.abs(wg - d).max()),
        "equal_to_direct_pct": _r(100.0 * np.mean(wg == d), 1),
        "saturated_v": v_sat,
    }


def _paper_3x3(seed: int, quick: bool):
    """Random 3x3 layers with paper channel counts (synthetic weights / inputs, padding 1)."""
    from ..golden.opcount import ALEXNET_CONV
    from ..golden.synthetic import synthetic_dense

    shapes = [(s.name, s.k, s.j, s.n) for s in ALEXNET_CONV if s.m == 3]
    shapes += [("CONV3 (3x3, 32x32)", 108, 200, 32), ("CONV4 (3x3, 32x32)", 16, 512, 32)]
    if quick:
        shapes = [(n, min(k, 64), min(j, 64), min(h, 16)) for n, k, j, h in shapes[::2]]
    out = []
    for i, (name, k, j, h) in enumerate(shapes):
        layer, x = synthetic_dense("conv", ni=k, no=j, height=h, width=h, kernel=3, seed=seed + i)
        out.append((name, layer.w, x[None]))
    return out


def _error_rows(ctx, cnn, data) -> list[dict[str, Any]]:
    from ..golden.netspec import ConvLayer, run_dense

    num, group = cnn.numerics, cnn.tn
    rows = []
    images = data.images
    acts = run_dense(cnn.layers, images, num=num, group=group)
    inputs = [images] + acts
    for i, layer in enumerate(cnn.layers):
        if isinstance(layer, ConvLayer):
            rows.append(
                _error_row(
                    f"digits conv{len(rows) + 1} ({len(images)} images)",
                    inputs[i],
                    layer.w,
                    layer.b,
                    layer.pad,
                    num,
                    group,
                )
            )
    for name, w, x in _paper_3x3(ctx.seed, ctx.quick):
        rows.append(_error_row(name, x, w, None, 1, ctx.num, 16))
    return rows


F4_SHIFTS = (0, 1, 2, 3, 4)


def _f4_rows(ctx, cnn, data) -> list[dict[str, Any]]:
    """F(4x4, 3x3) in the same 16-bit formats: RMS error against float for each ``v_shift``,
    beside F(2x2, 3x3) and direct."""
    from ..golden.arith import dequantize
    from ..golden.layers import conv2d
    from ..golden.netspec import ConvLayer, run_dense
    from ..golden.winograd import fft_conv2d_float, winograd_conv2d

    num, group = cnn.numerics, cnn.tn
    acts = [data.images] + run_dense(cnn.layers, data.images, num=num, group=group)
    layers = []
    for i, la in enumerate(cnn.layers):
        if isinstance(la, ConvLayer):
            layers.append((f"digits conv{len(layers) + 1}", acts[i], la.w, la.b, num, group))
    for name, w, x in _paper_3x3(ctx.seed, True)[:2]:
        layers.append((f"{name} (reduced)", x, w, None, ctx.num, 16))
    rows = []
    for name, x, w, b, n, g in layers:
        ref = fft_conv2d_float(dequantize(x, n.act_frac), dequantize(w, n.w_frac), pad=1)
        if b is not None:
            ref = ref + dequantize(b, n.act_frac)[None, :, None, None]
        ref = ref * (1 << n.act_frac)

        def rms(y, ref=ref):
            return _r(np.sqrt(np.mean((y - ref) ** 2)))

        row: dict[str, Any] = {
            "layer": name,
            "direct_rms_lsb": rms(conv2d(x, w, b, num=n, pad=1, group=g)),
            "f2x2_rms_lsb": rms(winograd_conv2d(x, w, b, num=n, pad=1, group=g)),
        }
        for sh in F4_SHIFTS:
            y = winograd_conv2d(x, w, b, num=n, pad=1, group=g, m=4, v_shift=sh)
            row[f"f4x4_shift{sh}_rms_lsb"] = rms(y)
        rows.append(row)
    return rows


def _f4_accuracy_rows(cnn, data) -> list[dict[str, Any]]:
    """Digits CNN accuracy (golden model) with its 3x3 layers as F(4x4, 3x3) at each shift."""
    from ..golden.layers import conv2d, fc, pool2d
    from ..golden.netspec import ConvLayer, FCLayer, run_dense
    from ..golden.winograd import winograd_conv2d

    num, g = cnn.numerics, cnn.tn

    def run(conv) -> float:
        a = data.images
        for la in cnn.layers:
            if isinstance(la, ConvLayer):
                a = conv(a, la)
            elif isinstance(la, FCLayer):
                a = fc(a.reshape(a.shape[0], -1), la.w, la.b, num=num, act=la.act, group=g)
            else:
                a = pool2d(a, k=la.k, stride=la.stride, mode=la.mode, num=num)
        return _r(100 * np.mean(a.argmax(1) == data.y))

    def direct(a, la):
        return conv2d(a, la.w, la.b, num=num, pad=la.pad, act=la.act, group=g)

    assert run(direct) == _r(
        100 * np.mean(run_dense(cnn.layers, data.images, num=num, group=g)[-1].argmax(1) == data.y)
    )
    row: dict[str, Any] = {"network": "digits CNN", "direct_pct": run(direct)}
    row["f2x2_pct"] = run(
        lambda a, la: winograd_conv2d(a, la.w, la.b, num=num, pad=la.pad, act=la.act, group=g)
    )
    for sh in F4_SHIFTS:
        row[f"f4x4_shift{sh}_pct"] = run(
            lambda a, la, sh=sh: winograd_conv2d(
                a, la.w, la.b, num=num, pad=la.pad, act=la.act, group=g, m=4, v_shift=sh
            )
        )
    return [row]


def _host_port_words(tiles) -> int:
    """Host-port transfers of the tiles: one NBin / SB-row / NBout / instruction / PWL write or
    one NBout read each (one per cycle on ``diannao_top``'s host port)."""
    return sum(
        len(t.nbin_addr)
        + len(t.sb_addr)
        + len(t.nbout_addr)
        + len(t.program)
        + len(t.pwl)
        + len(t.read_addr)
        for t in tiles
    )


def _model_cycles(layer, x, config) -> tuple[int, int, int, int]:
    from ..golden.diannao_cp import program_cycles
    from ..host.diannao import compile_layer

    plan, tiles = compile_layer(layer, x, config)
    stats = [program_cycles(t.program) for t in tiles]
    return sum(s.cycles for s in stats), len(tiles), plan.host_adds, _host_port_words(tiles)


def _cycle_rows(ctx, cnn, data) -> list[dict[str, Any]]:
    from ..golden.netspec import ConvLayer, run_dense
    from ..spec.diannao import DianNaoConfig

    deep = DianNaoConfig(tn=16, nbin_depth=8192, nbout_depth=8192, sb_depth=8192, imem_depth=4096)
    configs = [("Tn 16, 8192-word buffers", deep), ("Tn 16, 64-word buffers", DianNaoConfig())]
    digits = DianNaoConfig(tn=cnn.tn)
    acts = [data.images[:1]] + run_dense(cnn.layers, data.images[:1], num=cnn.numerics, group=8)
    layers = []
    for i, layer in enumerate(cnn.layers):
        if isinstance(layer, ConvLayer):
            layers.append((f"digits conv{len(layers) + 1}", layer, acts[i], digits))
    for name, w, x in _paper_3x3(ctx.seed, ctx.quick):
        for cname, cfg in configs:
            layers.append((f"{name} [{cname}]", ConvLayer(w, None, pad=1), x, cfg))
    rows = []
    for name, layer, x, cfg in layers:
        try:
            dc, dt, _, dw = _model_cycles(dataclasses.replace(layer, conv="direct"), x, cfg)
        except ValueError:  # direct does not map (a padded K-row band wider than NBin)
            dc = dt = dw = None
        wc, wt, adds, ww = _model_cycles(dataclasses.replace(layer, conv="winograd"), x, cfg)
        rows.append(
            {
                "layer": name,
                "tn": cfg.tn,
                "direct_cycles": dc,
                "winograd_cycles": wc,
                "speedup": _r(dc / wc) if dc else None,
                "seed_claim": "~2x",
                "direct_host_tiles": dt,
                "winograd_host_tiles": wt,
                "direct_host_port_words": dw,
                "winograd_host_port_words": ww,
                "host_transform_adds": adds,
                "host_adds_per_nfu_cycle": _r(adds / wc, 1),
            }
        )
    return rows


def _digits_rtl_rows(ctx, cnn, data, limit: int | None) -> list[dict[str, Any]]:
    from ..golden.netspec import ConvLayer, run_dense
    from ..sim import diannao as api
    from ..spec.diannao import DianNaoConfig

    config = DianNaoConfig(tn=cnn.tn)
    images, labels = data.images, data.y
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    rows = []
    for mode in ("direct", "winograd"):
        layers = [
            dataclasses.replace(la, conv=mode) if isinstance(la, ConvLayer) else la
            for la in cnn.layers
        ]
        golden = run_dense(layers, images, num=cnn.numerics, group=cnn.tn)
        res = api.simulate(layers, images, config=config, simulator="verilator", progress=False)
        exact = all(np.array_equal(a, b) for a, b in zip(res.outputs, golden, strict=True))
        conv_idx = [i for i, la in enumerate(layers) if isinstance(la, ConvLayer)]
        per_layer = res.layer_cycles.mean(axis=0)
        rows.append(
            {
                "conv": mode,
                "images": len(images),
                "rtl_equals_golden": exact,
                "conv1_cycles": _r(per_layer[conv_idx[0]], 1),
                "conv2_cycles": _r(per_layer[conv_idx[1]], 1),
                "cycles_per_inference": _r(res.cycles.mean(), 1),
                "host_adds_per_inference": _r(res.host_adds.sum() / len(images), 1),
                "float_accuracy_pct": _r(100 * cnn.float_accuracy),
                "golden_accuracy_pct": _r(100 * np.mean(golden[-1].argmax(1) == labels)),
                "rtl_accuracy_pct": _r(100 * np.mean(res.y.argmax(1) == labels)),
            }
        )
    return rows


#: Reduced 3x3 layers for the RTL at Tn = 16 with the paper's 64-word buffers:
#: name -> (input maps, output maps, map side).
RTL_LAYERS = {
    "Alex-conv3 reduced (32->32, 13x13, pad 1)": (32, 32, 13),
    "CONV4-shaped reduced (16->64, 16x16, pad 1)": (16, 64, 16),
}


def _rtl_layer_rows(ctx) -> list[dict[str, Any]]:
    from ..golden.netspec import ConvLayer, run_dense
    from ..golden.synthetic import synthetic_dense
    from ..sim import diannao as api
    from ..spec.diannao import DianNaoConfig

    config = DianNaoConfig(tn=16)
    cases = []
    for i, (name, (k, j, n)) in enumerate(RTL_LAYERS.items()):
        layer, x = synthetic_dense(
            "conv", ni=k, no=j, height=n, width=n, kernel=3, seed=ctx.seed + i
        )
        for mode in ("direct", "winograd"):
            conv = ConvLayer(layer.w, None, pad=1, conv=mode)
            cases.append((name, mode, [conv], x[None]))
    results = api.simulate_cases(
        [(la, x) for _, _, la, x in cases], config=config, simulator="verilator"
    )
    rows: dict[str, dict[str, Any]] = {}
    for (name, mode, layers, x), res in zip(cases, results, strict=True):
        golden = run_dense(layers, x, num=config.numerics, group=config.tn)[-1]
        model = api.run_model(layers, x, config=config)
        row = rows.setdefault(name, {"layer": name, "tn": config.tn})
        row[f"{mode}_rtl_cycles"] = int(res.cycles.sum())
        row[f"{mode}_equals_golden"] = bool(np.array_equal(res.y, golden))
        row[f"{mode}_cycles_equal_model"] = bool(
            np.array_equal(res.layer_cycles, model.layer_cycles)
        )
    for row in rows.values():
        row["speedup"] = _r(row["direct_rtl_cycles"] / row["winograd_rtl_cycles"])
        row["seed_claim"] = "~2x"
    return list(rows.values())


def section_winograd(ctx: BenchContext) -> Section:
    """Issue 25's section (the module docstring lists its tables)."""
    sec = Section("winograd", TITLE)
    from ..golden.models import digits_cnn, digits_data
    from ..golden.opcount import paper_shapes

    shapes = paper_shapes()
    sec.tables["opcount"] = _opcount_rows(shapes)
    sec.tables["kernel_sweep"] = _sweep_rows(shapes)
    cnn = digits_cnn(8)
    data = digits_data(cnn.numerics)
    sec.tables["error"] = _error_rows(ctx, cnn, data)
    sec.tables["f4x4_error"] = _f4_rows(ctx, cnn, data)
    sec.tables["f4x4_accuracy"] = _f4_accuracy_rows(cnn, data)
    sec.tables["cycles"] = _cycle_rows(ctx, cnn, data)
    ctx.checkpoint(sec)
    sec.notes += [
        "Seed claim (Dally, NIPS 2015 tutorial, 'Better algorithms'): FFT convolution costs "
        "4KJN^2 + C(K+J)(2N^2 log N) instead of KJM^2N^2, and FFT / Winograd are '~2x faster "
        "for 3x3 convolutions, ~25x for 11x11'. 'opcount' counts real multiplies (and all "
        "operations) with accelgen.golden.opcount: FFT C = 2 multiplies / 3 adds per butterfly "
        "unit (radix-2 complex), N = the padded input side, filters transformed offline; "
        "Winograd F(2x2, r x r), whose transforms for r > 3 are counted as dense products; "
        "strided layers (Alex-conv1) computed at stride 1 by FFT / Winograd. Speed-up = direct / "
        "algorithm. 'kernel_sweep' gives the multiply speed-up of the same layers with 3x3, 5x5, "
        "11x11 kernels (stride 1, same padding).",
        "'error': outputs in output LSBs (2^-act_frac) against the float convolution of the same "
        "fixed-point inputs and weights (computed by FFT, bias added, no activation); "
        "'saturated_v' counts Winograd input-transform values that saturated. Digits rows use "
        "the test images and the golden activations of the previous layers. 'f4x4_error': "
        "F(4x4, 3x3) (golden model only) in the same 16-bit formats, RMS error against float "
        "for input-transform shifts v_shift = 0..4 (V scaled down, U up by 2^v_shift), beside "
        "F(2x2, 3x3) and direct; 'winograd_f4_speedup_mults' in 'opcount' is its multiply "
        "count (F(4x4, 3x3) for 3x3 kernels, dense-transform upper bound otherwise).",
        "'cycles': DianNao compiler + control-processor cycle model (exactly the RTL's counters, "
        "as the tests check); host load time not counted, as in the 'diannao' section. Winograd "
        "mode moves the input / output transforms to the host: 'host_transform_adds' (32 adds "
        "per 4x4 tile and input channel, 24 + 4 (bias) per tile and output channel) is host work "
        "not in the cycles; 'host_adds_per_nfu_cycle' is what a host must sustain to keep up. "
        "'host_port_words': the tiles' host-port transfers (NBin, SB rows, NBout, instructions "
        "written, NBout words read; one per cycle on the core's port), not in the cycles either: "
        "Winograd mode writes 16 NBin words per 2x2 tile and channel word and reads 16 NBout "
        "words per tile and output word. "
        "'-': the direct mapping does not fit the buffers (three padded input rows wider than "
        "NBin), Winograd mode still maps.",
    ]
    if ctx.quick:
        sec.skipped.append("digits CNN on the RTL in both modes: skipped by --quick")
        return sec
    try:
        sec.tables["rtl_layers"] = _rtl_layer_rows(ctx)
        sec.notes.append(
            "'rtl_layers': reduced 3x3 layers (synthetic weights and inputs) on the generated RTL "
            "(Verilator, Tn = 16, the paper's 64-word buffers) in both modes: cycles from the "
            "core's counters, outputs vs the golden model, counters vs the cycle model."
        )
    except Exception as e:  # a failed RTL run must not lose the results before it
        sec.skipped.append(f"FAILED: reduced layers on the RTL: {str(e).splitlines()[0]}")
    ctx.checkpoint(sec)
    try:
        sec.tables["digits_rtl"] = _digits_rtl_rows(ctx, cnn, data, None)
        sec.notes.append(
            "'digits_rtl': every test image through the generated RTL (Verilator, Tn = 8, "
            "64-word buffers), direct and Winograd mode; cycles per inference from the core's "
            "counters (mean), accuracy from the RTL outputs."
        )
    except Exception as e:  # a failed RTL run must not lose the results before it
        sec.skipped.append(f"FAILED: digits CNN on the RTL: {str(e).splitlines()[0]}")
    return sec
