"""Credit-market kernels (phase 6): channel and lender choice, screening and pricing,
rationing by capacity, and booking of approved loans.

One round = ``choose_and_screen`` → ``ration`` → ``book``. ``seekers`` lists where the
credit seekers' requests are (``requests[seekers[k]]``, see ``sim.population``), in slot
order; the request gives the firm's slot (``slot_of``). Applicant arrays (``app_*``) have
one entry per seeker, in the order of ``seekers``, so the rounds read and write them
contiguously; they are owned by the caller and reused every round.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from sim import rng
from sim.categories import (
    CH_BANK, CH_EQUITY, CH_ONLINE, CH_SUPPLY_CHAIN, CHANNELS, LOAN_PERFORMING,
)
from sim.kernels.prefetch import prefetch
from sim.kernels.layout import (
    BAND_AMT, BAND_RATE_AMT, BLOCK_SIZE, GM_APPROVALS, GM_APPS, GM_FIRST_TIME, GM_NEW_DEBT,
    GM_NEW_NONDEBT, GM_RATE_AMT, GM_UNSECURED, LF_APPROVALS, LF_APPROVALS_NO_COLLATERAL,
    LF_APPS, LF_APPS_NO_COLLATERAL, LF_CROWD_AMT, LF_FEES, LF_NEW_AMT, LF_NEW_COUNT,
    LF_NEW_FIRST, LF_NEW_PD_AMT, LF_NEW_RATE_AMT, LF_NEW_SECURED, LF_NONDEBT_AMT,
    NEW_THIS_QUARTER,
)
from sim.kernels.records import flag, uid_of
from sim.population import (
    ALIVE, AMORTIZING, BUREAU, DEFAULTED_BEFORE, LOAN_SLOTS as N_SLOTS, SECURED,
)

N_CHANNELS = len(CHANNELS)
# lender classes, as LenderTable.kind_class
KIND_BANK, KIND_ONLINE, KIND_SUPPLY_CHAIN, KIND_CROWD = 0, 1, 2, 3
N_BUCKETS = 512
SORT_CHUNK = 65536  # applicants per chunk of the counting sort in ``ration``
# credit.min_loan_wan at its default, for callers of ``ration`` that do not pass it yet
MIN_LOAN_WAN = 0.5
# seekers ahead whose records the credit-round loops ask for (see sim.kernels.prefetch);
# their requests are asked for twice as far ahead, since the request gives the slot
PREFETCH_AHEAD = 8


# Quality deciles of N(0, 1): a firm's risk band is how many of these it exceeds.
_BAND_EDGES = np.array([rng.norm_ppf.py_func(k / 10.0) for k in range(1, 10)])


@njit(cache=True, inline="always")
def slot_of(requests, r):
    """The slot of the firm whose request is ``requests[r]``: its block is the request's."""
    return r - r % BLOCK_SIZE + np.int64(requests[r].offset)


@njit(cache=True, inline="always")
def visit_seeker(seekers, k, end, requests, firms, loans):
    """The slot of seeker ``k`` of a block's seekers (which end before ``end``), having
    asked the processor for the records that the seekers ahead of it will need."""
    if k + 2 * PREFETCH_AHEAD < end:
        prefetch(requests, seekers[k + 2 * PREFETCH_AHEAD])
    if k + PREFETCH_AHEAD < end:
        ahead = slot_of(requests, seekers[k + PREFETCH_AHEAD])
        prefetch(firms, ahead)
        prefetch(loans, ahead)
    return slot_of(requests, seekers[k])


@njit(cache=True, inline="always")
def risk_band(quality):
    band = 0
    for edge in _BAND_EDGES:
        if quality > edge:
            band += 1
    return band


@njit(cache=True, inline="always")
def estimated_pd(signal, sigma2, alpha, slope):
    """Annual PD a lender infers from a signal with noise variance sigma2.

    Quality ~ N(0,1) gives the posterior N(s/(1+σ²), σ²/(1+σ²)); integrating the probit
    mapping PD = Φ(α − β q) over it has the closed form below. Noisier lenders shrink
    towards the average firm.
    """
    mean = signal / (1.0 + sigma2)
    var = sigma2 / (1.0 + sigma2)
    return rng.norm_cdf((alpha - slope * mean) / math.sqrt(1.0 + slope * slope * var))


