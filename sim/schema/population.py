"""``[population]``: the firms a run starts with and the ones that enter."""

from __future__ import annotations

from pydantic import Field

from sim.schema.base import Mix, SHARE, Strict, _by_size, param


# ---------------------------------------------------------------- [population]
class SizeMix(Mix):
    individual: float = param(0.40, "share of agents", "assumption: over-samples small firms",
                              **SHARE)
    micro: float = param(0.35, "share of agents", "assumption", **SHARE)
    small: float = param(0.25, "share of agents", "assumption", **SHARE)


# China had 1.84亿 market entities at the end of 2023 (SAMR: 1.24亿 individual businesses,
# 0.58亿 enterprises); a stratum of more than a billion firms is not China, and far
# beyond it the sums of money lose the precision the stock-flow check needs, then overflow
_REPRESENTED_MAX = {"le": 1e9}
_REPRESENTED_BOUND = ("; at most 1e9 (10亿, over five times all China's 1.84亿 market "
                      "entities, SAMR end-2023)")


class Represented(Strict):
    individual: float = param(78e6, "firms", "SAMR 2022: ~109M individual businesses; report "
                              "counts 1.1亿 small & micro incl. individual businesses"
                              + _REPRESENTED_BOUND, gt=0, **_REPRESENTED_MAX)
    micro: float = param(27e6, "firms", "assumption: split of enterprises by size"
                         + _REPRESENTED_BOUND, gt=0, **_REPRESENTED_MAX)
    small: float = param(5e6, "firms", "assumption: split of enterprises by size"
                         + _REPRESENTED_BOUND, gt=0, **_REPRESENTED_MAX)


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


# A median of more than 10亿元 a year is no SME (NBS 2017 size classes: a medium-sized
# firm has at most 4亿元 of revenue); far beyond it the sums of money lose the precision
# the stock-flow check needs, then overflow. Below 1,000元 a year a business is not
# trading, and at a value next to zero (1e-320) a firm's log revenue is −∞ and its cash
# not a number.
RevenueBySize = _by_size("RevenueBySize", "万元 per year (median)", "assumption: NBS firm "
                         "size thresholds; from 0.1 (1,000元) to 1e5 (10亿元, above the NBS "
                         "2017 ceiling of a medium-sized firm, 4亿元)", (40.0, 250.0, 2500.0),
                         {"ge": 0.1, "le": 1e5})
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
    anchor_share: float = param(0.28, "share in a core firm's supply chain (× the sector's "
                                "affinity, categories.ANCHOR_AFFINITY)", "assumption: raised "
                                "from 0.22 towards F10's supply-chain finance (15.7万亿, "
                                "2022) as far as the 2024 bands and the lever tests allow; see "
                                "calibration.md", **SHARE)
    anchors: int = param(400, "core firms", "assumption", ge=1, le=30000)
    entry_rate_quarterly: float = param(0.034, "entrants / alive", "SAMR: ~17%/yr new market "
                                        "entities; net of quick failures", ge=0, le=0.5)
    capacity_factor: float | None = param(None, "slots at start / initial agents",
                                          "None = 1.1 + 0.015 × quarters simulated: room for "
                                          "~5%/yr net entry plus closed firms' unresolved "
                                          "loans; the slots grow if entrants need more",
                                          ge=1.0, le=10)


