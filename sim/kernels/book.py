"""Booking (phase 6, after rationing): funded offers become loans in free loan positions
(debt) or cash and outside stakes (equity and crowdfunding); a firm turned down
remembers who said no, so the next round goes elsewhere.

Sums go to the block's own accumulator rows (see :mod:`sim.kernels.layout`).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from sim.categories import CH_BANK, CH_EQUITY, CH_ONLINE, LOAN_EMPTY, LOAN_PERFORMING
from sim.kernels.groups import count_firm, firm_groups
from sim.kernels.informal import REQ_INVEST, REQ_OFFERED, REQ_REFINANCE, repay_from_loan
from sim.kernels.layout import (
    BAND_AMT, BAND_RATE_AMT, GM_APPROVALS, GM_FIRST_TIME, GM_NEW_DEBT, GM_NEW_NONDEBT,
    GM_RATE_AMT, GM_UNSECURED, LF_APPROVALS, LF_APPROVALS_NO_COLLATERAL, LF_CROWD_AMT,
    LF_FEES, LF_NEW_AMT, LF_NEW_COUNT, LF_NEW_FIRST, LF_NEW_PD_AMT, LF_NEW_RATE_AMT,
    LF_NEW_SECURED, LF_NONDEBT_AMT, NEW_THIS_QUARTER,
)
from sim.kernels.records import flag, set_flag
from sim.kernels.schedule import claim_block
from sim.kernels.screening import risk_band
from sim.kernels.seekers import visit_seeker
from sim.population import AMORTIZING, REPORTED_LOAN, SECURED, VAT_ELIGIBLE


@njit(cache=True, inline="always")
def loan_term(channel, for_project, maturity):
    """Term (quarters) and amortizing (1) or bullet (0) of a new loan through ``channel``;
    ``for_project`` if it finances an investment, ``maturity`` (int [4]) the terms of
    bank, bank term, online and supply-chain loans."""
    if channel == CH_BANK:
        if for_project:
            return maturity[1], 1
        return maturity[0], 0
    if channel == CH_ONLINE:
        return maturity[2], 1
    return maturity[3], 0


@njit(cache=True, inline="always")
def book_nondebt(f, request, b, j, c, amount, fee, spent, cp, lender_acc, group_acc):
    """Firm ``f`` raises ``amount`` 万元 of equity or crowdfunding (``c``) through
    platform ``j`` for a ``fee``, of which ``spent`` goes to its project."""
    s = f.size
    f.cash += amount - fee - spent
    if c == CH_EQUITY:
        value = cp.valuation_years * 4.0 * request.revenue
        f.outside_stake = 1.0 - (1.0 - f.outside_stake) * value / (value + amount)
    else:
        lender_acc[b, j, s, LF_CROWD_AMT] += amount
    lender_acc[b, j, s, LF_NONDEBT_AMT] += amount
    lender_acc[b, j, s, LF_FEES] += fee
    for g in firm_groups(f):
        group_acc[b, g, s, GM_NEW_NONDEBT] += amount


@njit(cache=True, inline="always")
def vat_eligible(c, amount, rate, vat_exempt_rate, vat_exempt_max_wan):
    """1 if a loan through channel ``c`` of ``amount`` 万元 at ``rate`` (as stored,
    float32) qualifies for the VAT exemption on small loans' interest (a bank loan at
    most ``vat_exempt_rate`` and ``vat_exempt_max_wan``; −1 when the exemption is off)."""
    return np.int64(1) if (c == CH_BANK and rate <= vat_exempt_rate
                           and amount <= vat_exempt_max_wan) else np.int64(0)


@njit(cache=True, inline="always")
def write_loan(loan, amount, rate, term, j, c, secured, amortizing, eligible):
    """Write a new performing loan into the empty loan record ``loan``; ``eligible`` is
    its VAT eligibility (:func:`vat_eligible`)."""
    loan.principal = amount
    loan.rate = rate
    loan.remaining = term
    loan.term = term
    loan.lender = j
    loan.channel = c
    loan.flags = (np.int64(secured) << SECURED) | (amortizing << AMORTIZING) \
        | (eligible << VAT_ELIGIBLE)
    loan.status = LOAN_PERFORMING
    loan.npl_age = NEW_THIS_QUARTER


@njit(cache=True, inline="always")
def book_loan(f, loans, i, b, j, c, amount, rate, pd, secured, spent, maturity, reports,
              kind, cp, lender_acc, group_acc, band_acc):
    """Firm ``f`` in slot ``i`` borrows ``amount`` 万元 from lender ``j`` through debt
    channel ``c`` at ``rate`` (float32), priced at estimated PD ``pd``; ``spent`` of it
    goes to its project, the rest is held as cash. A first loan from a lender that
    ``reports`` to the credit bureau gives the firm a file; its rate goes to the
    expectations of lenders of its ``kind`` (index into ``categories.ALL_KINDS``)."""
    s = f.size
    term, amortizing = loan_term(c, spent > 0.0, maturity)
    pos = 0 if loans[i, 0].status == LOAN_EMPTY else 1
    write_loan(loans[i, pos], amount, rate, term, j, c, secured, amortizing,
               vat_eligible(c, amount, rate, cp.vat_exempt_rate, cp.vat_exempt_max_wan))
    f.cash += amount - spent
    lender_acc[b, j, s, LF_NEW_AMT] += amount
    lender_acc[b, j, s, LF_NEW_COUNT] += 1.0
    lender_acc[b, j, s, LF_NEW_RATE_AMT] += rate * amount
    lender_acc[b, j, s, LF_NEW_PD_AMT] += pd * amount
    if secured == 1:
        lender_acc[b, j, s, LF_NEW_SECURED] += amount
    band = risk_band(f.quality)
    band_acc[b, kind, band, BAND_AMT] += amount
    band_acc[b, kind, band, BAND_RATE_AMT] += rate * amount
    first = flag(f, REPORTED_LOAN) == 0 and reports == 1
    if first:
        set_flag(f, REPORTED_LOAN, 1)
        lender_acc[b, j, s, LF_NEW_FIRST] += 1.0
    for g in firm_groups(f):
        group_acc[b, g, s, GM_NEW_DEBT] += amount
        group_acc[b, g, s, GM_RATE_AMT] += rate * amount
        if secured == 0:
            group_acc[b, g, s, GM_UNSECURED] += amount
        if first:
            group_acc[b, g, s, GM_FIRST_TIME] += 1.0


@njit(cache=True, inline="always")
def spend_on_project(f, request, amount, fee, cp):
    """An investment is spent on the project, raising the revenue trend; returns how
    much (万元) of ``amount`` net of ``fee`` (none if the firm has no project)."""
    spent = 0.0
    if request.invest & REQ_INVEST:
        spent = min(amount - fee, cp.invest_size * request.revenue)
        f.log_trend += cp.invest_return * spent / max(4.0 * request.revenue, 1e-9)
        request.invest = request.invest & (REQ_REFINANCE | REQ_OFFERED)
    return spent


@njit(cache=True, parallel=True, nogil=True)
def book(seekers, block_starts, cp, lt, lender_acc, group_acc, band_acc, firms, loans,
         requests, apps):
    """Write funded offers into loan positions (debt) or cash and outside stakes
    (non-debt); remember who rejected the others so the next round goes elsewhere; clear
    ``apps.seeking`` of a funded firm whose need is met. ``seekers``, ``block_starts``,
    ``cp``, ``lt`` and ``apps`` as in :func:`sim.kernels.credit.choose_and_screen`;
    ``band_acc`` gets new debt and its rates by lender kind and risk band."""
    # out of the bundles once (see choose_and_screen)
    fee_rate, maturity, reports_to_bureau, kind = lt.fee_rate, cp.maturity, \
        lt.reports_to_bureau, lt.kind
    app_seeking, app_lender, app_channel, app_pd = apps.seeking, apps.lender, apps.channel, \
        apps.pd
    app_amount, app_rate, app_secured, app_funded = apps.amount, apps.rate, apps.secured, \
        apps.funded
    n_blocks = block_starts.shape[0] - 1
    counter = np.zeros(1, dtype=np.int64)
    for _ in prange(n_blocks):
        while True:
            b = claim_block(counter, n_blocks)
            if b >= n_blocks:
                break
            end = block_starts[b + 1]
            for k in range(block_starts[b], end):
                j = app_lender[k]
                if j < 0:
                    continue  # it applied nowhere: its records are not needed
                request = requests[seekers[k]]
                i = visit_seeker(seekers, k, end, requests, firms, loans)
                f = firms[i]
                if app_funded[k] == 0:
                    request.rejected_by = j
                    if cp.last_round == 1:
                        f.discouraged = cp.discouraged_quarters
                    continue
                c = app_channel[k]
                amount = app_amount[k]
                count_firm(lender_acc, group_acc, b, j, f, LF_APPROVALS, LF_APPROVALS_NO_COLLATERAL,
                           GM_APPROVALS)
                fee = amount * fee_rate[j] if c >= CH_EQUITY else 0.0
                spent = spend_on_project(f, request, amount, fee, cp)
                if c >= CH_EQUITY:
                    book_nondebt(f, request, b, j, c, amount, fee, spent, cp, lender_acc,
                                 group_acc)
                else:
                    book_loan(f, loans, i, b, j, c, amount, app_rate[k], app_pd[k],
                              app_secured[k], spent, maturity, reports_to_bureau[j],
                              kind[j], cp, lender_acc, group_acc, band_acc)
                    if request.invest & REQ_REFINANCE:
                        repay_from_loan(f, b, request.need, amount, group_acc)
                request.need = max(0.0, request.need - amount)
                if request.need < cp.min_loan_wan:
                    request.need = 0.0
                    app_seeking[k] = 0