@njit(cache=True, inline="always")
def pick_lender(choice_lenders, choice_cum, choice_n, channel, region, u, avoid):
    """A lender of ``channel`` reachable from ``region``, drawn by the choice weights
    with the uniform ``u``; if it is ``avoid`` (the one that just said no), the next in
    the table. Returns -1 if none is reachable."""
    n = choice_n[channel, region]
    if n == 0:
        return -1
    total = choice_cum[channel, region, n - 1]
    if total <= 0.0:
        return -1
    target = u * total
    pick = n - 1
    for k in range(n):
        if target < choice_cum[channel, region, k]:
            pick = k
            break
    j = choice_lenders[channel, region, pick]
    if j == avoid and n > 1:
        j = choice_lenders[channel, region, (pick + 1) % n]
    return j


@njit(cache=True, parallel=True, nogil=True)
def choose_and_screen(seekers, block_starts, cp, lt, lender_acc, group_acc, firms, loans,
                      requests, app_seeking, app_lender, app_channel, app_size, app_pd, app_amount,
                      app_rate, app_ok, app_secured):
    """Each firm still seeking finance picks a channel (multinomial logit), then a
    lender in it, which screens, prices and decides whether to offer.

    ``seekers`` (int32) lists the records of ``requests`` of the quarter's credit seekers
    in slot order, ``block_starts`` (int64 [n_blocks + 1]) where each slot block's begin
    in it.

    Writes, per seeker ``k``: ``app_seeking`` (1 if the firm still seeks finance),
    ``app_lender`` (-1 = no application), ``app_channel``, ``app_size`` (the firm's size
    stratum), ``app_pd`` (estimated annual PD), ``app_amount`` (万元 offered),
    ``app_rate`` (annual), ``app_ok`` (offer made before capacity limits) and
    ``app_secured``.
    """
    key_channel = rng.stream_key(cp.seed, rng.S_CHANNEL, cp.quarter)
    key_lender = rng.stream_key(cp.seed, rng.S_LENDER, cp.quarter)
    key_signal = rng.stream_key(cp.seed, rng.S_SIGNAL, 0)
    key_refresh = rng.stream_key(cp.seed, rng.S_SIGNAL_REFRESH, cp.quarter)
    key_verified = rng.stream_key(cp.seed, rng.S_VERIFIED, 0)
    rho = cp.refresh_rho
    keep = math.sqrt(1.0 - rho * rho)
    # Arrays are taken out of the bundles once, here: inside the parallel loop every
    # access would update the array's reference count, which the threads contend for.
    channel_weight = cp.channel_weight
    bank_loss_share = cp.bank_loss_share
    choice_n, choice_lenders, choice_cum = lt.choice_n, lt.choice_lenders, lt.choice_cum
    active, kind_class, precision_base, data_level = lt.active, lt.kind_class, \
        lt.precision_base, lt.data_level
    pd_scale, alpha, per_firm_limit_q, appetite_el = lt.pd_scale, lt.alpha, \
        lt.per_firm_limit_q, lt.appetite_el
    funding, op_fixed_wan, op_rate, margin, rate_cap = lt.funding, lt.op_fixed_wan, \
        lt.op_rate, lt.margin, lt.rate_cap
    n_blocks = block_starts.shape[0] - 1
    for b in prange(n_blocks):
        relation = np.empty(N_CHANNELS, dtype=np.int64)
        weight = np.empty(N_CHANNELS)
        end = block_starts[b + 1]
        for k in range(block_starts[b], end):
            request = requests[seekers[k]]
            i = visit_seeker(seekers, k, end, requests, firms, loans)
            f = firms[i]
            app_lender[k] = -1
            if flag(f, ALIVE) == 0 or request.need <= 0.0:
                app_seeking[k] = 0
                continue
            app_seeking[k] = 1
            st = f.stage
            equity_ok = request.invest == 1 and (st == 0 or st == 1)
            free_slot = False
            relation[:] = -1
            has_npl = False
            for slot in range(N_SLOTS):
                loan = loans[i, slot]
                status = loan.status
                if status == 0:
                    free_slot = True
                elif status == LOAN_PERFORMING:
                    relation[loan.channel] = loan.lender
                else:
                    has_npl = True
            if not (free_slot or equity_ok):
                # both loan slots taken and no project for equity: no channel is open
                # (most of a second round's seekers, whose first loan filled a slot)
                continue
            u_id = uid_of(f)
            s = f.size
            band = risk_band(f.quality)
            rev = request.revenue
            dig = f.digital
            # Banks lend without collateral only as far as they can see the firm: in full
            # with a credit-bureau file, otherwise as far as their big-data scoring reaches.
            seen = 1.0 if flag(f, BUREAU) == 1 else cp.bank_big_data * dig
            unsecured_cap = cp.unsecured_limit_q * rev * seen
            # a receivable verified on the anchor's ledger is financed closer to its face
            verified = f.anchor >= 0 and \
                rng.uniform(key_verified, u_id, 0, 0) < cp.verified_share
            receivable_cap = cp.receivable_q * rev * (cp.verified_advance if verified else 1.0)
            total_weight = 0.0
            for c in range(N_CHANNELS):
                weight[c] = 0.0
                if c <= CH_SUPPLY_CHAIN and not free_slot:
                    continue
                if c == CH_SUPPLY_CHAIN and f.anchor < 0:
                    continue
                if c >= CH_EQUITY and not equity_ok:
                    continue
                if choice_n[c, f.region] == 0:
                    continue
                # exp(utility) as a product: the static part (constant, expected rate for
                # the band, time to cash) is tabulated once per round
                w = channel_weight[c, band]
                if c == CH_ONLINE:
                    w *= math.exp(cp.digital_sensitivity * dig)
                if relation[c] >= 0 and relation[c] != request.rejected_by:
                    w *= cp.relationship_factor
                # firms know roughly how much each channel lends to a firm like them and
                # avoid one that would cover only part of the need
                if c <= CH_SUPPLY_CHAIN:
                    if c == CH_BANK:
                        reach = max(unsecured_cap, f.collateral * cp.collateral_ltv)
                    elif c == CH_ONLINE:
                        reach = min(cp.online_cap_wan, cp.online_limit_q * rev)
                    else:
                        reach = receivable_cap
                    if reach < request.need:
                        w *= math.exp(cp.coverage_sensitivity
                                      * math.log(max(reach, 1e-6) / request.need))
                    # short online and receivable finance is a poor match for a project
                    if c != CH_BANK and request.invest == 1:
                        w *= cp.mismatch_factor
                weight[c] = w
                total_weight += w
            if total_weight <= 0.0:
                continue
            # multinomial logit: one uniform picks a channel with probability ∝ exp(v)
            target = rng.uniform(key_channel, u_id, 0, cp.round) * total_weight
            best = -1
            for c in range(N_CHANNELS):
                if weight[c] > 0.0:
                    best = c
                    target -= weight[c]
                    if target < 0.0:
                        break
            if relation[best] >= 0 and relation[best] != request.rejected_by:
                j = relation[best]
            else:
                j = pick_lender(choice_lenders, choice_cum, choice_n, best, f.region,
                                rng.uniform(key_lender, u_id, best, cp.round),
                                request.rejected_by)
            if j < 0 or active[j] == 0:
                continue
            app_lender[k] = j
            app_channel[k] = best
            app_size[k] = s
            lender_acc[b, j, s, LF_APPS] += 1.0
            if f.collateral <= 0.0:
                lender_acc[b, j, s, LF_APPS_NO_COLLATERAL] += 1.0
            for g in (np.int64(f.sector), 7 + f.region, 10 + s, 13 + st):
                group_acc[b, g, s, GM_APPS] += 1.0
            # --- screening: precision adds up over the information the lender sees
            kind = kind_class[j]
            if kind == KIND_BANK:
                tau = precision_base[j] + cp.precision_bureau * flag(f, BUREAU) \
                    + cp.precision_history * min(f.history, cp.history_full) / cp.history_full \
                    + cp.precision_bank_big_data * cp.bank_big_data * dig
                if f.collateral > 0.0:
                    tau += cp.precision_collateral
                if s > 0:
                    tau += cp.precision_statements
            elif kind == KIND_SUPPLY_CHAIN:
                tau = precision_base[j] + cp.precision_trade * data_level[j]
                if verified:
                    tau += cp.precision_verified
            else:
                tau = precision_base[j] + cp.precision_digital * dig * data_level[j] \
                    * (1.0 - cp.protection_loss) + cp.platform_history_weight \
                    * cp.precision_history * min(f.history, cp.history_full) / cp.history_full
            sigma2 = 1.0 / tau
            err = keep * rng.normal(key_signal, u_id, j, 0) + rho * rng.normal(key_refresh,
                                                                                u_id, j, 0)
            signal = f.quality + math.sqrt(sigma2) * err
            pd = min(1.0, pd_scale[j] * estimated_pd(signal, sigma2, alpha[j],
                                                       cp.score_slope))
            app_pd[k] = pd
            # --- amount, security and loss given default by channel
            secured = 0
            if best == CH_BANK:
                secured_cap = f.collateral * cp.collateral_ltv
                if secured_cap >= min(request.need, unsecured_cap) and secured_cap > 0.0:
                    secured = 1
                    amount = min(request.need, max(secured_cap, unsecured_cap))
                    lgd = cp.lgd_secured
                else:
                    amount = min(request.need, unsecured_cap)
                    lgd = cp.lgd_unsecured
                lgd *= 1.0 - bank_loss_share[s]
            elif best == CH_ONLINE:
                amount = min(request.need, per_firm_limit_q[j] * rev, cp.online_cap_wan)
                lgd = cp.lgd_unsecured
            elif best == CH_SUPPLY_CHAIN:
                amount = min(request.need, receivable_cap)
                secured = 1
                if verified:
                    lgd = cp.lgd_verified
                else:
                    lgd = cp.lgd_receivable
            else:
                amount = min(request.need, per_firm_limit_q[j] * rev)
                lgd = 1.0
            app_amount[k] = amount
            app_secured[k] = secured
            expected_loss = pd * lgd
            visible_bad = (flag(f, BUREAU) == 1 and (flag(f, DEFAULTED_BEFORE) == 1 or has_npl))
            if best >= CH_EQUITY:
                app_rate[k] = 0.0
                ok = expected_loss <= appetite_el[j] and not visible_bad
            else:
                required = funding[j] + expected_loss + op_fixed_wan[j] / max(amount, 1e-9) \
                    + op_rate[j]
                rate = min(required + margin[j], rate_cap[j])
                app_rate[k] = rate
                ok = (expected_loss <= appetite_el[j] and required <= rate_cap[j]
                      and not visible_bad)
            app_ok[k] = 1 if (ok and amount >= cp.min_loan_wan) else 0


