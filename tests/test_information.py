"""Information that grows: banks' technology stock and tax-data lending (ODD 7.5, 7.10,
7.11, 7.15).

A bank's own technology carries its big-data scoring: a bank with a larger stock sees a
firm without a bureau file more precisely (smaller error in the PD it estimates) and
lends it more without collateral, so it approves more such firms. Investment keeps the
stock up; without it the stock depreciates. A tax file (银税互动) adds precision at banks
and, for a firm without a bureau file, an unsecured limit.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np

from sim.categories import CH_BANK, KIND_BANK, SMALL_BANK_TYPES
from sim.model import CreditMarket
from sim.reference.credit import limits, screen
from sim.reference.draws import norm_cdf
from sim.wiring import choice_tables, lender_table
from tests.helpers import scenario

FIRMS = 4000


def _firms_without_file(seed: int = 7, tax_file: bool = False):
    """Small firms (quarterly revenue 5万元) with no bureau file, no collateral and no
    history, of random quality: the unsecured limit decides whether a loan is worth
    writing."""
    rng = np.random.default_rng(seed)
    return [SimpleNamespace(uid=k, quality=float(q), digital=float(d), bureau=False,
                            tax_file=tax_file,
                            history=0, collateral=0.0, size=1, need=5.0,
                            revenue=5.0, anchor=-1, defaulted_before=False,
                            loans=[None, None])
            for k, (q, d) in enumerate(zip(rng.standard_normal(FIRMS),
                                           rng.uniform(0.3, 0.9, FIRMS)))]


def _bank_screening(model, tech=None):
    """The credit round's parameters, the lender table (with the first bank's technology
    factor set to ``tech``) and that bank's index."""
    cp = model._credit_params(0)
    table = lender_table(model.lenders, *choice_tables(model.lenders))
    bank = next(b.index for b in model.banks if b.kind_class == KIND_BANK)
    if tech is not None:
        techs = table.tech.copy()
        techs[bank] = tech
        table = table._replace(tech=techs)
    return cp, table, bank


def _pd_error(offers, firms, table, bank, cp) -> float:
    truth = [table.pd_scale[bank] * norm_cdf(table.alpha[bank] - cp.score_slope * f.quality)
             for f in firms]
    return float(np.mean([abs(o.pd - t) for o, t in zip(offers, truth)]))


def test_a_tax_file_lets_a_bank_see_and_lend_to_a_firm_without_a_bureau_file():
    model = CreditMarket(scenario(agents=2000))
    cp, table, bank = _bank_screening(model)

    def outcome(tax_file: bool):
        firms = _firms_without_file(tax_file=tax_file)
        offers = [screen(f, CH_BANK, bank, cp, table, limits(f, cp)) for f in firms]
        return (sum(o.ok for o in offers), _pd_error(offers, firms, table, bank, cp),
                np.mean([o.amount for o in offers]))

    without_approved, without_error, without_amount = outcome(False)
    with_approved, with_error, with_amount = outcome(True)
    assert with_approved > without_approved
    assert with_error < without_error
    assert with_amount > without_amount


def test_tax_data_coverage_decides_which_firms_have_a_tax_file():
    def run(coverage: float):
        model = CreditMarket(scenario(agents=20_000, end="2025Q4",
                                      policy={"data": {"tax_data_coverage": coverage}}))
        model.run_all()
        pop = model.sme.pop
        alive = pop.alive[:model.used_slots] == 1
        tax = pop.tax_file[:model.used_slots][alive]
        return model, float(tax.mean()), model.results().quarterly

    _, share_none, none = run(0.0)
    _, share, covered = run(0.35)
    assert share_none == 0.0
    assert abs(share - 0.35) < 0.02
    # firms without a bureau file get bank credit on their tax records
    late = slice(-4, None)
    assert covered["borrowers_bank"].iloc[late].mean() > none["borrowers_bank"].iloc[late].mean()


def test_a_bank_with_more_technology_approves_more_firms_without_a_file_more_accurately():
    model = CreditMarket(scenario(agents=2000))
    firms = _firms_without_file()

    def outcome(tech: float):
        cp, table, bank = _bank_screening(model, tech)
        offers = [screen(f, CH_BANK, bank, cp, table, limits(f, cp)) for f in firms]
        return (sum(o.ok for o in offers), _pd_error(offers, firms, table, bank, cp),
                np.mean([o.amount for o in offers]))

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


