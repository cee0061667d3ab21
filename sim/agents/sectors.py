"""The counterparties outside the credit market: government and the outside sector.

Every flow the market produces has a counterparty: what government pays (risk
compensation, guarantee payouts net of fees, interest subsidies, the inclusive-loan
incentive, the central bank's deferral support, resolution shortfalls, VAT forgone on
exempt small loans) is its fiscal cost; what the outside sector provides
(equity and crowdfunding money, ABS purchases, capital for entrant platforms) and
receives (ABS interest and principal, dividends on equity stakes) closes the books.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import mesa

from sim.agents.base import Agent

GOVERNMENT_ITEMS = ("risk_compensation", "guarantee_payouts", "guarantee_fees",
                    "interest_subsidy", "inclusive_incentive", "deferral_support",
                    "resolution_shortfall", "vat_received", "vat_forgone")
OUTSIDE_ITEMS = ("equity_raised", "crowdfunding_raised", "abs_bought", "abs_principal",
                 "abs_recovery", "abs_interest", "abs_loss", "dividends_from_stakes",
                 "platform_capital", "p2p_invested", "p2p_principal", "p2p_recovery",
                 "p2p_interest", "p2p_loss", "p2p_resolution_paid")


@dataclass
class Account:
    """Quarterly flows by item (亿元), reset each quarter, and running totals."""

    items: tuple[str, ...]
    quarter: dict[str, float] = field(default_factory=dict)
    total: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.reset()
        self.total = {k: 0.0 for k in self.items}

    def reset(self) -> None:
        self.quarter = {k: 0.0 for k in self.items}

    def add(self, item: str, amount: float) -> None:
        self.quarter[item] += amount
        self.total[item] += amount


class Government(Agent):
    """The government ledger: subsidies, risk compensation and guarantees."""

    def __init__(self, model: mesa.Model):
        super().__init__(model)
        self.account = Account(GOVERNMENT_ITEMS)

    def fiscal_cost(self) -> float:
        q = self.account.quarter
        return (q["risk_compensation"] + q["guarantee_payouts"] - q["guarantee_fees"]
                + q["interest_subsidy"] + q["inclusive_incentive"] + q["deferral_support"]
                + q["resolution_shortfall"] + q["vat_forgone"])


class OutsideSector(Agent):
    """Investors and the rest of the economy."""

    def __init__(self, model: mesa.Model):
        super().__init__(model)
        self.account = Account(OUTSIDE_ITEMS)
