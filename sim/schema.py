"""The scenario schema: every parameter declared once, with default, unit and source.

A scenario file is TOML with the sections of :class:`Scenario`. Each field carries its
unit and source in ``json_schema_extra`` so that ``sim.schema.parameter_table()`` and the
docs list them without repeating them. Policy instruments live under ``[policy]``;
``[[change]]`` entries address them by dotted path (``central_bank.lpr_1y_annual``).
Sources marked *assumption* are modelling choices documented in docs/calibration.md.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sim.quarters import parse_quarter


def param(default: Any, unit: str, source: str, **constraints: Any) -> Any:
    """A parameter field: default, unit and source note (and numeric bounds)."""
    return Field(default, json_schema_extra={"unit": unit, "source": source}, **constraints)


class Strict(BaseModel):
    """Base for every section: unknown keys are errors, assignment is validated."""

    # validators are built when a scenario is first validated, all sections in one go,
    # not one class at a time on import (about 50 ms less before a run's first quarter)
    model_config = ConfigDict(extra="forbid", validate_assignment=True, defer_build=True)


class Mix(Strict):
    """A set of shares that must sum to one."""

    @model_validator(mode="after")
    def _sums_to_one(self) -> "Mix":
        total = sum(getattr(self, name) for name in type(self).model_fields)
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"shares must sum to 1, they sum to {total:.6g}")
        return self


SHARE = {"ge": 0.0, "le": 1.0}
FIRST_YEAR, LAST_YEAR = 1900, 2999  # run years; quarter indices then fit int16
POS = {"ge": 0.0}


def _by_size(cls_name: str, unit: str, source: str, values: tuple, bounds: dict, mix: bool = False):
    base = Mix if mix else Strict
    fields = {
        name: (float, param(v, unit, source, **bounds))
        for name, v in zip(("individual", "micro", "small"), values)
    }
    return type(cls_name, (base,), {"__annotations__": {k: float for k in fields},
                                   **{k: f for k, (_, f) in fields.items()}})


# ---------------------------------------------------------------- [run]
class RunSection(Strict):
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


# ---------------------------------------------------------------- [population]
class SizeMix(Mix):
    individual: float = param(0.40, "share of agents", "assumption: over-samples small firms",
                              **SHARE)
    micro: float = param(0.35, "share of agents", "assumption", **SHARE)
    small: float = param(0.25, "share of agents", "assumption", **SHARE)


class Represented(Strict):
    individual: float = param(78e6, "firms", "SAMR 2022: ~109M individual businesses; report "
                              "counts 1.1亿 small & micro incl. individual businesses", gt=0)
    micro: float = param(27e6, "firms", "assumption: split of enterprises by size", gt=0)
    small: float = param(5e6, "firms", "assumption: split of enterprises by size", gt=0)


class SectorMix(Mix):
    manufacturing: float = param(0.14, "share", "report: manufacturing, wholesale/retail, "
                                 "catering and services dominate", **SHARE)
    wholesale_retail: float = param(0.36, "share", "report", **SHARE)
    catering: float = param(0.12, "share", "report", **SHARE)
    services: float = param(0.22, "share", "report", **SHARE)
    agriculture: float = param(0.05, "share", "assumption", **SHARE)
    construction: float = param(0.06, "share", "assumption", **SHARE)
    technology: float = param(0.05, "share", "assumption", **SHARE)


class RegionMix(Mix):
    east: float = param(0.52, "share", "report: east > 50%", **SHARE)
    central: float = param(0.27, "share", "assumption", **SHARE)
    west: float = param(0.21, "share", "assumption", **SHARE)


class StageMix(Mix):
    startup: float = param(0.20, "share", "assumption", **SHARE)
    growth: float = param(0.25, "share", "assumption", **SHARE)
    stable: float = param(0.40, "share", "assumption", **SHARE)
    decline: float = param(0.15, "share", "assumption", **SHARE)


RevenueBySize = _by_size("RevenueBySize", "万元 per year (median)", "assumption: NBS firm "
                         "size thresholds", (40.0, 250.0, 2500.0), {"gt": 0})
CollateralShareBySize = _by_size("CollateralShareBySize", "share with pledgeable assets",
                                 "assumption", (0.20, 0.45, 0.70), SHARE)
DigitalBySize = _by_size("DigitalBySize", "mean digital footprint", "report: e-commerce and "
                         "payment data; assumption", (0.45, 0.40, 0.35), SHARE)
BureauBySize = _by_size("BureauBySize", "share with a credit-bureau file", "assumption: "
                        "PBoC credit reference centre coverage", (0.25, 0.50, 0.85), SHARE)
BorrowerBySize = _by_size("BorrowerBySize", "share borrowing at start", "assumption",
                          (0.20, 0.35, 0.60), SHARE)


class PopulationSection(Strict):
    represented: Represented = Field(default_factory=Represented)
    agent_share: SizeMix = Field(default_factory=SizeMix)
    sectors: SectorMix = Field(default_factory=SectorMix)
    regions: RegionMix = Field(default_factory=RegionMix)
    stages: StageMix = Field(default_factory=StageMix)
    revenue_median: RevenueBySize = Field(default_factory=RevenueBySize)
    revenue_log_sd: float = param(0.9, "log points", "assumption", gt=0, le=3)
    collateral_share: CollateralShareBySize = Field(default_factory=CollateralShareBySize)
    collateral_to_revenue: float = param(0.6, "× annual revenue", "assumption", ge=0, le=10)
    digital_mean: DigitalBySize = Field(default_factory=DigitalBySize)
    bureau_coverage: BureauBySize = Field(default_factory=BureauBySize)
    initial_borrowers: BorrowerBySize = Field(default_factory=BorrowerBySize)
    initial_quality_tilt: float = param(0.2, "quality (sd units) added to starting firms aged "
                                        "quality_tilt_full_age_quarters or more, pro rata "
                                        "for younger", "assumption: survivors "
                                        "are better than entrants; reduces the start-up "
                                        "transient", ge=0, le=3)
    quality_tilt_full_age_quarters: int = param(40, "quarters of age from which "
                                                "initial_quality_tilt applies in full",
                                                "assumption: selection by survival "
                                                "builds up over ~10 years", ge=1, le=400)
    start_history_max_quarters: int = param(12, "quarters: a starting borrower's repayment "
                                             "history is drawn uniformly below this",
                                             "assumption: up to 3 years of history",
                                             ge=1, le=400)
    initial_borrower_selection: float = param(0.5, "probit slope of holding a starting loan on "
                                              "quality", "assumption: starting borrowers were "
                                              "screened", ge=0, le=5)
    entrant_revenue_gap: float = param(0.5, "log revenue: an entrant's trend starts this far "
                                       "below a starting firm's of its size",
                                       "assumption: entrants start below the size they grow "
                                       "into", ge=0, le=5)
    start_revenue_noise_sd: float = param(0.1, "log sd of a new firm's revenue around its "
                                          "trend", "assumption: the quarter's revenue is "
                                          "near the trend", ge=0, le=3)
    start_cash_min: float = param(0.5, "lowest starting cash, × firms.cash_buffer_quarters "
                                  "× quarterly revenue; drawn uniformly from it to it + 1",
                                  "assumption: cash around the buffer firms keep", ge=0,
                                  le=10)
    start_collateral_min: float = param(0.5, "lowest pledgeable assets, × "
                                        "collateral_to_revenue × annual revenue; drawn "
                                        "uniformly from it to it + 1", "assumption: spread "
                                        "around the typical ratio", ge=0, le=10)
    entrant_collateral_factor: float = param(0.5, "× collateral_share for entrants",
                                             "assumption: new firms own fewer pledgeable "
                                             "assets", **SHARE)
    digital_sd: float = param(0.25, "sd of the digital footprint across firms of a size",
                              "assumption", ge=0, le=2)
    startup_age_quarters: int = param(12, "quarters: starting start-ups are younger, other "
                                      "starting firms older", "assumption: the start-up "
                                      "stage lasts up to ~3 years (exits peak in year 3, "
                                      "SAIC 2013)", ge=1, le=200)
    established_age_span_quarters: int = param(80, "quarters: starting firms past the "
                                               "start-up stage are older than "
                                               "startup_age_quarters by up to this",
                                               "assumption: ages up to ~23 years", ge=1,
                                               le=400)
    start_online_min_digital: float = param(0.3, "digital footprint above which a starting "
                                            "loan may be online", "assumption: online "
                                            "lenders need a data trail", **SHARE)
    start_online_share: float = param(0.3, "chance that such a firm's starting loan is "
                                      "online", "assumption: online share of loans 30-45% "
                                      "(as channel_constant is calibrated to)", **SHARE)
    anchor_share: float = param(0.22, "share in a core firm's supply chain", "assumption", **SHARE)
    anchors: int = param(400, "core firms", "assumption", ge=1, le=30000)
    entry_rate_quarterly: float = param(0.034, "entrants / alive", "SAMR: ~17%/yr new market "
                                        "entities; net of quick failures", ge=0, le=0.5)
    capacity_factor: float | None = param(None, "slots at start / initial agents",
                                          "None = 1.1 + 0.015 × quarters simulated: room for "
                                          "~5%/yr net entry plus closed firms' unresolved "
                                          "loans; the slots grow if entrants need more",
                                          ge=1.0, le=10)


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
    platform_marketing_quarterly: float = param(0.0, "share of its remaining gap to a full "
                                                "footprint (1 − digital) a firm closes per "
                                                "quarter when online platforms hold their "
                                                "starting capital (scaled by their capital "
                                                "now ÷ at the start)", "assumption: platform "
                                                "marketing (the innovation term of Bass "
                                                "diffusion); set by estimation", ge=0, le=0.2)


# ---------------------------------------------------------------- [credit]
class ChannelConstants(Strict):
    bank: float = param(0.0, "logit utility", "calibrated to online share 30-45%", ge=-20, le=20)
    online: float = param(1.5, "logit utility", "calibrated", ge=-20, le=20)
    supply_chain: float = param(0.4, "logit utility", "calibrated", ge=-20, le=20)
    equity: float = param(-1.0, "logit utility", "calibrated", ge=-20, le=20)
    crowdfunding: float = param(-1.6, "logit utility", "calibrated", ge=-20, le=20)


class TimeToCash(Strict):
    bank: float = param(3.0, "weeks", "report: automated approval cuts time", ge=0, le=52)
    online: float = param(0.1, "weeks", "report: minutes for big-tech loans", ge=0, le=52)
    supply_chain: float = param(1.0, "weeks", "assumption", ge=0, le=52)
    equity: float = param(10.0, "weeks", "assumption", ge=0, le=52)
    crowdfunding: float = param(6.0, "weeks", "assumption", ge=0, le=52)


class StartingRates(Strict):
    """Typical annual rates on new loans, for firms' expectations before any loan is priced
    and for the starting book; the burn-in replaces both with the model's own rates."""

    bank: float = param(0.045, "annual", "PBoC 2023: banks' new inclusive small and micro "
                        "loans ~4.5%", ge=0, le=1)
    online: float = param(0.14, "annual", "assumption: big-tech and online micro-loans "
                          "priced mostly 10-18% APR", ge=0, le=1)
    supply_chain: float = param(0.07, "annual", "assumption: receivable finance between bank "
                                "and online rates", ge=0, le=1)


