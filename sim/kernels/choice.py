"""How a credit seeker chooses where to apply (phase 6, ODD 7.10): the channels open to
it, their weights in a multinomial logit, and a lender within the chosen channel.

Helpers inlined into :func:`sim.kernels.credit.choose_and_screen`; they read as
``sim.reference.sme`` does the same choice. Arrays are handed over already taken out of
their bundles (see that kernel).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from sim import rng
from sim.categories import (
    CH_BANK, CH_CROWDFUNDING, CH_EQUITY, CH_ONLINE, CH_SUPPLY_CHAIN, CHANNELS, GROUP_SECTOR,
    KIND_CROWD, LOAN_EMPTY, LOAN_PERFORMING,
)
from sim.kernels.informal import REQ_INVEST, REQ_OFFERED
from sim.kernels.screening import risk_band, unsecured_cap
from sim.population import LOAN_POSITIONS

N_CHANNELS = len(CHANNELS)


@njit(cache=True, inline="always")
def pick_lender(choice_lenders, choice_cum, choice_n, channel, region, u, avoid):
    """A lender of ``channel`` reachable from ``region``, drawn by the choice weights
    (``choice_*`` of :class:`~sim.kernels.params.LenderTable`) with the uniform ``u``; if
    it is ``avoid`` (the one that just said no), the next in the table. Returns -1 if
    none is reachable."""
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


@njit(cache=True, inline="always")
def lending_relations(loans, i, relation):
    """Read firm ``i``'s loans: ``relation`` (int64 [N_CHANNELS]) gets the lender of its
    performing loan in each channel (-1 for none). Returns whether a loan position is
    free and whether it has a non-performing loan."""
    free_position = False
    has_npl = False
    relation[:] = -1
    for pos in range(LOAN_POSITIONS):
        loan = loans[i, pos]
        status = loan.status
        if status == LOAN_EMPTY:
            free_position = True
        elif status == LOAN_PERFORMING:
            relation[loan.channel] = loan.lender
        else:
            has_npl = True
    return free_position, has_npl


@njit(cache=True, inline="always")
def limits(f, u_id, rev, cp, key_verified):
    """What lenders would lend firm ``f`` (uid ``u_id``, quarterly revenue ``rev`` 万元)
    without collateral: returns the banks' unsecured cap (万元), whether its receivables
    are verified, and the receivable cap (万元)."""
    # the market's big-data scoring: technology factor 1
    bank_cap = unsecured_cap(f, rev, 1.0, cp)
    # a receivable verified on the anchor's ledger is financed closer to its face
    verified = f.anchor >= 0 and \
        rng.uniform(key_verified, u_id, 0, 0) < cp.verified_share
    receivable_cap = cp.receivable_q * rev * (cp.verified_advance if verified else 1.0)
    return bank_cap, verified, receivable_cap


@njit(cache=True, inline="always")
def channel_reach(c, f, rev, cp, unsecured_cap, receivable_cap):
    """Roughly how much debt channel ``c`` lends a firm like ``f`` (万元)."""
    if c == CH_BANK:
        return max(unsecured_cap, f.collateral * cp.collateral_ltv)
    if c == CH_ONLINE:
        return min(cp.online_cap_wan, cp.online_limit_q * rev)
    return receivable_cap


@njit(cache=True, inline="always")
def nondebt_channel(f, request, cp, seek_stage, seek_sector, choice_n, kind_class,
                    key_channel, u_id):
    """The outside stake firm ``f`` seeks before debt this round (``CH_EQUITY`` or
    ``CH_CROWDFUNDING``), or -1 (ODD 7.8): a firm with a project seeks one with a chance
    set by its stage, raised for technology and services and by recent growth (revenue
    above its trend), one draw a quarter (``key_channel``, uid ``u_id``); equity if it
    needs at least ``equity_min_wan``, else crowdfunding. A firm whose last refusal came
    from a crowd/equity platform (``rejected_by``), or one with no such platform in reach,
    turns to debt, and one that took a bank's offered line this quarter draws on it.
    ``seek_stage`` and ``seek_sector`` are ``cp``'s arrays, taken out of the bundle before
    the loop."""
    if (request.invest & REQ_INVEST) == 0 or (request.invest & REQ_OFFERED) != 0:
        return -1
    base = seek_stage[f.stage]
    if base <= 0.0:
        return -1
    if request.rejected_by >= 0 and kind_class[request.rejected_by] == KIND_CROWD:
        return -1
    # drawn only for a firm that may seek a stake: most seekers stop above
    u = rng.uniform(key_channel, u_id, 1, 0)
    growth = np.float64(f.log_revenue) - np.float64(f.log_trend)
    if u >= base * seek_sector[f.sector] * math.exp(cp.seek_growth_sensitivity * growth):
        return -1
    c = CH_EQUITY if request.need >= cp.equity_min_wan else CH_CROWDFUNDING
    if choice_n[c, f.region] == 0:
        return -1
    return c


@njit(cache=True, inline="always")
def channel_open(c, f, free_position, nondebt, choice_n):
    """Whether firm ``f`` can apply through channel ``c``: a firm seeking an outside
    stake (``nondebt`` ≥ 0) only through that channel, else through a debt channel,
    which needs a free loan position (supply-chain finance also an anchor), and any
    channel a lender reachable from its region."""
    if nondebt >= 0:
        return c == nondebt
    if c >= CH_EQUITY or not free_position:
        return False
    if c == CH_SUPPLY_CHAIN and f.anchor < 0:
        return False
    return choice_n[c, f.region] != 0


@njit(cache=True, inline="always")
def channel_weights(f, request, cp, channel_weight, online_use, choice_n, relation,
                    free_position, nondebt, unsecured_cap, receivable_cap, weight):
    """The multinomial-logit weights exp(utility) of the channels for firm ``f`` with
    credit request ``request``, into ``weight`` (float64 [N_CHANNELS], 0 for a closed
    channel); returns their sum. ``online_use`` (float64 [N_GROUPS]) is the share of each
    group's firms with an online loan last quarter; ``nondebt`` is the outside stake
    the firm seeks (:func:`nondebt_channel`), whose channel alone is then open."""
    band = risk_band(f.quality)
    rev = request.revenue
    total_weight = 0.0
    for c in range(N_CHANNELS):
        weight[c] = 0.0
        if not channel_open(c, f, free_position, nondebt, choice_n):
            continue
        if c != CH_BANK and request.invest & REQ_OFFERED:
            continue  # it took a bank's offered line this quarter: it draws on a bank
        # exp(utility) as a product: the static part (constant, expected rate for the
        # band, time to cash) is tabulated once per round
        w = channel_weight[c, band]
        if c == CH_ONLINE:
            # its own footprint, and trust from sector peers who use online credit
            w *= math.exp(cp.digital_sensitivity * f.digital
                          + cp.online_trust * online_use[GROUP_SECTOR + f.sector])
        if relation[c] >= 0 and relation[c] != request.rejected_by:
            w *= cp.relationship_factor
        # firms know roughly how much each channel lends to a firm like them and avoid
        # one that would cover only part of the need
        if c <= CH_SUPPLY_CHAIN:
            reach = channel_reach(c, f, rev, cp, unsecured_cap, receivable_cap)
            if reach < request.need:
                w *= math.exp(cp.coverage_sensitivity
                              * math.log(max(reach, 1e-6) / request.need))
            # short online and receivable finance is a poor match for a project
            if c != CH_BANK and request.invest & REQ_INVEST:
                w *= cp.mismatch_factor
        weight[c] = w
        total_weight += w
    return total_weight


@njit(cache=True, inline="always")
def draw_channel(weight, target):
    """The channel a draw ``target`` (uniform × the weights' sum) picks, each with
    probability ∝ its weight."""
    best = -1
    for c in range(N_CHANNELS):
        if weight[c] > 0.0:
            best = c
            target -= weight[c]
            if target < 0.0:
                break
    return best


@njit(cache=True, inline="always")
def choose_lender(channel, region, relation, rejected_by, choice_lenders, choice_cum,
                  choice_n, key_lender, u_id, round_number):
    """The lender a firm (uid ``u_id``, in ``region``) applies to in ``channel``: the one
    it already borrows from there, unless that one just said no, else one drawn by the
    choice weights (see :func:`pick_lender`). -1 for none."""
    if relation[channel] >= 0 and relation[channel] != rejected_by:
        return relation[channel]
    return pick_lender(choice_lenders, choice_cum, choice_n, channel, region,
                       rng.uniform(key_lender, u_id, channel, round_number), rejected_by)
