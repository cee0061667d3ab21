"""The lender side of the market: builds banks and platforms and runs their planning and
book-closing (phases 2 and 8); lenders coming and going after the books close are
:mod:`sim.lender_turnover`."""

from __future__ import annotations

import dataclasses

import numpy as np
from mesa.agent import AgentSet

from sim.agents.banks import Bank, BankFigures
from sim.agents.books import LenderFlows, PartnerLedger
from sim.agents.digital import DigitalBank
from sim.agents.lender import Lender
from sim.agents.nonbank import P2PPlatform, SmallLoanCompany
from sim.agents.platforms import Platform
from sim.cost_guidance import CostGuidance
from sim.support_plan import UnsecuredSupport
from sim.categories import (
    BANK_TYPES, CH_EQUITY, DIGITAL_BANK_KINDS, NONBANK_KINDS, PLATFORM_KINDS, SMALL_BANK_TYPES,
)
from sim.kernels import layout as L
from sim.lender_turnover import LenderTurnover

# the class of each non-bank kind's agents (the other platform kinds: Platform)
_PLATFORM_CLASS = {"p2p": P2PPlatform, "small_loan": SmallLoanCompany}


class LenderMarket(LenderTurnover):
    """All lenders of a model, indexed by a stable ``lender`` id (banks first).

    The lenders are the model's :class:`~sim.agents.lender.Lender` agents. Mesa keeps
    agents in the order they were made, which is their index order; every loop and sum
    over lenders below runs in that order, so results do not depend on Mesa's sets.
    """

    def __init__(self, model):
        self.model = model
        params = model.params
        region_cum = np.cumsum([params.population.regions.east,
                                params.population.regions.central,
                                params.population.regions.west])
        self.bank_type_assets = {}
        index = 0
        # digital banks after the other banks: with none of them no index moves
        for kind in BANK_TYPES + DIGITAL_BANK_KINDS:
            bp = getattr(params.banks, kind)
            # digital banks have slots a scheduled count activates (ODD 2)
            slots = max(bp.count, getattr(bp, "max_count", 0))
            if slots == 0:
                continue
            per_bank = bp.total_assets_yi / slots
            self.bank_type_assets[kind] = per_bank
            proxy = per_bank * bp.loans_to_assets * bp.sme_share_of_loans
            bank_class = DigitalBank if kind in DIGITAL_BANK_KINDS else Bank
            for k in range(slots):
                region = int(np.searchsorted(region_cum, (k + 0.5) / slots))
                bank = bank_class(model, index, kind, bp, region, proxy, per_bank)
                bank.active = k < bp.count
                index += 1
        # snapshots: no lender is made after this (an entrant takes an idle slot)
        self.banks: AgentSet = model.agents.select(agent_type=Bank)
        # loans platforms facilitated for each bank (funded in full by it), by bank index
        self.facilitated_by_bank = np.zeros(len(self.banks))
        # non-bank kinds last: with no agent of theirs, every other index is unchanged
        for kind in PLATFORM_KINDS + NONBANK_KINDS:
            pp = getattr(params.platforms, kind)
            if kind == "big_tech":
                partners = list(self.banks)
            elif kind == "online_micro":
                partners = list(self.banks.select(lambda b: b.kind in SMALL_BANK_TYPES))
            else:
                partners = []
            for k in range(max(pp.max_count, pp.count)):
                _PLATFORM_CLASS.get(kind, Platform)(
                    model, index, kind, pp, active=k < pp.count, partners=partners)
                index += 1
        self.platforms: AgentSet = model.agents.select(agent_type=Platform)
        self.lenders: AgentSet = model.agents.select(agent_type=Lender)
        self._kinds: dict[str, AgentSet] = {}   # of_kind's sets, selected once
        assert [l.index for l in self.lenders] == list(range(len(self.lenders))), \
            "lenders must be made in index order"
        # active joint-lending platforms partnering each bank (counted in phase 2)
        self._partnerships: dict[Bank, int] = {}
        # banks' figures as arrays for the platforms, rebuilt before each platform loop
        self.bank_figures: BankFigures | None = None
        self.transfers: list[tuple[int, int]] = []  # (failed, acquirer) this quarter
        active = self.lenders.select(lambda l: l.active).groupby("kind").count()
        self.initial_counts = {kind: active.get(kind, 0)
                               for kind in BANK_TYPES + DIGITAL_BANK_KINDS + PLATFORM_KINDS
                               + NONBANK_KINDS}
        # the scheduled count of each platform kind last applied (a change of
        # platforms.<kind>.count activates or deactivates slots), and the quarter each
        # kind was closed to new lending (platforms.<kind>.open = false)
        self.counts_applied = {kind: self._scheduled_count(kind)
                               for kind in PLATFORM_KINDS + NONBANK_KINDS
                               + DIGITAL_BANK_KINDS}
        self.closed_since: dict[str, int] = {}
        # bank guidance and competition (see Bank.plan): each bank type's SME book at the
        # start of the year, its share of new SME lending over its first year and the
        # share it has lost since, and the pooled run-off rate banks plan on
        self.year_start_book: dict[str, float] = {}
        self.cost_guidance = CostGuidance(self)
        self.unsecured_support = UnsecuredSupport(self)
        self.share_start: dict[str, float] | None = None
        self.share_lost: dict[str, float] = {}
        self.peer_runoff: dict[str, float] = {}
        # banks' reach to firms that have not borrowed (see _outreach): the chance a
        # visible non-borrower gets an unsolicited credit line this quarter, and the room
        # banks planned last quarter
        self.outreach = 0.0
        self.planned_bank_room = 0.0

    def _scheduled_count(self, kind: str) -> int:
        """``platforms.<kind>.count``, or ``banks.<kind>.count`` for digital banks."""
        section = self.model.params.banks if kind in DIGITAL_BANK_KINDS else \
            self.model.params.platforms
        return getattr(section, kind).count

    def of_kind(self, kind: str, active_only: bool = False) -> AgentSet:
        """The lenders of one kind, in index order (a lender's kind never changes, so
        each kind's set is selected once)."""
        members = self._kinds.get(kind)
        if members is None:
            members = self._kinds[kind] = self.lenders.select(lambda l: l.kind == kind)
        return members.select(lambda l: l.active) if active_only else members

    # ------------------------------------------------------------------ helpers
    def _sum_facilitated(self) -> None:
        """What each bank funds in full of loans platforms facilitated for it."""
        held = np.zeros(len(self.banks))
        for platform in self.platforms:
            if platform.facil_stock.size:
                np.add.at(held, platform.partner_index, platform.facil_stock)
        self.facilitated_by_bank = held

    def _count_partnerships(self) -> None:
        self._partnerships: dict[Bank, int] = {}
        for platform in self.platforms:
            if platform.active and platform.joint:
                for bank in platform.partners:
                    self._partnerships[bank] = self._partnerships.get(bank, 0) + 1

    def set_initial_books(self, sums) -> None:
        """Replace the proxies used to draw the starting loan book with what was drawn,
        and build each bank's rest of book around it."""
        self._count_partnerships()
        money = sums.lender_money
        for bank in self.banks:
            book = money[bank.index, L.LF_BAL_PERF]
            per_bank = self.bank_type_assets[bank.kind]
            bank.book_perf = book
            bank.rest_assets = per_bank - book
            bank.rest_loans = per_bank * bank.params.loans_to_assets - book
            if not bank.active:
                # a digital-bank slot lending from a scheduled quarter holds the SME share
                # of its loans as liquid assets until then, its room to start lending
                bank.rest_loans -= per_bank * bank.params.loans_to_assets \
                    * bank.params.sme_share_of_loans
            bank.loans_count = sums.lender_count[bank.index, L.LF_LOANS]
        self.bank_figures = BankFigures.of(self.banks, self._partnerships)
        for platform in self.platforms:
            platform.book_perf = money[platform.index, L.LF_BAL_PERF]
            platform.loans_count = sums.lender_count[platform.index, L.LF_LOANS]
            if platform.active and platform.channel != CH_EQUITY:
                platform.split_initial_book()
        for bank in self.banks:
            bank.partner_stock = sum(p.partner_stock[p.partners.index(bank)]
                                     for p in self.platforms if bank in p.partners)
            bank.capital = bank.params.capital_ratio * bank.rwa()
            bank.capital_initial = bank.capital
        self.target_base = self._bank_type_totals(
            {bank: bank.loans_count for bank in self.banks})

    # ------------------------------------------------------------------ peer signals
    # Lenders of one kind share the same parameters; the agents standing for a small
    # lender's borrowers are a sample, so its own loss, default or NPL rate, or its count
    # of borrowers, is mostly sampling noise at small agent counts. Responses that are
    # not linear in these (appetite cut only above expected losses, supervision only
    # above the NPL tolerance, target pressure only when behind, PD as Φ of the fitted
    # intercept) would turn that noise into a bias that depends on how many agents stand
    # for the population. Pooled over the kind, the signals keep the information and
    # lose the noise.
    def _peer_signals(self) -> None:
        self.peer_loss_rate: dict[str, float] = {}
        self.peer_npl: dict[str, float] = {}
        for kind in self.initial_counts:
            members = self.of_kind(kind, active_only=True)
            losses = balance = npl = book = 0.0
            for lender in members:
                lost, held = lender.year_losses_and_balance()
                losses += lost
                balance += held
                npl += lender.book_npl
                book += lender.book
            self.peer_loss_rate[kind] = losses / balance if balance > 0 else 0.0
            self.peer_npl[kind] = npl / book if book > 0 else 0.0
        # the share of the performing book that fell due over the last year, by bank type
        self.peer_runoff = {}
        for kind in self.bank_type_assets:
            due = base = 0.0
            for bank in self.of_kind(kind, active_only=True):
                due += sum(bank.runoff_history)
                base += sum(bank.runoff_base_history)
            if base > 0:
                self.peer_runoff[kind] = due / base

    def _guidance(self) -> None:
        """Each quarter: how far each bank type falls short of a yearly growth target of its
        SME book (``policy.banking.large_bank_growth_target`` for the large state-owned
        banks, 0 = none), against the straight path to the target at the end of the
        quarter; the shortfall enters the banks' objective (Bank.plan)."""
        banking = self.model.params.policy.banking
        targets = {"large_state": banking.large_bank_growth_target}
        k = self.model.quarter % 4
        for kind in self.bank_type_assets:
            members = self.of_kind(kind, active_only=True)
            book = sum(b.book for b in members)
            if k == 0 or kind not in self.year_start_book:
                self.year_start_book[kind] = book
            target = targets.get(kind, 0.0)
            start = self.year_start_book[kind]
            shortfall = 0.0
            if target > 0 and start > 0:
                shortfall = max(0.0, 1.0 + target * (k + 1) / 4.0 - book / start)
            self.of_kind(kind).set("target_shortfall", shortfall)

    def _outreach(self, unused: float) -> None:
        """Banks with room they did not lend last quarter, and more so under guidance
        pressure, offer credit lines to firms that have not borrowed (白名单, pre-approved
        lines): the chance per quarter that a visible non-borrower gets one is
        ``credit.outreach.scale`` × the share of last quarter's planned room left unused ×
        (1 + ``guidance_factor`` × the banks' mean guidance pressure)."""
        outreach = self.model.params.credit.outreach
        active = [b for b in self.banks if b.active]
        unused_share = min(1.0, unused / self.planned_bank_room) \
            if self.planned_bank_room > 0 else 0.0
        two_increases = self.model.params.policy.banking.two_increases
        pressure = sum((b.pressure if two_increases else 0.0) + b.target_shortfall
                       for b in active) / max(1, len(active))
        self.outreach = min(1.0, outreach.scale * unused_share
                            * (1.0 + outreach.guidance_factor * pressure))
        self.planned_bank_room = sum(b.capacity for b in active)

    def _competition(self) -> None:
        """Yearly: each bank type's share of all new SME lending over the year, against its
        share over the first year (the reference); the share lost, as a fraction of the
        reference, compresses its margin (Bank.plan)."""
        lent = {kind: sum(sum(l.new_history) for l in self.of_kind(kind))
                for kind in self.initial_counts}
        total = sum(lent.values())
        if total <= 0:
            return
        shares = {kind: lent[kind] / total for kind in self.bank_type_assets}
        if self.share_start is None:
            self.share_start = shares
            return
        self.share_lost = {kind: max(0.0, 1.0 - shares[kind] / self.share_start[kind])
                           if self.share_start[kind] > 0 else 0.0 for kind in shares}

    def _refit_scores(self) -> None:
        """Once a year each kind re-calibrates the PD scale its lenders share on their
        pooled book (a small lender's own default count is mostly sampling noise).
        Inactive members (entry slots) share the fit."""
        for kind in self.initial_counts:
            members = self.of_kind(kind)
            lent = predicted_amount = defaults = balance = 0.0
            for lender in members:
                experience = lender.score_experience() if lender.active else None
                if experience is None:
                    continue
                lent += experience[0]
                predicted_amount += experience[1]
                defaults += experience[2]
                balance += experience[3]
            active = list(members.select(lambda l: l.active))
            if lent <= 0 or balance <= 0 or not active:
                continue
            # the kind's lenders share one scale (entrants adopt it): fit it once
            active[0].refit_score(predicted_amount / lent, defaults / balance)
            for lender in members:
                lender.pd_scale = active[0].pd_scale

    def _bank_type_totals(self, borrowers: dict) -> dict[str, tuple[float, float, float]]:
        """SME book, total loans and SME borrowers of each bank type's active banks."""
        totals = {}
        for kind in self.bank_type_assets:
            members = self.of_kind(kind, active_only=True)
            totals[kind] = (sum(b.book for b in members), sum(b.total_loans() for b in members),
                            sum(borrowers[b] for b in members))
        return totals

    def _update_targets(self, sums) -> None:
        """Yearly check of the "two increases" for each bank type: SME loan growth at least
        total loan growth, and no fewer SME borrowers than a year before."""
        now = self._bank_type_totals(
            {bank: sums.lender_count[bank.index, L.LF_LOANS] for bank in self.banks})
        for kind, (book, total, borrowers) in now.items():
            book_before, total_before, borrowers_before = self.target_base[kind]
            book_growth = book / book_before - 1.0 if book_before > 0 else 0.0
            total_growth = total / total_before - 1.0 if total_before > 0 else 0.0
            gap = max(0.0, total_growth - book_growth)
            if borrowers_before > 0:
                gap += max(0.0, 1.0 - borrowers / borrowers_before)
            cap = self.model.params.policy.banking.target_gap_cap
            self.of_kind(kind).set("pressure", min(gap, cap))
        self.target_base = now

    # ------------------------------------------------------------------ phase 2
    def plan(self) -> None:
        self._count_partnerships()
        self._peer_signals()
        self._guidance()
        self.cost_guidance.apply(self.model.params.policy.banking)
        self.model.central_bank.allocate_relending(self.banks)
        counted = self.lenders.select(lambda l: l.active).groupby("kind").count()
        active = {kind: counted.get(kind, 0) for kind in self.initial_counts}
        unused = sum(b.capacity for b in self.banks if b.active)  # left after rationing
        self.banks.select(lambda b: b.active).do(
            lambda b: b.plan(active[b.kind], self.initial_counts[b.kind]))
        self._outreach(unused)
        self.bank_figures = BankFigures.of(self.banks, self._partnerships)
        self._sum_facilitated()
        self.platforms.do(lambda p: p.plan(active[p.kind], self.initial_counts[p.kind]))

    def add_repayments(self, principal_by_lender: np.ndarray) -> None:
        """Repaid principal can be lent again this quarter by platforms; banks plan the
        quarter's run-off from their balance sheet instead (Bank.plan)."""
        for platform in self.platforms:
            if platform.active and platform.channel != CH_EQUITY and platform.lends():
                platform.capacity += principal_by_lender[platform.index]

    def take_capacity(self, capacity: np.ndarray, crowd_capacity: np.ndarray) -> None:
        for lender in self.lenders:
            lender.capacity = float(capacity[lender.index])
            lender.crowd_capacity = float(crowd_capacity[lender.index])

    # ------------------------------------------------------------------ phase 8
    def close_books(self, sums, owner_draws: np.ndarray) -> None:
        """Phase 8. ``owner_draws`` is [paid to owners, of which to outside investors]
        in national 亿元."""
        model = self.model
        fiscal = model.fiscal
        outside = model.outside.account
        params = model.params
        self.transfers = []
        self.bank_figures = BankFigures.of(self.banks, self._partnerships)
        # what partner banks receive from platforms' joint loans, by bank index
        partner_out = PartnerLedger.zeros(len(self.banks))
        self._sum_facilitated()
        for platform in self.platforms:
            platform.last_partner_new = platform.last_facilitated_new = 0.0
            platform.equity_raised = 0.0
            if not platform.active and platform.book <= 0 and platform.funders_total() <= 0:
                platform.books = None
                platform.last_new = 0.0
                continue
            flows = LenderFlows.of(sums, platform.index)
            investors = platform.close_books(flows, partner_out)
            for item, amount in investors.items():
                outside.add(item, amount)
            if platform.channel == CH_EQUITY:
                crowd = sums.lender_money[platform.index, L.LF_CROWD_AMT]
                outside.add("crowdfunding_raised", crowd)
                outside.add("equity_raised", flows.nondebt - crowd)
            fiscal.pay_subsidy(flows.subsidy)
        incentive_rate = params.policy.central_bank.inclusive_incentive_rate
        support_rate = params.policy.central_bank.deferral_support_rate
        for bank in self.banks:
            if not bank.active and bank.book <= 0 and sums.lender_money[bank.index, L.LF_NEW_AMT] \
                    + sums.lender_money[bank.index, L.LF_PRINCIPAL] <= 0:
                bank.books = None
                bank.last_new = 0.0
                continue
            flows = LenderFlows.of(sums, bank.index)
            by_size = sums.lender_money_by_size[bank.index]
            net_loss_by_size = by_size[L.LF_WRITEOFF] - by_size[L.LF_RECOVERY]
            compensation = fiscal.compensate(net_loss_by_size)
            fiscal.receive_guarantee_fees(flows.guarantee_fee)
            fiscal.pay_subsidy(flows.subsidy)
            vat = fiscal.record_vat(flows.interest, flows.interest_vat_exempt)
            growth = flows.perf_end + flows.npl_end - bank.book
            incentive = (incentive_rate * max(0.0, growth) if bank.kind in SMALL_BANK_TYPES
                         else 0.0)
            model.government.account.add("inclusive_incentive", incentive)
            # the PBoC's deferral support tool: local banks get a share of the principal
            # they defer
            support = (support_rate * flows.deferred if bank.kind in SMALL_BANK_TYPES
                       else 0.0)
            model.government.account.add("deferral_support", support)
            bank.close_books(dataclasses.replace(flows, loss_compensation=compensation,
                                                 incentive=incentive,
                                                 deferral_support=support, vat=vat),
                             partner_out.share(bank.index))
        outside.add("dividends_from_stakes", float(owner_draws[1]))
        self.cost_guidance.record(sums, model.quarter)
        self.unsecured_support.record(sums)
        self._raise_capital()
        if model.quarter % 4 == 3:
            self._competition()
            self._refit_scores()
            if params.policy.banking.two_increases:
                self._update_targets(sums)
        self._resolve_failures()
        self._admit_entrants()
        self._wind_down()
        self._match_counts()
