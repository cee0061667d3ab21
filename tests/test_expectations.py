"""Firms' expected rates per lender kind (ODD 7.22, sim/expectations.py).

* a channel's expected rate is the log-sum of its kinds' rates over the chance of drawing
  each: between the cheapest and the dearest, at most their draw-weighted mean, that mean
  when firms ignore rates, and blind to how much each kind lent;
* the draw shares follow the choice tables;
* direction: with P2P platforms and small-loan companies in the online channel (2019Q1
  start), firms expect less of the online channel than the channel's average new-loan
  rate and borrow from banks less than when they expect that average.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.categories import ALL_KINDS, CH_BANK, CH_ONLINE, CHANNELS, N_RISK_BANDS
from sim.config import load_scenario
from sim.expectations import KIND_CHANNEL, channel_rates, draw_shares, update_kind_rates
from sim.kernels import layout as L
from sim.model import CreditMarket
from tests.test_history import HISTORY

BIG_TECH, P2P = ALL_KINDS.index("big_tech"), ALL_KINDS.index("p2p")


def _online(rates: dict[int, float], shares: dict[int, float], sensitivity: float):
    kind_rates = np.zeros((len(ALL_KINDS), N_RISK_BANDS))
    share = np.zeros((len(CHANNELS), len(ALL_KINDS)))
    for k, rate in rates.items():
        kind_rates[k] = rate
        share[CH_ONLINE, k] = shares[k]
    expected = np.full((len(CHANNELS), N_RISK_BANDS), -1.0)
    channel_rates(expected, kind_rates, share, sensitivity)
    return expected[CH_ONLINE, 0], expected[CH_BANK, 0]


def test_channel_rate_is_a_log_sum_of_the_kinds():
    rates, shares = {BIG_TECH: 0.15, P2P: 0.24}, {BIG_TECH: 0.3, P2P: 0.7}
    mean = 0.3 * 0.15 + 0.7 * 0.24
    online, bank = _online(rates, shares, 22.0)
    assert 0.15 < online < mean
    assert online == pytest.approx(-np.log(0.3 * np.exp(-22 * 0.15)
                                            + 0.7 * np.exp(-22 * 0.24)) / 22)
    assert bank == -1.0  # a channel no firm can reach keeps its expectation
    assert _online(rates, shares, 0.0)[0] == pytest.approx(mean)
    assert _online(rates, {BIG_TECH: 3.0, P2P: 7.0}, 22.0)[0] == pytest.approx(online)


def test_kind_rates_ignore_amounts_of_other_kinds_and_keep_unlent_bands():
    band = np.zeros((len(ALL_KINDS), N_RISK_BANDS, L.BAND_N))
    band[P2P, :, L.BAND_AMT] = 100.0
    band[P2P, :, L.BAND_RATE_AMT] = 24.0
    band[BIG_TECH, 0, L.BAND_AMT] = 1.0
    band[BIG_TECH, 0, L.BAND_RATE_AMT] = 0.15
    kind_rates = np.full((len(ALL_KINDS), N_RISK_BANDS), 0.2)
    update_kind_rates(kind_rates, band, L.BAND_AMT, L.BAND_RATE_AMT)
    assert kind_rates[P2P] == pytest.approx(0.24)
    assert kind_rates[BIG_TECH, 0] == pytest.approx(0.15)
    assert kind_rates[BIG_TECH, 1:] == pytest.approx(0.2)


def test_draw_shares_follow_the_choice_weights():
    ids = np.zeros((len(CHANNELS), 3, 2), dtype=np.int64)
    cum = np.zeros((len(CHANNELS), 3, 2))
    count = np.zeros((len(CHANNELS), 3), dtype=np.int64)
    ids[CH_ONLINE, :, :] = [0, 1]
    cum[CH_ONLINE, :, :] = [1.0, 4.0]  # weights 1 and 3 in every region
    count[CH_ONLINE, :] = 2
    shares = draw_shares((ids, cum, count), np.array([BIG_TECH, P2P]),
                         np.array([2.0, 1.0, 1.0]))
    assert shares[CH_ONLINE, BIG_TECH] / shares[CH_ONLINE].sum() == pytest.approx(0.25)
    assert shares[CH_BANK].sum() == 0.0
    assert {KIND_CHANNEL[BIG_TECH], KIND_CHANNEL[P2P]} == {CH_ONLINE}


def _amount_weighted(model, tables, sums):
    """Expectations as a channel's amount-weighted new-loan rate by band, without regard
    to which lender a firm would draw (the rule before ODD 7.22's per-kind one)."""
    band = np.zeros((len(CHANNELS), N_RISK_BANDS, L.BAND_N))
    np.add.at(band, KIND_CHANNEL, model.acc.band[:model.used_blocks].sum(axis=0))
    amount = band[..., L.BAND_AMT]
    lent = amount > 0
    lent[3:] = False
    model.expected_rate[lent] = band[..., L.BAND_RATE_AMT][lent] / amount[lent]


def _first_quarter(monkeypatch, per_kind: bool):
    if not per_kind:
        monkeypatch.setattr(CreditMarket, "_update_expectations", _amount_weighted)
    model = CreditMarket(load_scenario(HISTORY, agents=20_000, threads=1))
    while model.quarter <= model.start_quarter:
        model.step()
    monkeypatch.undo()
    return model, model.results().quarterly.iloc[0]


def test_high_rate_lenders_push_fewer_firms_to_banks(monkeypatch):
    with_kinds, q = _first_quarter(monkeypatch, True)
    pooled, q_pooled = _first_quarter(monkeypatch, False)
    assert q["loan_balance_p2p"] > 0
    assert with_kinds.expected_rate[CH_ONLINE].mean() < pooled.expected_rate[CH_ONLINE].mean()
    assert q["borrowers_bank"] < q_pooled["borrowers_bank"]
