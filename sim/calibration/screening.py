"""``sim calibrate FILE --screen``: which parameters of a calibration file move which of its
target moments (Morris elementary effects), before anything is estimated.

A Morris design (SALib, seeded from the file's seed) walks ``screen_trajectories`` paths
of ``parameters + 1`` points through the ranges on a grid of ``screen_levels`` levels;
each point runs the file's ``replicates`` on the search's seeds (common random numbers,
so an elementary effect is the parameter's, not sampling noise). Runs are stored in the
calibration folder as the search's are, one JSON file each, the moment it finishes; the
same command resumes.

Each moment's effects are given in its own units (μ*, μ, σ) and on its gap to the target
in standard errors (``mu_star_se``: μ* of (model − target) / se, a floor or ceiling met
counting 0), so that one table compares a loan stock in 万亿 with a share, and a
parameter that only moves a floor the model meets anyway counts for nothing. A parameter
whose ``mu_star_se`` is below 1 for every moment barely moves the fit; its influence on
the whole fit is the root sum of squares of ``mu_star_se`` over the fitted moments. Written:
``screening.csv`` (one row per parameter and moment), ``screening_rank.csv`` (one row
per parameter, most influential first) and ``screening.png``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.calibration.search import Store, _Pool
from sim.experiment.clusters import DEFAULT_IDLE_MINUTES, TlsFiles
from sim.calibration.spec import Calibration, CalibrationError
from sim.experiment.design import salib_problem
from sim.experiment.seeds import design_seed
from sim.experiment.store import write_text_atomic


class ScreeningStore(Store):
    """The screening's runs beside the search's, in the same folder and manifest; the
    design's size is in the name, so a screening of another size never reads them."""

    def __init__(self, calibration: Calibration, out: Path, trajectories: int, levels: int):
        super().__init__(calibration, out)
        self.prefix = f"screen-{trajectories}x{levels}"

    def _path(self, trial: int, replicate: int) -> Path:
        return self.runs / f"{self.prefix}-p{trial:05d}-r{replicate:03d}.json"


@dataclass
class Screening:
    """Morris effects of every parameter on every moment (``table``), the parameters
    ranked by influence on the fit (``rank``), and the work done."""

    table: pd.DataFrame
    rank: pd.DataFrame
    points: int
    executed: int
    reused: int
    seconds: float


def morris_design(calibration: Calibration) -> tuple[dict, np.ndarray]:
    """The SALib problem and its Morris sample (points × parameters)."""
    from SALib.sample import morris

    spec = calibration.spec
    problem = salib_problem(spec.parameters)
    sample = morris.sample(problem, spec.screen_trajectories,
                           num_levels=spec.screen_levels, seed=design_seed(spec.seed))
    return problem, sample