class CreditSection(Strict):
    search_rounds: int = param(2, "applications per quarter", "assumption", ge=1, le=8)
    channel_constant: ChannelConstants = Field(default_factory=ChannelConstants)
    time_to_cash: TimeToCash = Field(default_factory=TimeToCash)
    rate_sensitivity: float = param(22.0, "utility per unit annual rate", "assumption", ge=0,
                                    le=500)
    time_sensitivity: float = param(0.35, "utility per week", "assumption", ge=0, le=10)
    digital_sensitivity: float = param(4.0, "online utility per unit digital", "assumption",
                                       ge=0, le=20)
    online_trust: float = param(0.0, "online utility per unit share of the firm's sector "
                                "peers with an online loan (last quarter)", "assumption: "
                                "trust spreads by word of mouth; set by estimation",
                                ge=0, le=20)
    relationship_bonus: float = param(1.5, "utility", "assumption", ge=0, le=20)
    maturity_mismatch: float = param(2.0, "utility lost financing an investment with online or "
                                     "receivable finance", "assumption: firms match maturities",
                                     ge=0, le=50)
    coverage_sensitivity: float = param(3.0, "utility per log of (amount lent ÷ need) below 1",
                                        "assumption: firms avoid channels too small for them",
                                        ge=0, le=50)
    score_slope: float = param(0.5, "probit slope of PD on quality", "assumption", gt=0, le=5)
    score_intercept: float = param(-2.0, "probit intercept of annual PD", "assumption",
                                   ge=-6, le=2)
    refit_speed: float = param(0.5, "share of gap closed at the yearly re-fit", "assumption",
                               **SHARE)
    appetite_speed: float = param(0.3, "share of gap to target closed per quarter",
                                  "assumption", **SHARE)
    appetite_loss_sensitivity: float = param(0.5, "appetite cut per unit excess loss ratio",
                                             "assumption", ge=0, le=10)
    signal_refresh_sd: float = param(0.3, "share of noise redrawn each quarter", "assumption",
                                     ge=0, le=1)
    lgd_secured: float = param(0.35, "loss given default", "assumption", **SHARE)
    lgd_unsecured: float = param(0.75, "loss given default", "assumption", **SHARE)
    writeoff_quarters: int = param(4, "quarters non-performing before write-off", "assumption",
                                   ge=1, le=20)
    homogenization: float = param(0.4, "margin elasticity to lenders per segment",
                                  "report: homogenization compresses margins", ge=0, le=2)
    unsecured_limit_quarters: float = param(1.0, "× quarterly revenue, bank unsecured, for a "
                                            "firm with a credit-bureau file (without one: × "
                                            "data.bank_big_data × its digital footprint)",
                                            "assumption", ge=0, le=10)
    collateral_ltv: float = param(0.6, "loan / collateral", "assumption", **SHARE)
    receivable_quarters: float = param(0.8, "receivables from the anchor, × quarterly revenue",
                                       "assumption", ge=0, le=10)
    verified_advance: float = param(1.25, "× receivable_quarters financed on a verified "
                                    "receivable", "assumption: factoring advances ~80% of "
                                    "face value; receivables verified on the anchor's ledger "
                                    "(e-vouchers) up to ~100%", ge=1, le=5)
    lgd_receivable: float = param(0.5, "loss given default, unverified receivable",
                                  "assumption", **SHARE)
    lgd_verified: float = param(0.25, "loss given default, verified receivable",
                                "report: blockchain receivables", **SHARE)
    precision_bureau: float = param(1.0, "1/σ² added by a bureau file", "assumption", ge=0,
                                    le=100)
    precision_history: float = param(1.0, "1/σ² added by 8+ quarters of repayment history",
                                     "assumption", ge=0, le=100)
    history_full_quarters: int = param(8, "quarters of repayment history that give "
                                       "precision_history in full (less pro rata)",
                                       "assumption: two years of repayments", ge=1, le=80)
    platform_history_weight: float = param(0.5, "share of precision_history that platforms "
                                           "get from a repayment history", "assumption: "
                                           "platforms see their own loans and part of the "
                                           "bureau's", **SHARE)
    precision_collateral: float = param(0.3, "1/σ² added by pledged collateral", "assumption",
                                        ge=0, le=100)
    precision_statements: float = param(0.5, "1/σ² added by financial statements (not "
                                        "individual businesses)", "assumption", ge=0, le=100)
    precision_bank_big_data: float = param(1.5, "1/σ² at banks per unit big-data use × digital",
                                           "report: big-data scoring at banks", ge=0, le=100)
    precision_digital: float = param(2.2, "1/σ² at platforms per unit digital × data level",
                                     "report: alternative data", ge=0, le=100)
    protection_effect: float = param(0.7, "share of platform data precision lost at "
                                     "protection = 1", "assumption: PIPL limits", **SHARE)
    precision_trade: float = param(1.2, "1/σ² from trade data with the anchor",
                                   "assumption", ge=0, le=100)
    precision_verified: float = param(2.0, "1/σ² added by verified receivables",
                                      "report: blockchain receivables", ge=0, le=100)
    min_loan_wan: float = param(0.5, "万元: smallest loan written, and smallest need a firm "
                                "keeps seeking", "assumption: loans below 5,000 yuan are not "
                                "worth writing", ge=0, le=100)
    starting_rate: StartingRates = Field(default_factory=StartingRates)
    starting_spread_riskiest_annual: float = param(0.02, "annual, added to starting_rate for "
                                                   "the riskiest band (spreads linear across "
                                                   "bands)", "assumption: risk-based "
                                                   "pricing", ge=-0.5, le=0.5)
    starting_spread_safest_annual: float = param(-0.01, "annual, added to starting_rate for "
                                                 "the safest band", "assumption: risk-based "
                                                 "pricing", ge=-0.5, le=0.5)
    full_lender_reach: float = param(0.1, "× a lender's chance of being found once it has no "
                                     "capacity left", "assumption: word gets round that it "
                                     "is not lending", ge=0, le=1)
    appetite_floor: float = param(0.5, "lowest appetite target, × the base appetite",
                                  "assumption: one bad year does not start a doom loop",
                                  ge=0, le=1)
    appetite_ceiling: float = param(2.0, "highest appetite target, × the base appetite",
                                    "assumption: a good year does not license unlimited "
                                    "risk", ge=1, le=20)
    refit_pd_floor: float = param(1e-4, "lowest predicted annual PD used at the re-fit",
                                  "assumption: guards the ratio to realised defaults", gt=0,
                                  le=1)
    refit_pd_cap: float = param(0.5, "highest predicted annual PD used at the re-fit",
                                "assumption", gt=0, le=1)
    pd_scale_min: float = param(0.1, "lowest calibration factor on a lender's PDs",
                                "assumption: a re-fit cannot scale PDs beyond tenfold",
                                gt=0, le=1)
    pd_scale_max: float = param(10.0, "highest calibration factor on a lender's PDs",
                                "assumption: a re-fit cannot scale PDs beyond tenfold",
                                ge=1, le=1000)
    equity_cost_annual: float = param(0.16, "firms' perceived cost of equity", "assumption",
                                      ge=0, le=2)
    crowdfunding_cost_annual: float = param(0.12, "firms' perceived cost of crowdfunding",
                                            "assumption", ge=0, le=2)
    equity_valuation_years: float = param(2.0, "pre-money value, × annual revenue",
                                          "assumption", gt=0, le=100)
    supply_chain_maturity: int = param(2, "quarters", "tied to the receivable", ge=1, le=12)
    bank_maturity: int = param(4, "quarters, working-capital loans (and the starting book's "
                               "bank loans)", "assumption", ge=1, le=40)
    bank_term_maturity: int = param(12, "quarters, investment loans (amortising)",
                                    "assumption", ge=1, le=80)
    online_maturity: int = param(2, "quarters, revolving lines (amortising; also the "
                                 "starting book's online loans)", "assumption",
                                 ge=1, le=40)


