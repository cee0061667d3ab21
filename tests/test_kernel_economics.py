"""The economics of single kernel helpers against computations by hand.

Each test builds a few records or arrays by hand (dtypes from ``sim.population``), runs
the compiled kernel helper, and compares with the sum, order or formula worked out in
the test; where the reference engine (``sim.reference``) has the same rule it is held to
the same answer. Kernels used: ``sim.kernels.debt.debt_due``, ``.pay_debt``;
``sim.kernels.ration.ration``; ``sim.kernels.screening.estimated_pd``, ``.risk_band``;
``sim.kernels.choice.pick_lender``.
"""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np
import pytest
from numba import njit

from sim.categories import (
    CH_BANK, CH_CROWDFUNDING, CH_EQUITY, CH_ONLINE, CH_SUPPLY_CHAIN, LOAN_PERFORMING,
)
from sim.kernels import choice, debt as firm_kernels, ration as rationing, screening
from sim.kernels.layout import (
    LF_GUARANTEE_FEE, LF_INTEREST, LF_N, LF_PRINCIPAL, LF_SUBSIDY, NEW_THIS_QUARTER,
)
from sim.kernels.params import Applications, FirmParams
from sim.population import (
    AMORTIZING, DEFERRED, FIRM_DTYPE, LOAN_DTYPE, LOAN_POSITIONS, REQUEST_DTYPE, SECURED,
)
from sim.reference import credit as ref_credit
from sim.reference.loans import Loan as RefLoan
from sim.schema import Scenario

# the smallest loan worth writing, 万元, at the scenario default
MIN_LOAN_WAN = Scenario().credit.min_loan_wan

# --------------------------------------------------------------------------- debt due

# binary fractions, exact in the loans' float32 rate field, so sums below are exact
RATE_A, RATE_B = 0.0625, 0.046875


def _loans(*specs) -> np.ndarray:
    """One firm's loan slots (a [1, LOAN_POSITIONS] array) from (principal, annual rate,
    remaining quarters, amortizing, channel, status, npl_age) per slot."""
    loans = np.zeros((1, LOAN_POSITIONS), dtype=LOAN_DTYPE)
    for slot, (p, rate, remaining, amortizing, channel, status, npl_age) in enumerate(specs):
        loan = loans[0, slot]
        loan["principal"], loan["rate"], loan["remaining"] = p, rate, remaining
        loan["term"], loan["lender"], loan["channel"] = 8, 3 + slot, channel
        loan["flags"] = (amortizing << AMORTIZING) | (1 << SECURED)
        loan["status"], loan["npl_age"] = status, npl_age
    return loans


def test_debt_due_of_an_amortising_and_a_bullet_loan():
    # 120 万元 amortising at 6.25 %, 4 quarters left: a quarter's interest 120 × 6.25 % / 4
    # = 1.875 and a quarter of the principal, 30. 200 万元 bullet at 4.6875 %, 3 quarters
    # left: interest 2.34375 only.
    loans = _loans((120.0, RATE_A, 4, 1, CH_ONLINE, LOAN_PERFORMING, 0),
                   (200.0, RATE_B, 3, 0, CH_BANK, LOAN_PERFORMING, 0))
    assert firm_kernels.debt_due(loans, 0, 0) == 1.875 + 30.0 + 2.34375
    # deferred loans owe only interest, and nothing while interest is deferred too
    loans[0]["flags"] |= 1 << DEFERRED
    assert firm_kernels.debt_due(loans, 0, 0) == 1.875 + 2.34375
    assert firm_kernels.debt_due(loans, 0, 1) == 0.0
    loans[0]["flags"] &= ~np.uint8(1 << DEFERRED)
    # in its last quarter the bullet loan's whole principal falls due
    loans[0, 1]["remaining"] = 1
    assert firm_kernels.debt_due(loans, 0, 0) == 1.875 + 30.0 + 2.34375 + 200.0
    # the amortising loan's last instalment is all that is left of it
    loans[0, 0]["remaining"] = 1
    assert firm_kernels.debt_due(loans, 0, 0) == 1.875 + 120.0 + 2.34375 + 200.0


