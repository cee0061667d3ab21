"""Experiment files: TOML validated like scenarios, resolved against the scenario schema.

An experiment names a base scenario, the parameters to vary by dotted scenario key
(``policy.central_bank.rrr``) with levels (grid) or a range (lhs, sobol, morris), the
number of replications, a root seed, the quarterly outputs to keep and ``[run]`` overrides.
Every problem surfaces as :class:`ExperimentError` naming the file, the key and what is
allowed, before anything runs.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sim.config import (
    ScenarioError, format_validation_error, load_scenario, read_toml, resolve_path,
    scenario_from_dict,
)
from sim.errors import SimError
from sim.quarters import parse_quarter
from sim.schema import Scenario

DESIGNS = ("grid", "lhs", "sobol", "morris")
PARAMETER_FIELDS = ("levels", "range", "at")
# Sections a parameter may not address: the sweep owns the seed and threads, and these
# are not parameters.
FIXED_SECTIONS = ("run", "name", "description", "extends", "change", "shock")
EXAMPLE_KEY = "policy.central_bank.lpr_1y_annual"


class ExperimentError(SimError):
    """An experiment file, store or option that cannot be used, with a message for the user."""


class _Strict(BaseModel):
    # as scenario files: no string→number or number→switch conversion, no nan or inf
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class ParameterSpec(_Strict):
    levels: list[bool | int | float] | None = Field(None, min_length=1)
    range: list[float] | None = Field(None, min_length=2, max_length=2)
    at: str | None = None


class DesignSpec(_Strict):
    method: Literal["grid", "lhs", "sobol", "morris"] = "grid"
    samples: int | None = Field(None, ge=1, le=10_000_000)
    levels: int = Field(4, ge=2, le=50)
    second_order: bool = False


class RunOverrides(_Strict):
    agents: int | None = None
    start: str | None = None
    end: str | None = None
    burn_in_quarters: int | None = None
    macro_feedback: bool | None = None


class ClusterSpec(_Strict):
    """``[cluster]``: Dask's TLS certificates for a ``tls://`` scheduler (PEM files,
    relative to the file; the command line's --tls-* options win)."""

    tls_ca_file: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None


