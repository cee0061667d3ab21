"""``sim plot``: the standard figures of one or more run folders, or the fit and profile
figures of a calibration folder."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path


def add_command(commands) -> None:
    """Register ``plot`` on the ``sim`` command's subparsers."""
    plot = commands.add_parser("plot", help="write the standard figures of one or more runs "
                                            "(or of a calibration folder)")
    plot.add_argument("run_dirs", metavar="RUN_DIR", nargs="+",
                      help="run folder(s), or one calibration folder")
    plot.add_argument("--out", metavar="DIR",
                      help="figure folder (default: RUN_DIR/figures for one run, "
                           "./comparison-figures for several)")
    plot.set_defaults(handler=cmd_plot)


def run_labels(run_dirs: Sequence[Path]) -> list[str]:
    """Folder names as labels; repeated names get a (2), (3) ... suffix."""
    labels: list[str] = []
    for run_dir in run_dirs:
        name = run_dir.resolve().name
        label, number = name, 2
        while label in labels:
            label, number = f"{name} ({number})", number + 1
        labels.append(label)
    return labels


def cmd_plot(args: argparse.Namespace) -> int:
    from sim.results import load_run

    run_dirs = [Path(path) for path in args.run_dirs]
    from sim.calibration.result import is_calibration

    if any(is_calibration(d) for d in run_dirs):
        if len(run_dirs) != 1:
            from sim.calibration.spec import CalibrationError

            raise CalibrationError("sim plot takes one calibration folder at a time")
        from sim.calibration.result import load_result

        paths = load_result(run_dirs[0]).plot(args.out)
        if not paths:
            from sim.calibration.spec import CalibrationError

            raise CalibrationError(f"{run_dirs[0]} has no report to draw (made with "
                                   "--no-report); run sim calibrate again without it")
        for path in paths:
            print(path)
        return 0
    runs = {label: load_run(run_dir) for label, run_dir in zip(run_labels(run_dirs), run_dirs)}
    if args.out:
        out_dir = Path(args.out)
    elif len(run_dirs) == 1:
        out_dir = run_dirs[0] / "figures"
    else:
        out_dir = Path.cwd() / "comparison-figures"
    from sim.output_paths import check_output_dir

    check_output_dir(out_dir, what="figure folder", may_exist=True)

    from sim.plot import save_standard_figures

    for path in save_standard_figures(runs, out_dir):
        print(path)
    return 0
