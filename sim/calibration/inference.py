"""What an estimate is worth: the moment covariance, the Jacobian of the moments, standard
errors by the method-of-simulated-moments sandwich, and identification.

Plain functions over arrays and a ``simulate(values, seed) -> moments`` callable
(:class:`sim.calibration.simulate.Simulator`), so they serve any search:

* Ω = the targets' stated covariance (diagonal: each moment's standard error²) + (1/R) ×
  the covariance of the simulated moments over fresh seeds, R the replicates averaged at
  each point of the search;
* the Jacobian by central differences at a share of each parameter's range, every
  replicate on the same seeds at θ + h and θ − h (common random numbers), with each
  derivative's t (its mean over the replicates' derivatives against their spread);
* with the weight W = Ω⁻¹ the sandwich reduces to (Jᵀ Ω⁻¹ J)⁻¹; a general W keeps the
  full form (Jᵀ W J)⁻¹ Jᵀ W Ω W J (Jᵀ W J)⁻¹;
* identification: singular values of the Jacobian scaled by each moment's standard error
  and each parameter's range, correlations of the estimates, and a parameter flagged
  when it sits at a bound or its standard error exceeds a quarter of its range.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

Simulate = Callable[[dict[str, float], int], pd.Series]


def moment_covariance(standard_errors: pd.Series, draws: pd.DataFrame,
                      replicates: int) -> pd.DataFrame:
    """Ω over the moments of ``standard_errors`` (index: moment ids): the targets'
    variances on the diagonal plus the covariance of ``draws`` (one row per fresh-seed
    run, a column per moment) over ``replicates``."""
    if len(draws) < 2:
        raise ValueError("the covariance of the simulated moments needs at least 2 runs")
    ids = list(standard_errors.index)
    simulated = draws[ids].cov().to_numpy()
    omega = np.diag(standard_errors.to_numpy() ** 2) + simulated / max(replicates, 1)
    return pd.DataFrame(omega, index=ids, columns=ids)


def weighted_distance(gap: pd.Series, omega: pd.DataFrame) -> float:
    """gᵀ Ω⁻¹ g for the gaps ``gap`` (model − target, in the moments' own units; 0 for a
    floor or ceiling met), Ω by :func:`moment_covariance` (pseudo-inverse if singular)."""
    g = gap[omega.index].to_numpy()
    return float(g @ np.linalg.pinv(omega.to_numpy()) @ g)


@dataclass
class Jacobian:
    """d moments / d parameters (rows: moments, columns: parameters), each derivative's
    t across the replicates, and the steps taken."""

    derivative: pd.DataFrame
    t: pd.DataFrame
    step: pd.Series


def central_points(estimate: dict[str, float], ranges: dict[str, tuple[float, float]],
                   step_share: float) -> dict[str, tuple[float, float]]:
    """Each parameter's value up and down for central differences at ``estimate``:
    ``step_share`` × its range each way, stopping at the range's ends."""
    points = {}
    for name, value in estimate.items():
        low, high = ranges[name]
        h = step_share * (high - low)
        points[name] = (min(value + h, high), max(value - h, low))
    return points


def jacobian(simulate: Simulate, estimate: dict[str, float],
             ranges: dict[str, tuple[float, float]], seeds: Sequence[int],
             step_share: float = 0.075) -> Jacobian:
    """Central differences of the moments at ``estimate``: each parameter moved by
    ``step_share`` × its range up and down (a step that would leave the range stops at
    its end), each seed of ``seeds`` run at both points (common random
    numbers); the derivative is the mean over seeds and its t the mean ÷ (sd / √n)."""
    if len(seeds) < 2:
        raise ValueError("the Jacobian's t needs at least 2 seeds")
    columns, t_columns, steps = {}, {}, {}
    for name, (up, down) in central_points(estimate, ranges, step_share).items():
        per_seed = []
        for seed in seeds:
            plus = simulate({**estimate, name: up}, seed)
            minus = simulate({**estimate, name: down}, seed)
            per_seed.append((plus - minus) / (up - down))
        frame = pd.DataFrame(per_seed)
        mean = frame.mean()
        spread = frame.std(ddof=1) / np.sqrt(len(seeds))
        columns[name] = mean
        with np.errstate(divide="ignore", invalid="ignore"):
            t_columns[name] = mean / spread.replace(0.0, np.nan)
        steps[name] = (up - down) / 2.0
    return Jacobian(pd.DataFrame(columns), pd.DataFrame(t_columns), pd.Series(steps))