# ---------------------------------------------------------------- [banks]
class BankType(Strict):
    count: int = param(1, "banks", "CBIRC bank lists", ge=0, le=500)
    total_assets_yi: float = param(1e5, "亿元, whole type", "NFRA 2024", gt=0)
    loans_to_assets: float = param(0.55, "share", "NFRA 2024", **SHARE)
    sme_share_of_loans: float = param(0.1, "share of loans to SMEs at start", "assumption",
                                      **SHARE)
    deposits_to_assets: float = param(0.75, "share", "NFRA 2024", **SHARE)
    capital_ratio: float = param(0.15, "capital / RWA at start", "NFRA: CAR ~15%", ge=0, le=1)
    other_risk_weight: float = param(0.55, "RWA / non-SME assets", "assumption", ge=0, le=2)
    funding_spread_annual: float = param(-0.012, "annual, over funding beta × LPR",
                                         "assumption", ge=-0.1, le=0.1)
    op_cost_fixed_wan: float = param(0.3, "万元 per loan per year", "assumption", ge=0, le=100)
    op_cost_rate_annual: float = param(0.005, "annual", "assumption", ge=0, le=0.2)
    margin_annual: float = param(0.009, "annual", "assumption", ge=0, le=0.3)
    appetite_el_annual: float = param(0.035, "max expected annual loss rate (PD × LGD net of "
                                      "risk sharing)", "assumption", ge=0, le=1)
    precision_base: float = param(0.5, "1/σ² of hard information", "assumption", gt=0, le=100)
    rest_roa_annual: float = param(0.007, "return on non-SME assets", "NFRA ROA 2024 ~0.7%",
                                   ge=-0.1, le=0.1)
    payout_ratio: float = param(0.3, "share of profit paid out", "assumption: dividends ~30%",
                                **SHARE)
    management_buffer: float = param(0.01, "capital / RWA kept above the minimum and the "
                                     "conservation buffer", "assumption: banks keep a "
                                     "margin over requirements", ge=0, le=0.2)
    payout_capital_sensitivity: float = param(2.0, "change of the payout ratio per unit "
                                              "relative gap of the capital ratio to its "
                                              "target", "assumption: banks below target "
                                              "retain profits", ge=0, le=50)
    regional: bool = param(False, "lends only in own region", "CBIRC 2021 internet-loan rules")
    liquidity_buffer: float = param(0.12, "share of deposits held as liquid assets beyond "
                                    "required reserves", "NFRA liquidity rules (liquidity "
                                    "ratio ≥ 25%; small banks, without LCR, hold more "
                                    "liquid assets and lend close to it)", **SHARE)
    inclusive_ftp_discount_annual: float = param(
        0.0, "annual, cut of the internal funds-transfer price of inclusive SME loans: "
        "lowers the margin the bank quotes, not its funding cost",
        "CBIRC notices on small-business finance from 2019 (银保监办发〔2019〕48号): "
        "internal FTP preference for inclusive SME loans of at least 50bp", ge=0, le=0.05)
    due_diligence_exemption: float = param(
        0.0, "share of a default's internal cost (to the loan officer's score) waived under "
        "尽职免责: raises the expected loss the bank approves by x/(1-x) of its appetite",
        "CBIRC 尽职免责 notices for small-business lending (2016 onward): staff who "
        "followed procedure are not held liable for losses; the share is an assumption",
        ge=0, le=0.9)


