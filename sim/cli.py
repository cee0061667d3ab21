"""The ``sim`` command: run a scenario, validate a scenario file, plot run folders.

Heavy libraries (numba, pandas, matplotlib, the model) are imported inside the commands so
that ``sim --help`` and ``sim validate`` start quickly. Problems the user can fix are
printed as ``error: <message>`` with exit code 2, never as a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130
COMPILE_NOTICE = "Compiling the numba kernels (first run only)..."


# ---------------------------------------------------------------- sim run


def _fail_if_exists(out_dir: Path | None) -> None:
    """Refuse an existing --out before the run, not after hours of computing."""
    from sim.results import RunFolderError

    if out_dir is not None and (out_dir.exists() or out_dir.is_symlink()):
        raise RunFolderError(f"run folder {out_dir} already exists; choose another --out "
                             "or remove it first")


def _warm_up_kernels(quiet: bool) -> None:
    """Compile (or load from cache) the numba kernels, telling the user if it takes a while."""
    import gc

    from sim.warmup import warm_up

    announced = False

    def announce(*_: object) -> None:
        # warm_up calls this just before it starts compiling, so the wait is explained.
        nonlocal announced
        # compiling leaves much cyclic garbage: let the collector run (half the memory)
        gc.enable()
        if quiet:
            return
        announced = True
        print(COMPILE_NOTICE, end=" ", file=sys.stderr, flush=True)

    was_cached, seconds = warm_up(report=announce)
    if was_cached or quiet:
        return
    if not announced:
        print(COMPILE_NOTICE, end=" ", file=sys.stderr)
    print(f"done in {seconds:.1f} s; later runs use the cache", file=sys.stderr, flush=True)


def cmd_run(args: argparse.Namespace) -> int:
    from sim.deferred_imports import defer
    from sim.startup import collector_paused

    defer()  # pandas and SciPy code the run does not need load when first used, if ever
    with collector_paused():
        from sim.config import load_scenario

        scenario = load_scenario(args.scenario, agents=args.agents, seed=args.seed,
                                 threads=args.threads, engine=args.engine)
        out_dir = Path(args.out) if args.out else None
        _fail_if_exists(out_dir)
        if scenario.run.engine == "numba":  # the reference engine runs no kernels
            _warm_up_kernels(args.quiet)

        from sim.model import build_model
        from sim.results import default_run_dir, summary_table, write_run

        model = build_model(scenario, check=args.check)
    model.run_all(progress=not args.quiet)
    result = model.results()
    path = write_run(result, out_dir or default_run_dir(scenario.name, scenario.run.seed))
    if not args.quiet:
        print(summary_table(result))
        print(f"run folder: {path}")
    else:
        print(path)  # only the path, so scripts can capture it
    return 0


# ---------------------------------------------------------------- sim validate


def cmd_validate(args: argparse.Namespace) -> int:
    from sim.config import load_scenario

    scenario = load_scenario(args.scenario)
    run = scenario.run
    print(f"OK: {args.scenario} ({len(scenario.change)} changes, {len(scenario.shock)} shocks, "
          f"{run.start}–{run.end}, {run.agents:,} agents)")
    return 0


# ---------------------------------------------------------------- sim plot


def _run_labels(run_dirs: Sequence[Path]) -> list[str]:
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
    runs = {label: load_run(run_dir) for label, run_dir in zip(_run_labels(run_dirs), run_dirs)}
    if args.out:
        out_dir = Path(args.out)
    elif len(run_dirs) == 1:
        out_dir = run_dirs[0] / "figures"
    else:
        out_dir = Path.cwd() / "comparison-figures"

    from sim.plot import save_standard_figures

    for path in save_standard_figures(runs, out_dir):
        print(path)
    return 0


# ---------------------------------------------------------------- parser and errors


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sim", description="Agent-based simulator of China's SME finance market.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run a scenario and write a run folder")
    run.add_argument("scenario", metavar="SCENARIO", help="scenario .toml file")
    run.add_argument("--agents", type=int, metavar="N",
                     help="SMEs simulated (overrides run.agents)")
    run.add_argument("--seed", type=int, metavar="S", help="random seed (overrides run.seed)")
    run.add_argument("--out", metavar="DIR",
                     help="run folder to create (default: results/<name>-<time>-s<seed>)")
    run.add_argument("--threads", type=int, metavar="K", help="threads (overrides run.threads)")
    run.add_argument("--engine", choices=("numba", "reference"),
                     help="numba kernels, or every SME a plain-Python Mesa agent (same "
                          "results, for up to 200,000 agents; overrides run.engine)")
    run.add_argument("--check", action="store_true",
                     help="check accounting identities every quarter (slower)")
    run.add_argument("--quiet", action="store_true",
                     help="no progress or summary; print only the run folder")
    run.set_defaults(handler=cmd_run)

    validate = commands.add_parser("validate", help="check a scenario file without running it")
    validate.add_argument("scenario", metavar="SCENARIO", help="scenario .toml file")
    validate.set_defaults(handler=cmd_validate)

    plot = commands.add_parser("plot", help="write the standard figures of one or more runs")
    plot.add_argument("run_dirs", metavar="RUN_DIR", nargs="+", help="run folder(s)")
    plot.add_argument("--out", metavar="DIR",
                      help="figure folder (default: RUN_DIR/figures for one run, "
                           "./comparison-figures for several)")
    plot.set_defaults(handler=cmd_plot)
    from sim.experiment.cli import add_sweep_commands
    add_sweep_commands(commands)
    from sim.compare_cli import add_compare_command
    add_compare_command(commands)
    return parser


def _user_error_types() -> tuple[type[BaseException], ...]:
    """Exceptions whose message is meant for the user (imported only when one occurred)."""
    from pydantic import ValidationError

    from sim.config import ScenarioError
    from sim.errors import SimError

    return (ScenarioError, SimError, ValidationError, FileNotFoundError, PermissionError)


def _report_error(message: object) -> None:
    print(f"error: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``sim`` command; returns the exit code."""
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except KeyboardInterrupt:
        _report_error("interrupted; no run folder written")
        return EXIT_INTERRUPTED
    except Exception as exc:
        if not isinstance(exc, _user_error_types()):
            raise  # a bug: keep the traceback
        _report_error(exc)
        return EXIT_USER_ERROR


if __name__ == "__main__":
    sys.exit(main())
