"""``[macro]`` and ``[firms]``: the economy firms live in and how they behave."""

from __future__ import annotations

from pydantic import Field

from sim.schema.base import SHARE, Strict, _by_size, param
from sim.schema.informal import InformalSection


# ---------------------------------------------------------------- [macro]
class SectorGrowth(Strict):
    manufacturing: float = param(0.0, "annual, added to GDP growth", "assumption", ge=-0.5, le=0.5)
    wholesale_retail: float = param(-0.005, "annual", "assumption", ge=-0.5, le=0.5)
    catering: float = param(-0.01, "annual", "assumption", ge=-0.5, le=0.5)
    services: float = param(0.005, "annual", "assumption", ge=-0.5, le=0.5)
    agriculture: float = param(-0.01, "annual", "assumption", ge=-0.5, le=0.5)
    construction: float = param(-0.02, "annual", "assumption", ge=-0.5, le=0.5)
    technology: float = param(0.03, "annual", "assumption", ge=-0.5, le=0.5)


class MacroSection(Strict):
    gdp_growth_annual: float = param(0.045, "nominal, annual", "NBS 2024: real 5.0%, deflator "
                                     "negative; assumption", ge=-0.3, le=0.3)
    sector_growth: SectorGrowth = Field(default_factory=SectorGrowth)
    rest_of_book_growth_annual: float = param(0.07, "annual", "PBoC: loan growth ~7-8% 2024",
                                              ge=-0.2, le=0.5)
    feedback_coefficient: float = param(0.0, "revenue log-points per unit SME default rate",
                                        "partial equilibrium by default (docs/ODD.md)", ge=0, le=20)
    firm_entry_yearly: float = param(0.0, "firms entering a year, national (individual "
                                     "businesses and enterprises); 0: "
                                     "population.entry_rate_quarterly applies instead",
                                     "instrument of a history run: the yearly count of new "
                                     "market entities (SAMR)", ge=0, le=1e9)


# ---------------------------------------------------------------- [firms]
class StageDrift(Strict):
    startup: float = param(0.02, "log revenue per quarter", "assumption", ge=-0.5, le=0.5)
    growth: float = param(0.025, "log revenue per quarter", "assumption", ge=-0.5, le=0.5)
    stable: float = param(0.0, "log revenue per quarter", "assumption", ge=-0.5, le=0.5)
    decline: float = param(-0.02, "log revenue per quarter", "assumption", ge=-0.5, le=0.5)


class StageInvest(Strict):
    startup: float = param(0.08, "probability per quarter", "report F3: need by stage", **SHARE)
    growth: float = param(0.12, "probability per quarter", "report F3", **SHARE)
    stable: float = param(0.04, "probability per quarter", "report F3", **SHARE)
    decline: float = param(0.005, "probability per quarter", "assumption", **SHARE)


class StageExit(Strict):
    startup: float = param(0.030, "exit hazard per quarter", "SAIC 2013: exits peak in year 3",
                           **SHARE)
    growth: float = param(0.010, "exit hazard per quarter", "assumption", **SHARE)
    stable: float = param(0.016, "exit hazard per quarter", "assumption", **SHARE)
    decline: float = param(0.045, "exit hazard per quarter", "assumption", **SHARE)


class StageTransition(Strict):
    startup_to_growth: float = param(0.08, "per quarter", "assumption", **SHARE)
    startup_to_stable: float = param(0.05, "per quarter", "assumption", **SHARE)
    growth_to_stable: float = param(0.06, "per quarter", "assumption", **SHARE)
    stable_to_decline: float = param(0.025, "per quarter", "assumption", **SHARE)
    stable_to_growth: float = param(0.015, "per quarter", "assumption", **SHARE)
    decline_to_stable: float = param(0.03, "per quarter", "assumption", **SHARE)


VolBySize = _by_size("VolBySize", "log revenue sd per quarter", "assumption",
                     (0.16, 0.13, 0.10), {"ge": 0, "le": 2})
MarginBySize = _by_size("MarginBySize", "profit / revenue", "assumption", (0.11, 0.10, 0.09),
                        {"ge": -1, "le": 1})
DebtTargetBySize = _by_size("DebtTargetBySize", "× quarterly revenue", "assumption",
                            (0.5, 0.6, 0.7), {"ge": 0, "le": 20})


