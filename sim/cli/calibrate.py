"""``sim calibrate``: estimate a scenario's parameters against a targets file.

Only argparse is imported here: optuna, dask and pandas load inside the handler.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sim.cli.cluster_options import add_cluster_arguments, slurm_options, tls_files

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
    add_cluster_arguments(command, "1: serial, in this process")
    command.add_argument("--no-report", action="store_true",
                         help="stop after the search: no fresh-seed fit, standard errors "
                              "or identification")
    command.add_argument("--screen", action="store_true",
                         help="instead of searching, screen the parameters: Morris effects "
                              "of each on each target moment (screen_trajectories, "
                              "screen_levels of the file), into screening.csv and "
                              "screening_rank.csv of the folder")
    command.add_argument("--quiet", action="store_true",
                         help="no progress bar nor dashboard address")
    command.set_defaults(handler=cmd_calibrate)


def cmd_calibrate(args: argparse.Namespace) -> int:
    import pandas as pd

    from sim.calibration.search import calibrate
    from sim.calibration.spec import CalibrationError, load_calibration
    from sim.experiment.clusters import security_for
    from sim.memory import check_run_memory
    from sim.output_paths import check_output_dir

    slurm = slurm_options(args, CalibrationError)
    from sim.config import find_example

    calibration = load_calibration(find_example(args.calibration))
    tls = tls_files(args, calibration.spec.cluster, calibration.source, CalibrationError)
    security_for(tls, args.scheduler, slurm is not None)  # certificates checked now
    out = Path(args.out) if args.out is not None else DEFAULT_ROOT / calibration.spec.name
    check_output_dir(args.out if args.out is not None else out, "calibration folder",
                     may_exist=True)
    if args.scheduler is None and slurm is None:  # local workers share this machine
        run = calibration.simulator.scenario_for({}, calibration.spec.seed).run
        check_run_memory(run.agents, run.engine, processes=args.workers or 1,
                         what="this calibration")
    if args.screen:
        return _screen(calibration, out, args, slurm, tls)
    try:
        result = calibrate(calibration, out, workers=args.workers or 1,
                           scheduler=args.scheduler, slurm=slurm, progress=not args.quiet,
                           report=not args.no_report, idle_minutes=args.idle_timeout,
                           tls=tls)
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


def _screen(calibration, out: Path, args: argparse.Namespace, slurm, tls) -> int:
    from sim.calibration.screening import screen
    from sim.experiment.clusters import IdleTimeout

    try:
        result = screen(calibration, out, workers=args.workers or 1,
                        scheduler=args.scheduler, slurm=slurm, progress=not args.quiet,
                        idle_minutes=args.idle_timeout, tls=tls)
    except IdleTimeout as exc:
        exc.stored = f"the screening runs done are stored in {out}"
        raise
    except KeyboardInterrupt:
        import sys

        from sim.cli.exits import EXIT_INTERRUPTED

        print(f"error: interrupted; the screening runs finished so far are stored in {out}: "
              "the same command resumes", file=sys.stderr)
        return EXIT_INTERRUPTED
    print(f"Morris screening: {result.points} points, {result.executed} runs made and "
          f"{result.reused} reused, in {result.seconds:.0f} s")
    print("influence on the fit (√Σ (μ*/se)² over fitted moments), most first:")
    for row in result.rank.itertuples():
        print(f"  {row.parameter:44s} {row.influence:8.2f}   moves {row.moments_moved:2d} "
              f"moments by ≥1 se; most {row.top_moment} ({row.top_mu_star_se:.1f} se)")
    print(f"wrote {out}/ (screening.csv, screening_rank.csv)")
    return 0
