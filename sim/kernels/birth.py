"""Birth of firms: the starting population's attributes and loan book, and entrants.

Kernels take the population's records (``firms`` ``(capacity,)`` of
``sim.population.FIRM_DTYPE``, ``loans`` ``(capacity, LOAN_POSITIONS)`` of
``LOAN_DTYPE``; fields as in ``SME_FIELDS``) and a
:class:`~sim.kernels.params.FirmParams` bundle, and write the new firms' slots in
place. Every draw about a firm comes from the S_INIT stream keyed by its uid, so it does
not depend on the slot the firm lands in.
"""

from __future__ import annotations

import math

from numba import njit, prange

from sim import rng
from sim.categories import CH_BANK, CH_ONLINE, LOAN_PERFORMING
from sim.kernels.book import vat_eligible
from sim.kernels.choice import pick_lender
from sim.kernels.debt import clear_loan
from sim.kernels.groups import STAGE_STARTUP, group_rows
from sim.kernels.prefetch import prefetch
from sim.kernels.records import set_flag, set_uid
from sim.kernels.seekers import PREFETCH_AHEAD
from sim.population import (
    ALIVE, AMORTIZING, LOAN_POSITIONS, REPORTED_LOAN, SECURED, VAT_ELIGIBLE,
)

# Field numbers for the S_INIT stream: each attribute gets its own draw.
_F_SECTOR, _F_REGION, _F_STAGE, _F_QUALITY, _F_TREND, _F_REV = 0, 1, 2, 3, 4, 5
_F_CASH, _F_HASCOLL, _F_COLL, _F_DIGITAL, _F_BORROWER, _F_TARGET = 6, 7, 8, 9, 10, 11
_F_ANCHOR, _F_ANCHOR_ID, _F_AGE, _F_HASLOAN, _F_LOANCH, _F_LENDER = 12, 13, 14, 15, 16, 17
_F_REMAIN, _F_HIST, _F_SECOND = 18, 19, 20


@njit(cache=True, inline="always")
def _pick(cum, u):
    """Index of the first cumulative share above u."""
    n = cum.shape[0]
    for k in range(n):
        if u < cum[k]:
            return k
    return n - 1


@njit(cache=True, inline="always")
def _draw_age_and_quality(f, u_id, entrant, fp, key):
    """Stage, age and quality of the new firm ``f``; returns the log revenue level its
    trend starts at (log 万元 a quarter) and its quality at float64 precision."""
    q = rng.normal(key, u_id, _F_QUALITY, 0)
    level = fp.log_revenue_median_q[f.size] + fp.revenue_log_sd * rng.normal(key, u_id,
                                                                               _F_TREND, 0)
    if entrant:
        f.stage = STAGE_STARTUP
        f.age = 0
        level -= fp.entrant_revenue_gap  # entrants start below the size they grow into
    else:
        f.stage = _pick(fp.stage_cum, rng.uniform(key, u_id, _F_STAGE, 0))
        if f.stage == STAGE_STARTUP:
            age = int(rng.uniform(key, u_id, _F_AGE, 0) * fp.startup_age)
        else:
            age = fp.startup_age + int(rng.uniform(key, u_id, _F_AGE, 0)
                                       * fp.established_age_span)
        f.age = min(age, 255)
        # the starting population are survivors: weak firms have been weeded out, more
        # so among older firms
        q += fp.initial_quality_tilt * min(age, fp.tilt_full_age) / fp.tilt_full_age
    f.quality = q
    return level, q


@njit(cache=True, inline="always")
def _draw_finances(f, u_id, entrant, years, level, fp, key):
    """Revenue, cash, collateral, digital footprint, debt target and anchor of the new
    firm ``f`` (size and sector drawn); returns its borrowing propensity and quarterly
    revenue (万元)."""
    s = f.size
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
    return propensity, rev


