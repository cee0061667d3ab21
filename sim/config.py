"""Loading scenario files: TOML, ``extends``, overrides and validation messages.

Every problem a user can make in a scenario surfaces as :class:`ScenarioError` with a
message that names the file, the key, the value and what is allowed.
"""

from __future__ import annotations

import copy
import difflib
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

from sim.quarters import parse_quarter, quarter_label
from sim.schema import Scenario

__all__ = ["ScenarioError", "load_scenario", "scenario_from_dict", "read_toml",
           "read_with_extends", "check_shapes", "format_validation_error", "resolve_path",
           "describe_change", "find_scenario", "find_example", "shipped_scenarios_dir",
           "shipped_examples_dir"]


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
    data = path.read_bytes()
    for mark, name in _BYTE_ORDER_MARKS:
        if data.startswith(mark):
            raise error(f"{path}: the file is {name} (it starts with a byte-order mark); "
                        "TOML files are UTF-8 without one: save it again as UTF-8")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not a UTF-8 text file (byte 0x{data[exc.start]:02x} at "
                    f"position {exc.start} is not UTF-8; a file saved as GBK or Latin-1?); "
                    "save it again as UTF-8") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path}: not valid TOML ({exc})") from None
    if not raw:
        raise error(f"{path}: the file is empty (no keys or tables); a {what} file sets "
                    "at least one key" + (", e.g. extends = \"baseline.toml\""
                                          if what == "scenario" else ""))
    return raw


_BYTE_ORDER_MARKS = ((b"\xef\xbb\xbf", "UTF-8 with a BOM"), (b"\xff\xfe", "UTF-16"),
                     (b"\xfe\xff", "UTF-16"))


def check_shapes(raw: dict, path: Path) -> None:
    """A known table written as an array of tables (``[[run]]``), or a list written as a
    table (``[change]``), is refused before merging, where it would change meaning."""
    for key, field in Scenario.model_fields.items():
        if key not in raw:
            continue
        value = raw[key]
        if key in ("change", "shock"):
            if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
                raise ScenarioError(f"{path}: '{key}' must be an array of tables, each "
                                    f"written [[{key}]], not {_toml_kind(value)}")
        elif any(isinstance(kind, type) and issubclass(kind, BaseModel)
                 for kind in (field.annotation, *get_args(field.annotation))):
            if not isinstance(value, dict):
                raise ScenarioError(f"{path}: '{key}' must be a table, written [{key}], "
                                    f"not {_toml_kind(value)}")
        elif isinstance(value, (dict, list)):
            raise ScenarioError(f"{path}: '{key}' must be a single value, not "
                                f"{_toml_kind(value)}")


def _toml_kind(value: Any) -> str:
    if isinstance(value, list):
        return ("an array of tables ([[...]])" if value and isinstance(value[0], dict)
                else "an array")
    if isinstance(value, dict):
        return "a table ([...])"
    return f"the {type(value).__name__} {value!r}"


def read_with_extends(path: Path, _chain: tuple[Path, ...] = ()) -> dict:
    """Read a scenario file and every file it extends, merged (child wins)."""
    path = path.resolve()
    if path in _chain:
        cycle = " -> ".join(p.name for p in (*_chain, path))
        raise ScenarioError(f"'extends' forms a cycle: {cycle}")
    raw = read_toml(path)
    check_shapes(raw, path)
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
    if "change" in base and "change" in raw:
        base["change"] = _not_overridden(base["change"], raw["change"])
    return _deep_merge(base, raw)


def _set_keys(entry: Any) -> tuple[str | None, set[str]]:
    """The quarter and the keys (without a leading ``policy.``) a raw ``set`` entry sets."""
    if not isinstance(entry, dict) or not isinstance(entry.get("set"), dict):
        return None, set()
    return entry.get("at"), {key.removeprefix("policy.") for key in entry["set"]}


def _not_overridden(parent: list, child: list) -> list:
    """The parent's ``[[change]]`` entries without the keys a child file sets at the same
    quarter: as with tables, the file that extends another wins (a counterfactual that
    switches off one of its parent's dated changes). Two entries of one file that set a key
    in the same quarter are still refused (:func:`_check_conflicts`)."""
    overridden: dict[str, set[str]] = {}
    for entry in child:
        quarter, keys = _set_keys(entry)
        if quarter is not None:
            overridden.setdefault(quarter, set()).update(keys)
    kept = []
    for entry in parent:
        quarter, keys = _set_keys(entry)
        drop = keys & overridden.get(quarter, set())
        if not drop:
            kept.append(entry)
            continue
        remaining = {k: v for k, v in entry["set"].items()
                     if k.removeprefix("policy.") not in drop}
        if remaining:
            kept.append({**entry, "set": remaining})
    return kept


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


def describe_change(number: int, change) -> str:
    """``change #3 (set central_bank.rrr at 2024Q3)``: an entry as a message names it."""
    keys = ", ".join(change.set or change.ramp or {}) or "nothing"
    if change.set is not None:
        return f"change #{number} (set {keys} at {change.at})"
    return f"change #{number} (ramp {keys} from {change.start} to {change.to})"


