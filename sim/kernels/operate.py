"""Phases 3–5 in one pass over the firms: operation, debt service and credit demand.

Each firm's update in these phases depends only on its own state and this quarter's
parameters, so the three phases run back to back per firm inside one parallel loop:
the SME arrays are read from memory once instead of three times, and the results are
the same as running the phases one after the other over all firms. The pass also writes
a credit request for each firm that seeks credit (``requests``), so phase 6 visits only
those.

Kernels take the population's records (``firms`` ``(capacity,)``, ``loans``
``(capacity, 2)`` and ``requests`` ``(capacity,)``, see ``sim.population``); sums go to
the block's own accumulator row.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from sim import rng
from sim.categories import (
    CH_BANK, GROUP_REGION, GROUP_SECTOR, LOAN_NONPERFORMING, LOAN_PERFORMING, STAGES,
)
from sim.kernels.debt import debt_due, debt_outstanding, pay_debt
from sim.kernels.informal import (
    REQ_INVEST, REQ_OFFERED, REQ_REFINANCE, pay_informal_interest, refinances, take_offer,
)
from sim.kernels.groups import (
    STAGE_DECLINE, STAGE_GROWTH, STAGE_STABLE, STAGE_STARTUP, firm_groups,
)
from sim.kernels.layout import BLOCK_SIZE, GM_DEMAND, LF_DEFERRED, LF_RENEWED
from sim.kernels.records import flag, set_flag, uid_of
from sim.kernels.schedule import claim_block
from sim.population import (
    ALIVE, AMORTIZING, BUREAU, DEFAULTED_BEFORE, DEFERRED, DISTRESSED, LOAN_POSITIONS,
    REPORTED_LOAN, TAX_FILE,
)

N_STAGES = len(STAGES)


@njit(cache=True, inline="always")
def digital_step(f, fp, peer_digital):
    """How far firm ``f``'s digital footprint moves this quarter: the common drift, part
    of its gap to the mean of its sector and region peers (``peer_digital``, float64
    [N_GROUPS], if it is behind them) and part of its gap to a full footprint, by
    platforms' marketing."""
    digital = f.digital
    peer = 0.5 * (peer_digital[GROUP_SECTOR + f.sector] + peer_digital[GROUP_REGION + f.region])
    return fp.digital_drift + fp.digital_imitation * max(peer - digital, 0.0) \
        + fp.digital_marketing * (1.0 - digital)


@njit(cache=True)
def stage_moves(transitions):
    """The stage transitions (float64 [6], quarterly probabilities: start-up to growth
    and to stable, growth to stable, stable to decline and to growth, decline to stable)
    as tables by stage: a firm moves to ``first_to[stage]`` if its uniform is below
    ``first_below[stage]``, else to ``second_to[stage]`` if below ``second_below[stage]``
    (cumulative; equal to the first where a stage has one move)."""
    tr = transitions
    first_below, second_below = np.empty(N_STAGES), np.empty(N_STAGES)
    first_to, second_to = np.empty(N_STAGES, np.uint8), np.empty(N_STAGES, np.uint8)
    for stage, first, second, to_first, to_second in (
            (STAGE_STARTUP, tr[0], tr[0] + tr[1], STAGE_GROWTH, STAGE_STABLE),
            (STAGE_GROWTH, tr[2], tr[2], STAGE_STABLE, STAGE_STABLE),
            (STAGE_STABLE, tr[3], tr[3] + tr[4], STAGE_DECLINE, STAGE_GROWTH),
            (STAGE_DECLINE, tr[5], tr[5], STAGE_STABLE, STAGE_STABLE)):
        first_below[stage], second_below[stage] = first, second
        first_to[stage], second_to[stage] = to_first, to_second
    return first_below, first_to, second_below, second_to


@njit(cache=True, inline="always")
def _advance(f, u_id, fp, first_below, first_to, second_below, second_to, coverage,
             peer_digital, key_stage, key_bureau, key_tax):
    """Phase 3, first part, for the live firm ``f`` (uid ``u_id``): ageing, stage
    change (the tables of :func:`stage_moves`), bureau and tax files and digital
    diffusion."""
    if f.age < 255:
        f.age += 1
    u = rng.uniform(key_stage, u_id, 0, 0)
    # the stage's two possible moves read from tables (stage_moves) instead of a branch
    # on the stage, which differs from firm to firm and so defeats branch prediction
    st = f.stage
    stage = st
    if u < second_below[st]:
        stage = second_to[st]
    if u < first_below[st]:
        stage = first_to[st]
    f.stage = stage
    # a bureau file comes from a past loan or from coverage (a fixed rank per firm)
    if flag(f, REPORTED_LOAN) == 1:
        set_flag(f, BUREAU, 1)
    else:
        covered = rng.uniform(key_bureau, u_id, 0, 0) < coverage[f.size]
        set_flag(f, BUREAU, 1 if covered else 0)
    # banks read its tax records if tax-data coverage reaches its rank (fixed per firm):
    # it changes only with the coverage, so it is drawn when that moves, and by a firm in
    # its first quarter (age 1)
    if fp.tax_redraw == 1 or f.age == 1:
        set_flag(f, TAX_FILE, 1 if rng.uniform(key_tax, u_id, 0, 0) < fp.tax_coverage else 0)
    f.digital = min(1.0, f.digital + digital_step(f, fp, peer_digital))


