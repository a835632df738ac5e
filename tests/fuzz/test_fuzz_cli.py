"""The project's own fuzz suite: bad input through every command, in process.

Every case runs ``accelgen.main.main([...])`` and asserts the bad-input contract: a non-zero
exit status, exactly one ``error:`` line on stderr that names the offending value, no
traceback, nothing written at ``-o`` (an existing ``-o`` left unchanged), and no simulator,
synthesis tool or Verilog generation started (they are replaced by tripwires here). The
explicit cases come first; the hypothesis tests at the end add generated junk files, configs
and field values.
"""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accelgen import main as cli

# ------------------------------------------------------------------------------- harness


class Tripwire(AssertionError):
    """A rejected input reached a simulator, a tool or the Verilog generator."""


@pytest.fixture(autouse=True)
def _tripwires(monkeypatch):
    """Anything slow or with side effects fails the test instead of running."""
    import dataclasses

    from accelgen.cores import registry
    from accelgen.sim import runner
    from accelgen.synth import flow, lint

    def trip(what):
        def fail(*args, **kwargs):
            raise Tripwire(f"{what} started for a rejected input")

        return fail

    monkeypatch.setattr(runner, "run_cocotb", trip("a cocotb simulation"))
    monkeypatch.setattr(flow, "run_synth", trip("synthesis"))
    monkeypatch.setattr(lint, "lint_component", trip("lint"))
    for key, core in list(registry._REGISTRY.items()):
        safe = dataclasses.replace(
            core,
            generate_verilog=trip(f"{core.name} Verilog generation"),
            simulate=trip(f"{core.name} simulation"),
        )
        monkeypatch.setitem(registry._REGISTRY, key, safe)
    monkeypatch.delenv("ACCELGEN_DEBUG", raising=False)


def run(argv: list[str], capsys) -> tuple[int, str]:
    try:
        code = cli.main([str(a) for a in argv])
    except SystemExit as e:  # argparse
        code = e.code
    captured = capsys.readouterr()
    return code, captured.err


def snapshot(path: Path):
    if not path.exists():
        return None
    if path.is_file():
        return ("file", path.read_bytes())
    return (
        "dir",
        sorted((p.relative_to(path).as_posix(), p.stat().st_size) for p in path.rglob("*")),
    )


def check_rejected(argv, needle, capsys, out: Path | None, code: int = 2):
    """Run ``argv``; assert the one-line rejection naming ``needle``, nothing at ``out``."""
    before = snapshot(out) if out is not None else None
    rc, err = run(argv, capsys)
    assert "Traceback" not in err, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, f"expected one error line, got:\n{err}"
    assert "error:" in lines[0], lines[0]
    assert str(needle) in lines[0], f"{needle!r} not named in: {lines[0]}"
    assert rc == code, (rc, lines[0])
    if out is not None:
        assert snapshot(out) == before, f"{out} changed"
        leftovers = [p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]
        assert not leftovers, leftovers


# ------------------------------------------------------------------------------- inputs


@pytest.fixture
def files(tmp_path):
    """Valid and invalid input files shared by the cases (built lazily by name)."""
    return Inputs(tmp_path)


class Inputs:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, name: str) -> Path:
        return self.root / name

    def npz(self, name: str, **arrays) -> Path:
        p = self.root / name
        np.savez(p, **arrays)
        return p

    def raw(self, name: str, data: bytes) -> Path:
        p = self.root / name
        p.write_bytes(data)
        return p

    def json(self, name: str, obj) -> Path:
        return self.raw(name, json.dumps(obj).encode())


CB = np.arange(16, dtype=np.int16) * 10
IDX = np.ones((4, 8), np.uint8)
X8 = np.arange(8, dtype=np.int16)


def _huge_header_npz(path: Path, key: str = "x", shape=(1 << 40,)) -> Path:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": "<i2", "fortran_order": False, "shape": shape}
    )
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{key}.npy", buf.getvalue())
    return path


