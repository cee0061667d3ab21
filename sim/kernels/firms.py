"""Firm-side kernels: initial attributes and entry, free slots for entrants, and the debt
helpers that phases 3–5 (:mod:`sim.kernels.operate`) and 7 share.

All kernels take the population arrays by name (see ``sim.population.SME_FIELDS`` for
dtypes and shapes: per-firm arrays are ``(capacity,)``, loan arrays ``(capacity, 2)``),
a :class:`~sim.kernels.params.FirmParams` bundle, and write results in place. Loops
run over fixed blocks (``layout.BLOCK_SIZE``) in ``prange``; sums go to the block's own
accumulator row.
"""

from __future__ import annotations

import math

from numba import njit, prange

from sim import rng
from sim.categories import CH_BANK, LOAN_PERFORMING
from sim.kernels.credit import N_SLOTS, pick_lender
from sim.kernels.layout import (
    NEW_THIS_QUARTER, LF_GUARANTEE_FEE, LF_INTEREST, LF_PRINCIPAL, LF_SUBSIDY,
)

SIZE_MICRO = 1
STAGE_STARTUP, STAGE_GROWTH, STAGE_STABLE, STAGE_DECLINE = 0, 1, 2, 3

# Field numbers for the S_INIT stream: each attribute gets its own draw.
_F_SECTOR, _F_REGION, _F_STAGE, _F_QUALITY, _F_TREND, _F_REV = 0, 1, 2, 3, 4, 5
_F_CASH, _F_HASCOLL, _F_COLL, _F_DIGITAL, _F_BORROWER, _F_TARGET = 6, 7, 8, 9, 10, 11
_F_ANCHOR, _F_ANCHOR_ID, _F_AGE, _F_HASLOAN, _F_LOANCH, _F_LENDER = 12, 13, 14, 15, 16, 17
_F_REMAIN, _F_HIST, _F_SECOND = 18, 19, 20


@njit(cache=True, inline="always")
def clear_slot(i, slot, loan_principal, loan_rate, loan_remaining, loan_term, loan_lender,
               loan_secured, loan_amortizing, loan_status, loan_npl_age):
    """Empty loan slot ``slot`` of firm ``i``."""
    loan_principal[i, slot] = 0.0
    loan_rate[i, slot] = 0.0
    loan_remaining[i, slot] = 0
    loan_term[i, slot] = 0
    loan_lender[i, slot] = -1
    loan_secured[i, slot] = 0
    loan_amortizing[i, slot] = 0
    loan_status[i, slot] = 0
    loan_npl_age[i, slot] = 0


@njit(cache=True, inline="always")
def _pick(cum, u):
    """Index of the first cumulative share above u."""
    n = cum.shape[0]
    for k in range(n):
        if u < cum[k]:
            return k
    return n - 1


