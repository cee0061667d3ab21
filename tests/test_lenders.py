"""The lender side: Mesa agent sets in index order, typed books, the regulators' rules."""

import dataclasses
from types import SimpleNamespace

import numpy as np
import pytest

from sim.agents.banks import Bank
from sim.agents.books import BankPnL, LenderFlows, PartnerLedger, QuarterBooks
from sim.agents.lender import Lender
from sim.agents.platforms import Platform
from sim.categories import KIND_BANK, SIZES
from sim.kernels import layout as L
from sim.model import CreditMarket
from tests.helpers import scenario


@pytest.fixture(scope="module")
def model():
    market = CreditMarket(scenario(agents=2_000, end="2024Q1", burn_in=1))
    market.step()
    return market


def test_lenders_are_the_models_lender_agents_in_index_order(model):
    market = model.market
    assert [l.index for l in market.lenders] == list(range(len(market.lenders)))
    assert list(market.lenders) == list(market.banks) + list(market.platforms)
    assert set(model.agents.select(agent_type=Lender)) == set(market.lenders)
    assert all(isinstance(b, Bank) and b.kind_class == KIND_BANK for b in market.banks)
    assert all(isinstance(p, Platform) for p in market.platforms)
    for kind, count in market.initial_counts.items():
        members = list(market.of_kind(kind))
        assert [l.index for l in members] == sorted(l.index for l in members)
        assert all(l.kind == kind for l in members)
        assert count <= len(members)


def test_every_active_lender_closed_its_books(model):
    for lender in model.lenders:
        if lender.active:
            # closed its books, or entered this quarter with only its capital
            assert lender.books is not None
            assert lender.books.pnl is not None or lender.books.injection > 0
    bank = model.banks[0]
    assert isinstance(bank.books.pnl, BankPnL)


def test_books_have_fixed_fields():
    books = QuarterBooks()
    books.injection += 1.0
    with pytest.raises(AttributeError):
        books.injecton = 1.0  # a misspelt field fails instead of reading as zero
    pnl = BankPnL(*range(10))
    with pytest.raises(dataclasses.FrozenInstanceError):
        pnl.net_income = 0.0
    assert QuarterBooks().net_income == 0.0 and QuarterBooks(pnl).net_income == 8


def test_lender_flows_read_the_kernel_sums():
    money = np.arange(2 * L.LF_N, dtype=np.float64).reshape(2, L.LF_N)
    sums = SimpleNamespace(lender_money=money, lender_count=-money)
    flows = LenderFlows.of(sums, 1)
    assert flows.new == money[1, L.LF_NEW_AMT]
    assert flows.npl_end == money[1, L.LF_BAL_NPL]
    assert flows.loans == -money[1, L.LF_LOANS]
    assert flows.loss_compensation == 0.0 and flows.incentive == 0.0


def test_partner_ledger_shares_by_bank():
    ledger = PartnerLedger.zeros(3)
    ledger.interest[1] += 2.0
    share = ledger.share(1)
    assert (share.interest, share.loss, share.npl, share.stock_end) == (2.0, 0.0, 0.0, 0.0)


def test_courts_cap_rates(model):
    courts = model.courts.instruments
    assert model.courts.licensed_rate_cap() == courts.licensed_cap_annual
    courts.licensed_under_lpr_multiple = True
    try:
        lpr = model.params.policy.central_bank.lpr_1y_annual
        assert model.courts.licensed_rate_cap() == courts.lpr_multiple * lpr
    finally:
        courts.licensed_under_lpr_multiple = False


def test_fiscal_authority_shares_losses_and_books_them(model):
    fiscal = model.fiscal
    share = fiscal.loss_share()
    rc = fiscal.instruments.risk_compensation_share
    guarantee = fiscal.instruments.guarantee_coverage
    assert share.shape == (len(SIZES),)
    assert share[-1] == min(rc, 1.0) and share[0] == min(rc + guarantee, 1.0)
    account = model.government.account
    before = dict(account.quarter)
    paid = fiscal.compensate(np.array([1.0, 2.0, 3.0]))
    assert paid == pytest.approx(float((share * [1.0, 2.0, 3.0]).sum()))
    moved = (account.quarter["risk_compensation"] - before["risk_compensation"]
             + account.quarter["guarantee_payouts"] - before["guarantee_payouts"])
    assert moved == pytest.approx(paid)


def test_data_protection_weakens_platform_screening(model):
    """A stricter data regulator lowers what an online platform sees of a firm with a
    digital footprint, and leaves a bank's view as it was."""
    from sim.reference.credit import precision
    from sim.reference.engine import plain
    from sim.wiring import choice_tables, credit_params, lender_table

    table = plain(lender_table(model.lenders, *choice_tables(model.lenders)))
    firm = SimpleNamespace(digital=0.8, history=4, bureau=1, tax_file=0, collateral=0.0,
                           size=1, uid=1)
    platform = next(l.index for l in model.platforms if l.kind == "big_tech")
    bank = next(l.index for l in model.banks)

    def seen(protection: float, lender: int) -> float:
        params = model.params.model_copy(deep=True)
        params.policy.data.protection = protection
        cp = plain(credit_params(params, model.quarter, model.seed, 0, model.expected_rate,
                                 model.yi_per_wan))
        return precision(firm, lender, cp, table)

    assert seen(0.9, platform) < seen(0.0, platform)
    assert seen(0.9, bank) == seen(0.0, bank)


def test_a_failed_banks_support_plan_funding_goes_to_its_acquirer():
    """The central bank's purchases under the unsecured-loan support plan follow the loans
    they fund: quarter by quarter onto the acquirer, none left on the failed bank."""
    market = CreditMarket(scenario(agents=2_000, end="2024Q1", burn_in=1))
    market.step()
    failed, acquirer = list(market.market.of_kind("city_commercial"))[:2]
    failed.support_purchases.extend([0.0, 1.0, 2.0])
    acquirer.support_purchases.extend([10.0, 20.0, 30.0])
    before = failed.support_stock() + acquirer.support_stock()
    market.market._merge(failed, acquirer)
    assert list(acquirer.support_purchases)[-3:] == [10.0, 21.0, 32.0]
    assert acquirer.support_stock() == pytest.approx(before)
    assert failed.support_stock() == 0.0
