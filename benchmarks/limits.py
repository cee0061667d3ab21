"""How far the core is from the hardware: a memory-bandwidth floor and a cold start.

Usage (from the repository root)::

    python benchmarks/limits.py                   # 1M agents, all threads
    python benchmarks/limits.py --agents 100000 1000000

* **Bandwidth floor.** A plain streaming pass over SME records of the same size as a
  run's (the population's firm and loan records for ``agents``, every field of
  ``sim.population.SME_FIELDS``): every byte is read once and written back, as the firm
  pass writes into every record it visits. No kernel that visits every firm can be
  faster than this pass; the firm pass's time ÷ the floor says how far it is from the
  memory's limit.
* **Cold start.** ``sim run`` on the baseline (cut to one quarter) in a new process with a
  warm compilation cache: import, load the compiled kernels, build the model. The wall
  time from launching the process to the start of its first quarter is what a user waits
  for before anything happens (DESIGN §9's target): the median of five launches. Another
  process times each step.

``benchmarks/scale.py`` calls both after its own measurements, so one run of it prints
every figure; run this file alone for just these two. Results go to
``benchmarks/results/limits-<stamp>.csv``.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/scale.py

from scale import (  # noqa: E402 - scenario, paths and CSV writing shared with scale.py
    BASELINE_SCENARIO, REPO_ROOT, RESULTS_DIR, _write_csv_atomic, build_scenario,
)

COLD_MARKER = "COLD_START "
COLD_START_TARGET_S = 2.0
LIMIT_COLUMNS = ("timestamp", "measure", "agents", "threads", "capacity_slots", "state_mb",
                 "seconds", "gb_per_s", "ns_per_sme", "target_s", "meets_target", "detail")


def capacity_for(agents: int) -> int:
    """Slots a baseline run of ``agents`` allocates."""
    from sim.population import slot_capacity

    return slot_capacity(build_scenario(agents, None, False))


def _stream_kernels():
    from numba import njit, prange

    @njit(parallel=True, nogil=True)
    def read_write(words, flip):
        """Read every byte and write it back (``flip`` is 0 at run time)."""
        for i in prange(words.shape[0]):
            words[i] = words[i] ^ flip

    return read_write


def bandwidth_floor(agents: int, threads: int | None = None, repeats: int = 5) -> dict:
    """Best-of-``repeats`` time of one streaming pass over the SME records."""
    import numba
    import numpy as np

    from sim.population import Population

    if threads:
        numba.set_num_threads(threads)
    capacity = capacity_for(agents)
    pop = Population.allocate(capacity)
    views = {"firms": pop.firms.view(np.uint8), "loans": pop.loans.reshape(-1).view(np.uint8)}
    for view in views.values():
        view[:] = 1  # touch every page before timing
    read_write = _stream_kernels()
    flip = np.uint8(0)
    for view in views.values():  # compile and warm
        read_write(view[:64], flip)
    best = math.inf
    for _ in range(repeats):
        started = time.perf_counter()
        for view in views.values():
            read_write(view, flip)
        best = min(best, time.perf_counter() - started)
    read_bytes = sum(v.nbytes for v in views.values())
    written = read_bytes
    moved = read_bytes + written
    return {"measure": "bandwidth_floor", "agents": agents, "threads": numba.get_num_threads(),
            "capacity_slots": capacity, "state_mb": read_bytes / 1e6, "seconds": best,
            "gb_per_s": moved / best / 1e9, "ns_per_sme": best / agents * 1e9,
            "detail": f"read {read_bytes / 1e6:.0f} MB, wrote {written / 1e6:.0f} MB"}


# The breakdown: the same start-up as ``sim run`` (collector paused), step by step.
_COLD_CHILD = """
import json, time
t0 = time.perf_counter()
from sim.deferred_imports import defer
from sim.startup import collector_paused
defer()
with collector_paused():
    import numba
    t_numba = time.perf_counter()
    import mesa
    t_mesa = time.perf_counter()
    import sim
    from sim.config import load_scenario
    from sim.model import CreditMarket
    t_import = time.perf_counter()
    from sim.warmup import warm_up
    was_cached, _ = warm_up()
    t_kernels = time.perf_counter()
    scenario = load_scenario({scenario!r}, agents={agents})
    model = CreditMarket(scenario)
    t_built = time.perf_counter()
print({marker!r} + json.dumps({{"cache_warm": was_cached, "numba_s": t_numba - t0,
      "mesa_s": t_mesa - t_numba, "import_s": t_import - t0,
      "kernels_s": t_kernels - t_import, "build_s": t_built - t_kernels}}), flush=True)
"""

# The baseline cut to its first quarter, no burn-in, with the slots the whole baseline
# allocates: ``sim run`` on it starts as on the baseline and stops after one quarter.
_ONE_QUARTER = """extends = {baseline!r}
name = "cold-start"
[run]
end = "2024Q1"
burn_in_quarters = 0
[population]
capacity_factor = {capacity_factor!r}
"""


def _start_breakdown(agents: int) -> dict:
    """Seconds spent in each step of the start-up, timed inside a new process."""
    code = _COLD_CHILD.format(scenario=str(BASELINE_SCENARIO), agents=agents,
                              marker=COLD_MARKER)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=REPO_ROOT, timeout=1800)
    lines = [l for l in done.stdout.splitlines() if l.startswith(COLD_MARKER)]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"cold-start child failed:\n{done.stderr[-2000:]}")
    return json.loads(lines[-1][len(COLD_MARKER):])


COLD_START_LAUNCHES = 5


def _launch_to_first_quarter(agents: int, scenario: Path, out: Path) -> tuple[float, float]:
    """One ``sim run`` launch: seconds from launch to its first quarter's start, and the
    first quarter's own seconds."""
    launched = time.time()  # the run reports on the same clock when its quarter starts
    done = subprocess.run([sys.executable, "-m", "sim", "run", str(scenario), "--agents",
                           str(agents), "--quiet", "--out", str(out)],
                          capture_output=True, text=True, cwd=REPO_ROOT, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"sim run failed:\n{done.stderr[-2000:]}")
    meta = json.loads((out / "run.json").read_text())
    return meta["started_unix"] - launched, meta["wall_seconds"]


