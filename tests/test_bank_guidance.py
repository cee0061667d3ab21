"""Banks' planning (ODD 7.15): the quarter's SME lending room comes from the balance
sheet, not from the principal repaid in the quarter; quantitative guidance (a yearly
growth target for the large state-owned banks) is a penalty in their objective that
moves their margin and appetite, and through them their lending.

Direction tests on the shipped ``large_bank_targets`` scenario against the baseline,
paired seeds on the short test horizon of ``tests/test_levers.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.compare import load_window, paired_stats
from sim.model import CreditMarket

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
AGENTS = 20_000
SEEDS = (11, 12, 13, 14, 15)
WINDOW = {"start": "2024Q2", "end": "2026Q1", "burn_in_quarters": 6}
TARGET_YEAR = ("2025Q1", "2025Q4")

_CACHE: dict[tuple, tuple[pd.DataFrame, pd.DataFrame]] = {}


def _simulate(name: str, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(lenders table, large banks' margin and appetite by quarter) of one run."""
    key = (name, seed)
    if key not in _CACHE:
        model = CreditMarket(load_window(SCENARIOS / f"{name}.toml", agents=AGENTS,
                                         seed=seed, **WINDOW))
        rows = []
        while model.quarter <= model.end_quarter:
            model.step()
            if model.quarter - 1 >= model.start_quarter:
                large = [b for b in model.banks if b.active and b.kind == "large_state"]
                rows.append({"margin": float(np.mean([b.margin for b in large])),
                             "appetite": float(np.mean([b.appetite for b in large]))})
        result = model.results()
        state = pd.DataFrame(rows, index=result.quarterly["quarter"].to_numpy())
        _CACHE[key] = (result.lenders, state)
    return _CACHE[key]


def _large(run, column: str) -> pd.Series:
    lenders = run[0]
    return lenders[lenders["kind"] == "large_state"].groupby("quarter")[column].sum()


def _paired(series) -> dict[str, float]:
    first, last = TARGET_YEAR
    diffs = [series(_simulate("large_bank_targets", seed)).loc[first:last].mean()
             - series(_simulate("baseline", seed)).loc[first:last].mean() for seed in SEEDS]
    return paired_stats(np.array(diffs))


# ---------------------------------------------------------------- planning (unit level)


def _small_model(seed: int = 3) -> CreditMarket:
    model = CreditMarket(load_window(SCENARIOS / "baseline.toml", agents=3_000, seed=seed,
                                     start="2024Q1", end="2024Q4", burn_in_quarters=4))
    for _ in range(5):
        model.step()
    return model


def test_bank_capacity_does_not_hang_on_the_quarters_repayments():
    model = _small_model()
    market = model.market
    market.plan()
    banks = [b for b in model.banks if b.active]
    planned = np.array([b.capacity for b in banks])
    expected = np.array([max(0.0, min(b.capital_room(), b.liquidity_room())
                             + b.planned_runoff()) for b in banks])
    np.testing.assert_allclose(planned, expected, rtol=1e-12)
    assert (planned > 0).any()
    # principal repaid in the quarter, large or none, leaves banks' room where it was
    # (platforms still lend theirs again)
    lenders = list(model.lenders)
    market.add_repayments(np.full(len(lenders), 1e6))
    np.testing.assert_array_equal(np.array([b.capacity for b in banks]), planned)
    platforms = [p for p in model.platforms if p.active and p.lends()
                 and p.kind != "crowd_equity"]
    assert platforms and all(p.capacity >= 1e6 for p in platforms)


def test_planned_run_off_follows_the_book_and_the_type_s_rate_not_this_quarters_flows():
    model = _small_model()
    market = model.market
    market.plan()
    bank = next(b for b in model.banks if b.active and b.kind == "rural")
    rate = market.peer_runoff[bank.kind]
    assert 0.0 < rate < 1.0
    assert bank.planned_runoff() == pytest.approx(rate * bank.book_perf, rel=1e-12)


def test_deferring_firms_cash_stays_on_deposit_and_funds_the_deferred_principal():
    model = _small_model()
    bank = next(b for b in model.banks if b.active and b.kind == "city_commercial")
    room = bank.liquidity_room()
    bank.deferred_held = 100.0
    rrr = model.params.policy.central_bank.rrr
    assert bank.liquidity_room() - room == pytest.approx(
        100.0 * (1.0 - rrr - bank.params.liquidity_buffer), rel=1e-9)


# ---------------------------------------------------------------- guidance (scenario level)


def test_the_target_lowers_large_banks_margin_and_raises_their_appetite_from_its_start():
    base, lever = _simulate("baseline", SEEDS[0])[1], _simulate("large_bank_targets",
                                                                 SEEDS[0])[1]
    before = base.index < "2025Q1"
    pd.testing.assert_frame_equal(lever[before], base[before], check_exact=True)
    assert lever.loc["2025Q1", "margin"] < base.loc["2025Q1", "margin"]
    assert lever.loc["2025Q1", "appetite"] > base.loc["2025Q1", "appetite"]


def test_a_large_bank_growth_target_raises_their_sme_lending_at_a_lower_margin():
    lending = _paired(lambda run: _large(run, "new_loans"))
    assert lending["t"] >= 2, lending
    margin = _paired(lambda run: run[1]["margin"])
    assert margin["t"] <= -2, margin
    borrowers = _paired(lambda run: _large(run, "loans"))
    assert borrowers["t"] >= 2, borrowers
