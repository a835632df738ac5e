"""Winograd F(2x2, 3x3) golden model: transforms (exhaustive on small inputs), the convolution
against the float and the direct fixed-point convolution, the float FFT convolution, the
op-count model, and the ``conv`` choice of layers and network files."""

import itertools

import numpy as np
import pytest

from accelgen.golden import opcount
from accelgen.golden.arith import Numerics, dequantize, smax, smin
from accelgen.golden.layers import conv2d
from accelgen.golden.netspec import ConvLayer, PoolLayer, run_dense
from accelgen.golden.npzformat import load_diannao_npz, save_diannao_npz
from accelgen.golden.winograd import (
    fft_conv2d_float,
    filter_transform,
    input_tiles,
    input_transform,
    output_transform,
    winograd_conv2d,
)

NUM = Numerics()


def _float_conv(x, w, pad):
    """Plain float cross-correlation, stride 1 (independent of the code under test)."""
    x = np.pad(np.asarray(x, dtype=np.float64), ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    b, c, h, wd = x.shape
    o, _, k, _ = w.shape
    y = np.zeros((b, o, h - k + 1, wd - k + 1))
    for i in range(h - k + 1):
        for j in range(wd - k + 1):
            y[:, :, i, j] = np.einsum("bcuv,ocuv->bo", x[:, :, i : i + k, j : j + k], w)
    return y


# Lavin & Gray's F(2x2, 3x3) written out entry by entry (not through the matrices); the entries
# may be NumPy arrays, so one call checks a whole set of tiles.
def _bt_rows(d):  # B^T d for one 4-vector
    return [d[0] - d[2], d[1] + d[2], d[2] - d[1], d[1] - d[3]]


def _at_rows(m):  # A^T m
    return [m[0] + m[1] + m[2], m[1] - m[2] - m[3]]


def _g2_rows(g):  # 2 G g (integers)
    return [2 * g[0], g[0] + g[1] + g[2], g[0] - g[1] + g[2], 2 * g[2]]


def _two_sided(f, a):
    """``F a F^T`` for the row map ``f`` (``f(v) = F v``) of ``a[N, r, r]`` -> ``[N, n, n]``."""
    r = a.shape[-1]
    left = np.stack(f([a[:, i, :] for i in range(r)]), axis=1)  # F a: [N, n, r]
    return np.stack(f([left[:, :, j] for j in range(r)]), axis=2)  # (F a) F^T


def _binary_tiles():
    return ((np.arange(1 << 16)[:, None] >> np.arange(16)) & 1).reshape(-1, 4, 4)


def test_input_transform_exhaustive_on_binary_tiles():
    tiles = _binary_tiles()
    got = input_transform(tiles, num=NUM)
    assert (got == _two_sided(_bt_rows, tiles)).all()
    assert got.min() == -2 and got.max() == 4


def test_input_transform_saturates_to_act_bits():
    d = np.full((1, 4, 4), smax(16))
    d[0, 0, 2] = d[0, 2, 0] = smin(16)
    exact = _two_sided(_bt_rows, d)
    assert (exact > smax(16)).any() and (exact < smin(16)).any()  # really saturates
    assert (input_transform(d, num=NUM) == np.clip(exact, smin(16), smax(16))).all()


def test_filter_transform_exhaustive_on_ternary_kernels():
    """Every kernel with entries in {-1, 0, 1} (scaled, odd: the rounding matters), and the
    saturating extremes."""
    kernels = np.array(list(itertools.product((-1, 0, 1), repeat=9))).reshape(-1, 3, 3)
    for g in (kernels * 1025, kernels * smax(16)):
        exact4 = _two_sided(_g2_rows, g)  # 4 U exactly
        want = np.clip(np.floor_divide(exact4 + 2, 4), smin(16), smax(16))  # round half up
        assert (filter_transform(g, num=NUM) == want).all()
    one = filter_transform(np.array([[[1, 1, 1], [1, 1, 1], [1, 1, 1]]]), num=NUM)
    assert one[0, 1, 1] == 2 and one[0, 0, 0] == 1  # 9/4 -> 2, 1 -> 1
    assert filter_transform(np.array([[[1, 0, 0], [0, 0, 0], [0, 2, 0]]]), num=NUM)[0, 1, 1] == 1


def test_output_transform_exhaustive_on_binary_tiles():
    m = _binary_tiles()
    assert (output_transform(m) == _two_sided(_at_rows, m)).all()


def test_transforms_compute_a_3x3_correlation_in_float_terms():
    """B^T, G, A^T compose to the exact 2x2 correlation of a 4x4 tile (integer check)."""
    rng = np.random.default_rng(0)
    d = rng.integers(-50, 50, (20, 4, 4))
    g = 4 * rng.integers(-50, 50, (20, 3, 3))  # multiples of 4: U is exact
    num0 = Numerics(w_frac=0)
    u = filter_transform(g, num=num0)
    y = output_transform(u * input_transform(d, num=num0))  # [20, 2, 2]
    for i in range(20):
        want = _float_conv(d[i][None, None], g[i][None, None], 0)[0, 0]
        assert (y[i] == want.astype(np.int64)).all()


def test_input_tiles_cover_odd_sizes_with_zero_padding():
    x = np.arange(1, 1 + 2 * 5 * 7).reshape(1, 2, 5, 7)
    t = input_tiles(x, 1)  # oh, ow = 5, 7 -> 3 x 4 tiles of 4x4
    assert t.shape == (1, 2, 3, 4, 4, 4)
    assert t[0, 1, 0, 0, 1, 1] == x[0, 1, 0, 0]
    assert t[0, 0, 2, 3, 3, 3] == 0  # the extra bottom-right padding


@pytest.mark.parametrize("h, w, pad", [(5, 5, 0), (7, 6, 1), (4, 9, 1), (3, 3, 2)])
def test_exact_when_no_rounding_and_no_saturation(h, w, pad):
    """w_frac = 0, filters multiples of 4: every step is exact, so Winograd == direct."""
    rng = np.random.default_rng(h * 10 + w)
    num = Numerics(w_frac=0, acc_bits=32)
    x = rng.integers(-20, 20, (2, 5, h, w))  # |V| <= 80, |U| <= 90: no product saturates
    wt = 4 * rng.integers(-10, 10, (3, 5, 3, 3))
    b = rng.integers(-100, 100, 3)
    want = conv2d(x, wt, b, num=num, pad=pad, group=4)
    got = winograd_conv2d(x, wt, b, num=num, pad=pad, group=4)
    assert (got == want).all()
    assert (got == _float_conv(x, wt, pad).astype(np.int64) + b[None, :, None, None]).all()


@pytest.mark.parametrize("seed", range(4))
def test_error_against_float_is_within_the_rounding_bound(seed):
    rng = np.random.default_rng(seed)
    c, o = int(rng.integers(1, 12)), int(rng.integers(1, 6))
    x = rng.integers(-2000, 2000, (1, c, 6, 7))
    w = rng.integers(-3000, 3000, (o, c, 3, 3))
    y = winograd_conv2d(x, w, num=NUM, pad=1, group=4)
    ref = _float_conv(dequantize(x, 8), dequantize(w, 12), 1) * 256
    v_max = 4 * np.abs(x).max()
    # per M entry: c products rounded (0.5 LSB) + U rounded (0.5 LSB_w times |V|); 9 M per output
    bound = 9 * c * (0.5 + v_max / 2 ** (NUM.w_frac + 1)) + 0.5
    assert np.abs(y - ref).max() <= bound
    direct = conv2d(x, w, num=NUM, pad=1, group=4)
    assert np.abs(y - direct).max() <= bound + 9 * c * 0.5


def test_group_order_and_run_dense_dispatch():
    rng = np.random.default_rng(5)
    x = rng.integers(-2000, 2000, (2, 6, 5, 5))
    w = rng.integers(-3000, 3000, (4, 6, 3, 3))
    layer = ConvLayer(w, None, pad=1, act="relu", conv="winograd")
    got = run_dense([layer], x, num=NUM, group=4)[0]
    assert (got == winograd_conv2d(x, w, num=NUM, pad=1, act="relu", group=4)).all()
    # a saturating accumulator: the group order is visible in the result
    big = np.full((1, 300, 3, 3), smax(16))
    wb = np.full((1, 300, 3, 3), smax(16))
    g1 = winograd_conv2d(big, wb, num=NUM, group=1)
    assert g1.shape == (1, 1, 1, 1) and g1[0, 0, 0, 0] in (smin(16), smax(16))


def test_fft_convolution_matches_float_direct():
    rng = np.random.default_rng(1)
    for k, pad in ((3, 1), (5, 0), (11, 2)):
        x = rng.normal(size=(2, 3, 14, 13))
        w = rng.normal(size=(4, 3, k, k))
        assert np.allclose(fft_conv2d_float(x, w, pad=pad), _float_conv(x, w, pad), atol=1e-9)


@pytest.mark.parametrize("k, stride", [(5, 1), (3, 2), (1, 1)])
def test_winograd_rejected_for_other_kernels_and_strides(k, stride):
    with pytest.raises(ValueError, match=f"3x3 stride-1 .* {k}x{k} with stride {stride}"):
        ConvLayer(np.zeros((2, 2, k, k), dtype=np.int16), stride=stride, conv="winograd")
    with pytest.raises(ValueError, match="conv must be one of"):
        ConvLayer(np.zeros((2, 2, 3, 3), dtype=np.int16), conv="fft")


def test_network_file_conv_key_round_trips_and_is_checked(tmp_path):
    rng = np.random.default_rng(2)
    layers = [
        ConvLayer(rng.integers(-9, 9, (2, 3, 3, 3)), pad=1, conv="winograd"),
        PoolLayer(2, 2),
        ConvLayer(rng.integers(-9, 9, (2, 2, 3, 3)), pad=1),
    ]
    path = tmp_path / "net.npz"
    save_diannao_npz(path, layers, rng.integers(-9, 9, (3, 6, 6)))
    loaded, _ = load_diannao_npz(path)
    assert [getattr(la, "conv", None) for la in loaded] == ["winograd", None, "direct"]
    data = dict(np.load(path))
    data["l0_w"] = rng.integers(-9, 9, (2, 3, 5, 5)).astype(np.int16)
    bad = tmp_path / "bad.npz"
    np.savez(bad, **data)
    with pytest.raises(ValueError, match=r"bad.npz: l0_conv: Winograd .* 5x5 .*\(layer 0\)"):
        load_diannao_npz(bad)


def test_opcount_reproduces_the_seed_formulas():
    s = opcount.ConvShape("t", 32, 3, 16, 8)
    assert opcount.direct_ops(s).mults == 16 * 8 * 9 * 30 * 30
    assert opcount.fft_ops(s).mults == 4 * 16 * 8 * 32 * 32 + 2 * (16 + 8) * 2 * 32 * 32 * 5
    assert opcount.winograd_ops(s).mults == 16 * 8 * 16 * 15 * 15
    assert opcount.winograd_ops(s).adds == 16 * 8 * 16 * 225 + 32 * 225 * 16 + 24 * 225 * 8
    # strided layers: FFT and Winograd compute every stride-1 output
    s4 = opcount.ConvShape("s", 35, 11, 3, 4, stride=4)
    assert opcount.direct_ops(s4).mults == 3 * 4 * 121 * 7 * 7
    # 11x11 transforms have general coefficients: counted as dense products (upper bound)
    t_in, t_out = 2 * 12**3 * 169 * 3, (2 * 144 + 4 * 12) * 169 * 4
    assert opcount.winograd_ops(s4).mults == 3 * 4 * 144 * 13 * 13 + t_in + t_out
    names = [s.name for s in opcount.paper_shapes()]
    assert names[:5] == ["CONV1", "CONV2", "CONV3", "CONV4", "CONV5"] and "Alex-conv1" in names


@pytest.mark.parametrize("h, w, pad", [(6, 6, 0), (9, 7, 1), (3, 5, 1)])
def test_f4x4_exact_when_no_rounding_and_no_saturation(h, w, pad):
    """F(4x4, 3x3) with 32-bit formats, w_frac = 0 and filters multiples of 576 (= 24^2): every
    step is exact, so it equals the direct convolution and the float one."""
    rng = np.random.default_rng(h + w)
    num = Numerics(act_bits=32, act_frac=8, w_bits=32, w_frac=0, acc_bits=32)
    x = rng.integers(-50, 50, (1, 3, h, w))
    wt = 576 * rng.integers(-3, 4, (2, 3, 3, 3))
    want = _float_conv(x, wt, pad).astype(np.int64)
    got = winograd_conv2d(x, wt, num=num, pad=pad, group=2, m=4)
    assert (got == want).all()
    assert (got == conv2d(x, wt, num=num, pad=pad, group=2)).all()


def test_f4x4_shift_keeps_the_scale_and_is_checked():
    rng = np.random.default_rng(3)
    x = rng.integers(-500, 500, (1, 4, 8, 8))
    w = rng.integers(-3000, 3000, (3, 4, 3, 3))
    ref = _float_conv(dequantize(x, 8), dequantize(w, 12), 1) * 256
    for s in (0, 2):
        y = winograd_conv2d(x, w, num=NUM, pad=1, group=4, m=4, v_shift=s)
        assert np.sqrt(np.mean((y - ref) ** 2)) < 0.2 * np.sqrt(np.mean(ref**2))
    with pytest.raises(ValueError, match="v_shift must be an integer in 0..16"):
        winograd_conv2d(x, w, num=NUM, m=4, v_shift=-1)
    with pytest.raises(ValueError, match="output tile m must be 2"):
        winograd_conv2d(x, w, num=NUM, m=3)