class ExperimentSpec(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")  # the default folder name
    description: str = ""
    scenario: str
    replications: int = Field(1, ge=1, le=100_000)
    seed: int = Field(20240101, ge=0, le=2**63 - 1)
    outputs: list[str] | None = None
    run: RunOverrides = Field(default_factory=RunOverrides)
    design: DesignSpec = Field(default_factory=DesignSpec)
    parameters: dict[str, ParameterSpec] = Field(min_length=1)
    cluster: ClusterSpec = Field(default_factory=ClusterSpec)  # not part of the identity


@dataclass
class Experiment:
    """A validated experiment: the spec, its resolved base scenario and parameter types."""

    spec: ExperimentSpec
    source: Path
    scenario_path: Path
    base: dict[str, Any]          # the resolved base scenario, as JSON-able data
    kinds: dict[str, type]        # parameter key -> bool, int or float
    outputs: list[str]

    @property
    def keys(self) -> list[str]:
        return list(self.spec.parameters)

    @property
    def agents(self) -> int:
        return int(self.base["run"]["agents"])

    @property
    def quarters(self) -> tuple[int, int]:
        """(reported quarters, burn-in quarters) of every run."""
        run = self.base["run"]
        reported = parse_quarter(run["end"]) - parse_quarter(run["start"]) + 1
        return reported, int(run["burn_in_quarters"])


# ---------------------------------------------------------------- schema look-ups


def _annotation_type(annotation: Any) -> Any:
    """The non-None type of a field annotation (``float | None`` -> float)."""
    if get_origin(annotation) not in (Union, UnionType):
        return annotation
    return next(a for a in get_args(annotation) if a is not type(None))


def _all_scalar_keys(model: type[BaseModel] = Scenario, prefix: str = "") -> list[str]:
    keys: list[str] = []
    for name, field in model.model_fields.items():
        kind = _annotation_type(field.annotation)
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            keys += _all_scalar_keys(kind, f"{prefix}{name}.")
        elif prefix and kind in (bool, int, float):
            keys.append(prefix + name)
    return keys


def parameter_kind(key: str) -> type | None:
    """bool, int or float for a scalar scenario parameter; None if there is no such key."""
    model: type[BaseModel] = Scenario
    parts = key.split(".")
    for number, part in enumerate(parts):
        field = model.model_fields.get(part)
        if field is None:
            return None
        kind = _annotation_type(field.annotation)
        last = number == len(parts) - 1
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            if last:
                return None
            model = kind
        else:
            return kind if last and kind in (bool, int, float) else None
    return None


def _check_key(key: str, where: str) -> type:
    if key.split(".")[0] in FIXED_SECTIONS:
        raise ExperimentError(f"{where}: parameter '{key}' cannot be varied: set run keys "
                              "(agents, start, end, burn_in_quarters) in [run]; each run's "
                              "seed comes from the experiment's seed and the replicate")
    kind = parameter_kind(key)
    if kind is None:
        candidates = [k for k in _all_scalar_keys() if not k.startswith("run.")]
        hint = difflib.get_close_matches(key, candidates, n=1, cutoff=0.7)
        raise ExperimentError(
            f"{where}: unknown parameter '{key}'"
            + (f" (did you mean '{hint[0]}'?)" if hint else "")
            + f"; parameters are dotted scenario keys such as '{EXAMPLE_KEY}' "
            "(all of them are listed in docs/parameters.md)")
    return kind


# ---------------------------------------------------------------- reading


def _flatten_parameters(table: Any, where: str, prefix: str = "") -> dict[str, Any]:
    """``[parameters."a.b"]`` and nested ``[parameters.a.b]`` both give key ``a.b``."""
    if not isinstance(table, dict):
        raise ExperimentError(f"{where}: 'parameters' must be a table of dotted scenario keys, "
                              f"e.g. [parameters.\"{EXAMPLE_KEY}\"] with levels = [...]")
    flat: dict[str, Any] = {}
    for name, value in table.items():
        key = prefix + name
        is_leaf = parameter_kind(key) is not None or (
            isinstance(value, dict) and any(f in value for f in PARAMETER_FIELDS))
        if isinstance(value, list):
            flat[key] = {"levels": value}       # shorthand: key = [levels]
        elif isinstance(value, dict) and not is_leaf:
            flat.update(_flatten_parameters(value, where, key + "."))
        elif isinstance(value, dict):
            flat[key] = value
        else:
            raise ExperimentError(f"{where}: parameter '{key}' = {value!r} needs levels or a "
                                  "range, e.g. levels = [0.0345, 0.0320] or range = [0.02, 0.04]")
    return flat


def _check_design(spec: ExperimentSpec, kinds: dict[str, type], where: str) -> None:
    method = spec.design.method
    for key, param in spec.parameters.items():
        name = f"parameters.{key}"
        if param.levels is not None and param.range is not None:
            raise ExperimentError(f"{where}: '{name}' has both levels and range; give one")
        if method == "grid" and param.levels is None:
            raise ExperimentError(f"{where}: '{name}' needs levels = [...] for a grid design "
                                  f"(range is for lhs, sobol and morris)")
        if method != "grid":
            if param.range is None:
                raise ExperimentError(f"{where}: '{name}' needs range = [low, high] for a "
                                      f"{method} design (levels are for a grid)")
            if kinds[key] is bool:
                raise ExperimentError(f"{where}: '{name}' is a switch (true/false); it can "
                                      "only be varied in a grid design")
            low, high = param.range
            if not low < high:
                raise ExperimentError(f"{where}: '{name}' range = {param.range}: the low end "
                                      "must be below the high end")
        if param.levels is not None and len(set(map(repr, param.levels))) < len(param.levels):
            raise ExperimentError(f"{where}: '{name}' levels repeat a value: {param.levels}")
    if method == "grid" and spec.design.samples is not None:
        raise ExperimentError(f"{where}: 'design.samples' is for lhs, sobol and morris; a grid "
                              "runs every combination of levels")
    if method != "grid" and spec.design.samples is None:
        what = {"lhs": "points", "sobol": "base samples N (a power of 2)",
                "morris": "trajectories"}[method]
        raise ExperimentError(f"{where}: a {method} design needs 'design.samples' ({what})")
    if method == "sobol" and spec.design.samples & (spec.design.samples - 1):
        raise ExperimentError(f"{where}: 'design.samples' = {spec.design.samples}: a Sobol "
                              "design needs a power of 2 (its sequence is balanced only there)")
    if method in ("sobol", "morris") and len(spec.parameters) < 2:
        raise ExperimentError(f"{where}: a {method} design needs at least two parameters")
    too_small = design_size_problem(method, spec.design.samples)
    if too_small is not None:
        raise ExperimentError(f"{where}: 'design.samples' = {spec.design.samples}: {too_small}")


# The smallest sampled designs whose indices mean anything; ``sim analyze`` refuses a
# stored design below them with the same words.
MIN_SAMPLES = {"sobol": 2, "morris": 2}


def design_size_problem(method: str, samples: int | None) -> str | None:
    """Why ``samples`` (Sobol's base samples N, Morris' trajectories) is too few for a
    ``method`` design to give sensitivity indices, or None."""
    minimum = MIN_SAMPLES.get(method)
    if minimum is None or samples is None or samples >= minimum:
        return None
    if method == "sobol":
        return (f"a Sobol design needs at least {minimum} base samples N (a power of 2): "
                "the confidence intervals resample the N samples, and from one every "
                "resample is the same, an interval of 0 that means nothing")
    return (f"a Morris design needs at least {minimum} trajectories: sigma is the spread of "
            "a parameter's effects over the trajectories and the confidence interval of "
            "mu* resamples them, so one trajectory gives neither")


def _check_outputs(outputs: list[str] | None, where: str) -> list[str]:
    from sim.columns import QUARTERLY_COLUMNS

    allowed = [c for c in QUARTERLY_COLUMNS if c != "quarter"]
    if outputs is None:
        return allowed
    for name in outputs:
        if name not in allowed:
            hint = difflib.get_close_matches(name, allowed, n=1)
            raise ExperimentError(f"{where}: unknown output '{name}'"
                                  + (f" (did you mean '{hint[0]}'?)" if hint else "")
                                  + f"; outputs are quarterly columns: {', '.join(allowed)}")
    if len(set(outputs)) < len(outputs) or not outputs:
        raise ExperimentError(f"{where}: 'outputs' must list distinct quarterly columns")
    return list(outputs)


# ---------------------------------------------------------------- design points -> scenarios


def _set_path(raw: dict, key: str, value: Any) -> None:
    *parents, last = key.split(".")
    target = raw
    for part in parents:
        target = target.setdefault(part, {})
    target[last] = value


def apply_point(base: dict, values: dict[str, Any], at: dict[str, str | None]) -> dict:
    """The scenario data of one design point: starting values set, timed ones as changes."""
    raw = copy.deepcopy(base)
    for key, value in values.items():
        if at.get(key):
            raw.setdefault("change", []).append({"at": at[key], "set": {key: value}})
        else:
            _set_path(raw, key, value)
    return raw


def scenario_hash(scenario: Scenario) -> str:
    """Hash of everything that determines a run's results (threads and the engine do
    not: both engines give the same results, checked by tests/test_parity.py; nor does
    a ``[provenance]`` block)."""
    data = scenario.model_dump(mode="json", by_alias=True)
    data["run"]["threads"] = None
    data["run"].pop("engine", None)  # absent, so stores made before the key still match
    data.pop("provenance", None)     # where estimated values came from, not what they are
    text = json.dumps(data, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def coerce(kind: type, value: Any) -> Any:
    """A design value in the parameter's own type (integers are rounded)."""
    if kind is bool:
        return bool(value)
    if kind is int:
        return int(round(float(value)))
    return float(value)


def _check_values(experiment: Experiment, where: str) -> None:
    """Every level and both range ends, one parameter at a time, pass the scenario checks."""
    for key, param in experiment.spec.parameters.items():
        kind = experiment.kinds[key]
        given = param.levels if param.levels is not None else param.range
        if kind is bool and any(not isinstance(v, bool) for v in given):
            raise ExperimentError(f"{where}: '{key}' is a switch; its levels must be true or "
                                  f"false, got {given}")
        if kind is not bool and any(isinstance(v, bool) for v in given):
            raise ExperimentError(f"{where}: '{key}' is a number; got levels {given}")
        at = {key: param.at}
        for value in given:
            raw = apply_point(experiment.base, {key: coerce(kind, value)}, at)
            try:
                scenario_from_dict(raw, f"parameter '{key}' = {value!r}")
            except ScenarioError as exc:
                raise ExperimentError(f"{where}: {exc}") from None


def _check_timed(spec: ExperimentSpec, base: dict, where: str) -> None:
    start, end = parse_quarter(base["run"]["start"]), parse_quarter(base["run"]["end"])
    probe = Scenario.model_validate(base)
    for key, param in spec.parameters.items():
        if param.at is None:
            continue
        try:
            quarter = parse_quarter(param.at)
        except ValueError as exc:
            raise ExperimentError(f"{where}: 'parameters.{key}.at': {exc}") from None
        if not start <= quarter <= end:
            raise ExperimentError(f"{where}: 'parameters.{key}.at' = {param.at!r} is outside "
                                  f"the run ({base['run']['start']} to {base['run']['end']})")
        try:
            resolve_path(probe, key)
        except ScenarioError as exc:
            raise ExperimentError(f"{where}: 'parameters.{key}.at': {exc}") from None


def load_experiment(path: str | Path, **overrides: Any) -> Experiment:
    """Read, validate and resolve an experiment file.

    ``overrides`` replace ``[run]`` keys (``agents``, ``start``, ``end``,
    ``burn_in_quarters``) or top-level ones (``replications``, ``seed``) and
    ``design.samples`` (as ``samples``), as the command line does; None is ignored.
    """
    path = Path(path)
    where = str(path)
    raw = read_toml(path, "experiment", ExperimentError)
    if "parameters" in raw:
        raw["parameters"] = _flatten_parameters(raw["parameters"], where)
    for name, value in overrides.items():
        if value is None:
            continue
        if name in RunOverrides.model_fields:
            raw.setdefault("run", {})[name] = value
        elif name == "samples":
            raw.setdefault("design", {})["samples"] = value
        elif name in ("replications", "seed", "outputs"):
            raw[name] = value
        else:
            raise TypeError(f"unknown experiment override {name!r}")
    raw.setdefault("name", path.stem)
    try:
        spec = ExperimentSpec.model_validate(raw)
    except ValidationError as exc:
        raise ExperimentError(format_validation_error(exc, where, ExperimentSpec,
                                                      "experiment")) from None
    kinds = {key: _check_key(key, where) for key in spec.parameters}
    _check_design(spec, kinds, where)
    outputs = _check_outputs(spec.outputs, where)
    scenario_path = (path.parent / spec.scenario).resolve()
    run = spec.run.model_dump(exclude_none=True)
    try:
        scenario = load_scenario(scenario_path, **run)
    except ScenarioError as exc:
        raise ExperimentError(f"{where}: base scenario: {exc}") from None
    base = scenario.model_dump(mode="json", by_alias=True)
    base["run"]["threads"] = None
    base.pop("extends", None)       # already merged in
    _check_timed(spec, base, where)
    experiment = Experiment(spec=spec, source=path, scenario_path=scenario_path, base=base,
                            kinds=kinds, outputs=outputs)
    _check_values(experiment, where)
    return experiment
