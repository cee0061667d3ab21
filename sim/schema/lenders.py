"""``[banks.<type>]`` and ``[platforms.<kind>]``: the lenders, one table per type."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from sim.schema.base import SHARE, Strict, param


# ---------------------------------------------------------------- [banks]
class BankType(Strict):
    count: int = param(1, "banks", "CBIRC bank lists", ge=0, le=500)
    total_assets_yi: float = param(1e5, "亿元, whole type", "NFRA 2024; at most 1e7 "
                                   "(1,000万亿元, twice all China's banking assets, "
                                   "~450万亿元 at end-2024, NFRA)", gt=0, le=1e7)
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
    tech_investment_share: float = param(
        0.07, "share of a quarter's positive net income spent on the bank's technology "
        "stock (digital inclusive-lending systems), within the costs its returns are "
        "net of",
        "bank annual reports 2022: ICBC 262亿 of fintech investment on ~3,600亿 of profit "
        "(~7%); China Merchants Bank 142亿 on ~1,380亿 (~10%)", **SHARE)
    tech_stock_to_assets: float = param(
        0.003, "technology stock at the start, × the bank's total assets",
        "assumption: about five years (1 / credit.tech_depreciation_quarterly quarters) "
        "of investment at tech_investment_share of an ROA of ~0.8% (NFRA 2024)",
        ge=0, le=0.1)


class DigitalBankType(BankType):
    """A licensed digital bank: a bank's balance sheet and capital rules, a platform's
    screening on digital data and per-firm limit."""

    data_level: float = param(1.6, "alternative data depth", "assumption: as the big-tech "
                              "platforms whose data it uses", ge=0, le=10)
    per_firm_limit_quarters: float = param(0.5, "× quarterly revenue", "assumption: small "
                                           "loans (MYbank's average loan ~31,000 yuan in "
                                           "2019, ~72,000 in 2023; policy inputs)", ge=0,
                                           le=20)
    max_loan_wan: float = param(300.0, "万元 per firm: the largest loan its products make",
                                "WeBank's 微业贷 lends up to 3m yuan a firm (product terms); "
                                "the online per-firm cap applies too", gt=0)
    max_count: int = param(0, "banks", "slots a scheduled count can activate (each with "
                           "total_assets_yi ÷ slots of the balance sheet); at least count",
                           ge=0, le=50)


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
                                  precision_base=0.6, liquidity_buffer=0.10,
                                  tech_investment_share=0.07, tech_stock_to_assets=0.003)
    joint_stock: BankType = _bank({"count": "CBIRC bank lists: 12 joint-stock commercial "
                                            "banks",
                                   "tech_investment_share": "China Merchants Bank annual "
                                   "report 2022: 142亿 of IT investment on ~1,380亿 of profit",
                                   "tech_stock_to_assets": "assumption: joint-stock banks "
                                   "invested more per unit of assets than large banks"},
                                  count=12, total_assets_yi=7.2e5, loans_to_assets=0.57,
                                  sme_share_of_loans=0.06, capital_ratio=0.135,
                                  funding_spread_annual=-0.009, op_cost_fixed_wan=0.4,
                                  margin_annual=0.010, appetite_el_annual=0.034,
                                  precision_base=0.55, liquidity_buffer=0.11,
                                  tech_investment_share=0.10, tech_stock_to_assets=0.0045)
    city_commercial: BankType = _bank({"count": "assumption: 12 banks stand for the ~125 "
                                                "city commercial banks (CBIRC bank lists)",
                                       "tech_investment_share": "assumption: smaller banks "
                                       "invest a smaller share",
                                       "tech_stock_to_assets": "assumption: smaller banks "
                                       "hold less technology per unit of assets"},
                                      count=12, total_assets_yi=6.0e5, loans_to_assets=0.52,
                                      sme_share_of_loans=0.10, capital_ratio=0.125,
                                      funding_spread_annual=-0.006, op_cost_fixed_wan=0.3,
                                      margin_annual=0.011, appetite_el_annual=0.04,
                                      precision_base=0.5, regional=True,
                                      liquidity_buffer=0.24, tech_investment_share=0.05,
                                      tech_stock_to_assets=0.0015)
    rural: BankType = _bank({"count": "assumption: 12 banks stand for the rural commercial "
                                      "and cooperative banks (CBIRC bank lists)",
                             "tech_investment_share": "assumption: smaller banks invest a "
                             "smaller share",
                             "tech_stock_to_assets": "assumption: smaller banks hold less "
                             "technology per unit of assets"},
                            count=12, total_assets_yi=5.5e5, loans_to_assets=0.55,
                            sme_share_of_loans=0.16, capital_ratio=0.125,
                            funding_spread_annual=-0.004, op_cost_fixed_wan=0.25,
                            margin_annual=0.012, appetite_el_annual=0.045,
                            precision_base=0.5, regional=True, liquidity_buffer=0.205,
                            tech_investment_share=0.04, tech_stock_to_assets=0.001)

    digital_bank: DigitalBankType = _typed(
        DigitalBankType,
        {"count": "assumption: none in the 2024 baseline (scenarios/digital_banks.toml "
                  "adds MYbank and WeBank)",
         "total_assets_yi": "assumption: of the order of MYbank's and WeBank's published "
                            "balance sheets (~0.5万亿元 each, 2023 annual reports)",
         "sme_share_of_loans": "assumption: MYbank lends mostly to small-micro firms, "
                               "WeBank mostly to consumers",
         "deposits_to_assets": "assumption: no branches, more interbank funding",
         "capital_ratio": "assumption: CAR near the banking average (NFRA)",
         "funding_spread_annual": "assumption: dearer than branch deposits",
         "op_cost_fixed_wan": "assumption: automated origination (as the online platforms)",
         "margin_annual": "assumption: between the banks' and the online platforms'",
         "appetite_el_annual": "assumption: MYbank NPL about 1% (2019; policy inputs); at 6% "
                               "a digital bank's book took on losses that failed one of "
                               "two in scenarios/digital_banks.toml (20,000 SMEs)",
         "precision_base": "assumption: as the online platforms, little hard information"},
        dict(count=0, total_assets_yi=1.0e4, loans_to_assets=0.6, sme_share_of_loans=0.5,
             deposits_to_assets=0.6, capital_ratio=0.13, funding_spread_annual=0.0,
             op_cost_fixed_wan=0.02, margin_annual=0.04, appetite_el_annual=0.02,
             precision_base=0.3, liquidity_buffer=0.12))


# ---------------------------------------------------------------- [platforms]
class PlatformKind(Strict):
    count: int = param(1, "platforms at start", "assumption", ge=0, le=200)
    max_count: int = param(8, "slots for entrants", "assumption", ge=0, le=500)
    net_assets_yi: float = param(100.0, "亿元 per platform", "assumption; at most 1e6 "
                                 "(100万亿元, three quarters of China's GDP in 2024)", gt=0,
                                 le=1e6)
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
    max_loan_wan: float = param(1.0e6, "万元 per firm: the largest online loan its products "
                                "make, whatever the rules allow", "no product ceiling "
                                "(kinds outside the online channel)", gt=0)
    securitised_share: float = param(0.3, "share of own part sold as ABS", "assumption",
                                     **SHARE)
    abs_spread_annual: float = param(0.015, "investors' yield over the 1y LPR on the "
                                     "platform's ABS", "assumption", ge=-0.1, le=0.3)
    fee_rate: float = param(0.0, "fee on funds raised (non-debt)", "assumption", **SHARE)
    payout_ratio: float = param(0.3, "share of profit paid out", "assumption", **SHARE)
    entry_roe_threshold: float = param(0.18, "segment ROE that attracts an entrant",
                                       "assumption", ge=0, le=5)
    entry_interval_quarters: int = param(4, "quarters after an entry before the next "
                                         "platform of the kind may enter", "assumption: "
                                         "licensing and set-up take about a year", ge=1, le=40)
    reports_to_bureau: bool = param(True, "switch: the kind's loans are reported to the "
                                    "credit bureau, so a borrower gets a file and counts "
                                    "as a first-time borrower", "PBoC credit reference "
                                    "centre: banks and licensed online lenders report")
    open: bool = param(True, "switch: the kind lends to new borrowers; false closes it to "
                       "new lending (its book runs off, the rest is resolved after "
                       "wind_down_quarters)", "instrument: the 2019-2020 P2P clean-up "
                       "(CBIRC 2020-11-27: 0 platforms operating by mid-Nov 2020)")
    investor_funds_yi: float = param(0.0, "亿元 per platform: retail investors' money a P2P "
                                     "platform places (its loans outstanding at most)",
                                     "only P2P platforms lend investors' money; at most "
                                     "1e6 (100万亿元; all P2P lending peaked at ~1.3万亿元 "
                                     "in 2018)", ge=0, le=1e6)
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
                                        "data_level": "report: big-data scoring",
                                        "max_loan_wan": "MYbank's 网商贷 business loans up to "
                                                        "1m yuan a firm before the 2020-11 "
                                                        "rules (product terms)"},
                                       count=4, max_count=6, net_assets_yi=900.0,
                                       funding_cost_annual=0.06, op_cost_fixed_wan=0.02,
                                       op_cost_rate_annual=0.015, margin_annual=0.06,
                                       appetite_el_annual=0.075,
                                       precision_base=0.3, data_level=1.6,
                                       per_firm_limit_quarters=1.0, securitised_share=0.4,
                                       raise_rate_quarterly=0.025, max_loan_wan=100.0)
    online_micro: PlatformKind = _platform({"count": "assumption: a few large licensed "
                                                     "online micro-lenders stand for the "
                                                     "rest",
                                            "op_cost_fixed_wan": "report: automated "
                                                                 "approval",
                                            "raise_rate_quarterly": _RAISE_SOURCE,
                                            "max_loan_wan": "assumption: as big-tech "
                                                            "lenders' products"},
                                           count=8, max_count=16, net_assets_yi=60.0,
                                           funding_cost_annual=0.075, op_cost_fixed_wan=0.05,
                                           op_cost_rate_annual=0.025, margin_annual=0.085,
                                           appetite_el_annual=0.12, precision_base=0.3,
                                           data_level=0.8, per_firm_limit_quarters=0.8,
                                           securitised_share=0.2, raise_rate_quarterly=0.025,
                                           max_loan_wan=100.0)
    supply_chain: PlatformKind = _platform({"count": "assumption: core-firm and fintech "
                                                     "supply-chain finance platforms",
                                            "net_assets_yi": "assumption: capacity that "
                                                             "does not bind the channel in "
                                                             "2024 (calibration.md)"},
                                           count=6, max_count=10, net_assets_yi=700.0,
                                           funding_cost_annual=0.04, op_cost_fixed_wan=0.1,
                                           op_cost_rate_annual=0.008, margin_annual=0.02,
                                           appetite_el_annual=0.04, precision_base=0.4,
                                           data_level=1.0, per_firm_limit_quarters=0.8,
                                           securitised_share=0.3)
    crowd_equity: PlatformKind = _platform({"count": "assumption: few equity-crowdfunding "
                                                     "platforms remain after the 2016-2019 "
                                                     "clean-up of online finance"},
                                           count=4, max_count=8, net_assets_yi=30.0,
                                           funding_cost_annual=0.0, op_cost_fixed_wan=0.5,
                                           op_cost_rate_annual=0.0, margin_annual=0.0,
                                           appetite_el_annual=0.09, precision_base=0.35,
                                           data_level=0.6, per_firm_limit_quarters=2.0,
                                           securitised_share=0.0, fee_rate=0.05)
    # P2P lending and small-loan companies: none in the 2024 baseline. P2P lending was
    # wound down by November 2020; small-loan companies' 2024 presence is set when the
    # baseline is re-estimated (until then count 0). A scenario of the late 2010s sets
    # count and max_count; the values below describe end-2018.
    p2p: PlatformKind = _platform({
        "reports_to_bureau": "P2P platforms were not connected to the PBoC credit reference "
                             "system (CBIRC/PBoC 2019-09: work began to bring P2P "
                             "defaulters into it)",
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
        "max_loan_wan": "CBRC et al. 2016 interim measures on online lending intermediaries "
                        "(网络借贷信息中介机构业务活动管理暂行办法, art. 17): a firm's balance "
                        "on one platform at most 1m yuan",
        "wind_down_recovery": "assumption: of about 8,000亿 owed to P2P investors in Aug 2020 "
                              "little was repaid (CBIRC 2020-11-27; PBoC Financial "
                              "Stability Report 2020)"},
        count=0, max_count=0, net_assets_yi=10.0, funding_cost_annual=0.0,
        op_cost_fixed_wan=0.05, op_cost_rate_annual=0.03, margin_annual=0.10,
        appetite_el_annual=0.15, precision_base=0.1, data_level=0.3,
        per_firm_limit_quarters=0.6, securitised_share=0.0, investor_funds_yi=2200.0,
        investor_rate_annual=0.10, entry_roe_threshold=5.0, reports_to_bureau=False,
        max_loan_wan=100.0)
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
        "entry_roe_threshold": "assumption: no entry by return; counts change by schedule",
        "max_loan_wan": "CBRC/PBoC 2008 guidance (银监发〔2008〕23号): one borrower's balance "
                        "at most 5% of the company's net capital; ~1.03亿 a company at "
                        "end-2018 (8,360亿 paid-in over 8,133 companies, PBoC statistics)"},
        count=0, max_count=0, net_assets_yi=1390.0, funding_cost_annual=0.08,
        op_cost_fixed_wan=0.3, op_cost_rate_annual=0.03, margin_annual=0.08,
        appetite_el_annual=0.12, precision_base=0.2, data_level=0.3,
        per_firm_limit_quarters=1.0, securitised_share=0.0, borrowing_cap=0.5,
        entry_roe_threshold=5.0, max_loan_wan=514.0)