def test_debt_due_skips_new_and_non_performing_loans():
    loans = _loans((120.0, RATE_A, 4, 1, CH_ONLINE, LOAN_PERFORMING, NEW_THIS_QUARTER),
                   (200.0, RATE_B, 1, 0, CH_BANK, LOAN_PERFORMING + 1, 2))
    assert firm_kernels.debt_due(loans, 0, 0) == 0.0
    loans[0, 0]["npl_age"] = 0       # made last quarter: owes from now on
    assert firm_kernels.debt_due(loans, 0, 0) == 1.875 + 30.0


@pytest.mark.parametrize("rate, remaining, amortizing, deferral", [
    (0.0435, 5, 1, 0), (0.0435, 5, 1, 1), (0.118, 1, 0, 0), (0.118, 3, 0, 0),
    (0.2399, 0, 1, 0)])
def test_debt_due_agrees_with_the_reference_loan(rate, remaining, amortizing, deferral):
    loans = _loans((87.5, rate, remaining, amortizing, CH_BANK, LOAN_PERFORMING, 0))
    loans[0, 0]["flags"] |= deferral << DEFERRED
    ref = RefLoan(87.5, rate, term=8, remaining=remaining, lender=3, channel=CH_BANK,
                  secured=True, amortizing=bool(amortizing), vat_terms=(-1.0, 0.0))
    ref.deferred = bool(deferral)
    interest, principal = ref.due(False)
    # rates are float32 in both engines: 4.35 % is 0.043499999... there
    rate32 = float(np.float32(rate))
    by_hand = 87.5 * rate32 * 0.25 + (0.0 if deferral else (
        87.5 / max(1, remaining) if amortizing else (87.5 if remaining <= 1 else 0.0)))
    got = firm_kernels.debt_due(loans, 0, 0)
    assert got == pytest.approx(by_hand, rel=1e-15)
    assert got == interest + principal


@njit(cache=False)
def _pay(firms, loans, i, s, fp, lender_acc_b):
    firm_kernels.pay_debt(firms[i], loans, i, s, fp, lender_acc_b)


def _firm_params(**values) -> FirmParams:
    """A FirmParams bundle with zeros except ``values`` (pay_debt reads only the debt
    service fields)."""
    fields = dict.fromkeys(FirmParams._fields, 0.0)
    fields.update(deferral=0, deferral_interest=0, deferral_repay_quarters=1, guarantee_on=0, writeoff_quarters=0, anchors=0, seed=0,
                  quarter=0, start_year=0)
    fields.update(values)
    return FirmParams(**fields)


@pytest.mark.parametrize("size", [firm_kernels.SIZE_MICRO, 2])
def test_pay_debt_interest_subsidy_guarantee_fee_and_principal(size):
    """A micro firm's bank loan: interest less the interest subsidy, plus the guarantee
    fee, plus scheduled principal; its online loan: no guarantee fee. A small firm (size
    2) gets neither subsidy nor fee."""
    loans = _loans((120.0, RATE_A, 4, 1, CH_BANK, LOAN_PERFORMING, 0),
                   (200.0, RATE_B, 1, 0, CH_ONLINE, LOAN_PERFORMING, 0))
    firms = np.zeros(1, dtype=FIRM_DTYPE)
    firms[0]["cash"] = 1000.0
    acc = np.zeros((8, 3, LF_N))
    fp = _firm_params(subsidy_annual=0.02, guarantee_on=1, guarantee_fee_annual=0.01)
    _pay(firms, loans, 0, size, fp, acc)

    micro = size <= firm_kernels.SIZE_MICRO
    # bank loan (lender 3): interest 1.875, subsidy 120 × 2 % / 4 = 0.6, fee 120 × 1 % / 4
    # = 0.3, principal 30; online loan (lender 4): interest 2.34375, subsidy 200 × 2 % / 4
    # = 1 (below the interest), no fee (not a bank loan), principal 200 (last quarter)
    interest = {3: 1.875, 4: 2.34375}
    subsidy = {3: 0.6, 4: 1.0} if micro else {3: 0.0, 4: 0.0}
    fee = {3: 0.3, 4: 0.0} if micro else {3: 0.0, 4: 0.0}
    principal = {3: 30.0, 4: 200.0}
    paid = sum(interest[j] - subsidy[j] + fee[j] + principal[j] for j in (3, 4))
    assert firms[0]["cash"] == pytest.approx(1000.0 - paid, rel=1e-15)
    for j in (3, 4):
        assert acc[j, size, LF_INTEREST] == interest[j]
        assert acc[j, size, LF_SUBSIDY] == pytest.approx(subsidy[j], rel=1e-15)
        assert acc[j, size, LF_GUARANTEE_FEE] == pytest.approx(fee[j], rel=1e-15)
        assert acc[j, size, LF_PRINCIPAL] == principal[j]
    assert acc.sum() == pytest.approx(sum(interest.values()) + sum(subsidy.values())
                                      + sum(fee.values()) + sum(principal.values()))
    # the amortising loan has 90 left over 3 quarters; the bullet loan is repaid
    assert loans[0, 0]["principal"] == 90.0 and loans[0, 0]["remaining"] == 3
    assert loans[0, 1]["status"] == 0 and loans[0, 1]["principal"] == 0.0
    assert firms[0]["history"] == 1


