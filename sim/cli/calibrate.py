"""``sim calibrate``: estimate a scenario's parameters against a targets file.

Only argparse is imported here: optuna, dask and pandas load inside the handler.
"""

from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_ROOT = Path("results") / "calibrations"


def add_command(subparsers) -> None:
    """Register ``calibrate`` on the ``sim`` command's subparsers."""
    command = subparsers.add_parser(
        "calibrate", help="estimate parameters against a targets file (Optuna search)",
        description="Search the parameters of a calibration file for the smallest "
                    "simulated-moments distance to its targets. Re-running the same command "
                    "resumes an interrupted search and ends where it would have.")
    command.add_argument("calibration", metavar="CALIBRATION", help="calibration .toml file")
    command.add_argument("--out", metavar="DIR",
                         help="calibration folder (default: results/calibrations/<name>)")
    command.add_argument("--workers", type=int, metavar="N",
                         help="local worker processes (default 1: serial, in this process)")
    command.add_argument("--scheduler", metavar="ADDRESS",
                         help="use an existing Dask scheduler, e.g. tcp://host:8786")
    command.add_argument("--cluster", choices=["slurm"],
                         help="start workers as batch jobs (needs the [slurm] extra)")
    command.add_argument("--jobs", type=int, metavar="J", help="SLURM jobs to submit")
    command.add_argument("--cores", type=int, default=1, metavar="C",
                         help="worker processes (and cores) per SLURM job (default 1)")
    command.add_argument("--memory", metavar="M",
                         help="memory per SLURM job (default 2GB a core)")
    command.add_argument("--walltime", default="02:00:00", metavar="T",
                         help="SLURM wall time per job (default 02:00:00)")
    command.add_argument("--queue", metavar="Q", help="SLURM partition")
    command.add_argument("--account", metavar="A", help="SLURM account")
    command.add_argument("--no-report", action="store_true",
                         help="stop after the search: no fresh-seed fit, standard errors "
                              "or identification")
    command.add_argument("--quiet", action="store_true", help="no progress bar")
    command.set_defaults(handler=cmd_calibrate)


def cmd_calibrate(args: argparse.Namespace) -> int:
    import pandas as pd

    from sim.calibration.search import calibrate
    from sim.calibration.spec import CalibrationError, load_calibration

    if args.workers is not None and args.workers < 1:
        raise CalibrationError(f"--workers must be at least 1, got {args.workers}")
    chosen = [name for name, given in (("--workers", args.workers is not None),
                                       ("--scheduler", args.scheduler is not None),
                                       ("--cluster", args.cluster is not None)) if given]
    if len(chosen) > 1:
        raise CalibrationError(f"{' and '.join(chosen)} exclude each other; choose one")
    slurm = None
    if args.cluster is not None:
        from sim.experiment.clusters import SlurmOptions

        if args.jobs is None or args.jobs < 1 or args.cores < 1:
            raise CalibrationError("--cluster slurm needs --jobs J and --cores C, each at "
                                   "least 1")
        slurm = SlurmOptions(jobs=args.jobs, cores=args.cores, memory=args.memory,
                             walltime=args.walltime, queue=args.queue, account=args.account)
    elif args.jobs is not None:
        raise CalibrationError("--jobs is for --cluster slurm")
    calibration = load_calibration(args.calibration)
    out = Path(args.out) if args.out else DEFAULT_ROOT / calibration.spec.name
    try:
        result = calibrate(calibration, out, workers=args.workers or 1,
                           scheduler=args.scheduler, slurm=slurm, progress=not args.quiet,
                           report=not args.no_report)
    except KeyboardInterrupt:
        import sys

        from sim.cli.exits import EXIT_INTERRUPTED

        print(f"error: interrupted; the runs finished so far are stored in {out}: the same "
              "command resumes", file=sys.stderr)
        return EXIT_INTERRUPTED
    fitted = result.fit[~result.fit["holdout"]]
    worst = fitted.reindex(fitted["gap_se"].abs().sort_values(ascending=False).index)
    print(f"{len(result.trials)} points, {result.executed} runs made and {result.reused} "
          f"reused, in {result.seconds:.0f} s; best distance {result.best_distance:.4g}")
    for key, value in result.best_values.items():
        print(f"  {key} = {value:.6g}")
    print("worst-fitting targets: " + ", ".join(
        f"{row.moment} ({row.gap_se:+.1f} se)" for row in worst.head(3).itertuples()))
    if result.report is not None:
        errors = pd.read_csv(out / "estimates.csv").set_index("parameter")["standard_error"]
        for key, value in result.best_values.items():
            print(f"  {key}: standard error {errors[key]:.3g}")
        for key, why in result.report["not_identified"].items():
            print(f"  not identified: {key} ({why})")
        print(f"fresh seeds: distance {result.report['distance_fresh']:.4g}, held out "
              f"{result.report['distance_holdout_fresh']:.4g}")
    print(f"wrote {out}/ (estimate.toml, trials.csv"
          + (", fit.csv, fit.png, estimates.csv, identification.json)" if result.report
             else ")"))
    return 0
