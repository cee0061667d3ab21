"""``sim sweep``: run an experiment into a store, or report a stored one's progress.

Only argparse is imported here: dask and pandas load inside the handler so that
``sim --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sim.cli.cluster_options import add_cluster_arguments, slurm_options, tls_files

DEFAULT_ROOT = Path("results") / "experiments"


def add_command(subparsers) -> None:
    """Register ``sweep`` on the ``sim`` command's subparsers."""
    from sim.experiment.limits import DEFAULT_MAX_RUNS

    sweep = subparsers.add_parser(
        "sweep", help="run an experiment file (grid, LHS, Sobol, Morris) into a store",
        description="Run every design point × replicate of an experiment that is not yet "
                    "stored. Re-running the same command resumes after a crash or Ctrl-C.")
    sweep.add_argument("experiment", metavar="EXPERIMENT", nargs="?",
                       help="experiment .toml file")
    sweep.add_argument("--status", metavar="DIR",
                       help="report the progress of a stored experiment and exit")
    sweep.add_argument("--out", metavar="DIR",
                       help="experiment folder (default: results/experiments/<name>)")
    add_cluster_arguments(sweep, "one per core; 1 = serial, in this process")
    sweep.add_argument("--max-runs", type=int, default=DEFAULT_MAX_RUNS, metavar="N",
                       help=f"refuse designs with more runs (default {DEFAULT_MAX_RUNS:,})")
    sweep.add_argument("--agents", type=int, metavar="N",
                       help="SMEs per run (overrides the experiment's run.agents)")
    sweep.add_argument("--dry-run", action="store_true",
                       help="print the plan (and SLURM job script) without running")
    sweep.add_argument("--quiet", action="store_true",
                       help="no progress bar nor dashboard address")
    sweep.set_defaults(handler=cmd_sweep)


def _options(args: argparse.Namespace):
    """Check the backend options; return SLURM options or None."""
    from sim.experiment.spec import ExperimentError

    if args.max_runs < 1:
        raise ExperimentError(f"--max-runs must be at least 1, got {args.max_runs}")
    return slurm_options(args, ExperimentError)


def _status(folder: str) -> int:
    from sim.experiment.store import Store

    store = Store(folder)
    manifest = store.manifest()
    design = manifest["design"]
    print(f"{manifest['name']}: {design['method']} design, {design['points']:,} points × "
          f"{manifest['replications']} replicates, {manifest['agents']:,} SMEs per run "
          f"({folder})")
    print(store.status().describe())
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from sim.experiment.spec import ExperimentError

    if args.status:
        if args.experiment:
            raise ExperimentError("give either EXPERIMENT or --status DIR, not both")
        return _status(args.status)
    if not args.experiment:
        raise ExperimentError("give an EXPERIMENT file to run, or --status DIR")
    slurm = _options(args)

    from sim.experiment.clusters import job_script, local_cores, security_for
    from sim.experiment.design import count_points
    from sim.experiment.estimate import estimate
    from sim.experiment.runner import check_size, sweep
    from sim.experiment.spec import load_experiment
    from sim.experiment.store import MANIFEST, Store

    from sim.memory import check_run_memory
    from sim.output_paths import check_output_dir

    from sim.config import find_example

    experiment = load_experiment(find_example(args.experiment), agents=args.agents)
    spec = experiment.spec
    tls = tls_files(args, spec.cluster, experiment.source, ExperimentError)
    security = security_for(tls, args.scheduler, slurm is not None)  # refused before anything
    points = count_points(experiment)
    runs = points * spec.replications
    out = Path(args.out) if args.out is not None else DEFAULT_ROOT / spec.name
    # refused before the kernels load or any run starts; a store may be resumed
    check_output_dir(args.out if args.out is not None else out, "experiment folder",
                     may_exist=True)
    if args.scheduler:
        workers = None
    elif slurm is not None:
        workers = slurm.workers
    else:
        workers = args.workers or local_cores()
    if workers is not None and slurm is None:  # local workers share this machine
        check_run_memory(experiment.agents, experiment.base["run"].get("engine", "numba"),
                         processes=workers, what="this sweep")
    reported, burn_in = experiment.quarters
    print(f"{spec.name}: {spec.design.method} design, {points:,} points × "
          f"{spec.replications} replicates = {runs:,} runs of {experiment.agents:,} SMEs, "
          f"{reported} quarters (+{burn_in} burn-in)")
    check_size(runs, args.max_runs)
    stored = len(Store(out).stored_ids()) if (out / MANIFEST).exists() else 0
    cost = estimate(experiment, runs - stored, workers or 1)
    print(f"{runs - stored:,} to run" + (f" ({stored:,} already stored)" if stored else "")
          + f": {cost.describe(workers)}")
    print(f"store: {out}", flush=True)
    if args.dry_run:
        if slurm is not None:
            print(job_script(slurm, security))
        return 0
    try:
        report = sweep(experiment, out, workers=workers if slurm is None else None,
                       scheduler=args.scheduler, slurm=slurm, max_runs=args.max_runs,
                       progress=not args.quiet, idle_minutes=args.idle_timeout, tls=tls)
    except KeyboardInterrupt:
        from sim.cli.exits import EXIT_INTERRUPTED

        status = Store(out).status()
        print(f"interrupted: {len(status.stored):,} of {status.total:,} runs are stored in "
              f"{out}; run the same command again to run the remaining "
              f"{status.total - len(status.stored):,}", file=sys.stderr)
        return EXIT_INTERRUPTED
    minutes = report.seconds / 60
    rate = f", {len(report.executed) / minutes:.1f} runs/min" if minutes > 0 else ""
    print(f"{len(report.executed):,} runs stored in {report.seconds:.1f} s ({report.backend}"
          f"{rate}); {report.skipped + len(report.executed):,} of {report.total:,} "
          f"in {out}")
    if report.failed:
        print(f"{len(report.failed):,} runs failed; their errors are in {out / 'failed'}. "
              "Run the same command again to retry them", file=sys.stderr)
        return 1
    return 0
