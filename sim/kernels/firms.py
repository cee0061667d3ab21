"""Firm-side kernels: initial attributes and entry, free slots for entrants, and the debt
helpers that phases 3–5 (:mod:`sim.kernels.operate`) and 7 share.

All kernels take the population's records (``firms`` ``(capacity,)`` of
``sim.population.FIRM_DTYPE``, ``loans`` ``(capacity, 2)`` of ``LOAN_DTYPE``; fields as in
``SME_FIELDS``), a :class:`~sim.kernels.params.FirmParams` bundle, and write results in
place. Loops
run over fixed blocks (``layout.BLOCK_SIZE``) in ``prange``; sums go to the block's own
accumulator row.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from sim import rng
from sim.categories import CH_BANK, LOAN_PERFORMING
from sim.kernels.credit import N_SLOTS, PREFETCH_AHEAD, pick_lender
from sim.kernels.layout import (
    BLOCK_SIZE, NEW_THIS_QUARTER, LF_GUARANTEE_FEE, LF_INTEREST, LF_PRINCIPAL, LF_SUBSIDY,
    WORDS_PER_BLOCK,
)
from sim.kernels.prefetch import prefetch
from sim.kernels.records import flag, set_uid
from sim.population import ALIVE, AMORTIZING, SECURED

SIZE_MICRO = 1
_ONE = np.uint64(1)
STAGE_STARTUP, STAGE_GROWTH, STAGE_STABLE, STAGE_DECLINE = 0, 1, 2, 3

# Field numbers for the S_INIT stream: each attribute gets its own draw.
_F_SECTOR, _F_REGION, _F_STAGE, _F_QUALITY, _F_TREND, _F_REV = 0, 1, 2, 3, 4, 5
_F_CASH, _F_HASCOLL, _F_COLL, _F_DIGITAL, _F_BORROWER, _F_TARGET = 6, 7, 8, 9, 10, 11
_F_ANCHOR, _F_ANCHOR_ID, _F_AGE, _F_HASLOAN, _F_LOANCH, _F_LENDER = 12, 13, 14, 15, 16, 17
_F_REMAIN, _F_HIST, _F_SECOND = 18, 19, 20


@njit(cache=True, inline="always")
def clear_slot(loan):
    """Empty the loan record ``loan`` (``loans[i, slot]``)."""
    loan.principal = 0.0
    loan.rate = 0.0
    loan.remaining = 0
    loan.term = 0
    loan.lender = -1
    loan.flags = 0
    loan.status = 0
    loan.npl_age = 0


@njit(cache=True, inline="always")
def mark_slot(bits, i):
    """Set slot ``i``'s bit in its block's row ``bits`` (uint64 [WORDS_PER_BLOCK])."""
    bits[(i % BLOCK_SIZE) >> 6] |= _ONE << np.uint64(i & 63)


# De Bruijn multiplication finds which bit a power of two sets (Leiserson, Prokop and
# Randall 1998): each of the 64 products has a different top six bits.
_DE_BRUIJN = 0x03F79D71B4CB0A89


def _de_bruijn_slots() -> np.ndarray:
    slots = np.zeros(64, dtype=np.int64)
    for t in range(64):
        slots[((1 << t) * _DE_BRUIJN % (1 << 64)) >> 58] = t
    return slots


_DE_BRUIJN_SLOT = _de_bruijn_slots()
_DE_BRUIJN_U64 = np.uint64(_DE_BRUIJN)
_S58 = np.uint64(58)


@njit(cache=True, inline="always")
def lowest_bit(power):
    """The position (int64, 0–63) of the one set bit of ``power`` (uint64)."""
    return _DE_BRUIJN_SLOT[(power * _DE_BRUIJN_U64) >> _S58]


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
               initial_rates, groups_of, firms, loans):
    """Fill ``slots`` (int64 [n]) with new firms of the given ``uids`` and ``sizes``.

    ``entrant`` = 1 for entrants (start-ups with no loans), 0 for the initial
    population (mixed stages, part of it with a starting loan book drawn at
    ``initial_rates[channel]``). Attributes are drawn from the S_INIT stream keyed by
    uid, so a firm's draws do not depend on the slot it lands in. Every field of the
    slot is written, so what an earlier firm left there does not matter. ``groups_of``
    (uint8 [n, 4]) receives each new firm's sector, region, size and stage.
    """
    key = rng.stream_key(fp.seed, rng.S_INIT, 0)
    years = max(0.0, fp.quarter / 4.0 - fp.start_year)
    n = slots.shape[0]
    for k in prange(n):
        if k + PREFETCH_AHEAD < n:
            # free slots lie far apart: their records are not in cache
            prefetch(firms, slots[k + PREFETCH_AHEAD])
            prefetch(loans, slots[k + PREFETCH_AHEAD])
        i = slots[k]
        f = firms[i]
        u_id = uids[k]
        s = sizes[k]
        set_uid(f, u_id)
        f.flags = 1 << ALIVE  # alive; no bureau file, default or distress yet
        f.size = s
        f.sector = _pick(fp.sector_cum, rng.uniform(key, u_id, _F_SECTOR, 0))
        f.region = _pick(fp.region_cum, rng.uniform(key, u_id, _F_REGION, 0))
        q = rng.normal(key, u_id, _F_QUALITY, 0)
        level = fp.log_revenue_median_q[s] + fp.revenue_log_sd * rng.normal(key, u_id, _F_TREND, 0)
        if entrant:
            f.stage = STAGE_STARTUP
            f.age = 0
            level -= fp.entrant_revenue_gap  # entrants start below the size they grow into
        else:
            f.stage = _pick(fp.stage_cum, rng.uniform(key, u_id, _F_STAGE, 0))
            if f.stage == STAGE_STARTUP:
                f.age = int(rng.uniform(key, u_id, _F_AGE, 0) * fp.startup_age)
            else:
                f.age = fp.startup_age + int(rng.uniform(key, u_id, _F_AGE, 0)
                                             * fp.established_age_span)
            # the starting population are survivors: weak firms have been weeded out,
            # more so among older firms
            q += fp.initial_quality_tilt * min(f.age, fp.tilt_full_age) / fp.tilt_full_age
        f.quality = q
        f.log_trend = level
        f.log_revenue = level + fp.start_revenue_noise_sd * rng.normal(key, u_id, _F_REV, 0)
        rev = math.exp(f.log_revenue)
        f.cash = fp.cash_buffer * rev * (fp.start_cash_min + rng.uniform(key, u_id, _F_CASH, 0))
        f.discouraged = 0
        coll_share = fp.collateral_share[s] * (fp.entrant_collateral_factor if entrant else 1.0)
        if rng.uniform(key, u_id, _F_HASCOLL, 0) < coll_share:
            f.collateral = fp.collateral_to_revenue * 4.0 * rev * (
                fp.start_collateral_min + rng.uniform(key, u_id, _F_COLL, 0))
        else:
            f.collateral = 0.0
        dmean = fp.digital_mean[s] + (fp.entrant_digital_trend * years if entrant else 0.0)
        f.digital = min(1.0, max(0.0, dmean + fp.digital_sd
                                 * rng.normal(key, u_id, _F_DIGITAL, 0)))
        propensity = fp.borrowing_propensity * (fp.propensity_base + fp.propensity_size_step * s)
        if rng.uniform(key, u_id, _F_BORROWER, 0) < propensity:
            sd = fp.debt_target_sd
            f.debt_target = fp.debt_target[s] * math.exp(
                sd * rng.normal(key, u_id, _F_TARGET, 0) - 0.5 * sd * sd)
        else:
            f.debt_target = 0.0
        if rng.uniform(key, u_id, _F_ANCHOR, 0) < fp.anchor_prob[f.sector]:
            f.anchor = int(rng.uniform(key, u_id, _F_ANCHOR_ID, 0) * fp.anchors)
        else:
            f.anchor = -1
        groups_of[k, 0] = f.sector
        groups_of[k, 1] = f.region
        groups_of[k, 2] = s
        groups_of[k, 3] = f.stage
        f.history = 0
        f.first_loan_quarter = -1
        f.outside_stake = 0.0
        for slot in range(N_SLOTS):
            clear_slot(loans[i, slot])
            loans[i, slot].channel = 0
        if entrant or f.debt_target <= 0.0:
            continue
        # lenders screened the starting borrowers too: better firms more likely hold a loan
        p_loan = fp.initial_borrowers[s] / propensity * 2.0 * rng.norm_cdf(
            fp.initial_borrower_selection * q)
        if rng.uniform(key, u_id, _F_HASLOAN, 0) >= p_loan:
            continue
        # A starting loan book: one loan, bank or online, at a typical rate; the burn-in
        # replaces it with loans the model's own lenders price.
        channel = CH_BANK
        if (f.digital > fp.start_online_min_digital
                and rng.uniform(key, u_id, _F_LOANCH, 0) < fp.start_online_share):
            channel = 1
        lender = pick_lender(choice_lenders, choice_cum, choice_n, channel, f.region,
                             rng.uniform(key, u_id, _F_LENDER, 0), -1)
        if lender < 0:
            continue
        term = fp.start_bank_term if channel == CH_BANK else fp.start_online_term
        loan = loans[i, 0]
        loan.principal = f.debt_target * rev
        loan.rate = initial_rates[channel]
        loan.term = term
        loan.remaining = 1 + int(rng.uniform(key, u_id, _F_REMAIN, 0) * term)
        loan.lender = lender
        loan.channel = channel
        secured = 1 if (channel == CH_BANK and f.collateral > 0.0) else 0
        amortizing = 0 if channel == CH_BANK else 1
        loan.flags = (secured << SECURED) | (amortizing << AMORTIZING)
        loan.status = LOAN_PERFORMING
        f.history = int(rng.uniform(key, u_id, _F_HIST, 0) * fp.start_history_max)
        f.first_loan_quarter = fp.quarter - 4
        f.cash += loan.principal  # borrowed working capital is held as cash


@njit(cache=True, nogil=True)
def count_entrants(groups_of, groups):
    """Add new firms to ``groups`` (float64 [N_GROUPS, sizes]: sectors, regions, sizes,
    stages as in ``layout.GROUP_OFFSETS``), given each one's sector, region, size and
    stage (``groups_of``, uint8 [n, 4], as ``init_firms`` wrote it)."""
    for k in range(groups_of.shape[0]):
        s = groups_of[k, 2]
        for g in (np.int64(groups_of[k, 0]), 7 + groups_of[k, 1], 10 + s, 13 + groups_of[k, 3]):
            groups[g, s] += 1.0


@njit(cache=True, inline="always")
def debt_due(loans, i, deferral):
    """Interest plus scheduled principal firm ``i`` owes this quarter (万元), ignoring
    renewal. Loans made this quarter owe nothing yet, so a firm that could not pay in
    phase 4 owes the same sum in phase 7, whatever the credit round lent it."""
    total = 0.0
    for slot in range(N_SLOTS):
        loan = loans[i, slot]
        if loan.status != LOAN_PERFORMING or loan.npl_age == NEW_THIS_QUARTER:
            continue
        p = loan.principal
        total += p * loan.rate * 0.25
        if deferral == 0:
            if flag(loan, AMORTIZING) == 1:
                total += p / max(1, loan.remaining)
            elif loan.remaining <= 1:
                total += p
    return total


@njit(cache=True, inline="always")
def debt_outstanding(loans, i):
    """Performing principal firm ``i`` owes (万元)."""
    total = 0.0
    for slot in range(N_SLOTS):
        if loans[i, slot].status == LOAN_PERFORMING:
            total += loans[i, slot].principal
    return total


@njit(cache=True, inline="always")
def pay_debt(f, loans, i, s, fp, lender_acc_b):
    """Firm record ``f`` (slot ``i``, size ``s``) pays this quarter's interest and
    scheduled principal (cash must suffice). Loans made this quarter owe nothing yet."""
    for slot in range(N_SLOTS):
        loan = loans[i, slot]
        if loan.status != LOAN_PERFORMING or loan.npl_age == NEW_THIS_QUARTER:
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
        principal = 0.0
        if fp.deferral == 0:
            if flag(loan, AMORTIZING) == 1:
                principal = p / max(1, loan.remaining)
            elif loan.remaining <= 1:
                principal = p
        f.cash -= interest - subsidy + fee + principal
        lender_acc_b[j, s, LF_INTEREST] += interest
        lender_acc_b[j, s, LF_SUBSIDY] += subsidy
        lender_acc_b[j, s, LF_GUARANTEE_FEE] += fee
        lender_acc_b[j, s, LF_PRINCIPAL] += principal
        if fp.deferral == 0:
            loan.remaining -= 1
        remaining_p = p - principal
        if principal >= p or remaining_p <= 1e-9 * p:
            clear_slot(loan)
        else:
            loan.principal = remaining_p
    f.history += 1


@njit(cache=True, nogil=True)
def find_free_slots(free_bits, n_slots, capacity, count, out):
    """Write the first ``count`` free slots into ``out`` in ascending order and return
    how many were found: those below ``n_slots`` set in ``free_bits`` (uint64 [n_blocks,
    WORDS_PER_BLOCK], as the last phase-7 pass left them), then the never-used slots
    from ``n_slots`` up to ``capacity``."""
    found = 0
    n_words = (n_slots + 63) // 64
    for w in range(n_words):
        if found == count:
            return found
        word = free_bits[w // WORDS_PER_BLOCK, w % WORDS_PER_BLOCK]
        # the set bits, lowest first, one step each
        while word != 0 and found < count:
            lowest = word & (~word + _ONE)
            out[found] = w * 64 + lowest_bit(lowest)
            found += 1
            word ^= lowest
    for i in range(n_slots, capacity):
        if found == count:
            break
        out[found] = i
        found += 1
    return found
