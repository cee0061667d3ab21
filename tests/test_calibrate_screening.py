"""``sim calibrate --screen`` (sim/calibration/screening.py), priors, and the recovery of
two parameters at once.

* the Morris screening ranks a parameter that moves the targets' moments above one that
  barely does, in standard errors of the targets, and resumes from its stored runs;
* a prior pulls the estimate towards its mean (its information in the standard errors:
  tests/test_inference.py);
* two known parameters are recovered together, each within 3 standard errors.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sim.calibration.screening import screen
from sim.calibration.search import calibrate
from sim.calibration.spec import load_calibration
from sim.config import load_scenario
from tests.helpers import BASELINE, calibration_toml, sim_cli, synthetic_targets, write_text

MARGIN = "platforms.big_tech.margin_annual"
PULL = "credit.channel_constant.online"
BANK_MARGIN = "banks.large_state.margin_annual"
TRUTH = {MARGIN: 0.06, BANK_MARGIN: 0.008}
COLUMNS = ("avg_rate_new_online", "online_share_new", "avg_rate_new_bank")
SOURCE = "the model at the true values"


def _calibration_file(folder: Path, parameters: dict[str, str], *, name: str = "c.toml",
                      trials: int = 8, extra: str = "") -> Path:
    return write_text(folder / name, calibration_toml(
        Path(name).stem, BASELINE, parameters, trials=trials,
        extra="screen_trajectories = 4\n" + extra))


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """Targets the model makes at the true values, on seeds no search uses."""
    folder = tmp_path_factory.mktemp("screening")
    probe = _calibration_file(folder, {MARGIN: "range = [0.02, 0.12]"}, name="probe.toml")
    synthetic_targets(folder, probe, TRUTH, COLUMNS, SOURCE)
    return folder


def test_the_screening_ranks_a_parameter_that_moves_the_targets_first(synthetic, tmp_path):
    # the online channel's pull moves the online share by many standard errors; the
    # share of profits owners draw, in a narrow range, barely moves any of the three
    quiet = "firms.owner_draw_share"
    path = _calibration_file(synthetic, {PULL: "range = [0.5, 3.0]",
                                         quiet: "range = [0.45, 0.55]"}, name="screen.toml")
    calibration = load_calibration(path)
    first = screen(calibration, tmp_path / "s")
    assert first.points == 4 * 3 and first.executed == 24 and first.reused == 0
    assert list(first.rank["parameter"]) == [PULL, quiet]
    assert first.rank.loc[0, "influence"] > 3 * first.rank.loc[1, "influence"]
    share = first.table[(first.table["moment"] == "online_share_new")
                        & (first.table["parameter"] == PULL)].iloc[0]
    # on a two-sided target the gap's μ* is the moment's over the standard error; the
    # pull raises the share (μ > 0)
    assert share["mu_star_se"] == pytest.approx(share["mu_star"] / share["standard_error"])
    assert share["mu"] > 0 and share["mu_star_se"] > 1.0
    # resumed after losing half its runs: the same table, only the lost runs made again
    runs = sorted((tmp_path / "s" / "runs").glob("screen-*.json"))
    for lost in runs[::2]:
        lost.unlink()
    again = screen(calibration, tmp_path / "s")
    assert again.executed == len(runs[::2]) and again.reused == len(runs) - len(runs[::2])
    pd.testing.assert_frame_equal(again.table, first.table)
    # the command line prints the ranking and writes the tables
    done = sim_cli("calibrate", path, "--screen", "--out", tmp_path / "s", "--quiet")
    assert done.returncode == 0, done.stderr
    assert "0 runs made and 24 reused" in done.stdout and PULL in done.stdout
    assert (tmp_path / "s" / "screening.csv").is_file()
    assert (tmp_path / "s" / "screening_rank.csv").is_file()
    # read back from Python, drawn by sim plot
    from sim.calibration import load_result

    loaded = load_result(tmp_path / "s")
    assert loaded.trials is None and list(loaded.screening_rank["parameter"]) == [PULL, quiet]
    assert "screening of 2 parameters" in repr(loaded)
    done = sim_cli("plot", tmp_path / "s")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "s" / "figures" / "screening.png").is_file()


def test_odd_screening_levels_and_a_bad_prior_exit_2(synthetic, tmp_path):
    for extra, spec, message in (
            ("screen_levels = 5", "range = [0.02, 0.12]", "screen_levels"),
            ("", "range = [0.02, 0.12]\nprior = [0.06, 0.0]", "prior")):
        bad = _calibration_file(synthetic, {MARGIN: spec}, name="bad.toml", extra=extra)
        done = sim_cli("calibrate", bad, "--screen", "--out", tmp_path / "never", "--quiet")
        assert done.returncode == 2 and message in done.stderr, done.stderr
        assert "Traceback" not in done.stderr and not (tmp_path / "never").exists()


def test_a_search_needs_as_many_moments_as_parameters_a_screening_does_not(synthetic,
                                                                           tmp_path):
    many = {MARGIN: "range = [0.02, 0.12]", BANK_MARGIN: "range = [0.002, 0.03]",
            PULL: "range = [0.5, 3.0]", "firms.owner_draw_share": "range = [0.45, 0.55]"}
    path = _calibration_file(synthetic, many, name="many.toml")
    assert len(load_calibration(path).spec.parameters) == 4     # loads: it may be screened
    done = sim_cli("calibrate", path, "--out", tmp_path / "never", "--quiet")
    assert done.returncode == 2 and "4 parameters against 3 fitted moments" in done.stderr
    assert not (tmp_path / "never").exists()


def test_a_prior_pulls_the_estimate_towards_its_mean(synthetic, tmp_path):
    free = load_calibration(_calibration_file(
        synthetic, {MARGIN: "range = [0.02, 0.12]"}, name="free.toml"))
    held = load_calibration(_calibration_file(
        synthetic, {MARGIN: "range = [0.02, 0.12]\nprior = [0.11, 0.004]"},
        name="held.toml"))
    assert free.digest() != held.digest()
    assert held.prior_penalty({MARGIN: 0.11}) == 0.0
    assert held.prior_penalty({MARGIN: 0.10}) == pytest.approx(6.25)
    without = calibrate(free, tmp_path / "free", workers=1, report=False).best_values[MARGIN]
    with_prior = calibrate(held, tmp_path / "held", workers=1,
                           report=False).best_values[MARGIN]
    assert abs(with_prior - 0.11) < abs(without - 0.11)


def test_include_scenario_makes_the_scenario_s_own_values_the_first_point(synthetic,
                                                                          tmp_path):
    path = _calibration_file(synthetic, {MARGIN: "range = [0.02, 0.12]"}, name="own.toml",
                             trials=4, extra="include_scenario = true")
    calibration = load_calibration(path)
    own = load_scenario(BASELINE).platforms.big_tech.margin_annual
    assert calibration.scenario_values() == {MARGIN: own}    # the baseline's own
    result = calibrate(calibration, tmp_path / "own", workers=1, report=False)
    assert result.trials.loc[0, MARGIN] == own and result.trials.loc[0, "state"] == "ok"
    # a scenario value outside its range is refused before any run
    assert own < 0.11
    outside = _calibration_file(synthetic, {MARGIN: "range = [0.11, 0.12]"},
                                name="outside.toml", extra="include_scenario = true")
    done = sim_cli("calibrate", outside, "--out", tmp_path / "never", "--quiet")
    assert done.returncode == 2 and "outside its range" in done.stderr


def test_two_known_parameters_are_recovered_together(synthetic, tmp_path):
    # ranges whose centres, where the search starts, are away from the truth
    path = _calibration_file(synthetic, {MARGIN: "range = [0.02, 0.16]",
                                         BANK_MARGIN: "range = [0.002, 0.04]"},
                             name="two.toml", trials=24, extra="profile_points = 0")
    calibration = load_calibration(path)
    result = calibrate(calibration, tmp_path / "two", workers=1)
    reported = pd.read_csv(tmp_path / "two" / "estimates.csv").set_index("parameter")
    for key, truth in TRUTH.items():
        estimate, se = result.best_values[key], float(reported.loc[key, "standard_error"])
        assert abs(estimate - truth) < 3 * se, (key, estimate, se)
        assert bool(reported.loc[key, "identified"]), reported.loc[key, "why_not"]