def test_bureau_coverage_grows_with_its_trend():
    def bureau_share(growth: float) -> float:
        model = CreditMarket(scenario(agents=20_000, end="2027Q4", policy={
            "data": {"bureau_coverage_growth_annual": growth}}))
        model.run_all()
        alive = model.sme.pop.alive[:model.used_slots] == 1
        return float(model.sme.pop.bureau[:model.used_slots][alive].mean())

    assert bureau_share(0.10) > bureau_share(0.0) + 0.01


def test_the_vat_exemption_lowers_banks_prices_and_costs_the_government_the_tax():
    def run(exemption: bool):
        model = CreditMarket(scenario(agents=20_000, end="2025Q4", policy={
            "fiscal": {"vat_exemption": exemption}}), check=True)
        model.run_all()
        return model.results().quarterly.iloc[-8:], model.government.account.total

    with_exemption, ledger_with = run(True)
    without, ledger_without = run(False)
    assert with_exemption["avg_rate_new_bank"].mean() < without["avg_rate_new_bank"].mean()
    assert ledger_with["vat_forgone"] > 0.0 and ledger_without["vat_forgone"] == 0.0
    assert ledger_with["vat_received"] < ledger_without["vat_received"]


def test_a_cost_target_lowers_banks_rates_through_their_margins():
    def run(fall: float):
        model = CreditMarket(scenario(agents=20_000, end="2025Q4", policy={
            "banking": {"cost_target_fall_annual": fall}}))
        model.run_all()
        margins = np.mean([b.margin for b in model.banks if b.active])
        return model.results().quarterly.iloc[-8:], margins

    targeted, targeted_margin = run(0.01)
    free, free_margin = run(0.0)
    assert targeted["avg_rate_new_bank"].mean() < free["avg_rate_new_bank"].mean()
    assert targeted_margin < free_margin


def test_the_unsecured_loan_support_plan_funds_local_banks_unsecured_loans_cheaply():
    def run(share: float, quota: float):
        model = CreditMarket(scenario(agents=20_000, end="2025Q4", policy={
            "central_bank": {"unsecured_support_share": share,
                             "unsecured_support_quota_yi": quota}}), check=True)
        model.run_all()
        return model

    supported, plain = run(0.4, 1e7), run(0.0, 1e7)
    local = [b for b in supported.banks if b.kind in SMALL_BANK_TYPES and b.active]
    assert all(b.unsecured_funding_cost() < b.funding_cost for b in local)
    assert supported.market.unsecured_support.used > 0.0
    assert plain.market.unsecured_support.used == 0.0
    # cheaper funding for their unsecured loans: local banks make more of them (the
    # average bank rate is no test: the plan shifts lending towards riskier firms)
    def local_unsecured(model):
        lenders = model.results().lenders
        return lenders.loc[lenders.kind.isin(list(SMALL_BANK_TYPES)), "new_unsecured"].sum()

    assert local_unsecured(supported) > 1.1 * local_unsecured(plain)
    # a quota used up closes the plan
    capped = run(0.4, 100.0)
    assert math.isclose(capped.market.unsecured_support.used, 100.0, rel_tol=1e-9)
    assert all(b.support_discount == 0.0 for b in capped.banks)


def test_engines_agree_under_the_support_plan_without_the_vat_exemption():
    """The levers off in the baseline: unsecured loans priced on the support plan's
    cheaper funding, every bank loan's VAT priced in, a cost target and tax files for
    more firms."""
    from sim.config import scenario_from_dict
    from sim.reference.parity import run_both
    from tests.test_parity import assert_tables_agree

    raw = {"run": {"agents": 2_000, "burn_in_quarters": 2, "start": "2024Q1",
                   "end": "2024Q4"},
           "policy": {"central_bank": {"unsecured_support_share": 0.4},
                      "fiscal": {"vat_exemption": False},
                      "banking": {"cost_target_fall_annual": 0.01},
                      "data": {"tax_data_coverage": 0.6}}}
    fast, reference, parting = run_both(scenario_from_dict(raw, "information"))
    assert parting is None, str(parting)
    assert any(b.support_discount > 0 for b in fast.banks)
    assert_tables_agree("information", fast, reference)
