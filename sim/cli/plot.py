"""``sim plot``: the standard figures of one or more run folders or comparison folders
(replicates of a scenario drawn as bands), or the fit and profile figures of a
calibration folder."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from sim.errors import SimError


class PlotOptionError(SimError):
    """Options of ``sim plot`` that do not fit the folders given."""


def add_command(commands) -> None:
    """Register ``plot`` on the ``sim`` command's subparsers."""
    plot = commands.add_parser(
        "plot", help="write the standard figures of one or more runs (or of a comparison "
                     "or calibration folder)",
        description="Write the standard figures of run folders. Lines are labelled by "
                    "--label, else by the scenario's name; folders with the same label are "
                    "replicates, drawn as their mean with a band. A comparison folder "
                    "(sim compare) gives both scenarios with their replicates.")
    plot.add_argument("run_dirs", metavar="RUN_DIR", nargs="+",
                      help="run folder(s), comparison folder(s), or one calibration folder")
    plot.add_argument("--label", metavar="NAME", action="append", default=None,
                      help="legend label of a RUN_DIR, in their order (repeat: one per run "
                           "folder, two per comparison folder: base and other; default: "
                           "the scenario's name)")
    plot.add_argument("--out", metavar="DIR",
                      help="figure folder (default: RUN_DIR/figures for one folder, "
                           "./comparison-figures for several)")
    plot.add_argument("--format", metavar="FORMATS", default="png",
                      help="comma-separated file formats: png, svg, pdf (default png)")
    plot.add_argument("--dpi", type=int, default=200, metavar="N",
                      help="resolution of png files (default 200)")
    plot.add_argument("--report", action="store_true",
                      help="also write report.pdf: headline table and overview on one page")
    plot.set_defaults(handler=cmd_plot)


def labelled_runs(run_dirs: Sequence[Path], labels: Sequence[str] | None) -> dict:
    """``{label: [runs]}`` from run and comparison folders, in the order given; folders
    with the same label are replicates."""
    from sim.compare import is_comparison, load_comparison_runs
    from sim.plot import run_label
    from sim.results import load_run

    wanted = sum(2 if is_comparison(d) else 1 for d in run_dirs)
    if labels is not None and len(labels) != wanted:
        raise PlotOptionError(f"--label given {len(labels)} time(s) for {wanted} label(s): "
                              "give one per run folder and two per comparison folder "
                              "(base, then other), or none to use the scenarios' names")
    given = iter(labels or [])
    runs: dict[str, list] = {}
    for run_dir in run_dirs:
        if is_comparison(run_dir):
            pairs = list(load_comparison_runs(run_dir).items())
            if not any(group for _, group in pairs):
                raise PlotOptionError(f"{run_dir} keeps no replicate runs (written by an "
                                      "older sim compare); run sim compare again to plot it")
            for name, group in pairs:
                runs.setdefault(next(given, name), []).extend(group)
        else:
            run = load_run(run_dir)
            runs.setdefault(next(given, run_label(run)), []).append(run)
    return runs


def cmd_plot(args: argparse.Namespace) -> int:
    run_dirs = [Path(path) for path in args.run_dirs]
    from sim.calibration.result import is_calibration

    if any(is_calibration(d) for d in run_dirs):
        return _plot_calibration(run_dirs, args)
    from sim.plot import check_formats

    try:
        formats = check_formats(args.format)
    except ValueError as exc:
        raise PlotOptionError(f"--format: {exc}") from None
    if args.dpi < 10:
        raise PlotOptionError(f"--dpi must be at least 10, got {args.dpi}")
    runs = labelled_runs(run_dirs, args.label)
    if args.out:
        out_dir = Path(args.out)
    elif len(run_dirs) == 1:
        out_dir = run_dirs[0] / "figures"
    else:
        out_dir = Path.cwd() / "comparison-figures"
    from sim.output_paths import check_output_dir

    check_output_dir(out_dir, what="figure folder", may_exist=True)

    from sim.plot import save_standard_figures

    for path in save_standard_figures(runs, out_dir, formats=formats, dpi=args.dpi):
        print(path)
    if args.report:
        from sim.plot_report import save_report

        print(save_report(runs, out_dir / "report.pdf"))
    return 0


def _plot_calibration(run_dirs: list[Path], args: argparse.Namespace) -> int:
    from sim.calibration.spec import CalibrationError

    if len(run_dirs) != 1:
        raise CalibrationError("sim plot takes one calibration folder at a time")
    from sim.calibration.result import load_result

    paths = load_result(run_dirs[0]).plot(args.out)
    if not paths:
        raise CalibrationError(f"{run_dirs[0]} has no report to draw (made with "
                               "--no-report); run sim calibrate again without it")
    for path in paths:
        print(path)
    return 0
