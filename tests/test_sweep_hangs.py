"""Sweeps and calibrations that would hang, and what listens where (sim/experiment/clusters.py).

* no run finishing and no worker up and unpaused for ``--idle-timeout`` minutes — a scheduler
  without workers, a worker paused for memory, SLURM jobs that ended — stops with exit
  code 3 and a message saying what was seen; the stored runs stay, and the same command
  resumes;
* a refused ``sbatch``, a missing ``sbatch``, a scheduler that cannot be reached or an
  address that is none exit 2 with the reason, before any wait;
* the local cluster's scheduler, dashboard and workers listen on 127.0.0.1 only, and its
  dashboard address is printed;
* a ``tls://`` scheduler is reached with the certificates of the command line or of the
  file's ``[cluster]`` table (a real TLS scheduler, certificates made by ``openssl``);
  missing or unused certificates exit 2 naming them.

The schedulers are real ``distributed.LocalCluster`` ones in this process (workers as
threads, or none); the timeouts are fractions of a minute.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import psutil
import pytest

from sim import cli
from sim.cli.cluster_options import tls_files
from sim.experiment import clusters, load_experiment, sweep
from sim.experiment.clusters import (
    Activity, Connection, IdleTimeout, SlurmOptions, TlsFiles, Watchdog, connect, job_script,
    security_for,
)
from sim.experiment.spec import ClusterSpec, ExperimentError
from sim.experiment.store import Store, run_id
from tests.helpers import BASELINE, calibration_toml, free_port, target_toml, write_text

TINY = 0.02     # minutes: 1.2 s
EXPERIMENT = f"""
name = "hang"
scenario = "{BASELINE.as_posix()}"
[run]
agents = 2000
end = "2024Q2"
burn_in_quarters = 0
[parameters."population.capacity_factor"]
levels = [1.0, 2.0]
"""


def _experiment(folder: Path, extra: str = "") -> Path:
    return write_text(folder / "hang.toml", EXPERIMENT + extra)


@pytest.fixture
def scheduler() -> Iterator:
    """A real Dask scheduler on 127.0.0.1 with no workers (``add_worker`` adds one, in
    this process)."""
    from distributed import LocalCluster

    # no memory limit: a worker paused by a test stays paused
    cluster = LocalCluster(n_workers=0, processes=False, protocol="tcp://", host="127.0.0.1",
                           dashboard_address=None, memory_limit=0, silence_logs=logging.ERROR)
    try:
        yield cluster
    finally:
        cluster.close()


def _sweep(*args: str | Path) -> int:
    return cli.main(["sweep", *map(str, args), "--quiet"])


# ---------------------------------------------------------------- the idle timeout


def test_a_scheduler_without_workers_stops_with_exit_3_and_the_store_resumes(
        tmp_path, scheduler, capsys):
    path = _experiment(tmp_path)
    out = tmp_path / "store"
    experiment = load_experiment(path)
    assert sweep(experiment, out, workers=1, limit=1, progress=False).executed == [run_id(0, 0)]
    first = out / "runs" / f"{run_id(0, 0)}.parquet"
    before = first.stat()
    capsys.readouterr()

    code = _sweep(path, "--scheduler", scheduler.scheduler_address, "--idle-timeout", TINY,
                  "--out", out)
    err = capsys.readouterr().err
    assert code == 3, err
    assert (f"error: no run finished and no worker was up and unpaused for {TINY} minutes (0 workers);"
            f" 1 of 2 runs are stored in {out}; resume with the same command") in err
    assert "Traceback" not in err
    now = first.stat()
    assert (now.st_ino, now.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert Store(out).stored_ids() == {run_id(0, 0)}

    report = sweep(experiment, out, workers=1, progress=False)    # the same store resumes
    assert report.skipped == 1 and report.executed == [run_id(1, 0)] and report.complete


def test_a_worker_paused_for_memory_is_not_working(tmp_path, scheduler, capsys):
    from distributed import Client
    from distributed.core import Status

    scheduler.scale(1)
    with Client(scheduler) as client:
        client.wait_for_workers(1, timeout=30)

        def pause(dask_worker) -> None:
            dask_worker.status = Status.paused     # as when its memory is nearly full

        client.run(pause)
        statuses = clusters.worker_statuses(client)
    assert statuses == ["paused"]
    code = _sweep(_experiment(tmp_path), "--scheduler", scheduler.scheduler_address,
                  "--idle-timeout", TINY, "--out", tmp_path / "store")
    err = capsys.readouterr().err
    assert code == 3, err
    assert "(1 worker: 1 paused (a worker pauses when its memory is nearly full))" in err


def test_a_calibration_without_workers_stops_with_exit_3(tmp_path, scheduler, capsys):
    write_text(tmp_path / "targets.toml", 'name = "probe"\n' + target_toml(
        "online_share_new", "online_share_new", 0.3, 0.05, "a test"))
    path = write_text(tmp_path / "calibration.toml", calibration_toml(
        "hang", BASELINE, {"platforms.big_tech.margin_annual": "range = [0.02, 0.12]"}))
    out = tmp_path / "out"
    code = cli.main(["calibrate", str(path), "--scheduler", scheduler.scheduler_address,
                     "--idle-timeout", str(TINY), "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert code == 3, err
    assert f"(0 workers); the runs done are stored in {out}; resume with the same" in err
    assert (out / "calibration.json").exists()
    # the screening takes the same timeout
    screening = tmp_path / "s"
    code = cli.main(["calibrate", str(path), "--screen", "--scheduler",
                     scheduler.scheduler_address, "--idle-timeout", str(TINY), "--out",
                     str(screening), "--quiet"])
    err = capsys.readouterr().err
    assert code == 3, err
    assert f"the screening runs done are stored in {screening}" in err


class _FakeConnection:
    def __init__(self, *activities: Activity):
        self.activities = list(activities)

    def activity(self) -> Activity:
        return self.activities.pop(0) if len(self.activities) > 1 else self.activities[0]


def test_the_watchdog_counts_from_the_last_finished_run_or_working_worker(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(clusters, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    busy, idle = Activity(True, "2 workers: 2 running"), Activity(False, "0 workers")
    watchdog = Watchdog(_FakeConnection(busy, idle), minutes=1)
    clock[0] += 120
    watchdog.check()                    # working: the clock starts again
    clock[0] += 59
    watchdog.check()                    # idle, but for 59 s only
    watchdog.finished()                 # a run finished
    clock[0] += 59
    watchdog.check()
    clock[0] += 1
    with pytest.raises(IdleTimeout, match=r"for 1 minute \(0 workers\)"):
        watchdog.check()
    patient = Watchdog(_FakeConnection(idle), minutes=None)
    clock[0] += 1e6
    patient.check()                     # no limit
    assert patient.interval == clusters.CHECK_SECONDS
    assert Watchdog(_FakeConnection(idle), minutes=TINY).interval == pytest.approx(0.3)


def _fake_command(folder: Path, name: str, script: str) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text("#!/bin/sh\n" + script, encoding="utf-8")
    path.chmod(0o755)
    return path


class _Job:
    def __init__(self, job_id: str):
        self.job_id = job_id


class _NoWorkers:
    def scheduler_info(self, n_workers: int = 0) -> dict:
        return {"workers": {}}


@pytest.mark.parametrize("squeue, working, seen", [
    ('echo "4242 PENDING"', True, "0 workers; SLURM jobs: 1 pending"),
    ("exit 0", False, "0 workers; SLURM jobs: 1 ended"),
    ('echo "slurm_load_jobs error: Invalid job id specified" >&2; exit 1', False,
     "SLURM jobs: 1 ended"),
    ('echo "Socket timed out" >&2; exit 1', False,
     "SLURM jobs: state unknown (squeue: Socket timed out)"),
])
def test_queued_slurm_jobs_are_waiting_and_ended_ones_idle(tmp_path, monkeypatch, squeue,
                                                           working, seen):
    _fake_command(tmp_path / "bin", "squeue", squeue + "\n")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")

    class Jobs:
        workers = {"xiaowei-sweep-0": _Job("4242")}

    activity = Connection(_NoWorkers(), 1, "SLURM", slurm=Jobs()).activity()
    assert activity.working is working
    assert seen in activity.seen


@pytest.mark.parametrize("text", ["0", "-1", "abc", "inf"])
def test_the_idle_timeout_must_be_a_positive_number_of_minutes(text, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["sweep", "x.toml", "--idle-timeout", text])
    assert exit_.value.code == 2
    assert "--idle-timeout" in capsys.readouterr().err


# ---------------------------------------------------------------- submission errors


def test_a_refused_sbatch_exits_2_with_slurm_s_reason(tmp_path, monkeypatch, capsys):
    reason = ("sbatch: error: Batch job submission failed: Invalid account or "
              "account/partition combination specified")
    _fake_command(tmp_path / "bin", "sbatch", f'echo "{reason}" >&2\nexit 1\n')
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    code = _sweep(_experiment(tmp_path), "--cluster", "slurm", "--jobs", "2",
                  "--out", tmp_path / "store")
    err = capsys.readouterr().err
    assert code == 2, err
    assert f"error: SLURM refused the batch job (exit code 1: {reason})" in err
    assert "Traceback" not in err


def test_a_job_refused_after_others_cancels_those(tmp_path, monkeypatch):
    bin_ = tmp_path / "bin"
    first, cancelled = tmp_path / "first", tmp_path / "cancelled"
    # the jobs are submitted at once: mkdir, which only one of them can win, picks the one
    # accepted (a counter in a file could be read by all of them before any wrote it)
    _fake_command(bin_, "sbatch", f"""if mkdir {first} 2>/dev/null; then
  echo "Submitted batch job 4242"
