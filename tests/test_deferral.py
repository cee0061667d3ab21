"""The deferral programme (延期还本付息, ``policy.fiscal.deferral``; ODD 7.6).

Unit level, on one firm's records: a current firm hit by the shock defers its bank
loans and a firm with a bad loan does not; principal that fell due while deferred is
repaid over the quarters after the window. Scenario level, on the
``pandemic_deferral`` / ``pandemic_no_deferral`` pair at small scale with paired seeds
(the reference engine, so that each firm's loans can be followed): loans outstanding,
new lending to firms that never deferred, defaults after the window, and the PBoC's
payment.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from numba import njit

from sim.categories import (
    CH_BANK, CH_ONLINE, LOAN_NONPERFORMING, LOAN_PERFORMING, SMALL_BANK_TYPES,
)
from sim.compare import load_window
from sim.kernels import debt, operate
from sim.kernels.layout import LF_DEFERRED, LF_N, LF_PRINCIPAL
from sim.kernels.params import FirmParams
from sim.model import CreditMarket
from sim.population import AMORTIZING, DEFERRED, FIRM_DTYPE, LOAN_DTYPE, LOAN_POSITIONS
from sim.reference.sme import SME

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


# ------------------------------------------------------------------ unit level
def _firm_params(**values) -> FirmParams:
    fields = dict.fromkeys(FirmParams._fields, 0.0)
    fields.update(deferral=1, deferral_interest=0, deferral_revenue_gap=0.2,
                  deferral_repay_quarters=4, guarantee_on=0, writeoff_quarters=0,
                  anchors=0, seed=0, quarter=0, start_year=0)
    fields.update(values)
    return FirmParams(**fields)


def _one_firm(trend_revenue: float, cash: float, second_status: int):
    firms = np.zeros(1, dtype=FIRM_DTYPE)
    firms[0]["log_trend"] = math.log(trend_revenue)
    firms[0]["cash"] = cash
    loans = np.zeros((1, LOAN_POSITIONS), dtype=LOAN_DTYPE)
    for pos, (channel, status) in enumerate(((CH_BANK, LOAN_PERFORMING),
                                             (CH_ONLINE, second_status))):
        loan = loans[0, pos]
        loan["principal"], loan["rate"], loan["remaining"], loan["term"] = 100.0, 0.05, 1, 4
        loan["lender"], loan["channel"], loan["status"] = 3 + pos, channel, status
    return firms, loans


@njit(cache=False)
def _defer(firms, loans, rev, due, fp, acc):
    return operate._defer(firms[0], loans, 0, rev, due, fp, acc)


@njit(cache=False)
def _end(loans, fp):
    return operate._end_deferral(loans, 0, fp)


@njit(cache=False)
def _pay(firms, loans, fp, acc):
    debt.pay_debt(firms[0], loans, 0, 1, fp, acc)


def test_a_current_firm_hit_by_the_shock_defers_its_bank_loan_only():
    firms, loans = _one_firm(trend_revenue=100.0, cash=500.0, second_status=LOAN_PERFORMING)
    acc = np.zeros((8, 3, LF_N))
    # revenue 30% below trend: hit
    assert _defer(firms, loans, 70.0, 10.0, _firm_params(), acc)
    assert (loans[0, 0]["flags"] >> DEFERRED) & 1 == 1
    assert (loans[0, 1]["flags"] >> DEFERRED) & 1 == 0      # an online loan is not
    assert acc[3, 0, LF_DEFERRED] == 100.0 and acc[4, 0, LF_DEFERRED] == 0.0
    # the bank loan's principal is no longer due; the online loan's is
    assert debt.debt_due(loans, 0, 0) == pytest.approx(2 * 100.0 * 0.05 / 4 + 100.0)


def test_a_firm_not_hit_or_with_a_bad_loan_does_not_defer():
    acc = np.zeros((8, 3, LF_N))
    firms, loans = _one_firm(trend_revenue=100.0, cash=500.0, second_status=LOAN_PERFORMING)
    # revenue 10% below trend and cash covers its debt service: not hit
    assert not _defer(firms, loans, 90.0, 210.0, _firm_params(), acc)
    # cash short of its debt service: hit
    firms[0]["cash"] = 50.0
    assert _defer(firms, loans, 90.0, 210.0, _firm_params(), acc)
    # hit, but a bad loan: the firm is not current and keeps paying
    firms, loans = _one_firm(trend_revenue=100.0, cash=50.0, second_status=LOAN_NONPERFORMING)
    assert not _defer(firms, loans, 60.0, 210.0, _firm_params(), acc)
    assert (loans[0, 0]["flags"] >> DEFERRED) & 1 == 0


def test_principal_that_fell_due_while_deferred_is_repaid_over_the_later_quarters():
    firms, loans = _one_firm(trend_revenue=100.0, cash=1e6, second_status=0)
    acc = np.zeros((8, 3, LF_N))
    fp = _firm_params()
    _defer(firms, loans, 50.0, 0.0, fp, acc)
    # deferred for two quarters: interest paid, no principal, maturity waits
    for _ in range(2):
        _pay(firms, loans, fp, acc)
    assert acc[3, 1, LF_PRINCIPAL] == 0.0
    assert loans[0, 0]["remaining"] == 1 and loans[0, 0]["principal"] == 100.0
    # the programme ends: the bullet loan is repaid in four equal parts, not at once
    after = _firm_params(deferral=0)
    assert _end(loans, after)
    assert (loans[0, 0]["flags"] >> AMORTIZING) & 1 == 1
    repaid = []
    for _ in range(4):
        before = acc[3, 1, LF_PRINCIPAL]
        _pay(firms, loans, after, acc)
        repaid.append(acc[3, 1, LF_PRINCIPAL] - before)
    assert repaid == pytest.approx([25.0] * 4)
    assert loans[0, 0]["status"] == 0


# ------------------------------------------------------------------ the scenario pair
AGENTS = 3_000
SEEDS = (11, 12, 13)
WINDOW = {"start": "2024Q4", "end": "2026Q4", "burn_in_quarters": 4}
PROGRAMME = ("2025Q1", "2025Q2", "2025Q3", "2025Q4")
AFTER = ("2026Q1", "2026Q2", "2026Q3", "2026Q4")


class _Trace:
    """Per-firm new loans and deferrals of the reference engine, by quarter."""

    def __init__(self):
        self.new: dict[tuple[int, int], float] = {}
        self.deferred: set[int] = set()
        self.support: list[tuple[float, float, float]] = []


_RUNS: dict[tuple[str, int], tuple] = {}


def _run(name: str, seed: int):
    if (name, seed) in _RUNS:
        return _RUNS[name, seed]
    trace = _Trace()
    take, defer = SME._take_loan, SME._defer

    def traced_take(self, offer, cp, spent, *rest):
        key = (cp.quarter, self.uid)
        trace.new[key] = trace.new.get(key, 0.0) + offer.amount
        take(self, offer, cp, spent, *rest)

    def traced_defer(self, fp):
        before = [loan is not None and loan.deferred for loan in self.loans]
        defer(self, fp)
        if any(loan is not None and loan.deferred and not was
               for loan, was in zip(self.loans, before)):
            trace.deferred.add(self.uid)

    scenario = load_window(SCENARIOS / f"{name}.toml", agents=AGENTS, seed=seed,
                           engine="reference", **WINDOW)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SME, "_take_loan", traced_take)
        patch.setattr(SME, "_defer", traced_defer)
        model = CreditMarket(scenario, check=True)
        while model.quarter <= model.end_quarter:
            model.step()
            small = [b for b in model.banks
                     if b.books is not None and b.kind in SMALL_BANK_TYPES]
            deferred_small = sum(model.lender_money(LF_DEFERRED)[b.index] for b in small)
            trace.support.append((model.government.account.quarter["deferral_support"],
                                  sum(b.books.pnl.deferral_support for b in small),
                                  deferred_small))
    _RUNS[name, seed] = (model.results().quarterly.set_index("quarter"), trace, model)
    return _RUNS[name, seed]


def _pair(seed):
    return _run("pandemic_deferral", seed), _run("pandemic_no_deferral", seed)


def test_loans_outstanding_at_least_as_high_with_deferral():
    gaps = []
    for seed in SEEDS:
        (q, _, _), (q0, _, _) = _pair(seed)
        gaps.append(q.loc[list(PROGRAMME), "loan_balance"].to_numpy()
                    - q0.loc[list(PROGRAMME), "loan_balance"].to_numpy())
    assert (np.mean(gaps, axis=0) >= 0.0).all(), np.mean(gaps, axis=0)


def test_new_loans_to_firms_that_did_not_defer_are_not_lower():
    # banks plan the quarter's room from the balance sheet (ODD 7.15), and the cash a
    # deferring firm keeps stays on deposit: deferred principal does not ration the others
    from sim.quarters import parse_quarter
    quarters = {parse_quarter(label) for label in PROGRAMME}
    with_deferral = without = 0.0
    for seed in SEEDS:
        (_, trace, _), (_, trace0, _) = _pair(seed)
        assert trace.deferred, f"seed {seed}: no firm deferred"
        never = lambda uid: uid not in trace.deferred  # noqa: E731
        with_deferral += sum(v for (t, uid), v in trace.new.items()
                             if t in quarters and never(uid))
        without += sum(v for (t, uid), v in trace0.new.items()
                       if t in quarters and never(uid))
    assert with_deferral >= without, (with_deferral, without)


def test_defaults_after_the_window_stay_below_the_no_deferral_peak():
    after, peak = [], []
    for seed in SEEDS:
        (q, _, _), (q0, _, _) = _pair(seed)
        after.append(q.loc[list(AFTER), "default_rate"].max())
        peak.append(q0.loc[list(PROGRAMME + AFTER), "default_rate"].max())
    assert np.mean(after) < np.mean(peak), (after, peak)


def test_the_pboc_pays_local_banks_the_rate_times_the_principal_they_defer():
    (_, trace, model), _ = _pair(SEEDS[0])
    rate = model.params.policy.central_bank.deferral_support_rate
    assert rate == 0.01
    paid = np.array(trace.support)
    assert paid[:, 2].sum() > 0.0     # principal was deferred at local banks
    np.testing.assert_allclose(paid[:, 0], rate * paid[:, 2], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(paid[:, 1], paid[:, 0], rtol=1e-12, atol=1e-12)
