"""Scenario parameters set from Python or the command line by name: ``"agents"``,
``"rrr"``, ``"central_bank.rrr"`` or ``"policy.central_bank.rrr"`` all find their field,
and the result is validated as a scenario file is."""

from __future__ import annotations

import copy
import difflib
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

__all__ = ["parameter_paths", "override_path", "apply_overrides"]


def _leaves(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every parameter path of ``model`` (fields that are not sections)."""
    paths = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            paths.extend(_leaves(annotation, (*prefix, name)))
        elif name not in ("change", "shock", "provenance", "extends"):
            paths.append((*prefix, name))
    return paths


def parameter_paths() -> list[tuple[str, ...]]:
    """Every path an override may name, e.g. ``("policy", "central_bank", "rrr")``."""
    from sim.schema import Scenario

    return _leaves(Scenario)


def override_path(key: str) -> tuple[str, ...]:
    """The full path of ``key``: a full dotted path; one under ``policy`` without it
    (``central_bank.rrr``, as changes name them); or a bare name, which is a ``run`` key
    (``agents``, ``seed``) or any parameter whose name is unique (``rrr``)."""
    from sim.config import ScenarioError

    paths = parameter_paths()
    parts = tuple(key.split("."))
    for candidate in (parts, ("policy", *parts), ("run", *parts)):
        if candidate in paths:
            return candidate
    if len(parts) == 1:
        named = [path for path in paths if path[-1] == key]
        if len(named) == 1:
            return named[0]
        if len(named) > 1:
            raise ScenarioError(f"'{key}' names {len(named)} parameters: "
                                f"{', '.join('.'.join(p) for p in named[:8])}; give the "
                                "dotted path")
    dotted = [".".join(path) for path in paths]
    hint = difflib.get_close_matches(key, dotted, n=1) or difflib.get_close_matches(
        key, [path[-1] for path in paths], n=1)
    raise ScenarioError(f"unknown parameter '{key}'" + (f" (did you mean '{hint[0]}'?)"
                                                        if hint else "")
                        + "; give a dotted path such as 'policy.central_bank.rrr', "
                          "'central_bank.rrr' or a run key such as 'agents'")


def apply_overrides(raw: dict, overrides: Mapping[str, Any]) -> dict:
    """A copy of the scenario dictionary ``raw`` with ``overrides`` set (None values
    are skipped: an option not given)."""
    merged = copy.deepcopy(raw)
    for key, value in overrides.items():
        if value is None:
            continue
        path = override_path(key)
        section = merged
        for part in path[:-1]:
            section = section.setdefault(part, {})
            if not isinstance(section, dict):
                from sim.config import ScenarioError

                raise ScenarioError(f"cannot set '{key}': '{part}' is not a table")
        section[path[-1]] = value
    return merged
