"""Reading and writing the layer ``.npz`` files that ``accelgen sim`` and ``accelgen compress`` use.

Both formats hold one layer (plain keys) or a network (every layer key prefixed ``l0_``,
``l1_``, ... in evaluation order) plus **one** input ``x``. Fixed-point arrays are signed 16-bit
integers (any integer dtype is accepted when the values fit); floats are rejected. Unknown keys
are an error, so a misspelt key is reported instead of silently ignored. Every error is a
``ValueError`` (or ``FileNotFoundError``) whose message names the file, the key and the value.

EIE format (compressed fully-connected layers)
----------------------------------------------
========== ========================= ==================================================
key        type                      meaning
========== ========================= ==================================================
codebook   int16[16]                 shared weights, ``w_frac`` fractional bits;
                                     ``codebook[0]`` must be 0 (pruned weights)
index      uint8[out, in]            4-bit codebook index of every weight (0 = pruned)
bias       int16[out], optional      bias in activation scale (``act_frac``)
relu       bool, optional            apply ReLU to the outputs (default false)
x          int16[in] or [batch, in]  input activations (``act_frac``)
========== ========================= ==================================================

DianNao format (dense layers, ``kind`` selects the layer type)
--------------------------------------------------------------
========== ======================================== =============================================
kind       keys                                     defaults
========== ======================================== =============================================
``fc``     ``w`` int16[No, Ni], ``b`` int16[No],    ``b`` none, ``act`` ``"none"``
           ``act``
``conv``   ``w`` int16[No, Ni, K, K], ``b``,        ``stride`` 1, ``pad`` 0, ``act`` ``"none"``,
           ``stride``, ``pad``, ``act``, ``conv``       ``conv`` ``"direct"``
``pool``   ``k``, ``stride``, ``mode``              ``stride`` = ``k``, ``mode`` ``"max"``
========== ======================================== =============================================

``act`` is one of ``none``, ``relu``, ``sigmoid``, ``tanh``; ``mode`` is ``max`` or ``avg``;
``conv`` is ``direct`` or ``winograd`` (Winograd F(2x2, 3x3); 3x3 stride-1 layers only);
strings are stored as NumPy unicode scalars (``np.array("relu")``), integers as 0-d arrays.
``x`` is ``int16[Ni]``/``[batch, Ni]`` when the first layer is ``fc`` and ``int16[C, H, W]`` (or
``[batch, C, H, W]``) otherwise. An ``fc`` layer after ``conv``/``pool`` flattens its input in
``[C, H, W]`` order. The loaders check that consecutive layers' shapes agree.

Float models (the input of ``accelgen compress``): see :func:`load_float_model`.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from .arith import CODEBOOK_SIZE, check_fixed
from .layers import ACTIVATIONS, conv_output_size
from .netspec import (
    CONV_ALGORITHMS,
    ConvLayer,
    DenseLayer,
    EIELayer,
    FCLayer,
    PoolLayer,
    check_eie_chain,
)
from .winograd import winograd_unsupported

__all__ = [
    "DIANNAO_KEYS",
    "EIE_KEYS",
    "MAX_ARRAY_VALUES",
    "MAX_FILE_BYTES",
    "check_npz_headers",
    "dense_shapes",
    "load_diannao_npz",
    "load_eie_npz",
    "load_float_model",
    "read_npz",
    "save_diannao_npz",
    "save_eie_npz",
    "save_float_model",
]

EIE_KEYS = ("codebook", "index", "bias", "relu")
DIANNAO_KEYS = ("kind", "w", "b", "act", "stride", "pad", "k", "mode", "conv")
_PREFIX = re.compile(r"^l(\d+)_(.+)$")


# Input limits, checked on the .npy headers before any array is read (docs/golden.md).
MAX_ARRAY_VALUES = 1 << 27
"""Largest array a layer file may hold (values): 134 M, e.g. a dense 4096 x 32768 index."""
MAX_FILE_BYTES = 1 << 31
"""Largest total of the arrays of one file once read (bytes): 2 GiB."""


def _npy_header(src: Path, zf: zipfile.ZipFile, member: str) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype of one ``.npy`` member, from its header only."""
    fmt = np.lib.format
    try:
        with zf.open(member) as f:
            version = fmt.read_magic(f)
            if version == (1, 0):
                shape, _, dtype = fmt.read_array_header_1_0(f, max_header_size=100_000)
            else:
                shape, _, dtype = fmt.read_array_header_2_0(f, max_header_size=100_000)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, NotImplementedError) as e:
        raise ValueError(f"{src}: member {member} is not a readable .npy array ({e})") from None
    return tuple(int(d) for d in shape), np.dtype(dtype)


