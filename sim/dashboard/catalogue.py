"""The scenarios the dashboard offers: the shipped ones (``sim/scenarios/*.toml``), by
name only.

The page picks a name from this list; any other text (a path, ``../../etc/passwd``, a
name that is not shipped) is refused before a file is opened, so nothing the page
sends chooses which file is read.
"""

from __future__ import annotations

from pathlib import Path

from sim.config import ScenarioError, shipped_scenarios_dir

SCENARIO_DIR = shipped_scenarios_dir()
DEFAULT_SCENARIO = "baseline"


class DashboardInputError(ScenarioError):
    """Something the page sent that cannot be run, with a message for the page."""


def scenario_names(folder: Path = SCENARIO_DIR) -> list[str]:
    """The shipped scenarios' names (file stems), baseline first, then alphabetical."""
    names = sorted(path.stem for path in folder.glob("*.toml") if path.is_file())
    if DEFAULT_SCENARIO in names:
        names.remove(DEFAULT_SCENARIO)
        names.insert(0, DEFAULT_SCENARIO)
    return names


def scenario_file(name: object, folder: Path = SCENARIO_DIR) -> Path:
    """The file of a shipped scenario; anything not in :func:`scenario_names` is refused.

    The name is matched against the list, never joined to a path as given.
    """
    names = scenario_names(folder)
    if not isinstance(name, str) or name not in names:
        raise DashboardInputError(f"scenario {name!r} is not one of the shipped scenarios; "
                                  f"pick one of: {', '.join(names)}")
    path = folder / f"{name}.toml"
    # a shipped name is a plain stem; the check keeps that true if the folder changes
    if path.resolve().parent != folder.resolve():
        raise DashboardInputError(f"scenario {name!r} is not in {folder}")
    return path
