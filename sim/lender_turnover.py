"""Lenders coming and going (phase 8, after the books close): lending platforms raise
capital when returns allow, failed lenders are resolved (merged into a peer or sold),
platforms enter where returns draw them, lender counts follow their schedules, and a kind
closed to new lending runs its book off. :class:`LenderTurnover` is a part of
:class:`sim.lenders_market.LenderMarket`, split off to keep each file to one concept."""

from __future__ import annotations

import numpy as np

from sim.agents.banks import Bank
from sim.agents.books import QuarterBooks
from sim.agents.nonbank import P2PPlatform
from sim.categories import CH_EQUITY, NONBANK_KINDS, PLATFORM_KINDS


def _merge_support(acquirer, failed) -> None:
    """The central bank's funding under the unsecured-loan support plan moves with the
    loans it funds: each quarter's purchase the failed bank holds is added to the
    acquirer's of the same quarter, and runs off on the same date (every bank's record
    gets one entry a quarter, so the two line up)."""
    for k, amount in enumerate(failed.support_purchases):
        acquirer.support_purchases[k] += amount
    failed.support_purchases.clear()


class LenderTurnover:
    """Capital raising, resolution, entry, scheduled counts and wind-down of the lenders
    of a :class:`~sim.lenders_market.LenderMarket` (which provides ``model``,
    ``lenders``, ``platforms``, ``of_kind``, ``_scheduled_count``, ``transfers``,
    ``counts_applied`` and ``closed_since``)."""

    # ------------------------------------------------------------------ capital raising
    def _raise_capital(self) -> None:
        """A lending platform whose return on equity is above
        ``raise_roe_threshold`` and whose capacity bound this quarter (what was left at
        the end of the credit round at most ``raise_slack`` of what it planned) raises new
        equity from the outside sector, ``raise_rate_quarterly`` of its capital. Its ABS
        funding grows with it: the securitised part of its own book, which the leverage
        cap (``platform_own_book_cap``) counts, may grow with the new equity."""
        outside = self.model.outside.account
        for platform in self.platforms:
            p = platform.params
            if (not platform.active or platform.channel == CH_EQUITY or not platform.lends()
                    or p.raise_rate_quarterly <= 0 or platform.books is None
                    or platform.capital <= 0 or platform.capacity_planned <= 0):
                continue
            if platform.capacity > p.raise_slack * platform.capacity_planned:
                continue
            if platform.annual_roe() <= p.raise_roe_threshold:
                continue
            amount = p.raise_rate_quarterly * platform.capital
            platform.capital += amount
            platform.books.injection += amount
            platform.equity_raised = amount
            outside.add("platform_capital", amount)

    # ------------------------------------------------------------------ resolution, entry
    def _resolve_failures(self) -> None:
        model = self.model
        regulator = model.banking_regulator
        for lender in self.lenders:
            if not regulator.failing(lender):
                continue
            peers = list(self.of_kind(lender.kind, active_only=True).select(
                lambda l: l is not lender and not regulator.failing(l)))
            shortfall = max(0.0, -lender.capital)
            if shortfall > 0:
                model.government.account.add("resolution_shortfall", shortfall)
                lender.books.injection += shortfall
                lender.capital += shortfall
            if peers:
                strongest = max(peers, key=lambda l: l.capital_ratio()
                                if l.bank_licence else l.capital)
                self._merge(lender, strongest)
            lender.active = False
            lender.resolved_quarter = model.quarter
            model.resolved_this_quarter += 1

    def _merge(self, failed, acquirer) -> None:
        """The acquirer takes over the failed lender's loans and balance sheet."""
        self.model.sme.reassign_loans(failed.index, acquirer.index)
        # the stock-flow check replays these
        self.transfers.append((failed.index, acquirer.index))
        failed.books.merged_out = failed.capital
        acquirer.book_perf += failed.book_perf
        acquirer.book_npl += failed.book_npl
        acquirer.provisions += failed.provisions
        acquirer.capital += failed.capital
        acquirer.books.merger_capital += failed.capital
        if isinstance(failed, Bank):
            for attr in ("rest_assets", "rest_loans", "deposits", "partner_stock",
                         "tech_stock"):
                setattr(acquirer, attr, getattr(acquirer, attr) + getattr(failed, attr))
            _merge_support(acquirer, failed)
            for platform in self.platforms:
                if failed in platform.partners:
                    k = platform.partners.index(failed)
                    if acquirer not in platform.partners:
                        platform.partners = platform.partners + [acquirer]
                        platform.partner_stock = np.append(platform.partner_stock, 0.0)
                        platform.facil_stock = np.append(platform.facil_stock, 0.0)
                    k2 = platform.partners.index(acquirer)
                    platform.partner_stock[k2] += platform.partner_stock[k]
                    platform.partner_stock[k] = 0.0
                    platform.facil_stock[k2] += platform.facil_stock[k]
                    platform.facil_stock[k] = 0.0
        else:
            acquirer.own_stock += failed.own_stock
            acquirer.abs_stock += failed.abs_stock
            if isinstance(failed, P2PPlatform):
                acquirer.investor_stock += failed.investor_stock
                failed.investor_stock = 0.0
            for k, bank in enumerate(failed.partners):
                if bank not in acquirer.partners:
                    acquirer.partners = acquirer.partners + [bank]
                    acquirer.partner_stock = np.append(acquirer.partner_stock, 0.0)
                    acquirer.facil_stock = np.append(acquirer.facil_stock, 0.0)
                acquirer.partner_stock[acquirer.partners.index(bank)] += failed.partner_stock[k]
                acquirer.facil_stock[acquirer.partners.index(bank)] += failed.facil_stock[k]
            failed.own_stock = failed.abs_stock = 0.0
            failed.partner_stock[:] = 0.0
            failed.facil_stock[:] = 0.0
        failed.book_perf = failed.book_npl = failed.provisions = 0.0
        failed.capital = 0.0

    def _admit_entrants(self) -> None:
        """A new platform enters a segment whose incumbents earned a high return."""
        model = self.model
        for kind in PLATFORM_KINDS:
            if not getattr(model.params.platforms, kind).open:
                continue   # a kind closed to new lending takes no entrants
            members = list(self.of_kind(kind))
            active = [p for p in members if p.active]
            # a slot freed by a resolution this quarter is taken up from the next one
            idle = [p for p in members if not p.active and p.book <= 0
                    and p.funders_total() <= 0 and p.resolved_quarter != model.quarter]
            if not active or not idle:
                continue
            roe = np.mean([p.annual_roe() for p in active])
            recent = [p.entered_quarter for p in members if p.entered_quarter is not None]
            interval = members[0].params.entry_interval_quarters
            if recent and model.quarter - max(recent) < interval:
                continue
            if roe <= members[0].params.entry_roe_threshold:
                continue
            self._enter(idle[0], active)

    def _enter(self, entrant, active: list) -> None:
        """Platform ``entrant`` (an idle slot) starts lending with fresh capital from
        outside investors; it adopts the score scale of its kind's ``active`` lenders."""
        model = self.model
        entrant.forget()
        # what a run-off predecessor left in the slot goes back to its owners
        leftover = entrant.capital
        if leftover:
            model.outside.account.add("platform_capital", -leftover)
        entrant.active = True
        entrant.capital = entrant.capital_initial = entrant.params.net_assets_yi
        entrant.pd_scale = float(np.mean([p.pd_scale for p in active])) if active else \
            entrant.pd_scale
        entrant.appetite = entrant.params.appetite_el_annual
        entrant.entered_quarter = model.quarter
        entrant.books = QuarterBooks(injection=entrant.capital, returned=leftover)
        model.outside.account.add("platform_capital", entrant.capital)

    # ------------------------------------------------------------------ schedules
    def _match_counts(self) -> None:
        """A scheduled change of ``platforms.<kind>.count`` (``banks.digital_bank.count``
        for digital banks, whose every slot holds its balance sheet from the start) takes
        effect at the quarter's
        close: inactive slots are activated in index order (a deactivated lender lends
        again with the capital it kept, an empty slot enters with fresh capital), or the
        last active lenders deactivated (their books run off), up to the kind's slots. Counts only
        move when the scheduled count changes, so entry and resolution are not undone."""
        for kind, applied in self.counts_applied.items():
            target = self._scheduled_count(kind)
            if target == applied:
                continue
            self.counts_applied[kind] = target
            members = list(self.of_kind(kind))
            active = [p for p in members if p.active]
            if len(active) > target:
                for platform in active[target:]:
                    platform.active = False
                continue
            for platform in members:
                if len(active) >= target:
                    break
                if platform.active:
                    continue
                if platform.capital > 0 and platform.resolved_quarter is None:
                    platform.active = True   # a deactivated lender lends again
                elif not platform.bank_licence and platform.book <= 0 \
                        and platform.funders_total() <= 0 \
                        and platform.books is None:
                    self._enter(platform, active)   # an empty slot: fresh capital
                else:
                    continue
                active.append(platform)

    def _wind_down(self) -> None:
        """A kind closed to new lending runs its book off; at the close of the
        ``wind_down_quarters``-th quarter since it closed, what is left is sold to the
        largest open lender of its channel at ``wind_down_recovery`` of its face (the
        buyer holds the discount as provisions); investors of a P2P platform take the
        rest as a loss, and the lenders close (their capital goes back to the owners)."""
        model = self.model
        outside = model.outside.account
        for kind in PLATFORM_KINDS + NONBANK_KINDS:   # platforms only: banks are not closed
            pp = getattr(model.params.platforms, kind)
            if pp.open:
                self.closed_since.pop(kind, None)
                continue
            since = self.closed_since.setdefault(kind, model.quarter)
            if model.quarter - since < pp.wind_down_quarters - 1:
                continue
            for lender in self.of_kind(kind):
                if lender.book <= 0 and lender.funders_total() <= 0 and not lender.active:
                    continue
                if lender.book > 0 or lender.funders_total() > 0:
                    buyers = [l for l in self.platforms if l.active and l.lends()
                              and l.kind != kind and l.channel == lender.channel]
                    if not buyers:
                        continue  # nobody to sell to: the book keeps running off
                    buyer = max(buyers, key=lambda l: l.capital)
                    self._sell_rest(lender, buyer, pp.wind_down_recovery, outside)
                if lender.books is None:
                    lender.books = QuarterBooks()
                outside.add("platform_capital", -lender.capital)
                lender.books.merged_out += lender.capital
                lender.capital = 0.0
                lender.active = False
                lender.resolved_quarter = model.quarter

    def _sell_rest(self, seller, buyer, recovery: float, outside) -> None:
        """``buyer`` takes over the loans ``seller`` still holds at ``recovery`` of their
        face; the stock-flow check follows the transfer."""
        self.model.sme.reassign_loans(seller.index, buyer.index)
        self.transfers.append((seller.index, buyer.index))
        face = seller.book
        if isinstance(seller, P2PPlatform):
            paid, lost = seller.hand_over_funding(recovery)
            outside.add("p2p_resolution_paid", paid)
            outside.add("p2p_loss", lost)
            buyer.provisions += lost
        else:
            # a lender funding its own book sells it at what it carries it for
            buyer.provisions += seller.provisions
        buyer.own_stock += face
        buyer.book_perf += seller.book_perf
        buyer.book_npl += seller.book_npl
        seller.own_stock = seller.abs_stock = 0.0
        seller.partner_stock[:] = 0.0
        seller.facil_stock[:] = 0.0
        seller.book_perf = seller.book_npl = seller.provisions = 0.0
