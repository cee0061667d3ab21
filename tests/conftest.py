"""Shared fixtures: a small scenario and kernels compiled (or loaded) once per session."""

from __future__ import annotations

import pytest

from sim.schema import Scenario


@pytest.fixture
def small_scenario() -> Scenario:
    """20,000 SMEs, 4 burn-in quarters, 2024Q1-2025Q4 reported, all threads.

    A fresh object per test, so a test may change it freely.
    """
    return Scenario.model_validate({"run": {"agents": 20_000, "burn_in_quarters": 4,
                                            "start": "2024Q1", "end": "2025Q4",
                                            "threads": None}})


@pytest.fixture(scope="session")
def warm_kernels() -> tuple[bool, float]:
    """Compile the numba kernels, or load them from the disk cache, once per session.

    Returns ``(was_cached, seconds)`` from :func:`sim.kernels.warm_up`.
    """
    from sim.kernels import warm_up

    return warm_up()
