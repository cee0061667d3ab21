"""Scenario files drawn from the schema itself, for property-based tests.

Every scalar parameter of :class:`sim.schema.Scenario` is read from its pydantic field
(type, ``ge``/``le``/``gt``/``lt`` bounds, default, whether it is a share of a
:class:`~sim.schema.Mix`), so a parameter added to the schema is drawn without touching
this module. A drawn scenario sets a few parameters (at a bound, next to one, a typical or
a large value, now and then one outside its bounds), a few ``[[change]]`` and ``[[shock]]``
entries, and a small fixed ``[run]``. :func:`run_drawn` writes it as a TOML file, runs it
through ``sim run --check`` in this process and sorts the outcome: a finished run with
finite tables, a refusal naming a key, or anything else (a failure).

Used by tests/test_property_scenarios.py (a short profile) and
benchmarks/property_scenarios.py (a long one).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import sys
import time
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import strategies as st
from pydantic import BaseModel

from sim.categories import REGIONS, SECTORS
from sim.quarters import parse_quarter, quarter_label
from sim.schema import Mix, Scenario

# sections a scenario file may set; ``run`` is fixed small by :func:`scenarios`
SECTIONS = ("population", "macro", "firms", "credit", "banks", "platforms", "channels",
            "policy")
# sections a ``[[change]]`` may address during a run (sim.config.resolve_path)
CHANGEABLE = ("macro", "firms", "credit", "banks", "platforms", "channels", "policy")
RUN_STARTS = ("2024Q1",)
RUN_QUARTERS = (4, 6)   # quarters reported (2024Q4 or 2025Q2 from 2024Q1)
LARGE = (1e6, 1e12, 1e300, sys.float_info.max)


# ---------------------------------------------------------------- the schema's parameters
@dataclass(frozen=True)
class Parameter:
    """One scalar parameter as the schema declares it."""

    path: str                   # dotted from the scenario root: "firms.margin.micro"
    kind: str                   # "float", "int", "bool" or "literal"
    default: Any
    lower: float | None = None
    lower_open: bool = False    # gt rather than ge
    upper: float | None = None
    upper_open: bool = False    # lt rather than le
    optional: bool = False      # None allowed (written by leaving the key out)
    choices: tuple = ()         # a Literal's values
    mix: str | None = None      # the Mix table the parameter is a share of

    @property
    def section(self) -> str:
        return self.path.split(".", 1)[0]

    def contains(self, value: Any) -> bool:
        """Whether ``value`` is within the declared type and bounds."""
        if self.kind == "bool":
            return isinstance(value, bool)
        if self.kind == "literal":
            return value in self.choices
        if isinstance(value, bool) or not isinstance(value, int if self.kind == "int"
                                                     else (int, float)):
            return False
        if isinstance(value, float) and not math.isfinite(value):
            return False
        if self.lower is not None and (value <= self.lower if self.lower_open
                                       else value < self.lower):
            return False
        if self.upper is not None and (value >= self.upper if self.upper_open
                                       else value > self.upper):
            return False
        return True


def _bounds(metadata: list) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for item in metadata:
        for name in ("ge", "gt", "le", "lt"):
            value = getattr(item, name, None)
            if value is not None:
                found[name] = value
    return found


def _leaf(path: str, annotation: Any, metadata: list, default: Any,
          mix: str | None) -> Parameter | None:
    args = typing.get_args(annotation)
    optional = (typing.get_origin(annotation) in (typing.Union, types.UnionType)
                and type(None) in args)
    if optional:
        annotation = next(a for a in args if a is not type(None))
    if typing.get_origin(annotation) is typing.Literal:
        return Parameter(path, "literal", default, choices=typing.get_args(annotation))
    if annotation is bool:
        return Parameter(path, "bool", default)
    if annotation not in (int, float):
        return None  # text (names, quarters): not a numeric parameter
    b = _bounds(metadata)
    lower = b.get("ge", b.get("gt"))
    upper = b.get("le", b.get("lt"))
    return Parameter(path, annotation.__name__, default, lower=lower, lower_open="gt" in b,
                     upper=upper, upper_open="lt" in b, optional=optional, mix=mix)


def schema_parameters(sections: tuple[str, ...] = SECTIONS) -> tuple[Parameter, ...]:
    """Every scalar parameter of ``sections``, read from the schema's fields; defaults
    from a default scenario (a lender type's own defaults, not the generic ones)."""
    found: list[Parameter] = []

    def walk(instance: BaseModel, prefix: str) -> None:
        model = type(instance)
        mix = prefix[:-1] if issubclass(model, Mix) else None
        for name, info in model.model_fields.items():
            value = getattr(instance, name)
            if isinstance(value, BaseModel):
                walk(value, f"{prefix}{name}.")
                continue
            leaf = _leaf(prefix + name, info.annotation, info.metadata, value, mix)
            if leaf is not None:
                found.append(leaf)

    default = Scenario()
    for section in sections:
        walk(getattr(default, section), section + ".")
    return tuple(found)


PARAMETERS = schema_parameters()
BY_PATH = {p.path: p for p in PARAMETERS}
MIXES: dict[str, tuple[Parameter, ...]] = {}
for _p in PARAMETERS:
    if _p.mix is not None:
        MIXES[_p.mix] = MIXES.get(_p.mix, ()) + (_p,)
CHANGE_PARAMETERS = tuple(p for p in PARAMETERS if p.section in CHANGEABLE)
# the instruments scenarios change most: rates, reserves, bank rules, data
POLICY_FOCUS = tuple(p for p in CHANGE_PARAMETERS
                     if p.path.startswith(("policy.central_bank.", "policy.banking.",
                                           "policy.data.")))


# ---------------------------------------------------------------- values
def _near(value: float, toward: float) -> list[float]:
    """``value`` and the floats just beside it toward ``toward``."""
    step = math.nextafter(value, toward)
    small = value + (1e-9 if toward > value else -1e-9) * max(1.0, abs(value))
    return [value, step, small]


def in_range(p: Parameter) -> st.SearchStrategy:
    """A value the schema accepts: at a bound, next to one, typical, or large."""
    if p.kind == "bool":
        return st.booleans()
    if p.kind == "literal":
        return st.sampled_from(p.choices)
    if p.kind == "int":
        lo = -10**6 if p.lower is None else int(p.lower) + (1 if p.lower_open else 0)
        hi = 10**6 if p.upper is None else int(p.upper) - (1 if p.upper_open else 0)
        edges = sorted({lo, min(lo + 1, hi), max(hi - 1, lo), hi}
                       | ({p.default} if p.default is not None else set()))
        return st.sampled_from(edges) | st.integers(lo, hi)
    lo = p.lower if p.lower is not None else 0.0
    edges: list[float] = []
    if p.lower is not None:
        edges += _near(p.lower, math.inf)[1 if p.lower_open else 0:]
    if p.upper is not None:
        edges += _near(p.upper, -math.inf)[1 if p.upper_open else 0:]
    else:
        edges += [v for v in LARGE if v > lo]
    if p.default is not None:
        edges.append(float(p.default))
    hi = p.upper if p.upper is not None else 1e12
    values = st.floats(lo, hi, allow_nan=False, allow_infinity=False,
                       exclude_min=p.lower_open, exclude_max=p.upper_open)
    return st.sampled_from([v for v in dict.fromkeys(edges) if p.contains(v)]) | values


def out_of_range(p: Parameter) -> st.SearchStrategy:
    """A value the schema must refuse: past a bound, not finite, or of another type
    (the schema is strict: no text for numbers, no numbers for switches)."""
    if p.kind == "bool":
        return st.sampled_from([1, 0, "yes", "true"])
    if p.kind == "literal":
        return st.sampled_from(["", "fast", 1])
    bad: list[Any] = [str(p.default), True]
    if p.lower is not None:
        bad.append(p.lower if p.lower_open else
                   (p.lower - 1 if p.kind == "int" else math.nextafter(p.lower, -math.inf)))
        bad.append(p.lower - 1e6 if p.kind == "float" else int(p.lower) - 1000)
    if p.upper is not None:
        bad.append(p.upper if p.upper_open else
                   (p.upper + 1 if p.kind == "int" else math.nextafter(p.upper, math.inf)))
        bad.append(p.upper + 1e6 if p.kind == "float" else int(p.upper) + 1000)
    if p.kind == "float":
        bad += [math.inf, -math.inf, math.nan, -1e300]
    else:
        bad += [float(p.lower if p.lower is not None else 0) + 0.5]
    return st.sampled_from([v for v in bad if not p.contains(v)])


@st.composite
def shares(draw: st.DrawFn, members: tuple[Parameter, ...]) -> list[float]:
    """Shares that sum to one (within the schema's 1e-6): all on one member, a tiny
    share beside the rest, or integer weights divided by their total."""
    n = len(members)
    how = draw(st.sampled_from(("one", "tiny", "weights")))
    if how == "one":
        values = [0.0] * n
        values[draw(st.integers(0, n - 1))] = 1.0
        return values
    if how == "tiny":
        tiny = draw(st.sampled_from([math.nextafter(0.0, 1.0), 1e-300, 1e-9]))
        values = [0.0] * n
        i, j = draw(st.permutations(range(n)))[:2]
        values[i], values[j] = tiny, 1.0 - tiny
        return values
    weights = draw(st.lists(st.integers(0, 1000), min_size=n, max_size=n)
                   .filter(lambda w: sum(w) > 0))
    total = sum(weights)
    values = [w / total for w in weights]
    values[-1] = max(0.0, 1.0 - sum(values[:-1]))
    return values


# ---------------------------------------------------------------- a drawn scenario
@dataclass
class Drawn:
    """A drawn scenario file and what was drawn into it."""

    data: dict[str, Any]
    keys: list[str] = field(default_factory=list)      # dotted paths set (or changed)
    invalid: list[str] = field(default_factory=list)   # keys given a value out of range
    windows: list[tuple[str, int, int]] = field(default_factory=list)  # changes' quarters

    def names(self) -> set[str]:
        """What a refusal may name: a key set, its table, a change or a shock."""
        names = set()
        for key in self.keys:
            names.add(key)
            names.add(key.rsplit(".", 1)[0])
            names.add(key.removeprefix("policy."))
        names.update({"change #", "shock #", "'shock.", "'change."})
        # a whole section's table is too broad a name: only tables below a section
        return {name for name in names if "." in name or name.endswith("#")}


def _put(data: dict, path: str, value: Any) -> None:
    *tables, name = path.split(".")
    for table in tables:
        data = data.setdefault(table, {})
    data[name] = value


def _quarters(span: tuple[str, str]) -> list[str]:
    """The quarters of a run from ``span[0]`` to ``span[1]``."""
    first, last = map(parse_quarter, span)
    return [quarter_label(q) for q in range(first, last + 1)]


def _outside(span: tuple[str, str]) -> list[str]:
    """The quarters just before and just after the run."""
    first, last = map(parse_quarter, span)
    return [quarter_label(first - 1), quarter_label(last + 1)]


def _change_key(draw: st.DrawFn, p: Parameter) -> str:
    # policy keys are written without their prefix in most scenario files
    if p.section == "policy" and draw(st.integers(0, 4)) > 0:
        return p.path.removeprefix("policy.")
    return p.path


NUMERIC_CHANGES = tuple(p for p in CHANGE_PARAMETERS if p.kind in ("int", "float"))


@st.composite
def change(draw: st.DrawFn, span: tuple[str, str], drawn: Drawn) -> dict:
    """A ``[[change]]`` entry: ``set`` of 1-3 keys at a quarter of the run, or ``ramp``
    of 1-2 numeric keys between two (the same quarter included)."""
    quarters = _quarters(span)
    pool = st.sampled_from(POLICY_FOCUS) | st.sampled_from(CHANGE_PARAMETERS)
    if draw(st.booleans()):
        params = draw(st.lists(pool, min_size=1, max_size=3, unique_by=lambda p: p.path))
        entry = {"at": draw(st.sampled_from(quarters)), "set": {}}
        part = "set"
    else:
        numeric = st.sampled_from(NUMERIC_CHANGES)
        params = draw(st.lists(numeric, min_size=1, max_size=2, unique_by=lambda p: p.path))
        first, last = sorted(draw(st.lists(st.sampled_from(quarters), min_size=2,
                                           max_size=2)), key=parse_quarter)
        entry = {"from": first, "to": last, "ramp": {}}
        part = "ramp"
    window = (parse_quarter(entry.get("at", entry.get("from"))),
              parse_quarter(entry.get("at", entry.get("to"))))
    for p in params:
        # one value a quarter: a key already changed within this window is left out
        # (sim.config refuses such conflicts, tested elsewhere)
        if any(path == p.path and first <= window[1] and window[0] <= last
               for path, first, last in drawn.windows):
            continue
        entry[part][_change_key(draw, p)] = draw(in_range(p))
        drawn.keys.append(p.path)
        drawn.windows.append((p.path, *window))
    return entry if entry[part] else None


@st.composite
def shock(draw: st.DrawFn, span: tuple[str, str]) -> dict:
    """A ``[[shock]]`` entry: revenue −99% to +500%, on some sectors and regions or all,
    for 1-80 quarters."""
    revenue = draw(st.sampled_from([-0.99, math.nextafter(-0.99, 0.0), -0.5, 0.0, 1.0,
                                    math.nextafter(5.0, 0.0), 5.0]) | st.floats(-0.99, 5.0))
    entry: dict[str, Any] = {"at": draw(st.sampled_from(_quarters(span))), "revenue": revenue}
    if draw(st.booleans()):
        entry["quarters"] = draw(st.sampled_from([1, 2, 79, 80]) | st.integers(1, 80))
    if draw(st.booleans()):
        entry["sectors"] = draw(st.lists(st.sampled_from(SECTORS), min_size=1, unique=True))
    if draw(st.booleans()):
        entry["regions"] = draw(st.lists(st.sampled_from(REGIONS), min_size=1, unique=True))
    return entry


@st.composite
def _spoil(draw: st.DrawFn, drawn: Drawn, span: tuple[str, str]) -> None:
    """Make ``drawn`` invalid in one place: a parameter out of range, one share of a mix
    changed alone, or a change or shock out of range or outside the run."""
    data = drawn.data
    start, end = span
    how = draw(st.sampled_from(("value", "value", "value", "mix", "change", "shock")))
    if how == "value":
        p = draw(st.sampled_from(PARAMETERS))
        _put(data, p.path, draw(out_of_range(p)))
        drawn.keys.append(p.path)
        drawn.invalid.append(p.path)
    elif how == "mix":
        mix = draw(st.sampled_from(sorted(MIXES)))
        p = draw(st.sampled_from(MIXES[mix]))
        # every other share at its default: the sum is off by the change
        share = draw(st.sampled_from([0.0, 1.0]).filter(lambda v: abs(v - p.default) > 1e-3))
        for member in MIXES[mix]:
            _put(data, member.path, share if member is p else member.default)
        drawn.keys.append(p.path)
        drawn.invalid.append(p.path)
    elif how == "change":
        p = draw(st.sampled_from(NUMERIC_CHANGES))
        key = _change_key(draw, p)
        outside = _outside(span)
        entry = draw(st.sampled_from([
            {"at": draw(st.sampled_from(_quarters(span))), "set": {key: "bad"}},
            {"at": draw(st.sampled_from(outside)), "set": {key: p.default}},
            {"from": outside[0], "to": end, "ramp": {key: p.default}},
            {"from": end, "to": start, "ramp": {key: p.default}},
            {"from": start, "to": end, "ramp": {key: draw(out_of_range(p))}}]))
        data.setdefault("change", []).append(entry)
        drawn.keys.append(p.path)
        drawn.invalid.append(p.path)
    else:
        entry = draw(shock(span))
        where, bad = draw(st.sampled_from([("revenue", -1.0), ("revenue", 5.5),
                                           ("revenue", math.inf), ("quarters", 0),
                                           ("quarters", 81), ("sectors", ["mining"]),
                                           ("regions", ["north"]),
                                           ("at", _outside(span)[1])]))
        entry[where] = bad
        data.setdefault("shock", []).append(entry)
        drawn.keys.append("shock")
        drawn.invalid.append("shock")


@st.composite
def scenarios(draw: st.DrawFn, agents: tuple[int, int] = (1000, 2000), max_keys: int = 8,
              spoil_one_in: int = 5, starts: tuple[str, ...] = RUN_STARTS,
              quarters: tuple[int, ...] = RUN_QUARTERS) -> Drawn:
    """A scenario file: a small fixed run, 1-``max_keys`` parameters drawn from the
    schema (a share of a mix draws the whole mix, summing to one), 0-3 ``[[change]]``
    and 0-2 ``[[shock]]`` entries. One file in ``spoil_one_in`` (0: none) is then made
    invalid in one place (:func:`_spoil`), so that refusals are exercised too. The run
    starts at one of ``starts`` and reports one of ``quarters`` quarters."""
    start = draw(st.sampled_from(starts))
    end = quarter_label(parse_quarter(start) + draw(st.sampled_from(quarters)) - 1)
    span = (start, end)
    data: dict[str, Any] = {
        "name": "drawn",
        "run": {"start": start, "end": end, "engine": "numba", "threads": 1,
                "agents": draw(st.sampled_from(agents) | st.integers(*agents)),
                "burn_in_quarters": draw(st.integers(0, 2)),
                "seed": draw(st.integers(0, 2**31)),
                "macro_feedback": draw(st.booleans())},
    }
    drawn = Drawn(data)
    chosen = draw(st.lists(st.sampled_from(PARAMETERS), min_size=1, max_size=max_keys,
                           unique_by=lambda p: p.mix or p.path))
    for p in chosen:
        if p.mix is not None:
            members = MIXES[p.mix]
            for member, value in zip(members, draw(shares(members))):
                _put(data, member.path, value)
                drawn.keys.append(member.path)
        elif not (p.optional and draw(st.integers(0, 4)) == 0):  # else None: left out
            _put(data, p.path, draw(in_range(p)))
            drawn.keys.append(p.path)
    changes = []
    for _ in range(draw(st.integers(0, 3))):
        entry = draw(change(span, drawn))
        if entry is not None:
            changes.append(entry)
    shocks = draw(st.lists(shock(span), max_size=2))
    if changes:
        data["change"] = changes
    if shocks:
        data["shock"] = shocks
        drawn.keys.append("shock")
    # Hypothesis favours small numbers and the first of a list (and shrinks toward
    # them); the spoiled case last comes out at about the share asked for
    if spoil_one_in and draw(st.sampled_from([False] * (spoil_one_in - 1) + [True])):
        draw(_spoil(drawn, span))
    return drawn


# ---------------------------------------------------------------- TOML
def _toml_key(key: str) -> str:
    bare = key.replace("_", "").replace("-", "").isalnum() and key.isascii()
    return key if bare else json.dumps(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        text = repr(value)
        return text if any(c in text for c in ".en") else text + ".0"
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string (\uXXXX escapes are TOML too)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}"
                                for k, v in value.items()) + " }"
    raise TypeError(f"no TOML for {value!r}")


