"""What the page sends, turned into two scenarios: the picked one as shipped (the
baseline) and the same with the levers moved and a shock added.

Everything goes through :func:`sim.config.scenario_from_dict`, as a scenario file does:
a bad value is refused with a message naming the key, never run. The page chooses
values only; which file is read (a shipped name) and which keys are set (the levers)
are decided here.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any

from sim.config import read_with_extends, scenario_from_dict
from sim.dashboard.catalogue import DEFAULT_SCENARIO, DashboardInputError, scenario_file
from sim.dashboard.levers import LEVERS, lever
from sim.quarters import parse_quarter, quarter_label
from sim.schema import Scenario

AGENTS_MIN, AGENTS_MAX, AGENTS_STEP = 20_000, 200_000, 10_000
SHOCK_MIN_PCT, SHOCK_MAX_PCT = -60.0, 30.0
SHOCK_QUARTERS_MAX = 8


@dataclass(frozen=True)
class Form:
    """The page's inputs. Lever values are in the sliders' units (``levers.Lever``);
    ``lever_at`` and ``shock_at`` are quarter labels; a shock of 0 % is no shock."""

    scenario: str = DEFAULT_SCENARIO
    agents: int = AGENTS_MIN
    seed: int = 20240101
    last_year: int = 2030
    levers: dict[str, Any] = field(default_factory=dict)
    lever_at: str = "2024Q1"
    shock_pct: float = 0.0
    shock_at: str = "2024Q1"
    shock_quarters: int = 2


@dataclass(frozen=True)
class Plan:
    """Two validated scenarios to run side by side, and what differs between them."""

    baseline: Scenario
    lever: Scenario
    moves: dict[str, Any]
    shock: dict[str, Any] | None
    # moved keys the scenario itself sets again later (its own dated changes win then)
    reset_later: tuple[str, ...] = ()

    @property
    def same(self) -> bool:
        """True if nothing was moved: one run serves as both lines."""
        return not self.moves and self.shock is None


def shipped(name: object) -> tuple[dict, Scenario]:
    """A shipped scenario's merged dict and the scenario it validates to."""
    path = scenario_file(name)
    raw = read_with_extends(path)
    raw.setdefault("name", path.stem)
    return raw, scenario_from_dict(copy.deepcopy(raw), str(path))


def at_start(scenario: Scenario) -> Scenario:
    """The scenario as its first quarter sees it: a 2016Q1–2019Q1 start takes its policy
    from the year-end facts (``sim.start_state``), as the model does."""
    from sim import start_state

    if start_state.applies(scenario.run.start):
        return start_state.apply(scenario)[0]
    return scenario


def quarters(scenario: Scenario) -> list[str]:
    """The scenario's reported quarters, the choices for a lever move or a shock."""
    first, last = parse_quarter(scenario.run.start), parse_quarter(scenario.run.end)
    return [quarter_label(q) for q in range(first, last + 1)]


