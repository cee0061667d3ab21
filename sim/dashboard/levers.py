"""The dashboard's sliders and switches, each bound to one policy key of
``sim/schema/policy.py``.

A slider shows a value in the unit people quote (the LPR in percent); ``scale`` turns it
into the value the scenario holds (a fraction). Only a lever moved away from the
scenario's own starting value becomes a ``[[change]]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sim.dashboard.catalogue import DashboardInputError

# page values are rounded to this many decimals before they enter a scenario, so a
# slider at 3.45 gives 0.0345, not 0.034499999999999996
_DIGITS = 10


@dataclass(frozen=True)
class Lever:
    """A slider (or, with ``switch``, an on/off switch) for one policy key."""

    key: str
    label: str
    unit: str = ""
    low: float = 0.0
    high: float = 1.0
    step: float = 0.01
    scale: float = 1.0
    switch: bool = False

    @property
    def css_class(self) -> str:
        """A class for the slider's element, stable for tests: ``xw-lever-<key>``."""
        return "xw-lever-" + self.key.replace(".", "-").replace("_", "-")

    def current(self, scenario) -> Any:
        """The scenario's own starting value of the key (in the scenario's unit)."""
        target = scenario.policy
        for part in self.key.split("."):
            target = getattr(target, part)
        return target

    def page_value(self, policy_value: Any) -> Any:
        """A scenario value as the slider shows it."""
        if self.switch:
            return bool(policy_value)
        return round(float(policy_value) / self.scale, _DIGITS)

    def policy_value(self, page_value: Any) -> Any:
        """The value the page sent, in the scenario's unit; anything but a finite
        number (or, for a switch, true/false) is refused with a message naming the key."""
        if self.switch:
            if not isinstance(page_value, bool):
                raise DashboardInputError(f"'{self.key}' = {page_value!r}: a switch takes "
                                          "true or false")
            return page_value
        if isinstance(page_value, bool) or not isinstance(page_value, (int, float)):
            raise DashboardInputError(f"'{self.key}' = {page_value!r}: not a number")
        if not math.isfinite(page_value):
            raise DashboardInputError(f"'{self.key}' = {page_value!r}: not a finite number")
        return round(float(page_value) * self.scale, _DIGITS)

    def grid(self, default: float) -> tuple[float, float, float]:
        """The slider's low end, high end and step for a scenario whose value (in page
        units) is ``default``. The range widens to hold it (a 2016 scenario's LPR may lie
        outside today's range); if it is off the lever's own grid, a finer step is used,
        because the browser's slider rounds its value to the grid and to the step's
        decimals and would otherwise move the lever by itself."""
        low, high = min(self.low, default), max(self.high, default)
        ratio = (default - self.low) / self.step
        if default >= self.low and abs(ratio - round(ratio)) < 1e-6 \
                and _decimals(default) <= _decimals(self.step):
            return low, high, self.step
        step = 10.0 ** -max(_decimals(default), _decimals(self.step))
        return math.floor(low / step + 1e-9) * step, high, step

    def moved(self, default: Any, value: Any) -> bool:
        """True if the page value ``value`` differs from the scenario's ``default`` (both
        in page units) by more than the slider can show: half a step."""
        if self.switch:
            return bool(default) != value
        return abs(float(value) - float(default)) > self.grid(float(default))[2] / 2


def _decimals(value: float, most: int = 4) -> int:
    """The decimals ``value`` needs, at most ``most``."""
    for digits in range(most):
        if abs(round(value, digits) - value) <= 1e-9 * max(1.0, abs(value)):
            return digits
    return most


LEVERS: tuple[Lever, ...] = (
    Lever("central_bank.lpr_1y_annual", "1-year LPR", "% a year", 0.5, 8.0, 0.05, 0.01),
    Lever("central_bank.rrr", "Reserve requirement ratio", "% of deposits", 0.0, 20.0, 0.25,
          0.01),
    Lever("central_bank.relending_quota_yi", "Re-lending quota", "100m yuan", 0.0, 40_000.0,
          100.0),
    Lever("banking.joint_own_contribution", "Platform's own share of a joint loan", "%",
          0.0, 100.0, 5.0, 0.01),
    Lever("banking.online_per_firm_cap_wan", "Online loan cap per firm", "10,000 yuan",
          0.0, 500.0, 10.0),
    Lever("banking.joint_total_cap", "Joint loans, most of a bank's loans", "%", 0.0, 100.0,
          5.0, 0.01),
    Lever("courts.licensed_cap_annual", "Rate cap, licensed lenders", "% a year", 6.0, 48.0,
          1.0, 0.01),
    Lever("courts.lpr_multiple", "Rate cap, private lending", "× LPR", 1.0, 8.0, 0.5),
    Lever("fiscal.deferral", "Deferral of loan principal after a shock", switch=True),
)
LEVER_BY_KEY: dict[str, Lever] = {lever.key: lever for lever in LEVERS}


def lever(key: object) -> Lever:
    """The lever of a key the page sent; any other key is refused."""
    if not isinstance(key, str) or key not in LEVER_BY_KEY:
        raise DashboardInputError(f"unknown lever {key!r}; the dashboard moves: "
                                  f"{', '.join(LEVER_BY_KEY)}")
    return LEVER_BY_KEY[key]
