"""Default, loss and exit (phase 7), and the end-of-quarter stock count (phase 8).

Defaults are not drawn: a firm defaults when, after the credit round, its cash still
does not cover what it owes. Its loans turn non-performing and are written off after
``writeoff_quarters``, net of collateral recovery. Closure follows with a probability,
and firms also close at a stage-dependent hazard; a closing firm repays what its cash
allows and the rest is written off.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from sim import rng
from sim.categories import CH_SUPPLY_CHAIN, LOAN_NONPERFORMING, LOAN_PERFORMING
from sim.kernels.firms import N_SLOTS, clear_slot, debt_due, pay_debt
from sim.kernels.layout import (
    BLOCK_SIZE, GM_ALIVE, GM_BALANCE, GM_BORROWERS, GM_DEFAULTS, GM_EXITS, GM_NPL,
    NEW_THIS_QUARTER,
    LF_BAL_NPL, LF_BAL_PERF, LF_LOANS, LF_NEW_NPL, LF_PRINCIPAL, LF_RECOVERY, LF_WRITEOFF,
)


@njit(cache=True, inline="always")
def _write_off(i, slot, s, fp, acc_b, key_verified, uid, loan_principal, loan_channel,
               loan_secured, loan_lender):
    p = loan_principal[i, slot]
    c = loan_channel[i, slot]
    if c == CH_SUPPLY_CHAIN and rng.uniform(key_verified, uid[i], 0, 0) < fp.verified_share:
        lgd = fp.lgd_verified
    elif loan_secured[i, slot] == 1:
        lgd = fp.lgd_by_channel_secured[c]
    else:
        lgd = fp.lgd_by_channel_unsecured[c]
    j = loan_lender[i, slot]
    acc_b[j, s, LF_WRITEOFF] += p
    acc_b[j, s, LF_RECOVERY] += p * (1.0 - lgd)


@njit(cache=True, inline="always")
def _default_or_exit(i, b, s, fp, exit_hazard, acc_b, group_acc, keys, uid, alive, sector,
                     region, stage,
                     cash, history, defaulted_before, distressed, loan_principal,
                     loan_rate, loan_remaining, loan_term, loan_lender, loan_channel,
                     loan_secured, loan_amortizing, loan_status, loan_npl_age):
    """Phase 7 for slot ``i`` (live or closed). ``keys`` is a tuple: CPython passes calls
    with more than 30 arguments as ``*args``, which numba cannot inline."""
    key_exit, key_default_exit, key_verified = keys
    # 1. non-performing loans age and are written off, also those a closed firm
    # left behind (its slot stays reserved until they are)
    for slot in range(N_SLOTS):
        if loan_status[i, slot] == LOAN_NONPERFORMING:
            loan_npl_age[i, slot] += 1
            if loan_npl_age[i, slot] >= fp.writeoff_quarters:
                _write_off(i, slot, s, fp, acc_b, key_verified, uid, loan_principal,
                           loan_channel, loan_secured, loan_lender)
                clear_slot(i, slot, loan_principal, loan_rate, loan_remaining, loan_term,
                           loan_lender, loan_secured, loan_amortizing, loan_status,
                           loan_npl_age)
    if alive[i] == 0:
        return
    groups = (np.int64(sector[i]), 7 + region[i], 10 + s, 13 + stage[i])
    closing = False
    # 2. firms that could not pay try again with what the credit round gave them
    if distressed[i] == 1:
        owed = debt_due(i, fp.deferral, loan_principal, loan_rate, loan_remaining,
                        loan_amortizing, loan_status, loan_npl_age)
        if cash[i] >= owed:
            pay_debt(i, s, fp, acc_b, cash, history, loan_principal, loan_rate,
                     loan_remaining, loan_amortizing, loan_status, loan_lender,
                     loan_channel, loan_term, loan_secured, loan_npl_age)
        else:
            for slot in range(N_SLOTS):
                if loan_status[i, slot] == LOAN_PERFORMING:
                    loan_status[i, slot] = LOAN_NONPERFORMING
                    loan_npl_age[i, slot] = 0
                    acc_b[loan_lender[i, slot], s, LF_NEW_NPL] += loan_principal[i, slot]
            defaulted_before[i] = 1
            history[i] = 0
            for g in groups:
                group_acc[b, g, s, GM_DEFAULTS] += 1.0
            if rng.uniform(key_default_exit, uid[i], 0, 0) < fp.exit_after_default:
                closing = True
            else:
                cash[i] = max(cash[i], 0.0)  # the owner tops up to stay open
    elif cash[i] < 0.0:
        # losses with no debt due: the owner tops up or closes the firm
        if rng.uniform(key_default_exit, uid[i], 0, 0) < fp.exit_after_default:
            closing = True
        else:
            cash[i] = 0.0
    # loans made this quarter start owing from the next one
    for slot in range(N_SLOTS):
        if loan_npl_age[i, slot] == NEW_THIS_QUARTER:
            loan_npl_age[i, slot] = 0
    # 3. closure at the stage hazard
    if not closing and rng.uniform(key_exit, uid[i], 0, 0) < exit_hazard[stage[i]]:
        closing = True
    if not closing:
        return
    # 4. a closing firm repays what it can; the rest turns non-performing and
    # goes through collection like any other bad loan
    for slot in range(N_SLOTS):
        if loan_status[i, slot] != LOAN_PERFORMING:
            continue
        j = loan_lender[i, slot]
        p = loan_principal[i, slot]
        paid = min(p, max(cash[i], 0.0))
        cash[i] -= paid
        acc_b[j, s, LF_PRINCIPAL] += paid
        if paid >= p:
            clear_slot(i, slot, loan_principal, loan_rate, loan_remaining, loan_term,
                       loan_lender, loan_secured, loan_amortizing, loan_status, loan_npl_age)
        else:
            loan_principal[i, slot] = p - paid
            loan_status[i, slot] = LOAN_NONPERFORMING
            loan_npl_age[i, slot] = 0
            acc_b[j, s, LF_NEW_NPL] += p - paid
    alive[i] = 0
    cash[i] = 0.0
    for g in groups:
        group_acc[b, g, s, GM_EXITS] += 1.0


@njit(cache=True, inline="always")
def _count(i, b, s, acc_b, group_acc, alive, sector, region, stage, loan_principal,
           loan_lender, loan_status):
    """Phase 8 stock count for slot ``i``: balances and loans per lender (including bad
    loans a closed firm left behind), and for a live firm its group's firms alive, debt,
    non-performing debt and borrowers."""
    debt = 0.0
    npl = 0.0
    borrower = 0.0
    for slot in range(N_SLOTS):
        status = loan_status[i, slot]
        if status == 0:
            continue
        j = loan_lender[i, slot]
        p = loan_principal[i, slot]
        debt += p
        if status == LOAN_PERFORMING:
            acc_b[j, s, LF_BAL_PERF] += p
            acc_b[j, s, LF_LOANS] += 1.0
            borrower = 1.0
        else:
            acc_b[j, s, LF_BAL_NPL] += p
            npl += p
    if alive[i] == 0:
        return
    for g in (np.int64(sector[i]), 7 + region[i], 10 + s, 13 + stage[i]):
        group_acc[b, g, s, GM_ALIVE] += 1.0
        group_acc[b, g, s, GM_BALANCE] += debt
        group_acc[b, g, s, GM_NPL] += npl
        group_acc[b, g, s, GM_BORROWERS] += borrower


@njit(cache=True, parallel=True, nogil=True)
def defaults_and_count(n_slots, fp, lender_acc, group_acc, uid, alive, sector, region, size,
                       stage, cash, history, defaulted_before, distressed,
                       loan_principal, loan_rate, loan_remaining, loan_term, loan_lender,
                       loan_channel, loan_secured, loan_amortizing, loan_status, loan_npl_age):
    """Phase 7, then the phase-8 stock count, in one pass (each slot's count depends only
    on its own state after phase 7). Mutates loan status, cash and ``alive``; adds
    defaults, exits, new NPLs, write-offs, recoveries and the end-of-quarter stocks to
    the block accumulators."""
    key_exit = rng.stream_key(fp.seed, rng.S_EXIT, fp.quarter)
    key_default_exit = rng.stream_key(fp.seed, rng.S_DEFAULT_EXIT, fp.quarter)
    key_verified = rng.stream_key(fp.seed, rng.S_VERIFIED, 0)
    keys = (key_exit, key_default_exit, key_verified)
    n_blocks = (n_slots + BLOCK_SIZE - 1) // BLOCK_SIZE
    exit_hazard = fp.exit_hazard  # out of the bundle once, before the threads
    for b in prange(n_blocks):
        acc_b = lender_acc[b]
        for i in range(b * BLOCK_SIZE, min(n_slots, (b + 1) * BLOCK_SIZE)):
            s = size[i]
            _default_or_exit(i, b, s, fp, exit_hazard, acc_b, group_acc, keys, uid, alive,
                             sector, region, stage, cash, history, defaulted_before,
                             distressed, loan_principal, loan_rate, loan_remaining,
                             loan_term, loan_lender, loan_channel, loan_secured,
                             loan_amortizing, loan_status, loan_npl_age)
            _count(i, b, s, acc_b, group_acc, alive, sector, region, stage, loan_principal,
                   loan_lender, loan_status)


@njit(cache=True, parallel=True, nogil=True)
def count_stocks(n_slots, lender_acc, group_acc, alive, sector, region, size, stage,
                 loan_principal, loan_lender, loan_status):
    """The phase-8 stock count alone (for the starting population)."""
    n_blocks = (n_slots + BLOCK_SIZE - 1) // BLOCK_SIZE
    for b in prange(n_blocks):
        acc_b = lender_acc[b]
        for i in range(b * BLOCK_SIZE, min(n_slots, (b + 1) * BLOCK_SIZE)):
            _count(i, b, size[i], acc_b, group_acc, alive, sector, region, stage,
                   loan_principal, loan_lender, loan_status)
