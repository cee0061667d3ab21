"""User errors of the command line, run folders and figures (no model run needed).

Every bad scenario must give exit code 2, one ``error:`` message that names the key, and
no traceback, both through ``main()`` and through ``python -m sim``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from sim import cli
from sim.columns import LENDER_COLUMNS, QUARTERLY_COLUMNS
from sim.results import (
    RUN_FILES,
    RunFolderError,
    RunResult,
    default_run_dir,
    load_run,
    summary_table,
    write_run,
)

REPO_ROOT = Path(__file__).resolve().parents[1]

# name -> (scenario files {file name: TOML text}, words the message must contain)
BAD_SCENARIOS: dict[str, tuple[dict[str, str], tuple[str, ...]]] = {
    "unknown_key": ({"s.toml": "[run]\nagnets = 5\n"}, ("run.agnets", "agents")),
    "wrong_type": ({"s.toml": '[run]\nagents = "many"\n'}, ("run.agents", "many")),
    "negative_agents": ({"s.toml": "[run]\nagents = -5\n"}, ("run.agents", "-5")),
    "share_above_one": ({"s.toml": "[policy.data]\nprotection = 1.5\n"},
                        ("policy.data.protection", "1.5")),
    "end_before_start": ({"s.toml": '[run]\nstart = "2026Q1"\nend = "2025Q4"\n'},
                         ("run.end", "run.start")),
    "malformed_quarter": ({"s.toml": '[run]\nstart = "2024-1"\n'}, ("run", "2024-1")),
    "year_out_of_range": ({"s.toml": '[run]\nend = "9000Q1"\n'},
                          ("run.end", "9000Q1", "1900-2999")),
    "change_outside_run": ({"s.toml": '[[change]]\nat = "2035Q1"\n'
                                      'set = { "central_bank.rrr" = 0.06 }\n'},
                           ("change", "2035Q1")),
    "unknown_change_key": ({"s.toml": '[[change]]\nat = "2025Q1"\n'
                                      'set = { "central_bank.rrrr" = 0.06 }\n'},
                           ("central_bank.rrrr",)),
    "missing_file": ({}, ("s.toml", "not found")),
    "extends_cycle": ({"s.toml": 'extends = "other.toml"\n',
                       "other.toml": 'extends = "s.toml"\n'}, ("extends", "cycle")),
    "invalid_toml": ({"s.toml": "[run\nagents = 5000\n"}, ("s.toml", "TOML")),
}


def write_scenario(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder / "s.toml"


def assert_user_error(code: int, stderr: str, words: tuple[str, ...]) -> None:
    assert code == 2, stderr
    assert "Traceback" not in stderr
    assert stderr.startswith("error: ")
    for word in words:
        assert word in stderr, f"{word!r} missing from: {stderr}"


def run_module(*args: str) -> subprocess.CompletedProcess:
    """``python -m sim ...`` from the repository root, as a user would run it."""
    return subprocess.run([sys.executable, "-m", "sim", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120)


# ---------------------------------------------------------------- sim validate


@pytest.mark.parametrize("case", sorted(BAD_SCENARIOS))
def test_validate_bad_scenario_via_main(case, tmp_path, capsys):
    files, words = BAD_SCENARIOS[case]
    path = write_scenario(tmp_path, files)
    code = cli.main(["validate", str(path)])
    captured = capsys.readouterr()
    assert captured.out == ""
    assert_user_error(code, captured.err, words)


@pytest.mark.parametrize("case", sorted(BAD_SCENARIOS))
def test_validate_bad_scenario_via_python_m(case, tmp_path):
    files, words = BAD_SCENARIOS[case]
    path = write_scenario(tmp_path, files)
    completed = run_module("validate", str(path))
    assert_user_error(completed.returncode, completed.stderr, words)


def test_malformed_quarter_names_the_field(tmp_path, capsys):
    path = write_scenario(tmp_path, {"s.toml": '[run]\nstart = "2024-1"\n'})
    cli.main(["validate", str(path)])
    assert "run.start" in capsys.readouterr().err


def test_validate_ok(tmp_path, capsys):
    path = write_scenario(tmp_path, {"s.toml": '[run]\nagents = 5000\n[[change]]\n'
                                               'at = "2025Q1"\nset = { "central_bank.rrr" = 0.06 }\n'})
    assert cli.main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"OK: {path} (1 changes, 0 shocks, 2024Q1–2030Q4, 5,000 agents)")


def test_usage_error_exits_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["validate"])
    assert exit_info.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_ctrl_c_exits_130(tmp_path, monkeypatch, capsys):
    def interrupted(*_, **__):
        raise KeyboardInterrupt

    monkeypatch.setattr("sim.config.load_scenario", interrupted)
    assert cli.main(["validate", str(tmp_path / "s.toml")]) == 130
    assert capsys.readouterr().err == "error: interrupted; no run folder written\n"


def test_run_rejects_bad_scenario_before_the_model(tmp_path, capsys):
    path = write_scenario(tmp_path, {"s.toml": "[run]\nagnets = 5\n"})
    assert_user_error(cli.main(["run", str(path)]), capsys.readouterr().err, ("run.agnets",))


def test_run_refuses_existing_out_before_the_model(tmp_path, capsys):
    path = write_scenario(tmp_path, {"s.toml": "[run]\nagents = 5000\n"})
    existing = tmp_path / "taken"
    existing.mkdir()
    code = cli.main(["run", str(path), "--out", str(existing)])
    assert_user_error(code, capsys.readouterr().err, (str(existing), "already exists"))


def test_cli_import_stays_light():
    code = ("import sys, sim.cli; heavy = [m for m in ('numba', 'pandas', 'matplotlib', "
            "'pydantic', 'sim.model') if m in sys.modules]; print(heavy)")
    completed = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT,
                               capture_output=True, text=True, timeout=60)
    assert completed.stdout.strip() == "[]", completed.stderr


# ---------------------------------------------------------------- a synthetic run


QUARTERS = [f"{year}Q{q}" for year in (2024, 2025) for q in range(1, 5)]


def fake_quarterly(scale: float = 1.0) -> pd.DataFrame:
    """Plausible values for every quarterly column (amounts in 亿元)."""
    n = len(QUARTERS)
    trend = np.linspace(1.0, 1.2, n) * scale
    columns = {}
    for name, (unit, _) in QUARTERLY_COLUMNS.items():
        if unit.startswith("fraction"):
            columns[name] = np.linspace(0.03, 0.05, n)
        elif unit == "firms":
            columns[name] = 1.1e8 * trend
        else:
            columns[name] = 1000.0 * trend
    columns.update({
        "quarter": QUARTERS,
        "new_loans_bank": 30000 * trend, "new_loans_online": 15000 * trend,
        "new_loans_supply_chain": 5000 * trend, "new_equity": 300 * trend,
        "new_crowdfunding": 100 * trend, "credit_demand": 60000 * trend,
        "applications": 3e6 * trend, "approvals": 2e6 * trend,
        "avg_rate_new_online": np.linspace(0.14, 0.12, n), "lpr_1y": np.full(n, 0.0345),
        "bank_car_mean": np.full(n, 0.15), "hhi_bank": np.full(n, 0.2),
    })
    columns["new_loans"] = (columns["new_loans_bank"] + columns["new_loans_online"]
                            + columns["new_loans_supply_chain"])
    columns["online_share_new"] = columns["new_loans_online"] / columns["new_loans"]
    return pd.DataFrame(columns)[list(QUARTERLY_COLUMNS)]


def fake_lenders() -> pd.DataFrame:
    lenders = [("large_01", "large_state", 0.16), ("rural_01", "rural", 0.12),
               ("big_tech_01", "big_tech", 0.35), ("crowd_01", "crowd_equity", np.inf)]
    rows = []
    for quarter in QUARTERS:
        for index, (name, kind, ratio) in enumerate(lenders):
            row = {column: 1.0 for column in LENDER_COLUMNS}
            row.update(quarter=quarter, lender=index, name=name, kind=kind, active=True,
                       capital=100.0 * (index + 1), capital_ratio=ratio,
                       roe_annual=0.08 + 0.01 * index)
            rows.append(row)
    return pd.DataFrame(rows)[list(LENDER_COLUMNS)]


def fake_groups() -> pd.DataFrame:
    rows = []
    for quarter in QUARTERS:
        for group, base in (("individual", 1.0), ("micro", 2.0), ("small", 3.0)):
            rows.append((quarter, "size", group, "new_loans", 1000 * base))
            rows.append((quarter, "size", group, "approval_rate", 0.2 * base))
        rows.append((quarter, "sector", "catering", "new_loans", 500.0))
        rows.append((quarter, "big_tech|size", "big_tech|micro", "new_loans_by_lender_kind",
                     200.0))
    return pd.DataFrame(rows, columns=["quarter", "dimension", "group", "metric", "value"])


def make_run(name: str = "baseline", scale: float = 1.0) -> RunResult:
    return RunResult(quarterly=fake_quarterly(scale), groups=fake_groups(),
                     lenders=fake_lenders(),
                     meta={"name": name, "seed": 7, "agents": np.int64(5000)})


@pytest.fixture
def fake_run() -> RunResult:
    return make_run()


# ---------------------------------------------------------------- run folders


def partial_folders(parent: Path) -> list[Path]:
    return [p for p in parent.iterdir() if ".partial-" in p.name]


def test_write_and_load_round_trip(fake_run, tmp_path):
    out_dir = write_run(fake_run, tmp_path / "runs" / "r1")
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(RUN_FILES)
    loaded = load_run(out_dir)
    pd.testing.assert_frame_equal(loaded.quarterly, fake_run.quarterly)
    pd.testing.assert_frame_equal(loaded.groups, fake_run.groups)
    pd.testing.assert_frame_equal(loaded.lenders, fake_run.lenders)
    assert loaded.meta == {"name": "baseline", "seed": 7, "agents": 5000}
    assert partial_folders(out_dir.parent) == []


def test_write_refuses_existing_folder(fake_run, tmp_path):
    out_dir = tmp_path / "r1"
    out_dir.mkdir()
    (out_dir / "keep.txt").write_text("mine")
    with pytest.raises(RunFolderError, match="already exists"):
        write_run(fake_run, out_dir)
    assert [p.name for p in out_dir.iterdir()] == ["keep.txt"]


@pytest.mark.parametrize("failure", [OSError("disk full"), KeyboardInterrupt()])
def test_failure_mid_write_leaves_nothing(fake_run, tmp_path, monkeypatch, failure):
    calls = []

    def failing_to_parquet(self, path, *args, **kwargs):
        calls.append(path)
        if len(calls) == 2:  # after one table is already on disk
            raise failure
        return original(self, path, *args, **kwargs)

    original = pd.DataFrame.to_parquet
    monkeypatch.setattr(pd.DataFrame, "to_parquet", failing_to_parquet)
    with pytest.raises(type(failure)):
        write_run(fake_run, tmp_path / "r1")
    assert len(calls) == 2
    assert list(tmp_path.iterdir()) == []


def test_unserialisable_meta_fails_before_writing(fake_run, tmp_path):
    fake_run.meta["bad"] = object()
    with pytest.raises(TypeError, match="bad|object"):
        write_run(fake_run, tmp_path / "r1")
    assert list(tmp_path.iterdir()) == []


def test_default_run_dir_is_unique(tmp_path):
    first = default_run_dir("base line/x", 42, root=tmp_path)
    assert first.parent == tmp_path
    assert first.name.startswith("base_line_x-") and first.name.endswith("-s42")
    first.mkdir()
    second = default_run_dir("base line/x", 42, root=tmp_path)
    # The clock may tick between the calls; either way the name must be new.
    assert second != first and not second.exists()


def test_load_run_names_the_missing_file(fake_run, tmp_path):
    out_dir = write_run(fake_run, tmp_path / "r1")
    (out_dir / "run.json").unlink()
    with pytest.raises(RunFolderError, match="run.json is missing"):
        load_run(out_dir)


def test_load_run_errors(tmp_path):
    with pytest.raises(RunFolderError, match="not found"):
        load_run(tmp_path / "nowhere")
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(RunFolderError, match="is a file"):
        load_run(tmp_path / "file.txt")
    unfinished = tmp_path / f"r1.partial-{os.getpid()}"
    unfinished.mkdir()
    with pytest.raises(RunFolderError, match="unfinished"):
        load_run(unfinished)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(RunFolderError, match="quarterly.parquet, groups.parquet, "
                                             "lenders.parquet, run.json are missing"):
        load_run(empty)


def test_load_run_rejects_corrupt_files(fake_run, tmp_path):
    out_dir = write_run(fake_run, tmp_path / "r1")
    (out_dir / "run.json").write_text("{not json")
    with pytest.raises(RunFolderError, match="run.json"):
        load_run(out_dir)
    (out_dir / "run.json").write_text(json.dumps({"name": "x"}))
    (out_dir / "lenders.parquet").write_bytes(b"not parquet")
    with pytest.raises(RunFolderError, match="lenders.parquet"):
        load_run(out_dir)


def test_plot_command_errors_on_a_non_run_folder(tmp_path, capsys):
    code = cli.main(["plot", str(tmp_path)])
    assert_user_error(code, capsys.readouterr().err, ("run.json",))


# ---------------------------------------------------------------- summary table


def test_summary_table_first_and_last_year(fake_run):
    table = summary_table(fake_run)
    lines = table.splitlines()
    assert "baseline" in lines[0]
    assert lines[1].split() == ["2024", "2025"]
    new_loans = next(line for line in lines if line.startswith("New loans"))
    expected_2024 = fake_run.quarterly["new_loans"].iloc[:4].sum() / 1e4
    assert f"{expected_2024:.2f}" in new_loans
    assert "Fiscal cost" in table and "Approval rate" in table


def test_summary_table_one_partial_year(fake_run):
    fake_run.quarterly = fake_run.quarterly.iloc[:2].drop(columns=["fiscal_cost"])
    table = summary_table(fake_run)
    assert "2024 (2q)" in table
    fiscal = next(line for line in table.splitlines() if line.startswith("Fiscal"))
    assert fiscal.split()[-1] == "–"


# ---------------------------------------------------------------- figures


@pytest.mark.parametrize("function", ["overview", "channel_mix", "rates", "defaults",
                                      "credit_gap", "lenders", "groups"])
@pytest.mark.parametrize("several", [False, True])
def test_plot_functions_return_figures(fake_run, function, several):
    from sim import plot

    runs = {"base": fake_run, "policy": make_run("policy", 1.1)} if several else fake_run
    figure = getattr(plot, function)(runs)
    assert isinstance(figure, Figure)
    assert any(ax.has_data() for ax in figure.axes)


def test_groups_unknown_dimension(fake_run):
    from sim import plot

    with pytest.raises(ValueError, match="available: big_tech\\|size, sector, size"):
        plot.groups(fake_run, "stage")


def test_lenders_pooled_capital_ratio(fake_run):
    from sim.plot import aggregate_lenders_by_kind

    # without an assets column the ratio pools capital over risk-weighted assets
    frame = fake_run.lenders.drop(columns=["total_assets"], errors="ignore")
    frame = pd.concat([frame, frame.assign(lender=9, capital=300.0, capital_ratio=0.10)])
    frame = frame[frame["kind"] == "large_state"]
    pooled = aggregate_lenders_by_kind(frame)
    # 100 capital at 16% and 300 at 10%: 400 / (625 + 3000)
    assert pooled["capital_ratio"].iloc[0] == pytest.approx(400 / 3625)


def test_save_standard_figures(fake_run, tmp_path):
    from sim.plot import save_standard_figures

    paths = save_standard_figures({"a": fake_run, "b": make_run("b", 0.9)}, tmp_path / "fig")
    names = {path.name for path in paths}
    assert {"overview.png", "channel_mix.png", "lenders.png", "groups_size.png",
            "groups_sector.png"} <= names
    for path in paths:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_command_writes_figures(fake_run, tmp_path, capsys):
    run_dir = write_run(fake_run, tmp_path / "r1")
    assert cli.main(["plot", str(run_dir)]) == 0
    printed = capsys.readouterr().out.split()
    assert printed and all(Path(p).parent == run_dir / "figures" for p in printed)
    assert all(Path(p).is_file() for p in printed)
