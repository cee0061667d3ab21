"""The command-line options that choose where runs go — local workers, an existing Dask
scheduler or SLURM batch jobs — shared by ``sim sweep`` and ``sim calibrate``."""

from __future__ import annotations

import argparse


def add_cluster_arguments(parser: argparse.ArgumentParser, default_workers: str) -> None:
    """``--workers``, ``--scheduler`` and ``--cluster slurm`` with its job resources;
    ``default_workers`` says in the help what no ``--workers`` means."""
    parser.add_argument("--workers", type=int, metavar="N",
                        help=f"local worker processes (default {default_workers})")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="use an existing Dask scheduler, e.g. tcp://host:8786")
    parser.add_argument("--cluster", choices=["slurm"],
                        help="start workers as batch jobs (needs the [slurm] extra)")
    parser.add_argument("--jobs", type=int, metavar="J", help="SLURM jobs to submit")
    parser.add_argument("--cores", type=int, default=1, metavar="C",
                        help="worker processes (and cores) per SLURM job (default 1)")
    parser.add_argument("--memory", metavar="M",
                        help="memory per SLURM job (default 2GB a core)")
    parser.add_argument("--walltime", default="02:00:00", metavar="T",
                        help="SLURM wall time per job (default 02:00:00)")
    parser.add_argument("--queue", metavar="Q", help="SLURM partition")
    parser.add_argument("--account", metavar="A", help="SLURM account")


def slurm_options(args: argparse.Namespace, error: type[Exception]):
    """Check the backend options: one of --workers, --scheduler and --cluster, and the
    SLURM resources with --cluster; return :class:`SlurmOptions` or None."""
    from sim.experiment.clusters import SlurmOptions

    if args.workers is not None and args.workers < 1:
        raise error(f"--workers must be at least 1, got {args.workers}")
    chosen = [name for name, given in (("--workers", args.workers is not None),
                                       ("--scheduler", args.scheduler is not None),
                                       ("--cluster", args.cluster is not None)) if given]
    if len(chosen) > 1:
        raise error(f"{' and '.join(chosen)} exclude each other; choose one")
    if args.cluster is None:
        if args.jobs is not None:
            raise error("--jobs is for --cluster slurm")
        return None
    if args.jobs is None or args.jobs < 1:
        raise error("--cluster slurm needs --jobs J (J >= 1 batch jobs)")
    if args.cores < 1:
        raise error(f"--cores must be at least 1, got {args.cores}")
    return SlurmOptions(jobs=args.jobs, cores=args.cores, memory=args.memory,
                        walltime=args.walltime, queue=args.queue, account=args.account)
