"""Debt arithmetic on a firm's loans, shared by phases 3–5 (:mod:`sim.kernels.operate`)
and 7 (:mod:`sim.kernels.defaults`).

A firm in slot ``i`` holds up to ``LOAN_POSITIONS`` loans, ``loans[i, pos]`` (records of
``sim.population.LOAN_DTYPE``); a loan position with status ``LOAN_EMPTY`` holds none.
Money is in 万元; sums go to the block's row of the lender accumulator.
"""

from __future__ import annotations

from numba import njit

from sim.categories import CH_BANK, LOAN_PERFORMING, SIZES
from sim.kernels.layout import (
    LF_CAPITALISED, LF_GUARANTEE_FEE, LF_INTEREST, LF_INTEREST_VAT_EXEMPT, LF_PRINCIPAL,
    LF_SUBSIDY, NEW_THIS_QUARTER,
)
from sim.kernels.records import flag
from sim.population import AMORTIZING, DEFERRED, LOAN_POSITIONS, VAT_ELIGIBLE

SIZE_MICRO = SIZES.index("micro")


@njit(cache=True, inline="always")
def clear_loan(loan):
    """Empty the loan record ``loan`` (``loans[i, pos]``)."""
    loan.principal = 0.0
    loan.rate = 0.0
    loan.remaining = 0
    loan.term = 0
    loan.lender = -1
    loan.flags = 0
    loan.status = 0
    loan.npl_age = 0


@njit(cache=True, inline="always")
def scheduled_principal(loan):
    """Principal (万元) the performing loan ``loan`` is due to repay this quarter: a
    share of an amortizing loan, all of a bullet loan in its last quarter; none while it
    is deferred (its ``deferred`` flag)."""
    principal = 0.0
    if flag(loan, DEFERRED) == 0:
        if flag(loan, AMORTIZING) == 1:
            principal = loan.principal / max(1, loan.remaining)
        elif loan.remaining <= 1:
            principal = loan.principal
    return principal


@njit(cache=True, inline="always")
def interest_due(loan, defer_interest):
    """Interest (万元) the performing loan ``loan`` pays in cash this quarter: none on a
    deferred loan while interest is deferred too (``defer_interest`` = 1)."""
    if defer_interest == 1 and flag(loan, DEFERRED) == 1:
        return 0.0
    return loan.principal * loan.rate * 0.25


@njit(cache=True, inline="always")
def capitalise_interest(loan, s, lender_acc_b):
    """The quarter's interest on the deferred loan ``loan`` (firm size ``s``) is not paid
    now: it is added to the principal, to be repaid with it (万元)."""
    interest = loan.principal * loan.rate * 0.25
    loan.principal += interest
    lender_acc_b[loan.lender, s, LF_CAPITALISED] += interest


@njit(cache=True, inline="always")
def debt_due(loans, i, defer_interest):
    """Interest plus scheduled principal firm ``i`` owes this quarter (万元), ignoring
    renewal; deferred loans owe no principal, nor interest under ``defer_interest``.
    Loans made this quarter owe nothing yet, so a firm that could not pay in phase 4
    owes the same sum in phase 7, whatever the credit round lent it."""
    total = 0.0
    for pos in range(LOAN_POSITIONS):
        loan = loans[i, pos]
        if loan.status != LOAN_PERFORMING or loan.npl_age == NEW_THIS_QUARTER:
            continue
        total += interest_due(loan, defer_interest)
        total += scheduled_principal(loan)
    return total


@njit(cache=True, inline="always")
def debt_outstanding(loans, i):
    """Performing principal firm ``i`` owes (万元)."""
    total = 0.0
    for pos in range(LOAN_POSITIONS):
        if loans[i, pos].status == LOAN_PERFORMING:
            total += loans[i, pos].principal
    return total


@njit(cache=True, inline="always")
def pay_debt(f, loans, i, s, fp, lender_acc_b):
    """Firm record ``f`` (slot ``i``, size ``s``) pays this quarter's interest and
    scheduled principal (cash must suffice). Loans made this quarter owe nothing yet; a
    deferred loan's maturity waits, and in an interest window its interest is added to
    its principal."""
    for pos in range(LOAN_POSITIONS):
        loan = loans[i, pos]
        if loan.status != LOAN_PERFORMING or loan.npl_age == NEW_THIS_QUARTER:
            continue
        deferred = flag(loan, DEFERRED)
        if deferred == 1 and fp.deferral_interest == 1:
            capitalise_interest(loan, s, lender_acc_b)
            continue
        p = loan.principal
        j = loan.lender
        interest = p * loan.rate * 0.25
        subsidy = 0.0
        if s <= SIZE_MICRO and fp.subsidy_annual > 0.0:
            subsidy = min(interest, p * fp.subsidy_annual * 0.25)
        fee = 0.0
        if fp.guarantee_on == 1 and s <= SIZE_MICRO and loan.channel == CH_BANK:
            fee = p * fp.guarantee_fee_annual * 0.25
        principal = scheduled_principal(loan)
        f.cash -= interest - subsidy + fee + principal
        lender_acc_b[j, s, LF_INTEREST] += interest
        # exempt while the exemption is in force (rate −1 when it is not)
        if flag(loan, VAT_ELIGIBLE) == 1 and fp.vat_exempt_rate >= 0.0:
            lender_acc_b[j, s, LF_INTEREST_VAT_EXEMPT] += interest
        lender_acc_b[j, s, LF_SUBSIDY] += subsidy
        lender_acc_b[j, s, LF_GUARANTEE_FEE] += fee
        lender_acc_b[j, s, LF_PRINCIPAL] += principal
        if deferred == 0:
            loan.remaining -= 1
        remaining_p = p - principal
        if principal >= p or remaining_p <= 1e-9 * p:
            clear_loan(loan)
        else:
            loan.principal = remaining_p
    if f.history < 255:
        f.history += 1
