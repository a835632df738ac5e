"""The papers' numbers in golden/paper.py agree with docs/papers.md and with themselves."""

import re
from pathlib import Path

import pytest

from accelgen.golden import paper

PAPERS = Path(__file__).resolve().parents[2] / "docs" / "papers.md"


def _table_rows(text: str, first: str) -> list[list[str]]:
    rows = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0].startswith(first) and not set(cells[0]) <= {"-"}:
            rows.append(cells)
    return rows


def test_eie_table_matches_the_docs():
    rows = _table_rows(PAPERS.read_text(), ("Alex", "VGG", "NT-"))
    assert [r[0] for r in rows] == [layer.name for layer in paper.EIE_TABLE3]
    for cells, layer in zip(rows, paper.EIE_TABLE3, strict=True):
        n_in, n_out = (int(v) for v in cells[1].split("x"))
        theo, actual = (float(v) for v in cells[4].split("/"))
        assert (n_in, n_out) == (layer.inputs, layer.outputs)
        assert float(cells[2].rstrip(" %")) == layer.weight_pct
        assert float(cells[3].rstrip(" %")) == layer.act_pct
        assert (theo, actual) == (layer.theoretical_us, layer.actual_us)
        assert float(cells[5].rstrip(" %")) == layer.efficiency_pct


def test_diannao_table_matches_the_docs():
    text = PAPERS.read_text()
    rows = _table_rows(text, ("CONV", "POOL", "CLASS"))
    assert [r[0] for r in rows] == [layer.name for layer in paper.DIANNAO_TABLE2]
    for cells, layer in zip(rows, paper.DIANNAO_TABLE2, strict=True):
        size = [int(v) for v in cells[1].split("x")]
        assert size == ([layer.height] if layer.kind == "class" else [layer.height, layer.width])
        if layer.kind != "class":
            assert [int(v) for v in cells[2].split("x")] == [layer.kernel] * 2
        assert (int(cells[3]), int(cells[4].split()[0])) == (layer.ni, layer.no)
        assert layer.private_kernels == ("private" in "|".join(cells[4:]))
    assert re.search(r"452 GOP/s at 0\.98 GHz", text)


def test_eie_efficiency_is_theoretical_over_actual():
    # Table IV's efficiency column is theoretical / actual time: a transcription check.
    for layer in paper.EIE_TABLE3:
        assert layer.theoretical_us < layer.actual_us
        assert layer.theoretical_us / layer.actual_us * 100 == pytest.approx(
            layer.efficiency_pct, abs=0.6
        ), layer.name
        assert layer.actual_cycles == pytest.approx(layer.actual_us * 800)


def test_sensitivity_points_are_ordered():
    fifo = [p for p in paper.EIE_FIFO_SENSITIVITY if p.efficiency_pct is not None]
    assert [p.x for p in paper.EIE_FIFO_SENSITIVITY] == [1, 2, 4, 8, 16, 32]
    assert all(a.efficiency_pct <= b.efficiency_pct for a, b in zip(fifo, fifo[1:], strict=False))
    pes = paper.EIE_PE_SENSITIVITY
    assert all(a.efficiency_pct > b.efficiency_pct for a, b in zip(pes, pes[1:], strict=False))


def test_diannao_peak_is_below_the_multiply_add_bound():
    bound = 2 * paper.DIANNAO_TN**2 * paper.DIANNAO_FREQ_GHZ
    assert paper.DIANNAO_PEAK_GOPS <= bound
    assert paper.diannao_layer("CLASS1").macs == 960 * 20
    assert paper.diannao_layer("CONV3").output_size == (29, 29)
    assert paper.diannao_layer("POOL3").macs == 0


def test_unknown_layer_names_the_valid_ones():
    with pytest.raises(ValueError, match="'Alex-9'.*Alex-6"):
        paper.eie_layer("Alex-9")
    with pytest.raises(ValueError, match="'CONV9'.*CONV1"):
        paper.diannao_layer("CONV9")
