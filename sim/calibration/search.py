"""``sim calibrate``: search the parameters of a calibration file for the smallest
simulated-moments distance to its targets, resumably.

The search asks Optuna's sampler (CMA-ES or TPE, seeded) for a batch of points, runs each
point's replicates — the same seeds at every point, common random numbers — in parallel
on the project's Dask machinery (or serially), averages their moments and tells the
sampler each point's distance gᵀ W g: g the gaps to the targets (floors counting only
when missed, held-out targets left out), W the inverse of the diagonal of Ω, the targets'
variances plus the simulated moments' covariance over the replicates, measured once at
the centre of the ranges before the search (``omega_search.csv``); parameters with a
prior add ((value − mean) / sd)² each.

Every run's moments are written to the store as one small JSON file, atomically, the
moment it is known. A calibration started again with the same file and folder replays the
sampler from the stored runs — the seeded sampler asks for the same points given the same
answers — and runs only what is missing, so an interrupted calibration ends where an
uninterrupted one would. At the end the folder holds ``trials.csv`` (every point and its
distance), ``fit_search.csv`` (the best point's moments beside the targets, on the
search's seeds), ``estimate.toml`` (a scenario that ``extends`` the calibrated one with
the estimate) and what the estimate is worth, on fresh seeds (:mod:`sim.calibration.report`:
the fit with replicate bands, Ω, the Jacobian, standard errors, identification,
profiles).
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.calibration.moments import fit_table, gaps
from sim.calibration.simulate import Simulator
from sim.calibration.spec import Calibration, CalibrationError
from sim.experiment.clusters import DEFAULT_IDLE_MINUTES, IdleTimeout, TlsFiles
from sim.experiment.seeds import replicate_seed
from sim.experiment.store import read_json_run, write_text_atomic
from sim.output_paths import check_output_dir

MANIFEST = "calibration.json"
RUNS = "runs"
RUN_KEYS = ("trial", "replicate", "seed", "values", "moments")  # of every stored run
# The runs at the centre of the ranges that set the search's weight are stored as this
# trial; their seeds are replicates numbered from NOISE_OFFSET.
NOISE_TRIAL = -2
NOISE_OFFSET = 20_000


@dataclass(frozen=True)
class Evaluation:
    """One run of one point: what the worker sends back."""

    trial: int
    replicate: int
    seed: int
    values: dict[str, float]
    moments: dict[str, float] | None
    error: str = ""
    seconds: float = 0.0


def evaluate(simulator: Simulator, trial: int, replicate: int, seed: int,
             values: dict[str, float]) -> Evaluation:
    """Run one point and seed (on a worker); a failed run comes back with its error."""
    started = time.perf_counter()
    try:
        moments = simulator(values, seed)
        return Evaluation(trial, replicate, seed, values,
                          {k: float(v) for k, v in moments.items()},
                          seconds=time.perf_counter() - started)
    except Exception as exc:  # noqa: BLE001 - a failed run is recorded, the search goes on
        return Evaluation(trial, replicate, seed, values, None, error=repr(exc),
                          seconds=time.perf_counter() - started)


class Store:
    """A calibration folder: its manifest and one JSON file per run."""

    def __init__(self, calibration: Calibration, out: Path):
        self.out = out
        self.runs = out / RUNS
        manifest = {"name": calibration.spec.name, "digest": calibration.digest(),
                    "source": str(calibration.source),
                    "spec": calibration.spec.model_dump(mode="json")}
        path = out / MANIFEST
        # an empty name, a file on the path, a name too long, a folder nobody can write
        check_output_dir(out, "calibration folder", may_exist=True)
        try:
            self._open(out, path, manifest)
        except OSError as exc:
            raise CalibrationError(f"cannot write the calibration folder {out}: "
                                   f"{exc.strerror or exc}") from None

    def _open(self, out: Path, path: Path, manifest: dict) -> None:
        if path.exists():
            try:
                stored = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise CalibrationError(f"{path}: not a calibration manifest ({exc})") from None
            if not isinstance(stored, dict):
                raise CalibrationError(f"{path}: not a calibration manifest")
            if stored.get("digest") != manifest["digest"]:
                raise CalibrationError(
                    f"{out} holds a calibration of another file or version "
                    f"(digest {stored.get('digest')} against {manifest['digest']}); give "
                    "another --out, or remove the folder to start again")
        else:
            if out.exists() and any(out.iterdir()):
                raise CalibrationError(f"{out} is not empty and holds no calibration; give "
                                       "another --out")
            out.mkdir(parents=True, exist_ok=True)
            write_text_atomic(path, json.dumps(manifest, indent=2, ensure_ascii=False))
        self.runs.mkdir(exist_ok=True)

    def _path(self, trial: int, replicate: int) -> Path:
        if trial == NOISE_TRIAL:
            return self.runs / f"noise-r{replicate:04d}.json"
        return self.runs / f"t{trial:06d}-r{replicate:03d}.json"

    def load(self, trial: int, replicate: int, values: dict[str, float],
             replay_failed: bool = True) -> Evaluation | None:
        """The stored run, if any; one stored for other values means the sampler did not
        replay as recorded (refused). A stored failure is replayed as failed for the
        sampler's trials (so that it asks what it asked); runs outside the sampler (the
        centre of the ranges, a screening) are run again (``replay_failed`` False)."""
        path = self._path(trial, replicate)
        if not path.exists():
            return None
        evaluation = read_json_run(path, RUN_KEYS, Evaluation)
        if evaluation is None:  # broken: moved aside, and run again
            return None
        if evaluation.values != values:
            raise CalibrationError(f"{path}: stored for {evaluation.values}, but the search "
                                   f"now asks {values}: the store was made by another "
                                   "search")
        if evaluation.moments is None and not replay_failed:
            path.unlink(missing_ok=True)
            return None
        return evaluation

    def save(self, evaluation: Evaluation) -> None:
        write_text_atomic(self._path(evaluation.trial, evaluation.replicate),
                          json.dumps(evaluation.__dict__, ensure_ascii=False))


def _sampler(calibration: Calibration):
    import optuna

    seed = calibration.spec.seed
    if calibration.spec.sampler == "cmaes":
        return optuna.samplers.CmaEsSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed)


@dataclass
class SearchResult:
    trials: pd.DataFrame
    best_values: dict[str, float]
    best_distance: float
    fit: pd.DataFrame
    executed: int
    reused: int
    seconds: float
    report: dict | None = None      # identification.json's summary, when reported


def calibrate(calibration: Calibration, out: str | Path, *, workers: int = 1,
              scheduler: str | None = None, slurm=None, progress: bool = False,
              report: bool = True, idle_minutes: float | None = DEFAULT_IDLE_MINUTES,
              tls: TlsFiles | None = None) -> SearchResult:
    """Run (or resume) the search of ``calibration`` into the folder ``out``; then, with
    ``report``, what the estimate is worth (:mod:`sim.calibration.report`). On a cluster,
    :class:`~sim.experiment.clusters.IdleTimeout` when no run finishes and no worker works
    for ``idle_minutes`` (None: no limit); ``tls`` names a tls:// scheduler's certificates."""
    try:
        return _calibrate(calibration, Path(out), workers=workers, scheduler=scheduler,
                          slurm=slurm, progress=progress, report=report,
                          idle_minutes=idle_minutes, tls=tls)
    except IdleTimeout as exc:
        exc.stored = f"the runs done are stored in {out}"
        raise


