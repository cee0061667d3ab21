"""Targets files (``experiments/targets/*.toml``): the figures a calibration fits, each
with the statistic of the model's output that it is compared with.

A target names an output — a quarterly column, a ratio of quarterly columns, or a group
metric as a share of its dimension — and how a run is reduced to one number: the value at
a year's fourth quarter (stocks) or the year's average or sum (flows), then a ``level``
(one year), a ``growth`` (average yearly growth between two years) or a ``path`` (a level
and a slope a year, fitted by least squares over the years, so an interpolated path
enters as two moments, not as one moment a year). A group metric is summed over the
groups named and, unless ``as_share`` is false, taken as a share of its dimension's total.
Its value carries a ``tolerance`` (a judgement: about two standard errors) or a
``standard_error``; a floor or ceiling (``bound``) counts only on its wrong side. ``holdout`` targets are left out of the fit
and reported as validation.

Every problem — bad TOML, an unknown key, an unknown column, group or metric, a value
that does not fit its statistic — raises :class:`TargetsError` naming the file and the
target, before any run.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim.config import format_validation_error, read_toml
from sim.errors import SimError

STATISTICS = ("level", "growth", "path")
# Group metrics that add up over groups (counts and money), so a sum or a share is meaningful.
SUMMABLE_GROUP_METRICS = ("sme_alive", "credit_demand", "new_loans", "new_nondebt",
                          "loan_balance")
PERIODS = ("q4", "annual_mean", "annual_sum")
MEASURES = ("stock", "flow", "rate", "share")
FIRST_YEAR, LAST_YEAR = 2024, 2035


class TargetsError(SimError):
    """A targets file that cannot be used, with a message naming the key."""


class _Strict(BaseModel):
    # as scenario files: no string→number or number→switch conversion, no nan or inf
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class Target(_Strict):
    """One figure and the statistic of the model's output it is compared with."""

    id: str = Field(..., min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.\-]+$")
    figure: str = Field(..., min_length=1, description="the source's name for it (F4)")
    description: str = ""
    # --- the output
    column: str | None = None
    denominator: list[str] | None = Field(None, min_length=1)
    table: Literal["quarterly", "groups"] = "quarterly"
    dimension: str | None = None
    groups: list[str] | None = Field(None, min_length=1)
    metric: str | None = None
    as_share: bool = True               # a groups target: share of the dimension's total
    # --- the statistic
    measure: Literal["stock", "flow", "rate", "share"]
    period: Literal["q4", "annual_mean", "annual_sum"]
    statistic: Literal["level", "growth", "path"] = "level"
    channel: str = Field(..., min_length=1, description="all, bank, online, ...")
    years: list[int] = Field(..., min_length=1)
    # --- the figure
    value: float | None = None
    values: list[float] | None = None   # a path, one value a year
    tolerance: float | None = Field(None, gt=0)
    slope_tolerance: float | None = Field(None, gt=0)
    standard_error: float | None = Field(None, gt=0)
    bound: Literal["floor", "ceiling"] | None = None
    judgement: bool = True              # the tolerance is a judgement, not the source's
    holdout: bool = False
    source: str = Field(..., min_length=1)
    definition: str = Field(..., min_length=1)
    adjustment: str = ""                # how a figure dated before the model's years moved

    @model_validator(mode="after")
    def _shape(self) -> "Target":
        where = f"target '{self.id}'"
        if self.table == "quarterly":
            if self.column is None:
                raise ValueError(f"{where}: a quarterly target needs 'column'")
            if self.dimension or self.groups or self.metric:
                raise ValueError(f"{where}: 'dimension', 'groups' and 'metric' are for "
                                 "table = \"groups\"")
        else:
            if not (self.dimension and self.groups and self.metric):
                raise ValueError(f"{where}: a groups target needs 'dimension', 'groups' and "
                                 "'metric' (a share of the dimension's total)")
            if self.column or self.denominator:
                raise ValueError(f"{where}: 'column' and 'denominator' are for quarterly "
                                 "targets")
        for year in self.years:
            if not FIRST_YEAR <= year <= LAST_YEAR:
                raise ValueError(f"{where}: year {year} outside {FIRST_YEAR}–{LAST_YEAR} "
                                 "(a figure dated earlier needs an 'adjustment' to a "
                                 "model year)")
        if sorted(set(self.years)) != self.years:
            raise ValueError(f"{where}: 'years' must rise, each year once")
        wanted = {"level": 1, "growth": 2}.get(self.statistic)
        if wanted is not None and len(self.years) != wanted:
            raise ValueError(f"{where}: statistic '{self.statistic}' takes {wanted} "
                             f"year{'s' if wanted > 1 else ''}, got {len(self.years)}")
        if self.statistic == "path":
            if self.values is None or len(self.values) != len(self.years) or \
                    len(self.years) < 3:
                raise ValueError(f"{where}: a path takes 'values', one for each of at least "
                                 "3 'years'")
            if self.value is not None or self.bound is not None:
                raise ValueError(f"{where}: a path has 'values', no 'value' or 'bound'")
            if self.tolerance is None or self.slope_tolerance is None \
                    or self.standard_error is not None:
                raise ValueError(f"{where}: a path needs 'tolerance' (its level) and "
                                 "'slope_tolerance' (its slope a year), no "
                                 "'standard_error'")
        else:
            if self.value is None or self.values is not None:
                raise ValueError(f"{where}: statistic '{self.statistic}' takes one 'value'")
            if (self.tolerance is None) == (self.standard_error is None):
                raise ValueError(f"{where}: give exactly one of 'tolerance' and "
                                 "'standard_error'")
        if self.measure == "stock" and self.period != "q4":
            raise ValueError(f"{where}: a stock is read at the fourth quarter "
                             "(period = \"q4\")")
        if self.period == "annual_sum" and self.measure not in ("flow",):
            raise ValueError(f"{where}: only a flow is summed over a year")
        return self


