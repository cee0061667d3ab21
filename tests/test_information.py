"""Information that grows: banks' technology stock (ODD 7.10, 7.11, 7.15).

A bank's own technology carries its big-data scoring: a bank with a larger stock sees a
firm without a bureau file more precisely (smaller error in the PD it estimates) and
lends it more without collateral, so it approves more such firms. Investment keeps the
stock up; without it the stock depreciates.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np

from sim.categories import CH_BANK, KIND_BANK
from sim.model import CreditMarket
from sim.reference.credit import limits, screen
from sim.reference.draws import norm_cdf
from sim.wiring import choice_tables, lender_table
from tests.helpers import scenario

FIRMS = 4000


def _firms_without_file(seed: int = 7):
    """Small firms (quarterly revenue 5万元) with no bureau file, no collateral and no
    history, of random quality: the unsecured limit decides whether a loan is worth
    writing."""
    rng = np.random.default_rng(seed)
    return [SimpleNamespace(uid=k, quality=float(q), digital=float(d), bureau=False,
                            history=0, collateral=0.0, size=1, need=5.0,
                            revenue=5.0, anchor=-1, defaulted_before=False,
                            loans=[None, None])
            for k, (q, d) in enumerate(zip(rng.standard_normal(FIRMS),
                                           rng.uniform(0.3, 0.9, FIRMS)))]


def test_a_bank_with_more_technology_approves_more_firms_without_a_file_more_accurately():
    model = CreditMarket(scenario(agents=2000))
    cp = model._credit_params(0)
    table = lender_table(model.lenders, *choice_tables(model.lenders))
    bank = next(b.index for b in model.banks if b.kind_class == KIND_BANK)
    firms = _firms_without_file()

    def outcome(tech: float):
        techs = table.tech.copy()
        techs[bank] = tech
        with_tech = table._replace(tech=techs)
        offers = [screen(f, CH_BANK, bank, cp, with_tech, limits(f, cp)) for f in firms]
        truth = [with_tech.pd_scale[bank] * norm_cdf(with_tech.alpha[bank]
                                                     - cp.score_slope * f.quality)
                 for f in firms]
        error = np.mean([abs(o.pd - t) for o, t in zip(offers, truth)])
        return sum(o.ok for o in offers), error, np.mean([o.amount for o in offers])

    low_approved, low_error, low_amount = outcome(0.6)
    high_approved, high_error, high_amount = outcome(1.6)
    assert high_approved > low_approved
    assert high_error < low_error
    assert high_amount > low_amount


def test_investment_keeps_banks_technology_up():
    def factors(share: float):
        sections = {bank_type: {"tech_investment_share": share}
                    for bank_type in ("large_state", "joint_stock", "city_commercial",
                                      "rural")}
        model = CreditMarket(scenario(agents=2000, end="2027Q4", burn_in=0,
                                      banks=sections))
        start = np.array([b.tech_stock for b in model.banks])
        model.run_all()
        return start, np.array([b.tech_factor() for b in model.banks if b.active]), \
            np.array([b.tech_stock for b in model.banks])

    start, with_investment, stock_with = factors(0.07)
    _, without, stock_without = factors(0.0)
    assert with_investment.mean() > without.mean()
    assert (stock_with > stock_without).all()
    # without investment the stock only depreciates
    depreciation = scenario().credit.tech_depreciation_quarterly
    quarters = 16   # 2024Q1–2027Q4, no burn-in
    assert math.isclose(stock_without.sum(), start.sum() * (1 - depreciation) ** quarters,
                        rel_tol=1e-9)