def _calibrate(calibration: Calibration, out: Path, *, workers: int, scheduler: str | None,
               slurm, progress: bool, report: bool, idle_minutes: float | None,
               tls: TlsFiles | None) -> SearchResult:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    spec = calibration.spec
    calibration.check_searchable()
    out = Path(out)
    store = Store(calibration, out)
    simulator = calibration.simulator
    seeds = calibration.search_seeds()
    distributions = {key: optuna.distributions.FloatDistribution(low, high)
                     for key, (low, high) in calibration.ranges.items()}
    study = optuna.create_study(direction="minimize", sampler=_sampler(calibration))
    if spec.include_scenario:
        study.enqueue_trial(calibration.scenario_values())
    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    executed = reused = 0
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=spec.trials, unit="point", desc="calibrating", leave=False,
                   disable=None)

    def run_batch(jobs: list[tuple[int, int, int, dict[str, float]]],
                  keep: bool = True) -> list[Evaluation]:
        """Run ``jobs``; with ``keep``, store each run the moment it finishes."""
        if not jobs:
            return []
        done = []
        for evaluation in pool.each(jobs):
            if keep:
                store.save(evaluation)
            done.append(evaluation)
        return sorted(done, key=lambda e: (e.trial, e.replicate))

    with _Pool(simulator, workers, scheduler, slurm, idle_minutes=idle_minutes, tls=tls,
               announce=progress) as pool:
        weight = _search_weight(calibration, store, out, run_batch)
        trial_number = 0
        while trial_number < spec.trials:
            size = min(spec.batch, spec.trials - trial_number)
            asked = [study.ask(distributions) for _ in range(size)]
            batch: dict[int, dict[int, Evaluation]] = {}
            jobs = []
            for k, trial in enumerate(asked):
                number = trial_number + k
                values = {key: float(trial.params[key]) for key in distributions}
                batch[number] = {}
                for r, seed in enumerate(seeds):
                    stored = store.load(number, r, values)
                    if stored is not None:
                        batch[number][r] = stored
                        reused += 1
                    else:
                        jobs.append((number, r, seed, values))
            for evaluation in run_batch(jobs):
                executed += 1
                batch[evaluation.trial][evaluation.replicate] = evaluation
            for k, trial in enumerate(asked):
                number = trial_number + k
                runs = [batch[number][r] for r in range(len(seeds))]
                failed = [e.error for e in runs if e.moments is None]
                values = runs[0].values
                if failed:
                    study.tell(trial, state=optuna.trial.TrialState.FAIL)
                    rows.append({"trial": number, **values, "distance": math.nan,
                                 "state": "failed: " + failed[0][:200]})
                    continue
                mean = pd.DataFrame([e.moments for e in runs]).mean()
                value = weighted(calibration, weight, mean) + calibration.prior_penalty(values)
                if not math.isfinite(value):
                    study.tell(trial, state=optuna.trial.TrialState.FAIL)
                    rows.append({"trial": number, **values, "distance": math.inf,
                                 "state": "failed: a moment is undefined"})
                    continue
                study.tell(trial, value)
                rows.append({"trial": number, **values, "distance": value, "state": "ok",
                             "elapsed_seconds": round(time.perf_counter() - started, 3)})
            trial_number += size
            if bar is not None:
                bar.update(size)
                bar.set_postfix_str(_progress_note(calibration, rows, batch, seeds))
        if bar is not None:
            bar.close()
        trials = pd.DataFrame(rows)
        write_text_atomic(out / "trials.csv", trials.to_csv(index=False))
        best_values = _best_values(trials, distributions)
        result = _search_result(calibration, store, trials, best_values, seeds, executed,
                                reused, started)
        _write_outputs(calibration, out, result)
        summary = None
        if report:
            from sim.calibration.report import write_report

            def run_jobs(pairs):
                """Moments of each (values, seed), None for a failed run (not stored:
                the report is computed again on a resumed calibration)."""
                jobs = [(-1, k, seed, values) for k, (values, seed) in enumerate(pairs)]
                return [e.moments for e in run_batch(jobs, keep=False)]

            summary = write_report(calibration, out, best_values, run_jobs, weight)
    result.report = summary
    return result


