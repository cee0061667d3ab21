"""Checks on where results go, made before any simulation starts, and the words for a
write that fails later (disk full, I/O error).

A run of hours must not end in a traceback because its folder cannot be created: every
command that writes (``sim run``, ``compare``, ``sweep``, ``calibrate``, ``plot``) checks
its output path first with :func:`check_output_dir`.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from sim.errors import SimError

__all__ = ["OutputPathError", "check_output_dir", "describe_os_error"]


class OutputPathError(SimError):
    """An output folder that cannot be created or written, named with the reason."""


def _limits(folder: Path) -> tuple[int, int]:
    """The longest file name and path the file system under ``folder`` takes."""
    try:
        return (os.pathconf(folder, "PC_NAME_MAX"), os.pathconf(folder, "PC_PATH_MAX"))
    except (OSError, ValueError, AttributeError):  # not POSIX, or no answer
        return 255, 4096


def _exists(path: Path) -> bool:
    try:
        return path.exists() or path.is_symlink()
    except OSError:  # a name too long to look up, a loop of links: nothing usable there
        return False


def _existing_ancestor(path: Path) -> Path:
    current = path
    while not _exists(current) and current != current.parent:
        current = current.parent
    return current


def check_output_dir(path: str | Path | None, what: str = "output folder",
                     option: str = "--out", may_exist: bool = False) -> Path | None:
    """Refuse an output folder that cannot be made, before any work is done.

    ``path`` None means the caller's default and is checked by the caller's own call with
    the default path. Refused: an empty name, a regular file at the path or anywhere on it,
    a name or path too long for the file system, and a folder where nothing can be
    written (checked by creating and removing a probe, which is what counts even for
    root). ``may_exist``: a store that is resumed may already exist (then it must be a
    writable folder). Returns the path.
    """
    if path is None:
        return None
    if str(path).strip() == "":
        raise OutputPathError(f"{option} is empty; give a folder name")
    path = Path(path)
    ancestor = _existing_ancestor(path.absolute())
    name_max, path_max = _limits(ancestor if ancestor.is_dir() else ancestor.parent)
    for part in path.absolute().parts:
        # room for the temporary suffix a folder is written under before its rename
        if len(os.fsencode(part)) + 24 > name_max:
            raise OutputPathError(f"{what}: the name '{part[:40]}…' is "
                                  f"{len(os.fsencode(part))} bytes long; this file system "
                                  f"takes at most {name_max - 24} here; choose a shorter "
                                  f"{option}")
    if len(os.fsencode(str(path.absolute()))) + 64 > path_max:
        raise OutputPathError(f"{what} {path}: the path is too long for this file system "
                              f"(at most {path_max} bytes with the files inside)")
    if _exists(path):
        if not path.is_dir():
            raise OutputPathError(f"{what} {path} is a file, not a folder; choose another "
                                  f"{option}")
        if not may_exist:
            raise OutputPathError(f"{what} {path} already exists; choose another {option} "
                                  "or remove it first")
    if not ancestor.is_dir():
        raise OutputPathError(f"{what} {path}: {ancestor} is a file, so no folder can be "
                              f"made under it; choose another {option}")
    try:
        probe = tempfile.mkdtemp(prefix=".write-check-", dir=ancestor)
        os.rmdir(probe)
    except OSError as exc:
        raise OutputPathError(f"{what} {path}: cannot write in {ancestor} "
                              f"({describe_os_error(exc)}); choose another {option}") from None
    return path


def describe_os_error(exc: OSError) -> str:
    """The system's reason for a failed read or write in words (``No space left on
    device``), with the file it concerns when known."""
    reason = exc.strerror or (os.strerror(exc.errno) if exc.errno else str(exc))
    if exc.errno == errno.ENOSPC:
        reason += "; free some space and run again"
    elif exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        reason += "; choose a folder you can write to"
    if exc.filename:
        return f"{exc.filename}: {reason}"
    return reason