@njit(cache=True, inline="always")
def _earn(f, u_id, loans, i, fp, growth, drift, vol, shock, base_margin, key_rev, key_margin):
    """Phase 3, second part, for the live firm ``f`` in slot ``i``: revenue, profit and
    cash; returns what the owners draw, the debt service due (万元) and the quarter's
    revenue (万元)."""
    s = f.size
    # revenue: the trend moves with the macro path and the stage; revenue mean-reverts
    # to it with size-dependent volatility; shocks scale the level
    sec = f.sector
    f.log_trend += growth[sec] + drift[f.stage]
    lr = f.log_revenue + growth[sec]
    lr += fp.mean_reversion * (f.log_trend - lr)
    lr += vol[s] * rng.normal(key_rev, u_id, 0, 0)
    f.log_revenue = lr
    level = shock[sec, f.region]
    rev = math.exp(lr) * level
    margin = base_margin[s] + fp.margin_slope * f.quality + \
        fp.margin_noise * rng.normal(key_margin, u_id, 0, 0)
    if level < 1.0:
        # fixed costs do not fall with revenue: a revenue collapse hits margins
        margin -= fp.shock_margin_loss * (1.0 - level)
    f.cash += rev * margin
    # Owners draw only profits: they keep a working buffer and the borrowed working
    # capital (lenders' money is not theirs to take out), so a loan is repaid from the
    # cash it financed unless losses ate it.
    due = debt_due(loans, i, fp.deferral_interest)
    held = max(due, debt_outstanding(loans, i))
    # no branch on whether there is a profit to draw: it is unpredictable, and drawing
    # nothing subtracts zero
    draw = fp.owner_draw_share * max(f.cash - fp.cash_buffer * rev - held, 0.0)
    f.cash -= draw
    return draw, due, rev


@njit(cache=True, inline="always")
def _defer(f, loans, i, rev, due, fp, acc_b):
    """Phase 4, while the deferral programme runs, for the live firm ``f`` in slot ``i``
    with revenue ``rev`` and debt service ``due``: a firm hit this quarter (revenue
    ``deferral_revenue_gap`` or more below its trend, or cash short of ``due``) and still
    current (no bad loan) defers its performing bank loans until the programme ends.
    Each loan's principal is counted once, as it enters deferral. Returns whether any
    loan entered."""
    trend = math.exp(np.float64(f.log_trend))
    if rev >= (1.0 - fp.deferral_revenue_gap) * trend and f.cash >= due:
        return False
    for pos in range(LOAN_POSITIONS):
        if loans[i, pos].status == LOAN_NONPERFORMING:
            return False
    entered = False
    for pos in range(LOAN_POSITIONS):
        loan = loans[i, pos]
        if (loan.status == LOAN_PERFORMING and loan.channel == CH_BANK
                and flag(loan, DEFERRED) == 0):
            set_flag(loan, DEFERRED, 1)
            acc_b[loan.lender, f.size, LF_DEFERRED] += loan.principal
            entered = True
    return entered


@njit(cache=True, inline="always")
def _end_deferral(loans, i, fp):
    """Phase 4, once the programme has ended, for the firm in slot ``i``: its deferred
    loans owe again. One whose maturity came while deferred (``remaining`` ≤ 1) is
    repaid in equal parts over ``deferral_repay_quarters``; the others keep their
    schedule, later by the quarters deferred. Returns whether any loan was deferred."""
    ended = False
    for pos in range(LOAN_POSITIONS):
        loan = loans[i, pos]
        if flag(loan, DEFERRED) == 1:
            set_flag(loan, DEFERRED, 0)
            ended = True
            if loan.remaining <= 1:
                set_flag(loan, AMORTIZING, 1)
                loan.remaining = fp.deferral_repay_quarters
    return ended