@njit(cache=True, parallel=True, nogil=True)
def init_firms(slots, uids, sizes, entrant, fp, choice_lenders, choice_cum, choice_n,
               initial_rates,
               uid, alive, sector, region, size, stage, age, quality, log_trend, log_revenue,
               revenue, cash, collateral, digital, debt_target, anchor, bureau, history,
               first_loan_quarter, defaulted_before, outside_stake, discouraged,
               loan_principal, loan_rate, loan_remaining, loan_term, loan_lender,
               loan_channel, loan_secured, loan_amortizing, loan_status, loan_npl_age):
    """Fill ``slots`` (int64 [n]) with new firms of the given ``uids`` and ``sizes``.

    ``entrant`` = 1 for entrants (start-ups with no loans), 0 for the initial
    population (mixed stages, part of it with a starting loan book drawn at
    ``initial_rates[channel]``). Attributes are drawn from the S_INIT stream keyed by
    uid, so a firm's draws do not depend on the slot it lands in.
    """
    key = rng.stream_key(fp.seed, rng.S_INIT, 0)
    years = max(0.0, fp.quarter / 4.0 - fp.start_year)
    for k in prange(slots.shape[0]):
        i = slots[k]
        u_id = uids[k]
        s = sizes[k]
        uid[i] = u_id
        alive[i] = 1
        size[i] = s
        sector[i] = _pick(fp.sector_cum, rng.uniform(key, u_id, _F_SECTOR, 0))
        region[i] = _pick(fp.region_cum, rng.uniform(key, u_id, _F_REGION, 0))
        q = rng.normal(key, u_id, _F_QUALITY, 0)
        level = fp.log_revenue_median_q[s] + fp.revenue_log_sd * rng.normal(key, u_id, _F_TREND, 0)
        if entrant:
            stage[i] = STAGE_STARTUP
            age[i] = 0
            level -= 0.5  # entrants start below the size they grow into
        else:
            stage[i] = _pick(fp.stage_cum, rng.uniform(key, u_id, _F_STAGE, 0))
            if stage[i] == STAGE_STARTUP:
                age[i] = int(rng.uniform(key, u_id, _F_AGE, 0) * 12)
            else:
                age[i] = 12 + int(rng.uniform(key, u_id, _F_AGE, 0) * 80)
            # the starting population are survivors: weak firms have been weeded out,
            # more so among older firms
            q += fp.initial_quality_tilt * min(age[i], 40) / 40.0
        quality[i] = q
        log_trend[i] = level
        log_revenue[i] = level + 0.1 * rng.normal(key, u_id, _F_REV, 0)
        rev = math.exp(log_revenue[i])
        revenue[i] = rev
        cash[i] = fp.cash_buffer * rev * (0.5 + rng.uniform(key, u_id, _F_CASH, 0))
        discouraged[i] = 0
        coll_share = fp.collateral_share[s] * (0.5 if entrant else 1.0)
        if rng.uniform(key, u_id, _F_HASCOLL, 0) < coll_share:
            collateral[i] = fp.collateral_to_revenue * 4.0 * rev * (
                0.5 + rng.uniform(key, u_id, _F_COLL, 0))
        else:
            collateral[i] = 0.0
        dmean = fp.digital_mean[s] + (fp.entrant_digital_trend * years if entrant else 0.0)
        digital[i] = min(1.0, max(0.0, dmean + 0.25 * rng.normal(key, u_id, _F_DIGITAL, 0)))
        propensity = fp.borrowing_propensity * (0.8 + 0.3 * s)
        if rng.uniform(key, u_id, _F_BORROWER, 0) < propensity:
            sd = fp.debt_target_sd
            debt_target[i] = fp.debt_target[s] * math.exp(
                sd * rng.normal(key, u_id, _F_TARGET, 0) - 0.5 * sd * sd)
        else:
            debt_target[i] = 0.0
        if rng.uniform(key, u_id, _F_ANCHOR, 0) < fp.anchor_prob[sector[i]]:
            anchor[i] = int(rng.uniform(key, u_id, _F_ANCHOR_ID, 0) * fp.anchors)
        else:
            anchor[i] = -1
        bureau[i] = 0
        history[i] = 0
        first_loan_quarter[i] = -1
        defaulted_before[i] = 0
        outside_stake[i] = 0.0
        for slot in range(N_SLOTS):
            clear_slot(i, slot, loan_principal, loan_rate, loan_remaining, loan_term,
                       loan_lender, loan_secured, loan_amortizing, loan_status, loan_npl_age)
            loan_channel[i, slot] = 0
        if entrant or debt_target[i] <= 0.0:
            continue
        # lenders screened the starting borrowers too: better firms more likely hold a loan
        p_loan = fp.initial_borrowers[s] / propensity * 2.0 * rng.norm_cdf(
            fp.initial_borrower_selection * q)
        if rng.uniform(key, u_id, _F_HASLOAN, 0) >= p_loan:
            continue
        # A starting loan book: one loan, bank or online, at a typical rate; the burn-in
        # replaces it with loans the model's own lenders price.
        channel = CH_BANK
        if digital[i] > 0.3 and rng.uniform(key, u_id, _F_LOANCH, 0) < 0.3:
            channel = 1
        lender = pick_lender(choice_lenders, choice_cum, choice_n, channel, region[i],
                             rng.uniform(key, u_id, _F_LENDER, 0), -1)
        if lender < 0:
            continue
        term = 4 if channel == CH_BANK else 2
        loan_principal[i, 0] = debt_target[i] * rev
        loan_rate[i, 0] = initial_rates[channel]
        loan_term[i, 0] = term
        loan_remaining[i, 0] = 1 + int(rng.uniform(key, u_id, _F_REMAIN, 0) * term)
        loan_lender[i, 0] = lender
        loan_channel[i, 0] = channel
        loan_secured[i, 0] = 1 if (channel == CH_BANK and collateral[i] > 0.0) else 0
        loan_amortizing[i, 0] = 0 if channel == CH_BANK else 1
        loan_status[i, 0] = LOAN_PERFORMING
        history[i] = int(rng.uniform(key, u_id, _F_HIST, 0) * 12)
        first_loan_quarter[i] = fp.quarter - 4
        cash[i] += loan_principal[i, 0]  # borrowed working capital is held as cash


