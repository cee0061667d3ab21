"""Running an experiment: serially, on local processes, an existing scheduler or SLURM.

Every backend runs the same :func:`execute_run` on a :class:`RunTask` and hands the
outcome back to this process, which alone writes the store: workers need no shared disk,
and a run is written once whichever worker computed it. Runs already stored are skipped,
so re-running the same command after a crash, a killed worker or Ctrl-C runs only what
is missing (failed runs are tried again). On a cluster, a wait in which no run finishes
and no worker works for the idle timeout stops with
:class:`~sim.experiment.clusters.IdleTimeout` instead of hanging.
"""

from __future__ import annotations

import os
import socket
import sys
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.experiment.limits import DEFAULT_MAX_RUNS
from sim.experiment.clusters import (
    DEFAULT_IDLE_MINUTES, Connection, IdleTimeout, SlurmOptions, TlsFiles, Watchdog, connect,
    next_finished,
)
from sim.experiment.spec import Experiment, ExperimentError, apply_point


@dataclass(frozen=True)
class RunTask:
    """Everything a worker needs for one run (no files are read on the worker)."""

    run_id: str
    point: int
    replicate: int
    seed: int
    values: dict[str, Any]
    at: dict[str, str | None]
    base: dict[str, Any]
    outputs: tuple[str, ...]
    threads: int | None


@dataclass
class RunOutcome:
    run_id: str
    ok: bool
    frame: Any = None               # pandas DataFrame of the kept outputs
    meta: dict[str, Any] = field(default_factory=dict)
    error: str = ""


@dataclass
class SweepReport:
    """What one invocation did."""

    total: int
    skipped: int                    # already stored before this invocation
    executed: list[str] = field(default_factory=list)   # stored by this invocation
    failed: list[str] = field(default_factory=list)
    seconds: float = 0.0
    backend: str = "serial"

    @property
    def complete(self) -> bool:
        return self.skipped + len(self.executed) == self.total


# ---------------------------------------------------------------- one run (on a worker)


_SOURCE_HASH: list[str] = []


def source_hash() -> str:
    """Hash of the package's Python sources: tells runs of edited code apart (same version)."""
    if not _SOURCE_HASH:
        import hashlib

        root = Path(__file__).resolve().parents[1]
        digest = hashlib.sha256()
        for path in sorted(root.rglob("*.py")):
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(path.read_bytes())
        _SOURCE_HASH.append(digest.hexdigest()[:16])
    return _SOURCE_HASH[0]


def _where() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def execute_run(task: RunTask) -> RunOutcome:
    """Run one design point and replicate; errors become a failed outcome, not an exception."""
    started = time.perf_counter()
    try:
        import numpy as np
        import pandas as pd

        from sim import __version__
        from sim.config import scenario_from_dict
        from sim.experiment.spec import scenario_hash
        from sim.model import run

        raw = apply_point(task.base, task.values, task.at)
        raw["run"]["seed"] = task.seed
        raw["run"]["threads"] = task.threads
        scenario = scenario_from_dict(raw, f"run {task.run_id}")
        digest = scenario_hash(scenario)
        result = run(scenario)
        quarterly = result.quarterly
        n = len(quarterly)
        columns: dict[str, Any] = {
            "point": np.full(n, task.point, dtype=np.int64),
            "replicate": np.full(n, task.replicate, dtype=np.int64),
            "seed": np.full(n, task.seed, dtype=np.int64),
        }
        for key, value in task.values.items():
            columns[key] = np.full(n, value)
        columns["quarter"] = quarterly["quarter"].astype(str).to_numpy(dtype=object)
        for name in task.outputs:
            columns[name] = quarterly[name].to_numpy(dtype=np.float64)
        columns["scenario_hash"] = np.full(n, digest, dtype=object)
        columns["package_version"] = np.full(n, __version__, dtype=object)
        meta = {"run_id": task.run_id, "point": task.point, "replicate": task.replicate,
                "seed": task.seed, "parameters": task.values, "scenario_hash": digest,
                "package_version": __version__, "source_hash": source_hash(),
                "generator_version": result.meta.get("generator_version"),
                "git_revision": result.meta.get("git_revision"),
                "wall_seconds": round(time.perf_counter() - started, 3), "worker": _where()}
        return RunOutcome(task.run_id, True, pd.DataFrame(columns), meta)
    except Exception as exc:  # noqa: BLE001 - a failed run is recorded, the sweep goes on
        return RunOutcome(task.run_id, False, error="".join(traceback.format_exception(exc)),
                          meta={"worker": _where(),
                                "wall_seconds": round(time.perf_counter() - started, 3)})


# ---------------------------------------------------------------- the sweep (client side)


def _tasks(experiment: Experiment, design, todo: list[tuple[int, int]],
           threads: int | None) -> Iterator[RunTask]:
    from sim.experiment.seeds import replicate_seed
    from sim.experiment.store import run_id

    at = {key: p.at for key, p in experiment.spec.parameters.items()}
    outputs = tuple(experiment.outputs)
    for point, replicate in todo:
        yield RunTask(run_id(point, replicate), point, replicate,
                      replicate_seed(experiment.spec.seed, replicate), design.values(point),
                      at, experiment.base, outputs, threads)