def test_interest_subsidy_is_capped_at_the_interest():
    loans = _loans((100.0, 0.015625, 6, 1, CH_BANK, LOAN_PERFORMING, 0))
    loans[0, 0]["flags"] |= 1 << DEFERRED
    firms = np.zeros(1, dtype=FIRM_DTYPE)
    acc = np.zeros((8, 3, LF_N))
    _pay(firms, loans, 0, 0, _firm_params(subsidy_annual=0.05, deferral=1), acc)
    # interest 100 × 1.5625 % / 4 = 0.390625 < subsidy rate's 1.25: the state pays it all;
    # a deferred loan owes nothing else and the loan does not move towards maturity
    assert acc[3, 0, LF_INTEREST] == 0.390625 == acc[3, 0, LF_SUBSIDY]
    assert firms[0]["cash"] == 0.0
    assert loans[0, 0]["remaining"] == 6 and loans[0, 0]["principal"] == 100.0


# --------------------------------------------------------------------------- rationing

def _ration(lender, ok, pd, amount, size, uid, capacity, yi_per_wan, channel=None,
            crowd_capacity=None):
    """Run ``rationing.ration`` on applicants given as lists (all bank offers unless
    ``channel`` is given; crowdfunding offers draw on ``crowd_capacity``); returns
    (funded, amount after rationing, capacity left)."""
    n = len(lender)
    firms = np.zeros(n, dtype=FIRM_DTYPE)
    firms["serial"] = uid
    requests = np.zeros(n, dtype=REQUEST_DTYPE)
    requests["offset"] = np.arange(n)       # request k is firm slot k's (block 0)
    seekers = np.arange(n, dtype=np.int32)
    app_amount = np.array(amount, dtype=np.float64)
    capacity = np.array(capacity, dtype=np.float64)
    crowd = np.zeros(capacity.size) if crowd_capacity is None else \
        np.array(crowd_capacity, dtype=np.float64)
    funded = np.zeros(n, dtype=np.uint8)
    apps = Applications(
        seeking=np.ones(n, dtype=np.uint8), lender=np.array(lender, dtype=np.int16),
        channel=np.array(channel or [CH_BANK] * n, dtype=np.uint8),
        size=np.array(size, dtype=np.uint8),
        pd=np.array(pd, dtype=np.float64), amount=app_amount,
        rate=np.zeros(n, dtype=np.float32), ok=np.array(ok, dtype=np.uint8),
        secured=np.zeros(n, dtype=np.uint8), funded=funded)
    rationing.ration(seekers, n, apps, firms, requests, np.array(yi_per_wan, dtype=np.float64),
                     capacity, crowd, np.zeros(n, dtype=np.int32),
                     np.zeros(capacity.size + 1, dtype=np.int64), MIN_LOAN_WAN)
    if crowd_capacity is not None:
        return (funded.astype(bool).tolist(), app_amount.tolist(), capacity.tolist(),
                crowd.tolist())
    return funded.astype(bool).tolist(), app_amount.tolist(), capacity.tolist()