def to_toml(data: dict[str, Any]) -> str:
    """TOML text for the value types a drawn scenario holds: tables, arrays of tables
    (``change``, ``shock``, whose ``set``/``ramp`` are inline tables), lists of text,
    text, switches, integers and floats (``inf`` and ``nan`` included)."""
    lines: list[str] = []

    def table(values: dict, path: str) -> None:
        scalars = {k: v for k, v in values.items() if not isinstance(v, dict)
                   and not (isinstance(v, list) and v and isinstance(v[0], dict))}
        if path and scalars:
            lines.append(f"\n[{path}]")
        for key, value in scalars.items():
            lines.append(f"{_toml_key(key)} = {_toml_value(value)}")
        for key, value in values.items():
            if isinstance(value, dict):
                table(value, f"{path}.{_toml_key(key)}" if path else _toml_key(key))
        for key, value in values.items():
            if isinstance(value, list) and value and isinstance(value[0], dict):
                for entry in value:
                    lines.append(f"\n[[{_toml_key(key)}]]")
                    lines.extend(f"{_toml_key(k)} = {_toml_value(v)}"
                                 for k, v in entry.items())

    table(data, "")
    return "\n".join(lines).lstrip("\n") + "\n"


# ---------------------------------------------------------------- running one
@dataclass
class Outcome:
    """What ``sim run`` made of a drawn scenario."""

    kind: str          # "ran", "refused" or "failure"
    exit_code: int | None
    message: str
    seconds: float


