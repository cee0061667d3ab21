"""The stock-flow ledger balances every quarter, and catches a deliberate leak."""

import dataclasses

import pytest

from sim.accounting import AccountingError
from sim.agents.banks import Bank
from sim.agents.books import PlatformPnL
from sim.agents.platforms import Platform
from sim.model import CreditMarket, run
from tests.helpers import scenario


def test_books_balance_every_quarter_for_every_lender():
    model = CreditMarket(scenario(agents=20_000, end="2025Q4"), check=True)
    model.run_all()
    assert model.checker.quarters_checked == 16 + 8
    result = model.results()
    assert result.meta["stock_flow_checked"] is True
    # every lending channel actually moved money, so the identities were not vacuous
    q = result.quarterly
    assert (q[["new_loans_bank", "new_loans_online", "new_loans_supply_chain"]] > 0).all().all()


def test_books_balance_under_shocks_and_policy_changes():
    shocked = scenario(agents=20_000, end="2025Q4",
                       change=[{"at": "2024Q3", "set": {"central_bank.rrr": 0.05,
                                                        "fiscal.risk_compensation_share": 0.4,
                                                        "fiscal.guarantee_coverage": 0.2,
                                                        "fiscal.interest_subsidy_annual": 0.01,
                                                        "fiscal.deferral": True}}],
                       shock=[{"at": "2024Q2", "quarters": 2, "revenue": -0.4,
                               "sectors": ["catering", "services"]}])
    result = run(shocked, check=True)
    assert result.quarterly["fiscal_cost"].iloc[-1] > 0


def test_a_capital_leak_is_caught(monkeypatch):
    original = Bank.close_books

    def leaky(self, flows, partner):
        original(self, flows, partner)
        if self.index == 3:
            self.capital += 0.5  # money from nowhere

    monkeypatch.setattr(Bank, "close_books", leaky)
    with pytest.raises(AccountingError, match="capital of .*_003"):
        run(scenario(agents=5_000, end="2024Q1", burn_in=1), check=True)


def test_a_payment_leak_is_caught(monkeypatch):
    original = Platform.close_books

    def leaky(self, flows, partner_out):
        result = original(self, flows, partner_out)
        pnl = self.books.pnl
        if isinstance(pnl, PlatformPnL) and pnl.interest_kept:
            kept = pnl.interest_kept * 0.9  # part of the interest vanishes
            self.books.pnl = dataclasses.replace(
                pnl, interest_kept=kept,
                net_income=kept - pnl.funding - pnl.op_cost - pnl.provision_expense)
        return result

    monkeypatch.setattr(Platform, "close_books", leaky)
    with pytest.raises(AccountingError):
        run(scenario(agents=5_000, end="2024Q1", burn_in=1), check=True)


def test_a_loan_leak_is_caught(monkeypatch):
    model = CreditMarket(scenario(agents=5_000, end="2024Q2", burn_in=1), check=True)
    model.step()
    # a loan disappears from the arrays without being repaid or written off
    slot = int((model.sme.pop.loan_status[:, 0] == 1).nonzero()[0][0])
    model.sme.pop.loan_principal[slot, 0] *= 0.5
    with pytest.raises(AccountingError, match="loans of"):
        model.step()


@pytest.mark.parametrize("sections", [
    {"policy": {"central_bank": {"rrr": 0.0}}},          # a platform fails and its slot is re-used
    {"platforms": {"big_tech": {"count": 0, "max_count": 0}}},
    {"banks": {"rural": {"count": 0}}},
    {"policy": {"banking": {"joint_own_contribution": 0.02, "platform_own_book_cap": 10000.0,
                            "partner_concentration_cap": 100.0, "joint_total_cap": 1.0}}},
    {"policy": {"fiscal": {"deferral": True}},
     "shock": [{"at": "2024Q2", "quarters": 2, "revenue": -0.9}]},
])
def test_books_balance_through_failures_entry_and_extreme_settings(sections):
    result = run(scenario(agents=5_000, end="2024Q4", **sections), check=True)
    assert len(result.quarterly) == 4