else
  echo "sbatch: error: QOSMaxSubmitJobPerUserLimit" >&2; exit 1
fi
""")
    _fake_command(bin_, "scancel", f'echo "$@" >> {cancelled}\n')
    monkeypatch.setenv("PATH", f"{bin_}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(ExperimentError, match=r"SLURM refused the batch job \(exit code 1: "
                                              r"sbatch: error: QOSMaxSubmitJobPerUserLimit\)"):
        with connect(slurm=SlurmOptions(jobs=3)):
            pytest.fail("connected although a job was refused")
    assert "4242" in cancelled.read_text().split()


def test_no_sbatch_exits_2_saying_so(tmp_path, monkeypatch, capsys):
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    code = _sweep(_experiment(tmp_path), "--cluster", "slurm", "--jobs", "1",
                  "--out", tmp_path / "store")
    err = capsys.readouterr().err
    assert code == 2, err
    assert "sbatch was not found" in err



@pytest.mark.parametrize("address, message", [
    (None, "cannot reach the Dask scheduler at tcp://127.0.0.1:"),
    ("nonsense", "--scheduler nonsense is not a Dask scheduler address"),
])
def test_a_scheduler_that_cannot_be_reached_exits_2(tmp_path, monkeypatch, capsys, address,
                                                    message):
    monkeypatch.setattr(clusters, "CONNECT_TIMEOUT", "1s")
    address = address or f"tcp://127.0.0.1:{free_port()}"
    code = _sweep(_experiment(tmp_path), "--scheduler", address, "--out", tmp_path / "store")
    err = capsys.readouterr().err
    assert code == 2, err
    assert message in err and "Traceback" not in err


# ---------------------------------------------------------------- what listens where


def _listening(pid: int) -> set[tuple[str, int]]:
    return {(c.laddr.ip, c.laddr.port) for c in psutil.Process(pid).net_connections("inet")
            if c.status == psutil.CONN_LISTEN}


def test_the_local_cluster_and_its_dashboard_listen_on_127_0_0_1_only(capfd):
    from urllib.parse import urlparse

    before = _listening(os.getpid())
    with connect(workers=1, announce=True) as connection:
        client = connection.client
        link = client.dashboard_link
        assert client.scheduler_info()["address"].startswith("tcp://127.0.0.1:")
        assert urlparse(link).hostname == "127.0.0.1"
        worker_pids = set(client.run(os.getpid).values())
        sockets = _listening(os.getpid()) - before
        for pid in worker_pids:
            sockets |= _listening(pid)
    assert (("127.0.0.1", urlparse(link).port)) in sockets     # the dashboard runs
    assert {ip for ip, _ in sockets} == {"127.0.0.1"}, sockets
    assert f"Dask dashboard: {link}" in capfd.readouterr().err


def test_slurm_workers_have_no_dashboard_and_use_tls_given_certificates(certificates):
    plain = job_script(SlurmOptions(jobs=1))
    assert "--no-dashboard" in plain and "tls" not in plain
    security = security_for(certificates, slurm=True)
    script = job_script(SlurmOptions(jobs=1), security)
    worker = next(line for line in script.splitlines() if "dask_worker" in line)
    for flag in ("--protocol tls://", f"--tls-ca-file {certificates.ca_file}",
                 f"--tls-cert {certificates.cert}", f"--tls-key {certificates.key}",
                 "--no-dashboard"):
        assert flag in worker, worker


# ---------------------------------------------------------------- TLS


@pytest.fixture(scope="module")
def certificates(tmp_path_factory) -> TlsFiles:
    """A throw-away CA and a certificate it signed, for the scheduler, workers and client."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make test certificates")
    folder = tmp_path_factory.mktemp("certs")
    key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for command in (
            ["req", "-x509", *key, "-keyout", "ca-key.pem", "-out", "ca.pem", "-days", "2",
             "-subj", "/CN=xiaowei test CA"],
            ["req", *key, "-keyout", "key.pem", "-out", "cert.csr", "-subj", "/CN=localhost"],
            ["x509", "-req", "-in", "cert.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem",
             "-CAcreateserial", "-out", "cert.pem", "-days", "2"]):
        subprocess.run(["openssl", *command], cwd=folder, check=True, capture_output=True)
    return TlsFiles(ca_file=str(folder / "ca.pem"), cert=str(folder / "cert.pem"),
                    key=str(folder / "key.pem"))


