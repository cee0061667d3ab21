"""Dask clusters for a sweep: local processes, an existing scheduler, or SLURM jobs.

One worker process per core, one thread per worker and one numba thread per process:
runs are independent, so processes scale without oversubscribing the cores, and a
single-threaded worker keeps numba's thread pool from competing with its neighbours.

Nothing listens beyond this machine unless it must: the local cluster's scheduler and
dashboard bind to 127.0.0.1, a SLURM cluster's dashboard too (its scheduler must be
reachable from the compute nodes), and a remote scheduler can be reached over ``tls://``
with Dask's own security settings. A wait in which no run finishes and no worker works
for the idle timeout ends in :class:`IdleTimeout` instead of hanging.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.errors import SimError

# Set in every worker before numba is imported; OMP and BLAS likewise, for numpy.
WORKER_ENV = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "OPENBLAS_NUM_THREADS": "1"}
LOCALHOST = "127.0.0.1"
CONNECT_TIMEOUT = "10s"         # to reach a --scheduler before giving up
DEFAULT_IDLE_MINUTES = 30.0     # --idle-timeout
CHECK_SECONDS = 5.0             # how often a wait without finished runs looks at the workers
SQUEUE_SECONDS = 30.0           # how often it asks SLURM about its jobs (squeue is not free)
# States of a SLURM job that has not started its workers yet but will: a sweep whose jobs
# wait in the queue is waiting, not idle.
QUEUED_JOB_STATES = frozenset({"PENDING", "CONFIGURING", "REQUEUED"})
TLS_OPTIONS = {"ca_file": "--tls-ca-file", "cert": "--tls-cert", "key": "--tls-key"}


def _refuse(message: str) -> Exception:
    """An :class:`~sim.experiment.spec.ExperimentError` (imported on use: the command line
    reads this module's defaults for its ``--help``, which must stay quick)."""
    from sim.experiment.spec import ExperimentError

    return ExperimentError(message)


class IdleTimeout(SimError):
    """No run finished and no worker was up and unpaused for the idle timeout (a live worker
    counts as up even if a run on it hangs: Dask cannot tell); the stored runs
    are kept, and the same command resumes."""

    def __init__(self, minutes: float, seen: str, stored: str = "the runs done are stored"):
        super().__init__(minutes, seen, stored)
        self.minutes, self.seen, self.stored = minutes, seen, stored

    def __str__(self) -> str:
        unit = "minute" if self.minutes == 1 else "minutes"
        return (f"no run finished and no worker was up and unpaused for {self.minutes:g} {unit} "
                f"({self.seen}); {self.stored}; resume with the same command")


@dataclass
class SlurmOptions:
    """Resources of each SLURM job; every job runs ``cores`` single-threaded workers."""

    jobs: int = 1
    cores: int = 1
    memory: str | None = None       # per job; default 2 GB per core
    walltime: str = "02:00:00"
    queue: str | None = None
    account: str | None = None

    @property
    def workers(self) -> int:
        return self.jobs * self.cores


@dataclass(frozen=True)
class TlsFiles:
    """Dask's TLS settings: the CA certificate, this side's certificate and its key (PEM
    files)."""

    ca_file: str | None = None
    cert: str | None = None
    key: str | None = None

    def given(self) -> bool:
        return any(getattr(self, name) is not None for name in TLS_OPTIONS)

    def over(self, other: TlsFiles | None) -> TlsFiles:
        """These files, each one not given taken from ``other`` (the command line over
        an experiment or calibration file)."""
        if other is None:
            return self
        return TlsFiles(**{name: getattr(self, name) if getattr(self, name) is not None
                           else getattr(other, name) for name in TLS_OPTIONS})


def local_cores() -> int:
    """Cores this process may use (the affinity mask on Linux, e.g. under SLURM or taskset)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


# ---------------------------------------------------------------- TLS


def _check_tls_files(tls: TlsFiles) -> None:
    missing = [option for name, option in TLS_OPTIONS.items() if getattr(tls, name) is None]
    if missing:
        raise _refuse(f"TLS needs all of --tls-ca-file, --tls-cert and --tls-key (or "
                      f"tls_ca_file, tls_cert and tls_key in the file's [cluster] table); "
                      f"missing: {', '.join(missing)}")
    for name, option in TLS_OPTIONS.items():
        path = Path(getattr(tls, name))
        if not path.is_file():
            raise _refuse(f"{option} {path}: no such file")


def security_for(tls: TlsFiles | None, scheduler: str | None = None, slurm: bool = False):
    """Dask's ``Security`` for a ``tls://`` scheduler, or for the scheduler and workers of
    a SLURM cluster given certificates; None where traffic stays plain (a ``tcp://``
    scheduler, the local cluster on 127.0.0.1, SLURM without certificates)."""
    if tls is None or not tls.given():
        if scheduler is not None and scheduler.startswith("tls://"):
            raise _refuse(f"--scheduler {scheduler} needs Dask's TLS certificates: "
                          "--tls-ca-file, --tls-cert and --tls-key (or tls_ca_file, "
                          "tls_cert and tls_key in the file's [cluster] table)")
        return None
    if scheduler is not None and not scheduler.startswith("tls://"):
        raise _refuse(f"TLS certificates are for a tls:// scheduler, but --scheduler "
                      f"{scheduler} is not encrypted; give tls://HOST:PORT")
    if scheduler is None and not slurm:
        return None     # the local cluster: 127.0.0.1 only
    _check_tls_files(tls)
    from distributed.security import Security

    mine = {"tls_client_cert": tls.cert, "tls_client_key": tls.key}
    if slurm:   # this process is the scheduler, and the jobs' workers use the same files
        mine |= {"tls_scheduler_cert": tls.cert, "tls_scheduler_key": tls.key,
                 "tls_worker_cert": tls.cert, "tls_worker_key": tls.key}
    return Security(tls_ca_file=tls.ca_file, require_encryption=True, **mine)


# ---------------------------------------------------------------- SLURM


def slurm_cluster(options: SlurmOptions, security: Any = None):
    """A ``dask_jobqueue.SLURMCluster`` with the requested resources (no jobs submitted
    yet); with ``security``, its scheduler and workers speak TLS."""
    try:
        import dask
        from dask_jobqueue import SLURMCluster
    except ImportError:
        raise _refuse("--cluster slurm needs dask-jobqueue, an optional extra: "
                      "pip install 'xiaowei[slurm]'") from None
    from sim import kernel_cache_dir
    from sim.warmup import numba_cache_dir

    # Workers read the kernels the submitting process compiled (a shared home or
    # XIAOWEI_CACHE_DIR on a shared file system), never compile them again.
    prologue = [f"export {k}={v}" for k, v in WORKER_ENV.items()]
    prologue.append(f"export XIAOWEI_CACHE_DIR={kernel_cache_dir().parent}")
    if numba_cache_dir() != kernel_cache_dir():  # the user's own NUMBA_CACHE_DIR
        prologue.append(f"export NUMBA_CACHE_DIR={numba_cache_dir()}")
    # The scheduler listens where the compute nodes reach it, but its dashboard only on
    # this machine (an ssh tunnel reaches it), and the workers have none: a dashboard has
    # no authentication. Settings of the user's jobqueue configuration are kept.
    scheduler = dict(dask.config.get("jobqueue.slurm.scheduler-options", None) or {})
    scheduler.setdefault("dashboard_address", f"{LOCALHOST}:0")
    worker_args = list(dask.config.get("jobqueue.slurm.worker-extra-args", None) or [])
    if not any(arg.startswith(("--dashboard", "--no-dashboard")) for arg in worker_args):
        worker_args.append("--no-dashboard")
    return SLURMCluster(
        cores=options.cores, processes=options.cores,
        memory=options.memory or f"{2 * options.cores}GB", walltime=options.walltime,
        queue=options.queue, account=options.account, python=sys.executable,
        job_name="xiaowei-sweep", job_script_prologue=prologue,
        scheduler_options=scheduler, worker_extra_args=worker_args, security=security,
        silence_logs="error")


def job_script(options: SlurmOptions, security: Any = None) -> str:
    """The batch script each SLURM job would run (for checks and ``--dry-run``)."""
    cluster = slurm_cluster(options, security)
    try:
        return cluster.job_script()
    finally:
        cluster.close()


def _submit_reason(exc: BaseException) -> str:
    """What the submit command said (dask-jobqueue puts its exit code, stdout and stderr
    in the message), on one line."""
    text = str(exc)
    code = re.search(r"Exit code: (\d+)", text)
    said = text.split("stderr:", 1)[1] if "stderr:" in text else ""
    if not said.strip() and "stdout:" in text:
        said = text.split("stdout:", 1)[1].split("stderr:", 1)[0]
    said = " ".join(line.strip() for line in (said or text).splitlines() if line.strip())
    return f"exit code {code.group(1)}: {said}" if code else said


def submit_jobs(cluster, jobs: int) -> None:
    """Submit ``jobs`` batch jobs and wait for the scheduler's answer: a refused job is an
    error now, not a sweep waiting for workers that never come."""
    while len(cluster.worker_spec) < jobs:
        cluster.worker_spec.update(cluster.new_worker_spec())
    try:
        # what SpecCluster.scale schedules in the background, awaited here so that the
        # submit command's failure reaches this thread (and is not logged as a traceback)
        cluster.sync(cluster._correct_state)
    except FileNotFoundError as exc:
        _abandon_jobs(cluster)
        raise _refuse(f"cannot submit SLURM jobs: {exc.filename or 'sbatch'} was not "
                      "found; run --cluster slurm where SLURM's commands are (a login "
                      "node)") from None
    except (RuntimeError, ValueError) as exc:
        _abandon_jobs(cluster)
        raise _refuse(f"SLURM refused the batch job ({_submit_reason(exc)})") from None


def _abandon_jobs(cluster) -> None:
    """After a refused submission: cancel the jobs that were submitted and forget them
    all, each marked closed or failed, so that the cluster closes without a job left
    behind and without dask's own complaint about workers still running."""
    from distributed.core import Status

    cluster.worker_spec.clear()
    for name, job in list(cluster.workers.items()):
        if getattr(job, "job_id", None):
            cluster.sync(job.close)     # scancel
            job.status = Status.closed
        elif job.status == Status.created:
            job.status = Status.failed
        del cluster.workers[name]


def slurm_jobs(job_ids: list[str]) -> tuple[dict[str, str], str]:
    """(the state of each job the SLURM queue still lists, why squeue could not tell or
    ""); ended jobs leave the queue."""
    if not job_ids:
        return {}, ""
    try:
        done = subprocess.run(["squeue", "--noheader", "--format=%i %T",
                               "--jobs=" + ",".join(job_ids)],
                              capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {}, f"squeue: {exc}"
    if done.returncode != 0:
        if "invalid job id" in done.stderr.lower():   # jobs that ended long ago
            return {}, ""
        return {}, f"squeue: {done.stderr.strip() or f'exit code {done.returncode}'}"
    states = {}
    for line in done.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2:
            states[parts[0]] = parts[1]
    return states, ""


def describe_jobs(job_ids: list[str], states: dict[str, str], problem: str) -> str:
    if problem:
        return f"SLURM jobs: state unknown ({problem})"
    if not job_ids:
        return "no SLURM job submitted"
    counts = Counter(states.get(job, "ended").lower() for job in job_ids)
    return "SLURM jobs: " + ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))


