"""The lender side of the market: builds banks and platforms, runs their planning and
book-closing, and resolves failures and admits entrants (phases 2 and 8)."""

from __future__ import annotations

import numpy as np

from sim.agents.banks import Bank, BankFigures
from sim.agents.platforms import Platform
from sim.categories import BANK_TYPES, PLATFORM_KINDS, SMALL_BANK_TYPES
from sim.kernels import layout as L
from sim.wiring import bank_loss_share


class LenderMarket:
    """All lenders of a model, indexed by a stable ``lender`` id (banks first)."""

    def __init__(self, model):
        self.model = model
        params = model.params
        region_cum = np.cumsum([params.population.regions.east,
                                params.population.regions.central,
                                params.population.regions.west])
        self.banks: list[Bank] = []
        self.bank_type_assets = {}
        for kind in BANK_TYPES:
            bp = getattr(params.banks, kind)
            if bp.count == 0:
                continue
            per_bank = bp.total_assets_yi / bp.count
            self.bank_type_assets[kind] = per_bank
            proxy = per_bank * bp.loans_to_assets * bp.sme_share_of_loans
            for k in range(bp.count):
                region = int(np.searchsorted(region_cum, (k + 0.5) / bp.count))
                bank = Bank(model, len(self.banks), kind, bp, region, proxy, per_bank)
                self.banks.append(bank)
        self.platforms: list[Platform] = []
        index = len(self.banks)
        for kind in PLATFORM_KINDS:
            pp = getattr(params.platforms, kind)
            if kind == "big_tech":
                partners = list(self.banks)
            elif kind == "online_micro":
                partners = [b for b in self.banks if b.kind in SMALL_BANK_TYPES]
            else:
                partners = []
            for k in range(max(pp.max_count, pp.count)):
                platform = Platform(model, index, kind, pp, active=k < pp.count,
                                    partners=partners)
                if kind == "crowd_equity":
                    platform.capacity = pp.investor_capacity_yi
                self.platforms.append(platform)
                index += 1
        self.lenders = self.banks + self.platforms
        # active joint-lending platforms partnering each bank (counted in phase 2)
        self._partnerships: dict[Bank, int] = {}
        # banks' figures as arrays for the platforms, rebuilt before each platform loop
        self.bank_figures: BankFigures | None = None
        self.transfers: list[tuple[int, int]] = []  # (failed, acquirer) this quarter
        self.initial_counts = {kind: sum(1 for l in self.lenders if l.kind == kind and l.active)
                               for kind in BANK_TYPES + PLATFORM_KINDS}

    # ------------------------------------------------------------------ helpers
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
            bank.loans_count = sums.lender_count[bank.index, L.LF_LOANS]
        self.bank_figures = BankFigures.of(self.banks, self._partnerships)
        for platform in self.platforms:
            platform.book_perf = money[platform.index, L.LF_BAL_PERF]
            platform.loans_count = sums.lender_count[platform.index, L.LF_LOANS]
            if platform.active and platform.channel != 3:
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
            members = [l for l in self.lenders if l.kind == kind and l.active]
            losses = balance = npl = book = 0.0
            for lender in members:
                lost, held = lender.year_losses_and_balance()
                losses += lost
                balance += held
                npl += lender.book_npl
                book += lender.book
            self.peer_loss_rate[kind] = losses / balance if balance > 0 else 0.0
            self.peer_npl[kind] = npl / book if book > 0 else 0.0

    def _refit_scores(self) -> None:
        """Once a year each kind re-calibrates the PD scale its lenders share on their
        pooled book (a small lender's own default count is mostly sampling noise).
        Inactive members (entry slots) share the fit."""
        for kind in self.initial_counts:
            members = [l for l in self.lenders if l.kind == kind]
            lent = predicted_amount = defaults = balance = 0.0
            for lender in members:
                experience = lender.score_experience() if lender.active else None
                if experience is None:
                    continue
                lent += experience[0]
                predicted_amount += experience[1]
                defaults += experience[2]
                balance += experience[3]
            active = [l for l in members if l.active]
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
            members = [b for b in self.banks if b.kind == kind and b.active]
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
            for bank in self.banks:
                if bank.kind == kind:
                    bank.pressure = min(gap, 0.5)
        self.target_base = now

    # ------------------------------------------------------------------ phase 2
    def plan(self) -> None:
        self._count_partnerships()
        self._peer_signals()
        self.model.central_bank.allocate_relending(self.banks)
        active = {kind: 0 for kind in self.initial_counts}
        for lender in self.lenders:
            active[lender.kind] += lender.active
        for bank in self.banks:
            if bank.active:
                bank.plan(active[bank.kind], self.initial_counts[bank.kind])
        self.bank_figures = BankFigures.of(self.banks, self._partnerships)
        for platform in self.platforms:
            platform.plan(active[platform.kind], self.initial_counts[platform.kind])

    def add_repayments(self, principal_by_lender: np.ndarray) -> None:
        for lender in self.lenders:
            if lender.active and lender.channel != 3:
                lender.capacity += principal_by_lender[lender.index]

    def take_capacity(self, capacity: np.ndarray) -> None:
        for lender in self.lenders:
            lender.capacity = float(capacity[lender.index])

    # ------------------------------------------------------------------ phase 8
    def _flows(self, lender, sums) -> dict:
        m = sums.lender_money[lender.index]
        c = sums.lender_count[lender.index]
        return {
            "new": m[L.LF_NEW_AMT], "interest": m[L.LF_INTEREST],
            "principal": m[L.LF_PRINCIPAL], "writeoff": m[L.LF_WRITEOFF],
            "recovery": m[L.LF_RECOVERY], "perf_end": m[L.LF_BAL_PERF],
            "npl_end": m[L.LF_BAL_NPL], "loans": c[L.LF_LOANS], "new_npl": m[L.LF_NEW_NPL],
            "new_pd_amount": m[L.LF_NEW_PD_AMT], "fees": m[L.LF_FEES],
            "nondebt": m[L.LF_NONDEBT_AMT], "new_count_nondebt": c[L.LF_APPROVALS],
            "subsidy": m[L.LF_SUBSIDY], "guarantee_fee": m[L.LF_GUARANTEE_FEE],
        }

    def close_books(self, sums, owner_draws: np.ndarray) -> None:
        """Phase 8. ``owner_draws`` is [paid to owners, of which to outside investors]
        in national 亿元."""
        model = self.model
        gov = model.government.account
        outside = model.outside.account
        params = model.params
        loss_share = bank_loss_share(params)
        rc = params.policy.fiscal.risk_compensation_share
        self.transfers = []
        self.bank_figures = BankFigures.of(self.banks, self._partnerships)
        # what partner banks receive from platforms' joint loans, by bank index
        partner_out = {item: np.zeros(len(self.banks))
                       for item in ("interest", "loss", "npl", "stock_end")}
        for platform in self.platforms:
            if not platform.active and platform.book <= 0 and platform.funders_total() <= 0:
                platform.flows = {}
                platform.last_new = 0.0
                continue
            flows = self._flows(platform, sums)
            result = platform.close_books(flows, partner_out)
            for item in ("abs_bought", "abs_principal", "abs_recovery", "abs_interest",
                         "abs_loss"):
                outside.add(item, result[item])
            if platform.channel == 3:
                crowd = sums.lender_money[platform.index, L.LF_CROWD_AMT]
                outside.add("crowdfunding_raised", crowd)
                outside.add("equity_raised", flows["nondebt"] - crowd)
            gov.add("interest_subsidy", flows["subsidy"])
        incentive_rate = params.policy.central_bank.inclusive_incentive_rate
        for bank in self.banks:
            if not bank.active and bank.book <= 0 and sums.lender_money[bank.index, L.LF_NEW_AMT] \
                    + sums.lender_money[bank.index, L.LF_PRINCIPAL] <= 0:
                bank.flows = {}
                bank.last_new = 0.0
                continue
            flows = self._flows(bank, sums)
            by_size = sums.lender_money_by_size[bank.index]
            net_loss_by_size = by_size[L.LF_WRITEOFF] - by_size[L.LF_RECOVERY]
            compensation = float((loss_share * net_loss_by_size).sum())
            risk_comp = float(rc * net_loss_by_size.sum())
            flows["loss_compensation"] = compensation
            gov.add("risk_compensation", risk_comp)
            gov.add("guarantee_payouts", compensation - risk_comp)
            gov.add("guarantee_fees", flows["guarantee_fee"])
            gov.add("interest_subsidy", flows["subsidy"])
            growth = flows["perf_end"] + flows["npl_end"] - bank.book
            incentive = (incentive_rate * max(0.0, growth) if bank.kind in SMALL_BANK_TYPES
                         else 0.0)
            flows["incentive"] = incentive
            gov.add("inclusive_incentive", incentive)
            bank.close_books(flows, {item: float(values[bank.index])
                                     for item, values in partner_out.items()})
        outside.add("dividends_from_stakes", float(owner_draws[1]))
        if model.quarter % 4 == 3:
            self._refit_scores()
            if params.policy.banking.two_increases:
                self._update_targets(sums)
        self._resolve_failures()
        self._admit_entrants()

    # ------------------------------------------------------------------ resolution, entry
    def _resolve_failures(self) -> None:
        model = self.model
        regulator = model.banking_regulator
        for lender in self.lenders:
            if not regulator.failing(lender):
                continue
            peers = [l for l in self.lenders if l.kind == lender.kind and l.active
                     and l is not lender and not regulator.failing(l)]
            shortfall = max(0.0, -lender.capital)
            if shortfall > 0:
                model.government.account.add("resolution_shortfall", shortfall)
                lender.flows["injection"] = lender.flows.get("injection", 0.0) + shortfall
                lender.capital += shortfall
            if peers:
                strongest = max(peers, key=lambda l: l.capital_ratio() if l.kind_class == 0
                                else l.capital)
                self._merge(lender, strongest)
            lender.active = False
            lender.resolved_quarter = model.quarter
            model.resolved_this_quarter += 1

    def _merge(self, failed, acquirer) -> None:
        """The acquirer takes over the failed lender's loans and balance sheet."""
        self.model.sme.reassign_loans(failed.index, acquirer.index)
        self.transfers.append((failed.index, acquirer.index))
        failed.flows["merged_out"] = failed.capital
        acquirer.book_perf += failed.book_perf
        acquirer.book_npl += failed.book_npl
        acquirer.provisions += failed.provisions
        acquirer.capital += failed.capital
        acquirer.flows["merger_capital"] = acquirer.flows.get("merger_capital", 0.0) + \
            failed.capital
        if isinstance(failed, Bank):
            for attr in ("rest_assets", "rest_loans", "deposits", "partner_stock"):
                setattr(acquirer, attr, getattr(acquirer, attr) + getattr(failed, attr))
            for platform in self.platforms:
                if failed in platform.partners:
                    k = platform.partners.index(failed)
                    if acquirer not in platform.partners:
                        platform.partners = platform.partners + [acquirer]
                        platform.partner_stock = np.append(platform.partner_stock, 0.0)
                    k2 = platform.partners.index(acquirer)
                    platform.partner_stock[k2] += platform.partner_stock[k]
                    platform.partner_stock[k] = 0.0
        else:
            acquirer.own_stock += failed.own_stock
            acquirer.abs_stock += failed.abs_stock
            for k, bank in enumerate(failed.partners):
                if bank not in acquirer.partners:
                    acquirer.partners = acquirer.partners + [bank]
                    acquirer.partner_stock = np.append(acquirer.partner_stock, 0.0)
                acquirer.partner_stock[acquirer.partners.index(bank)] += failed.partner_stock[k]
            failed.own_stock = failed.abs_stock = 0.0
            failed.partner_stock[:] = 0.0
        failed.book_perf = failed.book_npl = failed.provisions = 0.0
        failed.capital = 0.0

    def _admit_entrants(self) -> None:
        """A new platform enters a segment whose incumbents earned a high return."""
        model = self.model
        for kind in PLATFORM_KINDS:
            members = [p for p in self.platforms if p.kind == kind]
            active = [p for p in members if p.active]
            # a slot freed by a resolution this quarter is taken up from the next one
            idle = [p for p in members if not p.active and p.book <= 0
                    and p.funders_total() <= 0 and p.resolved_quarter != model.quarter]
            if not active or not idle:
                continue
            roe = np.mean([p.annual_roe() for p in active])
            recent = [p.entered_quarter for p in members if p.entered_quarter is not None]
            if recent and model.quarter - max(recent) < 4:
                continue
            if roe <= members[0].params.entry_roe_threshold:
                continue
            entrant = idle[0]
            entrant.forget()
            # what a run-off predecessor left in the slot goes back to its owners
            leftover = entrant.capital
            if leftover:
                model.outside.account.add("platform_capital", -leftover)
            entrant.active = True
            entrant.capital = entrant.capital_initial = entrant.params.net_assets_yi
            entrant.pd_scale = float(np.mean([p.pd_scale for p in active]))
            entrant.appetite = entrant.params.appetite_el_annual
            entrant.entered_quarter = model.quarter
            entrant.flows = {"injection": entrant.capital, "payout": leftover}
            model.outside.account.add("platform_capital", entrant.capital)

