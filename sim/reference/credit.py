"""Phase 6 of the reference engine: a lender screens and prices an application, and
lenders ration their capacity over the offers they made.

The lenders are the model's Mesa agents; what they see of a firm and how they price it
is written here from the round's parameter bundles (``sim.wiring.credit_params`` and
``lender_table``, ODD 7.10–7.12).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sim import rng
from sim.categories import (
    CH_BANK, CH_CROWDFUNDING, CH_EQUITY, CH_ONLINE, CH_SUPPLY_CHAIN, KIND_BANK, KIND_CROWD,
    KIND_SUPPLY_CHAIN,
)
from sim.reference.draws import f32, key, norm_cdf, normal, uniform

PD_BANDS = 512       # rationing goes through a lender's offers in bands of estimated PD


@dataclass
class Offer:
    """A lender's answer to one application."""

    firm: object          # the applying SME
    lender: int
    channel: int
    pd: float             # annual PD the lender estimates
    amount: float         # 万元 offered (cut to what is left if capacity runs out)
    rate: float           # annual, at float32 precision; 0 for equity and crowdfunding
    secured: bool
    ok: bool              # an offer is made, before capacity limits
    funded: bool = False
    reports_to_bureau: bool = True  # a first loan from this lender gives the firm a file


def estimated_pd(signal: float, sigma2: float, alpha: float, slope: float) -> float:
    """Annual PD inferred from a signal with noise variance ``sigma2``: the probit mapping
    PD = Φ(α − β q) averaged over the posterior of quality q ~ N(0, 1) given the signal."""
    mean = signal / (1.0 + sigma2)
    var = sigma2 / (1.0 + sigma2)
    return norm_cdf((alpha - slope * mean) / math.sqrt(1.0 + slope * slope * var))


def precision(firm, lender: int, cp, table) -> float:
    """How precisely the lender sees the firm's quality: 1 / noise variance, adding up
    over the information its kind can use."""
    kind = table.kind_class[lender]
    base = table.precision_base[lender]
    if kind == KIND_BANK:
        tau = base + cp.precision_bureau * firm.bureau \
            + cp.precision_history * min(firm.history, cp.history_full) / cp.history_full \
            + cp.precision_bank_big_data * cp.bank_big_data * firm.digital \
            * table.tech[lender] + cp.precision_tax * firm.tax_file
        if firm.collateral > 0.0:
            tau += cp.precision_collateral
        if firm.size > 0:
            tau += cp.precision_statements   # micro and small firms file statements
        return tau
    if kind == KIND_SUPPLY_CHAIN:
        tau = base + cp.precision_trade * table.data_level[lender]
        if receivables_verified(firm, cp):
            tau += cp.precision_verified   # the anchor's ledger confirms the trade
        return tau
    # platforms: digital footprint (less under data protection) and half the history
    return base + cp.precision_digital * firm.digital * table.data_level[lender] \
        * (1.0 - cp.protection_loss) + cp.platform_history_weight * cp.precision_history \
        * min(firm.history, cp.history_full) / cp.history_full


def seen_without_file(firm, tech: float, cp) -> float:
    """How far a bank with technology factor ``tech`` sees a firm without a bureau file
    (share of the full unsecured limit): its tax file, or the bank's big-data scoring of
    its digital footprint, whichever reaches further."""
    tax = cp.tax_limit_share if firm.tax_file else 0.0
    return max(tax, min(1.0, cp.bank_big_data * firm.digital * tech))


def unsecured_cap(firm, tech: float, cp) -> float:
    """What a bank with technology factor ``tech`` lends the firm without collateral
    (万元): banks lend only as far as they can see the firm, in full with a credit-bureau
    file, otherwise as far as its tax file or the bank's big-data scoring reaches."""
    seen = 1.0 if firm.bureau else seen_without_file(firm, tech, cp)
    return cp.unsecured_limit_q * firm.revenue * seen


def receivables_verified(firm, cp) -> bool:
    """Whether the firm sells into a supply chain whose ledger verifies its receivables
    (a fixed rank per firm)."""
    return firm.anchor >= 0 and \
        uniform(key(cp.seed, rng.S_VERIFIED, 0), firm.uid, 0, 0) < cp.verified_share


@dataclass
class Limits:
    """What lenders would lend the firm without collateral, by what they can see."""

    unsecured: float      # 万元, a bank without collateral
    receivable: float     # 万元, supply-chain finance on its receivables
    verified: bool        # its receivables are verified