# EIE layer files: name -> (arrays or builder, needle)
EIE_FILES = {
    "codebook0": (dict(codebook=CB + 3, index=IDX, x=X8), "got 3"),
    "codebook-len": (dict(codebook=CB[:15], index=IDX, x=X8), "shape (15,)"),
    "codebook-float": (dict(codebook=CB * 1.0, index=IDX, x=X8), "float64"),
    "codebook-range": (
        dict(codebook=np.r_[0, np.full(15, 40000)].astype(np.int32), index=IDX, x=X8),
        "40000",
    ),
    "index-u64": (
        dict(codebook=CB, index=np.full((4, 8), 2**64 - 1, np.uint64), x=X8),
        "18446744073709551615",
    ),
    "index-16": (dict(codebook=CB, index=np.full((4, 8), 16, np.uint8), x=X8), "holds 16"),
    "index-neg": (dict(codebook=CB, index=np.full((4, 8), -1, np.int8), x=X8), "holds -1"),
    "index-1d": (dict(codebook=CB, index=np.ones(8, np.uint8), x=X8), "shape (8,)"),
    "index-empty": (dict(codebook=CB, index=np.ones((0, 8), np.uint8), x=X8), "(0, 8)"),
    "x-missing": (dict(codebook=CB, index=IDX), "'x'"),
    "x-float": (dict(codebook=CB, index=IDX, x=X8 * 1.0), "float64"),
    "x-width": (dict(codebook=CB, index=IDX, x=np.ones(7, np.int16)), "7 inputs"),
    "x-empty-batch": (dict(codebook=CB, index=IDX, x=np.ones((0, 8), np.int16)), "empty batch"),
    "x-range": (
        dict(codebook=CB, index=IDX, x=np.full(8, 2**63, np.uint64)),
        "9223372036854775808",
    ),
    "x-3d": (dict(codebook=CB, index=IDX, x=np.ones((1, 1, 8), np.int16)), "(1, 1, 8)"),
    "bias-len": (dict(codebook=CB, index=IDX, bias=np.ones(3, np.int16), x=X8), "3 entries"),
    "relu-2": (dict(codebook=CB, index=IDX, relu=np.array(2), x=X8), "relu"),
    "unknown-key": (dict(codebook=CB, index=IDX, x=X8, wieght=np.ones(1)), "wieght"),
    "mixed-keys": (dict(codebook=CB, l0_index=IDX, x=X8), "mixes"),
    "prefix-gap": (
        dict(l0_codebook=CB, l0_index=IDX, l2_codebook=CB, l2_index=IDX, x=X8),
        "[0, 2]",
    ),
    "prefix-dup": (
        dict(l0_codebook=CB, l0_index=IDX, l00_codebook=CB, l00_index=IDX, x=X8),
        "l00_",
    ),
    "chain": (
        dict(
            l0_codebook=CB, l0_index=IDX, l1_codebook=CB, l1_index=np.ones((2, 5), np.uint8), x=X8
        ),
        "expects 5 inputs",
    ),
    "object": (dict(codebook=CB, index=IDX, x=np.array([{"a": 1}], dtype=object)), "pickled"),
    "too-many-outputs": (
        dict(codebook=CB, index=np.ones((70000, 2), np.uint8), x=np.ones(2, np.int16)),
        "70000",
    ),
}

