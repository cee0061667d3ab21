"""``[channels]``: what sizes the channels that lenders' balance sheets do not — who seeks
equity and crowdfunding, investors' funds behind them, and core firms' payables behind
supply-chain finance."""

from __future__ import annotations

from sim.schema.base import FIRST_YEAR, LAST_YEAR, SHARE, Strict, param


# investors' funds a quarter beyond three quarters of China's yearly GDP (134.9万亿元 in
# 2024, NBS) are no longer SME finance; far beyond, the lenders' capacity overflows
_FUNDS_BOUND = "; at most 1e6 (100万亿元 a quarter, three quarters of China's 2024 GDP)"


class ChannelsSection(Strict):
    # --- demand for outside stakes (ODD 7.8): which firms with a project seek them
    seek_startup: float = param(0.25, "chance a start-up with a project seeks equity or "
                                "crowdfunding before debt", "assumption: set so that "
                                "outside stakes go mostly to start-ups and growth firms "
                                "(seed facts: crowdfunding and equity serve start-ups and "
                                "tech firms)", **SHARE)
    seek_growth: float = param(0.15, "chance a growth-stage firm with a project seeks "
                               "equity or crowdfunding before debt", "assumption", **SHARE)
    technology_factor: float = param(3.0, "× the chance for a technology firm",
                                     "assumption: equity and crowdfunding serve tech firms "
                                     "(seed facts)", ge=0, le=20)
    services_factor: float = param(1.5, "× the chance for a services firm", "assumption: "
                                   "consumer and cultural projects are crowdfunding's "
                                   "staple", ge=0, le=20)
    growth_sensitivity: float = param(1.0, "log of the factor on the chance per log point "
                                      "of recent revenue growth (revenue above its trend)",
                                      "assumption: investors back firms that are growing",
                                      ge=0, le=20)
    equity_min_wan: float = param(100.0, "万元: a firm seeking at least this much seeks "
                                  "equity (VC/PE/angel), less crowdfunding", "assumption: "
                                  "angel rounds start around 1百万元; crowdfunding "
                                  "projects are smaller", ge=0)
    # --- investors' funds (ODD 7.16): per quarter, split over the platforms by count
    pool_base_year: int = param(2024, "year the pools and payables below refer to",
                                "assumption", ge=FIRST_YEAR, le=LAST_YEAR)
    crowd_funds_yi: float = param(530.0, "亿元 per quarter crowdfunding investors put into "
                                  "SME projects in the base year", "report F11: "
                                  "crowdfunding 1,700亿 (2022) growing 25% a year; 2,125亿 "
                                  "a year (1,700亿 grown one year) as a cautious 2024 "
                                  "figure" + _FUNDS_BOUND, ge=0, le=1e6)
    crowd_growth_annual: float = param(0.25, "growth of crowdfunding investors' funds a "
                                       "year", "report F11: +25% a year, >5,000亿 by 2030",
                                       ge=-0.5, le=2)
    equity_funds_yi: float = param(875.0, "亿元 per quarter VC, PE and angel investors put "
                                   "into SMEs in the base year", "assumption: about half of "
                                   "equity investment in China (Zero2IPO: ~7,000亿 in "
                                   "2023), 3,500亿 a year; F1's 18% equity share of SME "
                                   "finance (~7万亿 a year here) is out of reach of these "
                                   "funds (see calibration.md)" + _FUNDS_BOUND, ge=0, le=1e6)
    # --- supply-chain finance (ODD 7.9): receivables from core firms
    core_payables_yi: float = param(204900.0, "亿元: core firms' payables to the SMEs "
                                    "selling into their chains in the base year, the "
                                    "receivables anchored firms can finance",
                                    "assumption: gives receivables of 0.8 quarters of an "
                                    "anchored firm's revenue at the starting revenue "
                                    "distribution; F10: supply-chain finance 15.7万亿 "
                                    "(2022); at most 1e7 (1,000万亿元, over seven times "
                                    "China's GDP)", ge=0, le=1e7)
    payables_growth_annual: float = param(0.08, "growth of core firms' payables to SMEs a "
                                          "year", "assumption: between nominal GDP and F10's "
                                          "+15% for the finance built on them", ge=-0.5,
                                          le=2)
