"""Rationing (phase 6, after screening): each lender funds its offers best estimated risk
first until its capacity (亿元) is used; the outcome does not depend on thread count or
array order.

A counting sort groups offers by lender; per lender, a histogram over PD buckets finds
the marginal bucket, which alone is sorted exactly (by PD, then uid).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from sim.categories import CH_CROWDFUNDING
from sim.kernels.records import uid_of
from sim.kernels.schedule import claim
from sim.kernels.seekers import slot_of

N_BUCKETS = 512
SORT_CHUNK = 65536  # applicants per chunk of the counting sort


@njit(cache=True, parallel=True, nogil=True)
def offers_by_lender(n_seekers, app_lender, app_ok, app_funded, order, starts):
    """Counting sort of the first ``n_seekers`` applicants' offers by lender: ``order``
    (int32) gets each lender's offers (seeker positions) by ascending position, lender
    ``j``'s in ``order[starts[j]:starts[j + 1]]`` (``starts`` int64 [J + 1]). Clears
    ``app_funded``.

    Runs in fixed chunks of applicants: each chunk counts its offers per lender, then
    writes them from its own offsets, so ``order`` is the same whatever the thread count.
    """
    n_lenders = starts.shape[0] - 1
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


@njit(cache=True)
def _sort_marginal(members, app_pd, firms, requests, seekers):
    """Order a bucket's members (seeker positions) by estimated PD, ties broken by uid."""
    uids = np.empty(members.shape[0], dtype=np.int64)
    for m in range(members.shape[0]):
        uids[m] = uid_of(firms[slot_of(requests, seekers[members[m]])])
    by_uid = members[np.argsort(uids, kind="mergesort")]
    return by_uid[np.argsort(app_pd[by_uid], kind="mergesort")]


@njit(cache=True, inline="always")
def _bucket(pd, scale):
    return min(N_BUCKETS - 1, int(pd * scale))


@njit(cache=True, inline="always")
def _fund_below_cut(offers, cap, app_pd, app_amount, app_size, yi_per_wan, app_funded):
    """Fund a lender's ``offers`` (seeker positions) in the PD buckets that fit whole in
    ``cap`` (亿元). Returns the marginal bucket's offers (int64, by ascending position)
    and how much (亿元) the funded ones use."""
    pd_max = 1e-12
    for k in offers:
        pd_max = max(pd_max, app_pd[k])
    hist = np.zeros(N_BUCKETS)
    scale = N_BUCKETS / pd_max
    for k in offers:
        hist[_bucket(app_pd[k], scale)] += app_amount[k] * yi_per_wan[app_size[k]]
    used = 0.0
    cut = N_BUCKETS
    for bucket in range(N_BUCKETS):
        if used + hist[bucket] > cap:
            cut = bucket
            break
        used += hist[bucket]
    n_marginal = 0
    for k in offers:
        bucket = _bucket(app_pd[k], scale)
        if bucket < cut:
            app_funded[k] = 1
        elif bucket == cut:
            n_marginal += 1
    members = np.empty(n_marginal, dtype=np.int64)
    n_members = 0
    for k in offers:
        if _bucket(app_pd[k], scale) == cut:
            members[n_members] = k
            n_members += 1
    return members, used


@njit(cache=True, inline="always")
def _fund_marginal(marginal, used, cap, app_amount, app_size, yi_per_wan, app_funded,
                   min_loan_wan):
    """Fund the marginal bucket's offers, in order, from what ``cap`` (亿元) has left
    after ``used``; returns how much (亿元) is used in all."""
    for k in marginal:
        per_wan = yi_per_wan[app_size[k]]
        amount = app_amount[k] * per_wan
        if used + amount > cap:
            # The first firm that does not fit gets what is left, if that is still a loan
            # worth writing: capacity is used up exactly, so how much goes unlent does
            # not depend on how many agents stand for the population.
            rest = (cap - used) / per_wan
            if rest >= min_loan_wan:
                app_amount[k] = rest
                app_funded[k] = 1
                used = cap
            break
        used += amount
        app_funded[k] = 1
    return used


@njit(cache=True, inline="always")
def _ration_offers(offers, cap, app_pd, app_amount, app_size, yi_per_wan, app_funded,
                   firms, requests, seekers, min_loan_wan):
    """Fund ``offers`` (seeker positions, ascending) best estimated risk first from
    ``cap`` (亿元); returns what is left of it."""
    if offers.shape[0] == 0 or cap <= 0.0:
        return cap
    total = 0.0
    for k in offers:
        total += app_amount[k] * yi_per_wan[app_size[k]]
    if total <= cap:
        for k in offers:
            app_funded[k] = 1
        return cap - total
    marginal, used = _fund_below_cut(offers, cap, app_pd, app_amount, app_size,
                                     yi_per_wan, app_funded)
    return cap - _fund_marginal(_sort_marginal(marginal, app_pd, firms, requests, seekers),
                                used, cap, app_amount, app_size, yi_per_wan, app_funded,
                                min_loan_wan)


@njit(cache=True, parallel=True, nogil=True)
def ration(seekers, n_seekers, apps, firms, requests, yi_per_wan, capacity, crowd_capacity,
           order, starts, min_loan_wan):
    """Each lender funds its offers best estimated risk first until its capacity is used.

    Reads the first ``n_seekers`` applicants of ``apps``
    (:class:`~sim.kernels.params.Applications`) and writes their ``funded`` and, for
    an offer cut to what was left, ``amount``. ``yi_per_wan`` (float64 [3]) converts an
    agent's 万元 to national 亿元 by size; ``capacity`` (float64 [J], 亿元) is reduced
    by what is lent, ``crowd_capacity`` (float64 [J], 亿元) by what is raised through
    crowdfunding (a crowd/equity platform places equity and crowdfunding investors' funds
    apart); a remainder below ``min_loan_wan`` (万元, ``credit.min_loan_wan``) is not
    lent. ``order`` (int32 [n_seekers or more]) and ``starts`` (int64 [J + 1]) are
    caller-owned scratch arrays.
    """
    app_lender, app_ok, app_size, app_pd, app_amount, app_funded = apps.lender, apps.ok, \
        apps.size, apps.pd, apps.amount, apps.funded
    app_channel = apps.channel
    offers_by_lender(n_seekers, app_lender, app_ok, app_funded, order, starts)
    # lenders differ widely in their number of offers: each thread takes the next lender
    n_lenders = capacity.shape[0]
    counter = np.zeros(1, dtype=np.int64)
    for _ in prange(n_lenders):
        while True:
            j = claim(counter)
            if j >= n_lenders:
                break
            lo = starts[j]
            hi = starts[j + 1]
            if hi == lo:
                continue
            offers = order[lo:hi]
            crowd = app_channel[offers] == CH_CROWDFUNDING
            if crowd.any():
                crowd_capacity[j] = _ration_offers(
                    offers[crowd], crowd_capacity[j], app_pd, app_amount, app_size,
                    yi_per_wan, app_funded, firms, requests, seekers, min_loan_wan)
                offers = offers[~crowd]
            capacity[j] = _ration_offers(offers, capacity[j], app_pd, app_amount, app_size,
                                         yi_per_wan, app_funded, firms, requests, seekers,
                                         min_loan_wan)
