"""A whole scenario: its sections, dated ``[[change]]`` entries and ``[[shock]]`` entries,
and the table of every parameter.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sim.quarters import parse_quarter
from sim.schema.base import Strict
from sim.schema.channels import ChannelsSection
from sim.schema.credit import CreditSection
from sim.schema.firms import FirmsSection, MacroSection
from sim.schema.lenders import BanksSection, PlatformsSection
from sim.schema.policy import PolicySection
from sim.schema.population import PopulationSection
from sim.schema.run import RunSection


# ---------------------------------------------------------------- changes and shocks
class Change(Strict):
    """A ``[[change]]`` entry: ``set`` keys at a quarter (``at``), or ``ramp`` them
    linearly ``from`` one quarter ``to`` another."""

    at: str | None = None
    start: str | None = Field(None, alias="from")
    to: str | None = None
    set: dict[str, Any] | None = None
    ramp: dict[str, Any] | None = None

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @model_validator(mode="after")
    def _shape(self) -> "Change":
        if (self.set is None) == (self.ramp is None):
            raise ValueError("a change needs exactly one of 'set' or 'ramp'")
        if not (self.set or self.ramp):
            raise ValueError(f"an empty '{'set' if self.set is not None else 'ramp'}' "
                             "changes nothing; name at least one key and its value")
        if self.set is not None:
            if self.at is None or self.start is not None or self.to is not None:
                raise ValueError("'set' takes 'at' (a quarter) and not 'from'/'to'")
            parse_quarter(self.at)
        else:
            if self.start is None or self.to is None or self.at is not None:
                raise ValueError("'ramp' takes 'from' and 'to' (quarters) and not 'at'")
            if parse_quarter(self.to) < parse_quarter(self.start):
                raise ValueError(f"ramp ends ({self.to}) before it starts ({self.start})")
        return self


class Shock(Strict):
    """A ``[[shock]]`` entry: revenue moved by ``revenue`` (−0.2 = a 20% fall) for
    ``quarters`` quarters from ``at``, in the given sectors and regions (all if none)."""

    at: str
    quarters: int = Field(1, ge=1, le=80)
    sectors: list[str] | None = None
    regions: list[str] | None = None
    revenue: float = Field(..., ge=-0.99, le=5.0)

    @model_validator(mode="after")
    def _names(self) -> "Shock":
        from sim.categories import REGIONS, SECTORS

        parse_quarter(self.at)
        for label, given, allowed in (("sectors", self.sectors, SECTORS),
                                      ("regions", self.regions, REGIONS)):
            for name in given or []:
                if name not in allowed:
                    raise ValueError(f"unknown {label[:-1]} '{name}'; allowed: "
                                     f"{', '.join(allowed)}")
        return self


class Provenance(Strict):
    """Where a scenario's estimated parameters come from: the calibration file, the
    folder it wrote (and a hash of that folder's files, ``sim.calibration.folder_hash``),
    the targets file and the date of the estimate."""

    calibration: str = Field(..., min_length=1)
    folder: str = Field(..., min_length=1)
    folder_hash: str = Field(..., pattern=r"^[0-9a-f]{16}$")
    targets: str = Field(..., min_length=1)
    date: str = Field(..., pattern=r"^\d{4}-\d{2}-\d{2}$")
    parameters: list[str] = Field(default_factory=list)


class Scenario(Strict):
    """A whole scenario: its sections, dated changes and shocks. Build one with
    :meth:`from_file` and change it with :meth:`with_overrides`, :meth:`with_changes`
    and :meth:`with_shock`; every copy is validated as a file is."""

    name: str = "scenario"
    description: str = ""
    extends: str | None = None
    provenance: Provenance | None = None
    run: RunSection = Field(default_factory=RunSection)
    population: PopulationSection = Field(default_factory=PopulationSection)
    macro: MacroSection = Field(default_factory=MacroSection)
    firms: FirmsSection = Field(default_factory=FirmsSection)
    credit: CreditSection = Field(default_factory=CreditSection)
    banks: BanksSection = Field(default_factory=BanksSection)
    platforms: PlatformsSection = Field(default_factory=PlatformsSection)
    channels: ChannelsSection = Field(default_factory=ChannelsSection)
    policy: PolicySection = Field(default_factory=PolicySection)
    change: list[Change] = Field(default_factory=list)
    shock: list[Shock] = Field(default_factory=list)

    # ---------------------------------------------------------- built from Python
    @classmethod
    def from_file(cls, path, overrides: Mapping[str, Any] | None = None,
                  **more: Any) -> "Scenario":
        """Load a scenario file (and what it extends) with optional overrides; see
        :func:`sim.config.load_scenario`."""
        from sim.config import load_scenario

        return load_scenario(path, overrides, **more)

    def _revalidated(self, raw: dict) -> "Scenario":
        from sim.config import scenario_from_dict

        return scenario_from_dict(raw, f"scenario '{self.name}'")

    def _raw(self) -> dict:
        return self.model_dump(mode="python", by_alias=True, exclude_none=True)

    def with_overrides(self, overrides: Mapping[str, Any] | None = None,
                       **more: Any) -> "Scenario":
        """A validated copy with parameters set by name or dotted path:
        ``s.with_overrides({"central_bank.rrr": 0.06}, agents=200_000)``."""
        from sim.overrides import apply_overrides

        return self._revalidated(apply_overrides(self._raw(), {**(overrides or {}),
                                                               **more}))

    def with_changes(self, *changes: Mapping[str, Any]) -> "Scenario":
        """A validated copy with dated changes appended, each written as a
        ``[[change]]`` entry is: ``{"at": "2025Q1", "set": {"central_bank.rrr": 0.06}}``
        or ``{"from": "2025Q1", "to": "2025Q4", "ramp": {"central_bank.rrr": 0.05}}``."""
        raw = self._raw()
        raw["change"] = [*raw.get("change", []), *(dict(change) for change in changes)]
        return self._revalidated(raw)

    def with_shock(self, at: str, revenue: float, quarters: int = 1,
                   sectors: list[str] | None = None,
                   regions: list[str] | None = None) -> "Scenario":
        """A validated copy with a revenue shock appended, as a ``[[shock]]`` entry:
        ``revenue`` the change in revenue (−0.2 = a 20% fall) for ``quarters`` quarters
        from ``at``, in the given sectors and regions (all when None)."""
        shock = {"at": at, "revenue": revenue, "quarters": quarters,
                 **({"sectors": sectors} if sectors is not None else {}),
                 **({"regions": regions} if regions is not None else {})}
        raw = self._raw()
        raw["shock"] = [*raw.get("shock", []), shock]
        return self._revalidated(raw)


def parameter_table() -> list[dict[str, Any]]:
    """Every scalar parameter as rows of (path, default, unit, source)."""
    rows: list[dict[str, Any]] = []

    def walk(instance: BaseModel, prefix: str, sources: dict[str, str]) -> None:
        # ``sources``: a lender type's own sources for its defaults (see _typed)
        for name, field in type(instance).model_fields.items():
            value = getattr(instance, name)
            path = f"{prefix}{name}"
            extra = field.json_schema_extra or {}
            if isinstance(value, BaseModel):
                walk(value, path + ".", extra.get("sources", {}))
            elif extra:
                rows.append({"path": path, "default": value, "unit": extra.get("unit", ""),
                             "source": sources.get(name, extra.get("source", ""))})

    default = Scenario()
    for section in ("run", "population", "macro", "firms", "credit", "banks", "platforms",
                    "policy"):
        walk(getattr(default, section), section + ".", {})
    return rows
