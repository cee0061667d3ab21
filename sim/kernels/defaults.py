"""Default, loss and exit (phase 7), and the end-of-quarter stock count (phase 8).

Defaults are not drawn: a firm defaults when, after the credit round, its cash still
does not cover what it owes. Its loans turn non-performing and are written off after
``writeoff_quarters`` on average, net of collateral recovery. Closure follows with a probability,
and firms also close at a stage-dependent hazard; a closing firm repays what its cash
allows and the rest is written off.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from sim import rng
from sim.categories import (
    CH_BANK, CH_ONLINE, CH_SUPPLY_CHAIN, LOAN_EMPTY, LOAN_NONPERFORMING, LOAN_PERFORMING, SIZES,
)
from sim.kernels.bitsets import mark_slot
from sim.kernels.debt import capitalise_interest, clear_loan, debt_due, pay_debt
from sim.kernels.groups import cell_of, firm_groups, fold_cells
from sim.kernels.informal import borrow_informally
from sim.kernels.layout import (
    BLOCK_SIZE, GM_DEFAULTS, GM_EXITS, NEW_THIS_QUARTER, LF_BAL_NPL, LF_BAL_PERF, LF_LOANS,
    LF_NEW_NPL, LF_PRINCIPAL, LF_RECOVERY, LF_WRITEOFF, N_CELLS, N_STOCKS,
)
from sim.kernels.records import flag, set_flag, uid_of
from sim.kernels.schedule import claim_block
from sim.population import (
    ALIVE, DEFAULTED_BEFORE, DEFERRED, DISTRESSED, LOAN_POSITIONS, SECURED,
)

N_SIZES = len(SIZES)


@njit(cache=True, inline="always")
def _write_off(f, loan, s, fp, acc_b, key_verified):
    p = loan.principal
    c = loan.channel
    if c == CH_SUPPLY_CHAIN and rng.uniform(key_verified, uid_of(f), 0, 0) < fp.verified_share:
        lgd = fp.lgd_verified
    elif flag(loan, SECURED) == 1:
        lgd = fp.lgd_by_channel_secured[c]
    else:
        lgd = fp.lgd_by_channel_unsecured[c]
    j = loan.lender
    acc_b[j, s, LF_WRITEOFF] += p
    acc_b[j, s, LF_RECOVERY] += p * (1.0 - lgd)


@njit(cache=True, inline="always")
def _age_bad_loans(f, loans, i, s, fp, acc_b, key_verified, key_writeoff):
    """Non-performing loans of the firm in slot ``i`` age and are written off after
    ``writeoff_quarters`` (whole quarters), or with chance ``writeoff_extra`` a quarter
    later, so that they stay ``writeoff_quarters + writeoff_extra`` quarters on average;
    also those a closed firm left behind (its slot stays reserved until they are)."""
    for pos in range(LOAN_POSITIONS):
        loan = loans[i, pos]
        if loan.status == LOAN_NONPERFORMING:
            loan.npl_age += 1
            if loan.npl_age >= fp.writeoff_quarters and (
                    loan.npl_age > fp.writeoff_quarters or fp.writeoff_extra <= 0.0
                    or rng.uniform(key_writeoff, uid_of(f), pos, 0) >= fp.writeoff_extra):
                _write_off(f, loan, s, fp, acc_b, key_verified)
                clear_loan(loan)


@njit(cache=True, inline="always")
def _default(f, loans, i, b, s, fp, acc_b, group_acc, key_default_exit):
    """The live firm ``f`` in slot ``i`` cannot pay what it owes: its loans turn
    non-performing, except deferred ones, which are not classed bad while deferred (their
    unpaid interest is added to principal). A firm all of whose loans are deferred has
    not defaulted. Returns whether it closes."""
    bad = False
    for pos in range(LOAN_POSITIONS):
        loan = loans[i, pos]
        if loan.status == LOAN_PERFORMING:
            if flag(loan, DEFERRED) == 1:
                capitalise_interest(loan, s, acc_b)
                continue
            loan.status = LOAN_NONPERFORMING
            loan.npl_age = 0
            acc_b[loan.lender, s, LF_NEW_NPL] += loan.principal
            bad = True
    if not bad:
        f.cash = max(f.cash, 0.0)  # the owner tops up; the firm stays current
        return False
    set_flag(f, DEFAULTED_BEFORE, 1)
    f.history = 0
    for g in firm_groups(f):
        group_acc[b, g, s, GM_DEFAULTS] += 1.0
    if rng.uniform(key_default_exit, uid_of(f), 0, 0) < fp.exit_after_default:
        return True
    f.cash = max(f.cash, 0.0)  # the owner tops up to stay open
    return False


@njit(cache=True, inline="always")
def _close(f, loans, i, b, s, acc_b, group_acc):
    """The firm ``f`` in slot ``i`` closes: it repays what its cash allows; the rest
    turns non-performing and goes through collection like any other bad loan."""
    for pos in range(LOAN_POSITIONS):
        loan = loans[i, pos]
        if loan.status != LOAN_PERFORMING:
            continue
        j = loan.lender
        p = loan.principal
        paid = min(p, max(f.cash, 0.0))
        f.cash -= paid
        acc_b[j, s, LF_PRINCIPAL] += paid
        if paid >= p:
            clear_loan(loan)
        else:
            loan.principal = p - paid
            loan.status = LOAN_NONPERFORMING
            loan.npl_age = 0
            set_flag(loan, DEFERRED, 0)
            acc_b[j, s, LF_NEW_NPL] += p - paid
    set_flag(f, ALIVE, 0)
    f.cash = 0.0
    f.informal_debt = 0.0  # informal lenders' loss, outside the lenders' books
    for g in firm_groups(f):
        group_acc[b, g, s, GM_EXITS] += 1.0


@njit(cache=True, inline="always")
def _default_or_exit(f, loans, i, b, s, fp, exit_hazard, acc_b, group_acc, key_exit,
                     key_default_exit, key_verified, key_writeoff):
    """Phase 7 for the firm record ``f`` in slot ``i`` (live or closed)."""
    # 1. non-performing loans age and are written off
    _age_bad_loans(f, loans, i, s, fp, acc_b, key_verified, key_writeoff)
    if flag(f, ALIVE) == 0:
        return
    closing = False
    # 2. firms that could not pay try again with what the credit round gave them
    if flag(f, DISTRESSED) == 1:
        owed = debt_due(loans, i, fp.deferral_interest)
        if f.cash < owed:
            # what lenders did not meet, the firm partly borrows informally
            borrow_informally(f, b, s, owed, fp, group_acc)
        if f.cash >= owed:
            pay_debt(f, loans, i, s, fp, acc_b)
        else:
            closing = _default(f, loans, i, b, s, fp, acc_b, group_acc, key_default_exit)
    elif f.cash < 0.0:
        # losses with no debt due: the owner tops up or closes the firm
        if rng.uniform(key_default_exit, uid_of(f), 0, 0) < fp.exit_after_default:
            closing = True
        else:
            f.cash = 0.0
    # loans made this quarter start owing from the next one
    for pos in range(LOAN_POSITIONS):
        if loans[i, pos].npl_age == NEW_THIS_QUARTER:
            loans[i, pos].npl_age = 0
    # 3. closure at the stage hazard
    if not closing and rng.uniform(key_exit, uid_of(f), 0, 0) < exit_hazard[f.stage]:
        closing = True
    # 4. a closing firm repays what it can
    if closing:
        _close(f, loans, i, b, s, acc_b, group_acc)


@njit(cache=True, inline="always")
def _count(f, loans, i, s, acc_b, cells):
    """Phase 8 stock count for the firm record ``f`` in slot ``i``: balances and loans
    per lender (including bad loans a closed firm left behind), and for a live firm its
    cell's firms alive, debt, non-performing debt, borrowers, digital footprint, online
    users, bank borrowers and informal debt (``cells``, see
    :func:`sim.kernels.groups.fold_cells`)."""
    debt = 0.0
    npl = 0.0
    borrower = 0.0
    online = 0.0
    bank_borrower = 0.0
    for pos in range(LOAN_POSITIONS):
        loan = loans[i, pos]
        status = loan.status
        if status == LOAN_EMPTY:
            continue
        j = loan.lender
        p = loan.principal
        debt += p
        if status == LOAN_PERFORMING:
            acc_b[j, s, LF_BAL_PERF] += p
            acc_b[j, s, LF_LOANS] += 1.0
            borrower = 1.0
            if loan.channel == CH_ONLINE:
                online = 1.0
            elif loan.channel == CH_BANK:
                bank_borrower = 1.0
        else:
            acc_b[j, s, LF_BAL_NPL] += p
            npl += p
    if flag(f, ALIVE) == 0:
        return
    # in the order of layout.STOCK_METRICS
    cell = cells[cell_of(f), s]
    cell[0] += 1.0
    cell[1] += debt
    cell[2] += npl
    cell[3] += borrower
    cell[4] += f.digital
    cell[5] += online
    cell[6] += bank_borrower
    cell[7] += f.informal_debt


@njit(cache=True, parallel=True, nogil=True)
def defaults_and_count(n_slots, fp, lender_acc, group_acc, free_bits, firms, loans):
    """Phase 7, then the phase-8 stock count, in one pass (each slot's count depends only
    on its own state after phase 7). Mutates loan status, cash and ``alive``; adds
    defaults, exits, new NPLs, write-offs, recoveries and the end-of-quarter stocks to
    the block accumulators; sets in ``free_bits`` (uint64 [n_blocks, WORDS_PER_BLOCK])
    the slots left free (no live firm, no loan)."""
    key_exit = rng.stream_key(fp.seed, rng.S_EXIT, fp.quarter)
    key_default_exit = rng.stream_key(fp.seed, rng.S_DEFAULT_EXIT, fp.quarter)
    key_verified = rng.stream_key(fp.seed, rng.S_VERIFIED, 0)
    key_writeoff = rng.stream_key(fp.seed, rng.S_WRITEOFF, fp.quarter)
    n_blocks = (n_slots + BLOCK_SIZE - 1) // BLOCK_SIZE
    exit_hazard = fp.exit_hazard  # out of the bundle once, before the threads
    counter = np.zeros(1, dtype=np.int64)
    for _ in prange(n_blocks):
        while True:
            b = claim_block(counter, n_blocks)
            if b >= n_blocks:
                break
            acc_b = lender_acc[b]
            bits = free_bits[b]
            bits[:] = 0
            cells = np.zeros((N_CELLS, N_SIZES, N_STOCKS))
            for i in range(b * BLOCK_SIZE, min(n_slots, (b + 1) * BLOCK_SIZE)):
                f = firms[i]
                s = f.size
                _default_or_exit(f, loans, i, b, s, fp, exit_hazard, acc_b, group_acc,
                                 key_exit, key_default_exit, key_verified, key_writeoff)
                _count(f, loans, i, s, acc_b, cells)
                if flag(f, ALIVE) == 0:
                    free = True
                    for pos in range(LOAN_POSITIONS):
                        if loans[i, pos].status != LOAN_EMPTY:
                            free = False
                    if free:
                        mark_slot(bits, i)
            fold_cells(cells, group_acc[b])


@njit(cache=True, parallel=True, nogil=True)
def count_stocks(n_slots, lender_acc, group_acc, firms, loans):
    """The phase-8 stock count alone (for the starting population)."""
    n_blocks = (n_slots + BLOCK_SIZE - 1) // BLOCK_SIZE
    for b in prange(n_blocks):  # once a run: no need to claim blocks
        acc_b = lender_acc[b]
        cells = np.zeros((N_CELLS, N_SIZES, N_STOCKS))
        for i in range(b * BLOCK_SIZE, min(n_slots, (b + 1) * BLOCK_SIZE)):
            f = firms[i]
            _count(f, loans, i, f.size, acc_b, cells)
        fold_cells(cells, group_acc[b])
