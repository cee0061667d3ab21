"""SLURM: the job script dask-jobqueue would submit asks for what the user asked for.

Nothing is submitted: ``SLURMCluster.job_script()`` only renders the batch script.
"""

from __future__ import annotations

import sys
from pathlib import Path

import dask_jobqueue  # noqa: F401 - the dev extra installs it: these tests always run
import pytest

from sim import cli
from sim.experiment.clusters import SlurmOptions, job_script
from sim.experiment.spec import ExperimentError

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_job_script_has_the_requested_resources_and_one_thread_per_worker():
    script = job_script(SlurmOptions(jobs=4, cores=8, memory="32GB", walltime="04:30:00",
                                     queue="compute", account="proj42"))
    lines = script.splitlines()
    for expected in ("#SBATCH -p compute", "#SBATCH -A proj42", "#SBATCH -n 1",
                     "#SBATCH --cpus-per-task=8", "#SBATCH -t 04:30:00",
                     "export NUMBA_NUM_THREADS=1", "export OMP_NUM_THREADS=1"):
        assert expected in lines, f"{expected!r} not in\n{script}"
    assert any(line.startswith("#SBATCH --mem=") for line in lines)
    worker = next(line for line in lines if "distributed.cli.dask_worker" in line)
    assert worker.startswith(sys.executable)        # the same environment as the sweep
    assert "--nthreads 1" in worker and "--nworkers 8" in worker
    assert any(line.startswith("export XIAOWEI_CACHE_DIR=") for line in lines)


def test_dry_run_prints_the_job_script(tmp_path, capsys):
    path = tmp_path / "exp.toml"
    path.write_text(f'name = "t"\nscenario = "{(REPO_ROOT / "scenarios/baseline.toml").as_posix()}"'
                    '\n[parameters]\n"policy.central_bank.rrr" = [0.07, 0.06]\n',
                    encoding="utf-8")
    assert cli.main(["sweep", str(path), "--cluster", "slurm", "--jobs", "2", "--cores", "4",
                     "--walltime", "01:00:00", "--dry-run", "--out", str(tmp_path / "s")]) == 0
    out = capsys.readouterr().out
    assert "on 8 workers" in out                    # 2 jobs × 4 workers
    assert "#SBATCH --cpus-per-task=4" in out and "#SBATCH -t 01:00:00" in out
    assert "--mem=" in out                          # 2 GB a core by default
    assert not (tmp_path / "s").exists()


def test_missing_extra_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "dask_jobqueue", None)     # as if not installed
    with pytest.raises(ExperimentError, match=r"xiaowei\[slurm\]"):
        job_script(SlurmOptions(jobs=1))
