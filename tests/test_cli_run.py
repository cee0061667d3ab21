"""End to end through ``python -m sim``: validate, run, run folder contents, plot.

One small scenario (5,000 SMEs, 2 burn-in quarters, 2024Q1-2024Q4) is run twice in
subprocesses, exactly as a user would (``sim run`` warms the numba kernels itself: the
first run compiles them if the disk cache is cold, later ones load them).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import sim
from sim.columns import LENDER_COLUMNS, QUARTERLY_COLUMNS
from sim.quarters import parse_quarter, quarter_label
from sim.results import PANEL_FILE, RUN_FILES, RunResult, load_run

REPO_ROOT = Path(__file__).resolve().parents[1]
SCENARIO = '[run]\nagents = 5000\nburn_in_quarters = 2\nend = "2024Q4"\n'
REPORTED = [quarter_label(q) for q in range(parse_quarter("2024Q1"), parse_quarter("2024Q4") + 1)]
SEED = 777
TIMEOUT = 900  # a cold numba cache alone takes ~95 s
RUN_ARGS = ("run", "--seed", str(SEED), "--check", "--quiet")


def sim_command(*args: str, cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=TIMEOUT)


def explain(completed: subprocess.CompletedProcess) -> str:
    return f"exit {completed.returncode}\nstdout:\n{completed.stdout}\nstderr:\n{completed.stderr}"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cli_run")


@pytest.fixture(scope="module")
def scenario_file(workdir) -> Path:
    path = workdir / "small.toml"
    path.write_text(SCENARIO, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def run_dir(scenario_file, workdir) -> Path:
    """A run folder written by ``sim run --check`` (stock-flow check every quarter)."""
    out = workdir / "run-a"
    completed = sim_command(*RUN_ARGS, scenario_file, "--out", out)
    assert completed.returncode == 0, explain(completed)
    assert completed.stdout.strip() == str(out)
    return out


@pytest.fixture(scope="module")
def result(run_dir) -> RunResult:
    """The run folder read back once (``load_run`` also checks every file is there)."""
    return load_run(run_dir)


def test_validate(scenario_file):
    completed = sim_command("validate", scenario_file)
    assert completed.returncode == 0, explain(completed)
    assert completed.stdout.startswith("OK: ")
    assert "5,000 agents" in completed.stdout


def test_run_with_check_succeeds(result):
    assert result.meta.get("stock_flow_checked") is True


def test_run_folder_files(run_dir):
    written = {path.name for path in run_dir.iterdir() if path.is_file()}
    assert set(RUN_FILES) == {"quarterly.parquet", "groups.parquet", "lenders.parquet",
                              "run.json"}
    assert written == {*RUN_FILES, PANEL_FILE}  # the panel: run.panel_firms defaults to 200
    assert not list(run_dir.parent.glob(f"{run_dir.name}.partial-*"))


def test_run_json(result):
    meta = result.meta
    for key in ("seed", "generator_version", "package_version", "threads", "wall_seconds"):
        assert key in meta, key
    assert meta["seed"] == SEED
    assert meta["package_version"] == sim.__version__
    assert isinstance(meta["generator_version"], (int, str)) and meta["generator_version"] != ""
    assert isinstance(meta["threads"], int) and meta["threads"] >= 1
    assert isinstance(meta["wall_seconds"], (int, float)) and meta["wall_seconds"] >= 0
    # a moment within the past year, not in the future
    assert time.time() - 365 * 86400 < meta["started_unix"] <= time.time()
    assert meta["agents"] == 5000
    assert meta["burn_in_quarters"] == 2


def test_quarterly_table(result):
    quarterly = result.quarterly
    assert list(quarterly["quarter"]) == REPORTED  # one row per reported quarter, no burn-in
    missing = set(QUARTERLY_COLUMNS) - set(quarterly.columns)
    assert not missing, f"required columns missing: {sorted(missing)}"
    undefined = set(quarterly.columns) - set(QUARTERLY_COLUMNS)
    assert not undefined, f"columns not defined in sim.columns: {sorted(undefined)}"
    assert quarterly["sme_alive"].gt(0).all()


def test_lenders_and_groups_tables(result):
    lenders = result.lenders
    assert set(LENDER_COLUMNS) <= set(lenders.columns)
    assert set(lenders["quarter"]) == set(REPORTED)
    groups = result.groups
    assert {"quarter", "dimension", "group", "metric", "value"} <= set(groups.columns)
    assert set(groups["quarter"]) == set(REPORTED)


def test_run_refuses_existing_out(run_dir, scenario_file):
    before = sorted((p.name, p.stat().st_mtime_ns) for p in run_dir.iterdir())
    completed = sim_command("run", scenario_file, "--out", run_dir, "--quiet")
    assert completed.returncode == 2, explain(completed)
    assert "Traceback" not in completed.stderr
    assert completed.stderr.startswith("error: ")
    assert "already exists" in completed.stderr
    assert sorted((p.name, p.stat().st_mtime_ns) for p in run_dir.iterdir()) == before


def test_plot_writes_png(run_dir, workdir):
    figures = workdir / "figures"
    completed = sim_command("plot", run_dir, "--out", figures)
    assert completed.returncode == 0, explain(completed)
    pngs = sorted(figures.glob("*.png"))
    assert pngs, "no PNG written"
    for png in pngs:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png
        assert str(png) in completed.stdout


def test_same_seed_same_quarterly(result, scenario_file, workdir):
    again = workdir / "run-b"
    completed = sim_command(*RUN_ARGS, scenario_file, "--out", again)
    assert completed.returncode == 0, explain(completed)
    pd.testing.assert_frame_equal(result.quarterly, load_run(again).quarterly,
                                  check_exact=True)
