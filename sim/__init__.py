"""xiaowei: an agent-based simulator of China's small-and-micro-enterprise finance market.

Public API::

    import sim
    scenario = sim.load_scenario("scenarios/baseline.toml", agents=100_000)
    scenario = scenario.with_changes({"at": "2025Q1", "set": {"central_bank.rrr": 0.06}})
    result = sim.run(scenario)          # a RunResult: quarterly, lenders, groups, panel
    result = sim.run("baseline", agents=50_000, rrr=0.06)   # by name, with overrides
    result.summary(); result.plot()
    model = sim.CreditMarket(scenario)  # the Mesa model: model.step(), model.run_model()

Importing this package is cheap: numba, pandas and mesa load only when a model is built.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

__all__ = ["__version__", "load_scenario", "run", "CreditMarket", "cache_root",
           "kernel_cache_dir"]

__version__ = "0.1.0"

# Every file whose code or constants the compiled kernels contain (and all of kernels/).
_KERNEL_SOURCES = ("rng.py", "categories.py", "population.py")


def _kernel_hash() -> str:
    """Hash of every file the compiled kernels depend on.

    Numba's cache only notices edits to a kernel's own file; naming the cache folder
    after all of them means an edit to a shared helper can never load stale code.
    """
    digest = hashlib.sha256()
    here = Path(__file__).parent
    paths = [here / name for name in _KERNEL_SOURCES] + sorted((here / "kernels").glob("*.py"))
    for path in paths:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def cache_root() -> Path:
    """Where the project keeps what it can rebuild: ``XIAOWEI_CACHE_DIR``, or
    ``xiaowei`` in the user's cache folder."""
    return Path(os.environ.get("XIAOWEI_CACHE_DIR",
                               Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
                               / "xiaowei"))


def kernel_cache_dir() -> Path:
    """The default numba cache folder: one per version of the kernel sources."""
    return cache_root() / f"numba-{_kernel_hash()}"


# Must be set before numba is imported: identical maths in every engine (no SVML) and a
# cache folder keyed by the kernel sources. A NUMBA_CACHE_DIR the user set is kept: it is
# process-wide and may serve other numba code too (numba then notices only edits to a
# kernel's own file, not to the shared helpers the hash covers).
os.environ.setdefault("NUMBA_DISABLE_INTEL_SVML", "1")
if not os.environ.get("NUMBA_CACHE_DIR"):
    os.environ["NUMBA_CACHE_DIR"] = str(kernel_cache_dir())
    if "numba" in sys.modules:  # imported before us (a notebook): numba reads its config
        sys.modules["numba"].config.CACHE_DIR = os.environ["NUMBA_CACHE_DIR"]


def load_scenario(path, overrides=None, **more):
    """Load and validate a scenario file, with parameters overridden by name or dotted
    path (see :func:`sim.config.load_scenario`)."""
    from sim.config import load_scenario as _load

    return _load(path, overrides, **more)


def run(scenario, overrides=None, *, progress: bool = False, check: bool = False, **more):
    """Run a scenario to the end and return a :class:`sim.results.RunResult`.

    ``scenario`` is a :class:`sim.schema.Scenario`, a scenario file or the name of a
    shipped scenario (``"baseline"``); ``overrides`` (a mapping of dotted keys) and
    keyword arguments set parameters first, validated as a file is:
    ``sim.run("baseline", agents=100_000, rrr=0.06)``."""
    from sim.model import run as _run
    from sim.schema import Scenario

    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario, overrides, **more)
    elif overrides or more:
        scenario = scenario.with_overrides(overrides, **more)
    return _run(scenario, progress=progress, check=check)


def __getattr__(name: str):
    if name == "CreditMarket":
        from sim.model import CreditMarket

        return CreditMarket
    raise AttributeError(name)
