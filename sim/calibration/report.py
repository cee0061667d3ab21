"""What the estimate is worth, written into the calibration folder after the search.

On seeds the search never used (fresh seeds):

* ``fit.csv``: every target against the model at the estimate, the model's mean over the
  fresh runs with its 5–95% replicate band;
* ``omega.csv``: Ω = the targets' stated variances + (1/R) × the covariance of the
  simulated moments over the fresh runs (R the search's replicates per point);
* ``jacobian.csv`` and ``jacobian_t.csv``: the moments' central differences at
  ``jacobian_step`` of each parameter's range over ``jacobian_replicates`` seeds (common
  random numbers), with each derivative's t;
* ``estimates.csv``: each parameter's estimate, its sandwich standard error (the search's
  weight W against Ω, over the moments that bind at the estimate: a floor or ceiling met
  adds nothing near it) and whether it is identified;
  ``correlations.csv``; ``identification.json``: the singular values of the scaled
  Jacobian (scaled by W^½ and the ranges), the parameters not identified and why (at a
  bound, a standard error above a quarter of the range, or no derivative with |t| > 2),
  and the over-identification statistic Σ gap² ÷ (target variance + simulated variance
  over the fresh runs) over the binding moments, with its degrees of freedom
  (descriptive: the targets' errors are judgements, so no p-value);
* ``profiles.csv``: the objective along each parameter, the others at the estimate, on
  the search's seeds;
* ``fit.png`` and ``profiles.png``: the fit table and the profiles as figures
  (:mod:`sim.plot_calibration`).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from sim.calibration.inference import (
    central_points, identification, jacobian, moment_covariance, sandwich,
)
from sim.calibration.moments import distance, fit_table, gaps
from sim.calibration.spec import Calibration, CalibrationError
from sim.experiment.seeds import replicate_seed
from sim.experiment.store import write_text_atomic

# Fresh seeds are replicates numbered from here on, past any search's replicates.
FRESH_OFFSET = 10_000


def _complete(results: list, what: str) -> pd.DataFrame:
    """The moments of runs that must all succeed, with finite values."""
    failed = [k for k, r in enumerate(results) if r is None]
    if failed:
        raise CalibrationError(f"{what} failed ({len(failed)} of {len(results)}); the "
                               "search's results are written, the report is not")
    frame = pd.DataFrame(results)
    undefined = [c for c in frame.columns if not np.isfinite(frame[c]).all()]
    if undefined:
        raise CalibrationError(f"{what}: moments undefined at the estimate: "
                               f"{', '.join(undefined)}")
    return frame


def fresh_seeds(calibration: Calibration, count: int) -> list[int]:
    return [replicate_seed(calibration.spec.seed, FRESH_OFFSET + r) for r in range(count)]


def prior_precision(calibration: Calibration, names: list[str]) -> np.ndarray | None:
    """The priors' information, diag(1 / sd²) in the order of ``names`` (0 for a parameter
    without a prior); None when no parameter has one."""
    priors = calibration.priors
    if not priors:
        return None
    return np.diag([1.0 / priors[n][1] ** 2 if n in priors else 0.0 for n in names])


def write_report(calibration: Calibration, out: Path, estimate: dict[str, float],
                 run_jobs, weight: pd.DataFrame) -> dict:
    """Compute and write the report's files for ``estimate``; ``run_jobs`` runs a list of
    (values, seed) pairs and returns their moments in order (serially or on workers);
    ``weight`` is the search's weight matrix (the sandwich's W, the profiles' distance).
    Returns the summary written to ``identification.json``."""
    from sim.calibration.search import weighted

    spec = calibration.spec
    targets = calibration.targets
    moments = targets.moments()
    fitted = calibration.fitted
    ids = [m.id for m in fitted]
    count = spec.fresh_replicates or max(2 * len(moments), 2)
    seeds = fresh_seeds(calibration, count)

    # fit and Ω on fresh seeds
    fresh = _complete(run_jobs([(estimate, s) for s in seeds]), "a fresh run at the estimate")
    fresh_mean = fresh.mean()
    fit = fit_table(targets, fresh_mean)
    fit["model_p05"] = fresh.quantile(0.05).reindex(fit["moment"]).to_numpy()
    fit["model_p95"] = fresh.quantile(0.95).reindex(fit["moment"]).to_numpy()
    fit["model_sd"] = fresh.std(ddof=1).reindex(fit["moment"]).to_numpy()
    write_text_atomic(out / "fit.csv", fit.to_csv(index=False))
    standard_errors = pd.Series({m.id: m.standard_error for m in fitted})
    omega = moment_covariance(standard_errors, fresh, spec.replicates)
    write_text_atomic(out / "omega.csv", omega.to_csv())

    # Jacobian, standard errors, identification
    ranges = calibration.ranges
    jac_seeds = seeds[:spec.jacobian_replicates]
    cache: dict[tuple, pd.Series] = {}

    def simulate_batched(values: dict[str, float], seed: int) -> pd.Series:
        return cache[(tuple(sorted(values.items())), seed)]

    jobs = [({**estimate, name: value}, s)
            for name, pair in central_points(estimate, ranges, spec.jacobian_step).items()
            for value in pair for s in jac_seeds]
    results = _complete(run_jobs(jobs), "a run of the Jacobian's central differences")
    for (values, seed), (_, result) in zip(jobs, results.iterrows()):
        cache[(tuple(sorted(values.items())), seed)] = result
    jac = jacobian(simulate_batched, estimate, ranges, jac_seeds, spec.jacobian_step)
    write_text_atomic(out / "jacobian.csv", jac.derivative.loc[ids].to_csv())
    write_text_atomic(out / "jacobian_t.csv", jac.t.loc[ids].to_csv())
    # only the moments that bind at the estimate inform it: a floor or ceiling met adds
    # nothing to the objective near it
    fresh_gaps = gaps(fitted, fresh_mean)
    binding = [m.id for m in fitted if not (m.bound and fresh_gaps[m.id] == 0.0)]
    derivative = jac.derivative.loc[binding]
    covariance = sandwich(derivative, omega.loc[binding, binding],
                          weight=weight.loc[binding, binding],
                          prior_precision=prior_precision(calibration, list(estimate)))
    root_w = np.sqrt(np.diag(weight.loc[binding, binding].to_numpy()))
    ident = identification(derivative, pd.Series(1.0 / root_w, index=binding), covariance,
                           estimate, ranges)
    for name in estimate:
        if name not in ident.not_identified and \
                not (jac.t.loc[binding, name].abs() > 2.0).any():
            ident.not_identified[name] = "no moment moves with it beyond noise (|t| ≤ 2)"
    estimates = pd.DataFrame({
        "parameter": list(estimate), "estimate": list(estimate.values()),
        "low": [ranges[k][0] for k in estimate], "high": [ranges[k][1] for k in estimate],
        "standard_error": [ident.standard_errors[k] for k in estimate],
        "identified": [k not in ident.not_identified for k in estimate],
        "why_not": [ident.not_identified.get(k, "") for k in estimate]})
    write_text_atomic(out / "estimates.csv", estimates.to_csv(index=False))
    write_text_atomic(out / "correlations.csv", ident.correlations.to_csv())
    # the over-identification statistic, descriptive: each binding gap of the fresh mean
    # (N runs) against the targets' variance plus the simulated variance over N
    gap = (fresh_gaps * standard_errors)[binding]
    variance = standard_errors[binding] ** 2 + fresh[binding].var(ddof=1) / len(fresh)
    over = float((gap ** 2 / variance).sum())
    summary = {"fresh_runs": len(fresh), "jacobian_seeds": len(jac_seeds),
               "singular_values": [float(v) for v in ident.singular_values],
               "not_identified": ident.not_identified,
               "over_identification": over,
               "over_identification_degrees_of_freedom": len(binding) - len(estimate),
               "moments_fitted": len(fitted), "moments_binding": len(binding),
               "parameters": len(estimate),
               "distance_fresh": weighted(calibration, weight, fresh_mean),
               "distance_holdout_fresh": distance(targets, fresh_mean, holdout=True)}
    write_text_atomic(out / "identification.json", json.dumps(summary, indent=2))

    # profiles of the objective, on the search's seeds
    if spec.profile_points:
        search_seeds = calibration.search_seeds()
        points = []
        for name in estimate:
            low, high = ranges[name]
            for x in np.linspace(low, high, spec.profile_points):
                points.append((name, float(x)))
        jobs = [({**estimate, name: x}, s) for name, x in points for s in search_seeds]
        results = run_jobs(jobs)
        rows = []
        per_point = len(search_seeds)
        for k, (name, x) in enumerate(points):
            runs = results[k * per_point:(k + 1) * per_point]
            value = np.nan if any(r is None for r in runs) else \
                weighted(calibration, weight, pd.DataFrame(runs).mean()) \
                + calibration.prior_penalty({**estimate, name: x})
            rows.append({"parameter": name, "value": x, "distance": value})
        profiles = pd.DataFrame(rows)
        write_text_atomic(out / "profiles.csv", profiles.to_csv(index=False))
    from sim.plot_calibration import fit_figure, profile_figure

    fit_figure(fit, out / "fit.png")
    if spec.profile_points:
        profile_figure(profiles, estimates, out / "profiles.png")
    return summary
