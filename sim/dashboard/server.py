"""Starting the dashboard's web server: Solara's own ``solara run``, in this process.

Bound to 127.0.0.1 unless told otherwise: the page runs models and writes run folders,
so by default only this machine may reach it. Solara's version check and usage
telemetry are switched off. The page's scripts come from the ``solara-assets`` package;
Solara would fetch a script it lacks from a CDN and keep it in its cache folder, so the
CDN is set to an address that fetches nothing: no request to the server makes it
download or write anything outside the dashboard's results folder.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
import warnings

from sim.errors import SimError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
APP = "sim.dashboard.app"
# read by Solara's settings when they are imported, so set before the import
SERVER_ENVIRONMENT = {
    "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
    "SOLARA_ASSETS_CDN": "offline://no-cdn/",  # a scheme nothing can fetch
}


def is_loopback(host: str) -> bool:
    """True for an address only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def exposure_warning(host: str) -> str | None:
    """The warning for a host other machines may reach, or None for a loopback one."""
    if is_loopback(host):
        return None
    return (f"warning: the dashboard listens on {host}, not only on this machine: anyone "
            "who can reach this port can run models on it and download its run folders. "
            "It has no login; use --host 127.0.0.1 (the default) unless the network is "
            "yours.")


def check_port(host: str, port: int) -> None:
    """Refuse, before Solara starts, a port outside 0–65535 or one already in use."""
    if not 0 <= port <= 65535:
        raise SimError(f"--port {port}: a port is 0 to 65535 (0: any free port)")
    if port == 0:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # as the server will bind it: a port left in TIME_WAIT by a stopped server is free
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host.strip("[]"), port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise SimError(f"port {port} on {host} is in use (another dashboard?); "
                               "choose another with --port") from None
            raise SimError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def solara_arguments(host: str, port: int, open_browser: bool) -> list[str]:
    """The arguments of ``solara run`` that serve the dashboard."""
    return [APP, "--host", host, "--port", str(port),
            "--open" if open_browser else "--no-open",
            "--production",           # no reloader, no check that calls solara.dev
            "--no-check-version",     # no request to PyPI at start
            "--log-level", "warning"]


def serve(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
          open_browser: bool = True) -> None:
    """Serve the dashboard until interrupted."""
    os.environ.update(SERVER_ENVIRONMENT)
    # Solara warns on every page load over plain http at 127.0.0.1 that it falls back
    # to SameSite=lax cookies: right for a page that is not embedded in another site
    warnings.filterwarnings("ignore", message="Cookies with samesite=none",
                            category=UserWarning)
    from solara.__main__ import run

    run.main(args=solara_arguments(host, port, open_browser), prog_name="sim dashboard",
             standalone_mode=False)
