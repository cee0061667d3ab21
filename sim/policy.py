"""Scheduled policy changes, ramps and revenue shocks (phase 1).

Changes write into the run's own copy of the scenario, so every agent reads the policy
in force from one place.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.categories import REGIONS, SECTORS
from sim.config import resolve_path
from sim.quarters import parse_quarter
from sim.schema import Scenario


@dataclass
class _Ramp:
    start: int
    end: int
    key: str
    target: float
    initial: float | None = None


class PolicySchedule:
    """Applies a scenario's ``[[change]]`` list and reports its ``[[shock]]`` list."""

    def __init__(self, scenario: Scenario):
        self.sets: dict[int, list[tuple[str, object]]] = {}
        self.ramps: list[_Ramp] = []
        for change in scenario.change:
            if change.set is not None:
                quarter = parse_quarter(change.at)
                self.sets.setdefault(quarter, []).extend(change.set.items())
            else:
                for key, target in change.ramp.items():
                    self.ramps.append(_Ramp(parse_quarter(change.start), parse_quarter(change.to),
                                            key, float(target)))
        self.shocks = [(parse_quarter(s.at), s.quarters, s.sectors, s.regions, s.revenue)
                       for s in scenario.shock]

    def apply(self, params: Scenario, quarter: int) -> list[str]:
        """Apply what is scheduled for ``quarter``; return the keys changed."""
        changed = []
        for key, value in self.sets.get(quarter, []):
            target, name = resolve_path(params, key)
            setattr(target, name, value)
            changed.append(key)
        for ramp in self.ramps:
            if not ramp.start <= quarter <= ramp.end:
                continue
            target, name = resolve_path(params, ramp.key)
            if ramp.initial is None:
                ramp.initial = float(getattr(target, name))
            steps = ramp.end - ramp.start + 1
            done = quarter - ramp.start + 1
            value = ramp.initial + (ramp.target - ramp.initial) * done / steps
            # rounding may step past the target (0.5 + (5e-324 − 0.5) is 0.0): kept
            # between the two values the schema accepted, so within the bounds
            low, high = sorted((ramp.initial, ramp.target))
            value = min(max(value, low), high)
            if isinstance(getattr(target, name), int) and not isinstance(getattr(target, name),
                                                                          bool):
                value = int(round(value))
            setattr(target, name, value)
            changed.append(ramp.key)
        return changed

    def revenue_multipliers(self, quarter: int) -> np.ndarray:
        """Multiplier on revenue by sector and region this quarter (1 = no shock)."""
        mult = np.ones((len(SECTORS), len(REGIONS)))
        for first, length, sectors, regions, revenue in self.shocks:
            if not first <= quarter < first + length:
                continue
            rows = [SECTORS.index(s) for s in sectors] if sectors else range(len(SECTORS))
            cols = [REGIONS.index(r) for r in regions] if regions else range(len(REGIONS))
            for r in rows:
                for c in cols:
                    mult[r, c] *= 1.0 + revenue
        return mult
