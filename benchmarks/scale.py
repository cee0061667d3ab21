"""Scaling benchmark: wall time and memory per SME at 100k, 1M (and 10M) agents.

Usage (from the repository root)::

    python benchmarks/scale.py                      # 100k and 1M agents, all threads
    python benchmarks/scale.py --agents 100000      # one size only
    python benchmarks/scale.py --with-10m           # add 10M agents (RAM: ~10M x bytes per SME)
    python benchmarks/scale.py --threads 4          # the main runs on 4 threads
    python benchmarks/scale.py --quarters-only      # no burn-in: simulate only reported quarters
    python benchmarks/scale.py --full               # 100k/1M/10M on 1 and 2 threads, limits.py
                                                    # and engines.py: every figure in one run

Every measurement runs in a fresh child process (this script with ``--child``), so peak
memory is that of one run. The child loads the kernels, records its resident memory
(the baseline), builds the model and steps it quarter by quarter, timing burn-in and
reported quarters separately. Results go to ``benchmarks/results/scale-<stamp>.csv`` (one
row per measurement, with the machine) and one summary line is appended to
``benchmarks/results/history.csv``. See benchmarks/README.md for how to read the figures.
"""

from __future__ import annotations

import argparse
import csv
import gc
import json
import os
import platform
import resource
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = Path(__file__).resolve().parent / "results"
HISTORY = RESULTS_DIR / "history.csv"
BASELINE_SCENARIO = REPO_ROOT / "scenarios" / "baseline.toml"
RESULT_MARKER = "SCALE_RESULT "
ERROR_MARKER = "SCALE_ERROR "
DEFAULT_AGENTS = (100_000, 1_000_000)
TEN_MILLION = 10_000_000
THREAD_COMPARE_AGENTS = 100_000

# Performance target: 1M SMEs x 28 reported quarters in at most 5 s of stepping.
TARGET_AGENTS = 1_000_000
TARGET_QUARTERS = 28
TARGET_SECONDS = 5.0

# the model's timed phases (sim.model.PHASES), copied so the parent need not import sim
PHASE_NAMES = ("policy", "lenders_plan", "firms_operate_service_demand", "credit_rounds",
               "defaults_and_count", "books_close", "entry", "record")

MACHINE_COLUMNS = ("timestamp", "hostname", "platform", "cpu_model", "cores_logical",
                   "cores_usable", "ram_gb", "load_avg_1m", "python", "numba", "numpy",
                   "numba_max_threads", "git_revision", "git_dirty", "kernel_cache_warm",
                   "warm_up_s", "probe_ns_start", "probe_ns_end")
MEASUREMENT_COLUMNS = ("label", "status", "error", "load_avg_before", "scenario", "seed",
                       "agents", "threads_requested", "threads_used", "quarters_burn_in",
                       "quarters_reported", "quarters_simulated", "capacity_slots",
                       "child_cache_warm", "child_warm_up_s", "construct_s", "run_s",
                       "run_burn_in_s", "run_reported_s", "results_s",
                       "ns_per_sme_quarter", "ns_per_sme_quarter_reported",
                       "base_rss_mb", "peak_rss_mb", "peak_rss_with_results_mb",
                       "bytes_per_sme", "array_bytes_per_sme", "target_1m_28q_s",
                       "target_1m_28q_measured") + tuple(f"ns_{phase}" for phase in PHASE_NAMES)
HISTORY_COLUMNS = ("timestamp", "git_revision", "git_dirty", "cpu_model", "cores_usable",
                   "threads_used", "quarters_only", "agents", "ns_per_sme_quarter",
                   "bytes_per_sme", "peak_rss_mb", "target_1m_28q_s", "target_1m_28q_measured",
                   "scaling_ratio", "thread_speedup", "failures", "csv_file")


# ====================================================================== child process


def _current_rss_bytes() -> int:
    """Resident memory now (not the peak); falls back to the peak so far."""
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return _peak_rss_bytes()


