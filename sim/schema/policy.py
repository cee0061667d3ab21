"""``[policy]``: the instruments of the central bank, the banking regulator, the courts,
the fiscal authority and the data regulator.
"""

from __future__ import annotations

from pydantic import Field

from sim.schema.base import SHARE, Strict, param


# ---------------------------------------------------------------- [policy]
class CentralBank(Strict):
    lpr_1y_annual: float = param(0.0345, "annual", "PBoC 1y LPR from 2023-08-21", ge=0, le=0.3)
    rrr: float = param(0.070, "share of deposits", "PBoC weighted RRR ~7.0% after 2024-02; "
                       "at most 0.5: the highest RRR China has set is 21.5% (large banks, "
                       "2011), and at 1 no deposit could fund a loan (its funding cost "
                       "divides by 1 − rrr)", ge=0, le=0.5)
    reserve_remuneration_annual: float = param(0.0162, "annual", "PBoC: required reserves earn "
                                               "1.62%", ge=0, le=0.2)
    funding_beta: float = param(0.8, "bank funding cost per unit LPR", "assumption: deposit "
                                "rates follow LPR cuts", ge=0, le=2)
    relending_quota_yi: float = param(17600.0, "亿元", "PBoC 支小再贷款 quota 1.76万亿 (Jun 2023)",
                                      ge=0)
    relending_rate_annual: float = param(0.0175, "annual", "PBoC 1.75% until May 2025", ge=0,
                                         le=0.3)
    unsecured_support_share: float = param(
        0.0, "share of the principal of local banks' new unsecured SME loans the central "
        "bank funds under the unsecured-loan support plan (0 = plan inactive); funded at "
        "relending_rate_annual", "PBoC 普惠小微企业信用贷款支持计划, 2020-06 to end-2021: "
        "40% of new unsecured inclusive loans of term ≥ 6 months by local banks (Caixin "
        "2020-12-23); the rate is an assumption", **SHARE)
    unsecured_support_quota_yi: float = param(4000.0, "亿元 the plan may fund in all",
                                              "PBoC 2020-06: 4,000亿 of re-lending", ge=0)
    unsecured_support_quarters: int = param(4, "quarters the central bank holds a purchase "
                                            "before the bank takes it back",
                                            "assumption: about a year, the term of most "
                                            "supported loans", ge=1,
                                            le=40)
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
    cost_target_fall_annual: float = param(0.0, "fall of banks' average rate on new "
                                           "inclusive SME loans asked for against the "
                                           "previous year's average (0 = no target)",
                                           "Government Work Report 2019: small and micro "
                                           "firms' all-in financing cost −1pp; 2020: over "
                                           "1pp below 2019 (Xinhua 2020-03-01)", ge=0,
                                           le=0.1)
    cost_target_pressure: float = param(0.5, "margin cut a bank type adds in a quarter per "
                                        "unit of its rate on new loans above the cost target "
                                        "(eases by as much below it; the margin never below "
                                        "zero)", "assumption: half the gap closed a quarter, "
                                        "so a yearly target is met within the year", ge=0,
                                        le=2)
    cost_cut_relax_quarterly: float = param(0.1, "share of the margin cut given back each "
                                            "quarter without a cost target",
                                            "assumption: margins recover over a few years "
                                            "once guidance ends", ge=0, le=1)
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
    vat_exemption: bool = param(True, "switch: banks' interest on qualifying small loans "
                                "(priced at most vat_exempt_rate_multiple × LPR, principal "
                                "at most vat_exempt_max_wan) is exempt from VAT",
                                "财税〔2018〕91号 from 2018-09-01, extended to 2027-12-31 "
                                "by the MOF/STA announcements of 2023")
    vat_rate: float = param(0.06, "VAT on banks' interest income", "VAT on financial "
                            "services, 6% (营改增 2016)", **SHARE)
    vat_exempt_rate_multiple: float = param(1.5, "× 1y LPR: highest rate of a qualifying "
                                            "loan", "财税〔2018〕91号: rate at most 150% of "
                                            "the benchmark rate (LPR since 2019-08)",
                                            ge=0, le=10)
    vat_exempt_max_wan: float = param(1000.0, "万元: largest qualifying credit line to one "
                                      "firm", "财税〔2018〕91号: single credit line ≤ 10m "
                                      "yuan to small and micro firms and individual "
                                      "businesses", ge=0)
    interest_subsidy_annual: float = param(0.0, "government pays on loans to individual and "
                                           "micro firms",
                                           "assumption", ge=0, le=0.2)


class Data(Strict):
    protection: float = param(0.5, "0 = none, 1 = strict", "PIPL 2021 in force", **SHARE)
    bureau_coverage: float = param(1.0, "× base coverage by size", "PBoC credit reference",
                                   ge=0, le=5)
    bureau_coverage_growth_annual: float = param(
        0.02, "yearly growth of bureau coverage (× the run's years elapsed, compounded, on "
        "bureau_coverage), capped at full coverage", "assumption: the PBoC credit reference "
        "center and the licensed bureaus (Baihang 2018, Pudao 2020) add files of firms "
        "that never borrowed", ge=-0.5, le=1)
    tax_data_coverage: float = param(0.35, "share of firms whose tax-payment records banks "
                                     "can read (a fixed rank per firm decides which)",
                                     "银税互动, launched 2015 by the State Taxation "
                                     "Administration and the CBRC (税总发〔2015〕96号); the "
                                     "2024 level is an assumption", **SHARE)
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


