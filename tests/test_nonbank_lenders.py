"""P2P platforms and small-loan companies: none in the 2024 baseline; where a scenario
has them they lend, a closed kind stops lending at once and winds down with its
investors' loss booked, and scheduled counts activate and deactivate lenders."""

from types import SimpleNamespace

import numpy as np
import pytest

from sim.agents.nonbank import P2PPlatform, SmallLoanCompany
from sim.categories import BANK_TYPES, NONBANK_KINDS, PLATFORM_KINDS
from sim.config import scenario_from_dict
from sim.kernels import layout as L
from sim.model import CreditMarket
from sim.reference.credit import precision
from sim.wiring import choice_tables, lender_table
from tests.helpers import scenario

CLOSED_AT = "2024Q3"   # P2P closed to new lending at the start of this quarter
WIND_DOWN = 2          # ... and the rest of its book resolved at the close of 2024Q4


def _late_2010s(**extra) -> dict:
    """A small run with P2P platforms and small-loan companies, under the pre-2020-08
    private-lending cap (24%)."""
    raw = {"run": {"agents": 10_000, "end": "2025Q2", "seed": 20240101,
                   "burn_in_quarters": 4},
           "platforms": {"p2p": {"count": 6, "max_count": 6,
                                 "wind_down_quarters": WIND_DOWN},
                         "small_loan": {"count": 6, "max_count": 6}},
           "policy": {"courts": {"private_under_lpr_multiple": False}}}
    raw.update(extra)
    return raw


@pytest.fixture(scope="module")
def wind_down():
    """P2P closed in 2024Q3; small-loan companies cut from 6 to 3 in 2024Q2 and raised
    to 5 in 2025Q1. Runs with the stock-flow check."""
    sc = scenario_from_dict(_late_2010s(change=[
        {"at": CLOSED_AT, "set": {"platforms.p2p.open": False}},
        {"at": "2024Q2", "set": {"platforms.small_loan.count": 3}},
        {"at": "2025Q1", "set": {"platforms.small_loan.count": 5}},
    ]))
    model = CreditMarket(sc, check=True)
    p2p = [l for l in model.lenders if l.kind == "p2p"]
    start = sum(p.investor_stock for p in p2p)
    money = []
    record = model.recorder.record

    def keep(quarter, m, sums):
        money.append(sums.lender_money.copy())
        record(quarter, m, sums)

    model.recorder.record = keep
    model.run_all()
    return SimpleNamespace(model=model, result=model.results(), p2p=p2p,
                           investors_start=start, money=money)


def _by_kind(result, kind: str, column: str):
    lenders = result.lenders
    return lenders[lenders["kind"] == kind].groupby("quarter")[column].sum()


def test_the_baseline_makes_no_p2p_or_small_loan_agent():
    model = CreditMarket(scenario(agents=2_000, end="2024Q1", burn_in=1))
    assert not [l for l in model.lenders if l.kind in NONBANK_KINDS]
    params = model.params
    expected = sum(getattr(params.banks, k).count for k in BANK_TYPES) + sum(
        max(getattr(params.platforms, k).count, getattr(params.platforms, k).max_count)
        for k in PLATFORM_KINDS)
    assert len(model.lenders) == expected
    assert [l.index for l in model.lenders] == list(range(expected))


def test_a_p2p_scenario_lends_through_p2p_and_small_loan_companies(wind_down):
    result = wind_down.result
    new_p2p = _by_kind(result, "p2p", "new_loans")
    assert (new_p2p[new_p2p.index < CLOSED_AT] > 0).all()
    assert (_by_kind(result, "small_loan", "new_loans") > 0).all()
    q = result.quarterly.set_index("quarter")
    assert q.loc["2024Q2", "loan_balance_p2p"] > 0
    assert (q["loan_balance_small_loan"] > 0).all()
    assert all(isinstance(p, P2PPlatform) for p in wind_down.p2p)
    assert any(isinstance(l, SmallLoanCompany) for l in wind_down.model.lenders)


