"""Platforms: big-tech lenders, online micro-lenders, supply-chain finance, crowd/equity.

A lending platform originates loans and funds them three ways: its own retained share,
asset-backed securities sold to outside investors, and partner banks' shares of joint
loans (the partner holds its share and its risk). The regulatory own-contribution share
applies to joint online lending. A joint-lending platform can also facilitate loans (助贷)
that partner banks fund in full, outside the joint-lending caps, within the room banks give
it (``policy.banking.facilitation_cap``); it keeps the interest above the partner's rate as
its fee and the bank bears the credit risk. The pool of a platform's loans is shared pro
rata among its funders; repayments, losses and recoveries follow the funders' stocks.
"""

from __future__ import annotations

import numpy as np

from sim.agents.books import (
    EquityPnL, InvestorFlows, LenderFlows, PartnerLedger, PlatformPnL, QuarterBooks,
)
from sim.agents.lender import Lender, capped_ratio
from sim.categories import (
    CH_EQUITY, CH_ONLINE, CH_SUPPLY_CHAIN, KIND_CROWD, KIND_ONLINE, KIND_SUPPLY_CHAIN,
    PLATFORM_CHANNEL,
)
from sim.outside_funds import investor_pools


# A partner's room below the smallest normal float (a cap of 1e-320, legal, times its
# capital) is none: new loans are split among partners as amount × room ÷ total room,
# and a product below it keeps only a few bits, so the split would no longer add up to
# the amount and money would leak from the books.
SMALLEST_ROOM = np.finfo(np.float64).tiny


