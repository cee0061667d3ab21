"""How a lender screens and prices an application (phase 6, ODD 7.11–7.12): the
precision of its signal of the firm's quality, the PD it infers, the amount and
security it offers by channel, and the rate under its cap.

Helpers inlined into :func:`sim.kernels.credit.choose_and_screen`, written as
``sim.reference.credit`` (``precision``, ``estimated_pd``, ``screen``) does the same.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from sim import rng
from sim.categories import (
    CH_BANK, CH_EQUITY, CH_ONLINE, CH_SUPPLY_CHAIN, KIND_BANK, KIND_SUPPLY_CHAIN,
)
from sim.kernels.records import flag
from sim.population import BUREAU, TAX_FILE

# Quality deciles of N(0, 1): a firm's risk band is how many of these it exceeds.
_BAND_EDGES = np.array([rng.norm_ppf.py_func(k / 10.0) for k in range(1, 10)])


@njit(cache=True, inline="always")
def risk_band(quality):
    """The risk band (0–9, int64) of a firm of this quality: its quality decile."""
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
def signal_precision(f, kind, base, data_level, tech, verified, cp):
    """How precisely a lender of class ``kind`` (``KIND_*``) with precision ``base``,
    data level ``data_level`` and (a bank) technology factor ``tech`` sees firm ``f``'s
    quality: 1 / noise variance, adding up over the information its class can use."""
    if kind == KIND_BANK:
        tau = base + cp.precision_bureau * flag(f, BUREAU) \
            + cp.precision_history * min(f.history, cp.history_full) / cp.history_full \
            + cp.precision_bank_big_data * cp.bank_big_data * f.digital * tech \
            + cp.precision_tax * flag(f, TAX_FILE)
        if f.collateral > 0.0:
            tau += cp.precision_collateral
        if f.size > 0:
            tau += cp.precision_statements  # micro and small firms file statements
    elif kind == KIND_SUPPLY_CHAIN:
        tau = base + cp.precision_trade * data_level
        if verified:
            tau += cp.precision_verified  # the anchor's ledger confirms the trade
    else:
        # platforms: digital footprint (less under data protection) and part of the history
        tau = base + cp.precision_digital * f.digital * data_level \
            * (1.0 - cp.protection_loss) + cp.platform_history_weight \
            * cp.precision_history * min(f.history, cp.history_full) / cp.history_full
    return tau


@njit(cache=True, inline="always")
def unsecured_cap(f, rev, tech, cp):
    """What a bank with technology factor ``tech`` lends firm ``f`` (quarterly revenue
    ``rev`` 万元) without collateral (万元): banks lend only as far as they can see the
    firm, in full with a credit-bureau file, otherwise as far as its tax file or the
    bank's big-data scoring reaches."""
    seen = 1.0 if flag(f, BUREAU) == 1 else seen_without_file(f, tech, cp)
    return cp.unsecured_limit_q * rev * seen


@njit(cache=True, inline="always")
def seen_without_file(f, tech, cp):
    """How far a bank with technology factor ``tech`` sees firm ``f``, which has no
    bureau file (share of the full unsecured limit): its tax file, or the bank's
    big-data scoring of its digital footprint, whichever reaches further."""
    tax = cp.tax_limit_share if flag(f, TAX_FILE) == 1 else 0.0
    return max(tax, min(1.0, cp.bank_big_data * f.digital * tech))


@njit(cache=True, inline="always")
def noisy_signal(quality, sigma2, u_id, j, keep, rho, key_signal, key_refresh):
    """Lender ``j``'s signal of a firm's ``quality`` with noise variance ``sigma2``: its
    standing error about the firm (uid ``u_id``), partly refreshed each quarter."""
    err = keep * rng.normal(key_signal, u_id, j, 0) + rho * rng.normal(key_refresh,
                                                                        u_id, j, 0)
    return quality + math.sqrt(sigma2) * err


@njit(cache=True, inline="always")
def offer_terms(channel, f, need, rev, cp, unsecured_cap, receivable_cap, verified,
                limit_q, max_loan, loss_share):
    """Amount (万元), security (1 secured, 0 not) and loss given default of an offer
    through ``channel`` to firm ``f`` needing ``need`` 万元 on quarterly revenue ``rev``;
    ``limit_q`` is the lender's per-firm limit (× quarterly revenue), ``max_loan`` its
    largest online loan (万元), ``loss_share`` the share of a bank's loss on a firm of its
    size borne by others."""
    secured = 0
    if channel == CH_BANK:
        secured_cap = f.collateral * cp.collateral_ltv
        if secured_cap >= min(need, unsecured_cap) and secured_cap > 0.0:
            secured = 1
            amount = min(need, max(secured_cap, unsecured_cap))
            lgd = cp.lgd_secured
        else:
            amount = min(need, unsecured_cap)
            lgd = cp.lgd_unsecured
        lgd *= 1.0 - loss_share
    elif channel == CH_ONLINE:
        amount = min(need, limit_q * rev, max_loan)
        lgd = cp.lgd_unsecured
    elif channel == CH_SUPPLY_CHAIN:
        amount = min(need, receivable_cap)
        secured = 1
        if verified:
            lgd = cp.lgd_verified
        else:
            lgd = cp.lgd_receivable
    else:
        amount = min(need, limit_q * rev)
        lgd = 1.0
    return amount, secured, lgd


@njit(cache=True, inline="always")
def price_offer(channel, expected_loss, amount, visible_bad, funding, op_fixed_wan,
                op_rate, margin, rate_cap, appetite_el, cp):
    """The annual rate (0 for equity and crowdfunding) and whether the lender makes the
    offer, given the expected annual loss rate and its costs: funding, operating cost
    per loan (万元 a year) and per unit, margin, rate cap and risk appetite. A lender
    turns away a firm whose bureau file shows a default (``visible_bad``). A bank pays
    VAT on the interest of a loan that does not qualify for the exemption, so it prices
    such a loan to keep its return net of the tax."""
    if channel >= CH_EQUITY:
        return 0.0, expected_loss <= appetite_el and not visible_bad
    required = funding + expected_loss + op_fixed_wan / max(amount, 1e-9) + op_rate
    rate = min(required + margin, rate_cap)
    if channel == CH_BANK and not (rate <= cp.vat_exempt_rate
                                   and amount <= cp.vat_exempt_max_wan):
        required = required / (1.0 - cp.vat_rate)
        rate = min(required + margin / (1.0 - cp.vat_rate), rate_cap)
    return rate, (expected_loss <= appetite_el and required <= rate_cap
                  and not visible_bad)