@njit(cache=True)
def _sort_marginal(members, app_pd, firms, requests, seekers):
    """Order a bucket's members (seeker positions) by estimated PD, ties broken by uid."""
    uids = np.empty(members.shape[0], dtype=np.int64)
    for m in range(members.shape[0]):
        uids[m] = uid_of(firms[slot_of(requests, seekers[members[m]])])
    by_uid = members[np.argsort(uids, kind="mergesort")]
    return by_uid[np.argsort(app_pd[by_uid], kind="mergesort")]


@njit(cache=True, parallel=True, nogil=True)
def ration(seekers, n_seekers, app_lender, app_ok, app_size, app_pd, app_amount, firms,
           requests, yi_per_wan, capacity, app_funded, order, starts,
           min_loan_wan=MIN_LOAN_WAN):
    """Each lender funds its offers best estimated risk first until its capacity (亿元)
    is used; the outcome does not depend on thread count or array order.

    A counting sort groups offers by lender; per lender, a histogram over PD buckets finds
    the marginal bucket, which alone is sorted exactly (by PD, then uid). ``order``
    (int32 [n_seekers or more]) and ``starts`` (int64 [J + 1]) are caller-owned scratch
    arrays; only the first ``n_seekers`` applicants are read. ``capacity`` is reduced by
    what is lent. A remainder smaller than ``min_loan_wan`` (万元, credit.min_loan_wan) is
    not lent.
    """
    n_lenders = capacity.shape[0]
    # counting sort by lender in fixed chunks of applicants: each chunk counts its offers
    # per lender, then writes them from its own offsets, so ``order`` lists each lender's
    # offers by ascending k whatever the thread count
    n_chunks = (n_seekers + SORT_CHUNK - 1) // SORT_CHUNK
    chunk_fill = np.zeros((n_chunks, n_lenders), dtype=np.int64)
    for c in prange(n_chunks):
        for k in range(c * SORT_CHUNK, min(n_seekers, (c + 1) * SORT_CHUNK)):
            app_funded[k] = 0
            if app_lender[k] >= 0 and app_ok[k] == 1:
                chunk_fill[c, app_lender[k]] += 1
    starts[0] = 0
    for j in range(n_lenders):
        at = starts[j]
        for c in range(n_chunks):
            count = chunk_fill[c, j]
            chunk_fill[c, j] = at
            at += count
        starts[j + 1] = at
    for c in prange(n_chunks):
        fill = chunk_fill[c]
        for k in range(c * SORT_CHUNK, min(n_seekers, (c + 1) * SORT_CHUNK)):
            if app_lender[k] >= 0 and app_ok[k] == 1:
                j = app_lender[k]
                order[fill[j]] = k
                fill[j] += 1
    for j in prange(n_lenders):
        lo = starts[j]
        hi = starts[j + 1]
        if hi == lo:
            continue
        cap = capacity[j]
        if cap <= 0.0:
            continue
        pd_max = 1e-12
        total = 0.0
        for m in range(lo, hi):
            k = order[m]
            pd_max = max(pd_max, app_pd[k])
            total += app_amount[k] * yi_per_wan[app_size[k]]
        if total <= cap:
            for m in range(lo, hi):
                app_funded[order[m]] = 1
            capacity[j] = cap - total
            continue
        hist = np.zeros(N_BUCKETS)
        scale = N_BUCKETS / pd_max
        for m in range(lo, hi):
            k = order[m]
            bucket = min(N_BUCKETS - 1, int(app_pd[k] * scale))
            hist[bucket] += app_amount[k] * yi_per_wan[app_size[k]]
        used = 0.0
        cut = N_BUCKETS
        for bucket in range(N_BUCKETS):
            if used + hist[bucket] > cap:
                cut = bucket
                break
            used += hist[bucket]
        n_marginal = 0
        for m in range(lo, hi):
            k = order[m]
            bucket = min(N_BUCKETS - 1, int(app_pd[k] * scale))
            if bucket < cut:
                app_funded[k] = 1
            elif bucket == cut:
                n_marginal += 1
        members = np.empty(n_marginal, dtype=np.int64)
        n_members = 0
        for m in range(lo, hi):
            k = order[m]
            if min(N_BUCKETS - 1, int(app_pd[k] * scale)) == cut:
                members[n_members] = k
                n_members += 1
        for k in _sort_marginal(members, app_pd, firms, requests, seekers):
            per_wan = yi_per_wan[app_size[k]]
            amount = app_amount[k] * per_wan
            if used + amount > cap:
                # The first firm that does not fit gets what is left, if that is still a
                # loan worth writing: capacity is used up exactly, so how much goes
                # unlent does not depend on how many agents stand for the population.
                rest = (cap - used) / per_wan
                if rest >= min_loan_wan:
                    app_amount[k] = rest
                    app_funded[k] = 1
                    used = cap
                break
            used += amount
            app_funded[k] = 1
        capacity[j] = cap - used


