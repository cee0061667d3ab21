"""Engine benchmark: the numba engine against the plain-Python reference engine.

Usage (from the repository root)::

    python benchmarks/engines.py                    # baseline, 20,000 SMEs, all quarters
    python benchmarks/engines.py --agents 5000      # a quicker look
    python benchmarks/engines.py --quarters-only    # no burn-in quarters

Both engines run the same scenario (``scenarios/baseline.toml``) in this process on one
thread (numba threads = 1; the reference is single-threaded Python). The reference takes
a minute or more, the numba engine about a second, so a passing slowdown of the machine
would weigh on the numba figure alone: the numba engine runs ``--numba-runs`` times (5),
half before the reference and half after, and each of its figures is the median over
those runs (the CSV keeps the spread of its SME phases). The kernels are warmed up first,
as in ``benchmarks/scale.py``, so compile time is not measured. Each model is stepped to
the end; ``model.phase_seconds`` gives the time of each timed phase
(``sim.model.PHASES``). Printed and written to
``benchmarks/results/engines-<YYYYmmdd-HHMMSS>.csv`` (one row per engine, machine
columns included): ns per SME-quarter for the SME phases (firm pass, credit rounds, defaults and
stock count, entry), their sum, the other (Python) phases and the whole run, and the
ratio reference ÷ numba of each. The two runs' result tables are compared too: they must
be identical.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))            # benchmarks/scale.py: machine and scenario helpers
sys.path.insert(0, str(HERE.parent))     # this checkout, even if not installed

from scale import (  # noqa: E402
    MACHINE_COLUMNS, PHASE_NAMES, REPO_ROOT, _load_average, build_scenario,
    machine_with_kernels, scenario_source, write_measurements,
)

DEFAULT_AGENTS = 20_000
ENGINES = ("numba", "reference")
# the timed phases that are per-SME work (indices into sim.model.PHASES)
SME_PHASES = ("firms_operate_service_demand", "credit_rounds", "defaults_and_count", "entry")
FIGURES = tuple(f"ns_{phase}" for phase in PHASE_NAMES) + (
    "ns_sme_phases", "ns_other_phases", "ns_per_sme_quarter")
MEASUREMENT_COLUMNS = ("engine", "scenario", "seed", "agents", "threads_used",
                       "quarters_simulated", "runs", "load_avg_before", "construct_s",
                       "run_s", "ns_sme_phases_min", "ns_sme_phases_max",
                       "results_identical") + FIGURES + tuple(
    f"ratio_{name[3:]}" for name in FIGURES)


def measure(engine: str, agents: int, quarters_only: bool) -> tuple[dict, object]:
    """Build and step one model of ``engine``; its figures and its results."""
    from sim.model import CreditMarket

    scenario = build_scenario(agents, 1, quarters_only)
    scenario.run.engine = engine
    load = _load_average()
    started = time.perf_counter()
    model = CreditMarket(scenario)
    construct_s = time.perf_counter() - started
    started = time.perf_counter()
    model.run_all(progress=False)
    run_s = time.perf_counter() - started
    quarters = len(model.recorder.quarterly["sme_alive"]) + scenario.run.burn_in_quarters
    sme_quarters = agents * quarters
    row = {"engine": engine, "scenario": scenario_source(), "seed": scenario.run.seed,
           "agents": agents, "threads_used": 1 if engine == "reference" else model.threads,
           "quarters_simulated": quarters, "load_avg_before": load,
           "construct_s": construct_s, "run_s": run_s}
    seconds = dict(zip(PHASE_NAMES, model.phase_seconds.tolist()))
    for phase, value in seconds.items():
        row[f"ns_{phase}"] = value / sme_quarters * 1e9
    sme = sum(seconds[p] for p in SME_PHASES)
    row["ns_sme_phases"] = sme / sme_quarters * 1e9
    row["ns_other_phases"] = (sum(seconds.values()) - sme) / sme_quarters * 1e9
    row["ns_per_sme_quarter"] = run_s / sme_quarters * 1e9
    return row, model.results()


def median_row(rows: list[dict]) -> dict:
    """One row of figures from repeated runs: the median of each timing, the spread of
    the SME phases."""
    merged = dict(rows[0])
    for name in ("construct_s", "run_s") + FIGURES:
        merged[name] = statistics.median(row[name] for row in rows)
    merged["runs"] = len(rows)
    merged["ns_sme_phases_min"] = min(row["ns_sme_phases"] for row in rows)
    merged["ns_sme_phases_max"] = max(row["ns_sme_phases"] for row in rows)
    return merged


def identical(first, second) -> bool:
    """Whether two runs' result tables are equal, cell for cell."""
    return all(getattr(first, name).equals(getattr(second, name))
               for name in ("quarterly", "groups", "lenders"))


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="ns per SME-quarter of the numba and the reference engine, one thread.")
    parser.add_argument("--agents", type=int, default=DEFAULT_AGENTS, metavar="N",
                        help=f"SMEs (default {DEFAULT_AGENTS:,}; the reference engine "
                             "takes at most 200,000)")
    parser.add_argument("--quarters-only", action="store_true",
                        help="no burn-in: simulate only the reported quarters")
    parser.add_argument("--numba-runs", type=int, default=5, metavar="K",
                        help="runs of the numba engine, around the reference's one; its "
                             "figures are their medians (default 5)")
    args = parser.parse_args(argv)
    if not 1000 <= args.agents <= 200_000:
        parser.error("--agents must be between 1,000 and 200,000")
    if not 1 <= args.numba_runs <= 50:
        parser.error("--numba-runs must be between 1 and 50")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    machine = machine_with_kernels()
    print(f"  {'scenario':18} {scenario_source()}, {args.agents:,} SMEs, one thread"
          + ("; burn-in off" if args.quarters_only else ""))

    before = (args.numba_runs + 1) // 2
    order = ["numba"] * before + ["reference"] + ["numba"] * (args.numba_runs - before)
    runs: dict[str, list] = {engine: [] for engine in ENGINES}
    for engine in order:
        print(f"\n... {engine} engine", flush=True)
        row, result = measure(engine, args.agents, args.quarters_only)
        runs[engine].append((row, result))
        print(f"    {row['quarters_simulated']} quarters in {row['run_s']:.2f} s "
              f"(construction {row['construct_s']:.2f} s; SME phases "
              f"{row['ns_sme_phases']:.1f} ns per SME-quarter)")
    numba_results = [result for _, result in runs["numba"]]
    # every numba run the same tables (determinism), and those the reference's
    same = all(identical(numba_results[0], other) for other in numba_results[1:]) and \
        identical(numba_results[0], runs["reference"][0][1])
    numba_row = median_row([row for row, _ in runs["numba"]])
    reference_row = median_row([row for row, _ in runs["reference"]])
    rows = [numba_row, reference_row]
    for row in rows:
        row["results_identical"] = same
    for name in FIGURES:
        base = numba_row[name]
        reference_row[f"ratio_{name[3:]}"] = reference_row[name] / base if base > 0 else \
            float("nan")

    print(f"\nns per SME-quarter ({args.agents:,} SMEs x {numba_row['quarters_simulated']} "
          f"quarters, one thread; numba: median of {numba_row['runs']} runs, SME phases "
          f"{numba_row['ns_sme_phases_min']:.1f}-{numba_row['ns_sme_phases_max']:.1f})")
    print(f"  {'phase':32} {'numba':>10} {'reference':>12} {'reference/numba':>16}")
    labels = [(f"ns_{p}", p) for p in PHASE_NAMES] + [
        ("ns_sme_phases", "SME phases (3-7, 9)"), ("ns_other_phases", "other phases"),
        ("ns_per_sme_quarter", "whole run")]
    for name, label in labels:
        ratio = reference_row[f"ratio_{name[3:]}"]
        marker = " *" if name[3:] in SME_PHASES else ""
        print(f"  {label + marker:32} {numba_row[name]:10.1f} {reference_row[name]:12.1f} "
              f"{ratio:16.1f}")
    print("  (* SME phases)")
    print(f"\nresults identical: {'yes' if same else 'NO - the engines disagree'}")

    out, _ = write_measurements("engines", MACHINE_COLUMNS + MEASUREMENT_COLUMNS, rows,
                                machine)
    print(f"wrote {out.relative_to(REPO_ROOT)}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
