"""The writer of the EIE authors' simulator's input files (``accelgen bench --authors-sim``).

The simulator itself is not part of the project: the end-to-end test runs only when
``ACCELGEN_AUTHORS_SIM`` names a checkout of it (and is slow: one g++ build per layer).
"""

import os
from pathlib import Path

import numpy as np
import pytest

from accelgen import main
from accelgen.bench import authors_sim
from accelgen.bench.eie_uarch import AUTHORS_MEASURED, scaled_layer
from accelgen.golden.eie_cycles import layer_run
from accelgen.golden.eie_format import encode


def test_inputs_in_the_simulators_format(tmp_path):
    # PE 0 (rows 0, 2, 4): column 0 local rows 0 and 2 (z = 0, then 1), column 2 local row
    # 0; PE 1 (rows 1, 3, 5): column 1 local row 1 (z = 1)
    idx = np.zeros((6, 3), dtype=np.uint8)
    idx[0, 0], idx[4, 0], idx[0, 2], idx[3, 1] = 5, 6, 7, 9
    enc = encode(idx, 2)
    x = np.array([3, 0, -4], dtype=np.int16)
    authors_sim.write_inputs(tmp_path, enc, x, np.arange(16), fifo_depth=8)
    # pointers: columns padded to a multiple of N (4), then the empty bias column
    p0 = np.fromfile(tmp_path / "data/ptr/ptr0.dat", dtype=np.uint32)
    p1 = np.fromfile(tmp_path / "data/ptr/ptr1.dat", dtype=np.uint32)
    assert p0.tolist() == [0, 2, 2, 3, 3, 3]  # local rows 0 and 2 in column 0, row 0 in 2
    assert p1.tolist() == [0, 0, 1, 1, 1, 1]  # local row 1 in column 1
    # entries: (code, relative row index) pairs of uint32
    s0 = np.fromfile(tmp_path / "data/spm/spm0.dat", dtype=np.uint32)
    assert s0.tolist() == [5, 0, 6, 1, 7, 0]
    assert np.fromfile(tmp_path / "data/spm/spm1.dat", dtype=np.uint32).tolist() == [9, 1]
    act = np.fromfile(tmp_path / "data/act.dat", dtype=np.float32)
    assert act.tolist() == [3 / 256, 0.0, 4 / 256]  # a non-zero is a positive float there
    params = (tmp_path / "src/params.h").read_text()
    for line in (
        "NUM_PE = 2;",
        "NZFETCH_buffersize = 8;",
        "PTRVEC_num_lines = 6;",
        "ACT_length = 3;",
        "ACTRW_maxcapacity = 6;",
    ):
        assert line in params


def test_bad_authors_sim_path(tmp_path, capsys):
    out = tmp_path / "b"
    assert main.main(["bench", "--authors-sim", str(tmp_path), "-o", str(out)]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(tmp_path) in err[0] and "src/" in err[0]
    assert not out.exists()


@pytest.mark.slow
@pytest.mark.skipif(
    not os.environ.get("ACCELGEN_AUTHORS_SIM"), reason="ACCELGEN_AUTHORS_SIM not set"
)
def test_authors_sim_measures_the_stored_figures():
    sim = authors_sim.check_authors_sim(Path(os.environ["ACCELGEN_AUTHORS_SIM"]))
    s = scaled_layer("NT-We", 1)
    enc = encode(s.layer.index, 8)
    theirs = authors_sim.run_authors_sim(sim, enc, s.x, s.layer.codebook, fifo_depth=8)
    assert theirs == AUTHORS_MEASURED[("NT-We", False)]
    # their run and ours differ by the pipeline fill/drain only
    assert abs(layer_run(enc, s.x != 0, fifo_depth=8)[0] - theirs) < 20