def check_npz_headers(path: str | Path) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """``{key: (shape, dtype)}`` of an ``.npz`` file from its headers, within the input limits.

    Nothing is allocated: a header that claims more than :data:`MAX_ARRAY_VALUES` values, or
    arrays of more than :data:`MAX_FILE_BYTES` in all, is reported before anything is read, as
    are object (pickled) arrays, duplicate members and files that are not ``.npz`` archives.
    """
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: no such file")
    if p.is_dir():
        raise ValueError(f"{p} is a folder, not an .npz file")
    if not p.is_file():
        raise ValueError(f"{p} is not a regular file (an .npz file is needed)")
    with open(p, "rb") as f:
        magic = f.read(6)
    if magic == b"\x93NUMPY":
        raise ValueError(f"{p}: holds a single .npy array, expected an .npz archive")
    if not zipfile.is_zipfile(p):
        raise ValueError(f"{p}: not an .npz file (an .npz is a zip archive of .npy arrays)")
    out: dict[str, tuple[tuple[int, ...], np.dtype]] = {}
    total = 0
    try:
        with zipfile.ZipFile(p) as zf:
            members = zf.namelist()
            for member in members:
                key = member.removesuffix(".npy")
                if key in out:
                    raise ValueError(f"{p}: holds the array {key!r} twice")
                shape, dtype = _npy_header(p, zf, member)
                if dtype.hasobject:
                    raise ValueError(
                        f"{p}: {key} holds Python objects (pickled data), not numbers; "
                        "accelgen never unpickles"
                    )
                n = 1
                for d in shape:
                    n *= d
                if n > MAX_ARRAY_VALUES:
                    raise ValueError(
                        f"{p}: {key} has shape {shape} ({n} values), more than the limit of "
                        f"{MAX_ARRAY_VALUES} values per array"
                    )
                total += n * dtype.itemsize
                if total > MAX_FILE_BYTES:
                    raise ValueError(
                        f"{p}: the arrays hold more than {MAX_FILE_BYTES} bytes in all "
                        f"({key} has shape {shape})"
                    )
                out[key] = (shape, dtype)
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise ValueError(f"{p}: not a readable .npz archive ({e})") from None
    return out


def read_npz(path: str | Path) -> dict[str, np.ndarray]:
    """Load every array of an ``.npz`` file without pickle, with a clear error if it is not one.

    The headers are checked first (:func:`check_npz_headers`), so an oversized or malformed
    file is rejected before any array is allocated.
    """
    p = Path(path)
    check_npz_headers(p)
    try:
        data = np.load(p, allow_pickle=False)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
        raise ValueError(f"{p}: not a readable .npz archive ({e})") from None
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise ValueError(f"{p}: holds a single .npy array, expected an .npz archive")
    try:
        with data:
            return {k: data[k] for k in data.files}
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
        raise ValueError(f"{p}: cannot read the .npz archive ({e})") from None


