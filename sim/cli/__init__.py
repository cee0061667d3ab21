"""The ``sim`` command: run, validate, plot, compare, sweep, analyze and calibrate.

Each command lives in its own module here and registers itself on the parser. Heavy
libraries (numba, pandas, matplotlib, the model) are imported inside the handlers so
that ``sim --help`` and ``sim validate`` start quickly. Problems the user can fix are
printed as ``error: <message>`` with exit code 2, never as a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from sim.cli import analyze, calibrate, compare, plot, run, sweep
from sim.cli.exits import EXIT_INTERRUPTED, EXIT_USER_ERROR


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sim", description="Agent-based simulator of China's SME finance market.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run.add_commands(commands)
    plot.add_command(commands)
    sweep.add_command(commands)
    analyze.add_command(commands)
    compare.add_command(commands)
    calibrate.add_command(commands)
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
