"""Non-bank lenders of the 2010s: P2P lending platforms and small-loan companies.

Both lend small, short, unsecured loans through the online (non-bank unsecured) channel,
screen weakly (low base precision, little data) and price near the legal caps. They
differ in who funds the loans:

- a **P2P platform** places retail investors' money: the investors fund every loan, are
  promised a yield on the performing part and bear its losses; the platform keeps the
  interest above that yield as its service income. Its loans are private lending, under
  the courts' private-lending cap (24% until 2020-08-20, 4 × LPR since).
- a **small-loan company** lends its own capital plus bank borrowing of at most
  ``borrowing_cap`` × its net capital (CBRC/PBoC 2008 guidance: 50%); it is a licensed
  lender, under the licensed cap.

A kind can be closed to new lending by a scheduled change (``platforms.<kind>.open``);
:class:`~sim.lenders_market.LenderMarket` then resolves what its book still holds after
``wind_down_quarters``.
"""

from __future__ import annotations

from sim.agents.books import (
    LenderFlows, PartnerLedger, PlatformPnL, QuarterBooks, RetailInvestorFlows,
)
from sim.agents.platforms import Platform


class P2PPlatform(Platform):
    """A group of P2P lending platforms: loans funded by retail investors."""

    def __init__(self, model, index: int, kind: str, params, active: bool, partners: list):
        super().__init__(model, index, kind, params, active, partners)
        self.investor_stock = 0.0   # retail investors' share of the pool (亿元)

    @property
    def joint(self) -> bool:
        return False

    def reach(self) -> float:
        """How likely a firm is to meet the platform: the money it places."""
        return self.params.investor_funds_yi

    def own_contribution(self) -> float:
        return 0.0

    def funders_total(self) -> float:
        return super().funders_total() + self.investor_stock

    def split_initial_book(self) -> None:
        self.investor_stock = self.book

    def plan(self, peers_active: int, peers_initial: int) -> None:
        if not self.active:
            self.plan_idle()
            return
        p = self.params
        self.funding_cost = p.investor_rate_annual
        self.capacity = max(0.0, p.investor_funds_yi - self.investor_stock)
        self.rate_cap = self.model.courts.private_rate_cap()
        self.finish_plan(peers_active, peers_initial)

    def close_books(self, flows: LenderFlows, partner_out: PartnerLedger) -> RetailInvestorFlows:
        """Investors take their yield on the performing part at the start, fund the new
        loans, get the principal and recoveries and bear the write-offs; the platform
        keeps the rest of the interest and pays its operating costs."""
        p = self.params
        pool_start = self.investor_stock
        perf_fraction = self.book_perf / pool_start if pool_start > 0 else 0.0
        investor_interest = pool_start * perf_fraction * p.investor_rate_annual / 4.0
        interest_kept = flows.interest - investor_interest
        self.investor_stock += flows.new - flows.principal - flows.writeoff
        loss = flows.writeoff - flows.recovery
        op_cost = self.operating_cost(flows)
        net_income = interest_kept - op_cost
        payout = self.retain(flows, net_income)
        self.books = QuarterBooks(PlatformPnL(
            interest=flows.interest, funding=0.0, op_cost=op_cost, provision_expense=0.0,
            payout=payout, net_income=net_income, partner_interest_paid=0.0,
            abs_interest=0.0, interest_kept=interest_kept,
            principal_received=flows.principal, investor_interest=investor_interest))
        self.remember(flows.new, flows.new_pd_amount, flows.new_npl, loss, net_income)
        return RetailInvestorFlows(invested=flows.new, principal=flows.principal,
                                   recovery=flows.recovery, interest=investor_interest,
                                   loss=loss)

    def hand_over_funding(self, recovery: float) -> tuple[float, float]:
        """At resolution the investors' claim is bought out at ``recovery`` × its size:
        returns (paid to investors, their loss)."""
        claim = self.investor_stock
        self.investor_stock = 0.0
        return recovery * claim, (1.0 - recovery) * claim


class SmallLoanCompany(Platform):
    """A group of small-loan companies: own capital plus capped bank borrowing."""

    @property
    def joint(self) -> bool:
        return False

    def reach(self) -> float:
        """How likely a firm is to meet the company: the most it can lend."""
        return max(self.capital, 0.0) * (1.0 + self.params.borrowing_cap)

    def own_contribution(self) -> float:
        return 1.0

    def borrowed(self) -> float:
        """Bank borrowing: the part of its loans its capital does not fund (亿元)."""
        return max(0.0, self.own_stock - max(self.capital, 0.0))

    def plan(self, peers_active: int, peers_initial: int) -> None:
        if not self.active:
            self.plan_idle()
            return
        p = self.params
        lpr = self.model.params.policy.central_bank.lpr_1y_annual
        held = self.own_stock
        borrowed_share = self.borrowed() / held if held > 0 else 0.0
        self.funding_cost = (1.0 - borrowed_share) * p.funding_cost_annual + \
            borrowed_share * (lpr + p.borrowing_spread_annual)
        # leverage cap: loans at most capital plus borrowing_cap × capital
        self.capacity = max(0.0, (1.0 + p.borrowing_cap) * max(self.capital, 0.0) - held)
        self.rate_cap = self.model.courts.licensed_rate_cap()
        self.finish_plan(peers_active, peers_initial)

    def funding_expense(self, own_start: float) -> float:
        """Owners' required return on the capital-funded part, LPR plus a spread on the
        borrowed part."""
        p = self.params
        lpr = self.model.params.policy.central_bank.lpr_1y_annual
        borrowed = max(0.0, own_start - max(self.capital, 0.0))
        return (p.funding_cost_annual * (own_start - borrowed)
                + (lpr + p.borrowing_spread_annual) * borrowed) / 4.0