def _peak_rss_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # Linux reports KiB


def scenario_source() -> str:
    """What the runs are built from: scenarios/baseline.toml, or the schema defaults."""
    if BASELINE_SCENARIO.exists():
        return str(BASELINE_SCENARIO.relative_to(REPO_ROOT))
    return "Scenario() defaults"


def build_scenario(agents: int, threads: int | None, quarters_only: bool):
    """The baseline scenario (file if present, else the schema defaults) at ``agents``."""
    run = {"agents": agents, "threads": threads}
    if quarters_only:
        run["burn_in_quarters"] = 0
    if BASELINE_SCENARIO.exists():
        from sim.config import load_scenario

        return load_scenario(BASELINE_SCENARIO, **run)  # drops the None overrides itself
    from sim.config import scenario_from_dict

    return scenario_from_dict({"run": {k: v for k, v in run.items() if v is not None}})


def child_main(spec: dict) -> int:
    """Measure one run; print one ``SCALE_RESULT {json}`` line on stdout."""
    from sim.warmup import warm_up

    was_cached, warm_seconds = warm_up()
    from sim.model import PHASES, CreditMarket
    from sim.quarters import parse_quarter

    assert PHASES == PHASE_NAMES, "benchmarks/scale.py PHASE_NAMES is out of date"

    scenario = build_scenario(spec["agents"], spec["threads"], spec["quarters_only"])
    run = scenario.run
    gc.collect()
    base_rss = _current_rss_bytes()  # after imports and kernel loading, before the model

    started = time.perf_counter()
    model = CreditMarket(scenario)
    construct_s = time.perf_counter() - started

    start_q = parse_quarter(run.start)
    burn_in_s = reported_s = 0.0
    burn_in_q = reported_q = 0
    while model.quarter <= model.end_quarter:
        is_burn_in = model.quarter < start_q
        t0 = time.perf_counter()
        model.step()
        elapsed = time.perf_counter() - t0
        if is_burn_in:
            burn_in_s += elapsed
            burn_in_q += 1
        else:
            reported_s += elapsed
            reported_q += 1
    peak_run = _peak_rss_bytes()

    t0 = time.perf_counter()
    result = model.results()
    results_s = time.perf_counter() - t0
    peak_all = _peak_rss_bytes()
    assert len(result.quarterly) == reported_q

    out = {
        "scenario": scenario_source(), "seed": run.seed, "agents": run.agents,
        "threads_requested": run.threads, "threads_used": model.threads,
        "quarters_burn_in": burn_in_q, "quarters_reported": reported_q,
        "quarters_simulated": burn_in_q + reported_q, "capacity_slots": model.sme.capacity,
        "child_cache_warm": was_cached, "child_warm_up_s": warm_seconds,
        "construct_s": construct_s, "run_burn_in_s": burn_in_s, "run_reported_s": reported_s,
        "run_s": burn_in_s + reported_s, "results_s": results_s,
        "base_rss_bytes": base_rss, "peak_rss_bytes": peak_run,
        "peak_rss_with_results_bytes": peak_all,
        "array_bytes": model.sme.bytes_per_slot() * model.sme.capacity,
        "phase_seconds": dict(zip(PHASES, model.phase_seconds.tolist())),
    }
    print(RESULT_MARKER + json.dumps(out), flush=True)
    return 0


# ====================================================================== parent process