def _savez(path: str | Path, arrays: Mapping[str, np.ndarray]) -> None:
    """``np.savez`` to exactly ``path`` (NumPy appends ``.npz`` to a name given as a string)."""
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def _split_layers(
    src: str, data: Mapping[str, np.ndarray], allowed: Sequence[str]
) -> list[dict[str, np.ndarray]]:
    """Group ``data`` (minus ``x``) into per-layer dicts, checking prefixes and key names."""
    keys = [k for k in data if k != "x"]
    prefixed = {k: _PREFIX.match(k) for k in keys}
    plain = [k for k, m in prefixed.items() if m is None]
    if plain and len(plain) != len(keys):
        raise ValueError(
            f"{src}: mixes single-layer keys ({', '.join(sorted(plain))}) with network keys "
            "(l0_..., l1_...); use one or the other"
        )
    if plain or not keys:
        groups = {0: {k: data[k] for k in plain}}
    else:
        groups: dict[int, dict[str, np.ndarray]] = {}
        for k, m in sorted(prefixed.items()):
            number = m.group(1)
            if number != str(int(number)):
                raise ValueError(
                    f"{src}: key {k} has the layer prefix l{number}_; write l{int(number)}_ "
                    "(no leading zeros), so that every layer has exactly one name"
                )
            groups.setdefault(int(number), {})[m.group(2)] = data[k]
        expected = list(range(len(groups)))
        if sorted(groups) != expected:
            raise ValueError(
                f"{src}: layer prefixes must be l0_ .. l{len(groups) - 1}_ without gaps, "
                f"found layers {sorted(groups)}"
            )
    out = []
    for i in sorted(groups):
        unknown = sorted(set(groups[i]) - set(allowed))
        if unknown:
            where = "" if plain else f" (layer {i})"
            raise ValueError(
                f"{src}: unknown key(s) {', '.join(unknown)}{where}; "
                f"valid layer keys are {', '.join(allowed)} and x"
            )
        out.append(groups[i])
    return out


def _name(src: str, layer: int, key: str, network: bool) -> str:
    prefix = f"l{layer}_" if network else ""
    return f"{src}: {prefix}{key}"


def _int_array(name: str, a: np.ndarray, ndims: Sequence[int], bits: int | None = 16) -> np.ndarray:
    """``a`` checked (integer dtype, dimensions, values fit ``bits``); ``bits=None``: as is."""
    a = np.asarray(a)
    if a.dtype.kind not in "iu":
        raise TypeError(f"{name} must be an integer array (int16), got dtype {a.dtype}")
    if a.ndim not in ndims:
        dims = " or ".join(str(d) for d in ndims)
        raise ValueError(f"{name} must have {dims} dimension(s), got shape {a.shape}")
    return a if bits is None else check_fixed(a, bits, name)


def _scalar_int(name: str, a: np.ndarray, lo: int) -> int:
    a = np.asarray(a)
    if a.ndim != 0 or a.dtype.kind not in "iu":
        raise ValueError(f"{name} must be an integer scalar, got {a!r}")
    v = int(a)
    if v < lo:
        raise ValueError(f"{name} must be >= {lo}, got {v}")
    return v


def _scalar_str(name: str, a: np.ndarray, choices: Sequence[str]) -> str:
    a = np.asarray(a)
    if a.ndim != 0 or a.dtype.kind not in "US":
        raise ValueError(f"{name} must be a string scalar (one of {', '.join(choices)}), got {a!r}")
    v = str(a.item().decode() if a.dtype.kind == "S" else a.item())
    if v not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, got {v!r}")
    return v


def _scalar_bool(name: str, a: np.ndarray) -> bool:
    a = np.asarray(a)
    if a.ndim != 0 or a.dtype.kind not in "biu" or int(a) not in (0, 1):
        raise ValueError(f"{name} must be a boolean scalar, got {a!r}")
    return bool(a)


def _load_x(src: str, data: Mapping[str, np.ndarray], ndims: Sequence[int]) -> np.ndarray:
    if "x" not in data:
        raise ValueError(f"{src}: missing the input activations 'x'")
    x = _int_array(f"{src}: x", data["x"], ndims).astype(np.int16)
    if x.ndim == max(ndims) and x.shape[0] == 0:
        raise ValueError(f"{src}: x is an empty batch (shape {x.shape}); give at least one input")
    if x.size == 0:
        raise ValueError(f"{src}: x is empty (shape {x.shape})")
    return x