@njit(cache=True, inline="always")
def _service(f, u_id, loans, i, rev, fp, acc_b, key_renew, due):
    """Phase 4 for the live firm ``f`` in slot ``i`` with revenue ``rev``: deferral,
    then interest and scheduled principal fall due; returns what it could not pay (万元,
    0 if it paid).

    Maturing bank loans of firms with a clean record may be changed without principal
    repayment (the renewal share is the policy); a deferred loan is not. A firm whose
    cash covers what is due pays now; otherwise it is flagged ``distressed`` and tries
    again in phase 7 after the credit round. ``due`` is what :func:`debt_due` gave before
    any deferral or renewal.
    """
    s = f.size
    if fp.deferral == 1:
        changed = _defer(f, loans, i, rev, due, fp, acc_b)
    else:
        changed = _end_deferral(loans, i, fp)
    for pos in range(LOAN_POSITIONS):
        loan = loans[i, pos]
        if (loan.status == LOAN_PERFORMING and flag(loan, DEFERRED) == 0
                and flag(loan, AMORTIZING) == 0 and loan.remaining <= 1
                and loan.channel == CH_BANK and f.history >= fp.renewal_min_history
                and flag(f, DEFAULTED_BEFORE) == 0):
            if rng.uniform(key_renew, u_id, pos, 0) < fp.renewal_share:
                loan.remaining = loan.term + 1
                acc_b[loan.lender, s, LF_RENEWED] += loan.principal
                changed = True
    owed = debt_due(loans, i, fp.deferral_interest) if changed else due
    if owed <= 0.0:
        return 0.0
    if f.cash >= owed:
        pay_debt(f, loans, i, s, fp, acc_b)
        return 0.0
    set_flag(f, DISTRESSED, 1)
    return owed


@njit(cache=True, inline="always")
def _demand(f, u_id, loans, i, b, rev, fp, invest_prob, bank_rate_band, debt_targets,
            key_invest, group_acc, unpaid, key_offer, key_target):
    """Phase 5 for the live firm ``f`` in slot ``i`` with revenue ``rev``: how much
    external finance it seeks (万元; 0 for none) and what it includes (bits: an
    investment ``REQ_INVEST``, refinancing of informal debt ``REQ_REFINANCE``), given the
    debt service it could not pay in phase 4 (``unpaid``, 万元).

    Three reasons, per the report's uses of funds: a cash shortfall (debt service it
    could not meet, or losses), working capital to bring debt back to the firm's target,
    and an investment opportunity (more likely in start-up and growth stages). A firm
    turned down recently (``discouraged`` > 0 quarters left) does not seek optional
    credit, only what a cash shortfall forces. A firm that has never wanted debt may take
    a credit line banks offer it (:func:`sim.kernels.informal.take_offer`); a borrower
    that expects bank credit cheaper than its informal debt asks for that debt too.
    """
    s = f.size
    shortfall = max(0.0, unpaid - f.cash)
    has_npl = False
    free_position = False
    debt = 0.0
    for pos in range(LOAN_POSITIONS):
        status = loans[i, pos].status
        if status == LOAN_PERFORMING:
            debt += loans[i, pos].principal
        elif status == LOAN_NONPERFORMING:
            has_npl = True
        else:
            free_position = True
    total = shortfall
    invest = 0
    if f.discouraged > 0:
        f.discouraged -= 1
    else:
        if f.debt_target == 0.0 and take_offer(f, u_id, b, fp, bank_rate_band, debt_targets,
                                               group_acc, key_offer, key_target):
            invest = REQ_OFFERED
        if f.debt_target > 0.0 and not has_npl:
            # a firm using both its credit lines waits for one to mature
            gap = f.debt_target * fp.debt_appetite * rev - debt
            if gap > fp.working_gap_min * rev and free_position:
                total += gap
            if rng.uniform(key_invest, u_id, 0, 0) < invest_prob[f.stage]:
                total += fp.invest_size * rev
                invest |= REQ_INVEST
            # refinancing comes last in the request: a loan's proceeds meet the rest first
            if free_position and refinances(f, fp, bank_rate_band):
                total += f.informal_debt
                invest |= REQ_REFINANCE
    # firms ask for what lenders could plausibly give, a multiple of revenue
    total = min(total, max(shortfall, fp.max_request * rev))
    if total > 0.0:
        for g in firm_groups(f):
            group_acc[b, g, s, GM_DEMAND] += total
    return total, invest


