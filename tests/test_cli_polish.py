"""The command line's small courtesies: the compile spinner and the hint after a run."""

from __future__ import annotations

import io
import time

from sim import cli
from sim.cli.kernels import _Spinner
from tests.test_cli_errors import write_scenario


def test_spinner_in_a_log_prints_each_stage_once(monkeypatch):
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    spinner = _Spinner("Compiling the numba kernels (first run only)")
    spinner.set_stage("before start: not shown")
    spinner.start()
    spinner.set_stage("the starting population")
    time.sleep(0.3)
    spinner.set_stage("one quarter")
    spinner.stop()
    assert err.getvalue().splitlines() == ["Compiling the numba kernels (first run only)...",
                                           "  the starting population", "  one quarter"]


def test_spinner_on_a_terminal_turns_and_counts(monkeypatch):
    err = io.StringIO()
    err.isatty = lambda: True
    monkeypatch.setattr("sys.stderr", err)
    spinner = _Spinner("Compiling")
    spinner.start()
    spinner.set_stage("one quarter")
    time.sleep(0.7)
    spinner.stop()
    frames = [f for f in err.getvalue().split("\r") if f.strip()]
    assert len(frames) >= 2
    assert frames[-1].startswith(("|", "/", "-", "\\"))
    assert "Compiling:" in frames[-1] and " s  one quarter" in frames[-1]
    assert err.getvalue().endswith("\r")  # the line is cleared for what follows


def test_run_suggests_plotting(tmp_path, capsys):
    path = write_scenario(tmp_path, {"s.toml": '[run]\nagents = 1000\nburn_in_quarters = 0\n'
                                               'end = "2024Q1"\nthreads = 1\n'})
    out = tmp_path / "r"
    assert cli.main(["run", str(path), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"next: sim plot {out}" in printed