def test_closing_p2p_stops_its_lending_at_once_and_winds_it_down(wind_down):
    result = wind_down.result
    new_p2p = _by_kind(result, "p2p", "new_loans")
    assert (new_p2p[new_p2p.index >= CLOSED_AT] == 0).all()
    q = result.quarterly.set_index("quarter")
    # resolved at the close of the WIND_DOWN-th quarter of the wind-down: no P2P loan after
    assert (q.loc["2025Q1":, "loan_balance_p2p"] == 0).all()
    assert all(not p.active and p.book == 0 and p.funders_total() == 0
               for p in wind_down.p2p)
    # every P2P lender's loans were counted to it until then, none after
    p2p = [p.index for p in wind_down.p2p]
    assert all(m[p2p, L.LF_BAL_PERF].sum() + m[p2p, L.LF_BAL_NPL].sum() == 0
               for m in wind_down.money[-2:])


def test_investors_money_reconciles_and_their_loss_is_booked(wind_down):
    model = wind_down.model
    total = model.outside.account.total
    assert model.checker.quarters_checked == 4 + 6
    assert total["p2p_loss"] > 0
    assert wind_down.result.quarterly["p2p_investor_loss"].sum() == pytest.approx(
        total["p2p_loss"], rel=1e-12)
    # investors' stock: what they held at the start and put in came back as principal,
    # recoveries and the resolution payment, or was lost
    put_in = wind_down.investors_start + total["p2p_invested"]
    came_back = total["p2p_principal"] + total["p2p_recovery"] + total["p2p_resolution_paid"]
    assert put_in == pytest.approx(came_back + total["p2p_loss"], rel=1e-9)
    assert wind_down.investors_start > 0 and total["p2p_invested"] > 0


def test_a_scheduled_count_activates_and_deactivates_lenders(wind_down):
    lenders = wind_down.result.lenders
    small = lenders[lenders["kind"] == "small_loan"]
    active = small.groupby("quarter")["active"].sum()
    assert active["2024Q1"] == 6
    assert (active["2024Q2":"2024Q4"] == 3).all()   # applied at the quarter's close
    assert (active["2025Q1":] == 5).all()
    # deactivated in fixed order: the last three slots, which then lend nothing
    order = sorted(small["lender"].unique())
    late = small[(small["lender"].isin(order[3:])) & (small["quarter"] > "2024Q2")
                 & (small["quarter"] < "2025Q2")]
    assert (late[late["lender"].isin(order[5:])]["new_loans"] == 0).all()
    assert not late[late["quarter"] < "2025Q1"]["active"].any()
    back = small[(small["quarter"] >= "2025Q1") & small["lender"].isin(order[:5])]
    assert back["active"].all()


def test_p2p_prices_above_banks_and_screens_worse(wind_down):
    model = wind_down.model
    kinds = np.array([l.kind for l in model.lenders])
    bank = np.isin(kinds, BANK_TYPES)
    p2p = kinds == "p2p"
    money = wind_down.money[0]   # 2024Q1, P2P open
    rate = lambda rows: money[rows, L.LF_NEW_RATE_AMT].sum() / money[rows, L.LF_NEW_AMT].sum()
    assert rate(p2p) > rate(bank) + 0.05
    cap = model.params.policy.courts.private_cap_annual
    assert rate(p2p) <= cap + 1e-9
    cp = model._credit_params(0)
    table = lender_table(model.lenders, *choice_tables(model.lenders))
    firm = SimpleNamespace(bureau=1, tax_file=0, history=8, digital=0.6, collateral=0.0, size=1)
    p2p_precision = max(precision(firm, j, cp, table) for j in np.flatnonzero(p2p))
    bank_precision = min(precision(firm, j, cp, table) for j in np.flatnonzero(bank))
    assert p2p_precision < bank_precision


def test_p2p_loans_give_no_bureau_file():
    """P2P platforms did not report to the credit bureau: their loans give a firm no file
    (which banks would read) and do not count it as a first-time borrower; the same run
    with P2P reporting gives more files and more first-time borrowers (paired seeds)."""
    def run(reports: bool):
        raw = _late_2010s()
        raw["platforms"]["p2p"]["reports_to_bureau"] = reports
        model = CreditMarket(scenario_from_dict(raw, "p2p-bureau"))
        model.run_all()
        files = int(model.sme.pop.bureau[:model.used_slots].sum())
        return files, float(model.results().quarterly["first_time_borrowers"].sum())

    files_silent, first_silent = run(False)
    files_reporting, first_reporting = run(True)
    assert files_reporting > files_silent
    assert first_reporting > first_silent