# --------------------------------------------------------------------------------------- EIE


def load_eie_npz(path: str | Path) -> tuple[list[EIELayer], np.ndarray]:
    """Read an EIE layer or network file (format in the module docstring).

    Returns
    -------
    layers : list of EIELayer
        In evaluation order; consecutive layers' sizes are checked to chain.
    x : numpy.ndarray
        ``int16[in]`` or ``int16[batch, in]``.

    Raises
    ------
    ValueError, TypeError, FileNotFoundError
        Naming the file, key and offending value.
    """
    src = str(path)
    data = read_npz(path)
    groups = _split_layers(src, data, EIE_KEYS)
    network = any(_PREFIX.match(k) for k in data)
    layers = []
    for i, g in enumerate(groups):
        for key in ("codebook", "index"):
            if key not in g:
                raise ValueError(f"{_name(src, i, key, network)} is missing")
        cb = _int_array(_name(src, i, "codebook", network), g["codebook"], (1,))
        if cb.shape != (CODEBOOK_SIZE,):
            raise ValueError(
                f"{_name(src, i, 'codebook', network)} must have {CODEBOOK_SIZE} entries, "
                f"got shape {cb.shape}"
            )
        if cb[0] != 0:
            raise ValueError(
                f"{_name(src, i, 'codebook', network)}[0] must be 0 (the pruned weight), "
                f"got {int(cb[0])}"
            )
        idx = _int_array(_name(src, i, "index", network), g["index"], (2,), bits=None)
        if idx.size:
            lo, hi = int(idx.min()), int(idx.max())  # in the given dtype: values as given
            if lo < 0 or hi >= CODEBOOK_SIZE:
                raise ValueError(
                    f"{_name(src, i, 'index', network)} holds {lo if lo < 0 else hi}, "
                    f"outside 0..{CODEBOOK_SIZE - 1}"
                )
        if 0 in idx.shape:
            raise ValueError(
                f"{_name(src, i, 'index', network)} has shape {idx.shape}; a layer needs at "
                "least one output and one input"
            )
        bias = None
        if "bias" in g:
            bias = _int_array(_name(src, i, "bias", network), g["bias"], (1,))
            if bias.shape != (idx.shape[0],):
                raise ValueError(
                    f"{_name(src, i, 'bias', network)} has {bias.shape[0]} entries but the layer "
                    f"has {idx.shape[0]} outputs"
                )
        relu = _scalar_bool(_name(src, i, "relu", network), g["relu"]) if "relu" in g else False
        if layers and layers[-1].shape[0] != idx.shape[1]:
            raise ValueError(
                f"{_name(src, i, 'index', network)} expects {idx.shape[1]} inputs but layer "
                f"{i - 1} has {layers[-1].shape[0]} outputs"
            )
        layers.append(EIELayer(cb, idx, bias, relu))
    x = _load_x(src, data, (1, 2))
    if x.shape[-1] != layers[0].shape[1]:
        raise ValueError(
            f"{src}: x has {x.shape[-1]} inputs (shape {x.shape}) but the first layer expects "
            f"{layers[0].shape[1]}"
        )
    return layers, x


def save_eie_npz(path: str | Path, layers: Sequence[EIELayer], x) -> None:
    """Write EIE layers and their input in the format :func:`load_eie_npz` reads.

    One layer is written with plain keys, several with ``l0_``, ``l1_``, ... prefixes.
    """
    if not layers:
        raise ValueError("save_eie_npz needs at least one layer")
    check_eie_chain(layers)
    xa = _int_array("x", x, (1, 2))
    if xa.shape[-1] != layers[0].shape[1]:
        raise ValueError(
            f"x has {xa.shape[-1]} inputs, the first layer expects {layers[0].shape[1]}"
        )
    out: dict[str, np.ndarray] = {"x": xa.astype(np.int16)}
    for i, layer in enumerate(layers):
        pre = f"l{i}_" if len(layers) > 1 else ""
        out[pre + "codebook"] = layer.codebook.astype(np.int16)
        out[pre + "index"] = layer.index.astype(np.uint8)
        if layer.bias is not None:
            out[pre + "bias"] = layer.bias.astype(np.int16)
        out[pre + "relu"] = np.array(bool(layer.relu))
    _savez(path, out)