# DianNao layer files
FC_W = np.ones((4, 8), np.int16)
CONV_W = np.ones((2, 3, 3, 3), np.int16)
XC = np.ones((3, 8, 8), np.int16)
DN_FILES = {
    "kind-bogus": (dict(kind=np.array("dense"), w=FC_W, x=X8), "'dense'"),
    "kind-missing": (dict(w=FC_W, x=X8), "kind is missing"),
    "kind-int": (dict(kind=np.array(3), w=FC_W, x=X8), "kind"),
    "fc-w-float": (dict(kind=np.array("fc"), w=FC_W * 1.5, x=X8), "float64"),
    "fc-w-range": (dict(kind=np.array("fc"), w=FC_W.astype(np.int32) * 40000, x=X8), "40000"),
    "fc-w-empty": (dict(kind=np.array("fc"), w=np.ones((0, 8), np.int16), x=X8), "(0, 8)"),
    "fc-inputs": (dict(kind=np.array("fc"), w=FC_W, x=np.ones(9, np.int16)), "9 values"),
    "fc-act": (dict(kind=np.array("fc"), w=FC_W, act=np.array("gelu"), x=X8), "'gelu'"),
    "fc-b-len": (dict(kind=np.array("fc"), w=FC_W, b=np.ones(5, np.int16), x=X8), "5 entries"),
    "fc-stride": (dict(kind=np.array("fc"), w=FC_W, stride=np.array(2), x=X8), "stride"),
    "fc-empty-batch": (
        dict(kind=np.array("fc"), w=FC_W, x=np.ones((0, 8), np.int16)),
        "empty batch",
    ),
    "conv-kernel": (
        dict(kind=np.array("conv"), w=np.ones((2, 3, 3, 2), np.int16), x=XC),
        "(2, 3, 3, 2)",
    ),
    "conv-stride0": (dict(kind=np.array("conv"), w=CONV_W, stride=np.array(0), x=XC), "got 0"),
    "conv-pad-neg": (dict(kind=np.array("conv"), w=CONV_W, pad=np.array(-1), x=XC), "got -1"),
    "conv-channels": (
        dict(kind=np.array("conv"), w=CONV_W, x=np.ones((4, 8, 8), np.int16)),
        "4 channels",
    ),
    "conv-window": (dict(kind=np.array("conv"), w=np.ones((2, 3, 9, 9), np.int16), x=XC), "9"),
    "conv-x-2d": (dict(kind=np.array("conv"), w=CONV_W, x=np.ones((8, 8), np.int16)), "(8, 8)"),
    "conv-stride-float": (dict(kind=np.array("conv"), w=CONV_W, stride=np.array(1.5), x=XC), "1.5"),
    "pool-k-missing": (dict(kind=np.array("pool"), x=XC), "k is missing"),
    "pool-k0": (dict(kind=np.array("pool"), k=np.array(0), x=XC), "got 0"),
    "pool-mode": (dict(kind=np.array("pool"), k=np.array(2), mode=np.array("min"), x=XC), "'min'"),
    "pool-w": (dict(kind=np.array("pool"), k=np.array(2), w=FC_W, x=XC), "do not apply"),
    "pool-big": (dict(kind=np.array("pool"), k=np.array(20), x=XC), "20"),
    "net-chain": (
        dict(l0_kind=np.array("fc"), l0_w=FC_W, l1_kind=np.array("fc"), l1_w=FC_W, x=X8),
        "4 values",
    ),
    "unknown-key": (dict(kind=np.array("fc"), w=FC_W, x=X8, bogus=np.ones(1)), "bogus"),
}

JUNK_FILES = {
    "text": (b"hello, not an npz\n", "not an .npz file"),
    "empty": (b"", "not an .npz file"),
    "npy": (None, "single .npy array"),
    "bad-zip": (b"PK\x03\x04 truncated", "not an .npz file"),
    "zip-not-npy": (None, "not a readable .npy"),
    "huge-header": (None, "1099511627776"),
    "dup-member": (None, "twice"),
}


def _junk(files: Inputs, kind: str) -> Path:
    data, _ = JUNK_FILES[kind]
    p = files.path(f"junk-{kind}.npz")
    if kind == "npy":
        with open(p, "wb") as f:
            np.save(f, np.ones(3))
    elif kind == "zip-not-npy":
        with zipfile.ZipFile(p, "w") as zf:
            zf.writestr("x.npy", b"not an array header")
    elif kind == "huge-header":
        _huge_header_npz(p)
    elif kind == "dup-member":
        buf = io.BytesIO()
        np.save(buf, np.ones(2, np.int16))
        with zipfile.ZipFile(p, "w") as zf:
            zf.writestr("x.npy", buf.getvalue())
            with pytest.warns(UserWarning):
                zf.writestr("x.npy", buf.getvalue())
    else:
        p.write_bytes(data)
    return p


# ------------------------------------------------------------------------------- cases: -o


def _dir_commands(files: Inputs) -> dict[str, list]:
    model = files.npz("model.npz", w0=np.ones((4, 8), np.float32))
    return {
        "generate-eie": ["generate", "eie", "--pes", "1"],
        "generate-diannao": ["generate", "diannao", "--tn", "2"],
        "compress": ["compress", model],
        "synth": ["synth", "mac", "--target", "generic", "--no-pnr"],
        "lint": ["lint", "mac"],
        "demo": ["demo", "--images", "1"],
        "bench": ["bench", "--quick"],
        "explore": ["explore", _explore_spec(files), "--workers", "0"],
        "regress": ["regress", "--cases", "2", "--workers", "0"],
    }


def _explore_spec(files: Inputs) -> Path:
    spec = files.root / "spec.toml"
    spec.write_text(
        'core = "eie"\n[workload]\n'
        "synthetic = [{ inputs = 8, outputs = 8, weight_density = 0.5, act_density = 0.5 }]\n"
        "[grid]\nn_pes = [1, 2]\n"
    )
    return spec


def _file_commands(files: Inputs) -> dict[str, list]:
    eie = files.npz("eie.npz", codebook=CB, index=IDX, x=X8)
    dn = files.npz("dn.npz", kind=np.array("fc"), w=FC_W, x=X8)
    return {"sim-eie": ["sim", "eie", eie, "--pes", "1"], "sim-diannao": ["sim", "diannao", dn]}


