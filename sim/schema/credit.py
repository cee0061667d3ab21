"""``[credit]``: how firms choose a channel and how lenders screen and price."""

from __future__ import annotations

from pydantic import Field

from sim.schema.base import SHARE, Strict, param
from sim.schema.informal import OutreachSection


# ---------------------------------------------------------------- [credit]
class ChannelConstants(Strict):
    bank: float = param(0.0, "logit utility", "calibrated to online share 30-45%", ge=-20, le=20)
    online: float = param(1.5, "logit utility", "calibrated", ge=-20, le=20)
    supply_chain: float = param(0.4, "logit utility", "calibrated", ge=-20, le=20)


class TimeToCash(Strict):
    bank: float = param(3.0, "weeks", "report: automated approval cuts time", ge=0, le=52)
    online: float = param(0.1, "weeks", "report: minutes for big-tech loans", ge=0, le=52)
    supply_chain: float = param(1.0, "weeks", "assumption", ge=0, le=52)


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
    outreach: OutreachSection = Field(default_factory=OutreachSection)
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
    writeoff_quarters: float = param(4.0, "quarters non-performing before write-off, on "
                                     "average (a fraction: that share of bad loans stays "
                                     "a quarter longer)", "assumption", ge=1, le=20)
    writeoff_quarters_before_2019: float = param(
        5.0, "quarters non-performing before write-off in a market built from the year-end "
        "facts of 2015-2018 (a 2016Q1-2019Q1 start, sim.start_state)", "assumption: banks "
        "wrote off and sold bad small loans more slowly before the 2018 cut in required "
        "provision coverage (CBRC 银监发〔2018〕7号, 150% to 120-150%, to free provisions "
        "for disposal) and the disposal drive that followed; set so that a 2019Q1 start "
        "reports the end-2018 inclusive NPL ratio of 4.2% (history_inputs, derived from the "
        "2019 China Inclusive Finance Report): at 200,000 SMEs, mean of four seeds, 3.7% with "
        "4.5 quarters, 4.0% with 4.75, 4.25% (4.0-4.5%) with 5",
        ge=1, le=20)
    homogenization: float = param(0.4, "margin elasticity to lenders per segment",
                                  "report: homogenization compresses margins", ge=0, le=2)
    unsecured_limit_quarters: float = param(1.0, "× quarterly revenue, bank unsecured, for a "
                                            "firm with a credit-bureau file (without one: × "
                                            "data.bank_big_data × its digital footprint)",
                                            "assumption", ge=0, le=10)
    collateral_ltv: float = param(0.6, "loan / collateral", "assumption", **SHARE)
    verified_advance: float = param(1.25, "× the receivables financed (from "
                                    "channels.core_payables_yi) on a verified receivable",
                                    "assumption: factoring advances ~80% of face value; "
                                    "receivables verified on the anchor's ledger "
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
    precision_tax: float = param(0.5, "1/σ² added at banks by the firm's tax-payment records "
                                 "(银税互动)", "assumption: tax paid confirms revenue but "
                                 "not debts", ge=0, le=100)
    tax_limit_share: float = param(0.5, "share of unsecured_limit_quarters a bank lends "
                                   "without collateral on a tax file alone (no bureau file)",
                                   "assumption: 银税互动 credit lines are set at a multiple "
                                   "of the tax paid", **SHARE)
    tech_depreciation_quarterly: float = param(0.05, "share of a bank's technology stock "
                                               "written off per quarter", "assumption: "
                                               "software and systems last about five years",
                                               **SHARE)
    tech_precision_weight: float = param(0.5, "weight of a bank's own technology in its "
                                         "big-data precision and no-file unsecured limit: "
                                         "factor = 1 − w + w × intensity / "
                                         "tech_reference_intensity", "assumption", ge=0,
                                         le=1)
    tech_reference_intensity: float = param(0.0025, "technology stock / total assets at "
                                            "which a bank's technology factor is 1",
                                            "assumption: about the asset-weighted mean of "
                                            "banks' starting stocks", gt=0, le=1)
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


