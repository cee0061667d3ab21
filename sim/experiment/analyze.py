"""Sensitivity of a stored experiment: Morris or Sobol indices (SALib), over replicates.

Each run is reduced to one number per output (the mean of a quarterly column over the
reported quarters, or its last value). Indices are computed on the replicate means, with
SALib's bootstrap confidence intervals, and again for each complete replicate: the spread
across replicates shows how much of an index is simulation noise. A Sobol design sampled
with second-order terms also gets its pairwise indices (S2). A grid or Latin hypercube
gets a summary instead: each point's mean and 95% interval across replicates. Designs too
small for meaningful indices (one Sobol base sample, one Morris trajectory) are refused.
"""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.experiment.scalars import HEADLINE_OUTPUTS, run_scalars
from sim.experiment.spec import MIN_SAMPLES, ExperimentError, design_size_problem

CONF_LEVEL = 0.95
RESAMPLES = 200
ANALYSIS_SEED = 20240101  # bootstrap resampling only; indices themselves are exact


def response_matrix(scalars: pd.DataFrame, output: str, points: int,
                    replicates: int) -> np.ndarray:
    """[points, replicates] of one output; NaN where a run is missing."""
    matrix = np.full((points, replicates), np.nan)
    matrix[scalars["point"].to_numpy(), scalars["replicate"].to_numpy()] = scalars[output]
    return matrix


def _replicate_mean(matrix: np.ndarray, output: str) -> np.ndarray:
    empty = np.isnan(matrix).all(axis=1)
    if empty.any():
        raise ExperimentError(
            f"'{output}' has no value at {int(empty.sum())} design points (runs missing or "
            "failed); run `sim sweep` again to complete them before analysing")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(matrix, axis=1)


def _complete_replicates(matrix: np.ndarray) -> list[int]:
    return [r for r in range(matrix.shape[1]) if np.isfinite(matrix[:, r]).all()]


def _spread(reps: np.ndarray) -> dict[str, Any]:
    """An index's mean and sd over the complete replicates."""
    return {"replicate_mean": float(reps.mean()) if len(reps) else math.nan,
            "replicate_sd": float(reps.std(ddof=1)) if len(reps) > 1 else math.nan,
            "replicates": len(reps)}


def _rows(output: str, names: list[str], main: dict, per_rep: list[dict],
          indices: tuple[str, ...]) -> list[dict[str, Any]]:
    rows = []
    for i, name in enumerate(names):
        for index in indices:
            reps = np.array([r[index][i] for r in per_rep], dtype=float)
            conf = main.get(f"{index}_conf")
            rows.append({
                "output": output, "parameter": name, "index": index,
                "value": float(main[index][i]),
                "conf": float(conf[i]) if conf is not None else math.nan,
                **_spread(reps)})
    return rows


def second_order_rows(output: str, names: list[str], main: dict,
                      per_rep: list[dict]) -> list[dict[str, Any]]:
    """One row per pair of parameters: SALib's S2 (the share of variance their
    interaction alone explains) with its bootstrap half-width and replicate spread."""
    rows = []
    for i, j in itertools.combinations(range(len(names)), 2):
        reps = np.array([r["S2"][i, j] for r in per_rep], dtype=float)
        rows.append({"output": output, "parameter": names[i], "other": names[j],
                     "index": "S2", "value": float(main["S2"][i, j]),
                     "conf": float(main["S2_conf"][i, j]), **_spread(reps)})
    return rows


def morris_analyze(problem: dict, sample: np.ndarray, y: np.ndarray, num_levels: int) -> dict:
    """SALib's Morris analysis of one response ``y`` (one value per row of ``sample``):
    mu_star, mu, sigma and mu_star_conf (bootstrap half-width) per parameter."""
    from SALib.analyze import morris

    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return morris.analyze(problem, sample, y, num_resamples=RESAMPLES,
                              conf_level=CONF_LEVEL, num_levels=num_levels,
                              seed=ANALYSIS_SEED)


def morris_indices(problem: dict, sample: np.ndarray, matrix: np.ndarray, output: str,
                   num_levels: int) -> list[dict[str, Any]]:
    """mu*, mu and sigma of one output; conf is SALib's bootstrap half-width for mu*."""

    def run(y: np.ndarray) -> dict:
        return morris_analyze(problem, sample, y, num_levels)

    main = run(_replicate_mean(matrix, output))
    per_rep = [run(matrix[:, r]) for r in _complete_replicates(matrix)]
    return _rows(output, problem["names"], main, per_rep, ("mu_star", "mu", "sigma"))


def sobol_results(problem: dict, matrix: np.ndarray, output: str,
                  second_order: bool) -> tuple[dict, list[dict]]:
    """SALib's Sobol analysis of one output: on the replicate means, and per complete
    replicate."""
    from SALib.analyze import sobol

    def run(y: np.ndarray) -> dict:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return sobol.analyze(problem, y, calc_second_order=second_order,
                                 num_resamples=RESAMPLES, conf_level=CONF_LEVEL,
                                 seed=ANALYSIS_SEED)

    main = run(_replicate_mean(matrix, output))
    return main, [run(matrix[:, r]) for r in _complete_replicates(matrix)]


