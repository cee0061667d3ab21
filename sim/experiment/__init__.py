"""Experiments: parameter sweeps, replications and sensitivity designs, and their store.

An experiment file (TOML, in ``experiments/``) names a base scenario, the parameters to vary
by dotted scenario key, a design (grid, Latin hypercube, Sobol or Morris), replications,
a root seed and the outputs to keep. ``sim sweep`` runs it serially, on local processes,
on an existing Dask scheduler or on SLURM, writing every finished run atomically into one
store; ``sim analyze`` computes sensitivity indices from it. In a notebook::

    from sim.experiment import load
    frame = load("results/experiments/rate_rrr_grid")   # one row per run and quarter

Importing this package is cheap: pandas, dask and SALib load only when used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sim.experiment.limits import DEFAULT_MAX_RUNS

__all__ = ["DEFAULT_MAX_RUNS", "load_experiment", "sweep", "load", "analyze"]


def load_experiment(path: str | Path, **overrides: Any):
    """Read and validate an experiment file (see :func:`sim.experiment.spec.load_experiment`)."""
    from sim.experiment.spec import load_experiment as _load

    return _load(path, **overrides)


def sweep(experiment, out: str | Path, **options: Any):
    """Run an experiment into the store ``out`` (see :func:`sim.experiment.runner.sweep`)."""
    from sim.experiment.runner import sweep as _sweep

    return _sweep(experiment, out, **options)


def load(path: str | Path, lazy: bool = False):
    """A stored experiment as one DataFrame, or a lazy pyarrow dataset if ``lazy``."""
    from sim.experiment.store import load as _load

    return _load(path, lazy=lazy)


def analyze(path: str | Path, **options: Any):
    """Sensitivity indices of a stored experiment (see :func:`sim.experiment.analyze.analyze`)."""
    from sim.experiment.analyze import analyze as _analyze

    return _analyze(path, **options)