@njit(cache=True, parallel=True, nogil=True)
def firms_quarter(n_slots, fp, lender_acc, group_acc, owner_draws, seekers_per_block,
                  firms, loans, requests):
    """Phases 3, 4 and 5 for the slots below ``n_slots``.

    ``owner_draws`` (float64 [n_blocks, 3, 2]) receives per block and size the cash paid
    to owners and, of that, to outside equity investors; ``seekers_per_block`` (int64
    [n_blocks]) the number of firms seeking credit in each block, and ``requests`` their
    requests: block ``b``'s in records ``b * BLOCK_SIZE`` onwards, in slot order.
    """
    key_rev = rng.stream_key(fp.seed, rng.S_REVENUE, fp.quarter)
    key_margin = rng.stream_key(fp.seed, rng.S_MARGIN, fp.quarter)
    key_stage = rng.stream_key(fp.seed, rng.S_STAGE, fp.quarter)
    key_bureau = rng.stream_key(fp.seed, rng.S_BUREAU, 0)
    key_tax = rng.stream_key(fp.seed, rng.S_TAX_FILE, 0)
    key_renew = rng.stream_key(fp.seed, rng.S_RENEW, fp.quarter)
    key_invest = rng.stream_key(fp.seed, rng.S_INVEST, fp.quarter)
    key_offer = rng.stream_key(fp.seed, rng.S_OFFER, fp.quarter)
    key_target = rng.stream_key(fp.seed, rng.S_OFFER_TARGET, 0)
    # Arrays are taken out of the bundle here, once, not per firm: getting an array out
    # of a tuple inside the loop costs reference-count updates that the threads contend
    # for.
    first_below, first_to, second_below, second_to = stage_moves(fp.transitions)
    coverage = fp.bureau_coverage
    peer_digital = fp.peer_digital
    growth = fp.growth_by_sector_q
    drift = fp.drift_by_stage
    vol = fp.vol_by_size
    shock = fp.shock_mult
    base_margin = fp.margin_by_size
    invest_prob = fp.invest_prob
    bank_rate_band = fp.bank_rate_band
    debt_targets = fp.debt_target
    n_blocks = (n_slots + BLOCK_SIZE - 1) // BLOCK_SIZE
    counter = np.zeros(1, dtype=np.int64)
    for _ in prange(n_blocks):
        while True:
            b = claim_block(counter, n_blocks)
            if b >= n_blocks:
                break
            acc_b = lender_acc[b]
            seeking = 0
            for i in range(b * BLOCK_SIZE, min(n_slots, (b + 1) * BLOCK_SIZE)):
                f = firms[i]
                set_flag(f, DISTRESSED, 0)
                if flag(f, ALIVE) == 0:
                    continue
                u_id = uid_of(f)
                _advance(f, u_id, fp, first_below, first_to, second_below, second_to,
                         coverage, peer_digital, key_stage, key_bureau, key_tax)
                draw, due, rev = _earn(f, u_id, loans, i, fp, growth, drift, vol, shock,
                                       base_margin, key_rev, key_margin)
                owner_draws[b, f.size, 0] += draw
                owner_draws[b, f.size, 1] += draw * f.outside_stake
                pay_informal_interest(f, fp)
                unpaid = _service(f, u_id, loans, i, rev, fp, acc_b, key_renew, due)
                need, invest = _demand(f, u_id, loans, i, b, rev, fp, invest_prob, bank_rate_band,
                                       debt_targets, key_invest, group_acc, unpaid, key_offer,
                                       key_target)
                if need > 0.0:
                    request = requests[b * BLOCK_SIZE + seeking]
                    request.need = need
                    request.revenue = rev
                    request.offset = i - b * BLOCK_SIZE
                    request.rejected_by = -1
                    request.invest = invest
                    seeking += 1
            seekers_per_block[b] = seeking


@njit(cache=True, parallel=True, nogil=True)
def list_seekers(n_slots, seekers_per_block, block_starts, seekers):
    """Where the firm pass put each seeker's request (``b * BLOCK_SIZE + rank`` in its
    block), in slot order, into ``seekers`` (int32, at least one entry per seeker);
    ``block_starts`` (int64 [n_blocks + 1]) gets where each block's begin. Returns the
    number of seekers."""
    n_blocks = (n_slots + BLOCK_SIZE - 1) // BLOCK_SIZE
    block_starts[0] = 0
    for b in range(n_blocks):
        block_starts[b + 1] = block_starts[b] + seekers_per_block[b]
    for b in prange(n_blocks):
        k = block_starts[b]
        for rank in range(seekers_per_block[b]):
            seekers[k + rank] = b * BLOCK_SIZE + rank
    return block_starts[n_blocks]
