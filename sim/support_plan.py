"""The unsecured-loan support plan (普惠小微企业信用贷款支持计划, June 2020 to end-2021;
ODD 7.15): the central bank funds a share of the principal of local banks' new unsecured
SME loans, within a quota.

While ``policy.central_bank.unsecured_support_share`` is above 0 and the quota
``unsecured_support_quota_yi`` is not used up, a city commercial or rural bank prices an
unsecured loan on funding that is that share cheaper (at the re-lending rate, Bank.plan),
and at each close the central bank funds that share of its new unsecured lending. A
bank holds each quarter's funding ``unsecured_support_quarters`` quarters; it lowers the
bank's funding cost and adds to its liquidity room like re-lending.
"""

from __future__ import annotations

from sim.categories import SMALL_BANK_TYPES
from sim.kernels import layout as L


class UnsecuredSupport:
    """The plan's quota used so far (亿元) and each quarter's purchases by bank."""

    def __init__(self, market):
        self.market = market
        self.used = 0.0

    def open_to(self, bank) -> bool:
        """Whether the plan funds ``bank``'s new unsecured loans this quarter."""
        cb = bank.model.params.policy.central_bank
        return (cb.unsecured_support_share > 0 and self.used < cb.unsecured_support_quota_yi
                and bank.active and bank.kind in SMALL_BANK_TYPES)

    def record(self, sums) -> None:
        """Phase 8: the central bank funds its share of each eligible bank's new unsecured
        loans (亿元), pro rata if the quota left does not cover all of them."""
        banks = list(self.market.banks)
        money = sums.lender_money
        cb = self.market.model.params.policy.central_bank
        wanted = [cb.unsecured_support_share * max(0.0, money[b.index, L.LF_NEW_AMT]
                                                   - money[b.index, L.LF_NEW_SECURED])
                  if self.open_to(b) else 0.0 for b in banks]
        total = sum(wanted)
        scale = min(1.0, (cb.unsecured_support_quota_yi - self.used) / total) \
            if total > 0 else 0.0
        for bank, amount in zip(banks, wanted):
            bank.support_purchases.append(amount * scale)
        self.used += total * scale