def _read_proc(path: str, key: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                name, _, value = line.partition(":")
                if name.strip() == key:
                    return value.strip()
    except OSError:
        pass
    return None


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(REPO_ROOT), *args], capture_output=True,
                             text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _load_average() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def machine_info() -> dict:
    ram_kb = _read_proc("/proc/meminfo", "MemTotal")
    if ram_kb:
        ram_gb = int(ram_kb.split()[0]) / 1024 ** 2
    else:
        try:
            ram_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024 ** 3
        except (ValueError, OSError, AttributeError):
            ram_gb = float("nan")
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    import numba
    import numpy

    status = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "timestamp": datetime.now().isoformat(timespec="seconds"),
        "hostname": platform.node(),
        "platform": platform.platform(),
        "cpu_model": _read_proc("/proc/cpuinfo", "model name") or platform.processor()
        or "unknown",
        "cores_logical": os.cpu_count(),
        "cores_usable": usable,
        "ram_gb": round(ram_gb, 1),
        "load_avg_1m": _load_average(),
        "python": platform.python_version(),
        "numba": numba.__version__,
        "numpy": numpy.__version__,
        "numba_max_threads": numba.config.NUMBA_NUM_THREADS,
        "git_revision": _git("rev-parse", "HEAD") or "unknown",
        "git_dirty": "" if status is None else bool(status),
    }


def run_child(agents: int, threads: int | None, quarters_only: bool,
              timeout: float) -> dict:
    """One measurement in a fresh process; ``{"error": ...}`` if it failed."""
    spec = json.dumps({"agents": agents, "threads": threads, "quarters_only": quarters_only})
    command = [sys.executable, str(Path(__file__).resolve()), "--child", spec]
    try:
        completed = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True,
                                   timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    except OSError as exc:
        return {"error": f"could not start the child: {exc}"}
    for line in completed.stdout.splitlines():
        if line.startswith(RESULT_MARKER) and completed.returncode == 0:
            return json.loads(line[len(RESULT_MARKER):])
    if completed.returncode < 0:
        reason = f"killed by signal {-completed.returncode}"
        if completed.returncode == -9:
            reason += " (out of memory?)"
    else:
        reason = f"exit code {completed.returncode}"
    lines = [line for line in completed.stderr.strip().splitlines() if line.strip()]
    marked = [line[len(ERROR_MARKER):] for line in lines if line.startswith(ERROR_MARKER)]
    detail = marked[-1] if marked else " | ".join(lines[-4:])
    return {"error": reason + (": " + detail if detail else "")}


def derive(raw: dict) -> dict:
    """Add per-SME figures and the target extrapolation to a child's raw numbers."""
    row = dict(raw)
    agents = row["agents"]  # >= 1000, and at least one reported quarter (the schema)
    mb = 1024 ** 2
    row["ns_per_sme_quarter"] = row["run_s"] / (agents * row["quarters_simulated"]) * 1e9
    row["ns_per_sme_quarter_reported"] = (row["run_reported_s"]
                                          / (agents * row["quarters_reported"]) * 1e9)
    base, peak = row.pop("base_rss_bytes"), row.pop("peak_rss_bytes")
    row["base_rss_mb"] = base / mb
    row["peak_rss_mb"] = peak / mb
    row["peak_rss_with_results_mb"] = row.pop("peak_rss_with_results_bytes") / mb
    row["bytes_per_sme"] = (peak - base) / agents
    row["array_bytes_per_sme"] = row.pop("array_bytes") / agents
    sme_quarters = agents * row["quarters_simulated"]
    for phase, seconds in row.pop("phase_seconds").items():
        row[f"ns_{phase}"] = seconds / sme_quarters * 1e9
    # the target: seconds of stepping for 1M SMEs x 28 reported quarters
    measured = agents == TARGET_AGENTS and row["quarters_reported"] == TARGET_QUARTERS
    row["target_1m_28q_s"] = (row["run_reported_s"] if measured else
                              row["ns_per_sme_quarter_reported"] * TARGET_AGENTS
                              * TARGET_QUARTERS / 1e9)
    row["target_1m_28q_measured"] = measured
    return row


