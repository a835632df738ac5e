"""The package's import graph reads top to bottom (docs/developing.md, "Layers").

The graph is built by grimp (the engine of import-linter) over a copy of the package laid out
as it is installed (``pyproject.toml`` maps the top-level folders to ``accelgen.<part>``), with
every import counted, function-level ones included and ``TYPE_CHECKING``-only ones left out.
Checked: no layer imports a layer above it, the two cores' packages never import each other,
no two modules import each other in a cycle, and the bottom layers stay free of the tools of the
layers above (``spec`` imports nothing, ``golden`` needs NumPy only).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

grimp = pytest.importorskip("grimp")

ROOT = Path(__file__).resolve().parent.parent

# Top to bottom. The command line (the modules and packages of the root package, ``cli/``) sits
# above all of them. Names joined by " | " are independent siblings.
LAYERS = (
    "accelgen.farm",
    "accelgen.cores",
    "accelgen.synth",
    "accelgen.sim",
    "accelgen.frontend",
    "accelgen.host",
    "accelgen.hdl",
    "accelgen.golden",
    "accelgen.data",
    "accelgen.spec",
)
# Inside each of these packages the EIE and DianNao parts never import each other.
CORE_SIBLINGS = ("eie", "diannao")
# Third-party packages a bottom layer must not import.
FORBIDDEN_EXTERNAL = {
    "accelgen.spec": ("numpy", "amaranth", "cocotb", "cocotb_tools"),
    "accelgen.golden": ("amaranth", "cocotb", "cocotb_tools"),
    "accelgen.hdl": ("cocotb", "cocotb_tools"),
    "accelgen.host": ("amaranth", "cocotb", "cocotb_tools"),
    "accelgen.data": ("amaranth", "cocotb", "cocotb_tools"),
    "accelgen.frontend": ("amaranth", "cocotb", "cocotb_tools"),
}


def lay_out(dest: Path) -> Path:
    """Copy the package into ``dest/accelgen`` with its installed layout; returns that folder."""
    tool = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    for package, folder in sorted(tool["package-dir"].items(), key=lambda kv: kv[0].count(".")):
        target = dest / Path(*package.split("."))
        shutil.copytree(
            ROOT / folder,
            target,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
            dirs_exist_ok=True,
        )
    return dest / "accelgen"


_PROBE = textwrap.dedent(
    """
    import json, sys
    import grimp
    g = grimp.build_graph("accelgen", include_external_packages=True,
                          exclude_type_checking_imports=True, cache_dir=None)
    edges = sorted((m, n) for m in g.modules for n in g.find_modules_directly_imported_by(m))
    json.dump({"modules": sorted(g.modules), "edges": edges}, sys.stdout)
    """
)


def import_graph(root: Path) -> tuple[set[str], set[tuple[str, str]]]:
    """Modules and direct imports of the package laid out under ``root`` (a fresh interpreter,
    so the installed copy is not the one analysed)."""
    import json

    env = {**os.environ, "PYTHONPATH": str(root)}
    out = subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    data = json.loads(out)
    return set(data["modules"]), {tuple(e) for e in data["edges"]}


def _layer_of(module: str) -> int | None:
    """Index in LAYERS (0 = top), -1 for the command line, None for third-party modules."""
    if module != "accelgen" and not module.startswith("accelgen."):
        return None
    for i, layer in enumerate(LAYERS):
        if module == layer or module.startswith(layer + "."):
            return i
    return -1


def _sibling(module: str) -> str | None:
    parts = module.split(".")
    return parts[2] if len(parts) > 2 and parts[2] in CORE_SIBLINGS else None


def violations(modules: set[str], edges: set[tuple[str, str]]) -> list[str]:
    """Every broken rule, one line each (empty when the graph is layered)."""
    out = []
    for a, b in sorted(edges):
        la, lb = _layer_of(a), _layer_of(b)
        if la is None:
            continue
        if lb is not None and b != "accelgen" and lb < la:
            out.append(f"upward import: {a} ({_name(la)}) imports {b} ({_name(lb)})")
        if lb is not None and la == lb and {_sibling(a), _sibling(b)} == set(CORE_SIBLINGS):
            out.append(f"core packages import each other: {a} imports {b}")
        if lb is None:
            top = b.split(".")[0]
            for pkg, banned in FORBIDDEN_EXTERNAL.items():
                if (a == pkg or a.startswith(pkg + ".")) and top in banned:
                    out.append(f"{a} imports {b}, which {pkg} must not need")
    out += [f"import cycle: {' -> '.join(c)}" for c in cycles(modules, edges)]
    return out


def _name(index: int) -> str:
    return "command line" if index == -1 else LAYERS[index]


def cycles(modules: set[str], edges: set[tuple[str, str]]) -> list[list[str]]:
    """Strongly connected components of more than one accelgen module (Tarjan)."""
    own = {m for m in modules if _layer_of(m) is not None}
    succ: dict[str, list[str]] = {m: [] for m in own}
    for a, b in edges:
        if a in own and b in own and a != b:
            succ[a].append(b)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in succ[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(own) + 100))
    for m in sorted(own):
        if m not in index:
            visit(m)
    return found


@pytest.fixture(scope="module")
def laid_out(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("layers")
    lay_out(root)
    return root


def test_every_layer_is_a_package(laid_out):
    modules, _ = import_graph(laid_out)
    for layer in LAYERS:
        assert layer in modules, f"{layer} is not in the package (pyproject.toml package-dir)"


def test_imports_go_down_only(laid_out):
    modules, edges = import_graph(laid_out)
    assert len([m for m in modules if m.startswith("accelgen.")]) > 60
    assert violations(modules, edges) == []


@pytest.mark.parametrize(
    ("file", "line", "expected"),
    [
        ("golden/arith.py", "from accelgen.hdl.common import arith as _up", "upward import"),
        ("spec/config.py", "import accelgen.cores", "upward import"),
        ("hdl/common/trees.py", "from accelgen.sim import runner as _up", "upward import"),
        ("sim/tb.py", "import accelgen.main", "upward import"),
        ("hdl/eie/queue.py", "import accelgen.hdl.diannao.buffers", "core packages import"),
        ("spec/numerics.py", "import numpy", "must not need"),
    ],
)
def test_check_catches_a_broken_rule(tmp_path, file, line, expected):
    """The check fails on a deliberately added upward (or sideways, or external) import."""
    pkg = lay_out(tmp_path)
    target = pkg / Path(*file.split("/"))
    target.write_text(target.read_text() + f"\n{line}  # noqa\n")
    found = violations(*import_graph(tmp_path))
    assert any(expected in v for v in found), found


def test_check_catches_a_cycle(tmp_path):
    pkg = lay_out(tmp_path)
    a, b = pkg / "golden" / "huffman.py", pkg / "golden" / "arith.py"
    b.write_text(b.read_text() + "\nfrom . import huffman as _h  # noqa\n")
    a.write_text(a.read_text() + "\nfrom . import arith as _a  # noqa\n")
    found = violations(*import_graph(tmp_path))
    assert any(v.startswith("import cycle") and "accelgen.golden.arith" in v for v in found), found
