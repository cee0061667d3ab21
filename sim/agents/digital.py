"""Licensed digital banks (MYbank/网商银行, WeBank/微众银行 type).

A bank licence: funded like a bank (deposits and interbank money at a spread over the
LPR), held to the banks' capital and liquidity rules (CAR on risk-weighted assets,
reserves), closing its books as a bank. Online-only: it lends through the online
channel, small and unsecured, screening on the digital data of the big-tech group it is
part of as the online platforms do, so firms find it as they find a platform, by its net
assets (its user base), not by the size of its balance sheet, and anywhere in China.
"""

from __future__ import annotations

from sim.agents.banks import Bank
from sim.categories import CH_ONLINE, KIND_ONLINE


class DigitalBank(Bank):
    kind_class = KIND_ONLINE
    channel = CH_ONLINE

    def lending_region(self) -> int:
        return -1  # no branches: every region is reached online

    def reach(self) -> float:
        """How likely a firm is to find it among the online lenders: its net assets, as
        for a platform."""
        return max(self.capital, 0.0)