def _typed(model: type[Strict], sources: dict[str, str], values: dict[str, Any]):
    """A table of one lender type: its defaults, and the source of each default that is
    not the field's own (``sources``, by field name), so every value cites where it comes
    from; :func:`parameter_table` reads them from the field."""
    unknown = set(sources) - set(model.model_fields)
    if unknown:
        raise ValueError(f"sources for unknown fields {sorted(unknown)}")
    return Field(default_factory=lambda: model(**values),
                 json_schema_extra={"sources": dict(sources)})


def _bank(sources: dict[str, str] | None = None, **kw: Any):
    return _typed(BankType, sources or {}, kw)


class BanksSection(Strict):
    large_state: BankType = _bank({"count": "CBIRC bank lists: 6 large state-owned "
                                            "commercial banks"},
                                  count=6, total_assets_yi=1.8e6, loans_to_assets=0.58,
                                  sme_share_of_loans=0.085, capital_ratio=0.175,
                                  funding_spread_annual=-0.013, op_cost_fixed_wan=0.35,
                                  margin_annual=0.008, appetite_el_annual=0.034,
                                  precision_base=0.6, liquidity_buffer=0.10)
    joint_stock: BankType = _bank({"count": "CBIRC bank lists: 12 joint-stock commercial "
                                            "banks"},
                                  count=12, total_assets_yi=7.2e5, loans_to_assets=0.57,
                                  sme_share_of_loans=0.06, capital_ratio=0.135,
                                  funding_spread_annual=-0.009, op_cost_fixed_wan=0.4,
                                  margin_annual=0.010, appetite_el_annual=0.034,
                                  precision_base=0.55, liquidity_buffer=0.11)
    city_commercial: BankType = _bank({"count": "assumption: 12 banks stand for the ~125 "
                                                "city commercial banks (CBIRC bank lists)"},
                                      count=12, total_assets_yi=6.0e5, loans_to_assets=0.52,
                                      sme_share_of_loans=0.10, capital_ratio=0.125,
                                      funding_spread_annual=-0.006, op_cost_fixed_wan=0.3,
                                      margin_annual=0.011, appetite_el_annual=0.04,
                                      precision_base=0.5, regional=True,
                                      liquidity_buffer=0.24)
    rural: BankType = _bank({"count": "assumption: 12 banks stand for the rural commercial "
                                      "and cooperative banks (CBIRC bank lists)"},
                            count=12, total_assets_yi=5.5e5, loans_to_assets=0.55,
                            sme_share_of_loans=0.16, capital_ratio=0.125,
                            funding_spread_annual=-0.004, op_cost_fixed_wan=0.25,
                            margin_annual=0.012, appetite_el_annual=0.045,
                            precision_base=0.5, regional=True, liquidity_buffer=0.205)