class Platform(Lender):
    def __init__(self, model, index: int, kind: str, params, active: bool, partners: list):
        super().__init__(model, index, kind, params, active)
        self.channel = PLATFORM_CHANNEL[kind]
        self.kind_class = {CH_ONLINE: KIND_ONLINE, CH_SUPPLY_CHAIN: KIND_SUPPLY_CHAIN,
                           CH_EQUITY: KIND_CROWD}[self.channel]
        self.capital = params.net_assets_yi if active else 0.0
        self.capital_initial = params.net_assets_yi
        self.reports_to_bureau = params.reports_to_bureau
        self.partners = partners                 # list of Bank agents (sets partner_index)
        self.partner_stock = np.zeros(len(partners))
        self.own_stock = 0.0                     # retained share of the pool (亿元)
        self.abs_stock = 0.0                     # securitised share held by investors
        self.entered_quarter = None
        # loans facilitated for each partner bank, funded in full by it (亿元)
        self.facil_stock = np.zeros(len(partners))
        self.capacity_planned = 0.0              # capacity set in phase 2
        self.facil_fraction = 0.0                # share of new loans facilitated
        self.last_partner_new = 0.0              # new loans partner banks funded this quarter
        self.last_facilitated_new = 0.0          # of which facilitated in full
        self.equity_raised = 0.0                 # new equity raised this quarter

    @property
    def partners(self) -> list:
        return self._partners

    @partners.setter
    def partners(self, banks: list) -> None:
        self._partners = banks
        # where each partner's figures sit in the market's BankFigures arrays
        self.partner_index = np.array([bank.index for bank in banks], dtype=np.int64)

    @property
    def joint(self) -> bool:
        return self.channel == CH_ONLINE

    def reach(self) -> float:
        """How likely a firm is to meet this platform: its net assets (user base)."""
        return max(self.capital, 0.0)

    def own_contribution(self) -> float:
        """Share of each new loan the platform funds itself (the rest: partner banks)."""
        if not self.joint:
            return 1.0
        return self.model.params.policy.banking.joint_own_contribution

    def funders_total(self) -> float:
        return self.own_stock + self.abs_stock + float(self.partner_stock.sum()) + \
            float(self.facil_stock.sum())

    def split_initial_book(self) -> None:
        """Give a starting pool to funders in the proportions the rules imply."""
        self._allocate_new(self.book, self._partner_room())

    # ------------------------------------------------------------------ phase 2
    def _partner_room(self) -> np.ndarray:
        """Room each partner bank has for more of this platform's joint loans (亿元)."""
        if not self.joint or not self.partners:
            return np.zeros(len(self.partners))
        banking = self.model.params.policy.banking
        banks = self.model.market.bank_figures
        at = self.partner_index
        # a bank's total room is shared among the platforms it partners with
        one_partner = banking.partner_concentration_cap * np.maximum(banks.capital[at], 0.0) \
            - self.partner_stock
        # banks' partner holdings include loans facilitated in full: not joint loans
        joint_held = banks.partner_stock[at] - self.model.market.facilitated_by_bank[at]
        total_joint = banking.joint_total_cap * banks.total_loans[at] - joint_held
        room = np.maximum(0.0, np.minimum(one_partner, total_joint / banks.partnerships[at]))
        return np.where(banks.active[at] & (room >= SMALLEST_ROOM), room, 0.0)

    def _facil_room(self) -> np.ndarray:
        """Room each partner bank gives this platform for loans it funds in full
        (facilitation, 助贷): ``facilitation_cap`` × the bank's capital less what it already
        funds so, shared among the platforms partnering it (亿元)."""
        cap = self.model.params.policy.banking.facilitation_cap
        if not self.joint or not self.partners or cap <= 0:
            return np.zeros(len(self.partners))
        banks = self.model.market.bank_figures
        at = self.partner_index
        total = cap * np.maximum(banks.capital[at], 0.0) - \
            self.model.market.facilitated_by_bank[at]
        room = np.maximum(0.0, total / banks.partnerships[at])
        return np.where(banks.active[at] & (room >= SMALLEST_ROOM), room, 0.0)

    def plan(self, peers_active: int, peers_initial: int) -> None:
        if not self.active:
            self.plan_idle()
            return
        policy = self.model.params.policy
        cb = policy.central_bank
        p = self.params
        if self.channel == CH_EQUITY:
            # investors' funds of each kind are shared equally by the platforms open to
            # them: what firms raise is limited by the pool, however many platforms
            equity, crowd = investor_pools(self.model.params, self.model.quarter,
                                           self.model.gdp.level)
            self.capacity = equity / max(peers_active, 1)
            self.crowd_capacity = crowd / max(peers_active, 1)
            self.funding_cost = 0.0
            self.rate_cap = 1.0
        else:
            share = self.own_contribution()
            abs_rate = cb.lpr_1y_annual + p.abs_spread_annual
            own_cost = (1.0 - p.securitised_share) * p.funding_cost_annual + \
                p.securitised_share * abs_rate
            partner_rate = self._partner_rate()
            self.funding_cost = share * own_cost + (1.0 - share) * partner_rate
            own_room = policy.banking.platform_own_book_cap * max(self.capital, 0.0) - \
                (self.own_stock + self.abs_stock)
            capacity = max(0.0, own_room) / max(share, 1e-9)
            if share < 1.0:
                capacity = min(capacity, self._partner_room().sum() / (1.0 - share))
            capacity = max(0.0, capacity)
            # facilitation adds banks' room for loans they fund in full; new loans are
            # split between the two in proportion to the room of each
            facil = float(self._facil_room().sum())
            self.facil_fraction = facil / (capacity + facil) if capacity + facil > 0 else 0.0
            self.funding_cost = (1.0 - self.facil_fraction) * self.funding_cost + \
                self.facil_fraction * partner_rate
            self.capacity = capacity + facil
            self.rate_cap = self.model.courts.licensed_rate_cap()
        self.finish_plan(peers_active, peers_initial)

    def plan_idle(self) -> None:
        """An inactive platform (an entry slot, or resolved) lends nothing."""
        self.capacity = 0.0
        self.crowd_capacity = 0.0
        self.capacity_planned = 0.0

    def finish_plan(self, peers_active: int, peers_initial: int) -> None:
        """What every platform's plan ends with, once its capacity, funding cost and
        rate cap are set: appetite and margin, no lending if the kind is closed, and the
        capacity planned (which capital raising compares with what is left)."""
        p = self.params
        self.adjust_appetite(p.appetite_el_annual)
        self.margin = self.homogenized_margin(p.margin_annual, peers_active, peers_initial)
        if not self.lends():
            self.capacity = 0.0   # the kind is closed to new lending
            self.crowd_capacity = 0.0
        self.capacity_planned = self.capacity

    def _partner_rate_by_bank(self) -> np.ndarray:
        """What each partner bank charges on its share: its funding cost plus a margin."""
        return self.model.market.bank_figures.funding_cost[self.partner_index] + \
            self.params.partner_margin_annual

    def _partner_rate(self) -> float:
        """The average active partner's rate, used in pricing."""
        banks = self.model.market.bank_figures
        at = self.partner_index[banks.active[self.partner_index]]
        base = float(np.mean(banks.funding_cost[at])) if at.size else \
            self.params.funding_cost_annual
        return base + self.params.partner_margin_annual

    # ------------------------------------------------------------------ phase 8
    def _allocate_new(self, new: float, room: np.ndarray,
                      facil_room: np.ndarray | None = None) -> float:
        """Fund ``new`` loans: the facilitated fraction by partners in full (in proportion
        to their facilitation room), of the rest the own share (part of it securitised) and
        partners' shares in proportion to their room. Returns the part sold to ABS
        investors."""
        facilitated = 0.0
        if facil_room is not None and self.facil_fraction > 0 and facil_room.sum() > 0:
            facilitated = new * self.facil_fraction
            self.facil_stock = self.facil_stock + facilitated * facil_room / facil_room.sum()
            new -= facilitated
        share = self.own_contribution()
        partner_part = new * (1.0 - share)
        if partner_part > 0 and room.sum() <= 0:
            # no partner has room: the platform keeps it all (capacity prevents this
            # except in the starting book)
            share, partner_part = 1.0, 0.0
        own_part = new * share
        to_abs = own_part * self.params.securitised_share
        to_partners = partner_part * room / room.sum() if partner_part > 0 else \
            np.zeros(len(self.partners))
        self.own_stock += own_part - to_abs
        self.abs_stock += to_abs
        self.partner_stock += to_partners
        self.last_facilitated_new = facilitated
        self.last_partner_new = float(to_partners.sum()) + facilitated
        return to_abs

    def operating_cost(self, flows: LenderFlows) -> float:
        """The quarter's operating cost (亿元): per loan held and per unit of performing
        book at the start of the quarter."""
        p = self.params
        return (p.op_cost_fixed_wan * flows.loans / 1e4 + p.op_cost_rate_annual
                * self.book_perf) / 4.0

    def retain(self, flows: LenderFlows, net_income: float) -> float:
        """Pay out a share of a profit, keep the rest as capital and take the quarter's
        closing stocks; returns the payout (亿元)."""
        payout = self.params.payout_ratio * net_income if net_income > 0 else 0.0
        self.capital += net_income - payout
        self.book_perf = flows.perf_end
        self.book_npl = flows.npl_end
        self.loans_count = flows.loans
        return payout

    def close_books(self, flows: LenderFlows, partner_out: PartnerLedger) -> InvestorFlows:
        """Share the pool's flows among funders, then close the platform's own P&L.

        Returns the outside sector's part (ABS interest, principal, losses, purchases);
        partner banks' parts are added to ``partner_out``.
        """
        p = self.params
        cb = self.model.params.policy.central_bank
        if self.channel == CH_EQUITY:
            fees = flows.fees
            op_cost = p.op_cost_fixed_wan * flows.new_count_nondebt / 1e4 / 4.0
            net_income = fees - op_cost
            payout = p.payout_ratio * net_income if net_income > 0 else 0.0
            self.capital += net_income - payout
            self.books = QuarterBooks(EquityPnL(fees=fees, op_cost=op_cost, payout=payout,
                                                net_income=net_income))
            self.remember(flows.nondebt, 0.0, 0.0, 0.0, net_income)
            return InvestorFlows()
        pool_start = self.funders_total()
        own_start = self.own_stock
        perf_fraction = self.book_perf / pool_start if pool_start > 0 else 0.0
        # interest: partners and ABS investors take a contractual yield on their
        # performing part at the start; the platform keeps the rest (its service spread)
        partner_yield = self._partner_rate_by_bank()
        partner_held = self.partner_stock + self.facil_stock
        partner_interest = partner_held * perf_fraction * partner_yield / 4.0
        abs_interest = self.abs_stock * perf_fraction * (cb.lpr_1y_annual
                                                         + p.abs_spread_annual) / 4.0
        interest_kept = flows.interest - partner_interest.sum() - abs_interest
        # new loans are funded as they are made; run-off, recoveries and losses then
        # follow funders' stocks (loans made this quarter can also close this quarter)
        room = self._partner_room() if self.joint else np.zeros(len(self.partners))
        facil_room = self._facil_room() if self.joint else None
        abs_new = self._allocate_new(flows.new, room, facil_room)
        pool = self.funders_total()
        shares_own = self.own_stock / pool if pool > 0 else 0.0
        shares_abs = self.abs_stock / pool if pool > 0 else 0.0
        shares_partner = self.partner_stock / pool if pool > 0 else np.zeros(len(self.partners))
        shares_facil = self.facil_stock / pool if pool > 0 else np.zeros(len(self.partners))
        runoff = flows.principal + flows.writeoff
        recovery = flows.recovery
        gross_loss = flows.writeoff - recovery
        self.own_stock -= runoff * shares_own
        self.abs_stock -= runoff * shares_abs
        self.partner_stock = self.partner_stock - runoff * shares_partner
        self.facil_stock = self.facil_stock - runoff * shares_facil
        own_loss = gross_loss * shares_own
        abs_loss = gross_loss * shares_abs
        partner_loss = gross_loss * (shares_partner + shares_facil)
        npl_end = flows.npl_end
        pool_end = self.funders_total()
        own_npl = npl_end * self.own_stock / pool_end if pool_end > 0 else 0.0
        partner_held = self.partner_stock + self.facil_stock
        partner_npl = npl_end * partner_held / pool_end if pool_end > 0 else \
            np.zeros(len(self.partners))
        # a platform lists each partner once, so these add in platform order per bank
        at = self.partner_index
        partner_out.interest[at] += partner_interest
        partner_out.loss[at] += partner_loss
        partner_out.npl[at] += partner_npl
        partner_out.stock_end[at] += partner_held
        funding = self.funding_expense(own_start)
        op_cost = self.operating_cost(flows)
        provision_expense = self.provision_step(own_npl, own_loss)
        net_income = interest_kept - funding - op_cost - provision_expense
        payout = self.retain(flows, net_income)
        self.books = QuarterBooks(PlatformPnL(
            interest=flows.interest, funding=funding, op_cost=op_cost,
            provision_expense=provision_expense, payout=payout, net_income=net_income,
            partner_interest_paid=float(partner_interest.sum()), abs_interest=abs_interest,
            interest_kept=interest_kept, principal_received=flows.principal))
        # underwriting experience: losses on the whole pool it originated, whoever funds it
        self.remember(flows.new, flows.new_pd_amount, flows.new_npl, gross_loss,
                      net_income)
        return InvestorFlows(abs_bought=abs_new, abs_principal=flows.principal * shares_abs,
                             abs_recovery=recovery * shares_abs, abs_interest=abs_interest,
                             abs_loss=abs_loss)

    def funding_expense(self, own_start: float) -> float:
        """The quarter's cost of funding the own part held at the start (亿元)."""
        return self.params.funding_cost_annual * own_start / 4.0

    def lends(self) -> bool:
        """Whether the kind is open to new lending (``platforms.<kind>.open``)."""
        return self.params.open

    def capital_ratio(self) -> float:
        """Capital ÷ the loans on its own book (0 without any; capped, as a bank's)."""
        return capped_ratio(self.capital, self.own_book())

    def own_book(self) -> float:
        return self.own_stock + self.abs_stock
