"""``sim analyze``: sensitivity indices of a stored experiment, as a table and a figure.

Only argparse is imported here: SALib, pandas and matplotlib load inside the handler so
that ``sim --help`` stays fast.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_command(subparsers) -> None:
    """Register ``analyze`` on the ``sim`` command's subparsers."""
    analyze = subparsers.add_parser(
        "analyze", help="sensitivity indices (Morris, Sobol) of a stored experiment",
        description="Morris or Sobol indices (a point summary for grids and LHS) of "
                    "chosen outputs, over replicates, with confidence intervals; writes a "
                    "CSV table and a PNG figure, and a table of second-order Sobol "
                    "indices when the design was sampled for them.")
    analyze.add_argument("store", metavar="DIR", help="experiment folder")
    analyze.add_argument("--output", action="append", metavar="COL", dest="outputs",
                         help="quarterly column to analyse (repeat; default: headline ones)")
    analyze.add_argument("--method", choices=["morris", "sobol"],
                         help="default: the experiment's design")
    analyze.add_argument("--statistic", choices=["mean", "last"], default="mean",
                         help="per-run value: mean over the reported quarters, or the last")
    analyze.add_argument("--out", metavar="DIR", help="folder for the table and figure "
                         "(default: DIR/analysis)")
    analyze.set_defaults(handler=cmd_analyze)


def cmd_analyze(args: argparse.Namespace) -> int:
    import pandas as pd

    from sim.experiment.analyze import analyze
    from sim.experiment.report import write_analysis
    from sim.output_paths import check_output_dir

    folder = Path(args.out) if args.out is not None else Path(args.store) / "analysis"
    check_output_dir(args.out if args.out is not None else folder, "analysis folder", "--out",
                     may_exist=True)
    result = analyze(args.store, outputs=args.outputs, method=args.method,
                     statistic=args.statistic)
    paths = write_analysis(result, folder)
    with pd.option_context("display.width", 120, "display.max_rows", 200,
                           "display.float_format", "{:.4g}".format):
        print(result.table.to_string(index=False))
        if result.second_order is not None:
            print("\nsecond-order Sobol indices (S2: the share of variance a pair's "
                  "interaction alone explains)")
            print(result.second_order.to_string(index=False))
    for path in paths:
        print(path)
    return 0