# ---------------------------------------------------------------- [platforms]
class PlatformKind(Strict):
    count: int = param(1, "platforms at start", "assumption", ge=0, le=200)
    max_count: int = param(8, "slots for entrants", "assumption", ge=0, le=500)
    net_assets_yi: float = param(100.0, "亿元 per platform", "assumption", gt=0)
    funding_cost_annual: float = param(0.06, "cost of own funds and ABS", "assumption",
                                       ge=0, le=0.5)
    partner_margin_annual: float = param(0.01, "partner bank's margin over its funding",
                                         "assumption", ge=0, le=0.3)
    op_cost_fixed_wan: float = param(0.02, "万元 per loan per year", "assumption", ge=0,
                                     le=100)
    op_cost_rate_annual: float = param(0.01, "annual", "assumption", ge=0, le=0.3)
    margin_annual: float = param(0.03, "annual", "assumption", ge=0, le=0.5)
    appetite_el_annual: float = param(0.075, "max expected annual loss rate", "assumption",
                                      ge=0, le=1)
    precision_base: float = param(0.3, "1/σ² without data", "assumption", gt=0, le=100)
    data_level: float = param(1.0, "alternative data depth", "assumption", ge=0, le=10)
    per_firm_limit_quarters: float = param(0.8, "× quarterly revenue", "assumption", ge=0,
                                           le=20)
    securitised_share: float = param(0.3, "share of own part sold as ABS", "assumption",
                                     **SHARE)
    abs_spread_annual: float = param(0.015, "investors' yield over the 1y LPR on the "
                                     "platform's ABS", "assumption", ge=-0.1, le=0.3)
    fee_rate: float = param(0.0, "fee on funds raised (non-debt)", "assumption", **SHARE)
    investor_capacity_yi: float = param(0.0, "亿元 per quarter from outside investors",
                                        "only crowd/equity platforms raise investors' money",
                                        ge=0)
    payout_ratio: float = param(0.3, "share of profit paid out", "assumption", **SHARE)
    entry_roe_threshold: float = param(0.18, "segment ROE that attracts an entrant",
                                       "assumption", ge=0, le=5)
    entry_interval_quarters: int = param(4, "quarters after an entry before the next "
                                         "platform of the kind may enter", "assumption: "
                                         "licensing and set-up take about a year", ge=1, le=40)
    open: bool = param(True, "switch: the kind lends to new borrowers; false closes it to "
                       "new lending (its book runs off, the rest is resolved after "
                       "wind_down_quarters)", "instrument: the 2019-2020 P2P clean-up "
                       "(CBIRC 2020-11-27: 0 platforms operating by mid-Nov 2020)")
    investor_funds_yi: float = param(0.0, "亿元 per platform: retail investors' money a P2P "
                                     "platform places (its loans outstanding at most)",
                                     "only P2P platforms lend investors' money", ge=0)
    investor_rate_annual: float = param(0.0, "annual yield promised to retail investors on "
                                        "their performing loans", "only P2P platforms",
                                        ge=0, le=0.5)
    borrowing_cap: float = param(0.0, "bank borrowing / net capital", "only small-loan "
                                 "companies borrow against their capital", ge=0, le=10)
    borrowing_spread_annual: float = param(0.02, "cost of bank borrowing over the 1y LPR",
                                           "assumption: small-loan companies borrow above "
                                           "prime", ge=-0.1, le=0.3)
    wind_down_quarters: int = param(8, "quarters after the kind is closed before the rest of "
                                    "its book is resolved", "assumption: online loans "
                                    "(2 quarters) mature and bad loans are written off "
                                    "(4 quarters) within it; P2P clean-up 2019-2020",
                                    ge=1, le=80)
    raise_rate_quarterly: float = param(0.0, "new equity a platform raises in a quarter, "
                                        "share of its capital", "assumption: 0 for kinds "
                                        "that do not raise equity by return", ge=0, le=1)
    raise_roe_threshold: float = param(0.12, "annual ROE above which a platform whose "
                                       "capacity binds raises equity", "assumption: above "
                                       "the ~10-12% cost of equity of listed Chinese fintech "
                                       "and internet firms, so new equity earns its cost",
                                       ge=0, le=5)
    raise_slack: float = param(0.1, "capacity left at the end of the credit round, share "
                               "of the quarter's planned capacity, at or below which "
                               "capacity binds", "assumption", **SHARE)
    wind_down_recovery: float = param(0.2, "share of the book left at resolution paid to its "
                                      "funders by the buyer", "assumption: of about 8,000亿 "
                                      "owed to P2P investors in Aug 2020 little was repaid "
                                      "(CBIRC 2020-11-27; PBoC Financial Stability Report "
                                      "2020)", **SHARE)