def cold_start(agents: int, launches: int = COLD_START_LAUNCHES) -> dict:
    """Wall time from launching ``sim run`` (a new process, warm kernel cache) to the start
    of its first quarter, as DESIGN §9 defines the target: the median of ``launches``
    launches, since one launch of a couple of seconds is at the mercy of a passing
    slowdown of the machine. The spread, the first quarter itself and a breakdown of the
    start-up go into the detail."""
    import compileall

    from sim.warmup import cache_is_warm

    cache_warm = cache_is_warm()
    # Python's own cache warm too: an interpreter that starts with PYTHONDONTWRITEBYTECODE
    # (as on some CI machines) would otherwise compile the package's sources every launch
    compileall.compile_dir(REPO_ROOT / "sim", quiet=1)
    with tempfile.TemporaryDirectory() as tmp:
        scenario = Path(tmp) / "one_quarter.toml"
        scenario.write_text(_ONE_QUARTER.format(baseline=str(BASELINE_SCENARIO),
                                                capacity_factor=capacity_for(agents) / agents))
        timed = [_launch_to_first_quarter(agents, scenario, Path(tmp) / f"run{k}")
                 for k in range(launches)]
    starts = sorted(to_start for to_start, _ in timed)
    to_start = statistics.median(starts)
    first_quarter = statistics.median(quarter for _, quarter in timed)
    parts = _start_breakdown(agents)
    # the other process's steps leave out the interpreter and the command line, and are
    # timed apart, so their sum need not match the launches to the millisecond
    detail = (f"median of {launches} launches, {starts[0]:.2f}-{starts[-1]:.2f} s; first "
              f"quarter {first_quarter:.2f} s more; start-up timed inside another process: "
              f"{sum(parts[k] for k in ('import_s', 'kernels_s', 'build_s')):.2f} s after "
              f"the interpreter started, of which imports {parts['import_s']:.2f} s (numba "
              f"{parts['numba_s']:.2f}, mesa {parts['mesa_s']:.2f}), kernels "
              f"{parts['kernels_s']:.2f} s (cache "
              f"{'warm' if cache_warm and parts['cache_warm'] else 'COLD'}), build "
              f"{parts['build_s']:.2f} s")
    return {"measure": "cold_start_to_first_quarter", "agents": agents, "seconds": to_start,
            "target_s": COLD_START_TARGET_S, "meets_target": to_start <= COLD_START_TARGET_S,
            "detail": detail}


# A small fixed workload, timed before and after a long benchmark run: on a shared or
# virtual machine the speed can drift by more than the effects being measured.
PROBE_AGENTS, PROBE_QUARTERS = 20_000, 4


def speed_probe(repeats: int = 5) -> float:
    """ns per SME-quarter of the baseline at 20,000 agents for four quarters on one thread,
    in this process (kernels already loaded), best of ``repeats``."""
    import numba
    from sim.model import CreditMarket

    threads = numba.get_num_threads()
    best = math.inf
    try:
        for _ in range(repeats):
            model = CreditMarket(build_scenario(PROBE_AGENTS, 1, False))
            started = time.perf_counter()
            for _ in range(PROBE_QUARTERS):
                model.step()
            best = min(best, time.perf_counter() - started)
    finally:
        numba.set_num_threads(threads)
    return best / (PROBE_AGENTS * PROBE_QUARTERS) * 1e9


def print_limits(rows: list[dict]) -> None:
    print("\nHardware limits")
    for row in rows:
        if row["measure"] == "bandwidth_floor":
            print(f"  bandwidth floor, {row['agents']:>10,} agents, {row['threads']} threads: "
                  f"{row['ns_per_sme']:6.1f} ns per SME per pass "
                  f"({row['gb_per_s']:.1f} GB/s; {row['detail']})")
        else:
            verdict = "meets" if row["meets_target"] else "MISSES"
            print(f"  cold start to the first quarter, {row['agents']:>10,} agents: "
                  f"{row['seconds']:.2f} s ({verdict} the {row['target_s']:.0f} s target; "
                  f"{row['detail']})")


def write_limits(rows: list[dict], stamp: str | None = None) -> Path:
    stamp = stamp or datetime.now().strftime("%Y%m%d-%H%M%S")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"limits-{stamp}.csv"
    _write_csv_atomic(path, LIMIT_COLUMNS, [{"timestamp": stamp, **row} for row in rows])
    return path


def measure(agents_list, threads: int | None) -> list[dict]:
    rows = [bandwidth_floor(n, threads) for n in agents_list]
    rows += [cold_start(n) for n in agents_list]
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--agents", type=int, nargs="+", default=[1_000_000], metavar="N")
    parser.add_argument("--threads", type=int, metavar="N", help="threads for the floor")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO_ROOT))
    rows = measure(args.agents, args.threads)
    print_limits(rows)
    print(f"\nwrote {write_limits(rows)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
