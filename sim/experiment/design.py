"""Design points of an experiment: full grid, Latin hypercube, Sobol or Morris.

The points depend on the experiment file only (samplers are seeded from the root seed),
so a re-run of the same file produces the same points in the same order and a stored
run keeps its meaning. Point ``i`` is row ``i`` of the SALib sample, the order its
analysers expect.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sim.experiment.seeds import design_seed
from sim.experiment.spec import Experiment, coerce


@dataclass
class Design:
    """The points to run: ``points`` has a ``point`` column and one column per parameter."""

    method: str
    keys: list[str]
    points: pd.DataFrame
    sample: np.ndarray | None      # the sampler's own values (before integer rounding)
    problem: dict[str, Any] | None

    def __len__(self) -> int:
        return len(self.points)

    def values(self, point: int) -> dict[str, Any]:
        """The parameter values of one point, in the parameters' own types."""
        # column by column: a row of mixed columns would turn integers into floats (1.0),
        # which the strict scenario schema refuses for an integer parameter
        values = {}
        for key in self.keys:
            value = self.points[key].iloc[point]
            values[key] = value.item() if hasattr(value, "item") else value
        return values


def salib_problem(parameters: dict) -> dict[str, Any]:
    """The SALib problem of parameters with a ``range`` each: names and bounds."""
    return {"num_vars": len(parameters), "names": list(parameters),
            "bounds": [list(map(float, p.range)) for p in parameters.values()]}


def problem(experiment: Experiment) -> dict[str, Any]:
    """The SALib problem of an experiment: parameter names and ranges."""
    return salib_problem(experiment.spec.parameters)


def count_points(experiment: Experiment) -> int:
    """Number of design points, without generating them (a huge grid is refused first)."""
    spec = experiment.spec
    d, n = len(spec.parameters), spec.design.samples or 0
    method = spec.design.method
    if method == "grid":
        return math.prod(len(p.levels) for p in spec.parameters.values())
    if method == "lhs":
        return n
    if method == "sobol":
        return n * (2 * d + 2 if spec.design.second_order else d + 2)
    return n * (d + 1)  # morris: one trajectory visits d + 1 points


def _sample(experiment: Experiment) -> np.ndarray:
    spec = experiment.spec
    prob, n, seed = problem(experiment), spec.design.samples, design_seed(spec.seed)
    method = spec.design.method
    if method == "lhs":
        from SALib.sample import latin

        return latin.sample(prob, n, seed=seed)
    if method == "sobol":
        from SALib.sample import sobol

        return sobol.sample(prob, n, calc_second_order=spec.design.second_order,
                            scramble=True, seed=seed)
    from SALib.sample import morris

    return morris.sample(prob, n, num_levels=spec.design.levels, seed=seed)


def build_design(experiment: Experiment) -> Design:
    """Generate the design points of an experiment."""
    spec, kinds = experiment.spec, experiment.kinds
    keys = experiment.keys
    if spec.design.method == "grid":
        levels = [[coerce(kinds[k], v) for v in spec.parameters[k].levels] for k in keys]
        rows = list(itertools.product(*levels))   # first parameter varies slowest
        sample, prob = None, None
    else:
        sample, prob = _sample(experiment), problem(experiment)
        rows = [tuple(coerce(kinds[k], v) for k, v in zip(keys, row)) for row in sample]
    points = pd.DataFrame(rows, columns=keys)
    for key in keys:
        points[key] = points[key].astype({bool: "bool", int: "int64", float: "float64"}
                                         [kinds[key]])
    points.insert(0, "point", np.arange(len(points), dtype=np.int64))
    return Design(method=spec.design.method, keys=keys, points=points, sample=sample,
                  problem=prob)
