"""The model's side of a target: a run's tables reduced to the statistic each target
names (:mod:`sim.calibration.targets`), and the distance between the two.

A run gives one number per moment; the distance is the simulated-moments quadratic form
``Σ ((m − t) / se)²`` over the moments used, with a floor or ceiling counting only when
the model is on its wrong side (so a floor met costs nothing). The full weighting by the
moment covariance (targets' plus simulation noise) builds on these per-moment gaps.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sim.calibration.targets import Moment, Target, TargetsError, TargetsFile, fit_line


def _year_values(t: Target, quarterly: pd.DataFrame, groups: pd.DataFrame | None,
                 years: list[int]) -> np.ndarray:
    """The target's output over each of ``years``: its fourth quarter, or the average or
    sum of the year's quarters; a ratio or a group share is taken of the reduced
    numerator and denominator."""
    labels = quarterly["quarter"].astype(str)

    def reduce(series: pd.Series, year: int) -> float:
        if t.period == "q4":
            picked = series[labels == f"{year}Q4"]
        else:
            picked = series[labels.str.startswith(str(year))]
            if len(picked) < 4:
                picked = picked.iloc[:0]
        if picked.empty:
            raise TargetsError(f"target '{t.id}': the run does not cover {year} "
                               f"({t.period}; it reports {labels.iloc[0]}–{labels.iloc[-1]})")
        return float(picked.sum() if t.period == "annual_sum" else picked.mean())

    if t.table == "groups":
        if groups is None:
            raise TargetsError(f"target '{t.id}' reads the groups table, which the run "
                               "does not have")
        rows = groups[(groups["dimension"] == t.dimension) & (groups["metric"] == t.metric)]
        wide = rows.pivot_table(index="quarter", columns="group", values="value",
                                aggfunc="sum", observed=True)
        wide = wide.reindex(quarterly["quarter"].astype(str).to_numpy())
        wide.index = quarterly.index
        part = wide[t.groups].sum(axis=1)
        if not t.as_share:
            return np.array([reduce(part, y) for y in years])
        whole = wide.sum(axis=1)
        return np.array([reduce(part, y) / reduce(whole, y) for y in years])
    values = np.array([reduce(quarterly[t.column], y) for y in years])
    if t.denominator:
        below = np.array([sum(reduce(quarterly[c], y) for c in t.denominator) for y in years])
        values = values / below
    return values


def simulated_moments(targets: TargetsFile, quarterly: pd.DataFrame,
                      groups: pd.DataFrame | None = None) -> pd.Series:
    """One number per moment of ``targets`` (index: the moment ids) from one run's
    quarterly table (and groups table, for group targets)."""
    out: dict[str, float] = {}
    for t in targets.target:
        values = _year_values(t, quarterly, groups, t.years)
        if t.statistic == "level":
            out[t.id] = float(values[0])
        elif t.statistic == "growth":
            span = t.years[1] - t.years[0]
            out[t.id] = float((values[1] / values[0]) ** (1.0 / span) - 1.0) \
                if values[0] > 0 and values[1] > 0 else math.nan
        else:
            level, slope = fit_line(t.years, values)
            out[f"{t.id}:level"] = level
            out[f"{t.id}:slope"] = slope
    return pd.Series(out, dtype=float)


def gaps(moments: list[Moment], simulated: pd.Series) -> pd.Series:
    """Each moment's gap in standard errors, (model − target) / se; 0 for a floor or
    ceiling the model meets."""
    out = {}
    for m in moments:
        z = (simulated[m.id] - m.value) / m.standard_error
        if (m.bound == "floor" and z > 0) or (m.bound == "ceiling" and z < 0):
            z = 0.0
        out[m.id] = z
    return pd.Series(out, dtype=float)


def distance(targets: TargetsFile, simulated: pd.Series, holdout: bool = False) -> float:
    """Σ gap² over the moments fitted (``holdout`` True: over the held-out ones); infinite
    when a moment is undefined (a growth rate of a stock that fell to zero), so that a
    search never prefers such a run."""
    chosen = [m for m in targets.moments() if m.holdout == holdout]
    z = gaps(chosen, simulated).to_numpy()
    if not np.isfinite(z).all():
        return math.inf
    return float(np.sum(z ** 2))


def fit_table(targets: TargetsFile, simulated: pd.Series) -> pd.DataFrame:
    """Every moment beside the model's value: target, model, gap in standard errors,
    relative gap, whether held out, and the source's figure id."""
    rows = []
    for m in targets.moments():
        model = float(simulated[m.id])
        z = gaps([m], simulated)[m.id]
        rows.append({"moment": m.id, "figure": m.target.figure, "target": m.value,
                     "model": model, "gap_se": z,
                     "gap_relative": (model - m.value) / abs(m.value) if m.value else math.nan,
                     "bound": m.bound or "", "holdout": m.holdout})
    return pd.DataFrame(rows)
