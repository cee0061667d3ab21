"""The reference SME's part in the credit rounds (phase 6, ``docs/ODD.md`` 7.8–7.10):
it chooses a channel and a lender and applies, then takes the loan, stake or credit line
it is offered, or notes who turned it down. :class:`SMECredit` is a part of
:class:`sim.reference.sme.SME`, kept apart so that each file holds one phase group; the
fast engine's counterparts are :mod:`sim.kernels.credit` and :mod:`sim.kernels.book`."""

from __future__ import annotations

import math

from sim import rng
from sim.categories import CH_BANK, CH_EQUITY, CH_ONLINE, CH_SUPPLY_CHAIN, CHANNELS, GROUP_SECTOR
from sim.kernels import layout as L
from sim.reference import informal
from sim.reference.credit import limits, nondebt_channel, pick_lender, screen
from sim.reference.draws import f32, key, risk_band, uniform
from sim.reference.loans import Loan


class SMECredit:
    """Phase 6 of :class:`~sim.reference.sme.SME` (which provides its attributes,
    ``loans`` and the bookkeeping helpers ``_to_lender`` and ``_to_groups``)."""

    # ------------------------------------------------------------------ phase 6
    def apply(self, cp, table):
        """Choose a channel (multinomial logit) and a lender in it, and apply (ODD 7.8,
        7.9); the lender's screening and offer is :func:`sim.reference.credit.screen`.
        Returns the :class:`~sim.reference.credit.Offer`, or None if the firm does not
        apply this round."""
        if not self.alive or self.need <= 0.0:
            return None
        limit = limits(self, cp)
        choice = self.choose_lender(cp, table, limit)
        if choice is None:
            return None
        channel, lender = choice
        self._to_lender(lender, L.LF_APPS, 1.0)
        if self.collateral <= 0.0:
            self._to_lender(lender, L.LF_APPS_NO_COLLATERAL, 1.0)
        self._to_groups(L.GM_APPS, 1.0)
        return screen(self, channel, lender, cp, table, limit)

    def relations(self) -> list[int]:
        """The lender of a performing loan, by channel (-1 if none)."""
        relation = [-1] * len(CHANNELS)
        for loan in self.loans:
            if loan is not None and loan.performing:
                relation[loan.channel] = loan.lender
        return relation

    def channel_weights(self, cp, table, relation: list[int], limit) -> list[float]:
        """exp(utility) of each channel, 0 where it is out of reach; ``limit`` is what
        lenders would lend without collateral (:func:`sim.reference.credit.limits`)."""
        free_slot = None in self.loans
        nondebt = nondebt_channel(self, cp, table)
        band = risk_band(self.quality)
        weights = []
        for c in range(len(CHANNELS)):
            if nondebt >= 0:
                closed = c != nondebt   # an outside stake sought: only its channel
            else:
                closed = (c >= CH_EQUITY or not free_slot
                          or (c == CH_SUPPLY_CHAIN and self.anchor < 0)
                          or table.choice_n[c][self.region] == 0)
            # a firm that took a bank's offered line this quarter draws on a bank
            if closed or (self.offered and c != CH_BANK):
                weights.append(0.0)
                continue
            w = cp.channel_weight[c][band]
            if c == CH_ONLINE:
                # its own footprint, and trust from sector peers who use online credit
                w *= math.exp(cp.digital_sensitivity * self.digital
                              + cp.online_trust * cp.online_use[GROUP_SECTOR + self.sector])
            if relation[c] >= 0 and relation[c] != self.rejected_by:
                w *= cp.relationship_factor
            if c <= CH_SUPPLY_CHAIN:
                # firms know roughly how much a channel lends to a firm like them and
                # avoid one that would cover only part of the need
                if c == CH_BANK:
                    reach = max(limit.unsecured, self.collateral * cp.collateral_ltv)
                elif c == CH_ONLINE:
                    reach = min(cp.online_cap_wan, cp.online_limit_q * self.revenue)
                else:
                    reach = limit.receivable
                if reach < self.need:
                    w *= math.exp(cp.coverage_sensitivity
                                  * math.log(max(reach, 1e-6) / self.need))
                # short online and receivable finance is a poor match for a project
                if c != CH_BANK and self.invest:
                    w *= cp.mismatch_factor
            weights.append(w)
        return weights

    def choose_lender(self, cp, table, limit) -> tuple[int, int] | None:
        """(channel, lender) of this round's application, or None."""
        relation = self.relations()
        weights = self.channel_weights(cp, table, relation, limit)
        total = 0.0
        for w in weights:
            total += w
        if total <= 0.0:
            return None
        target = uniform(key(cp.seed, rng.S_CHANNEL, cp.quarter), self.uid, 0, cp.round) * total
        channel = -1
        for c, w in enumerate(weights):
            if w > 0.0:
                channel = c
                target -= w
                if target < 0.0:
                    break
        # a firm goes back to the lender it already borrows from in the channel
        if relation[channel] >= 0 and relation[channel] != self.rejected_by:
            lender = relation[channel]
        else:
            u = uniform(key(cp.seed, rng.S_LENDER, cp.quarter), self.uid, channel, cp.round)
            lender = pick_lender(table, channel, self.region, u, self.rejected_by)
        if lender < 0 or not table.active[lender]:
            return None
        return channel, lender

    def accept(self, offer, cp, table) -> None:
        """Take a funded offer: a loan in a free slot, or equity or crowdfunding money;
        an investment is spent on the project (ODD 7.13)."""
        j, c, amount = offer.lender, offer.channel, offer.amount
        self._to_lender(j, L.LF_APPROVALS, 1.0)
        if self.collateral <= 0.0:
            self._to_lender(j, L.LF_APPROVALS_NO_COLLATERAL, 1.0)
        self._to_groups(L.GM_APPROVALS, 1.0)
        fee = amount * table.fee_rate[j] if c >= CH_EQUITY else 0.0
        spent = 0.0
        if self.invest:
            spent = min(amount - fee, cp.invest_size * self.revenue)
            self.log_trend = f32(self.log_trend + cp.invest_return * spent
                                 / max(4.0 * self.revenue, 1e-9))
            self.invest = False
        if c >= CH_EQUITY:
            self.cash += amount - fee - spent
            if c == CH_EQUITY:
                value = cp.valuation_years * 4.0 * self.revenue
                self.outside_stake = f32(1.0 - (1.0 - self.outside_stake) * value
                                         / (value + amount))
            else:
                self._to_lender(j, L.LF_CROWD_AMT, amount)
            self._to_lender(j, L.LF_NONDEBT_AMT, amount)
            self._to_lender(j, L.LF_FEES, fee)
            self._to_groups(L.GM_NEW_NONDEBT, amount)
        else:
            self._take_loan(offer, cp, spent, table.kind[j])
            if self.refinance:
                informal.repay_from_loan(self, self.need, amount)
        self.need = max(0.0, self.need - amount)
        if self.need < cp.min_loan_wan:
            self.need = 0.0

    def _take_loan(self, offer, cp, spent: float, kind: int) -> None:
        j, c, amount = offer.lender, offer.channel, offer.amount
        if c == CH_BANK:
            # a bank finances a project with a term loan repaid in instalments
            term, amortizing = (cp.maturity[1], True) if spent > 0.0 else (cp.maturity[0], False)
        elif c == CH_ONLINE:
            term, amortizing = cp.maturity[2], True
        else:
            term, amortizing = cp.maturity[3], False
        loan = Loan(amount, offer.rate, term, term, j, c, offer.secured, amortizing,
                    (cp.vat_exempt_rate, cp.vat_exempt_max_wan), new=True)
        pos = 0 if self.loans[0] is None else 1
        self.loans[pos] = loan
        self.cash += amount - spent
        rate = loan.rate
        self._to_lender(j, L.LF_NEW_AMT, amount)
        self._to_lender(j, L.LF_NEW_COUNT, 1.0)
        self._to_lender(j, L.LF_NEW_RATE_AMT, rate * amount)
        self._to_lender(j, L.LF_NEW_PD_AMT, offer.pd * amount)
        if offer.secured:
            self._to_lender(j, L.LF_NEW_SECURED, amount)
        band = risk_band(self.quality)
        self.model.acc.band[self.block, kind, band, L.BAND_AMT] += amount
        self.model.acc.band[self.block, kind, band, L.BAND_RATE_AMT] += rate * amount
        first = not self.reported_loan and offer.reports_to_bureau
        if first:
            self.reported_loan = True
            self._to_lender(j, L.LF_NEW_FIRST, 1.0)
        acc = self.model.acc.group
        for g in self.groups:
            cell = acc[self.block, g, self.size]
            cell[L.GM_NEW_DEBT] += amount
            cell[L.GM_RATE_AMT] += rate * amount
            if not offer.secured:
                cell[L.GM_UNSECURED] += amount
            if first:
                cell[L.GM_FIRST_TIME] += 1.0

    def turned_down(self, lender: int, cp) -> None:
        """The next round goes elsewhere; after the last round the firm is discouraged."""
        self.rejected_by = lender
        if cp.last_round:
            self.discouraged = cp.discouraged_quarters