def _search_result(calibration, store, trials, best_values, seeds, executed, reused,
                   started) -> "SearchResult":
    finished = trials[trials["state"] == "ok"]
    best = finished.loc[finished["distance"].idxmin()]
    best_runs = pd.DataFrame([store.load(int(best["trial"]), r, best_values).moments
                              for r in range(len(seeds))])
    fit = fit_table(calibration.targets, best_runs.mean())
    fit["model_sd"] = best_runs.std(ddof=1).reindex(fit["moment"]).to_numpy() \
        if len(best_runs) > 1 else math.nan
    return SearchResult(trials=trials, best_values=best_values,
                        best_distance=float(best["distance"]), fit=fit,
                        executed=executed, reused=reused,
                        seconds=time.perf_counter() - started)


def _search_weight(calibration: Calibration, store: "Store", out: Path,
                   run_batch) -> pd.DataFrame:
    """The search's weight matrix over the fitted moments: the inverse of Ω's diagonal, Ω =
    the targets' variances + (1/R) × the covariance of the moments over
    ``noise_replicates`` runs at the centre of the ranges (stored and reused like the
    search's runs; Ω written to ``omega_search.csv``). The diagonal, not the full inverse:
    a covariance of ~20 moments from a few dozen runs is too noisy to invert (with the full
    inverse the example search ran to a bound of its range)."""
    from sim.calibration.inference import moment_covariance

    spec = calibration.spec
    fitted = calibration.fitted
    standard_errors = pd.Series({m.id: m.standard_error for m in fitted})
    count = spec.noise_replicates
    if count is None:
        count = 2 * len(fitted)
    centre = {key: (low + high) / 2.0 for key, (low, high) in calibration.ranges.items()}
    if count >= 2:
        runs = {}
        jobs = []
        for r in range(count):
            stored = store.load(NOISE_TRIAL, r, centre, replay_failed=False)
            if stored is not None:
                runs[r] = stored
            else:
                jobs.append((NOISE_TRIAL, r, replicate_seed(spec.seed, NOISE_OFFSET + r),
                             centre))
        for evaluation in run_batch(jobs):
            runs[evaluation.replicate] = evaluation
        failed = [e.error for e in runs.values() if e.moments is None]
        if failed:
            raise CalibrationError(f"a run at the centre of the ranges failed: {failed[0]}; "
                                   "the same command runs it again")
        draws = pd.DataFrame([runs[r].moments for r in range(count)])
        omega = moment_covariance(standard_errors, draws, spec.replicates)
    else:
        omega = pd.DataFrame(np.diag(standard_errors.to_numpy() ** 2),
                             index=standard_errors.index, columns=standard_errors.index)
    write_text_atomic(out / "omega_search.csv", omega.to_csv())
    return pd.DataFrame(np.diag(1.0 / np.diag(omega.to_numpy())), index=omega.index,
                        columns=omega.columns)