_RAISE_SOURCE = ("assumption: at most 2.5% of capital a quarter (10% a year), about what "
                 "retained profit adds at a 15% ROE and 30% payout; big-tech platforms "
                 "raised equity in private rounds several times in 2015-2018 (Ant "
                 "Group's series A to C)")


def _platform(sources: dict[str, str] | None = None, **kw: Any):
    return _typed(PlatformKind, sources or {}, kw)


class PlatformsSection(Strict):
    big_tech: PlatformKind = _platform({"count": "report names Ant, Tencent, JD, Baidu",
                                        "raise_rate_quarterly": _RAISE_SOURCE,
                                        "op_cost_fixed_wan": "report: automated approval",
                                        "data_level": "report: big-data scoring"},
                                       count=4, max_count=6, net_assets_yi=900.0,
                                       funding_cost_annual=0.06, op_cost_fixed_wan=0.02,
                                       op_cost_rate_annual=0.015, margin_annual=0.06,
                                       appetite_el_annual=0.075,
                                       precision_base=0.3, data_level=1.6,
                                       per_firm_limit_quarters=1.0, securitised_share=0.4,
                                       raise_rate_quarterly=0.025)
    online_micro: PlatformKind = _platform({"count": "assumption: a few large licensed "
                                                     "online micro-lenders stand for the "
                                                     "rest",
                                            "op_cost_fixed_wan": "report: automated "
                                                                 "approval",
                                            "raise_rate_quarterly": _RAISE_SOURCE},
                                           count=8, max_count=16, net_assets_yi=60.0,
                                           funding_cost_annual=0.075, op_cost_fixed_wan=0.05,
                                           op_cost_rate_annual=0.025, margin_annual=0.085,
                                           appetite_el_annual=0.12, precision_base=0.3,
                                           data_level=0.8, per_firm_limit_quarters=0.8,
                                           securitised_share=0.2, raise_rate_quarterly=0.025)
    supply_chain: PlatformKind = _platform({"count": "assumption: core-firm and fintech "
                                                     "supply-chain finance platforms"},
                                           count=6, max_count=10, net_assets_yi=500.0,
                                           funding_cost_annual=0.04, op_cost_fixed_wan=0.1,
                                           op_cost_rate_annual=0.008, margin_annual=0.02,
                                           appetite_el_annual=0.04, precision_base=0.4,
                                           data_level=1.0, per_firm_limit_quarters=0.8,
                                           securitised_share=0.3)
    crowd_equity: PlatformKind = _platform({"count": "assumption: few equity-crowdfunding "
                                                     "platforms remain after the 2016-2019 "
                                                     "clean-up of online finance",
                                            "investor_capacity_yi": "report F11: "
                                                                    "crowdfunding 1,700亿 "
                                                                    "(2022)"},
                                           count=4, max_count=8, net_assets_yi=30.0,
                                           funding_cost_annual=0.0, op_cost_fixed_wan=0.5,
                                           op_cost_rate_annual=0.0, margin_annual=0.0,
                                           appetite_el_annual=0.09, precision_base=0.35,
                                           data_level=0.6, per_firm_limit_quarters=2.0,
                                           securitised_share=0.0, fee_rate=0.05,
                                           investor_capacity_yi=600.0)
    # P2P lending and small-loan companies: none in the 2024 baseline. P2P lending was
    # wound down by November 2020; small-loan companies' 2024 presence is set when the
    # baseline is re-estimated (until then count 0). A scenario of the late 2010s sets
    # count and max_count; the values below describe end-2018.
    p2p: PlatformKind = _platform({
        "count": "2024 baseline: none (P2P wound down, 29 platforms left end-Jun 2020, 0 by "
                 "mid-Nov 2020: CBIRC 2020-11-27); a 2018 scenario sets 6, each agent "
                 "standing for ~300 of the ~1,800 platforms operating in Jul 2018 "
                 "(industry data; Xinhua 2020-11-28)",
        "max_count": "2024 baseline: no slots (no P2P agent is made)",
        "net_assets_yi": "assumption: platforms' own equity small against the money they "
                         "place",
        "investor_funds_yi": "P2P outstanding ~1.3万亿 mid-2018, 1.22万亿 end-2017 (Tsinghua "
                             "PBCSF 2018-12-05; FT): 13,000亿 over 6 agents",
        "investor_rate_annual": "assumption: P2P investors were promised about 10% a year "
                                "in 2018 (industry data)",
        "margin_annual": "assumption: P2P service fees brought rates near the judicial "
                         "protection cap (24%)",
        "precision_base": "assumption: weak screening, little data",
        "data_level": "assumption: weak screening, little data",
        "appetite_el_annual": "assumption: high-risk lending",
        "entry_roe_threshold": "assumption: no entry by return; counts change by schedule",
        "wind_down_recovery": "assumption: of about 8,000亿 owed to P2P investors in Aug 2020 "
                              "little was repaid (CBIRC 2020-11-27; PBoC Financial "
                              "Stability Report 2020)"},
        count=0, max_count=0, net_assets_yi=10.0, funding_cost_annual=0.0,
        op_cost_fixed_wan=0.05, op_cost_rate_annual=0.03, margin_annual=0.10,
        appetite_el_annual=0.15, precision_base=0.1, data_level=0.3,
        per_firm_limit_quarters=0.6, securitised_share=0.0, investor_funds_yi=2200.0,
        investor_rate_annual=0.10, entry_roe_threshold=5.0)
    small_loan: PlatformKind = _platform({
        "count": "2024 baseline: 0 until the baseline is re-estimated with small-loan "
                 "companies; a 2018 scenario sets 6, each agent standing for ~1,350 of "
                 "the 8,133 companies at end-2018 (PBoC small-loan company statistics)",
        "max_count": "2024 baseline: no slots (no small-loan agent is made)",
        "net_assets_yi": "PBoC small-loan company statistics end-2018: paid-in capital "
                         "~8,360亿, loans 9,550亿 (8,133 companies): ~1,390亿 over 6 agents",
        "funding_cost_annual": "assumption: owners' required return on capital",
        "borrowing_cap": "CBRC/PBoC 2008 guidance (银监发〔2008〕23号): borrowing from banks at "
                         "most 50% of net capital (later raised locally)",
        "margin_annual": "assumption: small-loan companies price near the licensed cap "
                         "(24%)",
        "precision_base": "assumption: weak screening, little data",
        "data_level": "assumption: weak screening, little data",
        "appetite_el_annual": "assumption: high-risk lending",
        "entry_roe_threshold": "assumption: no entry by return; counts change by schedule"},
        count=0, max_count=0, net_assets_yi=1390.0, funding_cost_annual=0.08,
        op_cost_fixed_wan=0.3, op_cost_rate_annual=0.03, margin_annual=0.08,
        appetite_el_annual=0.12, precision_base=0.2, data_level=0.3,
        per_firm_limit_quarters=1.0, securitised_share=0.0, borrowing_cap=0.5,
        entry_roe_threshold=5.0)