def _table_problems(folder: Path) -> list[str]:
    """Numeric columns of the run folder's tables that hold a value that is not finite."""
    import numpy as np

    from sim.results import load_run

    result = load_run(folder)
    problems = []
    for name in ("quarterly", "lenders", "groups", "panel"):
        frame = getattr(result, name, None)
        if frame is None:
            continue
        if name == "panel" and "alive" in frame:
            frame = frame[frame["alive"].astype(bool)]  # a closed firm's rows are missing
        numeric = frame.select_dtypes(include=[np.number, "bool"])
        values = numeric.to_numpy(dtype=np.float64)
        bad = ~np.isfinite(values)
        if bad.any():
            columns = sorted({numeric.columns[j] for j in np.nonzero(bad)[1]})
            rows = frame.loc[bad.any(axis=1)]
            where = ""
            if name == "groups":
                where = " (" + ", ".join(sorted(set(rows["metric"].astype(str)))[:5]) + ")"
            problems.append(f"{name}: {int(bad.sum())} values not finite in "
                            f"{', '.join(map(str, columns[:8]))}{where}")
    if not result.meta.get("stock_flow_checked"):
        problems.append("run.json: the stock-flow check did not run")
    if result.quarterly.empty:
        problems.append("quarterly: no quarter reported")
    return problems