class _Progress:
    """A tqdm bar (on terminals) with done / failed / remaining; log lines elsewhere."""

    def __init__(self, total: int, show: bool):
        from tqdm import tqdm

        self.total, self.done, self.failed = total, 0, 0
        self.show = show
        self.bar = tqdm(total=total, unit="run", desc="sweep", disable=None if show else True,
                        dynamic_ncols=True)
        self.started = self.last_line = time.monotonic()

    def update(self, ok: bool) -> None:
        self.done += ok
        self.failed += not ok
        remaining = self.total - self.done - self.failed
        self.bar.set_postfix_str(f"done={self.done} failed={self.failed} "
                                 f"remaining={remaining}", refresh=False)
        self.bar.update(1)
        now = time.monotonic()
        # without a terminal (batch jobs, logs) a line a minute stands in for the bar
        if self.show and self.bar.disable and (now - self.last_line > 60 or remaining == 0):
            finished = self.done + self.failed
            eta = (now - self.started) / finished * remaining
            print(f"sweep: {self.done} done, {self.failed} failed, {remaining} remaining, "
                  f"about {eta / 60:.1f} min left", file=sys.stderr, flush=True)
            self.last_line = now

    def close(self) -> None:
        self.bar.close()


def _record(store, outcome: RunOutcome, task: RunTask, report: SweepReport,
            progress: _Progress) -> None:
    if outcome.ok:
        store.write_run(outcome.run_id, outcome.frame, outcome.meta)
        report.executed.append(outcome.run_id)
    else:
        store.write_failure(outcome.run_id, {
            "run_id": task.run_id, "point": task.point, "replicate": task.replicate,
            "seed": task.seed, "parameters": task.values, "error": outcome.error,
            **outcome.meta})
        report.failed.append(outcome.run_id)
    progress.update(outcome.ok)


def _run_serial(tasks: Iterator[RunTask], record: Callable[[RunOutcome, RunTask], None]) -> None:
    for task in tasks:
        record(execute_run(task), task)


def _run_dask(connection: Connection, tasks: Iterator[RunTask],
              record: Callable[[RunOutcome, RunTask], None],
              idle_minutes: float | None) -> None:
    """Submit a bounded window of runs; a lost worker's runs are rescheduled by dask.
    Waiting longer than ``idle_minutes`` with no run finishing and no worker up and unpaused
    raises :class:`IdleTimeout`; the runs still out are cancelled."""
    from distributed import as_completed

    client = connection.client
    batch = uuid.uuid4().hex[:8]
    running: dict[Any, RunTask] = {}
    queue = as_completed()
    watchdog = Watchdog(connection, idle_minutes)
    seen = {"workers": connection.workers, "asked": 0.0}

    def workers_now() -> int:
        # workers come and go (SLURM jobs start late, a node dies); ask every few seconds
        if time.monotonic() - seen["asked"] > 5:
            info = client.scheduler_info(n_workers=-1)
            seen["workers"] = max(len(info.get("workers", {})), connection.workers)
            seen["asked"] = time.monotonic()
        return max(seen["workers"], 1)

    def top_up() -> None:
        # a bounded window: a huge design never sits in the scheduler's memory at once,
        # and Ctrl-C has little to cancel
        while queue.count() < 2 * workers_now() + 2:
            task = next(tasks, None)
            if task is None:
                return
            future = client.submit(execute_run, task, pure=False,
                                   key=f"xiaowei-{task.run_id}-{batch}")
            running[future] = task
            queue.add(future)

    try:
        top_up()
        while not queue.is_empty():
            for future in next_finished(queue, watchdog):
                task = running.pop(future)
                try:
                    outcome = future.result()
                except Exception as exc:  # noqa: BLE001 - e.g. KilledWorker after retries
                    outcome = RunOutcome(task.run_id, False,
                                         error="".join(traceback.format_exception(exc)))
                future.release()
                record(outcome, task)
            top_up()
    finally:
        if running:
            client.cancel(list(running))