@njit(cache=True, inline="always")
def debt_due(i, deferral, loan_principal, loan_rate, loan_remaining, loan_amortizing,
             loan_status, loan_npl_age):
    """Interest plus scheduled principal a firm owes this quarter (万元), ignoring renewal.
    Loans made this quarter owe nothing yet, so a firm that could not pay in phase 4 owes
    the same sum in phase 7, whatever the credit round lent it."""
    total = 0.0
    for slot in range(N_SLOTS):
        if loan_status[i, slot] != LOAN_PERFORMING or loan_npl_age[i, slot] == NEW_THIS_QUARTER:
            continue
        p = loan_principal[i, slot]
        total += p * loan_rate[i, slot] * 0.25
        if deferral == 0:
            if loan_amortizing[i, slot] == 1:
                total += p / max(1, loan_remaining[i, slot])
            elif loan_remaining[i, slot] <= 1:
                total += p
    return total


@njit(cache=True, inline="always")
def debt_outstanding(i, loan_principal, loan_status):
    """Performing principal a firm owes (万元)."""
    total = 0.0
    for slot in range(N_SLOTS):
        if loan_status[i, slot] == LOAN_PERFORMING:
            total += loan_principal[i, slot]
    return total


@njit(cache=True, inline="always")
def pay_debt(i, s, fp, lender_acc_b, cash, history, loan_principal, loan_rate,
             loan_remaining, loan_amortizing, loan_status, loan_lender, loan_channel,
             loan_term, loan_secured, loan_npl_age):
    """Pay this quarter's interest and scheduled principal (cash must suffice). Loans made
    this quarter owe nothing yet."""
    for slot in range(N_SLOTS):
        if loan_status[i, slot] != LOAN_PERFORMING or loan_npl_age[i, slot] == NEW_THIS_QUARTER:
            continue
        p = loan_principal[i, slot]
        j = loan_lender[i, slot]
        interest = p * loan_rate[i, slot] * 0.25
        subsidy = 0.0
        if s <= SIZE_MICRO and fp.subsidy_annual > 0.0:
            subsidy = min(interest, p * fp.subsidy_annual * 0.25)
        fee = 0.0
        if fp.guarantee_on == 1 and s <= SIZE_MICRO and loan_channel[i, slot] == CH_BANK:
            fee = p * fp.guarantee_fee_annual * 0.25
        principal = 0.0
        if fp.deferral == 0:
            if loan_amortizing[i, slot] == 1:
                principal = p / max(1, loan_remaining[i, slot])
            elif loan_remaining[i, slot] <= 1:
                principal = p
        cash[i] -= interest - subsidy + fee + principal
        lender_acc_b[j, s, LF_INTEREST] += interest
        lender_acc_b[j, s, LF_SUBSIDY] += subsidy
        lender_acc_b[j, s, LF_GUARANTEE_FEE] += fee
        lender_acc_b[j, s, LF_PRINCIPAL] += principal
        if fp.deferral == 0:
            loan_remaining[i, slot] -= 1
        remaining_p = p - principal
        if principal >= p or remaining_p <= 1e-9 * p:
            clear_slot(i, slot, loan_principal, loan_rate, loan_remaining, loan_term,
                       loan_lender, loan_secured, loan_amortizing, loan_status, loan_npl_age)
        else:
            loan_principal[i, slot] = remaining_p
    history[i] += 1


@njit(cache=True, nogil=True)
def find_free_slots(alive, loan_status, count, out):
    """Write the first ``count`` free slots (no live firm, no loans left) into ``out``
    in ascending order; return how many were found."""
    found = 0
    for i in range(alive.shape[0]):
        if found == count:
            break
        if alive[i] == 0:
            empty = True
            for slot in range(N_SLOTS):
                if loan_status[i, slot] != 0:
                    empty = False
            if empty:
                out[found] = i
                found += 1
    return found
