"""Banks: four types, whole-bank balance sheets in 亿元.

A bank's SME book (what it originated plus its shares of platforms' joint loans) sits
on top of an exogenous *rest of book* (other loans and assets, deposits) that grows with
the macro path, so capital and liquidity ratios are whole-bank figures comparable with
the published ones.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from sim.agents.books import BankPnL, LenderFlows, PartnerShare, QuarterBooks
from sim.agents.lender import Lender, capped_ratio
from sim.categories import CH_BANK, KIND_BANK


class Bank(Lender):
    kind_class = KIND_BANK
    channel = CH_BANK
    bank_licence = True

    def __init__(self, model, index: int, kind: str, params, region: int, sme_book: float,
                 per_bank_assets: float):
        super().__init__(model, index, kind, params, active=True)
        self.home_region = region if params.regional else -1
        loans = per_bank_assets * params.loans_to_assets
        self.rest_loans = max(loans - sme_book, 0.0)
        self.rest_assets = max(per_bank_assets - sme_book, 0.0)
        self.deposits = per_bank_assets * params.deposits_to_assets
        self.relending = 0.0
        self.partner_stock = 0.0       # shares of platforms' joint loans held (亿元)
        self.book_perf = sme_book
        self.capital = params.capital_ratio * self.rwa()
        self.capital_initial = self.capital
        self.car_target = params.capital_ratio
        self.pressure = 0.0  # "two increases" gap of the bank's type (LenderMarket sets it)
        # shortfall of the bank's type against a yearly growth target (LenderMarket sets it)
        self.target_shortfall = 0.0
        # the margin its type gives up under a cost-of-financing target (annual rate;
        # LenderMarket's CostGuidance sets it), and its margin before that cut
        self.cost_cut = 0.0
        self.margin_before_cut = 0.0
        # the unsecured-loan support plan's funding of its loans, by quarter held (亿元),
        # and how much cheaper it makes the funding of a new unsecured loan (annual)
        self.support_purchases: deque = deque(
            maxlen=model.params.policy.central_bank.unsecured_support_quarters)
        self.support_discount = 0.0
        # principal scheduled to fall due (repaid or deferred) and the performing book it
        # fell due on, by quarter over the last year: the run-off the bank plans on
        self.runoff_history: deque = deque(maxlen=4)
        self.runoff_base_history: deque = deque(maxlen=4)
        # deferred principal the bank carries: the deferring firms keep the cash they
        # would have repaid, on deposit (亿元)
        self.deferred_held = 0.0
        self.deferred_repay_step = 0.0
        # systems for digital inclusive lending (亿元, depreciated): what lets the bank see
        # firms through alternative data
        self.tech_stock = params.tech_stock_to_assets * per_bank_assets

    def lending_region(self) -> int:
        """The region a local bank is confined to while the regional limit holds."""
        if self.model.params.policy.banking.local_bank_regional_limit:
            return self.home_region
        return -1

    def support_stock(self) -> float:
        """Funding the central bank holds under the unsecured-loan support plan (亿元)."""
        return sum(self.support_purchases)

    def unsecured_funding_cost(self) -> float:
        return self.funding_cost - self.support_discount

    def reach(self) -> float:
        """How likely a firm is to walk into this bank: its size."""
        return max(self.total_assets(), 0.0)

    def tech_factor(self) -> float:
        """How far the bank's own technology carries its big-data scoring, against a bank
        at the reference intensity (1): 1 − w + w × (stock / assets) / reference."""
        credit = self.model.params.credit
        assets = self.total_assets()
        intensity = self.tech_stock / assets if assets > 0 else 0.0
        weight = credit.tech_precision_weight
        return 1.0 - weight + weight * intensity / credit.tech_reference_intensity

    # ------------------------------------------------------------------ ratios
    def sme_holdings(self) -> float:
        return self.book + self.partner_stock

    def total_loans(self) -> float:
        return self.rest_loans + self.sme_holdings()

    def total_assets(self) -> float:
        return self.rest_assets + self.sme_holdings()

    def rwa(self) -> float:
        policy = self.model.params.policy.banking
        return self.params.other_risk_weight * self.rest_assets + \
            policy.sme_risk_weight * self.sme_holdings()

    def capital_ratio(self) -> float:
        return capped_ratio(self.capital, self.rwa())

    def liquidity_room(self) -> float:
        """Lendable deposits after required reserves and the liquidity buffer, plus
        re-lending, less loans already made (亿元). Binds first for small banks."""
        rrr = self.model.params.policy.central_bank.rrr
        # a firm that defers keeps on deposit the cash it would have repaid
        deposits = self.deposits + self.deferred_held
        lendable = deposits * (1.0 - rrr - self.params.liquidity_buffer) + self.relending \
            + self.support_stock()
        return lendable - self.total_loans()

    def capital_room(self) -> float:
        policy = self.model.params.policy.banking
        required = policy.min_car + policy.conservation_buffer + self.params.management_buffer
        return (self.capital / required - self.rwa()) / policy.sme_risk_weight

    # ------------------------------------------------------------------ phase 2
    def plan(self, peers_active: int, peers_initial: int) -> None:
        policy = self.model.params.policy
        cb = policy.central_bank
        base = self.params.funding_spread_annual + cb.funding_beta * cb.lpr_1y_annual
        # Reserves earn less than deposits cost, so a higher RRR raises the cost of each
        # lendable yuan; an RRR cut lowers it.
        deposit_funded = (base - cb.rrr * cb.reserve_remuneration_annual) / (1.0 - cb.rrr)
        holdings = self.sme_holdings()
        central = self.relending + self.support_stock()
        relending_share = min(1.0, central / holdings) if holdings > 0 else 0.0
        self.funding_cost = (1.0 - relending_share) * deposit_funded + \
            relending_share * cb.relending_rate_annual
        # while the unsecured-loan support plan is open to it, the central bank funds a
        # share of a new unsecured loan at the re-lending rate
        self.support_discount = 0.0
        if self.model.market.unsecured_support.open_to(self):
            self.support_discount = cb.unsecured_support_share * max(
                0.0, self.funding_cost - cb.relending_rate_annual)
        # The quarter's lending room, from the balance sheet: capital and liquidity room
        # now, plus the principal the bank plans to get back this quarter (its run-off
        # rate over the last year, pooled over its type). What is actually repaid in the
        # quarter does not enter: a shortfall (deferral, default) is met from the
        # liquidity buffer and shows in next quarter's room.
        self.capacity = max(0.0, min(self.capital_room(), self.liquidity_room())
                            + self.planned_runoff())
        banking = policy.banking
        mandate = 0.0
        margin_factor = 1.0
        gap = 0.0
        if banking.two_increases:
            # the targets push banks to keep lending to SMEs at thinner margins
            mandate = banking.two_increases_appetite
            margin_factor = banking.two_increases_margin_factor
            gap = self.pressure
        # Quantitative guidance is a penalty in the bank's objective for falling short:
        # behind on the two increases or on a yearly growth target, it accepts thinner
        # margins and more risk, in proportion to the shortfall (capped)
        gap = min(gap + self.target_shortfall, banking.target_gap_cap)
        mandate += banking.target_pressure * gap
        margin_factor /= 1.0 + banking.target_pressure * gap
        # the bank's internal levers for inclusive loans: a funds-transfer-price discount
        # lowers the price its loan officers quote (its funding cost is unchanged); the
        # due-diligence exemption lowers the internal cost of a default, so it approves
        # loans of higher expected loss
        mandate += self.params.due_diligence_exemption / max(
            1e-9, 1.0 - self.params.due_diligence_exemption)
        # SME NPLs above the tolerated gap over the bank's overall NPL draw supervisory
        # attention: the bank pulls back (NPL pooled over its type, see LenderMarket)
        sme_npl = self.model.market.peer_npl.get(self.kind, 0.0)
        excess = max(0.0, sme_npl - banking.overall_npl - banking.npl_tolerance)
        mandate -= banking.npl_excess_sensitivity * excess
        self.adjust_appetite(self.params.appetite_el_annual, mandate)
        margin = margin_factor * self.homogenized_margin(self.params.margin_annual,
                                                         peers_active, peers_initial)
        # competition for borrowers: a type that has lost share of new SME lending
        # against its share at the start cuts its margin to win borrowers back
        lost = self.model.market.share_lost.get(self.kind, 0.0)
        margin /= 1.0 + banking.competition_margin_sensitivity * lost
        # cost-of-financing guidance: pricing above the year's target costs the bank in
        # its objective, so it gives up margin (not below zero) until its type meets it
        self.margin_before_cut = margin
        margin -= min(max(margin, 0.0), self.cost_cut)
        self.margin = margin - self.params.inclusive_ftp_discount_annual
        self.rate_cap = 1.0  # banks price freely

    def planned_runoff(self) -> float:
        """Principal the bank plans to get back this quarter (亿元): its type's share of
        the performing book that fell due over the last year, or before a quarter of
        experience the contractual share of the starting book (bank loans of
        ``credit.bank_maturity`` quarters, less the share renewed)."""
        rate = self.model.market.peer_runoff.get(self.kind)
        if rate is None:
            params = self.model.params
            rate = (1.0 - params.policy.banking.renewal_share) / params.credit.bank_maturity
        return rate * self.book_perf

    # ------------------------------------------------------------------ phase 8
    def close_books(self, flows: LenderFlows, partner: PartnerShare) -> None:
        """Apply the quarter's flows (亿元) to the balance sheet.

        ``flows`` are the bank's own originated loans (from the kernels); ``partner`` its
        receipts and losses on platforms' joint loans (from the platforms' close).
        """
        p = self.params
        macro_growth = self.model.params.macro.rest_of_book_growth_annual / 4.0
        holdings_start = self.sme_holdings()
        funding = self.funding_cost * holdings_start / 4.0
        op_cost = (p.op_cost_fixed_wan * flows.loans / 1e4 + p.op_cost_rate_annual
                   * self.book) / 4.0
        rest_income = p.rest_roa_annual * self.rest_assets / 4.0
        direct_loss = flows.writeoff - flows.recovery
        compensation = flows.loss_compensation
        net_loss = direct_loss - compensation + partner.loss
        npl_held = flows.npl_end + partner.npl
        provision_expense = self.provision_step(npl_held, net_loss)
        incentive = flows.incentive
        # interest deferred loans added to principal is earned (accrued) though not paid
        income = (flows.interest + partner.interest + rest_income + incentive
                  + flows.deferral_support + flows.capitalised)
        # VAT on the interest of its SME loans that do not qualify for the exemption
        vat = flows.vat
        net_income = income - funding - op_cost - provision_expense - vat
        # Part of a profit goes into the technology stock. The spending is inside the
        # costs the bank's calibrated returns (rest_roa_annual, NFRA ROA) are already net
        # of, so it moves no money here: it decides what the bank's systems can do.
        technology = p.tech_investment_share * net_income if net_income > 0 else 0.0
        self.tech_stock = self.tech_stock * (
            1.0 - self.model.params.credit.tech_depreciation_quarterly) + technology
        car = self.capital_ratio()
        payout_ratio = min(1.0, max(0.0, p.payout_ratio + p.payout_capital_sensitivity
                                    * (car - self.car_target) / self.car_target))
        payout = payout_ratio * net_income if net_income > 0 else 0.0
        self.capital += net_income - payout
        # what fell due on the performing book (repaid or deferred), for planned run-off
        self.runoff_history.append(flows.principal + flows.deferred)
        self.runoff_base_history.append(self.book_perf)
        # deferred principal is carried (on deposit at the deferring firm) until it is
        # repaid over the quarters after the window
        if self.model.params.policy.fiscal.deferral:
            self.deferred_held += flows.deferred
            self.deferred_repay_step = self.deferred_held / max(
                1, self.model.params.policy.fiscal.deferral_repay_quarters)
        else:
            self.deferred_held = max(0.0, self.deferred_held - self.deferred_repay_step)
        # stocks: the SME book as counted, the rest of the book grows with the economy
        self.book_perf = flows.perf_end
        self.book_npl = flows.npl_end
        self.loans_count = flows.loans
        self.partner_stock = partner.stock_end
        self.rest_assets *= 1.0 + macro_growth
        self.rest_loans *= 1.0 + macro_growth
        self.deposits *= 1.0 + macro_growth
        self.books = QuarterBooks(BankPnL(
            interest=flows.interest, partner_interest=partner.interest,
            rest_income=rest_income, incentive=incentive, funding=funding, op_cost=op_cost,
            provision_expense=provision_expense, payout=payout, net_income=net_income,
            compensation=compensation, deferral_support=flows.deferral_support,
            capitalised=flows.capitalised, vat=vat))
        # underwriting experience: losses on what it originated, against that book
        self.remember(flows.new, flows.new_pd_amount, flows.new_npl,
                      direct_loss - compensation, net_income)


@dataclass
class BankFigures:
    """The banks' figures that platforms read while they plan and close their books,
    as arrays by bank index; banks' balance sheets do not move during those loops."""

    active: np.ndarray         # bool [B]
    capital: np.ndarray        # 亿元 [B]
    total_loans: np.ndarray    # 亿元 [B], as Bank.total_loans
    partner_stock: np.ndarray  # 亿元 [B], joint loans held
    partnerships: np.ndarray   # int64 [B], joint-lending platforms partnered, at least 1
    funding_cost: np.ndarray   # fraction/yr [B]

    @classmethod
    def of(cls, banks: Iterable[Bank], partnerships: dict) -> "BankFigures":
        def column(values, dtype=np.float64):
            return np.array(values, dtype=dtype)

        # the same sums, in the same order, as Bank.total_loans
        book = column([b.book_perf for b in banks]) + column([b.book_npl for b in banks])
        partner_stock = column([b.partner_stock for b in banks])
        return cls(
            active=column([b.active for b in banks], bool),
            capital=column([b.capital for b in banks]),
            total_loans=column([b.rest_loans for b in banks]) + (book + partner_stock),
            partner_stock=partner_stock,
            partnerships=column([max(1, partnerships.get(b, 0)) for b in banks], np.int64),
            funding_cost=column([b.funding_cost for b in banks]),
        )
