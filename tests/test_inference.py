"""Moment covariance, Jacobian, sandwich standard errors and identification
(sim/calibration/inference.py), on models whose answers are known, and the simulator on
the real model.

* Ω adds the targets' variances to the simulated moments' covariance over R;
* central differences with common random numbers recover a linear model's slopes exactly,
  whatever the seed noise, and say when a derivative is noise (small t);
* with W = Ω⁻¹ the sandwich is (Jᵀ Ω⁻¹ J)⁻¹; a general W gives the full form;
* a parameter that moves no moment, or sits at its bound, is reported not identified;
* the simulator gives the same moments for the same values and seed, and a parameter
  moves the moment it should.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.calibration.inference import (
    identification, jacobian, moment_covariance, sandwich, weighted_distance,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
MOMENTS = ["a", "b", "c"]
SLOPES = pd.DataFrame({"x": [2.0, 0.0, -1.0], "y": [0.5, 3.0, 0.0], "dead": [0.0, 0.0, 0.0]},
                      index=MOMENTS)


def _linear(values: dict[str, float], seed: int) -> pd.Series:
    """Moments linear in the parameters, plus noise that depends on the seed only."""
    noise = np.random.default_rng(seed).normal(0.0, 0.3, len(MOMENTS))
    theta = np.array([values["x"], values["y"], values["dead"]])
    return pd.Series(SLOPES.to_numpy() @ theta + noise, index=MOMENTS)


def _noisy(values: dict[str, float], seed: int) -> pd.Series:
    """A moment whose response to ``x`` is buried in noise that differs between the two
    points (no common random numbers)."""
    rng = np.random.default_rng([seed, int(values["x"] * 1e6)])
    return pd.Series({"a": 0.001 * values["x"] + rng.normal(0.0, 1.0)})


RANGES = {"x": (0.0, 10.0), "y": (-5.0, 5.0), "dead": (0.0, 1.0)}
ESTIMATE = {"x": 4.0, "y": 1.0, "dead": 0.5}


def test_omega_adds_target_variances_to_the_simulation_noise():
    se = pd.Series([0.1, 0.2, 0.5], index=MOMENTS)
    draws = pd.DataFrame(np.random.default_rng(1).normal(size=(50, 3)), columns=MOMENTS)
    omega = moment_covariance(se, draws, replicates=4)
    expected = np.diag(se.to_numpy() ** 2) + draws.cov().to_numpy() / 4
    assert np.allclose(omega.to_numpy(), expected)
    gap = pd.Series([0.1, 0.0, 0.0], index=MOMENTS)
    assert weighted_distance(gap, omega) == pytest.approx(
        0.01 * np.linalg.inv(expected)[0, 0])
    with pytest.raises(ValueError, match="at least 2"):
        moment_covariance(se, draws.iloc[:1], 4)


def test_central_differences_with_common_random_numbers_recover_the_slopes():
    j = jacobian(_linear, ESTIMATE, RANGES, seeds=[1, 2, 3, 4], step_share=0.05)
    assert np.allclose(j.derivative.loc[MOMENTS, list(SLOPES)].to_numpy(),
                       SLOPES.to_numpy(), atol=1e-9)
    assert j.step["x"] == pytest.approx(0.5)
    # exact slopes have (next to) no spread across seeds: their t is undefined or huge
    t = j.t.loc["a", "x"]
    assert not np.isfinite(t) or abs(t) > 1e6
    # a slope buried in noise that differs between the points has a small t
    noisy = jacobian(_noisy, {"x": 5.0}, {"x": (0.0, 10.0)}, seeds=[1, 2, 3, 4])
    assert abs(noisy.t.loc["a", "x"]) < 5.0


def test_a_step_never_leaves_the_range():
    seen = []

    def record(values, seed):
        seen.append(values["x"])
        return _linear(values, seed)

    jacobian(record, {**ESTIMATE, "x": 9.9}, RANGES, seeds=[1, 2])
    assert max(seen) <= 10.0 and min(seen) >= 0.0


def test_the_sandwich_with_the_efficient_weight_is_the_inverse_information():
    omega = pd.DataFrame(np.diag([0.04, 0.09, 0.25]), index=MOMENTS, columns=MOMENTS)
    live = SLOPES[["x", "y"]]
    cov = sandwich(live, omega)
    j = live.to_numpy()
    assert np.allclose(cov.to_numpy(), np.linalg.inv(j.T @ np.linalg.inv(omega) @ j))
    identity = pd.DataFrame(np.eye(3), index=MOMENTS, columns=MOMENTS)
    general = sandwich(live, omega, weight=identity)
    bread = np.linalg.inv(j.T @ j)
    assert np.allclose(general.to_numpy(), bread @ j.T @ omega.to_numpy() @ j @ bread)
    # the efficient weight never gives larger standard errors
    assert (np.diag(cov.to_numpy()) <= np.diag(general.to_numpy()) + 1e-12).all()


def test_a_parameter_no_moment_sees_or_at_a_bound_is_not_identified():
    omega = pd.DataFrame(np.diag([0.04, 0.09, 0.25]), index=MOMENTS, columns=MOMENTS)
    se = pd.Series(np.sqrt(np.diag(omega.to_numpy())), index=MOMENTS)
    cov = sandwich(SLOPES, omega)
    ident = identification(SLOPES, se, cov, ESTIMATE, RANGES)
    assert ident.singular_values[-1] == pytest.approx(0.0, abs=1e-9)
    assert "dead" in ident.not_identified and "x" not in ident.not_identified
    at_bound = identification(SLOPES[["x", "y"]], se, sandwich(SLOPES[["x", "y"]], omega),
                              {**ESTIMATE, "x": 10.0}, RANGES)
    assert at_bound.not_identified == {"x": "at a bound"}
    assert at_bound.correlations.loc["x", "x"] == pytest.approx(1.0)


# ------------------------------------------------------------------ the real model
def test_the_simulator_is_reproducible_and_its_parameters_act():
    from sim.calibration import load_targets
    from sim.calibration.simulate import Simulator

    targets = load_targets(REPO_ROOT / "experiments" / "targets" / "report_2024_2030.toml")
    simulate = Simulator(REPO_ROOT / "scenarios" / "baseline.toml", targets, agents=3_000,
                         run_overrides={"end": "2030Q4"})
    base = simulate({}, 7)
    assert base.equals(simulate({}, 7))
    # platforms' pull (the online channel's constant) raises the online share
    more_online = simulate({"credit.channel_constant.online": 2.0}, 7)   # default 1.5
    assert more_online["F4:level"] > base["F4:level"]


def test_a_prior_s_information_narrows_the_sandwich():
    """Σ((θ−μ)/sd)² adds 1/sd² to the objective's curvature: the standard error is
    smaller than without the prior and than the prior's own sd."""
    ids = ["a", "b", "c"]
    derivative = pd.DataFrame({"theta": [0.5, 0.2, 0.1]}, index=ids)
    omega = pd.DataFrame(np.diag([1e-4] * 3), index=ids, columns=ids)
    plain = float(sandwich(derivative, omega).iloc[0, 0])
    informed = float(sandwich(derivative, omega,
                              prior_precision=np.diag([1.0 / 0.004 ** 2])).iloc[0, 0])
    assert informed < plain and informed < 0.004 ** 2