# ---------------------------------------------------------------- connecting


def _quiet_dask() -> None:
    # worker loss and restarts are handled here; dask's own warnings would bury the bar
    for name in ("distributed", "distributed.nanny", "distributed.worker",
                 "distributed.scheduler", "distributed.client", "distributed.core"):
        logging.getLogger(name).setLevel(logging.ERROR)


@dataclass(frozen=True)
class Activity:
    """What the workers were doing when last asked."""

    working: bool       # a worker is up and unpaused, or a SLURM job waits in the queue
    seen: str           # in words, for the message of an idle timeout


def worker_statuses(client) -> list[str]:
    """The status of each worker the scheduler knows ("running", "paused", ...)."""
    workers = client.scheduler_info(n_workers=-1).get("workers", {})
    return [str(info.get("status", "unknown")) for info in workers.values()]


def describe_workers(statuses: list[str]) -> str:
    if not statuses:
        return "0 workers"
    counts = Counter(statuses)
    text = (f"{len(statuses)} worker{'s' if len(statuses) != 1 else ''}: "
            + ", ".join(f"{n} {status.replace('_', ' ')}"
                        for status, n in sorted(counts.items())))
    if "paused" in counts:
        text += " (a worker pauses when its memory is nearly full)"
    return text


@dataclass
class Connection:
    """A client of the cluster that runs the runs, and what that cluster is."""

    client: Any
    workers: int            # workers expected (a remote scheduler's: those at the start)
    name: str               # in words, e.g. "4 local workers"
    slurm: Any = None       # the SLURMCluster started here, whose jobs are asked about
    # what squeue said last: (when, a job is queued, in words)
    jobs_seen: tuple[float, bool, str] | None = field(default=None, init=False, repr=False)

    def activity(self) -> Activity:
        """Whether any worker is up and not paused (Dask reports a live worker as
        "running" whether or not a task on it progresses), or SLURM jobs are queued."""
        try:
            statuses = worker_statuses(self.client)
        except Exception as exc:  # noqa: BLE001 - no scheduler, no worker working
            return Activity(False, f"the scheduler does not answer: {exc}")
        seen = describe_workers(statuses)
        if "running" in statuses:
            return Activity(True, seen)
        if self.slurm is None:
            return Activity(False, seen)
        queued, jobs = self._job_states()
        return Activity(queued, f"{seen}; {jobs}")

    def _job_states(self) -> tuple[bool, str]:
        now = time.monotonic()
        if self.jobs_seen is None or now - self.jobs_seen[0] > SQUEUE_SECONDS:
            ids = [str(job.job_id) for job in list(self.slurm.workers.values())
                   if getattr(job, "job_id", None)]
            states, problem = slurm_jobs(ids)
            queued = any(state in QUEUED_JOB_STATES for state in states.values())
            self.jobs_seen = (now, queued, describe_jobs(ids, states, problem))
        return self.jobs_seen[1], self.jobs_seen[2]


