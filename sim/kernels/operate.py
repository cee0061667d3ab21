"""Phases 3–5 in one pass over the firms: operation, debt service and credit demand.

Each firm's update in these phases depends only on its own state and this quarter's
parameters, so the three phases run back to back per firm inside one parallel loop:
the SME arrays are read from memory once instead of three times, and the results are
the same as running the phases one after the other over all firms. The pass also lists
the firms that seek credit (``seekers``), so phase 6 visits only those.

Arrays are the population's (``sim.population.SME_FIELDS``: per-firm ``(capacity,)``,
loan arrays ``(capacity, 2)``); sums go to the block's own accumulator row.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from sim import rng
from sim.categories import CH_BANK, LOAN_NONPERFORMING, LOAN_PERFORMING
from sim.kernels.firms import (
    N_SLOTS, STAGE_DECLINE, STAGE_GROWTH, STAGE_STABLE, STAGE_STARTUP, debt_due,
    debt_outstanding, pay_debt,
)
from sim.kernels.layout import BLOCK_SIZE, GM_DEMAND, LF_RENEWED


@njit(cache=True, inline="always")
def _advance(i, fp, transitions, coverage, key_stage, key_bureau, uid, size, stage, age,
             first_loan_quarter, bureau, digital):
    """Phase 3, first part, for live firm ``i``: ageing, stage change, bureau file and
    digital drift."""
    tr = transitions
    age[i] += 1
    u = rng.uniform(key_stage, uid[i], 0, 0)
    st = stage[i]
    if st == STAGE_STARTUP:
        if u < tr[0]:
            stage[i] = STAGE_GROWTH
        elif u < tr[0] + tr[1]:
            stage[i] = STAGE_STABLE
    elif st == STAGE_GROWTH:
        if u < tr[2]:
            stage[i] = STAGE_STABLE
    elif st == STAGE_STABLE:
        if u < tr[3]:
            stage[i] = STAGE_DECLINE
        elif u < tr[3] + tr[4]:
            stage[i] = STAGE_GROWTH
    else:
        if u < tr[5]:
            stage[i] = STAGE_STABLE
    # a bureau file comes from a past loan or from coverage (a fixed rank per firm)
    if first_loan_quarter[i] >= 0:
        bureau[i] = 1
    else:
        covered = rng.uniform(key_bureau, uid[i], 0, 0) < coverage[size[i]]
        bureau[i] = 1 if covered else 0
    digital[i] = min(1.0, digital[i] + fp.digital_drift)


@njit(cache=True, inline="always")
def _earn(i, fp, growth, drift, vol, shock, base_margin, key_rev, key_margin, uid, sector,
          region, size, stage, quality, log_trend, log_revenue, revenue, margin_out, cash,
          loan_principal, loan_rate, loan_remaining, loan_amortizing, loan_status,
          loan_npl_age):
    """Phase 3, second part, for live firm ``i``: revenue, profit and cash; returns what
    the owners draw (万元)."""
    u_id = uid[i]
    s = size[i]
    # revenue: the trend moves with the macro path and the stage; revenue mean-reverts
    # to it with size-dependent volatility; shocks scale the level
    sec = sector[i]
    log_trend[i] += growth[sec] + drift[stage[i]]
    lr = log_revenue[i] + growth[sec]
    lr += fp.mean_reversion * (log_trend[i] - lr)
    lr += vol[s] * rng.normal(key_rev, u_id, 0, 0)
    log_revenue[i] = lr
    level = shock[sec, region[i]]
    rev = math.exp(lr) * level
    revenue[i] = rev
    margin = base_margin[s] + fp.margin_slope * quality[i] + \
        fp.margin_noise * rng.normal(key_margin, u_id, 0, 0)
    if level < 1.0:
        # fixed costs do not fall with revenue: a revenue collapse hits margins
        margin -= 0.5 * (1.0 - level)
    margin_out[i] = margin
    cash[i] += rev * margin
    # Owners draw only profits: they keep a working buffer and the borrowed working
    # capital (lenders' money is not theirs to take out), so a loan is repaid from the
    # cash it financed unless losses ate it.
    due = debt_due(i, fp.deferral, loan_principal, loan_rate, loan_remaining,
                   loan_amortizing, loan_status, loan_npl_age)
    held = max(due, debt_outstanding(i, loan_principal, loan_status))
    excess = cash[i] - fp.cash_buffer * rev - held
    if excess <= 0.0:
        return 0.0
    draw = fp.owner_draw_share * excess
    cash[i] -= draw
    return draw


@njit(cache=True, inline="always")
def _service(i, fp, acc_b, key_renew, uid, size, cash, history, defaulted_before,
             distressed, loan_principal, loan_rate, loan_remaining, loan_term,
             loan_amortizing, loan_status, loan_lender, loan_channel, loan_secured,
             loan_npl_age):
    """Phase 4 for live firm ``i``: interest and scheduled principal fall due; returns
    what it could not pay (万元, 0 if it paid).

    Maturing bank loans of firms with a clean record may be renewed without principal
    repayment (the renewal share is the policy). A firm whose cash covers what is due
    pays now; otherwise it is flagged ``distressed`` and tries again in phase 7 after
    the credit round.
    """
    s = size[i]
    for slot in range(N_SLOTS):
        if (loan_status[i, slot] == LOAN_PERFORMING and fp.deferral == 0
                and loan_amortizing[i, slot] == 0 and loan_remaining[i, slot] <= 1
                and loan_channel[i, slot] == CH_BANK and history[i] >= 4
                and defaulted_before[i] == 0):
            if rng.uniform(key_renew, uid[i], slot, 0) < fp.renewal_share:
                loan_remaining[i, slot] = loan_term[i, slot] + 1
                acc_b[loan_lender[i, slot], s, LF_RENEWED] += loan_principal[i, slot]
    owed = debt_due(i, fp.deferral, loan_principal, loan_rate, loan_remaining,
                    loan_amortizing, loan_status, loan_npl_age)
    if owed <= 0.0:
        return 0.0
    if cash[i] >= owed:
        pay_debt(i, s, fp, acc_b, cash, history, loan_principal, loan_rate, loan_remaining,
                 loan_amortizing, loan_status, loan_lender, loan_channel, loan_term,
                 loan_secured, loan_npl_age)
        return 0.0
    distressed[i] = 1
    return owed


@njit(cache=True, inline="always")
def _demand(i, b, fp, invest_prob, key_invest, group_acc, uid, sector, region, size, stage,
            revenue, cash, debt_target, unpaid, need, invest, discouraged, loan_principal,
            loan_status):
    """Phase 5 for live firm ``i``: how much external finance it seeks (万元), given the
    debt service it could not pay in phase 4 (``unpaid``, 万元).

    Three reasons, per the report's uses of funds: a cash shortfall (debt service it
    could not meet, or losses), working capital to bring debt back to the firm's target,
    and an investment opportunity (more likely in start-up and growth stages). A firm
    turned down recently (``discouraged`` > 0 quarters left) does not seek optional
    credit, only what a cash shortfall forces.
    """
    s = size[i]
    rev = revenue[i]
    shortfall = max(0.0, unpaid - cash[i])
    has_npl = False
    free_slot = False
    debt = 0.0
    for slot in range(N_SLOTS):
        if loan_status[i, slot] == LOAN_PERFORMING:
            debt += loan_principal[i, slot]
        elif loan_status[i, slot] == LOAN_NONPERFORMING:
            has_npl = True
        else:
            free_slot = True
    total = shortfall
    if discouraged[i] > 0:
        discouraged[i] -= 1
    elif debt_target[i] > 0.0 and not has_npl:
        # a firm using both its credit lines waits for one to mature
        gap = debt_target[i] * fp.debt_appetite * rev - debt
        if gap > 0.2 * rev and free_slot:
            total += gap
        if rng.uniform(key_invest, uid[i], 0, 0) < invest_prob[stage[i]]:
            total += fp.invest_size * rev
            invest[i] = 1
    # firms ask for what lenders could plausibly give, a multiple of revenue
    total = min(total, max(shortfall, fp.max_request * rev))
    if total > 0.0:
        need[i] = total
        for g in (np.int64(sector[i]), 7 + region[i], 10 + s, 13 + stage[i]):
            group_acc[b, g, s, GM_DEMAND] += total


@njit(cache=True, parallel=True, nogil=True)
def firms_quarter(n_slots, fp, lender_acc, group_acc, owner_draws, seekers_per_block,
                  uid, alive, sector, region, size, stage, age, quality, log_trend,
                  log_revenue, revenue, margin, cash, digital, debt_target, bureau, history,
                  first_loan_quarter, defaulted_before, outside_stake, distressed, need,
                  invest, rejected_by, discouraged, loan_principal, loan_rate, loan_remaining,
                  loan_term, loan_amortizing, loan_status, loan_lender, loan_channel,
                  loan_secured, loan_npl_age):
    """Phases 3, 4 and 5 for the slots below ``n_slots``.

    ``owner_draws`` (float64 [n_blocks, 3, 2]) receives per block and size the cash paid
    to owners and, of that, to outside equity investors; ``seekers_per_block`` (int64
    [n_blocks]) the number of firms seeking credit in each block.
    """
    key_rev = rng.stream_key(fp.seed, rng.S_REVENUE, fp.quarter)
    key_margin = rng.stream_key(fp.seed, rng.S_MARGIN, fp.quarter)
    key_stage = rng.stream_key(fp.seed, rng.S_STAGE, fp.quarter)
    key_bureau = rng.stream_key(fp.seed, rng.S_BUREAU, 0)
    key_renew = rng.stream_key(fp.seed, rng.S_RENEW, fp.quarter)
    key_invest = rng.stream_key(fp.seed, rng.S_INVEST, fp.quarter)
    # Arrays are taken out of the bundle here, once, not per firm: getting an array out
    # of a tuple inside the loop costs reference-count updates that the threads contend
    # for. (The per-firm functions take at most 30 arguments: CPython passes longer calls
    # as ``*args``, which numba cannot inline.)
    transitions = fp.transitions
    coverage = fp.bureau_coverage
    growth = fp.growth_by_sector_q
    drift = fp.drift_by_stage
    vol = fp.vol_by_size
    shock = fp.shock_mult
    base_margin = fp.margin_by_size
    invest_prob = fp.invest_prob
    n_blocks = (n_slots + BLOCK_SIZE - 1) // BLOCK_SIZE
    for b in prange(n_blocks):
        acc_b = lender_acc[b]
        seeking = 0
        for i in range(b * BLOCK_SIZE, min(n_slots, (b + 1) * BLOCK_SIZE)):
            distressed[i] = 0
            need[i] = 0.0
            invest[i] = 0
            rejected_by[i] = -1
            if alive[i] == 0:
                continue
            _advance(i, fp, transitions, coverage, key_stage, key_bureau, uid, size, stage,
                     age, first_loan_quarter, bureau, digital)
            draw = _earn(i, fp, growth, drift, vol, shock, base_margin, key_rev, key_margin,
                         uid, sector, region, size, stage, quality, log_trend, log_revenue,
                         revenue, margin, cash, loan_principal, loan_rate, loan_remaining,
                         loan_amortizing, loan_status, loan_npl_age)
            if draw > 0.0:
                owner_draws[b, size[i], 0] += draw
                owner_draws[b, size[i], 1] += draw * outside_stake[i]
            unpaid = _service(i, fp, acc_b, key_renew, uid, size, cash, history,
                              defaulted_before, distressed, loan_principal, loan_rate,
                              loan_remaining, loan_term, loan_amortizing, loan_status,
                              loan_lender, loan_channel, loan_secured, loan_npl_age)
            _demand(i, b, fp, invest_prob, key_invest, group_acc, uid, sector, region, size,
                    stage, revenue, cash, debt_target, unpaid, need, invest, discouraged,
                    loan_principal, loan_status)
            if need[i] > 0.0:
                seeking += 1
        seekers_per_block[b] = seeking


@njit(cache=True, parallel=True, nogil=True)
def list_seekers(n_slots, need, seekers_per_block, block_starts, seekers):
    """Slots of the firms seeking credit, in ascending order, into ``seekers`` (int32,
    at least one entry per seeker); ``block_starts`` (int64 [n_blocks + 1]) gets where
    each block's begin. Returns the number of seekers."""
    n_blocks = (n_slots + BLOCK_SIZE - 1) // BLOCK_SIZE
    block_starts[0] = 0
    for b in range(n_blocks):
        block_starts[b + 1] = block_starts[b] + seekers_per_block[b]
    for b in prange(n_blocks):
        k = block_starts[b]
        end = block_starts[b + 1]
        for i in range(b * BLOCK_SIZE, min(n_slots, (b + 1) * BLOCK_SIZE)):
            # written every time and kept only for a seeker: no branch on ``need``, whose
            # outcome is a coin toss for the predictor (a quarter of the firms seek)
            if k < end:
                seekers[k] = i
            k += need[i] > 0.0
    return block_starts[n_blocks]