DIR_COMMANDS = [
    "generate-eie",
    "generate-diannao",
    "compress",
    "synth",
    "lint",
    "demo",
    "bench",
    "explore",
    "regress",
]
FILE_COMMANDS = ["sim-eie", "sim-diannao"]


@pytest.mark.parametrize("command", DIR_COMMANDS)
@pytest.mark.parametrize("where", ["existing-file", "under-a-file", "unwritable", "empty"])
def test_output_folder_rejected(command, where, files, capsys):
    argv = _dir_commands(files)[command]
    (files.root / "afile").write_text("keep")
    target, needle, out = {
        "existing-file": (files.root / "afile", "afile is an existing file", files.root / "afile"),
        "under-a-file": (files.root / "afile" / "sub", "afile is a file", files.root / "afile"),
        "unwritable": ("/proc/accelgen-fuzz", "/proc", None),
        "empty": ("", "output path is empty", None),
    }[where]
    flag = "--out" if command in ("compress", "demo") else "-o"
    check_rejected([*argv, flag, target], needle, capsys, out)


@pytest.mark.parametrize("command", FILE_COMMANDS)
@pytest.mark.parametrize(
    "where", ["existing-folder", "missing-folder", "under-a-file", "unwritable", "empty"]
)
def test_output_file_rejected(command, where, files, capsys):
    argv = _file_commands(files)[command]
    (files.root / "afile").write_text("keep")
    (files.root / "adir").mkdir()
    target, needle, out = {
        "existing-folder": (files.root / "adir", "adir is an existing folder", files.root / "adir"),
        "missing-folder": (files.root / "nodir" / "y.npz", "nodir does not exist", None),
        "under-a-file": (files.root / "afile" / "y.npz", "afile is a file", files.root / "afile"),
        "unwritable": ("/proc/accelgen-fuzz.npz", "/proc", None),
        "empty": ("", "output path is empty", None),
    }[where]
    check_rejected([*argv, "-o", target], needle, capsys, out)


@pytest.mark.parametrize("where", ["existing-file", "under-a-file", "unwritable", "empty"])
def test_onnx_import_output_rejected(where, files, capsys):
    (files.root / "afile").write_text("keep")
    target, needle, out = {
        "existing-file": (files.root / "afile", "afile exists", files.root / "afile"),
        "under-a-file": (files.root / "afile" / "sub", "afile is a file", files.root / "afile"),
        "unwritable": ("/proc/accelgen-fuzz", "/proc", None),
        "empty": ("", "output path is empty", None),
    }[where]
    argv = ["import", files.path("model.onnx"), "--core", "eie", "-o", target]
    check_rejected(argv, needle, capsys, out)


@pytest.mark.parametrize(
    "where", ["existing-folder", "missing-folder", "under-a-file", "unwritable", "empty"]
)
def test_onnx_run_output_rejected(where, files, capsys):
    (files.root / "afile").write_text("keep")
    (files.root / "adir").mkdir()
    target, needle, out = {
        "existing-folder": (files.root / "adir", "adir is an existing folder", files.root / "adir"),
        "missing-folder": (files.root / "nodir" / "y.npz", "nodir does not exist", None),
        "under-a-file": (files.root / "afile" / "y.npz", "afile is a file", files.root / "afile"),
        "unwritable": ("/proc/accelgen-fuzz.npz", "/proc", None),
        "empty": ("", "output path is empty", None),
    }[where]
    model, data = files.path("model.onnx"), files.path("data.npz")
    argv = ["run", model, "--core", "eie", "--inputs", data, "-o", target]
    check_rejected(argv, needle, capsys, out)


# ------------------------------------------------------------------------------- cases: layers


@pytest.mark.parametrize("case", list(EIE_FILES))
def test_bad_eie_layer_file(case, files, capsys):
    arrays, needle = EIE_FILES[case]
    path = files.npz(f"{case}.npz", **arrays)
    out = files.path("y.npz")
    check_rejected(["sim", "eie", path, "-o", out, "--pes", "1"], needle, capsys, out)


@pytest.mark.parametrize("case", list(DN_FILES))
def test_bad_diannao_layer_file(case, files, capsys):
    arrays, needle = DN_FILES[case]
    path = files.npz(f"{case}.npz", **arrays)
    out = files.path("y.npz")
    check_rejected(["sim", "diannao", path, "-o", out], needle, capsys, out)


