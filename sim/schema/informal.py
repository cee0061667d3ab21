"""``[firms.informal]`` and ``[credit.outreach]``: informal debt that formal credit
replaces, and banks reaching firms that have not borrowed.

Informal (private) lending in China before 2018 was estimated at 2–4万亿 yuan: AP (2013),
citing the PBoC and private-sector analysts, put it at 2–4万亿; Credit Suisse (2011) at
4万亿; the BBC (2012) at 3.7万亿 nationally. These are pre-2018 estimates of all private
lending, part of which is owners' personal borrowing (family, friends, shadow lenders)
used in the business; the model's stock is that part which SMEs carry. Formal inclusive
lending roughly tripled 2018–2024 (PBoC inclusive small and micro loans 8万亿 end-2018,
33万亿 end-2024) and replaced part of it; no survey measures the 2024 stock, so its size
is an assumption.
"""

from __future__ import annotations

from pydantic import Field

from sim.schema.base import SHARE, Strict, _by_size, param

InformalMultiple = _by_size(
    "InformalMultiple", "× quarterly revenue, firms without a bank loan or bureau file",
    "assumption: sized so the 2024 baseline carries informal_stock_2024_yi; concentrated "
    "in the smallest firms, which banks reach least", (0.12, 0.075, 0.03), {"ge": 0, "le": 20})


class InformalSection(Strict):
    revenue_multiple: InformalMultiple = Field(default_factory=InformalMultiple)
    stock_2024_yi: float = param(
        10000.0, "亿元, SMEs' informal debt at the 2024 start (the target of "
        "revenue_multiple)", "assumption: about half the 2.5–3万亿 of the pre-2018 "
        "estimates (AP 2013: 2–4万亿; Credit Suisse 2011: 4万亿; BBC 2012: 3.7万亿), as "
        "inclusive bank lending tripled 2018–2024 (PBoC)", ge=0, le=1e6)
    stock_2018_yi: float = param(
        20000.0, "亿元, SMEs' informal debt at the end of 2018 (a 2016–2019 start scales "
        "revenue_multiple by stock_2018_yi ÷ stock_2024_yi)", "AP 2013 (PBoC and private "
        "analysts): 2–4万亿; Credit Suisse 2011: 4万亿; BBC 2012: 3.7万亿 nationally; "
        "pre-2018 estimates, part of them owners' personal borrowing", ge=0, le=1e6)
    entrant_factor: float = param(
        0.5, "× revenue_multiple for entrants (start-ups)", "assumption: start-ups borrow "
        "from family and friends, less than established firms without bank access carry; "
        "below 1, the stock shrinks as formal credit reaches more firms", ge=0, le=5)
    rate_annual: float = param(
        0.18, "annual rate on informal debt", "Wenzhou private-lending composite index "
        "(温州民间融资综合利率指数) ran about 15–20% a year in 2013–2018; assumption within it",
        ge=0, le=1)
    shortfall_share: float = param(
        0.3, "share of a cash shortfall lenders did not meet that the firm borrows "
        "informally", "assumption", **SHARE)


class OutreachSection(Strict):
    scale: float = param(
        0.08, "chance per quarter that a visible non-borrower gets an unsolicited credit "
        "line when all of banks' planned room went unused", "assumption: pre-approved "
        "lines (白名单) reached tens of millions of firms 2019–2024; set so bank SME loans "
        "grow ~8% a year 2024–2030 (the chance is capped at 1)", ge=0, le=100)
    scale_before_2019_factor: float = param(
        0.125, "× scale for a run started from the end-2015 to end-2018 state",
        "assumption: unsolicited lines to firms without loans spread with the 2019–2020 "
        "inclusive-lending drives (PBoC first-loan 首贷户 campaign 2020, 银税互动 at scale); "
        "with it the 2019Q1 start meets the end-2018 bank borrowers and loans within 10%",
        ge=0, le=1)
    guidance_factor: float = param(
        2.0, "relative rise in outreach per unit of banks' guidance pressure (the two "
        "increases and growth-target shortfalls)", "assumption", ge=0, le=100)
    min_digital: float = param(
        0.5, "digital footprint that makes a firm without a bureau file or repayment "
        "history visible to banks", "assumption: tax and payment data (银税互动)", **SHARE)
    reservation_rate_annual: float = param(
        0.08, "annual bank rate below which a firm without informal debt accepts an "
        "offered line", "assumption: between bank SME rates (~4–5%) and online "
        "micro-loan rates (~10–15%)", ge=0, le=1)