# ------------------------------------------------------------------------------------ DianNao


def dense_shapes(layers: Sequence[DenseLayer], x_shape: Sequence[int]) -> list[tuple[int, ...]]:
    """Output shape of every layer of a dense network for an input of shape ``x_shape``.

    Batched inputs keep their leading batch axis. Raises ``ValueError`` naming the first layer
    whose input does not fit (channel or input count mismatch, window larger than the map).
    """
    shape = tuple(int(s) for s in x_shape)
    out = []
    for i, layer in enumerate(layers):
        if isinstance(layer, FCLayer):
            if len(shape) not in (1, 2, 3, 4):
                raise ValueError(f"layer {i} (fc) cannot take an input of shape {shape}")
            batched = len(shape) in (2, 4)
            n_in = int(np.prod(shape[1:] if batched else shape))
            if n_in != layer.w.shape[1]:
                raise ValueError(
                    f"layer {i} (fc) has w of shape {layer.w.shape} ({layer.w.shape[1]} inputs) "
                    f"but its input has shape {shape} ({n_in} values)"
                )
            shape = (shape[0], layer.w.shape[0]) if batched else (layer.w.shape[0],)
        elif isinstance(layer, ConvLayer | PoolLayer):
            if len(shape) not in (3, 4):
                raise ValueError(
                    f"layer {i} ({layer.kind}) needs a [C, H, W] input, got shape {shape}"
                )
            c, h, w = shape[-3:]
            if isinstance(layer, ConvLayer):
                k, stride, pad = layer.k, layer.stride, layer.pad
                if layer.w.shape[1] != c:
                    raise ValueError(
                        f"layer {i} (conv) has w of shape {layer.w.shape} ({layer.w.shape[1]} "
                        f"input channels) but its input has {c} channels (shape {shape})"
                    )
                c = layer.w.shape[0]
            else:
                k, stride, pad = layer.k, layer.stride, 0
            try:
                oh = conv_output_size(h, k, stride, pad)
                ow = conv_output_size(w, k, stride, pad)
            except ValueError as e:
                raise ValueError(f"layer {i} ({layer.kind}): {e}") from None
            shape = shape[:-3] + (c, oh, ow)
        else:
            raise TypeError(
                f"layer {i} must be an FCLayer, ConvLayer or PoolLayer, got {type(layer).__name__}"
            )
        out.append(shape)
    return out


