"""``sim calibrate`` (sim/calibration/search.py, spec.py).

* a known parameter is recovered: targets made by the model itself at a known value, a
  search from elsewhere in the range lands within 3 standard errors of it (sandwich
  standard errors from the Jacobian on common random numbers);
* an interrupted search, resumed, gives the same points and the same estimate as an
  uninterrupted one, running only what was missing;
* the estimate is a scenario file that extends the calibrated one and validates;
* a search with more points reuses the first's runs; a stored failed run replays as
  failed (the sampler asks what it asked), one among the runs at the centre of the
  ranges is run again;
* a malformed calibration file, an unknown parameter, a range outside the schema's
  bounds, a target naming an unknown column or a year the runs do not report, another
  calibration's store or an --out that is a file exits 2 naming it, before any run.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.calibration.inference import jacobian, sandwich
from sim.calibration.search import calibrate
from sim.calibration.spec import load_calibration
from sim.calibration.targets import load_targets
from tests.helpers import (
    BASELINE, REPO_ROOT, calibration_toml, sim_cli, synthetic_targets, target_toml, write_text,
)

KEY = "platforms.big_tech.margin_annual"
TRUE_VALUE = 0.06
RANGE = (0.02, 0.12)

COLUMNS = ("avg_rate_new_online", "online_share_new")
SOURCE = f"the model at {KEY} = {TRUE_VALUE}"


def _calibration_file(tmp_path: Path, *, trials: int = 8, extra: str = "",
                      name: str = "calibration.toml", seed: int = 7) -> Path:
    return write_text(tmp_path / name, calibration_toml(
        "recovery", BASELINE, {KEY: f"range = [{RANGE[0]}, {RANGE[1]}]"}, trials=trials,
        seed=seed, extra=extra))


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """Targets the model makes at the true value on seeds the search does not use, with
    standard errors of the size of the seed noise."""
    folder = tmp_path_factory.mktemp("recovery")
    path = _calibration_file(folder)
    simulate = synthetic_targets(folder, path, {KEY: TRUE_VALUE}, COLUMNS, SOURCE)
    return folder, path, simulate, load_calibration(path).search_seeds()


def test_a_known_parameter_is_recovered_within_three_standard_errors(synthetic):
    folder, path, simulate, seeds = synthetic
    calibration = load_calibration(path)
    result = calibrate(calibration, folder / "out", workers=1)
    estimate = result.best_values[KEY]
    # the report's standard error: the Jacobian on fresh seeds against Ω
    reported = pd.read_csv(folder / "out" / "estimates.csv").set_index("parameter")
    se = float(reported.loc[KEY, "standard_error"])
    assert abs(estimate - TRUE_VALUE) < 3 * se, (estimate, se)
    assert bool(reported.loc[KEY, "identified"])   # by these two moments
    # the same from the inference functions directly, on the search's seeds
    j = jacobian(simulate, {KEY: estimate}, {KEY: RANGE}, seeds=seeds + [11, 12])
    moments = calibration.targets.moments()
    omega = pd.DataFrame(np.diag([m.standard_error ** 2 for m in moments]),
                         index=[m.id for m in moments], columns=[m.id for m in moments])
    direct = float(np.sqrt(sandwich(j.derivative, omega).loc[KEY, KEY]))
    assert abs(estimate - TRUE_VALUE) < 3 * direct, (estimate, direct)
    for name in ("fit.csv", "omega.csv", "omega_search.csv", "jacobian.csv", "jacobian_t.csv",
                 "correlations.csv", "identification.json", "profiles.csv", "fit.png",
                 "estimate.toml", "trials.csv"):
        assert (folder / "out" / name).is_file(), name
    fit = pd.read_csv(folder / "out" / "fit.csv")
    assert (fit["model_p05"] <= fit["model"]).all() and (fit["model"] <= fit["model_p95"]).all()
    # read back from Python, drawn by sim plot
    from sim.calibration import load_result

    loaded = load_result(folder / "out")
    assert loaded.estimate == result.best_values
    assert loaded.identification["not_identified"] == {}
    done = sim_cli("plot", folder / "out")
    assert done.returncode == 0, done.stderr
    assert (folder / "out" / "figures" / "fit.png").is_file()
    assert (folder / "out" / "figures" / "profiles.png").is_file()
    profile = pd.read_csv(folder / "out" / "profiles.csv")
    # the objective is lowest near the truth along the profile (grid step 0.025)
    assert abs(profile.loc[profile["distance"].idxmin(), "value"] - TRUE_VALUE) <= 0.025


def test_a_resumed_search_ends_where_an_uninterrupted_one_does(synthetic, tmp_path):
    folder, path, _, _ = synthetic
    calibration = load_calibration(path)
    whole = calibrate(calibration, tmp_path / "whole", workers=1, report=False)
    part_folder = tmp_path / "part"
    calibrate(calibration, part_folder, workers=1, report=False)
    runs = sorted((part_folder / "runs").glob("t*.json"))     # the search's own runs
    for stale in runs[len(runs) // 2:]:                # as if killed halfway
        stale.unlink()
    resumed = calibrate(calibration, part_folder, workers=1, report=False)
    assert resumed.executed == len(runs) - len(runs) // 2
    assert resumed.reused == len(runs) // 2
    pd.testing.assert_frame_equal(resumed.trials.drop(columns="elapsed_seconds"),
                                  whole.trials.drop(columns="elapsed_seconds"))
    assert resumed.best_values == whole.best_values
    estimate = (part_folder / "estimate.toml").read_text(encoding="utf-8")
    assert "extends = " in estimate and KEY in estimate
    done = sim_cli("validate", part_folder / "estimate.toml")
    assert done.returncode == 0, done.stderr


def test_a_search_with_more_points_reuses_the_runs_of_the_first(synthetic, tmp_path):
    folder, path, _, _ = synthetic
    first = calibrate(load_calibration(path), tmp_path / "grow", workers=1, report=False)
    longer = load_calibration(_calibration_file(folder, trials=12, name="longer.toml"))
    grown = calibrate(longer, tmp_path / "grow", workers=1, report=False)
    assert grown.reused == first.executed and len(grown.trials) == 12
    pd.testing.assert_frame_equal(grown.trials.iloc[:8].drop(columns="elapsed_seconds"),
                                  first.trials.drop(columns="elapsed_seconds"))


def _mark_failed(run: Path) -> dict:
    """Rewrite a stored run as failed ("killed"); returns what it held."""
    data = json.loads(run.read_text(encoding="utf-8"))
    run.write_text(json.dumps({**data, "moments": None, "error": "killed"}),
                   encoding="utf-8")
    return data


def test_a_failed_run_is_replayed_as_failed(synthetic, tmp_path):
    """A stored failure stays a failure on resume, so the sampler asks what it asked."""
    folder, path, _, _ = synthetic
    calibration = load_calibration(path)
    whole = calibrate(calibration, tmp_path / "f", workers=1, report=False)
    _mark_failed(tmp_path / "f" / "runs" / "t000002-r000.json")
    for later in sorted((tmp_path / "f" / "runs").glob("t00000[4-7]*.json")):
        later.unlink()
    resumed = calibrate(calibration, tmp_path / "f", workers=1, report=False)
    assert resumed.trials.loc[2, "state"].startswith("failed: killed")
    assert resumed.executed == 8 and not (resumed.trials["state"] != "ok").iloc[3:].any()
    # the points before the failure are the uninterrupted search's
    pd.testing.assert_frame_equal(resumed.trials.iloc[:2].drop(columns="elapsed_seconds"),
                                  whole.trials.iloc[:2].drop(columns="elapsed_seconds"))
    # resumed again, the stored failure replays as failed: the sampler asks the same
    # points, so nothing runs and every point is as before
    again = calibrate(calibration, tmp_path / "f", workers=1, report=False)
    assert again.executed == 0
    pd.testing.assert_frame_equal(again.trials.drop(columns="elapsed_seconds"),
                                  resumed.trials.drop(columns="elapsed_seconds"))


def test_a_failed_run_at_the_centre_is_run_again(synthetic, tmp_path):
    """The runs that set the search's weight are not the sampler's: a stored failure
    among them (a run killed for memory, say) is run again when the search resumes."""
    _, path, _, _ = synthetic
    calibration = load_calibration(path)
    whole = calibrate(calibration, tmp_path / "c", workers=1, report=False)
    run = tmp_path / "c" / "runs" / "noise-r0001.json"
    data = _mark_failed(run)
    again = calibrate(calibration, tmp_path / "c", workers=1, report=False)
    # the centre run was made again (the search's own runs were all reused), the same
    # as before: same weight, same estimate
    assert json.loads(run.read_text(encoding="utf-8"))["moments"] == data["moments"]
    assert again.executed == 0 and again.best_values == whole.best_values


def test_a_q4_target_needs_only_its_year_s_fourth_quarter(synthetic, tmp_path):
    folder, _, _, _ = synthetic
    q4 = target_toml("stock", "loan_balance", 4e5, 1e4, SOURCE).replace(
        'measure = "share"', 'measure = "stock"').replace(
        'period = "annual_mean"', 'period = "q4"').replace("[2025]", "[2024]")
    write_text(tmp_path / "targets.toml", 'name = "q4"\n' + q4)
    base = write_text(tmp_path / "late.toml", f'extends = "{BASELINE.as_posix()}"\n'
                      '[run]\nstart = "2024Q2"\n')
    text = _calibration_file(folder).read_text(encoding="utf-8").replace(
        BASELINE.as_posix(), base.as_posix())
    calibration = load_calibration(write_text(tmp_path / "c.toml", text))
    assert calibration.targets.target[0].id == "stock"
    # a yearly mean of 2024 needs its first quarter, which a 2024Q2 start does not report
    write_text(tmp_path / "targets.toml", 'name = "mean"\n' + target_toml(
        "share", "online_share_new", 0.35, 0.02, SOURCE).replace("[2025]", "[2024]"))
    done = sim_cli("calibrate", tmp_path / "c.toml", "--out", tmp_path / "never", "--quiet")
    assert done.returncode == 2 and "needs 2024" in done.stderr, done.stderr


def test_a_store_of_another_calibration_is_refused(synthetic, tmp_path):
    folder, path, _, _ = synthetic
    calibrate(load_calibration(path), tmp_path / "store", workers=1, report=False)
    other = _calibration_file(folder, name="other.toml", seed=8)
    done = sim_cli("calibrate", other, "--out", tmp_path / "store", "--quiet")
    assert done.returncode == 2 and "another file" in done.stderr


@pytest.mark.parametrize("edit, message", [
    (("trials = 8", "trials = 8\ntrails = 3"), "unknown key 'trails'"),
    ((f'"{KEY}"', '"platforms.big_tech.margin_anual"'), "margin_anual"),
    ((f"range = [{RANGE[0]}, {RANGE[1]}]", "range = [0.02, 5.0]"), "margin_annual"),
    (('sampler = "cmaes"', 'sampler = "gp-bo"'), "'sampler'"),
    (("replicates = 2", "replicates = 0"), "'replicates'"),
    (('end = "2025Q4"', 'end = "2024Q4"'), "needs 2025"),
    (("trials = 8", "trials = 8\nnoise_replicates = 1"), "noise_replicates"),
])
def test_a_bad_calibration_file_exits_2_naming_the_key(synthetic, tmp_path, edit, message):
    folder, path, _, _ = synthetic
    old, new = edit
    bad = write_text(folder / "bad.toml", path.read_text(encoding="utf-8").replace(old, new))
    done = sim_cli("calibrate", bad, "--out", tmp_path / "never", "--quiet")
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "never").exists()


def test_a_target_naming_an_unknown_column_is_refused_before_any_run(synthetic, tmp_path):
    folder, path, _, _ = synthetic
    write_text(folder / "broken_targets.toml", 'name = "broken"\n' + target_toml(
        "x", "online_share_neww", 0.3, 0.01, SOURCE))
    bad = write_text(folder / "bad_targets.toml", path.read_text(encoding="utf-8").replace(
        'targets = "targets.toml"', 'targets = "broken_targets.toml"'))
    done = sim_cli("calibrate", bad, "--out", tmp_path / "never", "--quiet")
    assert done.returncode == 2
    assert "unknown column 'online_share_neww'" in done.stderr
    assert not (tmp_path / "never").exists()


def test_the_shipped_calibration_loads_with_the_report_targets():
    calibration = load_calibration(REPO_ROOT / "experiments" / "calibrate_online.toml")
    report = load_targets(REPO_ROOT / "experiments" / "targets" / "report_2024_2030.toml")
    assert [m.id for m in calibration.targets.moments()] == [m.id for m in report.moments()]
    assert set(calibration.ranges) == {"credit.channel_constant.online",
                                       "platforms.big_tech.margin_annual"}


def test_an_out_that_is_a_file_exits_2(synthetic, tmp_path):
    _, path, _, _ = synthetic
    (tmp_path / "a_file").write_text("x", encoding="utf-8")
    done = sim_cli("calibrate", path, "--out", tmp_path / "a_file", "--quiet")
    assert done.returncode == 2 and "is a file, not a folder" in done.stderr