def sandwich(derivative: pd.DataFrame, omega: pd.DataFrame,
             weight: pd.DataFrame | None = None,
             prior_precision: np.ndarray | None = None) -> pd.DataFrame:
    """The estimates' covariance: (Jᵀ W J + P)⁻¹ Jᵀ W Ω W J (Jᵀ W J + P)⁻¹, W = Ω⁻¹ by
    default (then, without priors, (Jᵀ Ω⁻¹ J)⁻¹); P the priors' precision (diag 1/sd², in
    the order of ``derivative``'s columns; the penalty Σ((θ−μ)/sd)² adds it to the
    objective's curvature and nothing to the moments' noise)."""
    ids = list(omega.index)
    j = derivative.loc[ids].to_numpy()
    o = omega.to_numpy()
    w = np.linalg.pinv(o) if weight is None else weight.loc[ids, ids].to_numpy()
    curvature = j.T @ w @ j
    if prior_precision is not None:
        curvature = curvature + prior_precision
    bread = np.linalg.pinv(curvature)
    cov = bread @ (j.T @ w @ o @ w @ j) @ bread
    names = list(derivative.columns)
    return pd.DataFrame(cov, index=names, columns=names)


@dataclass
class Identification:
    singular_values: np.ndarray     # of the scaled Jacobian, largest first
    standard_errors: pd.Series
    correlations: pd.DataFrame
    not_identified: dict[str, str]  # parameter → why


def identification(derivative: pd.DataFrame, standard_errors: pd.Series,
                   covariance: pd.DataFrame, estimate: dict[str, float],
                   ranges: dict[str, tuple[float, float]],
                   at_bound_share: float = 0.01) -> Identification:
    """How well the moments pin the parameters down: the singular values of J scaled by
    each moment's standard error (rows) and each parameter's range (columns); the
    estimates' standard errors and correlations from ``covariance``; and each parameter
    not identified — one that moves no moment, alone or in a combination with others (it
    loads on a direction of the scaled Jacobian with a singular value ~0, where the
    pseudo-inverse's standard error means nothing), at a bound (within
    ``at_bound_share`` of its range) or with a standard error above a quarter of its
    range."""
    ids = list(standard_errors.index)
    width = pd.Series({name: ranges[name][1] - ranges[name][0] for name in derivative})
    scaled = derivative.loc[ids].to_numpy() / standard_errors.to_numpy()[:, None] \
        * width.to_numpy()[None, :]
    _, singular, directions = np.linalg.svd(scaled, full_matrices=True)
    tolerance = 1e-9 * max(float(singular[0]) if singular.size else 0.0, 1e-300)
    rank = int((singular > tolerance).sum())
    blind = set()
    for direction in directions[rank:]:
        blind |= {name for name, load in zip(derivative.columns, direction)
                  if abs(load) > 0.1}
    se = pd.Series(np.sqrt(np.clip(np.diag(covariance.to_numpy()), 0.0, None)),
                   index=covariance.index)
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = covariance.to_numpy() / np.outer(se.to_numpy(), se.to_numpy())
    flagged = {}
    for name in derivative.columns:
        if name in blind:
            flagged[name] = "moves no moment (alone or with other parameters)"
            continue
        low, high = ranges[name]
        margin = at_bound_share * (high - low)
        if estimate[name] <= low + margin or estimate[name] >= high - margin:
            flagged[name] = "at a bound"
        elif not np.isfinite(se[name]) or se[name] > 0.25 * (high - low):
            flagged[name] = f"standard error {se[name]:.3g} above a quarter of its range"
    return Identification(singular, se, pd.DataFrame(corr, index=covariance.index,
                                                     columns=covariance.columns), flagged)