@pytest.fixture
def tls_scheduler(certificates) -> Iterator:
    """A scheduler that speaks TLS only, with one worker (a thread of this process)."""
    from distributed import LocalCluster
    from distributed.security import Security

    files = {"tls_ca_file": certificates.ca_file}
    for role in ("scheduler", "worker", "client"):
        files |= {f"tls_{role}_cert": certificates.cert, f"tls_{role}_key": certificates.key}
    cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                           protocol="tls://", host="127.0.0.1", dashboard_address=None,
                           security=Security(require_encryption=True, **files),
                           silence_logs=logging.ERROR)
    try:
        yield cluster
    finally:
        cluster.close()


def test_a_sweep_runs_on_a_tls_scheduler_with_the_file_s_certificates(
        tmp_path, tls_scheduler, certificates, capsys):
    address = tls_scheduler.scheduler_address
    assert address.startswith("tls://")
    with connect(scheduler=address, tls=certificates) as connection:
        assert connection.client.submit(lambda x: x + 1, 1).result() == 2
    # the experiment file names the certificates, relative to itself
    for name in ("ca_file", "cert", "key"):
        shutil.copy(getattr(certificates, name), tmp_path / f"{name}.pem")
    path = _experiment(tmp_path, '\n[cluster]\ntls_ca_file = "ca_file.pem"\n'
                                 'tls_cert = "cert.pem"\ntls_key = "key.pem"\n')
    out = tmp_path / "store"
    code = _sweep(path, "--scheduler", address, "--out", out)
    assert code == 0, capsys.readouterr().err
    assert Store(out).stored_ids() == {run_id(0, 0), run_id(1, 0)}
    # certificates are not part of what the store holds: the same store, without them
    assert sweep(load_experiment(_experiment(tmp_path)), out, workers=1,
                 progress=False).skipped == 2


