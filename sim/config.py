"""Loading scenario files: TOML, ``extends``, overrides and validation messages.

Every problem a user can make in a scenario surfaces as :class:`ScenarioError` with a
message that names the file, the key, the value and what is allowed.
"""

from __future__ import annotations

import copy
import difflib
import tomllib
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

from sim.quarters import parse_quarter
from sim.schema import Scenario


class ScenarioError(ValueError):
    """A scenario file or override that cannot be used, with a message for the user."""


def _deep_merge(base: dict, override: dict) -> dict:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if key in ("change", "shock"):
            merged[key] = list(merged.get(key, [])) + list(value)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def read_toml(path: Path, what: str = "scenario",
              error: type[Exception] = ScenarioError) -> dict:
    """A TOML file as a dict; a missing file, a folder or bad TOML raise ``error`` with a
    message naming ``what`` the file should be."""
    if not path.exists():
        raise error(f"{what} file not found: {path}")
    if path.is_dir():
        raise error(f"{path} is a folder; give a {what} .toml file")
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path}: not valid TOML ({exc})") from None
    except UnicodeDecodeError:
        raise error(f"{path}: not a UTF-8 text file") from None


def read_with_extends(path: Path, _chain: tuple[Path, ...] = ()) -> dict:
    """Read a scenario file and every file it extends, merged (child wins)."""
    path = path.resolve()
    if path in _chain:
        cycle = " -> ".join(p.name for p in (*_chain, path))
        raise ScenarioError(f"'extends' forms a cycle: {cycle}")
    raw = read_toml(path)
    parent = raw.get("extends")
    if parent is None:
        return raw
    if not isinstance(parent, str):
        raise ScenarioError(f"{path.name}: 'extends' must be a file name (text), got {parent!r}")
    parent_path = (path.parent / parent)
    if not parent_path.exists():
        raise ScenarioError(f"{path.name}: extends '{parent}', which was not found at "
                            f"{parent_path}")
    base = read_with_extends(parent_path, (*_chain, path))
    base.pop("name", None)
    base.pop("description", None)
    return _deep_merge(base, raw)