@pytest.mark.parametrize("command", ["sim-eie", "sim-diannao", "compress"])
@pytest.mark.parametrize("kind", list(JUNK_FILES))
def test_junk_input_file(command, kind, files, capsys):
    path = _junk(files, kind)
    needle = JUNK_FILES[kind][1]
    if command == "compress":
        out = files.path("c")
        argv = ["compress", path, "-o", out]
    else:
        out = files.path("y.npz")
        argv = ["sim", command.split("-")[1], path, "-o", out]
    check_rejected(argv, needle, capsys, out)


@pytest.mark.parametrize("command", ["sim-eie", "sim-diannao", "compress"])
@pytest.mark.parametrize("kind", ["missing", "folder"])
def test_input_path_not_a_file(command, kind, files, capsys):
    path = files.path("nope.npz") if kind == "missing" else files.root
    needle = "no such file" if kind == "missing" else "is a folder"
    if command == "compress":
        out = files.path("c")
        argv = ["compress", path, "-o", out]
    else:
        out = files.path("y.npz")
        argv = ["sim", command.split("-")[1], path, "-o", out]
    check_rejected(argv, needle, capsys, out)


# ------------------------------------------------------------------------------- cases: configs

CONFIG_FILES = {
    "not-utf8": (b"\xff\xfe{}", "not UTF-8"),
    "not-json": (b"{n_pes: 4", "not valid JSON"),
    "list": (b"[1, 2]", "must be an object"),
    "unknown": (b'{"bogus_field": 1}', "bogus_field"),
    "bad-type": (b'{"acc_bits": "24"}', "'24'"),
    "bad-value": (b'{"acc_bits": 7}', "7"),
    "deep": (b"[" * 50000 + b"]" * 50000, "not valid JSON"),
    "nan": (b'{"acc_bits": NaN}', "nan"),
}


@pytest.mark.parametrize(
    "command", ["generate-eie", "generate-diannao", "sim-eie", "synth-eie", "compress"]
)
@pytest.mark.parametrize("case", [*CONFIG_FILES, "folder", "missing"])
def test_bad_config_file(command, case, files, capsys):
    if case == "folder":
        cfg, needle = files.root, "is a folder"
    elif case == "missing":
        cfg, needle = files.path("nope.json"), "nope.json"
    else:
        data, needle = CONFIG_FILES[case]
        cfg = files.raw(f"{case}.json", data)
    out = files.path("out")
    if command.startswith("generate"):
        argv = ["generate", command.split("-")[1], "--config", cfg, "-o", out]
    elif command == "sim-eie":
        layer = files.npz("eie.npz", codebook=CB, index=IDX, x=X8)
        out = files.path("y.npz")
        argv = ["sim", "eie", layer, "--config", cfg, "-o", out]
    elif command == "synth-eie":
        argv = ["synth", "eie", "--config", cfg, "-o", out]
    else:
        model = files.npz("model.npz", w0=np.ones((4, 8), np.float32))
        argv = ["compress", model, "--eie-config", cfg, "-o", out]
    check_rejected(argv, needle, capsys, out)


# ------------------------------------------------------------------------------- cases: flags

EIE_FLAGS = [
    ("--pes", "3"),
    ("--pes", "0"),
    ("--pes", "512"),
    ("--pes", "-4"),
    ("--pes", "abc"),
    ("--n-pes", "1.5"),
    ("--fifo-depth", "0"),
    ("--fifo-depth", "65"),
    ("--acc-bits", "16"),
    ("--act-frac", "-1"),
    ("--act-frac", "16"),
    ("--w-frac", "16"),
    ("--w-bits", "17"),
    ("--act-bits", "33"),
    ("--regfile-depth", "0"),
    ("--regfile-depth", "4097"),
    ("--spmat-words", "8192"),
    ("--ptr-depth", "1"),
    ("--ptr-depth", "65537"),
    ("--max-layers", "0"),
    ("--max-layers", "65"),
    ("--skip-empty", "maybe"),
]
DN_FLAGS = [
    ("--lfsr-seed", "0"),
    ("--lfsr-taps", "3"),
    ("--lfsr-width", "65"),
    ("--alpha-frac", "33"),
    ("--tn", "3"),
    ("--tn", "32"),
    ("--tn", "1"),
    ("--nbin-depth", "3"),
    ("--nbout-depth", "65537"),
    ("--sb-depth", "0"),
    ("--imem-depth", "1"),
    ("--imem-depth", "4097"),
    ("--pwl-segments", "3"),
    ("--act-frac", "0"),
    ("--act-bits", "17"),
    ("--acc-bits", "25"),
    ("--double-buffer", "perhaps"),
    ("--sb-depth", "65536"),  # valid config, beyond the generation budget (tn = 16)
    ("--nbin-depth", "x"),
]


