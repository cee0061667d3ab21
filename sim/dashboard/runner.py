"""Running the dashboard's two scenarios side by side, one quarter of each at a time,
reporting the quarterly paths so far as they grow.

Meant for a background thread: it checks a stop event every quarter and hands
snapshots to a callback. One run at a time per server process, because numba's
parallel kernels must not be entered from two threads at once.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sim.dashboard.form import Plan
from sim.model import FREE_AT_ONCE_AGENTS

SERIES: tuple[str, ...] = ("new_loans", "online_share_new", "avg_rate_new", "npl_ratio",
                           "default_rate", "unmet_demand_share")
# a model frees its memory only when the cycle collector runs (sim.model.run)

RUN_LOCK = threading.Lock()
_kernels_ready = False


@dataclass(frozen=True)
class Snapshot:
    """Where a run is, and the quarterly paths of both scenarios so far."""

    stage: str                      # waiting, kernels, burn-in, running, writing, done, ...
    steps_done: int = 0
    steps_total: int = 0
    quarters: tuple[str, ...] = ()  # reported quarters simulated so far
    baseline: dict[str, tuple[float, ...]] = field(default_factory=dict)
    lever: dict[str, tuple[float, ...]] = field(default_factory=dict)
    run_dir: str | None = None
    message: str = ""

    @property
    def finished(self) -> bool:
        return self.stage in ("done", "stopped", "failed")


class Stopped(Exception):
    """The page asked the run to stop."""


def reported_so_far(model, columns: tuple[str, ...] = SERIES) -> dict[str, tuple[float, ...]]:
    """The quarterly columns of the quarters ``model`` has simulated, read from its
    recorder: ``model.results()`` builds all three tables (about 0.3 s at 20,000 SMEs),
    too slow to call every quarter."""
    done = max(0, model.quarter - model.start_quarter)
    recorded = model.recorder.quarterly
    return {name: tuple(float(v) for v in recorded[name][:done]) for name in columns}


def _labels(model) -> tuple[str, ...]:
    from sim.quarters import quarter_label

    return tuple(quarter_label(q) for q in range(model.start_quarter, model.quarter))


def _warm_up(report: Callable[[Snapshot], None]) -> None:
    global _kernels_ready
    if _kernels_ready:
        return
    from sim.warmup import cache_is_warm, warm_up

    report(Snapshot("kernels", message="loading the kernels" + (
        "" if cache_is_warm() else " (compiling them, the first time only: a few minutes)")))
    warm_up()
    _kernels_ready = True


def _acquire(stop: threading.Event, report: Callable[[Snapshot], None]) -> None:
    if RUN_LOCK.acquire(blocking=False):
        return
    report(Snapshot("waiting", message="waiting for another run on this server to finish"))
    while not RUN_LOCK.acquire(timeout=0.5):
        if stop.is_set():
            raise Stopped


def run_pair(plan: Plan, root: Path, report: Callable[[Snapshot], None],
             stop: threading.Event, interval: float = 0.2) -> Path:
    """Run ``plan``'s baseline and lever scenarios in step, calling ``report`` with a
    :class:`Snapshot` at most every ``interval`` seconds (and at the end); write the
    lever run's folder under ``root`` and return it. Raises :class:`Stopped` when
    ``stop`` is set."""
    _acquire(stop, report)
    try:
        _warm_up(report)
        return _run_locked(plan, root, report, stop, interval)
    finally:
        RUN_LOCK.release()


def _run_locked(plan: Plan, root: Path, report: Callable[[Snapshot], None],
                stop: threading.Event, interval: float) -> Path:
    from sim.dashboard.folders import new_run_dir
    from sim.model import build_model
    from sim.results import write_run

    lever = build_model(plan.lever)
    baseline = lever if plan.same else build_model(plan.baseline)
    total = lever.end_quarter - lever.quarter + 1
    last = 0.0
    for done in range(1, total + 1):
        if stop.is_set():
            raise Stopped
        if baseline is not lever:
            baseline.step()
        lever.step()
        if time.monotonic() - last >= interval or done == total:
            in_burn_in = lever.quarter <= lever.start_quarter
            report(Snapshot("burn-in" if in_burn_in else "running", done, total,
                            _labels(lever), reported_so_far(baseline),
                            reported_so_far(lever)))
            # counted from the end of the report: drawing the page never starves the run
            last = time.monotonic()
    report(Snapshot("writing", total, total, _labels(lever), reported_so_far(baseline),
                    reported_so_far(lever)))
    result = lever.results()
    out_dir = write_run(result, new_run_dir(root, plan.lever.name, plan.lever.run.seed))
    final = Snapshot("done", total, total, _labels(lever), reported_so_far(baseline),
                     reported_so_far(lever), run_dir=str(out_dir))
    agents = plan.lever.run.agents
    del lever, baseline, result
    if agents >= FREE_AT_ONCE_AGENTS:
        gc.collect()
    report(final)
    return out_dir