def _check_changes(scenario: Scenario, source: str) -> None:
    """Every change within the run, its keys known and its values valid; no two
    entries setting one parameter in the same quarter (two ``set`` at one quarter, a
    ``set`` inside a ramp's window, overlapping ramps), keys compared after resolving
    (``central_bank.rrr`` and ``policy.central_bank.rrr`` are one parameter)."""
    start, end = parse_quarter(scenario.run.start), parse_quarter(scenario.run.end)
    probe = scenario.model_copy(deep=True)
    # (id of the section, field) -> the entries setting it: (number, change, window)
    seen: dict[tuple[int, str], list[tuple[int, Any, tuple[int, int]]]] = {}
    for number, change in enumerate(scenario.change, 1):
        where = f"{source}: {describe_change(number, change)}"
        quarters = [change.at] if change.set is not None else [change.start, change.to]
        window = (parse_quarter(quarters[0]), parse_quarter(quarters[-1]))
        for label, q in zip(quarters, (window[0], window[-1])):
            if not start <= q <= end:
                raise ScenarioError(f"{where}: quarter {label} is outside the run "
                                    f"({scenario.run.start} to {scenario.run.end})")
        for key, value in (change.set or change.ramp or {}).items():
            try:
                target, name = resolve_path(probe, key)
            except ScenarioError as exc:
                raise ScenarioError(f"{where}: {exc}") from None
            for other_number, other, (first, last) in seen.get((id(target), name), []):
                if window[0] <= last and first <= window[1]:
                    raise ScenarioError(
                        f"{source}: {describe_change(other_number, other)} and "
                        f"{describe_change(number, change)} both set '{key}' in "
                        f"{quarter_label(max(first, window[0]))}; a parameter takes one "
                        "value a quarter: remove one, or move it outside the other's "
                        "quarters")
            seen.setdefault((id(target), name), []).append((number, change, window))
            current = getattr(target, name)
            if change.ramp is not None and (
                    isinstance(current, bool) or not isinstance(current, (int, float))):
                raise ScenarioError(f"{where}: '{key}' is a "
                                    f"{type(current).__name__}, which cannot be ramped; "
                                    "use 'set' at a quarter")
            if change.ramp is not None and (
                    isinstance(value, bool) or not isinstance(value, (int, float))):
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


def load_scenario(path: str | Path, overrides: Mapping[str, Any] | None = None,
                  **more: Any) -> Scenario:
    """Load, merge and validate a scenario file (or a shipped scenario by name).

    ``overrides`` (a mapping, for dotted keys) and keyword arguments set parameters after
    loading, validated as the file is: ``run`` keys by name (``agents=100_000``, as the
    command line does), any parameter by a unique name (``rrr=0.06``) or by its dotted path
    (``{"central_bank.rrr": 0.06}``, ``{"policy.banking.two_increases": False}``). None
    means not given.
    """
    from sim.overrides import apply_overrides

    path = find_scenario(path)  # a file, or the name of a shipped scenario
    raw = read_with_extends(path)
    raw = apply_overrides(raw, {**(overrides or {}), **more})
    raw.setdefault("name", path.stem)
    return scenario_from_dict(raw, str(path))


def shipped_scenarios_dir() -> Path:
    """The scenarios installed with the package (``sim/scenarios``)."""
    return Path(__file__).resolve().parent / "scenarios"


def shipped_examples_dir() -> Path:
    """The experiment and calibration examples installed with the package."""
    return Path(__file__).resolve().parent / "examples"


def _find_shipped(name_or_path: str | Path, folder: Path, what: str) -> Path:
    path = Path(name_or_path)
    if path.exists() or len(path.parts) > 1:
        return path  # a path (a missing one is named by the loader)
    candidate = folder / (path.name if path.suffix == ".toml" else f"{path.name}.toml")
    if candidate.exists():
        return candidate
    if path.suffix == ".toml":
        return path
    names = sorted(p.stem for p in folder.glob("*.toml"))
    hint = difflib.get_close_matches(path.name, names, n=1)
    raise ScenarioError(f"no {what} file '{name_or_path}' here and no shipped {what} of "
                        "that name" + (f" (did you mean '{hint[0]}'?)" if hint else "")
                        + f"; shipped: {', '.join(names)}")


def find_scenario(name_or_path: str | Path) -> Path:
    """A scenario file: ``name_or_path`` itself when it exists (or is a path), else the
    shipped scenario of that name (``baseline``, ``rate_cut.toml``), so ``sim run
    baseline`` works from any folder."""
    return _find_shipped(name_or_path, shipped_scenarios_dir(), "scenario")


def find_example(name_or_path: str | Path) -> Path:
    """An experiment or calibration file, found as :func:`find_scenario` finds scenarios
    (``sim sweep rate_rrr_grid``, ``sim calibrate calibrate_online``)."""
    return _find_shipped(name_or_path, shipped_examples_dir(), "experiment or calibration")