def print_measurement(row: dict) -> None:
    label = row["label"]
    if row["status"] != "ok":
        print(f"  {label}: FAILED - {row['error']}")
        return
    print(f"  {label}")
    print(f"    agents                {row['agents']:>14,}   threads {row['threads_used']}"
          f"   capacity {row['capacity_slots']:,} slots")
    print(f"    quarters simulated    {row['quarters_simulated']:>14}   "
          f"({row['quarters_burn_in']} burn-in + {row['quarters_reported']} reported)")
    print(f"    construction          {row['construct_s']:>12.2f} s")
    print(f"    run, all quarters     {row['run_s']:>12.2f} s   "
          f"(burn-in {row['run_burn_in_s']:.2f} s, reported {row['run_reported_s']:.2f} s)")
    print(f"    results tables        {row['results_s']:>12.2f} s")
    print(f"    ns per SME-quarter    {row['ns_per_sme_quarter']:>12.1f}      "
          f"(reported quarters only: {row['ns_per_sme_quarter_reported']:,.1f})")
    print(f"    peak memory           {row['peak_rss_mb']:>12.1f} MB  "
          f"(baseline after imports {row['base_rss_mb']:.1f} MB; with result tables "
          f"{row['peak_rss_with_results_mb']:.1f} MB)")
    print(f"    bytes per SME         {row['bytes_per_sme']:>12.0f}      "
          f"(SME arrays alone: {row['array_bytes_per_sme']:.0f})")
    print("    ns per SME-quarter by phase (all quarters):")
    for phase in PHASE_NAMES:
        print(f"      {phase:30s} {row[f'ns_{phase}']:8.1f}")
    if not row["child_cache_warm"]:
        print(f"    note: the child had to compile the kernels ({row['child_warm_up_s']:.0f} s, "
              "not in the figures); were kernel sources edited during the benchmark?")


def print_comparisons(rows: list[dict], no_thread_compare: str) -> dict:
    """Scaling, threads and target; returns the figures for history.csv.

    ``no_thread_compare`` says why no 1-thread run was planned ("" if one was).
    """
    main = {r["agents"]: r for r in rows if r["status"] == "ok" and r["role"] == "main"}
    summary = {"scaling_ratio": "", "thread_speedup": "", "target_1m_28q_s": "",
               "target_1m_28q_measured": ""}
    print("\nComparisons (same invocation, same machine)")
    sizes = sorted(main)
    if len(sizes) >= 2:
        small, large = sizes[0], sizes[-1]
        if 1_000_000 in main and 100_000 in main:
            small, large = 100_000, 1_000_000
        ratio = main[large]["ns_per_sme_quarter"] / main[small]["ns_per_sme_quarter"]
        summary["scaling_ratio"] = round(ratio, 3)
        print(f"  scaling: ns per SME-quarter at {large:,} / at {small:,} = {ratio:.2f}  "
              "(1.0 = linear; > 1 costs grow faster than the population)")
        for other in sizes:
            if other not in (small, large):
                r = main[other]["ns_per_sme_quarter"] / main[small]["ns_per_sme_quarter"]
                print(f"           at {other:,} / at {small:,} = {r:.2f}")
    else:
        print("  scaling: needs two agent counts")
    single = next((r for r in rows if r["status"] == "ok" and r["role"] == "one_thread"), None)
    multi = main.get(single["agents"]) if single is not None else None
    if multi is not None:
        speedup = single["run_s"] / multi["run_s"]
        summary["thread_speedup"] = round(speedup, 3)
        print(f"  threads: {single['agents']:,} agents, run on 1 thread "
              f"{single['run_s']:.2f} s vs {multi['threads_used']} threads "
              f"{multi['run_s']:.2f} s: speedup {speedup:.2f}x "
              f"(ideal {multi['threads_used']}x; efficiency "
              f"{100 * speedup / multi['threads_used']:.0f}%)")
    elif no_thread_compare:
        print(f"  threads: not compared ({no_thread_compare})")
    else:
        print("  threads: not compared (the 1-thread run or its multi-thread partner failed)")

    print(f"\nTarget: {TARGET_AGENTS:,} SMEs x {TARGET_QUARTERS} reported quarters "
          f"<= {TARGET_SECONDS:.0f} s of stepping")
    target = main.get(TARGET_AGENTS)
    if target is not None and target["target_1m_28q_measured"]:
        verdict = "MET" if target["run_reported_s"] <= TARGET_SECONDS else "NOT MET"
        print(f"  measured: reported quarters {target['run_reported_s']:.2f} s  -> {verdict}")
        print(f"            all quarters incl. {target['quarters_burn_in']} burn-in "
              f"{target['run_s']:.2f} s; construction {target['construct_s']:.2f} s")
        summary["target_1m_28q_s"] = round(target["run_reported_s"], 3)
        summary["target_1m_28q_measured"] = True
    elif main:
        # extrapolate from the largest measured population
        basis = main[max(main)]
        estimate = basis["target_1m_28q_s"]
        all_q = basis["ns_per_sme_quarter"] * TARGET_AGENTS * (
            TARGET_QUARTERS + basis["quarters_burn_in"]) / 1e9
        verdict = "would be met" if estimate <= TARGET_SECONDS else "would NOT be met"
        print(f"  not measured at {TARGET_AGENTS:,} x {TARGET_QUARTERS} reported quarters; "
              f"linear extrapolation from {basis['agents']:,} agents "
              f"({basis['quarters_reported']} reported quarters):")
        print(f"    reported quarters ~{estimate:.2f} s -> {verdict}")
        print(f"    all quarters incl. {basis['quarters_burn_in']} burn-in ~{all_q:.2f} s")
        summary["target_1m_28q_s"] = round(estimate, 3)
        summary["target_1m_28q_measured"] = False
    else:
        print("  no successful measurement")
    return summary