def _allowed_keys(model: type[BaseModel], loc: tuple) -> list[str]:
    """The field names allowed at ``loc`` inside ``model`` (for unknown-key messages);
    list indices and the keys of ``dict[str, Model]`` fields are stepped over."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        if get_origin(current) is dict:
            current = get_args(current)[1]
            continue
        fields = getattr(current, "model_fields", {})
        if part not in fields:
            return []
        annotation = fields[part].annotation
        args = getattr(annotation, "__args__", ())
        inner = next((a for a in (annotation, *args) if get_origin(a) is dict
                      or isinstance(a, type) and issubclass(a, BaseModel)), None)
        if inner is None:
            return []
        current = inner
    return sorted(getattr(current, "model_fields", {}))


def format_validation_error(exc: ValidationError, source: str, model=Scenario,
                            what: str = "scenario") -> str:
    """Turn a pydantic error into lines naming the key, the value and what is allowed."""
    lines = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        key = ".".join(str(p) for p in loc) or "(top level)"
        if err["type"] == "extra_forbidden":
            allowed = _allowed_keys(model, loc)
            hint = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            msg = f"unknown key '{key}'"
            if hint:
                msg += f" (did you mean '{hint[0]}'?)"
            if allowed:
                msg += f"; allowed here: {', '.join(allowed)}"
            lines.append(msg)
            continue
        message = err["msg"].removeprefix("Value error, ")
        ctx = err.get("ctx", {})
        bounds = ", ".join(f"{k} {v}" for k, v in ctx.items() if k in ("ge", "le", "gt", "lt"))
        if bounds:
            message += f" (allowed: {bounds})"
        value = err.get("input")
        shown = "" if isinstance(value, dict) else f" = {value!r}"
        lines.append(f"'{key}'{shown}: {message}")
    return f"{source}: " + ("\n  ".join(lines) if len(lines) == 1 else
                            f"invalid {what}\n  " + "\n  ".join(lines))


def resolve_path(scenario: Scenario, dotted: str) -> tuple[BaseModel, str]:
    """Find the section object and field named by a change key.

    Keys are looked up under ``policy`` first (``central_bank.rrr``), then from the
    scenario root (``macro.gdp_growth_annual``); ``run`` and ``population`` cannot change
    during a run.
    """
    parts = dotted.split(".")
    for root in (scenario.policy, scenario):
        target: Any = root
        for part in parts[:-1]:
            if not isinstance(target, BaseModel) or part not in type(target).model_fields:
                target = None
                break
            target = getattr(target, part)
        if (isinstance(target, BaseModel) and parts[-1] in type(target).model_fields
                and not isinstance(getattr(target, parts[-1]), BaseModel)):
            if root is scenario and parts[0] in ("run", "population", "change", "shock",
                                                 "name", "description", "extends"):
                raise ScenarioError(f"'{dotted}' cannot change during a run; only policy, "
                                    "macro, firms, credit, banks and platforms keys can")
            return target, parts[-1]
    policy_keys = [f"{section}.{name}" for section, model in
                   type(scenario.policy).model_fields.items()
                   for name in model.annotation.model_fields]
    hint = difflib.get_close_matches(dotted, policy_keys, n=1)
    raise ScenarioError(f"unknown parameter '{dotted}' in a change"
                        + (f" (did you mean '{hint[0]}'?)" if hint else "")
                        + "; policy keys look like 'central_bank.lpr_1y_annual'")


def _check_changes(scenario: Scenario, source: str) -> None:
    start, end = parse_quarter(scenario.run.start), parse_quarter(scenario.run.end)
    probe = scenario.model_copy(deep=True)
    for number, change in enumerate(scenario.change, 1):
        where = f"{source}: change #{number}"
        quarters = [change.at] if change.set is not None else [change.start, change.to]
        for label in quarters:
            q = parse_quarter(label)
            if not start <= q <= end:
                raise ScenarioError(f"{where}: quarter {label} is outside the run "
                                    f"({scenario.run.start} to {scenario.run.end})")
        for key, value in (change.set or change.ramp or {}).items():
            try:
                target, name = resolve_path(probe, key)
            except ScenarioError as exc:
                raise ScenarioError(f"{where}: {exc}") from None
            if change.ramp is not None and not isinstance(value, (int, float)):
                raise ScenarioError(f"{where}: ramp of '{key}' needs a number, got {value!r}")
            try:
                setattr(target, name, value)
            except ValidationError as exc:
                err = exc.errors()[0]
                raise ScenarioError(f"{where}: '{key}' = {value!r}: "
                                    f"{err['msg'].removeprefix('Value error, ')}") from None
    for number, shock in enumerate(scenario.shock, 1):
        first = parse_quarter(shock.at)
        if not start <= first <= end:
            raise ScenarioError(f"{source}: shock #{number}: quarter {shock.at} is outside the "
                                f"run ({scenario.run.start} to {scenario.run.end})")


def _with_type_defaults(raw: dict) -> dict:
    """Fill each bank type and platform kind a file names with that type's own defaults.

    Their defaults differ by type (``BanksSection``), so a file that sets one key of
    ``[banks.rural]`` must not fall back to the generic ``BankType`` values for the rest.
    """
    defaults = None
    merged = dict(raw)
    for section in ("banks", "platforms"):
        given = raw.get(section)
        if not isinstance(given, dict):
            continue
        if defaults is None:
            defaults = Scenario().model_dump()
        merged[section] = {kind: ({**defaults[section][kind], **value}
                                  if isinstance(value, dict) and kind in defaults[section]
                                  else value)
                           for kind, value in given.items()}
    return merged


def scenario_from_dict(raw: dict, source: str = "scenario") -> Scenario:
    """Validate a merged scenario dictionary."""
    raw = _with_type_defaults(raw)
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as exc:
        raise ScenarioError(format_validation_error(exc, source)) from None
    _check_changes(scenario, source)
    return scenario


def load_scenario(path: str | Path, **overrides: Any) -> Scenario:
    """Load, merge and validate a scenario file.

    ``overrides`` set ``run`` keys (``agents``, ``seed``, ``threads`` ...) after loading,
    as the command line does.
    """
    path = Path(path)
    raw = read_with_extends(path)
    run = dict(raw.get("run", {}))
    run.update({k: v for k, v in overrides.items() if v is not None})
    if run:
        raw["run"] = run
    raw.setdefault("name", path.stem)
    return scenario_from_dict(raw, str(path))