# ---------------------------------------------------------------- [policy]
class CentralBank(Strict):
    lpr_1y_annual: float = param(0.0345, "annual", "PBoC 1y LPR from 2023-08-21", ge=0, le=0.3)
    rrr: float = param(0.070, "share of deposits", "PBoC weighted RRR ~7.0% after 2024-02",
                       **SHARE)
    reserve_remuneration_annual: float = param(0.0162, "annual", "PBoC: required reserves earn "
                                               "1.62%", ge=0, le=0.2)
    funding_beta: float = param(0.8, "bank funding cost per unit LPR", "assumption: deposit "
                                "rates follow LPR cuts", ge=0, le=2)
    relending_quota_yi: float = param(17600.0, "亿元", "PBoC 支小再贷款 quota 1.76万亿 (Jun 2023)",
                                      ge=0)
    relending_rate_annual: float = param(0.0175, "annual", "PBoC 1.75% until May 2025", ge=0,
                                         le=0.3)
    inclusive_incentive_rate: float = param(0.01, "share of local banks' inclusive-loan increase",
                                            "PBoC inclusive-loan support tool 2022-2024",
                                            **SHARE)
    deferral_support_rate: float = param(0.01, "share of principal deferred, paid once to "
                                         "city commercial and rural banks",
                                         "PBoC 普惠小微企业贷款延期支持工具 2020-06-01 to "
                                         "2021-12-31: 1% of the deferred principal to local "
                                         "banks", **SHARE)
    reactive_rule: bool = param(False, "switch", "optional rule: cut LPR when defaults rise")
    rule_default_threshold: float = param(0.04, "annual SME default rate", "assumption",
                                          **SHARE)
    rule_step: float = param(0.001, "LPR cut per quarter", "assumption", ge=0, le=0.05)
    rule_floor_annual: float = param(0.02, "lowest LPR the rule sets", "assumption", ge=0,
                                     le=0.3)


class Banking(Strict):
    min_car: float = param(0.08, "capital / RWA", "China capital rules 2023", **SHARE)
    conservation_buffer: float = param(0.025, "capital / RWA", "China capital rules 2023",
                                       **SHARE)
    sme_risk_weight: float = param(0.75, "RWA / SME loans", "2023 rules: regulatory retail 75%",
                                   ge=0, le=2)
    two_increases: bool = param(True, "switch", "两增两控 since 2018")
    npl_tolerance: float = param(0.03, "SME NPL allowed above the bank's overall NPL",
                                 "CBIRC 2019: inclusive-SME NPL up to 3pp above overall",
                                 **SHARE)
    overall_npl: float = param(0.015, "NPL ratio of banks' other lending",
                               "NFRA: commercial-bank NPL 1.50% (2024)", **SHARE)
    npl_excess_sensitivity: float = param(10.0, "appetite cut per unit of SME NPL above the "
                                          "tolerance", "assumption", ge=0, le=100)
    local_bank_regional_limit: bool = param(True, "switch: city and rural banks lend only in "
                                            "their home region",
                                            "CBIRC 2021: local banks may not lend outside "
                                            "their region (from 2022-01-01)")
    target_pressure: float = param(1.0, "appetite and margin response to target gaps",
                                   "assumption", ge=0, le=20)
    target_gap_cap: float = param(0.5, "largest shortfall against the two increases a bank "
                                  "responds to (growth gap plus borrower gap, fraction)",
                                  "assumption: a bank far behind its target does not chase "
                                  "it without limit", ge=0, le=5)
    large_bank_growth_target: float = param(0.0, "yearly growth of the large state-owned "
                                            "banks' inclusive SME book the government asks "
                                            "for (0 = none); a shortfall against the straight "
                                            "path to it penalises their objective like the "
                                            "two increases", "Government Work Reports: "
                                            "30% or more in 2019, 40% in 2020, 30% in 2021 "
                                            "(set by [[change]] in those years)", ge=0, le=2)
    competition_margin_sensitivity: float = param(1.0, "margin cut per unit share of new "
                                                  "SME lending a bank type has lost against "
                                                  "its first-year share (margin ÷ (1 + x × "
                                                  "loss))", "assumption: a bank type losing "
                                                  "borrowers to rivals prices them back",
                                                  ge=0, le=20)
    two_increases_appetite: float = param(0.15, "appetite raise, share of base appetite, "
                                          "under two increases (before target_pressure)",
                                          "assumption", ge=0, le=5)
    two_increases_margin_factor: float = param(0.7, "× banks' SME margin under two increases "
                                               "(before target_pressure)", "assumption: "
                                               "inclusive loans priced thin", ge=0, le=1)
    platform_failing_capital_share: float = param(0.2, "a platform is resolved when its "
                                                  "capital falls below this share of its "
                                                  "starting capital", "assumption", **SHARE)
    joint_own_contribution: float = param(0.30, "platform share of each joint loan",
                                          "CBIRC/PBoC 2020-11 online micro-loan rules", **SHARE)
    partner_concentration_cap: float = param(0.25, "joint loans with one partner / bank "
                                             "capital (tier-1 in the rule)",
                                             "CBIRC 2021 internet-loan rules", ge=0, le=100)
    joint_total_cap: float = param(0.50, "joint loans / bank total loans",
                                   "CBIRC 2021 internet-loan rules", ge=0, le=1)
    facilitation_cap: float = param(0.0, "loans platforms facilitate for a bank and it funds "
                                    "in full (助贷) / bank capital", "assumption: 0 in the "
                                    "2024 baseline, calibrated with all platform lending "
                                    "joint or own-funded; the 2020-21 rules cap joint loans, "
                                    "not facilitation, so a scenario sizes it "
                                    "(scenarios/loan_facilitation.toml)", ge=0, le=100)
    online_per_firm_cap_wan: float = param(100.0, "万元 per firm", "2020-11 rules: ≤1,000,000 yuan",
                                           ge=0)
    platform_own_book_cap: float = param(6.0, "own book / net assets (equity + 1× non-standard "
                                         "+ 4× ABS)", "2020-11 online micro-loan rules", ge=0,
                                         le=10000)
    renewal_share: float = param(0.35, "share of maturing performing loans renewed",
                                 "NFRA 2024: 无还本续贷 extended", **SHARE)
    renewal_min_history_quarters: int = param(4, "quarters of repayments, with no default "
                                              "ever, before a bank loan can be renewed",
                                              "assumption: renewal is for firms with a "
                                              "good record, here one year of it",
                                              ge=0, le=80)
    provision_coverage: float = param(1.5, "provisions / NPL", "CBIRC provision coverage",
                                      ge=0, le=5)