def _dense_layer(src: str, i: int, g: Mapping[str, np.ndarray], network: bool) -> DenseLayer:
    def name(key: str) -> str:
        return _name(src, i, key, network)

    if "kind" not in g:
        raise ValueError(f"{name('kind')} is missing (one of fc, conv, pool)")
    kind = _scalar_str(name("kind"), g["kind"], ("fc", "conv", "pool"))
    allowed = {
        "fc": {"kind", "w", "b", "act"},
        "conv": {"kind", "w", "b", "act", "stride", "pad", "conv"},
        "pool": {"kind", "k", "stride", "mode"},
    }[kind]
    extra = sorted(set(g) - allowed)
    if extra:
        raise ValueError(
            f"{src}: key(s) {', '.join(extra)} do not apply to a {kind} layer"
            + (f" (layer {i})" if network else "")
        )
    if kind == "pool":
        if "k" not in g:
            raise ValueError(f"{name('k')} is missing (pooling window size)")
        k = _scalar_int(name("k"), g["k"], 1)
        stride = _scalar_int(name("stride"), g["stride"], 1) if "stride" in g else k
        mode = _scalar_str(name("mode"), g["mode"], ("max", "avg")) if "mode" in g else "max"
        return PoolLayer(k=k, stride=stride, mode=mode)
    if "w" not in g:
        raise ValueError(f"{name('w')} is missing")
    w = _int_array(name("w"), g["w"], (2,) if kind == "fc" else (4,))
    if 0 in w.shape:
        raise ValueError(f"{name('w')} has shape {w.shape}; every dimension must be at least 1")
    if kind == "conv" and w.shape[2] != w.shape[3]:
        raise ValueError(f"{name('w')} must have a square kernel [No, Ni, K, K], got {w.shape}")
    b = None
    if "b" in g:
        b = _int_array(name("b"), g["b"], (1,))
        if b.shape != (w.shape[0],):
            raise ValueError(f"{name('b')} has {b.shape[0]} entries but w has {w.shape[0]} outputs")
    act = _scalar_str(name("act"), g["act"], ACTIVATIONS) if "act" in g else "none"
    if kind == "fc":
        return FCLayer(w, b, act)
    stride = _scalar_int(name("stride"), g["stride"], 1) if "stride" in g else 1
    pad = _scalar_int(name("pad"), g["pad"], 0) if "pad" in g else 0
    conv = _scalar_str(name("conv"), g["conv"], CONV_ALGORITHMS) if "conv" in g else "direct"
    if conv == "winograd":
        why = winograd_unsupported(w.shape[2], stride)
        if why is not None:
            raise ValueError(f"{name('conv')}: {why}" + (f" (layer {i})" if network else ""))
    return ConvLayer(w, b, stride=stride, pad=pad, act=act, conv=conv)


def load_diannao_npz(path: str | Path) -> tuple[list[DenseLayer], np.ndarray]:
    """Read a DianNao layer or network file (format in the module docstring).

    Returns
    -------
    layers : list of FCLayer, ConvLayer, PoolLayer
        In evaluation order; the shapes are checked to chain (:func:`dense_shapes`).
    x : numpy.ndarray
        ``int16`` input, ``[Ni]``/``[batch, Ni]`` or ``[C, H, W]``/``[batch, C, H, W]``.
    """
    src = str(path)
    data = read_npz(path)
    groups = _split_layers(src, data, DIANNAO_KEYS)
    network = any(_PREFIX.match(k) for k in data)
    layers = [_dense_layer(src, i, g, network) for i, g in enumerate(groups)]
    first_fc = isinstance(layers[0], FCLayer)
    x = _load_x(src, data, (1, 2) if first_fc else (3, 4))
    try:
        dense_shapes(layers, x.shape)
    except ValueError as e:
        raise ValueError(f"{src}: {e}") from None
    return layers, x


def save_diannao_npz(path: str | Path, layers: Sequence[DenseLayer], x) -> None:
    """Write dense layers and their input in the format :func:`load_diannao_npz` reads."""
    if not layers:
        raise ValueError("save_diannao_npz needs at least one layer")
    xa = _int_array("x", x, (1, 2, 3, 4))
    dense_shapes(layers, xa.shape)
    out: dict[str, np.ndarray] = {"x": xa.astype(np.int16)}
    for i, layer in enumerate(layers):
        pre = f"l{i}_" if len(layers) > 1 else ""
        out[pre + "kind"] = np.array(layer.kind)
        if isinstance(layer, PoolLayer):
            out[pre + "k"] = np.array(layer.k)
            out[pre + "stride"] = np.array(layer.stride)
            out[pre + "mode"] = np.array(layer.mode)
            continue
        out[pre + "w"] = layer.w.astype(np.int16)
        if layer.b is not None:
            out[pre + "b"] = layer.b.astype(np.int16)
        out[pre + "act"] = np.array(layer.act)
        if isinstance(layer, ConvLayer):
            out[pre + "stride"] = np.array(layer.stride)
            out[pre + "pad"] = np.array(layer.pad)
            if layer.conv != "direct":
                out[pre + "conv"] = np.array(layer.conv)
    _savez(path, out)


