"""Sweeps end to end: every backend stores the same runs; nothing is lost or stored twice.

Tiny runs (3,000-4,000 SMEs, a year or so, 2 burn-in quarters) keep the whole file near a
minute on 2 cores. The "remote" cluster is a real ``dask scheduler`` and two ``dask
worker`` processes on localhost, started from the venv's ``dask`` entry point.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from sim import cli
from sim.errors import SimError
from sim.experiment import load, load_experiment, sweep
from sim.experiment.store import Store, run_id
from tests.helpers import free_port

REPO_ROOT = Path(__file__).resolve().parents[1]
BASELINE = (REPO_ROOT / "scenarios" / "baseline.toml").as_posix()
TIMEOUT = 300

# 2 × 2 points × 2 replicates = 8 runs; the rate cut applies from 2024Q3, so points that
# differ only in the LPR share every number of the same replicate before then.
SMALL = f"""
name = "small"
scenario = "{BASELINE}"
replications = 2
seed = 99
[run]
agents = 3000
end = "2024Q4"
burn_in_quarters = 2
[parameters."policy.central_bank.lpr_1y_annual"]
levels = [0.0345, 0.0300]
at = "2024Q3"
[parameters."firms.borrowing_propensity"]
levels = [0.40, 0.50]
"""
# 3 × 2 points × 2 replicates = 12 slightly longer runs, to interrupt mid-sweep.
LONGER = f"""
name = "longer"
scenario = "{BASELINE}"
replications = 2
seed = 5
outputs = ["sme_alive", "new_loans", "npl_ratio", "online_share_new", "lpr_1y"]
[run]
agents = 4000
end = "2025Q2"
burn_in_quarters = 2
[parameters."policy.central_bank.rrr"]
levels = [0.070, 0.065, 0.060]
[parameters."credit.rate_sensitivity"]
levels = [18.0, 26.0]
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def all_ids(points: int, replications: int) -> list[str]:
    return [run_id(p, r) for p in range(points) for r in range(replications)]