class Courts(Strict):
    licensed_cap_annual: float = param(0.24, "APR", "法释〔2020〕27号: licensed lenders under 24%",
                                       ge=0, le=2)
    licensed_under_lpr_multiple: bool = param(False, "switch", "counterfactual: 4×LPR for "
                                              "licensed lenders")
    lpr_multiple: float = param(4.0, "× 1y LPR", "SPC 2020-08-20 private-lending cap", ge=0,
                                le=20)
    private_cap_annual: float = param(0.24, "APR: private lending (P2P loans) protected up "
                                      "to it", "SPC 2015 private-lending provisions: 24% "
                                      "protected, above 36% void (until 2020-08-20)",
                                      ge=0, le=2)
    private_under_lpr_multiple: bool = param(True, "switch: private lending (P2P loans) "
                                             "capped at lpr_multiple × LPR, not "
                                             "private_cap_annual", "SPC 2020-08-20 "
                                             "private-lending cap 4 × LPR")


class Fiscal(Strict):
    risk_compensation_share: float = param(0.10, "share of bank SME loan losses", "provincial "
                                           "funds 20-50% where present; national average "
                                           "assumption", **SHARE)
    guarantee_coverage: float = param(0.0, "share of micro-loan loss guaranteed",
                                      "National Financing Guarantee Fund", **SHARE)
    guarantee_fee_annual: float = param(0.01, "annual fee paid by firm", "halved in 2020",
                                        ge=0, le=0.2)
    deferral: bool = param(False, "switch: the deferral programme takes applications (a "
                           "current firm hit by a shock defers its bank loans' principal)",
                           "延期还本付息: PBoC/CBIRC et al. notice 2020-03-01 (Xinhua); "
                           "extended to 2021-03-31 and 2021-12-31")
    deferral_interest: bool = param(False, "switch: deferred loans' interest is deferred "
                                    "too (added to principal)", "PBoC/CBIRC notice "
                                    "2020-03-01: principal and interest due to 2020-06-30; "
                                    "from June 2020 principal only (interest deferral "
                                    "optional)")
    deferral_revenue_gap: float = param(0.2, "revenue shortfall against the firm's trend "
                                        "that makes it apply (or cash short of its debt "
                                        "service)", "assumption: a fall as large as 2020Q1 "
                                        "retail sales (−19.0% y/y, NBS 2020-04-17)", **SHARE)
    deferral_repay_quarters: int = param(4, "quarters over which principal that fell due "
                                         "while deferred is repaid after the window",
                                         "assumption: banks agreed repayment plans of about "
                                         "a year after the deferral dates (CBIRC 2020-06 "
                                         "notice: 'reasonable repayment arrangements')",
                                         ge=1, le=40)
    interest_subsidy_annual: float = param(0.0, "government pays on loans to individual and "
                                           "micro firms",
                                           "assumption", ge=0, le=0.2)


class Data(Strict):
    protection: float = param(0.5, "0 = none, 1 = strict", "PIPL 2021 in force", **SHARE)
    bureau_coverage: float = param(1.0, "× base coverage by size", "PBoC credit reference",
                                   ge=0, le=5)
    bank_big_data: float = param(0.3, "banks' use of alternative data", "report F18: >50% of "
                                 "institutions use big data", **SHARE)
    verified_receivables: float = param(0.15, "share of anchored firms with verified "
                                        "receivables", "report: blockchain receivables", **SHARE)


class PolicySection(Strict):
    central_bank: CentralBank = Field(default_factory=CentralBank)
    banking: Banking = Field(default_factory=Banking)
    courts: Courts = Field(default_factory=Courts)
    fiscal: Fiscal = Field(default_factory=Fiscal)
    data: Data = Field(default_factory=Data)


# ---------------------------------------------------------------- changes and shocks
class Change(Strict):
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


class Scenario(Strict):
    name: str = "scenario"
    description: str = ""
    extends: str | None = None
    run: RunSection = Field(default_factory=RunSection)
    population: PopulationSection = Field(default_factory=PopulationSection)
    macro: MacroSection = Field(default_factory=MacroSection)
    firms: FirmsSection = Field(default_factory=FirmsSection)
    credit: CreditSection = Field(default_factory=CreditSection)
    banks: BanksSection = Field(default_factory=BanksSection)
    platforms: PlatformsSection = Field(default_factory=PlatformsSection)
    policy: PolicySection = Field(default_factory=PolicySection)
    change: list[Change] = Field(default_factory=list)
    shock: list[Shock] = Field(default_factory=list)


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