def _reference_ration(lender, ok, pd, amount, size, uid, capacity, yi_per_wan,
                      channel=None, crowd_capacity=None):
    """The same with the reference engine's ``ration`` (an applicant without a lender,
    -1, makes no offer there)."""
    Firm = namedtuple("Firm", "uid size")
    channel = channel or [CH_BANK] * len(lender)
    offers = [ref_credit.Offer(Firm(u, s), j, c, p, a, 0.0, False, bool(o))
              if j >= 0 else None
              for j, o, p, a, s, u, c in zip(lender, ok, pd, amount, size, uid, channel)]
    capacity = list(capacity)
    crowd = [0.0] * len(capacity) if crowd_capacity is None else list(crowd_capacity)
    ref_credit.ration([o for o in offers if o is not None], capacity, crowd, yi_per_wan,
                      MIN_LOAN_WAN)
    result = ([o is not None and o.funded for o in offers],
              [o.amount if o is not None else a for o, a in zip(offers, amount)], capacity)
    return result + (crowd,) if crowd_capacity is not None else result


# Lender 0 has 35 亿元 for six offers of 10 亿元 (yi_per_wan 1) by estimated PD
# 5 %, 1 %, 8 %, 2 %, 3 %, and a 0.5 % offer it did not make (ok = 0). Best risk first:
# 1 %, 2 %, 3 % (30 used); 5 % does not fit and gets the 5 left; 8 % gets nothing; the
# 0.5 % applicant had no offer. Lender 1 has room for all it offered (two of 4 each).
CASE = dict(lender=[0, 0, 0, 0, 0, 0, 1, 1, -1],
            ok=[1, 1, 1, 1, 1, 0, 1, 1, 1],
            pd=[0.05, 0.01, 0.08, 0.02, 0.03, 0.005, 0.2, 0.1, 0.01],
            amount=[10.0] * 6 + [4.0, 4.0, 10.0],
            size=[0] * 9, uid=list(range(100, 109)), capacity=[35.0, 50.0],
            yi_per_wan=[1.0, 1.0, 1.0])


def test_ration_funds_lowest_estimated_pd_first():
    funded, amount, capacity = _ration(**CASE)
    assert funded == [True, True, False, True, True, False, True, True, False]
    assert amount[0] == 5.0                       # the rest of lender 0's capacity
    assert amount[1:5] == [10.0, 10.0, 10.0, 10.0] and amount[6:8] == [4.0, 4.0]
    assert capacity == [0.0, 42.0]
    assert (funded, amount, capacity) == _reference_ration(**CASE)


def test_ration_stops_at_the_first_offer_that_does_not_fit():
    """Capacity 12: the 1 % offer (10) fits, the 2 % one (5) gets the 2 left, and the
    3 % one (1) gets nothing although it alone would have fitted; national amounts are
    agent amounts × yi_per_wan by size (here 2 for size 1)."""
    case = dict(lender=[0, 0, 0], ok=[1, 1, 1], pd=[0.03, 0.01, 0.02],
                amount=[1.0, 5.0, 2.5], size=[0, 1, 1], uid=[7, 8, 9], capacity=[12.0],
                yi_per_wan=[1.0, 2.0, 3.0])
    funded, amount, capacity = _ration(**case)
    assert funded == [False, True, True]
    assert amount == [1.0, 5.0, 1.0]               # (12 − 10) / 2 agent 万元
    assert capacity == [0.0]
    assert (funded, amount, capacity) == _reference_ration(**case)


def test_ration_breaks_ties_by_uid_and_drops_a_remainder_too_small_to_lend():
    """Equal PDs go lowest uid first; what is left (0.4) is below the smallest loan
    worth writing (``credit.min_loan_wan``), so the second offer gets nothing."""
    case = dict(lender=[0, 0, 0], ok=[1, 1, 1], pd=[0.04, 0.04, 0.01],
                amount=[3.0, 3.0, 1.0], size=[0, 0, 0], uid=[52, 51, 99], capacity=[4.4],
                yi_per_wan=[1.0, 1.0, 1.0])
    funded, amount, capacity = _ration(**case)
    assert funded == [False, True, True]
    assert capacity[0] == pytest.approx(0.4)
    assert (funded, amount, capacity) == _reference_ration(**case)


def test_ration_order_is_exact_among_close_pds():
    """PDs that share one of the 512 bands are still funded in exact order."""
    pds = [0.0301, 0.03, 0.03005, 0.0302, 0.5]   # the 0.5 sets the band width (~0.001)
    case = dict(lender=[0] * 5, ok=[1] * 5, pd=pds, amount=[1.0] * 5, size=[0] * 5,
                uid=[5, 4, 3, 2, 1], capacity=[2.0], yi_per_wan=[1.0, 1.0, 1.0])
    funded, _, _ = _ration(**case)
    assert funded == [False, True, True, False, False]
    assert funded == _reference_ration(**case)[0]


