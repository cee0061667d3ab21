"""A loan of the reference engine's SMEs (``docs/ODD.md``, 7.6 and 7.11)."""

from __future__ import annotations

from sim.categories import LOAN_PERFORMING
from sim.reference.draws import f32


class Loan:
    """One loan of a firm. ``rate`` is stored at float32 precision, like the fast engine's
    loan arrays; ``new`` marks a loan made this quarter, which owes nothing until the
    next one."""

    __slots__ = ("principal", "rate", "remaining", "term", "lender", "channel", "secured",
                 "amortizing", "status", "npl_age", "new")

    def __init__(self, principal: float, rate: float, term: int, remaining: int,
                 lender: int, channel: int, secured: bool, amortizing: bool,
                 new: bool = False):
        self.principal = principal
        self.rate = f32(rate)
        self.term = term
        self.remaining = remaining
        self.lender = lender
        self.channel = channel
        self.secured = secured
        self.amortizing = amortizing
        self.status = LOAN_PERFORMING
        self.npl_age = 0
        self.new = new

    @property
    def performing(self) -> bool:
        return self.status == LOAN_PERFORMING

    def due(self, deferral: bool) -> tuple[float, float]:
        """(interest, scheduled principal) this quarter; principal is deferred under
        ``deferral``."""
        p = self.principal
        interest = p * self.rate * 0.25
        principal = 0.0
        if not deferral:
            if self.amortizing:
                principal = p / max(1, self.remaining)
            elif self.remaining <= 1:
                principal = p
        return interest, principal
