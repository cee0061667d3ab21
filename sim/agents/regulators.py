"""Regulators and government as Mesa agents.

Each holds one section of the policy state (``scenario.policy.<section>``): the
instruments it sets, each a named parameter with unit and source in
:mod:`sim.schema`. Scheduled changes write into that state (phase 1); an agent's
``step`` adds its reactive rule, if any, and its other methods are the rules by which
its instruments act on lenders (the courts' rate cap, the fiscal authority's share of
losses, the data regulator's protection).
"""

from __future__ import annotations

import numpy as np
from mesa.agent import AgentSet

from sim.agents.base import Agent
from sim.categories import SIZES, SMALL_BANK_TYPES


class Regulator(Agent):
    """A policy body owning one section of the policy state."""

    section = ""

    @property
    def instruments(self):
        return getattr(self.model.params.policy, self.section)

    def step(self) -> None:
        """Reactive rules; none by default."""


class CentralBank(Regulator):
    """LPR, RRR, reserve remuneration, re-lending quota and rate, inclusive incentive."""

    section = "central_bank"

    def step(self) -> None:
        cb = self.instruments
        if cb.reactive_rule and self.model.last_default_rate > cb.rule_default_threshold:
            cb.lpr_1y_annual = max(cb.rule_floor_annual, cb.lpr_1y_annual - cb.rule_step)

    def allocate_relending(self, banks: AgentSet) -> None:
        """Re-lending for small firms goes to city commercial and rural banks in
        proportion to their SME books (支小再贷款 targets small and medium banks)."""
        eligible = banks.select(lambda b: b.active and b.kind in SMALL_BANK_TYPES)
        total = sum(b.book for b in eligible)
        quota = self.instruments.relending_quota_yi
        for bank in banks:
            bank.relending = quota * bank.book / total if bank in eligible and total > 0 else 0.0


class BankingRegulator(Regulator):
    """Capital rules, SME risk weights, "two increases", internet-lending rules."""

    section = "banking"

    def failing(self, lender) -> bool:
        if not lender.active:
            return False
        if lender.bank_licence:
            return lender.capital_ratio() < self.instruments.min_car
        return lender.capital < self.instruments.platform_failing_capital_share \
            * lender.capital_initial


class Courts(Regulator):
    """Rate caps: 24% for licensed lenders (small-loan companies among them), 4 × LPR for
    private lending (P2P loans; 24% before 2020-08-20)."""

    section = "courts"

    def licensed_rate_cap(self) -> float:
        """The highest annual rate a court enforces on a licensed lender's loan."""
        courts = self.instruments
        if courts.licensed_under_lpr_multiple:
            return courts.lpr_multiple * self.model.params.policy.central_bank.lpr_1y_annual
        return courts.licensed_cap_annual

    def private_rate_cap(self) -> float:
        """The highest annual rate a court protects on private lending (P2P loans are
        loans between investors and borrowers): 24% until the SPC's 2020-08-20 rules,
        4 × LPR since."""
        courts = self.instruments
        if courts.private_under_lpr_multiple:
            return courts.lpr_multiple * self.model.params.policy.central_bank.lpr_1y_annual
        return courts.private_cap_annual


class FiscalAuthority(Regulator):
    """Risk compensation, guarantee fund, deferral programme, interest subsidies."""

    section = "fiscal"

    @staticmethod
    def loss_share_of(fiscal) -> np.ndarray:
        """Share of a bank's SME loan loss borne by government, by firm size, under the
        instruments ``fiscal``: risk compensation on every loan, the guarantee fund on
        loans to individual and micro firms."""
        share = np.full(len(SIZES), fiscal.risk_compensation_share)
        share[:2] += fiscal.guarantee_coverage  # individual and micro firms
        return np.minimum(share, 1.0)

    def loss_share(self) -> np.ndarray:
        return self.loss_share_of(self.instruments)

    def compensate(self, net_loss_by_size: np.ndarray) -> float:
        """Pay a bank government's share of its net loan losses (亿元, by firm size):
        risk compensation first, the guarantee fund the rest. Returns the total paid."""
        account = self.model.government.account
        compensation = float((self.loss_share() * net_loss_by_size).sum())
        risk_comp = float(self.instruments.risk_compensation_share * net_loss_by_size.sum())
        account.add("risk_compensation", risk_comp)
        account.add("guarantee_payouts", compensation - risk_comp)
        return compensation

    def receive_guarantee_fees(self, amount: float) -> None:
        """Fees firms paid to the guarantee fund on a bank's loans."""
        self.model.government.account.add("guarantee_fees", amount)

    def record_vat(self, interest: float, exempt: float) -> float:
        """VAT on a bank's interest (亿元): received on the interest not exempt, forgone
        on the exempt part. Returns what the bank pays."""
        rate = self.instruments.vat_rate
        account = self.model.government.account
        paid = rate * (interest - exempt)
        account.add("vat_received", paid)
        account.add("vat_forgone", rate * exempt)
        return paid

    def pay_subsidy(self, amount: float) -> None:
        """The interest subsidy paid on a lender's loans to individual and micro firms."""
        self.model.government.account.add("interest_subsidy", amount)


class DataRegulator(Regulator):
    """Data protection, credit-bureau coverage, verified receivables."""

    section = "data"

    @staticmethod
    def protection_loss_of(credit, data) -> float:
        """Share of the digital footprint's precision that data protection takes away
        from platforms' screening."""
        return credit.protection_effect * data.protection
