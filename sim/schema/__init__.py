"""The scenario schema: every parameter declared once, with default, unit and source.

A scenario file is TOML with the sections of :class:`Scenario`. Each field carries its
unit and source in ``json_schema_extra`` so that ``sim.schema.parameter_table()`` and the
docs list them without repeating them. Policy instruments live under ``[policy]``;
``[[change]]`` entries address them by dotted path (``central_bank.lpr_1y_annual``).
Sources marked *assumption* are modelling choices documented in docs/calibration.md.
"""

from __future__ import annotations

from sim.schema.base import (
    FIRST_YEAR, LAST_YEAR, Mix, POS, SHARE, Strict, param,
)
from sim.schema.run import (
    RunSection,
)
from sim.schema.population import (
    BorrowerBySize, BureauBySize, CollateralShareBySize, DigitalBySize,
    PopulationSection, RegionMix, Represented, RevenueBySize, SectorMix, SizeMix,
    StageMix,
)
from sim.schema.firms import (
    DebtTargetBySize, FirmsSection, MacroSection, MarginBySize, SectorGrowth,
    StageDrift, StageExit, StageInvest, StageTransition, VolBySize,
)
from sim.schema.channels import (
    ChannelsSection,
)
from sim.schema.credit import (
    ChannelConstants, CreditSection, StartingRates, TimeToCash,
)
from sim.schema.lenders import (
    BankType, BanksSection, PlatformKind, PlatformsSection,
)
from sim.schema.policy import (
    Banking, CentralBank, Courts, Data, Fiscal, PolicySection,
)
from sim.schema.scenario import (
    Change, Scenario, Shock, parameter_table,
)

__all__ = [
    "BankType", "Banking", "BanksSection", "BorrowerBySize", "BureauBySize",
    "CentralBank", "Change", "ChannelConstants", "ChannelsSection", "CollateralShareBySize", "Courts",
    "CreditSection", "Data", "DebtTargetBySize", "DigitalBySize", "FIRST_YEAR",
    "FirmsSection", "Fiscal", "LAST_YEAR", "MacroSection", "MarginBySize", "Mix", "POS",
    "PlatformKind", "PlatformsSection", "PolicySection", "PopulationSection",
    "RegionMix", "Represented", "RevenueBySize", "RunSection", "SHARE", "Scenario",
    "SectorGrowth", "SectorMix", "Shock", "SizeMix", "StageDrift", "StageExit",
    "StageInvest", "StageMix", "StageTransition", "StartingRates", "Strict",
    "TimeToCash", "VolBySize", "param", "parameter_table",
]