def limits(firm, cp) -> Limits:
    verified = receivables_verified(firm, cp)
    # a receivable verified on the anchor's ledger is financed closer to its face value
    advance = cp.verified_advance if verified else 1.0
    # the market's big-data scoring: technology factor 1
    return Limits(unsecured=unsecured_cap(firm, 1.0, cp),
                  receivable=cp.receivable_q * firm.revenue * advance, verified=verified)


def screen(firm, channel: int, lender: int, cp, table, limit: Limits) -> Offer:
    """The lender's estimate of the firm's PD from a noisy signal, the amount it would
    lend in the channel (within ``limit``), the price it asks and whether it makes an
    offer."""
    sigma2 = 1.0 / precision(firm, lender, cp, table)
    rho = cp.refresh_rho
    keep = math.sqrt(1.0 - rho * rho)
    # a persistent error per firm and lender, partly refreshed each quarter
    err = keep * normal(key(cp.seed, rng.S_SIGNAL, 0), firm.uid, lender, 0) \
        + rho * normal(key(cp.seed, rng.S_SIGNAL_REFRESH, cp.quarter), firm.uid, lender, 0)
    signal = firm.quality + math.sqrt(sigma2) * err
    pd = min(1.0, table.pd_scale[lender] * estimated_pd(signal, sigma2, table.alpha[lender],
                                                        cp.score_slope))
    need, revenue = firm.need, firm.revenue
    secured = False
    if channel == CH_BANK:
        # the chosen bank's own big-data scoring sets its limit
        bank_cap = unsecured_cap(firm, table.tech[lender], cp)
        secured_cap = firm.collateral * cp.collateral_ltv
        if secured_cap >= min(need, bank_cap) and secured_cap > 0.0:
            secured = True
            amount = min(need, max(secured_cap, bank_cap))
            lgd = cp.lgd_secured
        else:
            amount = min(need, bank_cap)
            lgd = cp.lgd_unsecured
        lgd *= 1.0 - cp.bank_loss_share[firm.size]   # the government's share of the loss
    elif channel == CH_ONLINE:
        amount = min(need, table.per_firm_limit_q[lender] * revenue,
                     table.max_loan_wan[lender])
        lgd = cp.lgd_unsecured
    elif channel == CH_SUPPLY_CHAIN:
        amount = min(need, limit.receivable)
        secured = True
        lgd = cp.lgd_verified if limit.verified else cp.lgd_receivable
    else:
        amount = min(need, table.per_firm_limit_q[lender] * revenue)
        lgd = 1.0
    expected_loss = pd * lgd
    # a bureau file shows past defaults and bad loans
    visible_bad = firm.bureau and (firm.defaulted_before or any(
        loan is not None and not loan.performing for loan in firm.loans))
    if channel >= CH_EQUITY:
        rate = 0.0
        ok = expected_loss <= table.appetite_el[lender] and not visible_bad
    else:
        # an unsecured bank loan may be funded more cheaply (the support plan)
        cost = table.unsecured_funding[lender] if channel == CH_BANK and not secured \
            else table.funding[lender]
        required = cost + expected_loss \
            + table.op_fixed_wan[lender] / max(amount, 1e-9) + table.op_rate[lender]
        rate = min(required + table.margin[lender], table.rate_cap[lender])
        if channel == CH_BANK and not (rate <= cp.vat_exempt_rate
                                       and amount <= cp.vat_exempt_max_wan):
            # the bank pays VAT on this loan's interest: it keeps its return net of it
            required = required / (1.0 - cp.vat_rate)
            rate = min(required + table.margin[lender] / (1.0 - cp.vat_rate),
                       table.rate_cap[lender])
        rate = f32(rate)
        ok = (expected_loss <= table.appetite_el[lender] and required <= table.rate_cap[lender]
              and not visible_bad)
    return Offer(firm, lender, channel, pd, amount, rate, secured,
                 ok=ok and amount >= cp.min_loan_wan,
                 reports_to_bureau=table.reports_to_bureau[lender] == 1)


