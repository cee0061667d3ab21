"""Numba kernels: plain functions over the SME arrays (see each module's docstring).

Compilation is cached on disk in a folder named after the kernel sources
(:func:`sim.kernel_cache_dir`); :func:`warm_up` compiles or loads them once.
"""

from __future__ import annotations

import time
from typing import Callable


def cache_is_warm() -> bool:
    """True if compiled kernels for the current sources are on disk."""
    from sim import kernel_cache_dir

    folder = kernel_cache_dir()
    return folder.exists() and any(folder.rglob("*.nbi"))


def warm_up(report: Callable[..., None] | None = None) -> tuple[bool, float]:
    """Compile (first time) or load (later) every kernel by running a tiny model.

    ``report`` is called before a compilation that is not cached, so a caller can tell
    the user why the first run waits. Returns (was_cached, seconds).
    """
    was_cached = cache_is_warm()
    if not was_cached and report is not None:
        report()
    started = time.perf_counter()
    from sim.model import CreditMarket
    from sim.schema import Scenario

    tiny = Scenario.model_validate({"run": {"agents": 1000, "burn_in_quarters": 0,
                                            "start": "2024Q1", "end": "2024Q1"}})
    CreditMarket(tiny).run_all(progress=False)
    return was_cached, time.perf_counter() - started
