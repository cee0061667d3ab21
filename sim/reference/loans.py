"""A loan of the reference engine's SMEs (``docs/ODD.md``, 7.6 and 7.11)."""

from __future__ import annotations

from sim.categories import CH_BANK, LOAN_PERFORMING
from sim.reference.draws import f32


def vat_eligible(channel: int, amount: float, rate: float, exempt_rate: float,
                 exempt_max_wan: float) -> bool:
    """Whether a loan's terms when made qualify its interest for the VAT exemption on
    small loans: a bank loan at most ``exempt_rate`` (−1 when the exemption is off) and
    ``exempt_max_wan`` (as :func:`sim.kernels.book.vat_eligible`)."""
    return channel == CH_BANK and rate <= exempt_rate and amount <= exempt_max_wan


class Loan:
    """One loan of a firm. ``rate`` is stored at float32 precision, like the fast engine's
    loan arrays; ``new`` marks a loan made this quarter, which owes nothing until the
    next one; ``deferred`` a bank loan in the deferral programme (ODD 7.6);
    ``vat_eligible`` one whose terms qualify its interest for the VAT exemption, given by
    ``vat_terms`` (the exempt rate and largest amount, as :func:`vat_eligible` reads them)."""

    __slots__ = ("principal", "rate", "remaining", "term", "lender", "channel", "secured",
                 "amortizing", "deferred", "status", "npl_age", "new", "vat_eligible")

    def __init__(self, principal: float, rate: float, term: int, remaining: int,
                 lender: int, channel: int, secured: bool, amortizing: bool,
                 vat_terms: tuple[float, float], new: bool = False):
        self.principal = principal
        self.rate = f32(rate)
        self.term = term
        self.remaining = remaining
        self.lender = lender
        self.channel = channel
        self.secured = secured
        self.amortizing = amortizing
        self.deferred = False
        self.status = LOAN_PERFORMING
        self.npl_age = 0
        self.new = new
        self.vat_eligible = vat_eligible(channel, principal, self.rate, *vat_terms)

    @property
    def performing(self) -> bool:
        return self.status == LOAN_PERFORMING

    def due(self, defer_interest: bool) -> tuple[float, float]:
        """(interest, scheduled principal) paid in cash this quarter: a deferred loan
        owes no principal, nor interest while ``defer_interest``."""
        p = self.principal
        interest = 0.0 if defer_interest and self.deferred else p * self.rate * 0.25
        principal = 0.0
        if not self.deferred:
            if self.amortizing:
                principal = p / max(1, self.remaining)
            elif self.remaining <= 1:
                principal = p
        return interest, principal

    def capitalise_interest(self) -> float:
        """The quarter's interest of a deferred loan is not paid now but added to its
        principal; returns it (万元)."""
        interest = self.principal * self.rate * 0.25
        self.principal += interest
        return interest
