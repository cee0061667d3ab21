"""``sim dashboard``: the live dashboard, a web page served on this machine."""

from __future__ import annotations

import argparse
import sys

from sim.dashboard.server import DEFAULT_HOST, DEFAULT_PORT


def add_command(commands) -> None:
    """Register ``dashboard`` on the ``sim`` command's subparsers."""
    dashboard = commands.add_parser(
        "dashboard", help="open the live dashboard: move policy levers, watch the run")
    dashboard.add_argument("--host", default=DEFAULT_HOST, metavar="H",
                           help="address to listen on (default 127.0.0.1: this machine "
                                "only; another address lets others run models here)")
    dashboard.add_argument("--port", type=int, default=DEFAULT_PORT, metavar="P",
                           help=f"port to listen on (default {DEFAULT_PORT}; 0: any free)")
    dashboard.add_argument("--no-browser", action="store_true",
                           help="do not open a web browser on the page")
    dashboard.set_defaults(handler=cmd_dashboard)


def cmd_dashboard(args: argparse.Namespace) -> int:
    from sim.dashboard.folders import results_root
    from sim.dashboard.server import check_port, exposure_warning, serve

    warning = exposure_warning(args.host)
    if warning:
        print(warning, file=sys.stderr)
    check_port(args.host, args.port)
    shown = f"[{args.host}]" if ":" in args.host else args.host  # an IPv6 address
    where = f"http://{shown}:{args.port}" if args.port else f"a free port of {shown}"
    print(f"dashboard: {where} (Ctrl-C stops it); run folders go to {results_root()}",
          file=sys.stderr, flush=True)
    serve(args.host, args.port, open_browser=not args.no_browser)
    return 0