# ---------------------------------------------------------------------------- float MLP models


def load_float_model(
    path: str | Path,
) -> tuple[list[tuple[np.ndarray, np.ndarray | None]], np.ndarray | None]:
    """Read a float fully-connected model (the input of ``accelgen compress``).

    Keys: ``w0``, ``w1``, ... float ``[out, in]`` (float32 in the files we write; any float dtype
    is accepted), optional ``b0``, ``b1``, ... float ``[out]``, optional ``x`` float ``[in]`` or
    ``[batch, in]`` (an input to pass through the compressed model). Layer ``i + 1`` must take
    ``w_i.shape[0]`` inputs.

    Returns
    -------
    layers : list of (w, b)
        ``float64`` arrays; ``b`` is ``None`` when absent.
    x : numpy.ndarray or None
    """
    src = str(path)
    data = read_npz(path)
    pat = re.compile(r"^([wb])(\d+)$")
    unknown = sorted(k for k in data if k != "x" and not pat.match(k))
    if unknown:
        raise ValueError(
            f"{src}: unknown key(s) {', '.join(unknown)}; expected w0, b0, w1, b1, ... and x"
        )
    ws = sorted(int(pat.match(k).group(2)) for k in data if k.startswith("w") and pat.match(k))
    if not ws:
        raise ValueError(f"{src}: no weight matrices (keys w0, w1, ...)")
    if ws != list(range(len(ws))):
        raise ValueError(f"{src}: weight keys must be w0 .. w{len(ws) - 1} without gaps, got {ws}")
    for k in data:
        m = pat.match(k)
        if m and m.group(1) == "b" and int(m.group(2)) not in ws:
            raise ValueError(f"{src}: {k} has no matching w{m.group(2)}")

    def floats(key: str, ndims: Sequence[int]) -> np.ndarray:
        a = np.asarray(data[key])
        if a.dtype.kind != "f":
            raise TypeError(f"{src}: {key} must be a float array (float32), got dtype {a.dtype}")
        if a.ndim not in ndims:
            dims = " or ".join(str(d) for d in ndims)
            raise ValueError(f"{src}: {key} must have {dims} dimension(s), got shape {a.shape}")
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{src}: {key} holds NaN or infinite values")
        return a.astype(np.float64)

    layers: list[tuple[np.ndarray, np.ndarray | None]] = []
    for i in ws:
        w = floats(f"w{i}", (2,))
        if w.size == 0:
            raise ValueError(f"{src}: w{i} is empty (shape {w.shape})")
        if layers and w.shape[1] != layers[-1][0].shape[0]:
            raise ValueError(
                f"{src}: w{i} has shape {w.shape} ({w.shape[1]} inputs) but w{i - 1} has "
                f"{layers[-1][0].shape[0]} outputs"
            )
        b = None
        if f"b{i}" in data:
            b = floats(f"b{i}", (1,))
            if b.shape != (w.shape[0],):
                raise ValueError(
                    f"{src}: b{i} has shape {b.shape} but w{i} has {w.shape[0]} outputs"
                )
        layers.append((w, b))
    x = None
    if "x" in data:
        x = floats("x", (1, 2))
        if x.shape[-1] != layers[0][0].shape[1]:
            raise ValueError(
                f"{src}: x has {x.shape[-1]} inputs (shape {x.shape}) but w0 expects "
                f"{layers[0][0].shape[1]}"
            )
    return layers, x


def save_float_model(
    path: str | Path, layers: Sequence[tuple[np.ndarray, np.ndarray | None]], x=None
) -> None:
    """Write a float model in the format :func:`load_float_model` reads (float32)."""
    out: dict[str, np.ndarray] = {}
    for i, (w, b) in enumerate(layers):
        out[f"w{i}"] = np.asarray(w, dtype=np.float32)
        if b is not None:
            out[f"b{i}"] = np.asarray(b, dtype=np.float32)
    if x is not None:
        out["x"] = np.asarray(x, dtype=np.float32)
    _savez(path, out)