class FirmsSection(Strict):
    mean_reversion_quarterly: float = param(0.15, "share of gap closed per quarter",
                                            "assumption", **SHARE)
    revenue_vol: VolBySize = Field(default_factory=VolBySize)
    stage_drift: StageDrift = Field(default_factory=StageDrift)
    margin: MarginBySize = Field(default_factory=MarginBySize)
    margin_quality_slope: float = param(0.07, "margin per sd of quality", "assumption",
                                        ge=0, le=1)
    margin_noise_sd: float = param(0.015, "margin sd per quarter", "assumption", ge=0, le=1)
    cash_buffer_quarters: float = param(0.5, "× quarterly revenue kept as cash", "assumption",
                                        ge=0, le=10)
    owner_draw_share: float = param(0.5, "share of excess cash paid out per quarter",
                                    "assumption", **SHARE)
    debt_target: DebtTargetBySize = Field(default_factory=DebtTargetBySize)
    debt_target_sd: float = param(0.35, "log sd across firms", "assumption", ge=0, le=3)
    borrowing_propensity: float = param(0.45, "share of firms that use credit at all",
                                        "assumption: many SMEs never seek loans", **SHARE)
    borrowing_propensity_base: float = param(0.8, "× borrowing_propensity for individual "
                                             "businesses", "assumption: larger firms use "
                                             "credit more often", ge=0, le=5)
    borrowing_propensity_size_step: float = param(0.3, "added to borrowing_propensity_base "
                                                  "per size class (micro +1, small +2)",
                                                  "assumption: larger firms use credit more "
                                                  "often", ge=0, le=5)
    working_gap_min_quarters: float = param(0.2, "× quarterly revenue: a gap to the debt "
                                            "target below this is not worth a loan",
                                            "assumption: application costs", ge=0, le=10)
    shock_margin_loss: float = param(0.5, "margin lost per unit of revenue lost to a shock",
                                     "assumption: fixed costs (rent, wages) are about half "
                                     "of costs and do not fall with revenue", ge=0, le=5)
    discouraged_quarters: int = param(2, "quarters a turned-down firm waits before asking "
                                      "again (unless forced by a shortfall)",
                                      "discouraged borrowers (Kon & Storey 2003); assumption",
                                      ge=0, le=40)
    invest_probability: StageInvest = Field(default_factory=StageInvest)
    invest_size_quarters: float = param(1.0, "× quarterly revenue", "assumption", ge=0, le=50)
    invest_rate_sensitivity: float = param(5.0, "log change in investment probability per "
                                           "unit (100pp) of the benchmark rate below its "
                                           "reference", "assumption: a 1pp cut raises "
                                           "investment ~5%, within user-cost elasticity "
                                           "estimates", ge=0, le=100)
    debt_rate_sensitivity: float = param(5.0, "log change in the debt firms want (their "
                                         "debt target) per unit (100pp) of the benchmark "
                                         "rate below its reference", "assumption: as "
                                         "invest_rate_sensitivity; cheaper debt makes "
                                         "firms hold more of it", ge=0, le=100)
    invest_reference_rate_annual: float = param(0.0345, "1y LPR at which invest_probability "
                                                "and debt targets are calibrated", "PBoC 1y "
                                                "LPR from 2023-08-21", ge=0, le=0.3)
    max_request_quarters: float = param(0.8, "× quarterly revenue: most a firm asks for in a "
                                        "quarter, unless a cash shortfall forces more",
                                        "assumption: lenders size SME loans on revenue",
                                        gt=0, le=50)
    invest_return: float = param(0.3, "log revenue per unit invested / annual revenue",
                                 "assumption", ge=0, le=5)
    exit_hazard: StageExit = Field(default_factory=StageExit)
    exit_after_default: float = param(0.5, "probability a defaulting firm closes",
                                      "assumption", **SHARE)
    transitions: StageTransition = Field(default_factory=StageTransition)
    digital_drift_quarterly: float = param(0.006, "digital footprint per quarter",
                                           "report F17: digital spend 2.5→6万亿 2023-30", ge=0,
                                           le=0.2)
    entrant_digital_trend_annual: float = param(0.02, "mean digital of entrants per year",
                                                "assumption", ge=0, le=0.2)
    digital_imitation_quarterly: float = param(0.0, "share of the gap to its peers' mean "
                                               "digital footprint (sector and region groups) "
                                               "a firm behind them closes per quarter",
                                               "assumption: imitation within sector and "
                                               "region (the imitation term of Bass 1969 "
                                               "diffusion); set by estimation", ge=0, le=1)
    informal: InformalSection = Field(default_factory=InformalSection)
    platform_marketing_quarterly: float = param(0.0, "share of its remaining gap to a full "
                                                "footprint (1 − digital) a firm closes per "
                                                "quarter when online platforms hold their "
                                                "starting capital (scaled by their capital "
                                                "now ÷ at the start)", "assumption: platform "
                                                "marketing (the innovation term of Bass "
                                                "diffusion); set by estimation", ge=0, le=0.2)


