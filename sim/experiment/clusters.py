"""Dask clusters for a sweep: local processes, an existing scheduler, or SLURM jobs.

One worker process per core, one thread per worker and one numba thread per process:
runs are independent, so processes scale without oversubscribing the cores, and a
single-threaded worker keeps numba's thread pool from competing with its neighbours.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sim.experiment.spec import ExperimentError

# Set in every worker before numba is imported; OMP and BLAS likewise, for numpy.
WORKER_ENV = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "OPENBLAS_NUM_THREADS": "1"}


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


def local_cores() -> int:
    """Cores this process may use (the affinity mask on Linux, e.g. under SLURM or taskset)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def slurm_cluster(options: SlurmOptions):
    """A ``dask_jobqueue.SLURMCluster`` with the requested resources (no jobs submitted yet)."""
    try:
        from dask_jobqueue import SLURMCluster
    except ImportError:
        raise ExperimentError("--cluster slurm needs dask-jobqueue, an optional extra: "
                              "pip install 'xiaowei[slurm]'") from None
    from sim import kernel_cache_dir
    from sim.warmup import numba_cache_dir

    # Workers read the kernels the submitting process compiled (a shared home or
    # XIAOWEI_CACHE_DIR on a shared file system), never compile them again.
    prologue = [f"export {k}={v}" for k, v in WORKER_ENV.items()]
    prologue.append(f"export XIAOWEI_CACHE_DIR={kernel_cache_dir().parent}")
    if numba_cache_dir() != kernel_cache_dir():  # the user's own NUMBA_CACHE_DIR
        prologue.append(f"export NUMBA_CACHE_DIR={numba_cache_dir()}")
    return SLURMCluster(
        cores=options.cores, processes=options.cores,
        memory=options.memory or f"{2 * options.cores}GB", walltime=options.walltime,
        queue=options.queue, account=options.account, python=sys.executable,
        job_name="xiaowei-sweep", job_script_prologue=prologue,
        silence_logs="error")


def job_script(options: SlurmOptions) -> str:
    """The batch script each SLURM job would run (for checks and ``--dry-run``)."""
    cluster = slurm_cluster(options)
    try:
        return cluster.job_script()
    finally:
        cluster.close()


def _quiet_dask() -> None:
    # worker loss and restarts are handled here; dask's own warnings would bury the bar
    for name in ("distributed", "distributed.nanny", "distributed.worker",
                 "distributed.scheduler", "distributed.client", "distributed.core"):
        logging.getLogger(name).setLevel(logging.ERROR)


@contextmanager
def connect(workers: int | None = None, scheduler: str | None = None,
            slurm: SlurmOptions | None = None) -> Iterator[tuple[Any, int, str]]:
    """Yield (client, expected number of workers, backend description); close on exit."""
    from distributed import Client, LocalCluster

    _quiet_dask()
    cluster = None
    try:
        if scheduler is not None:
            try:
                client = Client(scheduler, timeout="10s")
            except (OSError, TimeoutError) as exc:
                raise ExperimentError(f"cannot reach the Dask scheduler at {scheduler} "
                                      f"({exc})") from None
            expected = len(client.scheduler_info(n_workers=-1).get("workers", {}))
            name = f"scheduler {scheduler}"
        elif slurm is not None:
            cluster = slurm_cluster(slurm)
            cluster.scale(jobs=slurm.jobs)
            client = Client(cluster)
            expected, name = slurm.workers, f"SLURM, {slurm.jobs} jobs × {slurm.cores} workers"
        else:
            expected = workers or local_cores()
            cluster = LocalCluster(n_workers=expected, threads_per_worker=1, processes=True,
                                   dashboard_address=":0", env=dict(WORKER_ENV),
                                   silence_logs=logging.ERROR)
            client = Client(cluster)
            name = f"{expected} local workers"
    except BaseException:
        if cluster is not None:
            cluster.close()
        raise
    try:
        yield client, expected, name
    finally:
        client.close()
        if cluster is not None:
            cluster.close(timeout=20)