def _remote_client(address: str, security: Any):
    from distributed import Client

    try:
        return Client(address, timeout=CONNECT_TIMEOUT, security=security)
    except ValueError as exc:   # no port, an unknown scheme
        raise _refuse(f"--scheduler {address} is not a Dask scheduler address ({exc}); "
                      "give e.g. tcp://HOST:8786 or tls://HOST:8786") from None
    except (OSError, TimeoutError) as exc:
        raise _refuse(f"cannot reach the Dask scheduler at {address} ({exc})") from None


def _local_cluster(workers: int):
    from distributed import LocalCluster

    # the scheduler, its dashboard and the workers listen on this machine only
    return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                        host=LOCALHOST, dashboard_address=f"{LOCALHOST}:0",
                        env=dict(WORKER_ENV), silence_logs=logging.ERROR)


def dashboard_link(client) -> str | None:
    """The address of the dashboard of a cluster started here, on 127.0.0.1 where it
    listens (dask's own link names the host the scheduler listens on, which a SLURM
    cluster's dashboard does not); None without a dashboard."""
    from distributed.utils import format_dashboard_link

    port = client.scheduler_info().get("services", {}).get("dashboard")
    return format_dashboard_link(LOCALHOST, port) if port else None


@contextmanager
def connect(workers: int | None = None, scheduler: str | None = None,
            slurm: SlurmOptions | None = None, *, tls: TlsFiles | None = None,
            announce: bool = False) -> Iterator[Connection]:
    """Yield a :class:`Connection` to local workers, a scheduler or SLURM jobs; close what
    was started on exit. ``tls`` names the certificates of a ``tls://`` scheduler (or of
    a SLURM cluster's scheduler and workers); with ``announce`` the dashboard address of
    a cluster started here is printed."""
    from distributed import Client

    security = security_for(tls, scheduler, slurm is not None)
    _quiet_dask()
    cluster = None
    try:
        if scheduler is not None:
            client = _remote_client(scheduler, security)
            connection = Connection(client, len(worker_statuses(client)),
                                    f"scheduler {scheduler}")
        elif slurm is not None:
            cluster = slurm_cluster(slurm, security)
            submit_jobs(cluster, slurm.jobs)
            client = Client(cluster)
            connection = Connection(client, slurm.workers, f"SLURM, {slurm.jobs} jobs × "
                                    f"{slurm.cores} workers", slurm=cluster)
        else:
            expected = workers or local_cores()
            cluster = _local_cluster(expected)
            client = Client(cluster)
            connection = Connection(client, expected, f"{expected} local workers")
    except BaseException:
        if cluster is not None:
            cluster.close()
        raise
    link = dashboard_link(client) if announce and cluster is not None else None
    if link:
        print(f"Dask dashboard: {link}", file=sys.stderr, flush=True)
    try:
        yield connection
    finally:
        client.close()
        if cluster is not None:
            cluster.close(timeout=20)