def weighted(calibration: Calibration, weight: pd.DataFrame, simulated: pd.Series) -> float:
    """gᵀ W g over the fitted moments, g the gaps in the moments' units (0 for a floor or
    ceiling met); infinite when a moment is undefined."""
    fitted = calibration.fitted
    z = gaps(fitted, simulated)
    g = (z * pd.Series({m.id: m.standard_error for m in fitted}))[weight.index].to_numpy()
    if not np.isfinite(g).all():
        return math.inf
    return float(g @ weight.to_numpy() @ g)


def _best_values(trials: pd.DataFrame, distributions) -> dict[str, float]:
    finished = trials[trials["state"] == "ok"]
    if finished.empty:
        raise CalibrationError("every point of the search failed; see trials.csv")
    best = finished.loc[finished["distance"].idxmin()]
    return {key: float(best[key]) for key in distributions}


def _progress_note(calibration: Calibration, rows, batch, seeds) -> str:
    done = [r for r in rows if r["state"] == "ok"]
    if not done:
        return "no point finished"
    best = min(done, key=lambda r: r["distance"])
    runs = batch.get(best["trial"])
    if not runs:
        return f"best {best['distance']:.2f}"
    mean = pd.DataFrame([runs[r].moments for r in range(len(seeds))]).mean()
    z = gaps(calibration.fitted, mean)
    worst = z.abs().sort_values(ascending=False).index[:3]
    return f"best {best['distance']:.2f}; worst: {', '.join(worst)}"


