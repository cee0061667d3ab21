"""Credit-market kernel (phase 6): each seeker chooses a channel and a lender, which
screens, prices and decides whether to offer.

One round = ``choose_and_screen`` → ``ration`` (:mod:`sim.kernels.ration`) → ``book``
(:mod:`sim.kernels.book`). ``seekers`` lists where the credit seekers' requests are
(``requests[seekers[k]]``, see :mod:`sim.kernels.seekers`), in slot order. The round's
arrays per seeker (:class:`~sim.kernels.params.Applications`) have one entry per seeker,
in the order of ``seekers``, so the rounds read and write them contiguously; they are
owned by the caller and reused every round. The economics are in
:mod:`sim.kernels.choice` (where to apply) and :mod:`sim.kernels.screening` (what the
lender offers).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from sim import rng
from sim.kernels.choice import (
    N_CHANNELS, channel_weights, choose_lender, draw_channel, lending_relations, limits,
    nondebt_channel,
)
from sim.categories import CH_BANK
from sim.kernels.groups import count_firm
from sim.kernels.layout import GM_APPS, LF_APPS, LF_APPS_NO_COLLATERAL
from sim.kernels.records import flag, uid_of
from sim.kernels.schedule import claim_block
from sim.kernels.screening import (
    estimated_pd, noisy_signal, offer_terms, price_offer, signal_precision, unsecured_cap,
)
from sim.kernels.seekers import visit_seeker
from sim.population import ALIVE, BUREAU, DEFAULTED_BEFORE


@njit(cache=True, inline="always")
def round_keys(cp):
    """The round's random-stream keys (uint64): channel choice, lender choice, lenders'
    standing signal errors, their refresh this quarter, verified receivables."""
    return (rng.stream_key(cp.seed, rng.S_CHANNEL, cp.quarter),
            rng.stream_key(cp.seed, rng.S_LENDER, cp.quarter),
            rng.stream_key(cp.seed, rng.S_SIGNAL, 0),
            rng.stream_key(cp.seed, rng.S_SIGNAL_REFRESH, cp.quarter),
            rng.stream_key(cp.seed, rng.S_VERIFIED, 0))


@njit(cache=True, inline="always")
def visible_default(f, has_npl):
    """Whether a lender sees a default in firm ``f``'s bureau file (a past default or a
    non-performing loan, ``has_npl``)."""
    return flag(f, BUREAU) == 1 and (flag(f, DEFAULTED_BEFORE) == 1 or has_npl)


@njit(cache=True, parallel=True, nogil=True)
def choose_and_screen(seekers, block_starts, cp, lt, lender_acc, group_acc, firms, loans,
                      requests, apps):
    """Each firm still seeking finance picks a channel (multinomial logit), then a
    lender in it, which screens, prices and decides whether to offer.

    ``seekers`` (int32) lists the records of ``requests`` of the round's credit seekers
    in slot order, ``block_starts`` (int64 [n_blocks + 1]) where each slot block's begin
    in it; ``cp`` and ``lt`` are the round's :class:`~sim.kernels.params.CreditParams`
    and :class:`~sim.kernels.params.LenderTable`; ``lender_acc`` and ``group_acc`` get
    the applications (see :mod:`sim.kernels.layout`).

    Writes into ``apps`` (:class:`~sim.kernels.params.Applications`), per seeker ``k``:
    ``seeking``, ``lender`` (-1 = no application), ``channel``, ``size``, ``pd``,
    ``amount``, ``rate``, ``ok`` and ``secured``.
    """
    key_channel, key_lender, key_signal, key_refresh, key_verified = round_keys(cp)
    rho = cp.refresh_rho
    keep = math.sqrt(1.0 - rho * rho)
    # Arrays are taken out of the bundles once, here: inside the parallel loop every
    # access would update the array's reference count, which the threads contend for.
    app_seeking, app_lender, app_channel, app_size = apps.seeking, apps.lender, \
        apps.channel, apps.size
    app_pd, app_amount, app_rate, app_ok, app_secured = apps.pd, apps.amount, apps.rate, \
        apps.ok, apps.secured
    channel_weight, bank_loss_share = cp.channel_weight, cp.bank_loss_share
    online_use = cp.online_use
    seek_stage, seek_sector = cp.seek_stage, cp.seek_sector
    choice_n, choice_lenders, choice_cum = lt.choice_n, lt.choice_lenders, lt.choice_cum
    active, kind_class, precision_base, data_level, tech = lt.active, lt.kind_class, \
        lt.precision_base, lt.data_level, lt.tech
    pd_scale, alpha, per_firm_limit_q, appetite_el = lt.pd_scale, lt.alpha, \
        lt.per_firm_limit_q, lt.appetite_el
    max_loan_wan = lt.max_loan_wan
    funding, op_fixed_wan, op_rate, margin, rate_cap = lt.funding, lt.op_fixed_wan, \
        lt.op_rate, lt.margin, lt.rate_cap
    unsecured_funding = lt.unsecured_funding
    n_blocks = block_starts.shape[0] - 1
    counter = np.zeros(1, dtype=np.int64)
    for _ in prange(n_blocks):
        while True:
            b = claim_block(counter, n_blocks)
            if b >= n_blocks:
                break
            relation = np.empty(N_CHANNELS, dtype=np.int64)
            weight = np.empty(N_CHANNELS)
            end = block_starts[b + 1]
            for k in range(block_starts[b], end):
                request = requests[seekers[k]]
                i = visit_seeker(seekers, k, end, requests, firms, loans)
                f = firms[i]
                app_lender[k] = -1
                app_seeking[k] = 0 if flag(f, ALIVE) == 0 or request.need <= 0.0 else 1
                if app_seeking[k] == 0:
                    continue
                u_id = uid_of(f)
                # one draw a quarter (not per round) decides whether it seeks an outside stake
                nondebt = nondebt_channel(f, request, cp, seek_stage, seek_sector, choice_n,
                                          kind_class, key_channel, u_id)
                free_position, has_npl = lending_relations(loans, i, relation)
                if not (free_position or nondebt >= 0):
                    # both loan positions taken and no outside stake sought: no channel is
                    # open (most of a second round's seekers, whose first loan filled a
                    # position)
                    continue
                # --- where to apply
                rev = request.revenue
                bank_cap, verified, receivable_cap = limits(f, u_id, rev, cp, key_verified)
                total_weight = channel_weights(f, request, cp, channel_weight, online_use,
                                               choice_n, relation, free_position, nondebt,
                                               bank_cap, receivable_cap, weight)
                if total_weight <= 0.0:
                    continue
                # multinomial logit: one uniform picks a channel with probability ∝ exp(v)
                best = draw_channel(weight, rng.uniform(key_channel, u_id, 0, cp.round)
                                    * total_weight)
                j = choose_lender(best, f.region, relation, request.rejected_by, choice_lenders,
                                  choice_cum, choice_n, key_lender, u_id, cp.round)
                if j < 0 or active[j] == 0:
                    continue
                app_lender[k] = j
                app_channel[k] = best
                app_size[k] = f.size
                count_firm(lender_acc, group_acc, b, j, f, LF_APPS, LF_APPS_NO_COLLATERAL, GM_APPS)
                # --- screening: precision adds up over the information the lender sees
                sigma2 = 1.0 / signal_precision(f, kind_class[j], precision_base[j],
                                                data_level[j], tech[j], verified, cp)
                signal = noisy_signal(f.quality, sigma2, u_id, j, keep, rho, key_signal,
                                      key_refresh)
                pd = min(1.0, pd_scale[j] * estimated_pd(signal, sigma2, alpha[j],
                                                           cp.score_slope))
                app_pd[k] = pd
                # --- amount, security and loss given default by channel, then the price
                if best == CH_BANK:
                    # the chosen bank's own big-data scoring sets its limit
                    bank_cap = unsecured_cap(f, rev, tech[j], cp)
                amount, secured, lgd = offer_terms(best, f, request.need, rev, cp, bank_cap,
                                                   receivable_cap, verified, per_firm_limit_q[j],
                                                   max_loan_wan[j],
                                                   bank_loss_share[f.size])
                app_amount[k] = amount
                app_secured[k] = secured
                # an unsecured bank loan may be funded more cheaply (the support plan)
                cost = unsecured_funding[j] if best == CH_BANK and secured == 0 else funding[j]
                rate, ok = price_offer(best, pd * lgd, amount, visible_default(f, has_npl),
                                       cost, op_fixed_wan[j], op_rate[j], margin[j],
                                       rate_cap[j], appetite_el[j], cp)
                app_rate[k] = rate
                app_ok[k] = 1 if (ok and amount >= cp.min_loan_wan) else 0
