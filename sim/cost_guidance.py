"""Cost-of-financing guidance (ODD 7.15): a yearly target for the fall of the rate
banks charge on new inclusive loans.

The government asked banks to cut small firms' financing cost by a stated amount against
the year before (−1pp in 2019, over 1pp more in 2020). The target is a penalty in a
bank's objective, never a rate set for it: a bank type whose average rate on new SME
loans last quarter is above last year's average less the target deepens the cut it makes
in its margin (Bank.plan), and one below it eases the cut, so the cut settles where the
target is met rather than switching on and off quarter by quarter. Once no target is
set, the cut relaxes. Rates are pooled over the bank type, as the other guidance signals
are (see LenderMarket), so that the signal is not sampling noise of a few borrowers.
"""

from __future__ import annotations

from sim.kernels import layout as L


class CostGuidance:
    """Each bank type's average rate on new SME loans over the last year and the last
    quarter, and the margin cut (annual rate) it sets on the type's banks."""

    def __init__(self, market):
        self.market = market
        self.year_rate: dict[str, float] = {}      # last full year's average, by type
        self.last_rate: dict[str, float] = {}      # last quarter's average, by type
        self._year_sums: dict[str, list[float]] = {}
        self.cut: dict[str, float] = {}            # margin cut, by type

    def record(self, sums, quarter: int) -> None:
        """Phase 8: add the quarter's new bank lending (Σ rate × amount, amount) by type;
        at the end of a year, the year's average becomes the reference."""
        money = sums.lender_money
        for kind in self.market.bank_type_assets:
            rows = [bank.index for bank in self.market.of_kind(kind)]
            rate_amount = float(money[rows, L.LF_NEW_RATE_AMT].sum())
            amount = float(money[rows, L.LF_NEW_AMT].sum())
            if amount > 0:
                self.last_rate[kind] = rate_amount / amount
            year = self._year_sums.setdefault(kind, [0.0, 0.0])
            year[0] += rate_amount
            year[1] += amount
            if quarter % 4 == 3:
                if year[1] > 0:
                    self.year_rate[kind] = year[0] / year[1]
                year[0] = year[1] = 0.0

    def apply(self, banking) -> None:
        """Phase 2: each bank type's margin cut (annual rate). Under a target
        (``banking.cost_target_fall_annual``) it moves by ``cost_target_pressure`` × how
        far the type's rate last quarter is above last year's average less the target
        (negative below it), never below 0 nor above the type's widest margin before the
        cut last quarter (a cut that already takes the whole margin stops growing, so it
        eases as soon as the target is met); without one it relaxes by
        ``cost_cut_relax_quarterly``."""
        fall = banking.cost_target_fall_annual
        for kind in self.market.bank_type_assets:
            cut = self.cut.get(kind, 0.0)
            if fall > 0 and kind in self.year_rate and kind in self.last_rate:
                gap = self.last_rate[kind] - (self.year_rate[kind] - fall)
                cut = max(0.0, cut + banking.cost_target_pressure * gap)
                widest = max((bank.margin_before_cut for bank in self.market.of_kind(kind)
                              if bank.active), default=cut)
                cut = min(cut, max(widest, 0.0))
            else:
                cut *= 1.0 - banking.cost_cut_relax_quarterly
            self.cut[kind] = cut
            self.market.of_kind(kind).set("cost_cut", cut)
