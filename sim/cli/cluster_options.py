"""The command-line options that choose where runs go — local workers, an existing Dask
scheduler or SLURM batch jobs — shared by ``sim sweep`` and ``sim calibrate``: how long
to wait for idle workers, and the certificates of a ``tls://`` scheduler."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from sim.cli.exits import EXIT_IDLE
from sim.experiment.clusters import DEFAULT_IDLE_MINUTES, TLS_OPTIONS, TlsFiles

if TYPE_CHECKING:
    from sim.experiment.spec import ClusterSpec


def _minutes(text: str) -> float:
    """``--idle-timeout``: minutes, a number above 0 (fractions allowed)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"minutes must be a number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"minutes must be above 0, got {text}")
    return value


def add_cluster_arguments(parser: argparse.ArgumentParser, default_workers: str) -> None:
    """``--workers``, ``--scheduler`` and ``--cluster slurm`` with its job resources, the
    idle timeout and the TLS certificates; ``default_workers`` says in the help what no
    ``--workers`` means."""
    parser.add_argument("--workers", type=int, metavar="N",
                        help=f"local worker processes (default {default_workers}); "
                             "they and their dashboard listen on 127.0.0.1 only")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="use an existing Dask scheduler, e.g. tcp://host:8786, or "
                             "tls://host:8786 with --tls-ca-file, --tls-cert and --tls-key")
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
    parser.add_argument("--idle-timeout", type=_minutes, default=DEFAULT_IDLE_MINUTES,
                        metavar="MINUTES",
                        help=f"on a cluster, stop (exit code {EXIT_IDLE}, the runs done "
                             "kept) when no run finished and no worker was up and unpaused for "
                             "this long: no workers, all paused for memory, SLURM jobs "
                             "ended (jobs still queued count as waiting); default "
                             f"{DEFAULT_IDLE_MINUTES:g}")
    parser.add_argument("--tls-ca-file", metavar="PEM",
                        help="CA certificate of a tls:// scheduler (Dask's TLS); also "
                             "tls_ca_file in the file's [cluster] table")
    parser.add_argument("--tls-cert", metavar="PEM",
                        help="the certificate this process shows the tls:// scheduler "
                             "(also tls_cert in [cluster]); with --cluster slurm, the "
                             "scheduler's and workers' too")
    parser.add_argument("--tls-key", metavar="PEM",
                        help="the private key of --tls-cert (also tls_key in [cluster])")


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


def tls_files(args: argparse.Namespace, table: ClusterSpec | None, source: Path,
              error: type[Exception]) -> TlsFiles | None:
    """The TLS certificates: the command line's over those of the file's ``[cluster]``
    ``table`` (paths relative to the file ``source``); None if neither names any. The
    command line's are refused where nothing would use them (local workers)."""
    given = TlsFiles(ca_file=args.tls_ca_file, cert=args.tls_cert, key=args.tls_key)
    if given.given() and args.scheduler is None and args.cluster is None:
        options = ", ".join(option for name, option in TLS_OPTIONS.items()
                            if getattr(given, name) is not None)
        raise error(f"{options}: TLS is for --scheduler tls://HOST:PORT or --cluster "
                    "slurm; local workers listen on 127.0.0.1 only")
    in_file = None
    if table is not None:
        in_file = TlsFiles(**{name: None if getattr(table, f"tls_{name}") is None
                              else str(source.parent / getattr(table, f"tls_{name}"))
                              for name in TLS_OPTIONS})
    merged = given.over(in_file)
    return merged if merged.given() else None
