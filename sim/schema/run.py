"""``[run]``: the horizon, seed, agent count, threads and engine of a run."""

from __future__ import annotations

from typing import Literal

from pydantic import field_validator, model_validator

from sim.quarters import parse_quarter
from sim.schema.base import FIRST_YEAR, LAST_YEAR, Strict, param


# ---------------------------------------------------------------- [run]
class RunSection(Strict):
    """``[run]``: the horizon, seed, agent count, panel, threads and engine."""

    start: str = param("2024Q1", "quarter", "report horizon 2024-2030; 2016Q1-2019Q1 start "
                       "from the year-end facts of the year before (sim/start_state.py), "
                       "2019Q2-2023Q4 are refused")
    end: str = param("2030Q4", "quarter", "report horizon 2024-2030")
    seed: int = param(20240101, "-", "any integer", ge=0, le=2**63 - 1)
    agents: int = param(1_000_000, "SMEs simulated at start", "performance target", ge=1000,
                        le=200_000_000)
    burn_in_quarters: int = param(16, "quarters", "calibration: lenders' yearly score re-fit "
                                  "and the firm population settle within ~4 years",
                                  ge=0, le=80)
    threads: int | None = param(None, "threads", "None = all cores", ge=1, le=1024)
    macro_feedback: bool = param(False, "switch", "partial equilibrium by default")
    extreme_shock_reason: str | None = param(
        None, "text", "the scenario's own sources: why its shock is large enough for a "
        "quarter's default rate above 15% a year or new lending falling by more than half "
        "on the quarter before (tests/test_scenario_bounds.py holds every other scenario "
        "within both); None = no such shock", min_length=10)
    panel_firms: int = param(200, "firms", "SMEs open when the reported quarters begin, "
                             "sampled at random and followed quarter by quarter in the "
                             "results' panel (sim/panel.py); 0 = no panel", ge=0,
                             le=100_000)
    engine: Literal["numba", "reference"] = param(
        "numba", "engine", "numba: kernels over arrays; reference: every SME a Mesa agent in "
        "plain Python, same results, for up to 200,000 agents")

    @field_validator("start", "end")
    @classmethod
    def _quarter(cls, value: str) -> str:
        year = parse_quarter(value) // 4
        # quarter indices are kept as int16 in the population (first-loan quarter)
        if not FIRST_YEAR <= year <= LAST_YEAR:
            raise ValueError(f"'{value}' is outside the years the model takes, "
                             f"{FIRST_YEAR}-{LAST_YEAR}")
        return value

    @field_validator("start")
    @classmethod
    def _start_state(cls, value: str) -> str:
        from sim.start_state import refusal  # the allowed starts live with the facts

        problem = refusal(value)
        if problem:
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _quarters(self) -> "RunSection":
        start, end = parse_quarter(self.start), parse_quarter(self.end)
        if end < start:
            raise ValueError(f"run.end ({self.end}) is before run.start ({self.start})")
        return self


