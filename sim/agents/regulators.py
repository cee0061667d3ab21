"""Regulators and government as Mesa agents.

Each holds one section of the policy state (``scenario.policy.<section>``): the
instruments it sets, each a named parameter with unit and source in
:mod:`sim.schema`. Scheduled changes write into that state (phase 1); an agent's
``step`` adds its reactive rule, if any.
"""

from __future__ import annotations

import mesa

from sim.categories import SMALL_BANK_TYPES


class Regulator(mesa.Agent):
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

    def allocate_relending(self, banks) -> None:
        """Re-lending for small firms goes to city commercial and rural banks in
        proportion to their SME books (支小再贷款 targets small and medium banks)."""
        eligible = [b for b in banks if b.active and b.kind in SMALL_BANK_TYPES]
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
        if lender.kind_class == 0:
            return lender.capital_ratio() < self.instruments.min_car
        return lender.capital < self.instruments.platform_failing_capital_share \
            * lender.capital_initial


class Courts(Regulator):
    """Rate caps: 24% for licensed lenders, 4 × LPR for private lending."""

    section = "courts"


class FiscalAuthority(Regulator):
    """Risk compensation, guarantee fund, deferral programme, interest subsidies."""

    section = "fiscal"


class DataRegulator(Regulator):
    """Data protection, credit-bureau coverage, verified receivables."""

    section = "data"
