"""What a sweep will cost, said before anything runs: runs, time and disk.

The time model is ``SECONDS_PER_QUARTER + NS_PER_SME_QUARTER × agents`` per simulated
quarter (burn-in included) on one core, plus the start-up of each worker process. It was
measured with one numba thread per run on the 2-core development machine (AMD EPYC,
24 GiB) while other work shared it: 5,000 SMEs × 44 quarters in 1.1 s, 100,000 in 3.8 s,
rounded up. A machine to itself is faster; a busier one slower.
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.experiment.spec import Experiment

NS_PER_SME_QUARTER = 1_000      # firms' phases, single-threaded
SECONDS_PER_QUARTER = 0.03      # lenders, regulators and recording, whatever the agents
WORKER_START_SECONDS = 8.0      # interpreter, imports and loading the compiled kernels
# A run file: footer and metadata, a column chunk per column, then the numbers (measured:
# 12.8 KB for 4 quarters and 20.5 KB for 28 quarters of 46 columns).
BYTES_PER_RUN = 1_500
BYTES_PER_COLUMN = 220
BYTES_PER_VALUE = 7
ID_COLUMNS = 6                  # point, replicate, seed, quarter, scenario hash, version


@dataclass
class Estimate:
    runs: int
    seconds_per_run: float
    seconds: float
    bytes: int

    def describe(self, workers: int | None) -> str:
        """One line; ``workers`` None means a scheduler whose workers are not known yet."""
        per_run = f"{self.seconds_per_run:.1f} s per run on one core"
        if workers is None:
            return f"{per_run}, {_size(self.bytes)} on disk"
        plural = "s" if workers != 1 else ""
        return (f"about {_duration(self.seconds)} on {workers} worker{plural} ({per_run}), "
                f"{_size(self.bytes)} on disk")


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _size(size: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} TB"


def estimate(experiment: Experiment, runs: int, workers: int) -> Estimate:
    """Time and disk of ``runs`` runs of ``experiment`` on ``workers`` parallel workers."""
    reported, burn_in = experiment.quarters
    quarters = reported + burn_in
    per_run = quarters * (SECONDS_PER_QUARTER + NS_PER_SME_QUARTER * 1e-9 * experiment.agents)
    workers = max(1, workers)
    waves = -(-runs // workers)  # runs are whole: the last wave may be partly idle
    start = WORKER_START_SECONDS if workers > 1 else 0.0
    columns = len(experiment.outputs) + len(experiment.keys) + ID_COLUMNS
    disk = runs * (BYTES_PER_RUN + columns * (BYTES_PER_COLUMN + BYTES_PER_VALUE * reported))
    return Estimate(runs=runs, seconds_per_run=per_run, seconds=start + waves * per_run,
                    bytes=int(disk))