# ---------------------------------------------------------------- waiting for runs


class Watchdog:
    """Ends a wait in which no run finishes and no worker works for ``minutes`` (None:
    wait as long as it takes)."""

    def __init__(self, connection: Connection, minutes: float | None):
        self.connection = connection
        self.minutes = minutes
        self.quiet_since = time.monotonic()

    @property
    def interval(self) -> float:
        """Seconds to wait for a run before looking at the workers again."""
        if self.minutes is None:
            return CHECK_SECONDS
        return min(CHECK_SECONDS, max(0.05, self.minutes * 60 / 4))

    def finished(self) -> None:
        """A run finished."""
        self.quiet_since = time.monotonic()

    def check(self) -> None:
        """Raise :class:`IdleTimeout` once nothing has worked for the timeout."""
        if self.minutes is None:
            return
        activity = self.connection.activity()
        now = time.monotonic()
        if activity.working:
            self.quiet_since = now
        elif now - self.quiet_since >= self.minutes * 60:
            raise IdleTimeout(self.minutes, activity.seen)


def next_finished(queue, watchdog: Watchdog) -> list:
    """The futures of ``queue`` (a ``distributed.as_completed``) that have finished, once
    at least one has; meanwhile the watchdog looks at the workers every few seconds."""
    if queue.is_empty():
        return []
    deadline = time.monotonic() + watchdog.interval
    while not queue.has_ready():
        if time.monotonic() >= deadline:
            watchdog.check()
            deadline = time.monotonic() + watchdog.interval
        time.sleep(0.05)    # as_completed's own iterator polls likewise
    watchdog.finished()
    return queue.next_batch(block=False)