def sobol_indices(problem: dict, matrix: np.ndarray, output: str,
                  second_order: bool) -> list[dict[str, Any]]:
    """First-order (S1) and total (ST) indices of one output, with bootstrap half-widths."""
    main, per_rep = sobol_results(problem, matrix, output, second_order)
    return _rows(output, problem["names"], main, per_rep, ("S1", "ST"))


def point_summary(scalars: pd.DataFrame, design: pd.DataFrame, keys: list[str],
                  outputs: list[str]) -> pd.DataFrame:
    """Each design point's mean, sd and 95% interval (t, across replicates) of each output."""
    from scipy import stats

    rows = []
    for output in outputs:
        grouped = scalars.groupby("point")[output]
        table = grouped.agg(["mean", "std", "count"]).reset_index()
        dof = (table["count"] - 1).clip(lower=1)
        half = stats.t.ppf(0.5 + CONF_LEVEL / 2, dof) * table["std"] / np.sqrt(table["count"])
        table["conf"] = half.where(table["count"] > 1)
        table.insert(0, "output", output)
        rows.append(table.rename(columns={"std": "sd", "count": "replicates"}))
    summary = pd.concat(rows, ignore_index=True).merge(design[["point", *keys]], on="point",
                                                       how="left")
    return summary[["output", "point", *keys, "mean", "sd", "replicates", "conf"]]


@dataclass
class Analysis:
    """A sensitivity table (Morris, Sobol) or point summary of a stored experiment.

    Only data: :func:`sim.plot_experiment.analysis_figure` draws it and
    :func:`sim.experiment.report.write_analysis` writes both to files.
    """

    method: str
    statistic: str
    table: pd.DataFrame
    parameters: list[str] = field(default_factory=list)
    second_order: pd.DataFrame | None = None    # S2 of each pair, when the design paid for it


def check_design_size(path: str | Path, design: dict[str, Any], method: str) -> None:
    """Refuse a stored Sobol or Morris design too small to give meaningful indices."""
    samples = design.get("samples")
    problem = design_size_problem(method, samples)
    if problem is not None:
        unit = "base sample" if method == "sobol" else "trajectory"
        raise ExperimentError(
            f"{path} holds a {method} design of {samples} {unit}: {problem}; sweep the "
            f"experiment again with design.samples = {MIN_SAMPLES[method]} or more "
            "(into a new --out)")


def analyze(path: str | Path, outputs: list[str] | None = None, method: str | None = None,
            statistic: str = "mean") -> Analysis:
    """Indices (Morris, Sobol) or a point summary (grid, LHS) of a stored experiment."""
    from sim.experiment.store import Store, load

    store = Store(path)
    manifest = store.manifest()
    design_method = manifest["design"]["method"]
    stored_outputs = manifest["outputs"]
    if outputs:
        unknown = [o for o in outputs if o not in stored_outputs]
        if unknown:
            raise ExperimentError(f"output '{unknown[0]}' is not stored in {path}; stored: "
                                  f"{', '.join(stored_outputs)}")
    else:
        outputs = [o for o in HEADLINE_OUTPUTS if o in stored_outputs] or stored_outputs[:6]
    natural = design_method if design_method in ("morris", "sobol") else "summary"
    method = method or natural
    if method != natural:
        raise ExperimentError(
            f"{method} indices need a {method} design; {path} holds a {design_method} design"
            + (f" (use --method {natural})" if natural != "summary" else
               " (without --method it is summarised point by point)"))
    if method != "summary":
        check_design_size(path, manifest["design"], method)
    frame = load(path)
    if frame.empty:
        raise ExperimentError(f"{path} has no stored runs yet; run `sim sweep` first")
    scalars = run_scalars(frame, outputs, statistic)
    design = store.design()
    keys = list(manifest["design"]["parameters"])
    if method == "summary":
        table, pairs = point_summary(scalars, design, keys, outputs), None
    else:
        table, pairs = _indices(method, manifest, design, scalars, outputs)
    for part in (table, pairs):
        if part is not None:
            part.attrs.update(method=method, statistic=statistic,
                              experiment=manifest["name"], parameters=keys)
    return Analysis(method=method, statistic=statistic, table=table, parameters=keys,
                    second_order=pairs)


def _indices(method: str, manifest: dict, design: pd.DataFrame, scalars: pd.DataFrame,
             outputs: list[str]) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Morris or Sobol indices of each output, and the second-order Sobol indices when the
    design was sampled for them (None otherwise)."""
    from sim.experiment.store import SAMPLE_PREFIX

    spec = manifest["design"]
    problem, keys = spec["problem"], list(spec["parameters"])
    points, reps = spec["points"], manifest["replications"]
    second_order = method == "sobol" and bool(spec.get("second_order"))
    rows: list[dict[str, Any]] = []
    pairs: list[dict[str, Any]] = []
    for output in outputs:
        matrix = response_matrix(scalars, output, points, reps)
        if method == "morris":
            sample = design[[SAMPLE_PREFIX + k for k in keys]].to_numpy(dtype=float)
            rows += morris_indices(problem, sample, matrix, output, spec["levels"])
            continue
        main, per_rep = sobol_results(problem, matrix, output, second_order)
        rows += _rows(output, problem["names"], main, per_rep, ("S1", "ST"))
        if second_order:
            pairs += second_order_rows(output, problem["names"], main, per_rep)
    return pd.DataFrame(rows), pd.DataFrame(pairs) if second_order else None