@pytest.mark.parametrize("flag, value", EIE_FLAGS)
@pytest.mark.parametrize("command", ["generate", "sim"])
def test_bad_eie_flag(command, flag, value, files, capsys):
    if command == "generate":
        out = files.path("out")
        argv = ["generate", "eie", flag, value, "-o", out]
    else:
        out = files.path("y.npz")
        layer = files.npz("eie.npz", codebook=CB, index=IDX, x=X8)
        argv = ["sim", "eie", layer, flag, value, "-o", out]
    check_rejected(argv, value, capsys, out)


@pytest.mark.parametrize("flag, value", DN_FLAGS)
def test_bad_diannao_flag(flag, value, files, capsys):
    out = files.path("out")
    check_rejected(["generate", "diannao", flag, value, "-o", out], value, capsys, out)


def test_weight_update_checks_the_update_formats(files, capsys):
    out = files.path("out")
    argv = ["generate", "diannao", "--weight-update", "--g-frac", "16", "-o", out]
    check_rejected(argv, "16", capsys, out)
    argv = ["generate", "diannao", "--weight-update", "--lfsr-width", "16", "--lfsr-taps", "46080"]
    argv += ["-o", out]
    check_rejected(argv, "lfsr_width=16", capsys, out)


def test_double_buffer_needs_even_depths(files, capsys):
    out = files.path("out")
    argv = ["generate", "diannao", "--double-buffer", "--nbin-depth", "63", "-o", out]
    check_rejected(argv, "63", capsys, out)


COMPRESS_CASES = [
    (["--pes", "3"], "--pes 3"),
    (["--pes", "0"], "--pes 0"),
    (["--pes", "1024"], "1024"),
    (["--density", "0"], "0.0"),
    (["--density", "1.5"], "1.5"),
    (["--density", "abc"], "abc"),
    (["--density", "nan"], "nan"),
    (["--density", "0.1,0.2"], "2 values"),
    (["--w-frac", "16"], "16"),
    (["--act-frac", "-1"], "-1"),
    (["--w-frac", "x"], "'x'"),
]


@pytest.mark.parametrize("extra, needle", COMPRESS_CASES)
def test_bad_compress_option(extra, needle, files, capsys):
    model = files.npz("model.npz", w0=np.ones((4, 8), np.float32))
    out = files.path("c")
    check_rejected(["compress", model, *extra, "-o", out], needle, capsys, out)


COMPRESS_MODELS = {
    "weight-saturates": (dict(w0=np.array([[12.0, 0.5], [0.25, 0.1]], np.float32)), "12"),
    "bias-saturates": (
        dict(w0=np.full((2, 2), 0.5, np.float32), b0=np.array([200.0, 0], np.float32)),
        "200",
    ),
    "x-saturates": (
        dict(w0=np.full((2, 2), 0.5, np.float32), x=np.array([1e6, 0], np.float32)),
        "1e+06",
    ),
    "int-weights": (dict(w0=np.ones((2, 2), np.int16)), "int16"),
    "nan": (dict(w0=np.array([[np.nan, 1]], np.float32)), "NaN"),
    "gap": (dict(w0=np.ones((2, 2), np.float32), w2=np.ones((2, 2), np.float32)), "[0, 2]"),
    "chain": (dict(w0=np.ones((3, 2), np.float32), w1=np.ones((2, 4), np.float32)), "4 inputs"),
    "orphan-bias": (dict(w0=np.ones((2, 2), np.float32), b1=np.ones(2, np.float32)), "b1"),
    "unknown": (dict(w0=np.ones((2, 2), np.float32), weights=np.ones(2)), "weights"),
    "no-weights": (dict(x=np.ones(2, np.float32)), "no weight"),
    "empty": (dict(w0=np.ones((0, 2), np.float32)), "(0, 2)"),
}


@pytest.mark.parametrize("case", list(COMPRESS_MODELS))
def test_bad_compress_model(case, files, capsys):
    arrays, needle = COMPRESS_MODELS[case]
    model = files.npz(f"{case}.npz", **arrays)
    out = files.path("c")
    check_rejected(["compress", model, "--density", "1", "-o", out], needle, capsys, out)