def manifest_for(experiment: Experiment, design) -> dict[str, Any]:
    """The manifest of an experiment; its hash covers everything a stored run depends on."""
    import hashlib
    import json
    from datetime import datetime, timezone

    from sim import __version__
    from sim.experiment.seeds import replicate_seed

    spec = experiment.spec
    parameters = {key: {**p.model_dump(exclude_none=True),
                        "kind": experiment.kinds[key].__name__}
                  for key, p in spec.parameters.items()}
    identity = {
        "base": experiment.base, "parameters": parameters,
        "design": spec.design.model_dump(), "replications": spec.replications,
        "seed": spec.seed, "outputs": experiment.outputs,
        "points": design.points.to_dict(orient="list"),
    }
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True, default=str)
                            .encode("utf-8")).hexdigest()[:16]
    return {
        "format": "xiaowei-experiment/1", "name": spec.name, "description": spec.description,
        "experiment_hash": digest,
        "experiment_file": str(experiment.source),
        "experiment_text": experiment.source.read_text(encoding="utf-8"),
        "base_scenario_file": str(experiment.scenario_path),
        "design": {**spec.design.model_dump(), "parameters": parameters,
                   "points": len(design), "problem": design.problem},
        "replications": spec.replications, "root_seed": spec.seed,
        "replicate_seeds": [replicate_seed(spec.seed, r) for r in range(spec.replications)],
        "runs": len(design) * spec.replications, "outputs": experiment.outputs,
        "agents": experiment.agents, "base_scenario": experiment.base,
        "package_version": __version__, "source_hash": source_hash(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def open_store(experiment: Experiment, out: str | Path):
    """Create (or reopen, if it holds this experiment) the store; return (store, design)."""
    from sim.experiment.design import build_design
    from sim.experiment.store import SAMPLE_PREFIX, Store

    design = build_design(experiment)
    frame = design.points.copy()
    if design.sample is not None:
        for i, key in enumerate(design.keys):
            frame[SAMPLE_PREFIX + key] = design.sample[:, i]
    store = Store(out)
    manifest = manifest_for(experiment, design)
    if store.create_or_open(manifest, frame):
        created = store.manifest().get("source_hash")
        if created != manifest["source_hash"]:
            print(f"warning: the sim sources changed since {out} was created; its runs "
                  "will mix code versions (each run records its source_hash)",
                  file=sys.stderr, flush=True)
    return store, design


def check_size(runs: int, max_runs: int) -> None:
    if runs > max_runs:
        raise ExperimentError(f"the design has {runs:,} runs, over the limit of {max_runs:,}; "
                              f"raise it with --max-runs {runs} if you mean it")


def sweep(experiment: Experiment, out: str | Path, *, workers: int | None = 1,
          scheduler: str | None = None, slurm: SlurmOptions | None = None,
          max_runs: int = DEFAULT_MAX_RUNS, progress: bool = True,
          limit: int | None = None, idle_minutes: float | None = DEFAULT_IDLE_MINUTES,
          tls: TlsFiles | None = None) -> SweepReport:
    """Run every design point × replicate of ``experiment`` not yet stored in ``out``.

    ``workers=1`` runs serially in this process (numba on all cores); more workers start a
    local Dask cluster of one single-threaded process each (listening on 127.0.0.1 only);
    ``scheduler`` (an address; ``tls://`` with the certificates ``tls``) or ``slurm`` use
    a remote cluster. ``limit`` runs at most that many of the missing runs (a pilot).
    Ctrl-C stops at once; finished runs stay stored. On a cluster, when no run finishes
    and no worker works for ``idle_minutes`` (None: no limit), :class:`IdleTimeout` is
    raised; the runs done stay stored. Local workers are new processes: from a script,
    call this under ``if __name__ == "__main__":``.
    """
    from sim.experiment.design import count_points
    from sim.experiment.store import run_id

    check_size(count_points(experiment) * experiment.spec.replications, max_runs)
    store, design = open_store(experiment, out)
    stored = store.stored_ids()
    reps = experiment.spec.replications
    missing = [(p, r) for p in range(len(design)) for r in range(reps)
               if run_id(p, r) not in stored]
    total = len(design) * reps
    todo = missing if limit is None else missing[:limit]
    distributed = scheduler is not None or slurm is not None or (workers or 0) != 1
    report = SweepReport(total=total, skipped=total - len(missing))
    if not todo:
        return report
    started = time.perf_counter()
    tasks = _tasks(experiment, design, todo, threads=1 if distributed else None)
    bar = None

    def record(outcome: RunOutcome, task: RunTask) -> None:
        _record(store, outcome, task, report, bar)

    try:
        if not distributed:
            _warm_up()
            bar = _Progress(len(todo), progress)
            _run_serial(tasks, record)
        else:
            # connect first: a wrong address fails before the wait for the kernels, and
            # local workers start while this process warms them up
            with connect(workers=workers, scheduler=scheduler, slurm=slurm, tls=tls,
                         announce=progress) as connection:
                report.backend = connection.name
                _warm_up()
                bar = _Progress(len(todo), progress)
                _run_dask(connection, tasks, record, idle_minutes)
    except IdleTimeout as exc:
        stored = report.skipped + len(report.executed)
        exc.stored = f"{stored:,} of {total:,} runs are stored in {out}"
        raise
    finally:
        if bar is not None:
            bar.close()
        report.seconds = time.perf_counter() - started
    return report


def _warm_up() -> None:
    """Compile or load the kernels here first, so workers only read the on-disk cache."""
    from sim.warmup import cache_is_warm, warm_up

    if not cache_is_warm():
        print("Compiling the numba kernels once before the sweep (first run only)...",
              file=sys.stderr, flush=True)
    warm_up()