def ration(offers: list[Offer], capacity, crowd_capacity, yi_per_wan,
           min_loan_wan: float) -> None:
    """Each lender funds its offers lowest estimated PD first (ties by uid) until its
    capacity (national 亿元, reduced in place) is used; the first offer that does not fit
    gets what is left if that is still a loan worth writing. Marks ``offer.funded``.
    Crowdfunding offers draw on ``crowd_capacity`` instead (a crowd/equity platform
    places equity and crowdfunding investors' funds apart), after the lender's other
    offers are set aside in the order they came.

    A lender goes through its offers in ``PD_BANDS`` bands of equal width up to the
    highest PD it was asked for: it funds whole bands, lowest first, while their total
    fits, then the offers of the band that does not fit one by one (ODD 7.12). The order
    is that of a full sort by (PD, uid); the bands fix the order in which the amounts
    are added up, which the fast engine follows too.
    """
    by_lender: dict[int, list[Offer]] = {}
    for offer in offers:
        offer.funded = False
        if offer.ok:
            by_lender.setdefault(offer.lender, []).append(offer)
    for lender, made in by_lender.items():
        crowd = [offer for offer in made if offer.channel == CH_CROWDFUNDING]
        if crowd:
            crowd_capacity[lender] = _ration_lender(crowd, crowd_capacity[lender],
                                                    yi_per_wan, min_loan_wan)
            made = [offer for offer in made if offer.channel != CH_CROWDFUNDING]
        capacity[lender] = _ration_lender(made, capacity[lender], yi_per_wan, min_loan_wan)


def _ration_lender(made: list[Offer], cap: float, yi_per_wan, min_loan_wan: float) -> float:
    """Fund one lender's offers ``made`` from ``cap`` (亿元); returns what is left."""
    if not made or cap <= 0.0:
        return cap

    def cost(offer: Offer) -> float:      # national 亿元
        return offer.amount * yi_per_wan[offer.firm.size]

    total = 0.0
    for offer in made:
        total += cost(offer)
    if total <= cap:
        for offer in made:
            offer.funded = True
        return cap - total
    scale = PD_BANDS / max([1e-12] + [offer.pd for offer in made])

    def band(offer: Offer) -> int:
        return min(PD_BANDS - 1, int(offer.pd * scale))

    band_total = [0.0] * PD_BANDS
    for offer in made:           # each band's total in the order the offers came
        band_total[band(offer)] += cost(offer)
    used = 0.0
    marginal = PD_BANDS
    for b, amount in enumerate(band_total):
        if used + amount > cap:
            marginal = b
            break
        used += amount
    for offer in made:
        if band(offer) < marginal:
            offer.funded = True
    in_band = [offer for offer in made if band(offer) == marginal]
    for offer in sorted(in_band, key=lambda o: (o.pd, o.firm.uid)):
        amount = cost(offer)
        if used + amount > cap:
            # capacity is used up exactly, so how much goes unlent does not depend on
            # how many agents stand for the population
            rest = (cap - used) / yi_per_wan[offer.firm.size]
            if rest >= min_loan_wan:
                offer.amount = rest
                offer.funded = True
                used = cap
            break
        used += amount
        offer.funded = True
    return cap - used


def nondebt_channel(firm, cp, table) -> int:
    """The outside stake the firm seeks before debt this round, or -1 (as
    :func:`sim.kernels.choice.nondebt_channel`)."""
    if not firm.invest or firm.offered:
        return -1
    base = cp.seek_stage[firm.stage]
    if base <= 0.0:
        return -1
    if firm.rejected_by >= 0 and table.kind_class[firm.rejected_by] == KIND_CROWD:
        return -1
    u = uniform(key(cp.seed, rng.S_CHANNEL, cp.quarter), firm.uid, 1, 0)
    growth = firm.log_revenue - firm.log_trend
    if u >= base * cp.seek_sector[firm.sector] * math.exp(cp.seek_growth_sensitivity * growth):
        return -1
    channel = CH_EQUITY if firm.need >= cp.equity_min_wan else CH_CROWDFUNDING
    if table.choice_n[channel][firm.region] == 0:
        return -1
    return channel


def pick(cumulative, u: float) -> int:
    """Index of the first cumulative share above ``u`` (the last if none)."""
    for k, bound in enumerate(cumulative):
        if u < bound:
            return k
    return len(cumulative) - 1


def pick_lender(table, channel: int, region: int, u: float, avoid: int) -> int:
    """A lender of ``channel`` reachable from ``region``, drawn with ``u`` by the choice
    weights; if it is ``avoid`` (the lender that just said no), the next one in the table.
    -1 if no lender is reachable."""
    n = table.choice_n[channel][region]
    if n == 0:
        return -1
    cumulative = table.choice_cum[channel][region][:n]
    if cumulative[-1] <= 0.0:
        return -1
    target = u * cumulative[-1]
    k = pick(cumulative, target)
    lenders = table.choice_lenders[channel][region]
    if lenders[k] == avoid and n > 1:
        return lenders[(k + 1) % n]
    return lenders[k]