@dataclass(frozen=True)
class Moment:
    """One number a target contributes: ``id`` (the target's, or ``<id>:level`` and
    ``<id>:slope`` for a path), its value, its standard error and the side it binds on
    (``None``: both)."""

    id: str
    target: Target
    part: Literal["value", "level", "slope"]
    value: float
    standard_error: float
    bound: str | None

    @property
    def holdout(self) -> bool:
        return self.target.holdout


class TargetsFile(_Strict):
    """A targets file: its name, description and the ``[[target]]`` moments."""

    name: str = Field(..., min_length=1)
    description: str = ""
    target: list[Target] = Field(..., min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> "TargetsFile":
        seen: set[str] = set()
        for target in self.target:
            if target.id in seen:
                raise ValueError(f"target id '{target.id}' is used twice")
            seen.add(target.id)
        return self

    def moments(self) -> list[Moment]:
        """Every moment of every target, in file order (a path gives two)."""
        out = []
        for t in self.target:
            if t.statistic == "path":
                level, slope = fit_line(t.years, t.values)
                out.append(Moment(f"{t.id}:level", t, "level", level, t.tolerance / 2.0,
                                  None))
                out.append(Moment(f"{t.id}:slope", t, "slope", slope,
                                  t.slope_tolerance / 2.0, None))
            else:
                se = t.standard_error if t.standard_error is not None else t.tolerance / 2.0
                out.append(Moment(t.id, t, "value", t.value, se, t.bound))
        return out


def fit_line(years: list[int], values) -> tuple[float, float]:
    """Least-squares line through (year, value): its value at the first year and its
    slope a year."""
    n = len(years)
    mean_year = sum(years) / n
    mean_value = sum(values) / n
    sxx = sum((y - mean_year) ** 2 for y in years)
    slope = sum((y - mean_year) * (v - mean_value) for y, v in zip(years, values)) / sxx
    return mean_value + slope * (years[0] - mean_year), slope


def _check_names(targets: TargetsFile, source: str) -> None:
    """Refuse a column, dimension, group or metric the model does not write."""
    from sim.categories import REGIONS, SECTORS, SIZES, STAGES
    from sim.columns import GROUP_METRICS, QUARTERLY_COLUMNS

    groups_of = {"sector": SECTORS, "region": REGIONS, "size": SIZES, "stage": STAGES}
    columns = [c for c in QUARTERLY_COLUMNS if c != "quarter"]

    def unknown(kind: str, name: str, allowed, target: Target) -> TargetsError:
        hint = difflib.get_close_matches(name, list(allowed), n=1)
        extra = f" (did you mean '{hint[0]}'?)" if hint else ""
        shown = ", ".join(allowed) if len(allowed) <= 12 else \
            f"one of the {len(allowed)} in docs/outputs.md"
        return TargetsError(f"{source}: target '{target.id}': unknown {kind} '{name}'{extra}; "
                            f"allowed: {shown}")

    for t in targets.target:
        for name in ([t.column] if t.column else []) + (t.denominator or []):
            if name not in QUARTERLY_COLUMNS or name == "quarter":
                raise unknown("column", name, columns, t)
        if t.table == "groups":
            if t.dimension not in groups_of:
                raise unknown("dimension", t.dimension, tuple(groups_of), t)
            for group in t.groups:
                if group not in groups_of[t.dimension]:
                    raise unknown(f"{t.dimension} group", group, groups_of[t.dimension], t)
            if t.metric not in GROUP_METRICS:
                raise unknown("group metric", t.metric, tuple(GROUP_METRICS), t)
            if t.metric not in SUMMABLE_GROUP_METRICS and (len(t.groups) > 1 or t.as_share):
                raise TargetsError(
                    f"{source}: target '{t.id}': group metric '{t.metric}' is a ratio; it "
                    "cannot be summed over groups or taken as a share (one group, not as a "
                    "share, is allowed); summable: " + ", ".join(SUMMABLE_GROUP_METRICS))


def load_targets(path: str | Path) -> TargetsFile:
    """A targets file, validated: its keys, its statistics and the outputs it names."""
    path = Path(path)
    raw = read_toml(path, what="targets", error=TargetsError)
    try:
        targets = TargetsFile.model_validate(raw)
    except ValidationError as exc:
        raise TargetsError(format_validation_error(exc, str(path), model=TargetsFile,
                                                   what="targets")) from None
    _check_names(targets, str(path))
    return targets