def years(scenario: Scenario) -> tuple[int, int]:
    """The first and last year the horizon slider offers."""
    return (parse_quarter(scenario.run.start) // 4, parse_quarter(scenario.run.end) // 4)


def defaults(name: str) -> Form:
    """The form of a freshly picked scenario: its own seed, horizon and lever values."""
    _, scenario = shipped(name)
    start, starting = scenario.run.start, at_start(scenario)
    return Form(scenario=name, seed=scenario.run.seed, last_year=years(scenario)[1],
                levers={item.key: item.page_value(item.current(starting)) for item in LEVERS},
                lever_at=start, shock_at=start)


def _whole(value: Any, key: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise DashboardInputError(f"'{key}' = {value!r}: a whole number is needed")
    if not low <= value <= high:
        raise DashboardInputError(f"'{key}' = {value:,}: the dashboard takes {low:,} to "
                                  f"{high:,}")
    return value


def _quarter(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise DashboardInputError(f"'{key}' = {value!r}: a quarter such as 2024Q1 is needed")
    return value  # the scenario's validation checks the label and that it is in the run


def _shock(form: Form) -> dict[str, Any] | None:
    pct = form.shock_pct
    if isinstance(pct, bool) or not isinstance(pct, (int, float)) or not math.isfinite(pct):
        raise DashboardInputError(f"'shock.revenue' = {pct!r}: not a finite number")
    if not SHOCK_MIN_PCT <= pct <= SHOCK_MAX_PCT:
        raise DashboardInputError(f"'shock.revenue' = {pct}%: the dashboard takes "
                                  f"{SHOCK_MIN_PCT:g}% to {SHOCK_MAX_PCT:+g}%")
    if pct == 0:
        return None
    return {"at": _quarter(form.shock_at, "shock.at"), "revenue": round(pct / 100.0, 10),
            "quarters": _whole(form.shock_quarters, "shock.quarters", 1, SHOCK_QUARTERS_MAX)}


def scenario_dicts(form: Form) -> tuple[dict, dict, dict[str, Any], dict[str, Any] | None]:
    """The baseline and lever scenario dicts of ``form``, the lever moves and the shock.

    Raises :class:`DashboardInputError` for input that is not even of the right kind;
    the rest is checked when the dicts are validated (:func:`plan`).
    """
    raw, shipped_scenario = shipped(form.scenario)
    first_year, last_year = years(shipped_scenario)
    run = dict(raw.get("run", {}))
    run["agents"] = _whole(form.agents, "run.agents", AGENTS_MIN, AGENTS_MAX)
    run["seed"] = _whole(form.seed, "run.seed", 0, 2**63 - 1)
    run["end"] = f"{_whole(form.last_year, 'run.end', first_year, last_year)}Q4"
    raw["run"] = run
    if not isinstance(form.levers, dict):
        raise DashboardInputError(f"levers = {form.levers!r}: expected key → value pairs")
    moves = {}
    starting = at_start(shipped_scenario)
    for key, page_value in form.levers.items():
        item = lever(key)
        value = item.policy_value(page_value)  # refuses what is not a number first
        if item.moved(item.page_value(item.current(starting)), page_value):
            moves[key] = value
    shock = _shock(form)
    moved = copy.deepcopy(raw)
    moved["name"] = f"{raw['name']}-dashboard"
    if moves:
        moved["change"] = list(moved.get("change", [])) + [
            {"at": _quarter(form.lever_at, "lever_at"), "set": moves}]
    if shock is not None:
        moved["shock"] = list(moved.get("shock", [])) + [shock]
    moved["description"] = describe(raw["name"], moves, form.lever_at, shock)
    return raw, moved, moves, shock


def describe(name: str, moves: dict[str, Any], at: str, shock: dict | None) -> str:
    """One line for run.json: the scenario and what the dashboard changed in it."""
    parts = [f"{key} = {value!r}" for key, value in moves.items()]
    text = f"{name} from the dashboard"
    if parts:
        text += f"; from {at}: " + ", ".join(parts)
    if shock is not None:
        text += (f"; revenue shock {shock['revenue']:+.0%} at {shock['at']} for "
                 f"{shock['quarters']} quarter(s)")
    return text


def plan(form: Form) -> Plan:
    """Both scenarios of ``form``, validated as scenario files are; a problem raises
    :class:`sim.config.ScenarioError` (or its :class:`DashboardInputError`) naming the
    key."""
    if not isinstance(form, Form):
        raise DashboardInputError(f"expected the dashboard's form, got {type(form).__name__}")
    base_raw, moved_raw, moves, shock = scenario_dicts(form)
    baseline = scenario_from_dict(base_raw, f"{form.scenario} (dashboard baseline)")
    moved = scenario_from_dict(moved_raw, f"{form.scenario} with the dashboard's levers")
    return Plan(baseline=baseline, lever=moved, moves=moves, shock=shock,
                reset_later=reset_later(baseline, moves, form.lever_at))


def reset_later(scenario: Scenario, moves: dict[str, Any], at: str) -> tuple[str, ...]:
    """``key (quarter)`` of each moved key the scenario's own changes set or ramp from
    ``at`` on: from then, the scenario's value holds, not the lever's."""
    first = parse_quarter(at)
    found = []
    for change in scenario.change:
        when = change.at if change.set is not None else change.start
        for key in change.set or change.ramp or {}:
            key = key.removeprefix("policy.")
            if key in moves and parse_quarter(when) >= first:
                found.append(f"{key} ({when})")
    return tuple(dict.fromkeys(found))
