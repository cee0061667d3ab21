"""Equity and crowdfunding with their own demand and supply, and supply-chain finance
sized by core firms' payables (``[channels]``, ODD 7.8, 7.9, 7.16).

Demand: the rule (:func:`sim.reference.credit.nondebt_channel`, the kernels' twin) picks
start-ups and growth firms, more of them in technology, services and growing firms, and
equity for large rounds. Supply: what firms raise is bounded by investors' funds, so a
smaller pool binds and a larger one raises more. Runs compare one seed (common random
numbers) at 20,000 SMEs; the engines agree with the mechanism at work.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from sim.categories import CH_CROWDFUNDING, CH_EQUITY, SECTORS, STAGES
from sim.config import scenario_from_dict
from sim.model import CreditMarket
from sim.outside_funds import NominalGdp, investor_pools, receivable_quarters
from sim.quarters import parse_quarter
from sim.reference.credit import nondebt_channel
from sim.reference.parity import run_both
from tests.test_parity import assert_tables_agree
from sim.schema import Scenario
from sim.wiring import outside_stake_demand
from tests.helpers import scenario

AGENTS = 20_000
YEAR = "2024"


def _run(**sections):
    """One year reported (2024), 20,000 SMEs, the baseline seed."""
    model = CreditMarket(scenario(agents=AGENTS, end="2024Q4", **sections))
    model.run_all()
    return model.results()


def _year(result, column: str) -> np.ndarray:
    q = result.quarterly
    return q.loc[q["quarter"].astype(str).str.startswith(YEAR), column].to_numpy()


@pytest.fixture(scope="module")
def baseline():
    return _run()


# ------------------------------------------------------------------ demand (the rule)
def _share_seeking(sector="wholesale_retail", stage="startup", growth=0.0, need=50.0,
                   n=20_000):
    """Share of ``n`` firms with a project seeking an outside stake, and the channels
    they seek (the rule's own draws, uid by uid)."""
    params = Scenario()
    cp = SimpleNamespace(seed=7, quarter=parse_quarter("2024Q2"),
                         **{k: (v.tolist() if isinstance(v, np.ndarray) else v)
                            for k, v in outside_stake_demand(params).items()})
    table = SimpleNamespace(kind_class=[0], choice_n=[[1, 1, 1]] * 5)
    with np.errstate(over="ignore"):   # the hash wraps around, as in the engines
        channels = [nondebt_channel(SimpleNamespace(
            invest=True, offered=False, stage=STAGES.index(stage),
            sector=SECTORS.index(sector), region=0, rejected_by=-1, log_revenue=3.0 + growth, log_trend=3.0, need=need,
            uid=uid), cp, table) for uid in range(n)]
    return np.mean([c >= 0 for c in channels]), set(channels) - {-1}


def test_outside_stakes_are_sought_by_young_firms_and_more_in_technology():
    startup, _ = _share_seeking(stage="startup")
    growth, _ = _share_seeking(stage="growth")
    assert startup > 0.15 and growth > 0.08
    assert _share_seeking(stage="stable")[0] == 0.0 == _share_seeking(stage="decline")[0]
    assert _share_seeking(sector="technology")[0] > 2.0 * startup
    assert _share_seeking(sector="services")[0] > 1.2 * startup
    assert _share_seeking(growth=0.3)[0] > 1.2 * startup > 1.2 * _share_seeking(growth=-0.3)[0]


def test_large_rounds_seek_equity_small_ones_crowdfunding():
    assert _share_seeking(need=500.0)[1] == {CH_EQUITY}
    assert _share_seeking(need=20.0)[1] == {CH_CROWDFUNDING}


def test_raised_money_concentrates_in_young_and_technology_firms(baseline):
    g = baseline.groups
    g = g[g["quarter"].astype(str).str.startswith(YEAR)]
    raised = g[g["metric"] == "new_nondebt"].groupby(["dimension", "group"])["value"].sum()
    alive = g[g["metric"] == "sme_alive"].groupby(["dimension", "group"])["value"].sum()
    per_firm = raised / alive
    assert per_firm[("stage", "stable")] == 0.0 and per_firm[("stage", "decline")] == 0.0
    assert per_firm[("stage", "startup")] > 0 and per_firm[("stage", "growth")] > 0
    sectors = per_firm["sector"]
    assert sectors.idxmax() == "technology"
    assert sectors["services"] > sectors.drop(["technology", "services"]).median()


# ------------------------------------------------------------------ supply (the pools)
def test_investors_pools_bound_what_is_raised_and_a_larger_pool_raises_more(baseline):
    small = _run(channels={"equity_funds_yi": 100.0, "crowd_funds_yi": 100.0})
    large = _run(channels={"equity_funds_yi": 3000.0, "crowd_funds_yi": 2000.0})
    params = Scenario(channels={"equity_funds_yi": 100.0, "crowd_funds_yi": 100.0})
    quarters = [parse_quarter(f"{YEAR}Q{k}") for k in range(1, 5)]
    pools = np.array([investor_pools(params, q, NominalGdp(params, q).level)
                      for q in quarters])
    for column, k in (("new_equity", 0), ("new_crowdfunding", 1)):
        raised = _year(small, column)
        # raised ≤ the pool, and the small pool binds: nearly all of it is placed
        assert (raised <= pools[:, k] * (1 + 1e-9)).all(), column
        assert raised.sum() > 0.8 * pools[:, k].sum(), column
        assert _year(baseline, column).sum() > raised.sum(), column
        assert _year(large, column).sum() > _year(baseline, column).sum(), column


def test_default_crowdfunding_is_near_the_report(baseline):
    """The pool's 2024 default (530亿 a quarter, F11's 1,700亿 of 2022 grown one year, a
    cautious figure) is nearly all placed."""
    assert 1_500 < _year(baseline, "new_crowdfunding").sum() < 2_600


# ------------------------------------------------------------------ supply-chain finance
def test_larger_core_firm_payables_raise_supply_chain_finance(baseline):
    low_payables = Scenario(channels={"core_payables_yi": 60_000.0})
    q = parse_quarter("2024Q1")
    assert receivable_quarters(low_payables, q, NominalGdp(low_payables, q).level) < 0.25
    low = _run(channels={"core_payables_yi": 60_000.0})
    assert _year(baseline, "new_loans_supply_chain").sum() > \
        1.5 * _year(low, "new_loans_supply_chain").sum()


def test_more_anchored_firms_raise_supply_chain_finance(baseline):
    """The share of anchored firms raises the channel (payables scaled with it, so the
    receivables per firm stay as they are). Supply-chain platforms' capacity (capital ×
    platform_own_book_cap) binds in the baseline, so the rise comes through platforms
    that enter when the segment's return draws them (measured: 1.0× with entry held, 2.0×
    with it within the year, entry being lumpy); the held case is the bound's other
    side."""
    defaults = Scenario()
    share = defaults.population.anchor_share
    more = _run(population={"anchor_share": 1.5 * share},
                channels={"core_payables_yi": 1.5 * defaults.channels.core_payables_yi})
    ratio = _year(more, "new_loans_supply_chain").sum() / \
        _year(baseline, "new_loans_supply_chain").sum()
    assert ratio > 1.05
    # with entry held, binding capacity keeps the channel where it was
    hold = {"supply_chain": {"max_count": defaults.platforms.supply_chain.count}}
    held = [_year(_run(platforms=hold, **kw), "new_loans_supply_chain").sum()
            for kw in ({}, {"population": {"anchor_share": 1.5 * share},
                            "channels": {"core_payables_yi":
                                         1.5 * defaults.channels.core_payables_yi}})]
    assert held[1] < 1.05 * held[0]


# ------------------------------------------------------------------ engines agree
def test_engines_agree_with_binding_pools_and_large_payables():
    raw = {"run": {"agents": 2_000, "burn_in_quarters": 2, "start": "2024Q1",
                   "end": "2024Q3"},
           "channels": {"equity_funds_yi": 40.0, "crowd_funds_yi": 40.0,
                        "core_payables_yi": 400_000.0, "seek_startup": 0.6,
                        "seek_growth": 0.4}}
    fast, reference, parting = run_both(scenario_from_dict(raw, "nondebt"))
    assert parting is None, str(parting)
    q = fast.results().quarterly
    assert (q["new_equity"] > 0).all() and (q["new_crowdfunding"] > 0).all()
    assert_tables_agree("nondebt", fast, reference)
