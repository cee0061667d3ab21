"""One model run reduced to the moments of a targets file: the ``simulate(values, seed)``
function the search and the inference steps call."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from sim.calibration.moments import simulated_moments
from sim.calibration.targets import TargetsFile


class Simulator:
    """Runs the scenario ``scenario`` with parameter ``values`` set by dotted key
    (``credit.digital_sensitivity``, ``policy.central_bank.rrr``) and ``seed``, at
    ``agents`` SMEs, and returns the moments of ``targets``. Each call is independent of
    the others, so the same (values, seed) gives the same moments."""

    def __init__(self, scenario: str | Path, targets: TargetsFile, agents: int,
                 threads: int | None = 1, run_overrides: dict[str, Any] | None = None):
        from sim.config import read_with_extends

        self.scenario = Path(scenario)
        self.targets = targets
        self.base = read_with_extends(self.scenario)
        self.base.pop("extends", None)
        run = self.base.setdefault("run", {})
        run.update(run_overrides or {})
        run["agents"] = agents
        run["threads"] = threads

    def scenario_for(self, values: dict[str, float], seed: int):
        """The validated scenario of one point and seed (raises ScenarioError)."""
        from sim.config import scenario_from_dict
        from sim.experiment.spec import apply_point

        raw = apply_point(self.base, values, {})
        raw["run"]["seed"] = int(seed)
        where = ", ".join(f"{k} = {v!r}" for k, v in values.items()) or str(self.scenario)
        return scenario_from_dict(raw, where)

    def __call__(self, values: dict[str, float], seed: int) -> pd.Series:
        from sim.model import run

        result = run(self.scenario_for(values, seed))
        return simulated_moments(self.targets, result.quarterly, result.groups)
