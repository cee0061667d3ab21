"""Calibration files: which scenario, which targets, which parameters in which ranges, and
what the search may spend.

```toml
name = "baseline_online"
scenario = "../scenarios/baseline.toml"      # relative to this file
targets = "targets/report_2024_2030.toml"
agents = 20000          # SMEs per run
replicates = 2          # seeds per point, the same at every point (common random numbers)
trials = 40             # points the search evaluates
batch = 4               # points asked at once and evaluated in parallel
sampler = "cmaes"       # cmaes or tpe
include_scenario = false  # true: the first point is the scenario's own values
seed = 20240101         # the sampler's seed and the root of the runs' seeds
noise_replicates = 36   # runs at the ranges' centre for the search's weight Ω (0: none)
# after the search, at the estimate, on seeds the search did not use:
fresh_replicates = 44   # runs for the fit and Ω (default: 2 × the moments)
jacobian_replicates = 4 # seeds of the central differences
jacobian_step = 0.075   # step, share of each parameter's range
profile_points = 5      # points of the objective's profile along each parameter
# `sim calibrate --screen`: a Morris design over the ranges before any search
screen_trajectories = 8 # Morris paths, each of (parameters + 1) points
screen_levels = 4       # grid levels of each range (even)

[cluster]               # optional: certificates of a tls:// scheduler (--tls-* win)
tls_ca_file = "certs/ca.pem"
tls_cert = "certs/client.pem"
tls_key = "certs/client-key.pem"

[parameters."credit.channel_constant.online"]
range = [0.5, 3.0]
prior = [1.5, 0.5]      # optional: normal prior (mean, sd), a penalty on the distance
```

Every problem raises :class:`CalibrationError` naming the file and the key, before any
run: a parameter the scenario does not have, a range outside its bounds, a targets file
that does not load.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim.calibration.targets import Moment, TargetsError, TargetsFile, load_targets
from sim.config import ScenarioError, format_validation_error, read_toml
from sim.errors import SimError
from sim.experiment.seeds import replicate_seed
from sim.experiment.spec import ClusterSpec
from sim.quarters import parse_quarter

SAMPLERS = ("cmaes", "tpe")


class CalibrationError(SimError):
    """A calibration file, store or option that cannot be used."""


class _Strict(BaseModel):
    # as scenario files: no string→number or number→switch conversion, no nan or inf
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class ParameterRange(_Strict):
    range: list[float] = Field(..., min_length=2, max_length=2)
    # a normal prior (mean, standard deviation): the search minimises the distance plus
    # ((value − mean) / sd)², and the standard errors count its information
    prior: list[float] | None = Field(None, min_length=2, max_length=2)

    @model_validator(mode="after")
    def _ordered(self) -> "ParameterRange":
        if not self.range[0] < self.range[1]:
            raise ValueError(f"range {self.range}: the first value must be below the second")
        if self.prior is not None and not self.prior[1] > 0:
            raise ValueError(f"prior {self.prior}: [mean, standard deviation] with a "
                             "standard deviation above 0")
        return self


class CalibrationSpec(_Strict):
    name: str = Field(..., min_length=1, pattern=r"^[A-Za-z0-9_.\-]+$")
    description: str = ""
    scenario: str
    targets: str
    agents: int = Field(20_000, ge=1_000, le=10_000_000)
    replicates: int = Field(2, ge=1, le=64)
    trials: int = Field(..., ge=2, le=100_000)
    batch: int = Field(4, ge=1, le=1_000)
    sampler: Literal["cmaes", "tpe"] = "cmaes"
    # the first point is the scenario's own values, so the estimate is never worse than
    # the model as it was (on the search's seeds)
    include_scenario: bool = False
    seed: int = Field(20240101, ge=0, le=2**31 - 1)
    end: str | None = None              # the run's last quarter, if not the scenario's
    parameters: dict[str, ParameterRange] = Field(..., min_length=1)
    # --- the search's weight: Ω from runs at the centre of the ranges (0: the targets'
    # variances alone); default 2 × the moments fitted
    noise_replicates: int | None = Field(None, ge=0, le=10_000)
    # --- what the estimate is worth (the report after the search)
    fresh_replicates: int | None = Field(None, ge=2, le=10_000)   # default 2 × moments
    jacobian_replicates: int = Field(4, ge=2, le=64)
    jacobian_step: float = Field(0.075, gt=0, le=0.25)   # share of each parameter's range
    profile_points: int = Field(5, ge=0, le=50)          # 0: no profiles
    # --- the Morris screening (`sim calibrate --screen`)
    screen_trajectories: int = Field(8, ge=2, le=1_000)
    screen_levels: int = Field(4, ge=2, le=20)
    # --- where runs go: a tls:// scheduler's certificates (not part of the digest)
    cluster: ClusterSpec = Field(default_factory=ClusterSpec)

    @model_validator(mode="after")
    def _sizes(self) -> "CalibrationSpec":
        if self.noise_replicates == 1:
            raise ValueError("noise_replicates: 0 (the targets' variances alone) or at "
                             "least 2 (a covariance needs two runs)")
        if self.screen_levels % 2:
            raise ValueError(f"screen_levels: {self.screen_levels} is odd; Morris levels "
                             "are even (4, 6, 8 …)")
        if self.profile_points == 1:
            raise ValueError("profile_points: 0 (no profiles) or at least 2")
        if self.fresh_replicates is not None and \
                self.jacobian_replicates > self.fresh_replicates:
            raise ValueError(f"jacobian_replicates ({self.jacobian_replicates}) cannot "
                             f"exceed fresh_replicates ({self.fresh_replicates}): the "
                             "Jacobian runs on the first fresh seeds")
        return self


@dataclass
class Calibration:
    """A validated calibration file, its targets and its base scenario."""

    spec: CalibrationSpec
    source: Path
    scenario_path: Path
    targets: TargetsFile

    @property
    def ranges(self) -> dict[str, tuple[float, float]]:
        return {key: (p.range[0], p.range[1]) for key, p in self.spec.parameters.items()}

    @functools.cached_property
    def simulator(self):
        """The :class:`~sim.calibration.simulate.Simulator` of every run (the scenario's
        ``extends`` chain read once)."""
        from sim.calibration.simulate import Simulator

        spec = self.spec
        return Simulator(self.scenario_path, self.targets, agents=spec.agents,
                         run_overrides={"end": spec.end} if spec.end else None)

    @property
    def fitted(self) -> list[Moment]:
        """The moments the search fits (not the held-out ones)."""
        return [m for m in self.targets.moments() if not m.holdout]

    def search_seeds(self) -> list[int]:
        """The seeds of every point's replicates (the same at every point)."""
        return [replicate_seed(self.spec.seed, r) for r in range(self.spec.replicates)]

    def scenario_values(self) -> dict[str, float]:
        """The calibrated scenario's own value of each parameter (its file's, or the
        schema's default)."""
        scenario = self.simulator.scenario_for({}, self.spec.seed)
        values = {}
        for key in self.spec.parameters:
            node = scenario
            for part in key.split("."):
                node = node[part] if isinstance(node, dict) else getattr(node, part)
            values[key] = float(node)
        return values

    def check_searchable(self) -> None:
        """A search needs at least as many fitted moments as parameters (a screening
        does not)."""
        if len(self.fitted) < len(self.spec.parameters):
            raise CalibrationError(
                f"{self.source}: {len(self.spec.parameters)} parameters against "
                f"{len(self.fitted)} fitted moments of {self.spec.targets}: a search needs at "
                "least as many moments as parameters (a screening with --screen does not)")

    @property
    def priors(self) -> dict[str, tuple[float, float]]:
        """(mean, sd) of each parameter with a prior."""
        return {key: (p.prior[0], p.prior[1]) for key, p in self.spec.parameters.items()
                if p.prior is not None}

    def prior_penalty(self, values: dict[str, float]) -> float:
        """Σ ((value − mean) / sd)² over the parameters with a prior (0 with none)."""
        return float(sum(((values[key] - mean) / sd) ** 2
                         for key, (mean, sd) in self.priors.items()))

    def digest(self) -> str:
        """What determines the search's runs: the scenario as resolved (its whole
        ``extends`` chain, run overrides and SME count), the targets and the search's own
        settings; not the name, the description, the number of points (a finished search
        may be extended) nor the report's sizes. A store made under another digest is
        refused."""
        from sim.experiment.spec import scenario_hash

        spec = self.spec
        search = spec.model_dump(mode="json", include={
            "agents", "replicates", "batch", "sampler", "seed", "end", "parameters",
            "noise_replicates", "include_scenario"})
        if not spec.include_scenario:
            search.pop("include_scenario")  # stores made before the key keep their digest
        # a parameter without a prior is written as before priors existed: a store made
        # then keeps its digest
        search["parameters"] = {key: {k: v for k, v in value.items()
                                      if not (k == "prior" and v is None)}
                                for key, value in search["parameters"].items()}
        data = {"scenario": scenario_hash(self.simulator.scenario_for({}, 0)),
                "targets": self.targets.model_dump(mode="json"), "search": search}
        text = json.dumps(data, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def load_calibration(path: str | Path) -> Calibration:
    """Read and check a calibration file (see the module's docstring)."""
    from sim.experiment.spec import ExperimentError, _check_key, _flatten_parameters

    path = Path(path)
    where = str(path)
    raw = read_toml(path, "calibration", CalibrationError)
    raw.setdefault("name", path.stem)
    try:
        if "parameters" in raw:
            raw["parameters"] = _flatten_parameters(raw["parameters"], where)
        spec = CalibrationSpec.model_validate(raw)
        for key in spec.parameters:
            if _check_key(key, where) is not float:
                raise CalibrationError(f"{where}: 'parameters.{key}' is not a number the "
                                       "search can move (a switch or a count)")
    except ValidationError as exc:
        raise CalibrationError(format_validation_error(exc, where, CalibrationSpec,
                                                       "calibration")) from None
    except ExperimentError as exc:
        raise CalibrationError(str(exc)) from None
    scenario_path = (path.parent / spec.scenario).resolve()
    try:
        targets = load_targets(path.parent / spec.targets)
    except TargetsError as exc:
        raise CalibrationError(f"{where}: 'targets': {exc}") from None
    calibration = Calibration(spec=spec, source=path, scenario_path=scenario_path,
                              targets=targets)
    # both ends of every range must make a valid scenario, one parameter at a time
    try:
        simulator = calibration.simulator
        for key, (low, high) in calibration.ranges.items():
            for value in (low, high):
                simulator.scenario_for({key: value}, spec.seed)
        scenario = simulator.scenario_for({}, spec.seed)
    except ScenarioError as exc:
        raise CalibrationError(f"{where}: {exc}") from None
    if spec.include_scenario:
        for key, value in calibration.scenario_values().items():
            low, high = calibration.ranges[key]
            if not low <= value <= high:
                raise CalibrationError(
                    f"{where}: include_scenario: the scenario's '{key}' = {value!r} is "
                    f"outside its range [{low}, {high}]; widen the range")
    # every target's quarters inside the reported ones (held-out targets too): the fourth
    # quarter of each year for a q4 target, all four for a yearly one
    first, last = parse_quarter(scenario.run.start), parse_quarter(scenario.run.end)
    for t in targets.target:
        needs_from = 3 if t.period == "q4" else 0
        outside = [y for y in t.years
                   if not (first <= 4 * y + needs_from and 4 * y + 3 <= last)]
        if outside:
            raise CalibrationError(
                f"{where}: target '{t.id}' needs {', '.join(map(str, outside))}, which the "
                f"runs ({scenario.run.start} to {scenario.run.end}) do not cover in full; "
                "set 'end' or use targets inside the run")
    return calibration
