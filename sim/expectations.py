"""Firms' expected rates (ODD 7.22): what a firm expects to pay in each debt channel, by
risk band.

A firm picks a channel and then a lender within it, drawn by the lenders' choice weights
(:func:`sim.wiring.choice_tables`), so what it expects of a channel is what it expects of
the lender it would draw there: last quarter's amount-weighted rate of each lender kind in
its risk band, combined over the kinds of the channel with the chance of drawing one of
each kind (a log-sum: the channel's weight in the firm's choice is the expected weight of
the lender it would draw). An average over the channel's loans instead weights a kind by how much it lent,
so a few high-rate lenders that lend a lot (P2P platforms and small-loan companies in
2018) would set the rate a firm expects from every online lender.
"""

from __future__ import annotations

import numpy as np

from sim.categories import (
    ALL_KINDS, BANK_TYPES, CH_BANK, CH_ONLINE, DEBT_CHANNELS, DIGITAL_BANK_KINDS, PLATFORM_CHANNEL,
)

# the channel each kind lends through
KIND_CHANNEL = np.array([CH_BANK if kind in BANK_TYPES
                         else CH_ONLINE if kind in DIGITAL_BANK_KINDS
                         else PLATFORM_CHANNEL[kind] for kind in ALL_KINDS], dtype=np.int64)


def initial_kind_rates(channel_rates: np.ndarray) -> np.ndarray:
    """Each kind's expected rate by risk band before it has priced a loan: its channel's
    starting expectation (``channel_rates`` [channel, band])."""
    return channel_rates[KIND_CHANNEL].copy()


def update_kind_rates(kind_rates: np.ndarray, band: np.ndarray, amount_col: int,
                      rate_col: int) -> None:
    """Last quarter's amount-weighted rate of each kind in each risk band, from the band
    accumulator summed over blocks (``band`` [kind, band, BAND_*]); a kind keeps its
    expectation for a band it did not lend to."""
    amount = band[..., amount_col]
    lent = amount > 0
    kind_rates[lent] = band[..., rate_col][lent] / amount[lent]


def draw_shares(tables, lender_kind: np.ndarray, region_firms: np.ndarray) -> np.ndarray:
    """The chance that a firm choosing channel c draws a lender of kind k, [channel, kind]:
    the kind's share of the choice weights in each region, averaged over the regions
    with weights ``region_firms``. ``tables`` as :func:`sim.wiring.choice_tables` gives
    them; ``lender_kind`` [J] the kind index of each lender."""
    ids, cum, count = tables
    shares = np.zeros((cum.shape[0], len(ALL_KINDS)))
    for c in DEBT_CHANNELS:
        for r, firms in enumerate(region_firms):
            n = count[c, r]
            if n == 0 or cum[c, r, n - 1] <= 0.0:
                continue
            weights = np.diff(cum[c, r, :n], prepend=0.0) / cum[c, r, n - 1]
            np.add.at(shares[c], lender_kind[ids[c, r, :n]], firms * weights)
    return shares


def channel_rates(expected_rate: np.ndarray, kind_rates: np.ndarray, shares: np.ndarray,
                  rate_sensitivity: float) -> None:
    """Write each debt channel's expected rate by band into ``expected_rate`` [channel,
    band]: the rate whose weight in the channel choice, exp(−rate_sensitivity × rate), is
    the expected weight of the lender the firm would draw, Σ_k s_k exp(−rate_sensitivity ×
    r_k) over kinds k with draw shares s_k (``shares`` [channel, kind]) — a log-sum, which
    reduces to the shares' mean of the kinds' rates when firms ignore rates. A channel no
    firm can reach keeps its last expectation."""
    for c in DEBT_CHANNELS:
        total = shares[c].sum()
        if total <= 0.0:
            continue
        share = shares[c] / total
        if rate_sensitivity <= 0.0:
            expected_rate[c] = share @ kind_rates
            continue
        # the cheapest kind of each band factored out, so no weight underflows
        low = kind_rates[share > 0].min(axis=0)
        weight = share @ np.exp(-rate_sensitivity * (kind_rates - low))
        expected_rate[c] = low - np.log(weight) / rate_sensitivity


def lender_kinds(lenders) -> np.ndarray:
    """The index in ``ALL_KINDS`` of each lender's kind."""
    return np.array([lender.kind_index for lender in lenders], dtype=np.int64)