def _write_csv_atomic(path: Path, columns: tuple[str, ...], rows: list[dict]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, path)


def machine_with_kernels() -> dict:
    """Print the machine, load (or compile) the kernels, and return the machine's
    description with how the kernels were obtained (never part of a measurement)."""
    import sim  # noqa: F401 - first: sets NUMBA_CACHE_DIR before numba is imported

    machine = machine_info()
    print("Machine")
    for key in MACHINE_COLUMNS:
        if key in machine:
            print(f"  {key:18} {machine[key]}")
    from sim.warmup import warm_up

    was_cached, seconds = warm_up()
    machine["kernel_cache_warm"] = was_cached
    machine["warm_up_s"] = round(seconds, 2)
    if not was_cached:
        state = "cache cold, compiled"
    elif seconds > 20:
        # cache_is_warm() only sees that some compiled kernel is on disk
        state = "cache reported warm, but some kernels were (re)compiled"
    else:
        state = "cache warm, loaded"
    print(f"  {'kernels':18} {state} in {seconds:.1f} s (not measured)")
    return machine


def write_measurements(prefix: str, columns: tuple[str, ...], rows: list[dict],
                       machine: dict) -> tuple[Path, str]:
    """Write ``rows`` (each with the machine columns, floats rounded) to a new
    ``results/<prefix>-<stamp>.csv``; return the path and the stamp."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out = RESULTS_DIR / f"{prefix}-{stamp}.csv"
    number = 2
    while out.exists():
        out = RESULTS_DIR / f"{prefix}-{stamp}-{number}.csv"
        number += 1
    cells = [{key: round(value, 4) if isinstance(value, float) else value
              for key, value in {**machine, **row}.items()} for row in rows]
    _write_csv_atomic(out, columns, cells)
    return out, stamp


def append_history(line: dict) -> None:
    columns = HISTORY_COLUMNS
    new_file = not HISTORY.exists() or HISTORY.stat().st_size == 0
    if not new_file:
        with HISTORY.open(newline="", encoding="utf-8") as handle:
            header = next(csv.reader(handle), None)
        if header and tuple(header) != HISTORY_COLUMNS:
            print(f"warning: {HISTORY} has other columns; appending under its header")
            columns = tuple(header)
    with HISTORY.open("a", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        if new_file:
            writer.writeheader()
        writer.writerow(line)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Wall time and memory per SME of the simulator at 100k, 1M (10M) agents.")
    parser.add_argument("--agents", type=int, nargs="+", metavar="N",
                        help="agent counts to measure (default: 100000 1000000)")
    parser.add_argument("--with-10m", action="store_true",
                        help="also measure 10,000,000 agents (needs about 10M x bytes per SME "
                             "of RAM; see a 1M run)")
    parser.add_argument("--threads", type=int, metavar="N",
                        help="threads for the main runs (default: all numba threads)")
    parser.add_argument("--quarters-only", action="store_true",
                        help="no burn-in: simulate only the reported quarters "
                             "(run.burn_in_quarters = 0)")
    parser.add_argument("--every-thread-count", action="store_true",
                        help="measure every agent count on 1 thread too (default: only "
                             "100k)")
    parser.add_argument("--limits", action="store_true",
                        help="also measure the memory-bandwidth floor at every agent count "
                             "and a cold start to the first quarter (benchmarks/limits.py)")
    parser.add_argument("--engines", action="store_true",
                        help="also time the reference engine against the numba engine at "
                             "20,000 agents on one thread (benchmarks/engines.py)")
    parser.add_argument("--full", action="store_true",
                        help="everything in one run: 100k, 1M and 10M on 1 and 2 threads "
                             "(--with-10m --every-thread-count --limits --engines)")
    parser.add_argument("--timeout", type=float, default=3600.0, metavar="S",
                        help="give up on one measurement after S seconds (default 3600)")
    parser.add_argument("--child", metavar="JSON", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.full:
        args.with_10m = args.every_thread_count = args.limits = args.engines = True
    if args.threads is not None and args.threads < 1:
        parser.error("--threads must be at least 1")
    if args.agents and min(args.agents) < 1000:
        parser.error("--agents: the scenario schema needs at least 1000 agents")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, str(REPO_ROOT))  # use this checkout even if not installed
    sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/limits.py
    import sim  # noqa: F401 - first: sets NUMBA_CACHE_DIR before numba is imported

    if args.child:
        try:
            return child_main(json.loads(args.child))
        except BaseException as exc:
            import traceback

            traceback.print_exc()
            message = " ".join(str(exc).split())[:500]
            print(f"{ERROR_MARKER}{type(exc).__name__}: {message}", file=sys.stderr, flush=True)
            return 1

    agents = sorted(set(args.agents or DEFAULT_AGENTS) | ({TEN_MILLION} if args.with_10m
                                                          else set()))
    machine = machine_with_kernels()
    scenario_name = scenario_source()
    if not BASELINE_SCENARIO.exists():
        scenario_name += " (scenarios/baseline.toml not found)"
    print(f"  {'scenario':18} {scenario_name}"
          + ("; burn-in off (--quarters-only)" if args.quarters_only else ""))

    import limits

    machine["probe_ns_start"] = round(limits.speed_probe(), 1)
    print(f"  {'speed probe':18} {machine['probe_ns_start']} ns per SME-quarter "
          f"({limits.PROBE_AGENTS:,} agents, {limits.PROBE_QUARTERS} quarters, 1 thread)")

    max_threads = machine["numba_max_threads"]
    main_threads = args.threads
    effective = min(main_threads or max_threads, max_threads)
    compare_at = THREAD_COMPARE_AGENTS if THREAD_COMPARE_AGENTS in agents else agents[0]
    compare_threads = effective > 1

    plan = []
    for n in agents:
        plan.append((n, main_threads, "main",
                     f"{n:,} agents, {effective} thread{'s' if effective > 1 else ''}"))
        if (n == compare_at or args.every_thread_count) and compare_threads:
            plan.append((n, 1, "one_thread", f"{n:,} agents, 1 thread (thread baseline)"))

    print(f"\nMeasurements (each in a fresh process; {len(plan)} planned)")
    rows = []
    for n, threads, role, label in plan:
        load = _load_average()
        busy = load is not None and load > 0.5 * machine["cores_usable"]
        print(f"  ... {label} (load average {'-' if load is None else f'{load:.2f}'}"
              + ("; machine busy, timings will be noisy)" if busy else ")"), flush=True)
        raw = run_child(n, threads, args.quarters_only, args.timeout)
        if "error" in raw:
            row = {"label": label, "role": role, "status": "error", "error": raw["error"],
                   "agents": n, "threads_requested": threads}
        else:
            row = {"label": label, "role": role, "status": "ok", "error": "", **derive(raw)}
        row["load_avg_before"] = load
        rows.append(row)
        print_measurement(row)

    machine["probe_ns_end"] = round(limits.speed_probe(), 1)
    drift = machine["probe_ns_end"] / machine["probe_ns_start"]
    print(f"\nSpeed probe after the measurements: {machine['probe_ns_end']} ns per "
          f"SME-quarter, {drift:.2f}x the one before"
          + ("; the machine's speed changed during the run, so compare these figures "
             "with care" if abs(drift - 1.0) > 0.2 else ""))

    summary = print_comparisons(rows, "" if compare_threads else
                                "only 1 thread available" if max_threads == 1 else "--threads 1")

    out, stamp = write_measurements("scale", MACHINE_COLUMNS + MEASUREMENT_COLUMNS, rows,
                                    machine)

    main_rows = [r for r in rows if r["role"] == "main" and r["status"] == "ok"]

    def joined(key: str, digits: int) -> str:
        return ";".join(f"{r[key]:.{digits}f}" for r in main_rows)

    append_history({
        "timestamp": machine["timestamp"], "git_revision": machine["git_revision"],
        "git_dirty": machine["git_dirty"], "cpu_model": machine["cpu_model"],
        "cores_usable": machine["cores_usable"], "threads_used": effective,
        "quarters_only": args.quarters_only,
        "agents": ";".join(str(r["agents"]) for r in main_rows),
        "ns_per_sme_quarter": joined("ns_per_sme_quarter", 1),
        "bytes_per_sme": joined("bytes_per_sme", 0),
        "peak_rss_mb": joined("peak_rss_mb", 0),
        "failures": sum(r["status"] != "ok" for r in rows),
        "csv_file": out.name, **summary,
    })
    print(f"\nwrote {out.relative_to(REPO_ROOT)}; appended to {HISTORY.relative_to(REPO_ROOT)}")
    failed = any(r["status"] != "ok" for r in rows)
    if args.limits:
        failed |= _limits(agents, main_threads, main_rows, stamp)
    if args.engines:
        engines = subprocess.run([sys.executable, str(Path(__file__).parent / "engines.py")])
        failed |= engines.returncode != 0
    return 1 if failed else 0


def _limits(agents, threads, main_rows, stamp: str) -> bool:
    """Bandwidth floor at every agent count, set against the firm pass; a cold start at
    1M (or the largest count below it). Returns True on failure."""
    import limits

    try:
        rows = [limits.bandwidth_floor(n, threads) for n in agents]
        rows.append(limits.cold_start(max([n for n in agents if n <= TARGET_AGENTS]
                                          or [min(agents)])))
    except Exception as exc:  # report and carry on, as for a failed measurement
        print(f"\nlimits failed: {exc}")
        return True
    limits.print_limits(rows)
    for row in rows:
        run = next((r for r in main_rows if r["agents"] == row["agents"]), None)
        if row["measure"] == "bandwidth_floor" and run:
            firm_pass = run["ns_firms_operate_service_demand"]
            ratio = firm_pass / row["ns_per_sme"]
            row["detail"] += f"; firm pass {firm_pass:.1f} ns = {ratio:.1f}x floor"
            print(f"  firm pass at {row['agents']:,}: {firm_pass:.1f} ns per SME-quarter, "
                  f"{ratio:.1f}x the floor")
    print(f"wrote {limits.write_limits(rows, stamp).relative_to(REPO_ROOT)}")
    return False


if __name__ == "__main__":
    sys.exit(main())
