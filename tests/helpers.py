"""Small builders shared by the tests."""

from __future__ import annotations

from sim.config import _deep_merge
from sim.schema import Scenario


def scenario(agents: int = 20_000, end: str = "2024Q4", seed: int = 20240101,
             burn_in: int = 16, **sections) -> Scenario:
    """A baseline scenario of a given size and horizon, with section overrides."""
    raw = {"run": {"agents": agents, "end": end, "seed": seed, "burn_in_quarters": burn_in}}
    return Scenario.model_validate(_deep_merge(raw, sections))