def test_compress_network_too_big_for_eie_config(files, capsys):
    model = files.npz("model.npz", w0=np.ones((4, 8), np.float32))
    cfg = files.json("small.json", {"n_pes": 1, "ptr_depth": 4})
    out = files.path("c")
    argv = ["compress", model, "--eie-config", cfg, "-o", out]
    check_rejected(argv, "ptr_depth is 4", capsys, out)


def test_compress_flag_disagrees_with_eie_config(files, capsys):
    model = files.npz("model.npz", w0=np.ones((4, 8), np.float32))
    cfg = files.json("c.json", {"n_pes": 2})
    out = files.path("c")
    argv = ["compress", model, "--eie-config", cfg, "--pes", "4", "-o", out]
    check_rejected(argv, "--pes 4", capsys, out)


SYNTH_CASES = [
    (["eie", "--package", "BOGUS"], "'BOGUS'"),
    (["eie", "--device", "99k"], "'99k'"),
    (["eie", "--target", "ice40", "--device", "85k"], "'85k'"),
    (["eie", "--target", "fpga"], "'fpga'"),
    (["eie", "--freq", "0"], "0.0"),
    (["eie", "--freq", "-5"], "-5"),
    (["eie", "--freq", "nan"], "nan"),
    (["eie", "--freq", "5000"], "5000"),
    (["eie", "--seed", "0"], "0"),
    (["eie", "--pnr-timeout", "-1"], "-1"),
    (["eie", "--set", "junk"], "'junk'"),
    (["eie", "--set", "n_pes=3"], "3"),
    (["eie", "--set", "bogus=1"], "bogus"),
    (["diannao", "--set", "sb_depth=65536"], "65536"),
    (["mac", "--set", "n_pes=2"], "'mac'"),
    (["nonesuch"], "'nonesuch'"),
    (["eie", "--default-set"], "--default-set"),
    ([], "DESIGN"),
    (["eie", "--io", "wide"], "'wide'"),
    (["eie", "--router", "router3"], "'router3'"),
]


@pytest.mark.parametrize("extra, needle", SYNTH_CASES)
def test_bad_synth_option(extra, needle, files, capsys):
    out = files.path("s")
    check_rejected(["synth", *extra, "-o", out], needle, capsys, out)


DEMO_CASES = [
    (["--pes", "3"], "3"),
    (["--tn", "3"], "3"),
    (["--images", "0"], "0"),
    (["--images", "100000"], "100000"),
    (["--chunks", "0"], "0"),
    (["--jobs", "0"], "0"),
    (["--clock-mhz", "0"], "0.0"),
    (["--clock-mhz", "nan"], "nan"),
    (["--simulator", "vcs"], "'vcs'"),
]


@pytest.mark.parametrize("extra, needle", DEMO_CASES)
def test_bad_demo_option(extra, needle, files, capsys):
    out = files.path("d")
    check_rejected(["demo", *extra, "-o", out], needle, capsys, out)


@pytest.mark.parametrize(
    "extra, needle", [(["--seed", "-1"], "-1"), (["--only", "nonesuch"], "'nonesuch'")]
)
def test_bad_bench_option(extra, needle, files, capsys):
    out = files.path("b")
    check_rejected(["bench", *extra, "-o", out], needle, capsys, out)


def test_bad_lint_design(files, capsys):
    out = files.path("l")
    check_rejected(["lint", "nonesuch", "-o", out], "'nonesuch'", capsys, out)


def test_unknown_command_and_core(capsys):
    check_rejected(["frobnicate"], "'frobnicate'", capsys, None)
    check_rejected(["generate", "tpu", "-o", "x"], "'tpu'", capsys, None)


# ------------------------------------------------------------------------------- generated

_SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@_SETTINGS
@given(data=st.binary(max_size=600))
def test_generated_junk_layer_files(data, capsys):
    """Random bytes (and random bytes behind a zip or npy header) as a layer file."""
    with tempfile.TemporaryDirectory() as d:
        for prefix in (b"", b"PK\x03\x04", b"\x93NUMPY\x01\x00"):
            path = Path(d) / "junk.npz"
            path.write_bytes(prefix + data)
            out = Path(d) / "y.npz"
            rc, err = run(["sim", "eie", path, "-o", out, "--pes", "1"], capsys)
            assert rc == 2 and "Traceback" not in err
            assert len(err.strip().splitlines()) == 1 and "junk.npz" in err
            assert not out.exists()


