"""``sim compare``: common random numbers, paired intervals, the folder it writes, its
errors, the comparison figures and the levers notebook."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from sim import plot
from sim.cli import EXIT_USER_ERROR, main
from sim.compare import (
    CompareError,
    Comparison,
    compare,
    compare_scenarios,
    lever_start,
    load_window,
    paired_stats,
    t_quantile_975,
)
from sim.config import ScenarioError
from sim.quarters import parse_quarter
from sim.results import RunResult

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline.toml"
SMALL = {"agents": 5_000, "start": "2024Q2", "end": "2024Q4", "burn_in_quarters": 2}


# ---------------------------------------------------------------- statistics


def test_t_quantiles_match_the_tables():
    assert t_quantile_975(4) == pytest.approx(2.7764, abs=1e-4)
    assert t_quantile_975(60) == pytest.approx(2.0003, abs=2e-4)
    assert t_quantile_975(10_000) == pytest.approx(1.9602, abs=2e-4)
    values = [t_quantile_975(df) for df in range(1, 200)]
    assert all(a > b for a, b in itertools.pairwise(values))
    assert math.isnan(t_quantile_975(0))


def test_paired_stats_give_mean_t_and_interval():
    stats = paired_stats(np.array([1.0, 2.0, 3.0, 4.0, 5.0]))
    assert stats["diff"] == 3.0
    se = np.std([1, 2, 3, 4, 5], ddof=1) / math.sqrt(5)
    assert stats["t"] == pytest.approx(3.0 / se)
    assert stats["ci_low"] == pytest.approx(3.0 - 2.7764 * se, abs=1e-3)
    assert stats["ci_high"] == pytest.approx(3.0 + 2.7764 * se, abs=1e-3)
    same = paired_stats(np.zeros(5))
    assert same["diff"] == 0.0 and same["t"] == 0.0 and same["ci_low"] == 0.0
    one = paired_stats(np.array([2.0]))
    assert one["diff"] == 2.0 and math.isnan(one["t"]) and math.isnan(one["ci_low"])


# ---------------------------------------------------------------- scenarios


def test_load_window_drops_later_changes_and_keeps_ramp_slopes():
    sc = load_window(ROOT / "scenarios" / "rate_cut.toml", end="2024Q4")
    assert [c.at for c in sc.change] == ["2024Q3", "2024Q4"]
    ramp = load_window(ROOT / "scenarios" / "credit_infrastructure.toml", end="2025Q4")
    (change,) = ramp.change
    assert change.to == "2025Q4"
    # four of the file's eight quarters: half-way from 1.0 to 1.5 and from 0.3 to 0.6
    assert change.ramp["data.bureau_coverage"] == pytest.approx(1.25)
    assert change.ramp["data.bank_big_data"] == pytest.approx(0.45)
    full = load_window(ROOT / "scenarios" / "credit_infrastructure.toml")
    assert full.change[0].to == "2026Q4"


def test_lever_start_is_the_first_differing_quarter():
    base = load_window(BASELINE)
    assert lever_start(base, load_window(ROOT / "scenarios" / "rate_cut.toml")) == \
        parse_quarter("2024Q3")
    assert lever_start(base, load_window(ROOT / "scenarios" / "pandemic_deferral.toml")) == \
        parse_quarter("2025Q1")
    assert lever_start(base, base) is None


def test_scenarios_with_other_horizons_are_refused():
    base = load_window(BASELINE, **SMALL)
    other = load_window(BASELINE, **{**SMALL, "agents": 6_000})
    with pytest.raises(CompareError, match="run.agents"):
        compare_scenarios(base, other, reps=2, run=lambda sc: None)
    with pytest.raises(CompareError, match="reps"):
        compare_scenarios(base, base, reps=0, run=lambda sc: None)


# ---------------------------------------------------------------- pairing


def _fake_run(scenario) -> RunResult:
    """A stand-in model: an outcome made of seed noise plus a policy effect, so pairing
    must remove the noise exactly."""
    quarters = ["2024Q2", "2024Q3", "2024Q4"]
    noise = np.random.default_rng(scenario.run.seed).normal(0, 10, len(quarters))
    effect = 1.0 if scenario.name == "rate_cut" else 0.0
    frame = pd.DataFrame({"quarter": quarters, "new_loans": 100 + noise + [0, effect, effect]})
    return RunResult(quarterly=frame, groups=pd.DataFrame(), lenders=pd.DataFrame(),
                     meta={"threads": 1})


def test_replicates_share_seeds_and_differences_are_paired():
    base = load_window(BASELINE, **SMALL, seed=7)
    other = load_window(ROOT / "scenarios" / "rate_cut.toml", **SMALL, seed=7)
    seen = []

    def run(sc):
        seen.append((sc.name, sc.run.seed))
        return _fake_run(sc)

    result = compare_scenarios(base, other, reps=4, outcomes=("new_loans",), run=run)
    assert seen == [(n, s) for s in (7, 8, 9, 10) for n in ("baseline", "rate_cut")]
    assert result.seeds == [7, 8, 9, 10] and result.start == "2024Q3"
    summary = result.summary().set_index("outcome").loc["new_loans"]
    assert summary["diff"] == pytest.approx(1.0) and summary["sd"] == pytest.approx(0, abs=1e-9)
    table = result.differences()
    assert table.loc[table["quarter"] == "2024Q2", "diff"].item() == 0.0
    assert "new_loans" in result.table()


@pytest.fixture(scope="module")
def small_comparison() -> Comparison:
    return compare(BASELINE, ROOT / "scenarios" / "rate_cut.toml", reps=2, **SMALL)


def test_a_real_comparison_is_exact_before_the_lever(small_comparison):
    table = small_comparison.differences()
    before = table[table["quarter"] == "2024Q2"]
    assert (before["diff"] == 0.0).all()
    lpr = table[(table["outcome"] == "bank_funding_cost") & (table["quarter"] == "2024Q4")]
    assert lpr["diff"].item() < 0


def test_comparison_figures_are_figures(small_comparison):
    assert isinstance(plot.difference_paths(small_comparison), Figure)
    assert isinstance(plot.outcome_paths(small_comparison, ["avg_rate_new"]), Figure)
    assert isinstance(plot.effect_summary({"rate cut": small_comparison}, "avg_rate_new"),
                      Figure)
    with pytest.raises(ValueError, match="not compared"):
        plot.difference_paths(small_comparison, ["no_such_outcome"])


# ---------------------------------------------------------------- the command


def _scenario_files(tmp_path: Path) -> tuple[Path, Path]:
    run = "\n".join(f"{k} = {v!r}".replace("'", '"') for k, v in SMALL.items())
    base = tmp_path / "base.toml"
    base.write_text(f'extends = "{BASELINE}"\nname = "base"\n[run]\n{run}\n', encoding="utf-8")
    other = tmp_path / "cut.toml"
    other.write_text(f'extends = "{base}"\nname = "cut"\n[[change]]\nat = "2024Q3"\n'
                     'set = { "central_bank.lpr_1y_annual" = 0.031 }\n', encoding="utf-8")
    return base, other


def test_sim_compare_writes_a_folder_and_refuses_to_overwrite(tmp_path, capsys):
    base, other = _scenario_files(tmp_path)
    out = tmp_path / "cmp"
    assert main(["compare", str(base), str(other), "--reps", "2", "--out", str(out),
                 "--quiet"]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    assert {p.name for p in out.iterdir()} == {"differences.csv", "summary.csv",
                                                "comparison.json", "differences.png",
                                                "paths.png", "runs"}
    assert sorted(p.name for p in (out / "runs").iterdir()) == ["base-r0", "base-r1",
                                                                 "other-r0", "other-r1"]
    summary = pd.read_csv(out / "summary.csv").set_index("outcome")
    assert summary.loc["avg_rate_new", "t"] < 0
    assert not list(tmp_path.glob("*.partial-*"))
    assert main(["compare", str(base), str(other), "--reps", "2", "--out", str(out)]) == \
        EXIT_USER_ERROR
    assert "error: comparison folder" in capsys.readouterr().err


@pytest.mark.parametrize("extra, message", [
    (["--reps", "0"], "--reps must be at least 1"),
    (["--agents", "10"], "run.agents"),
])
def test_sim_compare_user_errors(tmp_path, capsys, extra, message):
    base, other = _scenario_files(tmp_path)
    assert main(["compare", str(base), str(other), *extra]) == EXIT_USER_ERROR
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err


def test_sim_compare_refuses_unpaired_horizons_and_missing_files(tmp_path, capsys):
    base, _ = _scenario_files(tmp_path)
    assert main(["compare", str(base), str(BASELINE), "--reps", "1"]) == EXIT_USER_ERROR
    assert "differ in run." in capsys.readouterr().err
    assert main(["compare", str(base), str(tmp_path / "nope.toml")]) == EXIT_USER_ERROR
    assert "not found" in capsys.readouterr().err


def test_load_window_reports_bad_files(tmp_path):
    with pytest.raises(ScenarioError, match="not found"):
        load_window(tmp_path / "missing.toml")


# ---------------------------------------------------------------- the notebook


def test_levers_notebook_runs():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    path = ROOT / "experiments" / "levers.ipynb"
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code"
               for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs)


def test_one_key_of_a_bank_type_keeps_that_types_other_defaults(tmp_path):
    path = tmp_path / "tight.toml"
    path.write_text(f'extends = "{BASELINE}"\n[banks.rural]\nliquidity_buffer = 0.25\n'
                    '[platforms.big_tech]\ncount = 3\n', encoding="utf-8")
    sc = load_window(path)
    default = load_window(BASELINE)
    assert sc.banks.rural.liquidity_buffer == 0.25
    assert sc.banks.rural.model_copy(update={"liquidity_buffer": 0.205}) == default.banks.rural
    assert sc.platforms.big_tech.net_assets_yi == default.platforms.big_tech.net_assets_yi