def test_ration_places_crowdfunding_and_equity_from_their_own_funds():
    """A crowd/equity platform with 10 亿元 of equity funds and 6 of crowdfunding funds:
    two equity offers of 6 (the riskier gets the 4 left) and two crowdfunding offers of
    4 (the riskier gets the 2 left); neither kind's funds serve the other."""
    case = dict(lender=[0, 0, 0, 0], ok=[1] * 4, pd=[0.02, 0.01, 0.03, 0.01],
                amount=[6.0, 6.0, 4.0, 4.0], size=[0] * 4, uid=[1, 2, 3, 4],
                capacity=[10.0], yi_per_wan=[1.0, 1.0, 1.0],
                channel=[CH_EQUITY, CH_EQUITY, CH_CROWDFUNDING, CH_CROWDFUNDING],
                crowd_capacity=[6.0])
    funded, amount, capacity, crowd = _ration(**case)
    assert funded == [True] * 4 and amount == [4.0, 6.0, 2.0, 4.0]
    assert capacity == [0.0] and crowd == [0.0]
    assert (funded, amount, capacity, crowd) == _reference_ration(**case)


# --------------------------------------------------------------------------- estimated PD

def _phi(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def _pd_by_integration(signal, sigma2, alpha, slope) -> float:
    """Φ(α − β q) averaged over the posterior of quality q ~ N(0, 1) given a signal
    s = q + e, e ~ N(0, σ²): q | s ~ N(s / (1 + σ²), σ² / (1 + σ²)); Gauss–Hermite."""
    mean, var = signal / (1.0 + sigma2), sigma2 / (1.0 + sigma2)
    nodes, weights = np.polynomial.hermite_e.hermegauss(80)
    q = mean + math.sqrt(var) * nodes
    values = np.array([_phi(alpha - slope * x) for x in q])
    return float(np.sum(weights * values) / math.sqrt(2.0 * math.pi))


# the kernel's normal CDF is a table with cubic interpolation (error < 2e-9)
CDF_TOL = 1e-8


@pytest.mark.parametrize("signal, sigma2, alpha, slope", [
    (0.0, 1.0, -2.0, 0.5), (1.3, 0.25, -2.0, 0.5), (-2.1, 4.0, -1.5, 0.8),
    (0.7, 0.05, -2.4, 1.7), (-0.4, 9.0, -0.3, 2.5)])
def test_estimated_pd_is_the_closed_form_and_the_posterior_average(signal, sigma2, alpha,
                                                                   slope):
    got = screening.estimated_pd(signal, sigma2, alpha, slope)
    closed = _phi((alpha - slope * signal / (1.0 + sigma2))
                  / math.sqrt(1.0 + slope * slope * sigma2 / (1.0 + sigma2)))
    assert got == pytest.approx(closed, abs=CDF_TOL)
    assert got == pytest.approx(_pd_by_integration(signal, sigma2, alpha, slope), abs=CDF_TOL)
    assert got == pytest.approx(ref_credit.estimated_pd(signal, sigma2, alpha, slope),
                                abs=1e-15)


@pytest.mark.parametrize("signal", [-1.5, 0.0, 0.8, 2.2])
def test_estimated_pd_limits_of_a_perfect_and_a_useless_signal(signal):
    alpha, slope = -2.0, 0.5
    # noise → 0: the signal is the quality, PD = Φ(α − β s)
    assert screening.estimated_pd(signal, 1e-12, alpha, slope) == \
        pytest.approx(_phi(alpha - slope * signal), abs=CDF_TOL)
    # noise → ∞: the signal says nothing; PD averaged over the prior N(0, 1),
    # Φ(α / sqrt(1 + β²)), checked against the integral over q ~ N(0, 1)
    prior_average = _pd_by_integration(0.0, 1e12, alpha, slope)
    assert prior_average == pytest.approx(_phi(alpha / math.sqrt(1 + slope ** 2)), abs=1e-12)
    assert screening.estimated_pd(signal, 1e12, alpha, slope) == \
        pytest.approx(prior_average, abs=CDF_TOL)


def test_noisier_lenders_shrink_towards_the_average_firm():
    alpha, slope = -2.0, 0.5
    average = _phi(alpha / math.sqrt(1 + slope ** 2))
    for signal in (-2.0, 2.0):
        pds = [screening.estimated_pd(signal, s2, alpha, slope) for s2 in (0.01, 0.3, 1.0, 5.0)]
        gaps = [abs(pd - average) for pd in pds]
        assert gaps == sorted(gaps, reverse=True) and gaps[-1] > 0.0
    # a good signal means a lower PD than a bad one, at any noise
    assert screening.estimated_pd(1.0, 2.0, alpha, slope) < screening.estimated_pd(-1.0, 2.0,
                                                                            alpha, slope)


# --------------------------------------------------------------------------- risk bands

def test_risk_band_edges_are_the_deciles_of_the_standard_normal():
    deciles = np.array([_inverse_phi(k / 10.0) for k in range(1, 10)])
    np.testing.assert_allclose(screening._BAND_EDGES, deciles, rtol=0, atol=1e-8)
    for band, edge in enumerate(screening._BAND_EDGES):
        assert screening.risk_band(edge - 1e-9) == band
        assert screening.risk_band(edge + 1e-9) == band + 1
    assert screening.risk_band(-10.0) == 0 and screening.risk_band(10.0) == 9
    # a tenth of firms (quality ~ N(0, 1)) in each band
    quality = np.random.default_rng(5).standard_normal(200_000)
    counts = np.bincount([screening.risk_band(q) for q in quality], minlength=10)
    np.testing.assert_allclose(counts / quality.size, 0.1, atol=0.004)


def _inverse_phi(p: float) -> float:
    lo, hi = -10.0, 10.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if _phi(mid) < p else (lo, mid)
    return 0.5 * (lo + hi)


# --------------------------------------------------------------------------- lender choice

def _choice_table(lenders_by_cell: dict[tuple[int, int], tuple[list[int], list[float]]],
                  n_lenders: int = 10):
    choice_n = np.zeros((5, 3), dtype=np.int64)
    choice_lenders = np.zeros((5, 3, n_lenders), dtype=np.int64)
    choice_cum = np.zeros((5, 3, n_lenders))
    for (channel, region), (lenders, weights) in lenders_by_cell.items():
        choice_n[channel, region] = len(lenders)
        choice_lenders[channel, region, :len(lenders)] = lenders
        choice_cum[channel, region, :len(lenders)] = np.cumsum(weights)
    Table = namedtuple("Table", "choice_n choice_lenders choice_cum")
    return Table(choice_n, choice_lenders, choice_cum)


@pytest.mark.parametrize("u, avoid, expected", [
    (0.1, -1, 4), (0.3, -1, 7), (0.9, -1, 9),        # weights 2 : 3 : 5 of 10
    (0.19, -1, 4), (0.21, -1, 7), (0.49, -1, 7), (0.51, -1, 9),
    (0.3, 7, 9),     # the lender that just refused is passed over for the next one
    (0.9, 9, 4),     # ... wrapping round the table
    (0.1, 9, 4)])    # avoiding another lender changes nothing
def test_pick_lender_by_weight_avoiding_the_last_refusal(u, avoid, expected):
    table = _choice_table({(CH_BANK, 1): ([4, 7, 9], [2.0, 3.0, 5.0])})
    got = choice.pick_lender(table.choice_lenders, table.choice_cum, table.choice_n,
                             CH_BANK, 1, u, avoid)
    assert got == expected
    assert ref_credit.pick_lender(table, CH_BANK, 1, u, avoid) == expected


def test_pick_lender_when_there_is_no_choice():
    table = _choice_table({(CH_ONLINE, 0): ([6], [1.0]), (CH_SUPPLY_CHAIN, 2): ([2, 3],
                                                                                [0.0, 0.0])})
    args = (table.choice_lenders, table.choice_cum, table.choice_n)
    # the only lender is asked again even if it just refused
    assert choice.pick_lender(*args, CH_ONLINE, 0, 0.5, 6) == 6
    # nobody reachable, or no weight at all: no lender
    assert choice.pick_lender(*args, CH_BANK, 0, 0.5, -1) == -1
    assert choice.pick_lender(*args, CH_SUPPLY_CHAIN, 2, 0.5, -1) == -1
