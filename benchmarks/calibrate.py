"""How fast ``sim calibrate`` searches: runs a minute, and how soon the search gets within
5% of the distance it ends at.

    python benchmarks/calibrate.py experiments/calibrate_online.toml --workers 2
    python benchmarks/calibrate.py benchmarks/estimate_baseline_centre.toml --workers 2 \
        --reference experiments/calibrations/estimate_baseline

A fresh calibration folder is made each time (nothing reused), the report after the search
is skipped. With ``--reference`` (the folder of a long calibration of the same file), the
time to within 5% is measured against that run's best distance instead of this one's.
Prints the figures and the machine (with whether the kernels were compiled first) and
writes them to ``benchmarks/results/calibrate-<stamp>.csv``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale import MACHINE_COLUMNS, machine_info, write_measurements  # noqa: E402

COLUMNS = MACHINE_COLUMNS + ("calibration", "agents", "replicates", "points", "runs",
                             "workers", "seconds", "runs_per_minute", "best_distance",
                             "reference_distance", "seconds_to_5_percent")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("calibration", help="calibration .toml file")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--reference", metavar="DIR",
                        help="folder of a long calibration of the same file")
    args = parser.parse_args(argv)

    import pandas as pd

    from sim.calibration.search import calibrate
    from sim.calibration.spec import load_calibration
    from sim.warmup import warm_up

    was_cached, warm_up_seconds = warm_up()
    calibration = load_calibration(args.calibration)
    machine = machine_info()
    machine["kernel_cache_warm"] = was_cached
    machine["warm_up_s"] = round(warm_up_seconds, 2)
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        result = calibrate(calibration, Path(folder) / "out", workers=args.workers,
                           report=False)
        seconds = time.perf_counter() - started
        # the search's runs and those at the centre of the ranges that set its weight
        runs = len(list((Path(folder) / "out" / "runs").glob("*.json")))
    trials = result.trials[result.trials["state"] == "ok"].sort_values("trial")
    reference = result.best_distance
    if args.reference:
        reference = float(pd.read_csv(Path(args.reference) / "trials.csv")["distance"].min())
    best_so_far = trials["distance"].cummin()
    reached = trials.loc[best_so_far <= 1.05 * reference, "elapsed_seconds"]
    to_five = float(reached.iloc[0]) if len(reached) else float("nan")
    spec = calibration.spec
    row = {"calibration": spec.name, "agents": spec.agents, "replicates": spec.replicates,
           "points": len(result.trials), "runs": runs, "workers": args.workers,
           "seconds": seconds, "runs_per_minute": 60.0 * runs / seconds,
           "best_distance": result.best_distance, "reference_distance": reference,
           "seconds_to_5_percent": to_five}
    for key in ("cpu_model", "cores_usable", "ram_gb", "load_avg_1m", "git_revision"):
        print(f"  {key:18s} {machine[key]}")
    print(f"{spec.name}: {row['points']} points, {row['runs']} runs (the weight's included) "
          f"of {spec.agents:,} SMEs "
          f"on {args.workers} worker(s) in {seconds:.1f} s: "
          f"{row['runs_per_minute']:.1f} runs a minute")
    print(f"best distance {result.best_distance:.4g}; within 5% of "
          f"{'the reference' if args.reference else 'its own best'} ({reference:.4g}) "
          f"after {to_five:.1f} s")
    path, _ = write_measurements("calibrate", COLUMNS, [row], machine)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