def run_drawn(drawn: Drawn, folder: Path) -> Outcome:
    """Write ``drawn`` to ``folder``/scenario.toml and run ``sim run --quiet --check``
    in this process. Exceptions other than those ``sim`` reports to the user propagate
    (a crash); a finished run is read back and its tables checked."""
    from sim.cli import main

    path = folder / "scenario.toml"
    path.write_text(to_toml(drawn.data), encoding="utf-8")
    out = folder / "run"
    err = io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(["run", str(path), "--quiet", "--check", "--out", str(out)])
    seconds = time.perf_counter() - started
    message = err.getvalue()
    if code == 0:
        problems = _table_problems(out)
        if drawn.invalid:
            problems.append(f"ran, but {drawn.invalid} were given values the schema "
                            "should refuse")
        if problems:
            return Outcome("failure", code, "; ".join(problems), seconds)
        return Outcome("ran", code, message, seconds)
    if code == 2:
        # numpy's warnings may come first on stderr: the refusal is the "error:" line
        errors = [line for line in message.splitlines() if line.startswith("error: ")]
        first = errors[0] if errors else message.strip()
        # a refusal names a key drawn (the schema's also the file); a failed stock-flow
        # check is exit 2 too, but a broken ledger, not a refusal
        named = any(name in message for name in drawn.names())
        if named and not first.startswith("error: stock-flow check failed"):
            return Outcome("refused", code, message, seconds)
        return Outcome("failure", code, f"exit 2 without naming a key drawn: {first} "
                       f"(keys: {sorted(set(drawn.keys))})", seconds)
    return Outcome("failure", code, f"exit {code}: {message.strip()}", seconds)