def screen(calibration: Calibration, out: str | Path, *, workers: int = 1,
           scheduler: str | None = None, slurm=None, progress: bool = False,
           idle_minutes: float | None = DEFAULT_IDLE_MINUTES,
           tls: TlsFiles | None = None) -> Screening:
    """Run (or resume) the Morris screening of ``calibration`` into ``out``;
    ``idle_minutes`` and ``tls`` as for :func:`sim.calibration.search.calibrate`."""
    spec = calibration.spec
    out = Path(out)
    store = ScreeningStore(calibration, out, spec.screen_trajectories, spec.screen_levels)
    problem, sample = morris_design(calibration)
    names = problem["names"]
    seeds = calibration.search_seeds()
    started = time.perf_counter()
    runs: dict[tuple[int, int], dict[str, float]] = {}
    jobs = []
    for point, row in enumerate(sample):
        values = {key: float(v) for key, v in zip(names, row)}
        for r, seed in enumerate(seeds):
            stored = store.load(point, r, values, replay_failed=False)
            if stored is not None:
                runs[point, r] = stored
            else:
                jobs.append((point, r, seed, values))
    reused = len(runs)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(jobs), unit="run", desc="screening", leave=False, disable=None)
    with _Pool(calibration.simulator, workers, scheduler, slurm, idle_minutes=idle_minutes,
               tls=tls, announce=progress) as pool:
        for evaluation in pool.each(jobs):
            store.save(evaluation)
            runs[evaluation.trial, evaluation.replicate] = evaluation
            if bar is not None:
                bar.update(1)
    if bar is not None:
        bar.close()
    failed = [e for e in runs.values() if e.moments is None]
    if failed:
        raise CalibrationError(
            f"{len(failed)} screening runs failed (first: point {failed[0].trial}, "
            f"{failed[0].error}); a Morris design needs every point. The same command runs "
            "the failed ones again (the others are kept); if they fail again, narrow the "
            "ranges in a new folder")
    moments = pd.DataFrame(
        [pd.DataFrame([runs[p, r].moments for r in range(len(seeds))]).mean()
         for p in range(len(sample))])
    table = morris_table(calibration, problem, sample, moments)
    rank = influence(calibration, table)
    write_text_atomic(out / "screening.csv", table.to_csv(index=False))
    write_text_atomic(out / "screening_rank.csv", rank.to_csv(index=False))
    from sim.plot_calibration import screening_figure

    screening_figure(table, rank, out / "screening.png")
    return Screening(table=table, rank=rank, points=len(sample), executed=len(jobs),
                     reused=reused, seconds=time.perf_counter() - started)


def morris_table(calibration: Calibration, problem: dict, sample: np.ndarray,
                 moments: pd.DataFrame) -> pd.DataFrame:
    """μ*, μ and σ of the elementary effects of each parameter on each moment (its own
    units) and μ* on its gap in standard errors (a floor or ceiling met counting 0); a
    moment undefined at some point (a growth of a stock that fell to zero) is left out."""
    from sim.calibration.moments import gaps
    from sim.experiment.analyze import morris_analyze

    def analyze(y: np.ndarray) -> dict:
        return morris_analyze(problem, sample, y, calibration.spec.screen_levels)

    rows = []
    for m in calibration.targets.moments():
        y = moments[m.id].to_numpy(dtype=float)
        if not np.isfinite(y).all():
            continue
        raw = analyze(y)
        gap = analyze(np.array([gaps([m], row)[m.id] for _, row in moments.iterrows()]))
        for i, name in enumerate(problem["names"]):
            rows.append({"moment": m.id, "figure": m.target.figure, "holdout": m.holdout,
                         "bound": m.bound or "", "parameter": name,
                         "mu_star": float(raw["mu_star"][i]), "mu": float(raw["mu"][i]),
                         "sigma": float(raw["sigma"][i]),
                         "mu_star_conf": float(raw["mu_star_conf"][i]),
                         "standard_error": m.standard_error,
                         "mu_star_se": float(gap["mu_star"][i])})
    return pd.DataFrame(rows)


def influence(calibration: Calibration, table: pd.DataFrame) -> pd.DataFrame:
    """Each parameter's influence on the fit: √Σ (μ*/se)² over the fitted moments, how
    many fitted moments it moves by a standard error or more, and the moment it moves
    most; most influential first."""
    fitted = table[~table["holdout"]]
    rows = []
    for name in calibration.spec.parameters:
        own = fitted[fitted["parameter"] == name]
        top = own.loc[own["mu_star_se"].idxmax()] if len(own) else None
        rows.append({"parameter": name,
                     "influence": float(math.sqrt((own["mu_star_se"] ** 2).sum())),
                     "moments_moved": int((own["mu_star_se"] >= 1.0).sum()),
                     "top_moment": top["moment"] if top is not None else "",
                     "top_mu_star_se": float(top["mu_star_se"]) if top is not None
                     else math.nan})
    rank = pd.DataFrame(rows).sort_values("influence", ascending=False, kind="stable")
    return rank.reset_index(drop=True)
