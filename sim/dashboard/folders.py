"""The results folder the dashboard owns, the run folders in it and their zips.

Folder names are built by :func:`sim.results.default_run_dir` from the validated
scenario's name (through :func:`sim.results.safe_name`) and its seed, never from text
the page sent; a zip is made only of a run folder directly inside the results folder.
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

from sim.dashboard.catalogue import DashboardInputError

RESULTS_SUBFOLDER = Path("results") / "dashboard"


def results_root() -> Path:
    """``results/dashboard`` under the folder the server was started in."""
    return RESULTS_SUBFOLDER.resolve()


def _inside(root: Path, folder: Path) -> Path:
    """``folder`` resolved, if it is a folder directly inside ``root``; else refused."""
    root = root.resolve()
    if folder.is_symlink():
        raise DashboardInputError(f"{folder} is a link, not a run folder of the dashboard")
    resolved = folder.resolve()
    if resolved.parent != root:
        raise DashboardInputError(f"{folder} is not a run folder in {root}")
    return resolved


def new_run_dir(root: Path, name: str, seed: int) -> Path:
    """A fresh run folder path in ``root`` for a run of scenario ``name``."""
    from sim.results import default_run_dir

    return _inside(root, default_run_dir(name, seed, root=root.resolve()))


def run_folder(root: Path, folder: Path) -> Path:
    """``folder`` if it is a finished run folder in ``root`` (it holds run.json)."""
    from sim.results import META_FILE, PARTIAL_MARKER

    resolved = _inside(root, Path(folder))
    if not resolved.is_dir() or PARTIAL_MARKER in resolved.name:
        raise DashboardInputError(f"{folder} is not a finished run folder")
    if not (resolved / META_FILE).is_file():
        raise DashboardInputError(f"{folder} is not a run folder ({META_FILE} is missing)")
    return resolved


def zip_name(folder: Path) -> str:
    return f"{Path(folder).name}.zip"


def zip_run(root: Path, folder: Path) -> bytes:
    """The run folder's own files as a zip (``<folder name>/<file>``): regular files
    only, links skipped, so nothing outside the folder can be packed."""
    resolved = run_folder(root, folder)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with os.scandir(resolved) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                if entry.is_file(follow_symlinks=False):
                    archive.write(entry.path, f"{resolved.name}/{entry.name}")
    return buffer.getvalue()