_INVALID_INT = {
    "n_pes": st.integers(-(2**70), 2**70).filter(
        lambda v: not (1 <= v <= 256 and v & (v - 1) == 0)
    ),
    "fifo_depth": st.integers(-(2**70), 2**70).filter(lambda v: not 1 <= v <= 64),
    "regfile_depth": st.integers(-(2**70), 2**70).filter(lambda v: not 1 <= v <= 4096),
    "spmat_words": st.integers(-(2**70), 2**70).filter(lambda v: not 1 <= v <= 8191),
    "ptr_depth": st.integers(-(2**70), 2**70).filter(lambda v: not 2 <= v <= 65536),
    "max_layers": st.integers(-(2**70), 2**70).filter(lambda v: not 1 <= v <= 64),
}


@_SETTINGS
@given(field=st.sampled_from(sorted(_INVALID_INT)), data=st.data())
def test_generated_invalid_eie_fields(field, data, capsys):
    value = data.draw(_INVALID_INT[field])
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "out"
        flag = "--" + field.replace("_", "-")
        check_rejected(["generate", "eie", flag, str(value), "-o", out], str(value), capsys, out)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@_SETTINGS
@given(
    obj=st.dictionaries(st.sampled_from(["n_pes", "fifo_depth", "acc_bits", "junk"]), _JSON) | _JSON
)
def test_generated_config_files(obj, capsys):
    """Random JSON as an EIE config: a one-line error (the config, or else the missing model
    behind it), never a traceback."""
    with tempfile.TemporaryDirectory() as d:
        cfg = Path(d) / "cfg.json"
        cfg.write_text(json.dumps(obj))
        out = Path(d) / "c"
        argv = ["compress", Path(d) / "missing-model.npz", "--eie-config", cfg, "-o", out]
        rc, err = run(argv, capsys)
        assert rc == 2 and "Traceback" not in err, err
        assert len(err.strip().splitlines()) == 1, err
        assert "cfg.json" in err or "missing-model.npz" in err, err
        assert not out.exists()


@_SETTINGS
@given(
    shape=st.lists(st.integers(0, 5), min_size=0, max_size=4),
    dtype=st.sampled_from(["u1", "i2", "i8", "u8", "f4", "b1", "U3"]),
    key=st.sampled_from(["x", "index", "codebook", "bias", "relu", "l0_x", "w"]),
)
def test_generated_eie_arrays(shape, dtype, key, capsys):
    """One array of random shape and dtype replaced in a valid EIE layer file."""
    arrays = {"codebook": CB, "index": np.ones((4, 8), np.uint8), "x": X8}
    arrays[key] = np.zeros(shape, dtype=dtype)
    # dimensions are at most 5, so a replaced x (8 inputs), index (8 columns) or codebook (16
    # entries) never fits; only a bias of 4 integers or an integer / boolean relu scalar would
    # make a valid file (it would simulate): skip those
    integer = dtype[0] in "iub" if key == "relu" else dtype[0] in "iu"
    if integer and ((key == "bias" and shape == [4]) or (key == "relu" and shape == [])):
        return
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "layer.npz"
        np.savez(path, **arrays)
        out = Path(d) / "y.npz"
        rc, err = run(["sim", "eie", path, "-o", out, "--pes", "1"], capsys)
        assert rc == 2 and "Traceback" not in err, err
        assert len(err.strip().splitlines()) == 1, err
        assert not out.exists()


def test_case_count():
    """The explicit cases alone are at least 150 (the generated ones come on top)."""
    import inspect
    import sys

    mod = sys.modules[__name__]
    count = 0
    for name, fn in inspect.getmembers(mod, inspect.isfunction):
        marks = getattr(fn, "pytestmark", [])
        if not name.startswith("test_") or not marks:
            continue
        n = 1
        for m in marks:
            if m.name == "parametrize":
                n *= len(m.args[1])
        count += n
    assert count >= 150, count


def test_tripwire_catches_a_valid_run(files, capsys):
    """The harness itself: a valid input reaches the (replaced) simulator, so a rejected case
    that started one would fail."""
    layer = files.npz("eie.npz", codebook=CB, index=IDX, x=X8)
    with pytest.raises(Tripwire):
        cli.main(["sim", "eie", str(layer), "-o", str(files.path("y.npz")), "--pes", "1"])
    with pytest.raises(Tripwire):
        cli.main(["generate", "eie", "--pes", "1", "-o", str(files.path("g"))])
    assert not files.path("g").exists() and not files.path("y.npz").exists()
