"""Compiling or loading the numba kernels once, before a run needs them.

Lives outside :mod:`sim.kernels` because it builds a tiny model: the kernels must not
depend on the model that calls them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path


def numba_cache_dir() -> Path:
    """The folder numba caches compiled kernels in (``NUMBA_CACHE_DIR``, which
    ``import sim`` defaults to :func:`sim.kernel_cache_dir`)."""
    from sim import kernel_cache_dir

    given = os.environ.get("NUMBA_CACHE_DIR")
    return Path(given) if given else kernel_cache_dir()


def cache_is_warm() -> bool:
    """True if some compiled kernels are on disk in numba's cache folder."""
    folder = numba_cache_dir()
    return folder.exists() and any(folder.rglob("*.nbi"))


def warm_up(report: Callable[..., None] | None = None,
            stage: Callable[[str], None] | None = None) -> tuple[bool, float]:
    """Compile (first time) or load (later) every kernel by running a tiny model.

    ``report`` is called before a compilation that is not cached, so a caller can tell
    the user why the first run waits; ``stage(text)`` is told what is being compiled or
    loaded as it goes. Returns (was_cached, seconds).
    """
    tell = stage or (lambda text: None)
    was_cached = cache_is_warm()
    if not was_cached and report is not None:
        report()
    started = time.perf_counter()
    tell("loading numba and the model")
    from sim.model import CreditMarket
    from sim.schema import Scenario

    tiny = Scenario.model_validate({"run": {"agents": 1000, "burn_in_quarters": 0,
                                            "start": "2024Q1", "end": "2024Q1"}})
    tell("the starting population (birth and stock-count kernels)")
    model = CreditMarket(tiny)
    tell("one quarter (firm pass, credit rounds, rationing, booking, defaults, entry)")
    model.run_all(progress=False)
    return was_cached, time.perf_counter() - started