@njit(cache=True, inline="always")
def _starting_loan(f, loan, u_id, q, rev, propensity, fp, choice_lenders, choice_cum,
                   choice_n, initial_rates, key):
    """A starting firm ``f`` (quality ``q``) that borrows may hold one loan, bank or
    online, at a typical rate (``initial_rates[channel]``), written into the empty
    record ``loan``; the burn-in replaces it with loans the model's own lenders price."""
    # lenders screened the starting borrowers too: better firms more likely hold a loan
    p_loan = fp.initial_borrowers[f.size] / propensity * 2.0 * rng.norm_cdf(
        fp.initial_borrower_selection * q)
    if rng.uniform(key, u_id, _F_HASLOAN, 0) >= p_loan:
        return
    channel = CH_BANK
    if (f.digital > fp.start_online_min_digital
            and rng.uniform(key, u_id, _F_LOANCH, 0) < fp.start_online_share):
        channel = CH_ONLINE
    lender = pick_lender(choice_lenders, choice_cum, choice_n, channel, f.region,
                         rng.uniform(key, u_id, _F_LENDER, 0), -1)
    if lender < 0:
        return
    term = fp.start_bank_term if channel == CH_BANK else fp.start_online_term
    loan.principal = f.debt_target * rev
    loan.rate = initial_rates[channel]
    loan.term = term
    loan.remaining = 1 + int(rng.uniform(key, u_id, _F_REMAIN, 0) * term)
    loan.lender = lender
    loan.channel = channel
    secured = 1 if (channel == CH_BANK and f.collateral > 0.0) else 0
    amortizing = 0 if channel == CH_BANK else 1
    loan.flags = (secured << SECURED) | (amortizing << AMORTIZING) \
        | (vat_eligible(channel, loan.principal, loan.rate, fp.vat_exempt_rate,
                        fp.vat_exempt_max_wan) << VAT_ELIGIBLE)
    loan.status = LOAN_PERFORMING
    f.history = min(int(rng.uniform(key, u_id, _F_HIST, 0) * fp.start_history_max), 255)
    set_flag(f, REPORTED_LOAN, 1)
    f.cash += loan.principal  # borrowed working capital is held as cash


@njit(cache=True, inline="always")
def _informal_at_birth(f, u_id, entrant, loan_status, rev, fp, key_bureau):
    """Informal debt a new firm starts with (万元): ``informal_multiple`` (times
    ``informal_entrant_factor`` for an entrant) × its quarterly revenue ``rev`` if banks
    cannot reach it, that is it holds no starting loan and the bureau's coverage does not
    include it (the rank phase 3 uses); else none."""
    if loan_status == LOAN_PERFORMING:
        return 0.0
    if rng.uniform(key_bureau, u_id, 0, 0) < fp.bureau_coverage[f.size]:
        return 0.0
    multiple = fp.informal_multiple[f.size]
    if entrant:
        multiple *= fp.informal_entrant_factor
    return multiple * rev


@njit(cache=True, parallel=True, nogil=True)
def init_firms(slots, uids, sizes, entrant, fp, choice_lenders, choice_cum, choice_n,
               initial_rates, groups_of, firms, loans):
    """Fill ``slots`` (int64 [n]) with new firms of the given ``uids`` (int64 [n]) and
    ``sizes`` (int64 [n]).

    ``entrant`` = 1 for entrants (start-ups with no loans), 0 for the initial
    population (mixed stages, part of it with a starting loan book drawn at
    ``initial_rates[channel]``, float64 [3], from lenders drawn by the ``choice_*``
    tables of :class:`~sim.kernels.params.LenderTable`). Every field of the slot is
    written, so what an earlier firm left there does not matter. ``groups_of``
    (uint8 [n, 4]) receives each new firm's sector, region, size and stage.
    """
    key = rng.stream_key(fp.seed, rng.S_INIT, 0)
    key_bureau = rng.stream_key(fp.seed, rng.S_BUREAU, 0)
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
        set_uid(f, u_id)
        f.flags = 1 << ALIVE  # alive; no files, reported loan, default or distress yet
        f.size = sizes[k]
        f.sector = _pick(fp.sector_cum, rng.uniform(key, u_id, _F_SECTOR, 0))
        f.region = _pick(fp.region_cum, rng.uniform(key, u_id, _F_REGION, 0))
        level, q = _draw_age_and_quality(f, u_id, entrant, fp, key)
        propensity, rev = _draw_finances(f, u_id, entrant, years, level, fp, key)
        groups_of[k, 0] = f.sector
        groups_of[k, 1] = f.region
        groups_of[k, 2] = f.size
        groups_of[k, 3] = f.stage
        f.history = 0
        f.outside_stake = 0.0
        for pos in range(LOAN_POSITIONS):
            clear_loan(loans[i, pos])
            loans[i, pos].channel = CH_BANK  # code 0, as in a never-used slot
        if not entrant and f.debt_target > 0.0:
            _starting_loan(f, loans[i, 0], u_id, q, rev, propensity, fp, choice_lenders,
                           choice_cum, choice_n, initial_rates, key)
        f.informal_debt = _informal_at_birth(f, u_id, entrant, loans[i, 0].status, rev, fp,
                                             key_bureau)


@njit(cache=True, nogil=True)
def count_entrants(groups_of, groups):
    """Add new firms to ``groups`` (float64 [N_GROUPS, sizes]: sectors, regions, sizes,
    stages as in ``categories.GROUP_OFFSETS``), given each one's sector, region, size
    and stage (``groups_of``, uint8 [n, 4], as ``init_firms`` wrote it)."""
    for k in range(groups_of.shape[0]):
        s = groups_of[k, 2]
        for g in group_rows(groups_of[k, 0], groups_of[k, 1], s, groups_of[k, 3]):
            groups[g, s] += 1.0