@njit(cache=True, parallel=True, nogil=True)
def book(seekers, block_starts, cp, lt, lender_acc, group_acc, band_acc, firms, loans,
         requests, app_seeking, app_lender, app_channel, app_pd, app_amount, app_rate, app_secured,
         app_funded):
    """Write funded offers into loan slots (debt) or cash and outside stakes (non-debt);
    remember who rejected the others so the next round goes elsewhere; clear
    ``app_seeking`` of a funded firm whose need is met. ``seekers`` and ``block_starts``
    as in :func:`choose_and_screen`."""
    fee_rate = lt.fee_rate  # out of the bundle once (see choose_and_screen)
    maturity = cp.maturity
    n_blocks = block_starts.shape[0] - 1
    for b in prange(n_blocks):
        end = block_starts[b + 1]
        for k in range(block_starts[b], end):
            request = requests[seekers[k]]
            i = visit_seeker(seekers, k, end, requests, firms, loans)
            f = firms[i]
            j = app_lender[k]
            if j < 0:
                continue
            if app_funded[k] == 0:
                request.rejected_by = j
                if cp.last_round == 1:
                    f.discouraged = cp.discouraged_quarters
                continue
            s = f.size
            c = app_channel[k]
            amount = app_amount[k]
            groups = (np.int64(f.sector), 7 + f.region, 10 + s, 13 + f.stage)
            lender_acc[b, j, s, LF_APPROVALS] += 1.0
            if f.collateral <= 0.0:
                lender_acc[b, j, s, LF_APPROVALS_NO_COLLATERAL] += 1.0
            for g in groups:
                group_acc[b, g, s, GM_APPROVALS] += 1.0
            # an investment is spent on the project (raising the revenue trend), the rest
            # of the money is working capital held as cash
            fee = amount * fee_rate[j] if c >= CH_EQUITY else 0.0
            spent = 0.0
            if request.invest == 1:
                spent = min(amount - fee, cp.invest_size * request.revenue)
                f.log_trend += cp.invest_return * spent / max(4.0 * request.revenue, 1e-9)
                request.invest = 0
            if c >= CH_EQUITY:
                f.cash += amount - fee - spent
                if c == CH_EQUITY:
                    value = cp.valuation_years * 4.0 * request.revenue
                    f.outside_stake = 1.0 - (1.0 - f.outside_stake) * value / (value + amount)
                else:
                    lender_acc[b, j, s, LF_CROWD_AMT] += amount
                lender_acc[b, j, s, LF_NONDEBT_AMT] += amount
                lender_acc[b, j, s, LF_FEES] += fee
                for g in groups:
                    group_acc[b, g, s, GM_NEW_NONDEBT] += amount
            else:
                slot = 0 if loans[i, 0].status == 0 else 1
                if c == CH_BANK:
                    if spent > 0.0:
                        term = maturity[1]
                        amortizing = 1
                    else:
                        term = maturity[0]
                        amortizing = 0
                elif c == CH_ONLINE:
                    term = maturity[2]
                    amortizing = 1
                else:
                    term = maturity[3]
                    amortizing = 0
                rate = app_rate[k]
                loan = loans[i, slot]
                loan.principal = amount
                loan.rate = rate
                loan.remaining = term
                loan.term = term
                loan.lender = j
                loan.channel = c
                loan.flags = (np.int64(app_secured[k]) << SECURED) | (amortizing << AMORTIZING)
                loan.status = LOAN_PERFORMING
                loan.npl_age = NEW_THIS_QUARTER
                f.cash += amount - spent
                lender_acc[b, j, s, LF_NEW_AMT] += amount
                lender_acc[b, j, s, LF_NEW_COUNT] += 1.0
                lender_acc[b, j, s, LF_NEW_RATE_AMT] += rate * amount
                lender_acc[b, j, s, LF_NEW_PD_AMT] += app_pd[k] * amount
                if app_secured[k] == 1:
                    lender_acc[b, j, s, LF_NEW_SECURED] += amount
                band = risk_band(f.quality)
                band_acc[b, c, band, BAND_AMT] += amount
                band_acc[b, c, band, BAND_RATE_AMT] += rate * amount
                first = f.first_loan_quarter < 0
                if first:
                    f.first_loan_quarter = cp.quarter
                    lender_acc[b, j, s, LF_NEW_FIRST] += 1.0
                for g in groups:
                    group_acc[b, g, s, GM_NEW_DEBT] += amount
                    group_acc[b, g, s, GM_RATE_AMT] += rate * amount
                    if app_secured[k] == 0:
                        group_acc[b, g, s, GM_UNSECURED] += amount
                    if first:
                        group_acc[b, g, s, GM_FIRST_TIME] += 1.0
            request.need = max(0.0, request.need - amount)
            if request.need < cp.min_loan_wan:
                request.need = 0.0
                app_seeking[k] = 0


@njit(cache=True, parallel=True, nogil=True)
def keep_seeking(seekers, block_starts, app_seeking, kept, kept_starts):
    """The seekers of a round that still seek finance after it (``app_seeking``), in the
    same order, into ``kept`` (int32), with ``kept_starts`` (int64 [n_blocks + 1]) where
    each slot block's begin. Returns how many. A firm whose need was met would only be
    skipped by the next round, and a firm visits every round from the same slot block, so
    the next round's sums over blocks are the same as over the whole list."""
    n_blocks = block_starts.shape[0] - 1
    kept_starts[0] = 0
    for b in range(n_blocks):
        count = 0
        for k in range(block_starts[b], block_starts[b + 1]):
            count += app_seeking[k]
        kept_starts[b + 1] = kept_starts[b] + count
    for b in prange(n_blocks):
        at = kept_starts[b]
        for k in range(block_starts[b], block_starts[b + 1]):
            if app_seeking[k] == 1:
                kept[at] = seekers[k]
                at += 1
    return kept_starts[n_blocks]
