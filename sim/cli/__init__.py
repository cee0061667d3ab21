"""The ``sim`` command: run, validate, plot, compare, sweep, analyze, calibrate and dashboard.

Each command lives in its own module here and registers itself on the parser. Heavy
libraries (numba, pandas, matplotlib, the model) are imported inside the handlers so
that ``sim --help`` and ``sim validate`` start quickly. Problems the user can fix are
printed as ``error: <message>`` with exit code 2, never as a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from sim.cli import analyze, calibrate, compare, dashboard, plot, run, sweep
from sim.cli.exits import EXIT_INTERRUPTED, EXIT_USER_ERROR


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sim", description="Agent-based simulator of China's SME finance market.")
    from sim import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run.add_commands(commands)
    plot.add_command(commands)
    sweep.add_command(commands)
    analyze.add_command(commands)
    compare.add_command(commands)
    calibrate.add_command(commands)
    dashboard.add_command(commands)
    return parser


def _user_error_types() -> tuple[type[BaseException], ...]:
    """Exceptions whose message is meant for the user (imported only when one occurred)."""
    from pydantic import ValidationError

    from sim.config import ScenarioError
    from sim.errors import SimError

    return (ScenarioError, SimError, ValidationError)


def _idle_timeout() -> type[BaseException]:
    """The error of a wait for idle workers (imported only when an exception occurred)."""
    from sim.experiment.clusters import IdleTimeout

    return IdleTimeout


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
    except _idle_timeout() as exc:
        # a sweep or calibration that stopped waiting: its own code, the runs done kept
        from sim.cli.exits import EXIT_IDLE

        _report_error(exc)
        return EXIT_IDLE
    except BrokenPipeError:
        # the reader went away (``sim validate x | head``): nothing left to tell it
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - flushed at exit, no more error
        return 0
    except OSError as exc:
        # a missing file, a folder without permission, a full disk, an I/O error: what
        # the system says, in words, with the file; the writers leave nothing half-written
        from sim.output_paths import describe_os_error

        _report_error(describe_os_error(exc))
        return EXIT_USER_ERROR
    except Exception as exc:
        if not isinstance(exc, _user_error_types()):
            raise  # a bug: keep the traceback
        _report_error(exc)
        return EXIT_USER_ERROR