def wait_for_runs(store: Path, count: int, process: subprocess.Popen, timeout: float = 120):
    """Poll until ``count`` runs are stored; fail if the sweep ends or stalls first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(Store(store).stored_ids()) >= count:
            return
        if process.poll() is not None:
            pytest.fail(f"sweep ended (exit {process.returncode}) before {count} runs were "
                        f"stored:\n{process.stderr.read() if process.stderr else ''}")
        time.sleep(0.05)
    pytest.fail(f"fewer than {count} runs stored after {timeout} s")


def start_sweep(*args: str | Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "sim", "sweep", *map(str, args), "--quiet"],
                            cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


# ---------------------------------------------------------------- a real dask cluster


@dataclass
class RemoteCluster:
    address: str
    scheduler: subprocess.Popen
    workers: list[subprocess.Popen]
    logs: Path

    def add_worker(self, name: str) -> subprocess.Popen:
        """Start one more ``dask worker`` (no nanny: a kill is final) and wait for it."""
        from distributed import Client

        log = (self.logs / f"{name}.log").open("w")
        worker = subprocess.Popen([*_dask_command("worker"), self.address, "--nthreads", "1",
                                   "--no-nanny", "--no-dashboard", "--name", name],
                                  stdout=log, stderr=subprocess.STDOUT, env=_worker_env())
        self.workers.append(worker)
        with Client(self.address, timeout="60s") as client:
            client.wait_for_workers(len(self.workers), timeout=120)
        return worker



def _dask_command(kind: str) -> list[str]:
    entry = Path(sys.executable).with_name("dask")
    if entry.exists():
        return [str(entry), kind]
    return [sys.executable, "-m", f"distributed.cli.dask_{kind}"]


def _worker_env() -> dict[str, str]:
    return {**os.environ, "NUMBA_NUM_THREADS": "1", "PYTHONPATH": str(REPO_ROOT)}


def _stop(processes: list[subprocess.Popen]) -> None:
    for process in reversed(processes):
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def kill_while_busy(address: str, name: str, worker: subprocess.Popen) -> list[str]:
    """SIGKILL a worker while it computes a run; return the run ids it was computing."""
    from distributed import Client

    with Client(address, timeout="30s") as client:
        info = client.scheduler_info(n_workers=-1)["workers"]
        where = next(addr for addr, w in info.items() if w.get("name") == name)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            keys = client.processing(workers=[where]).get(where, [])
            if keys:
                worker.kill()
                worker.wait(timeout=30)
                return [str(key).split("-", 1)[1].rsplit("-", 1)[0] for key in keys]
            time.sleep(0.02)
    pytest.fail(f"worker {name} never had a run to compute")


@pytest.fixture(scope="module")
def remote(tmp_path_factory) -> Iterator[RemoteCluster]:
    """A ``dask scheduler`` and two ``dask worker`` processes on localhost."""
    logs = tmp_path_factory.mktemp("dask-logs")
    address = f"tcp://127.0.0.1:{free_port()}"
    log = (logs / "scheduler.log").open("w")
    scheduler = subprocess.Popen([*_dask_command("scheduler"), "--host", "127.0.0.1", "--port",
                                  address.rsplit(":", 1)[1], "--no-dashboard"],
                                 stdout=log, stderr=subprocess.STDOUT, env=_worker_env())
    cluster = RemoteCluster(address, scheduler, [], logs)
    try:
        for i in range(2):
            cluster.add_worker(f"w{i}")
        yield cluster
    finally:
        _stop([scheduler, *cluster.workers])


# ---------------------------------------------------------------- (1) same results anywhere


@pytest.mark.slow
def test_serial_local_and_remote_workers_store_identical_results(tmp_path, remote):
    experiment = load_experiment(write(tmp_path, "small", SMALL))
    expected = all_ids(4, 2)
    reports = {"serial": sweep(experiment, tmp_path / "serial", workers=1, progress=False),
               "local": sweep(experiment, tmp_path / "local", workers=2, progress=False)}
    reports["remote"] = sweep(experiment, tmp_path / "remote", scheduler=remote.address,
                              progress=False)
    worker_pids = {str(w.pid) for w in remote.workers if w.poll() is None}
    for name, report in reports.items():
        assert report.complete and not report.failed, name
        assert sorted(report.executed) == expected, name
    frames = {name: load(tmp_path / name) for name in reports}
    assert len(frames["serial"]) == 8 * 4
    for name in ("local", "remote"):
        pd.testing.assert_frame_equal(frames["serial"], frames[name], check_exact=True)

    def pids(name: str) -> set[str]:
        from sim.experiment.store import run_metadata

        return {run_metadata(p)["worker"].rsplit(":", 1)[1]
                for p in (tmp_path / name / "runs").glob("*.parquet")}

    assert pids("serial") == {str(os.getpid())}
    assert len(pids("local") - {str(os.getpid())}) == 2       # two worker processes
    assert pids("remote") == worker_pids                       # every remote worker ran runs

    # common random numbers: seeds follow the replicate only, and before the 2024Q3 cut
    # two points differing only in the LPR are identical run for run
    serial = frames["serial"]
    assert serial.groupby("replicate")["seed"].nunique().eq(1).all()
    assert serial["seed"].nunique() == 2
    lpr = "policy.central_bank.lpr_1y_annual"
    early = serial[serial["quarter"] < "2024Q3"]

    def points_with(rate: float) -> pd.DataFrame:
        part = early[early[lpr] == rate]
        return part.drop(columns=["point", lpr, "scenario_hash"]).reset_index(drop=True)

    pd.testing.assert_frame_equal(points_with(0.03), points_with(0.0345), check_exact=True)
    late = serial[serial["quarter"] == "2024Q4"]
    assert late.groupby("policy.central_bank.lpr_1y_annual")["new_loans"].mean().nunique() == 2


# ---------------------------------------------------------------- (2) nothing lost


@pytest.fixture(scope="module")
def interrupted_and_resumed(tmp_path_factory) -> dict:
    """The LONGER sweep: Ctrl-C, then a hard crash, then the same sweep again."""
    folder = tmp_path_factory.mktemp("resume")
    path = write(folder, "longer", LONGER)
    out = folder / "store"
    facts: dict = {"out": out, "path": path}

    first = start_sweep(path, "--workers", "1", "--out", out)
    wait_for_runs(out, 2, first)
    first.send_signal(signal.SIGINT)
    _, facts["sigint_stderr"] = first.communicate(timeout=60)
    facts["sigint_code"] = first.returncode
    facts["after_sigint"] = Store(out).stored_ids()

    second = start_sweep(path, "--workers", "1", "--out", out)
    wait_for_runs(out, len(facts["after_sigint"]) + 2, second)
    second.kill()                                   # no clean-up at all
    second.wait(timeout=60)
    before = Store(out).stored_ids()
    facts["before_resume"] = before
    facts["stat"] = {rid: (out / "runs" / f"{rid}.parquet").stat() for rid in before}
    # a writer that died mid-file leaves a hidden temporary file behind
    leftover = (out / "runs"
                / f".p000000-r0000.parquet.{socket.gethostname()}.{second.pid}.deadbeef.tmp")
    leftover.write_bytes(b"half a parquet file")
    facts["leftover"] = leftover

    facts["report"] = sweep(load_experiment(path), out, workers=1, progress=False)
    return facts


@pytest.mark.slow
def test_interrupted_sweep_resumes_only_the_missing_runs(interrupted_and_resumed):
    facts = interrupted_and_resumed
    expected = all_ids(6, 2)
    assert facts["sigint_code"] == 130, facts["sigint_stderr"]
    assert "run the same command again" in facts["sigint_stderr"]
    assert 2 <= len(facts["after_sigint"]) < len(expected)
    before = facts["before_resume"]
    assert facts["after_sigint"] < before and len(before) < len(expected)

    report = facts["report"]
    assert report.skipped == len(before)
    assert report.executed == [rid for rid in expected if rid not in before]  # only those
    assert report.complete and not report.failed
    out = facts["out"]
    for rid, stat in facts["stat"].items():        # earlier runs were not rewritten
        now = (out / "runs" / f"{rid}.parquet").stat()
        assert (now.st_ino, now.st_mtime_ns) == (stat.st_ino, stat.st_mtime_ns), rid
    assert not facts["leftover"].exists()
    assert sorted(p.name for p in (out / "runs").iterdir()) == [f"{r}.parquet" for r in expected]
    frame = load(out)
    assert not frame.duplicated(["point", "replicate", "quarter"]).any()
    assert len(frame) == len(expected) * 6
    status = Store(out).status()
    assert not status.missing and not status.failed


@pytest.mark.slow
def test_killed_worker_runs_are_rerun_and_stored_once(tmp_path, remote, interrupted_and_resumed):
    path = interrupted_and_resumed["path"]
    out = tmp_path / "store"
    victim = remote.add_worker("victim")
    process = start_sweep(path, "--scheduler", remote.address, "--out", out)
    try:
        wait_for_runs(out, 2, process)
        in_flight = kill_while_busy(remote.address, "victim", victim)
        assert process.poll() is None, "the sweep ended before the worker was killed"
        stdout, stderr = process.communicate(timeout=TIMEOUT)
    finally:
        _stop([process, victim])
    assert process.returncode == 0, stderr
    assert "12 of 12" in stdout
    expected = all_ids(6, 2)
    status = Store(out).status()
    assert sorted(status.stored) == expected and not status.failed
    assert sorted(p.name for p in (out / "runs").iterdir()) == [f"{r}.parquet" for r in expected]
    # the runs the victim was computing were computed again elsewhere and stored once
    from sim.experiment.store import run_metadata

    for rid in in_flight:
        worker = run_metadata(out / "runs" / f"{rid}.parquet")["worker"]
        assert not worker.endswith(f":{victim.pid}"), rid
    frame = load(out)
    assert not frame.duplicated(["point", "replicate", "quarter"]).any()
    # re-run runs are the same runs: identical to the serial, resumed store
    pd.testing.assert_frame_equal(frame, load(interrupted_and_resumed["out"]), check_exact=True)


def test_failed_run_is_recorded_and_the_sweep_goes_on(tmp_path, capsys, monkeypatch):
    # the run of one design point fails (one worker runs in this process)
    import sim.model

    real_run = sim.model.run

    def failing_run(scenario, **kwargs):
        if scenario.population.capacity_factor == 1.0:
            raise SimError("the run broke down (a failure the test injects)")
        return real_run(scenario, **kwargs)

    monkeypatch.setattr(sim.model, "run", failing_run)
    path = write(tmp_path, "fails", f"""
name = "fails"
scenario = "{BASELINE}"
[run]
agents = 2000
end = "2024Q2"
burn_in_quarters = 0
[parameters."population.capacity_factor"]
levels = [1.0, 2.0]
""")
    out = tmp_path / "store"
    assert cli.main(["sweep", str(path), "--workers", "1", "--out", str(out), "--quiet"]) == 1
    captured = capsys.readouterr()
    assert "1 runs failed" in captured.err and "1 runs stored" in captured.out
    status = Store(out).status()
    assert status.stored == {run_id(1, 0)}
    assert "broke down" in status.failed[run_id(0, 0)]
    assert cli.main(["sweep", "--status", str(out)]) == 0
    assert "1 of 2 runs stored, 1 failed" in capsys.readouterr().out
    # the same store refuses a different experiment
    path.write_text(path.read_text().replace("2.0]", "3.0]"), encoding="utf-8")
    assert cli.main(["sweep", str(path), "--workers", "1", "--out", str(out)]) == 2
    assert "different experiment" in capsys.readouterr().err
