"""``sim compare BASE OTHER``: paired replications of two scenarios, differences with
replication intervals, figures and CSV files.

Only argparse is imported here; the model, pandas and matplotlib load inside the
handler, so ``sim --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _default_out(base: str, other: str) -> Path:
    """``results/compare-<other>-vs-<base>-<YYYYmmdd-HHMMSS>``, numbered if taken."""
    from datetime import datetime

    from sim.results import safe_name

    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path = Path("results") / f"compare-{safe_name(other)}-vs-{safe_name(base)}-{stamp}"
    candidate, number = path, 2
    while candidate.exists():
        candidate = path.with_name(f"{path.name}-{number}")
        number += 1
    return candidate


def cmd_compare(args: argparse.Namespace) -> int:
    from sim.cli.kernels import check_before_running, warm_up_kernels
    from sim.compare import (
        CompareError,
        check_comparable,
        compare_scenarios,
        write_comparison,
    )
    from sim.config import load_scenario

    if args.reps < 1:
        raise CompareError(f"--reps must be at least 1, got {args.reps}")
    overrides = {"agents": args.agents, "seed": args.seed, "threads": args.threads}
    base = load_scenario(args.base, **overrides)
    other = load_scenario(args.other, **overrides)
    if args.seed is None and base.run.seed != other.run.seed:
        raise CompareError(f"BASE and OTHER have different run.seed ({base.run.seed} vs "
                           f"{other.run.seed}); give --seed to pair them")
    check_comparable(base, other)
    from sim.output_paths import check_output_dir

    out_dir = check_output_dir(args.out if args.out is not None else
                               _default_out(base.name, other.name), what="comparison folder")
    check_before_running(base)  # the runs go one at a time, at the same size
    warm_up_kernels(args.quiet)

    def progress(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    result = compare_scenarios(base, other, reps=args.reps,
                               progress=None if args.quiet else progress)
    from sim.plot_compare import comparison_figures

    path = write_comparison(result, out_dir, figures=comparison_figures(result))
    if args.quiet:
        print(path)
    else:
        print(result.table())
        print(f"comparison folder: {path}")
    return 0


def add_command(subparsers) -> None:
    """Register ``sim compare`` on the ``sim`` command's subparsers."""
    compare = subparsers.add_parser(
        "compare", help="compare two scenarios over paired replications",
        description="Run BASE and OTHER with the same seeds (S, S+1, ...), print the "
                    "mean paired difference OTHER - BASE of key outcomes over the quarters "
                    "from the lever's start, with a 95%% replication interval (percentages "
                    "in %%, their differences in percentage points), and write "
                    "differences.csv and summary.csv (with units), figures and every "
                    "replicate as a run folder (runs/base-r0, runs/other-r0, ...; drawn with "
                    "bands by sim plot COMPARISON_DIR) to a new folder.")
    compare.add_argument("base", metavar="BASE", help="base scenario .toml file")
    compare.add_argument("other", metavar="OTHER", help="scenario .toml file to compare")
    compare.add_argument("--reps", type=int, default=5, metavar="R",
                         help="paired replications (default 5)")
    compare.add_argument("--agents", type=int, metavar="N",
                         help="SMEs simulated in both (overrides run.agents)")
    compare.add_argument("--seed", type=int, metavar="S",
                         help="seed of the first replication (default: run.seed)")
    compare.add_argument("--out", metavar="DIR",
                         help="folder to create (default: results/compare-<other>-vs-<base>-"
                              "<time>)")
    compare.add_argument("--threads", type=int, metavar="K",
                         help="threads (overrides run.threads)")
    compare.add_argument("--quiet", action="store_true",
                         help="no progress or table; print only the comparison folder")
    compare.set_defaults(handler=cmd_compare)