class _Pool:
    """Dask workers for the runs (none for a serial search). ``idle_minutes``, ``tls`` and
    ``announce`` are those of :func:`sim.experiment.clusters.connect` and its wait."""

    def __init__(self, simulator: Simulator, workers: int, scheduler: str | None,
                 slurm=None, *, idle_minutes: float | None = DEFAULT_IDLE_MINUTES,
                 tls: TlsFiles | None = None, announce: bool = False):
        self.simulator = simulator
        self.workers = workers
        self.scheduler = scheduler
        self.slurm = slurm
        self.idle_minutes = idle_minutes
        self.tls = tls
        self.announce = announce
        self._context = None
        self.connection = None
        self.client = None

    def __enter__(self) -> "_Pool":
        if self.workers > 1 or self.scheduler is not None or self.slurm is not None:
            from sim.experiment.clusters import connect

            local = self.scheduler is None and self.slurm is None
            self._context = connect(workers=self.workers if local else None,
                                    scheduler=self.scheduler, slurm=self.slurm, tls=self.tls,
                                    announce=self.announce)
            self.connection = self._context.__enter__()
            self.client = self.connection.client
            try:
                self._wait_for_a_worker()
                self._remote = self.client.scatter(self.simulator, broadcast=True)
            except BaseException:
                self._context.__exit__(*sys.exc_info())
                raise
        return self

    def _wait_for_a_worker(self) -> None:
        """Wait for a worker, under the idle timeout: scattering to a cluster without one
        would wait, then fail with dask's own timeout."""
        from sim.experiment.clusters import Watchdog

        watchdog = Watchdog(self.connection, self.idle_minutes)
        while True:
            try:
                self.client.wait_for_workers(1, timeout=watchdog.interval)
                return
            except TimeoutError:
                watchdog.check()

    def each(self, jobs):
        """The runs of ``jobs``, each as it finishes (serially: in order). On a cluster,
        :class:`~sim.experiment.clusters.IdleTimeout` when nothing works for the idle
        timeout; the runs still out are cancelled."""
        if self.client is None:
            for job in jobs:
                yield evaluate(self.simulator, *job)
            return
        from distributed import as_completed

        from sim.experiment.clusters import Watchdog, next_finished

        futures = [self.client.submit(evaluate, self._remote, *job, pure=False)
                   for job in jobs]
        queue = as_completed(futures)
        watchdog = Watchdog(self.connection, self.idle_minutes)
        try:
            while not queue.is_empty():
                for future in next_finished(queue, watchdog):
                    yield future.result()
        finally:
            unfinished = [future for future in futures if not future.done()]
            if unfinished:
                self.client.cancel(unfinished)

    def __exit__(self, *exc) -> None:
        if self._context is not None:
            self._context.__exit__(*exc)


def _write_outputs(calibration: Calibration, out: Path, result: SearchResult) -> None:
    spec = calibration.spec
    write_text_atomic(out / "fit_search.csv", result.fit.to_csv(index=False))
    scenario = os.path.relpath(calibration.scenario_path, out.resolve())
    lines = [
        f"# Estimated by `sim calibrate {calibration.source}`: {len(result.trials)} points "
        f"({spec.sampler}, seed {spec.seed}), {spec.replicates} replicates of "
        f"{spec.agents:,} SMEs each;",
        f"# best distance {result.best_distance:.4g} against {spec.targets} "
        f"(calibration digest {calibration.digest()}).",
        f'extends = "{scenario}"',
        f'name = "{spec.name}_estimate"',
    ]
    lines += [f"{key} = {value!r}" for key, value in result.best_values.items()]
    write_text_atomic(out / "estimate.toml", "\n".join(lines) + "\n")
    summary = {"best_distance": result.best_distance, "estimate": result.best_values,
               "points": len(result.trials), "runs_executed": result.executed,
               "runs_reused": result.reused, "seconds": round(result.seconds, 1)}
    write_text_atomic(out / "summary.json", json.dumps(summary, indent=2))