def test_tls_problems_exit_2_naming_what_is_missing(tmp_path, certificates, capsys):
    path = _experiment(tmp_path)
    out = tmp_path / "store"
    cases = [
        (["--scheduler", "tls://127.0.0.1:1"],
         "--scheduler tls://127.0.0.1:1 needs Dask's TLS certificates: --tls-ca-file, "
         "--tls-cert and --tls-key"),
        (["--scheduler", "tls://127.0.0.1:1", "--tls-ca-file", certificates.ca_file,
          "--tls-cert", certificates.cert, "--tls-key", str(tmp_path / "nokey.pem")],
         f"--tls-key {tmp_path / 'nokey.pem'}: no such file"),
        (["--scheduler", "tls://127.0.0.1:1", "--tls-cert", certificates.cert],
         "missing: --tls-ca-file, --tls-key"),
        (["--scheduler", "tcp://127.0.0.1:1", "--tls-ca-file", certificates.ca_file],
         "--scheduler tcp://127.0.0.1:1 is not encrypted"),
        (["--workers", "2", "--tls-cert", certificates.cert],
         "--tls-cert: TLS is for --scheduler tls://HOST:PORT or --cluster slurm"),
    ]
    for options, message in cases:
        assert _sweep(path, *options, "--out", out) == 2, options
        err = capsys.readouterr().err
        assert message in err, (options, err)
        assert "Traceback" not in err
    assert not out.exists()     # refused before the store is made
    bad = _experiment(tmp_path, '\n[cluster]\ntls_certs = "cert.pem"\n')
    assert _sweep(bad, "--out", out) == 2
    assert "unknown key 'cluster.tls_certs' (did you mean 'tls_cert'?)" in \
        capsys.readouterr().err


def test_the_command_line_s_certificates_win_over_the_file_s(tmp_path):
    source = tmp_path / "sub" / "exp.toml"
    table = ClusterSpec(tls_ca_file="ca.pem", tls_cert="cert.pem", tls_key="key.pem")
    args = argparse.Namespace(tls_ca_file=None, tls_cert="/mine/cert.pem", tls_key=None,
                              scheduler="tls://h:1", cluster=None)
    assert tls_files(args, table, source, ExperimentError) == TlsFiles(
        ca_file=str(tmp_path / "sub" / "ca.pem"), cert="/mine/cert.pem",
        key=str(tmp_path / "sub" / "key.pem"))
    args.tls_cert = None
    assert tls_files(args, None, source, ExperimentError) is None
    # the file's certificates do not stop local workers (they are for remote schedulers)
    args.scheduler = None
    assert security_for(tls_files(args, table, source, ExperimentError)) is None
