"""Cost-of-financing guidance (ODD 7.15): a yearly target for the fall of the rate
banks charge on new inclusive loans.

The government asked banks to cut small firms' financing cost by a stated amount against
the year before (−1pp in 2019, over 1pp more in 2020). The target is a penalty in a
bank's objective, never a rate set for it: a bank type whose average rate on new SME
loans last quarter is above last year's average less the target cuts its margin
(Bank.plan). Rates are pooled over the bank type, as the other guidance signals are (see
LenderMarket), so that the signal is not sampling noise of a few borrowers.
"""

from __future__ import annotations

from sim.kernels import layout as L


class CostGuidance:
    """Each bank type's average rate on new SME loans over the last year and the last
    quarter, and the gap to the year's target that it sets on the type's banks."""

    def __init__(self, market):
        self.market = market
        self.year_rate: dict[str, float] = {}      # last full year's average, by type
        self.last_rate: dict[str, float] = {}      # last quarter's average, by type
        self._year_sums: dict[str, list[float]] = {}

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
        """Phase 2: how far (annual rate) each bank type's rate last quarter is above last
        year's average less ``banking.cost_target_fall_annual``; 0 without a target."""
        fall = banking.cost_target_fall_annual
        for kind in self.market.bank_type_assets:
            gap = 0.0
            if fall > 0 and kind in self.year_rate and kind in self.last_rate:
                gap = max(0.0, self.last_rate[kind] - (self.year_rate[kind] - fall))
            self.market.of_kind(kind).set("cost_gap", gap)
