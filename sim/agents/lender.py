"""What banks and platforms share: appetite, score re-fit, pricing margin, provisions.

Money here is national 亿元. A lender's quarter has two halves: ``plan`` (phase 2) sets
funding cost, capacity, appetite and prices; ``close_books`` (phase 8) takes the flows
the kernels accumulated and moves the balance sheet. Each close records its P&L in
``self.books`` so that :mod:`sim.accounting` can check the books independently.
"""

from __future__ import annotations

from collections import deque

import mesa
import numpy as np

from sim.agents.base import Agent
from sim.agents.books import QuarterBooks
from sim.categories import ALL_KINDS

# Risk weights next to zero (a legal 1e-320) leave a bank almost no risk-weighted assets
# and its capital ratio past the largest float; capped here, far above any real bank's
# (Chinese banks ~10-20%), it stays a number in decisions and in the results.
CAPITAL_RATIO_CAP = 1e6


def capped_ratio(capital: float, base: float) -> float:
    """Capital ÷ ``base`` (a bank's risk-weighted assets, a platform's own book): 0
    without a base, at most :data:`CAPITAL_RATIO_CAP`."""
    if base <= 0:
        return 0.0
    # compared before dividing, which would overflow
    if capital >= CAPITAL_RATIO_CAP * base:
        return CAPITAL_RATIO_CAP
    return capital / base


class Lender(Agent):
    """Base for :class:`~sim.agents.banks.Bank` and :class:`~sim.agents.platforms.Platform`."""

    kind: str
    kind_class: int  # one of categories.KIND_BANK ... KIND_CROWD
    reports_to_bureau: bool = True  # its loans give a borrower a credit-bureau file
    # a bank's balance sheet and capital rules (banks, and licensed digital banks, which
    # lend through the online channel)
    bank_licence: bool = False
    channel: int

    def __init__(self, model: mesa.Model, index: int, kind: str, params, active: bool):
        super().__init__(model)
        self.index = index
        self.kind = kind
        self.kind_index = ALL_KINDS.index(kind)  # its row in per-kind tables
        self.params = params
        self.name = f"{kind}_{index:03d}"
        self.active = active
        self.capital = 0.0
        self.capital_initial = 0.0
        self.provisions = 0.0
        self.capacity = 0.0
        # crowdfunding investors' funds a crowd/equity platform can still place this
        # quarter (亿元); its ``capacity`` is then equity investors' funds
        self.crowd_capacity = 0.0
        self.funding_cost = 0.0
        self.margin = params.margin_annual
        self.appetite = params.appetite_el_annual
        self.alpha = model.params.credit.score_intercept
        self.pd_scale = 1.0  # calibration of the scorecard's PDs to realised defaults
        self.rate_cap = 1.0
        # the lender's own originated book as the kernels last counted it (亿元)
        self.book_perf = 0.0
        self.book_npl = 0.0
        self.loans_count = 0.0
        # a year of experience for appetite and the score re-fit
        self.loss_history: deque = deque(maxlen=4)
        self.balance_history: deque = deque(maxlen=4)
        self.new_history: deque = deque(maxlen=4)
        self.new_pd_history: deque = deque(maxlen=4)
        self.default_history: deque = deque(maxlen=4)
        self.income_history: deque = deque(maxlen=4)
        # what moved capital this quarter; None while the lender has nothing to close
        self.books: QuarterBooks | None = None
        self.resolved_quarter: int | None = None
        self.last_new = 0.0

    def lending_region(self) -> int:
        """Region the lender is confined to, or -1 for national lenders."""
        return -1

    def unsecured_funding_cost(self) -> float:
        """Annual funding cost the lender prices an unsecured loan on (a bank's is lower
        under the unsecured-loan support plan)."""
        return self.funding_cost

    def tech_factor(self) -> float:
        """How far the lender's own technology carries a bank's big-data scoring (1 for
        lenders that do not score that way, see Bank.tech_factor)."""
        return 1.0

    def lends(self) -> bool:
        """Whether the lender's kind is open to new lending."""
        return True

    def forget(self) -> None:
        """Clear the experience of a previous occupant of this slot (an entrant)."""
        for history in (self.loss_history, self.balance_history, self.new_history,
                        self.new_pd_history, self.default_history, self.income_history):
            history.clear()
        self.provisions = 0.0
        self.last_new = 0.0

    # ------------------------------------------------------------------ helpers
    @property
    def book(self) -> float:
        return self.book_perf + self.book_npl

    def adjust_appetite(self, base: float, pressure: float = 0.0) -> None:
        """Move appetite part of the way toward a target set by last year's losses.

        Bounds keep one bad year from starting a doom loop, and a good year from
        unlimited risk-taking.
        """
        credit = self.model.params.credit
        expected = max(base, 1e-6)
        # last year's loss rate pooled over the lender's kind (see LenderMarket.plan)
        loss_rate = self.model.market.peer_loss_rate.get(self.kind, 0.0)
        excess = max(0.0, loss_rate / expected - 1.0)
        target = base * (1.0 + pressure) * (1.0 - credit.appetite_loss_sensitivity * excess)
        target = min(max(target, credit.appetite_floor * base), credit.appetite_ceiling * base)
        self.appetite += credit.appetite_speed * (target - self.appetite)

    def score_experience(self) -> tuple[float, float, float, float] | None:
        """(amount lent, Σ predicted PD × amount, defaults, mean book) over the last year,
        or None without a full year of experience."""
        lent = sum(self.new_history)
        if lent <= 0 or len(self.default_history) < 4:
            return None
        balance = sum(self.balance_history) / len(self.balance_history)
        return lent, sum(self.new_pd_history), sum(self.default_history), balance

    def refit_score(self, predicted: float, realised: float) -> None:
        """Re-calibrate the scorecard: scale its PDs part of the way toward the default rate
        realised on the book, against the rate predicted when lending (both annual).

        The scale moves linearly in the realised rate and PDs are linear in the scale, so
        noise in the default count averages out. (Shifting the probit intercept instead
        would not: PD is convex in it, and the noise would raise PDs more where fewer
        agents stand for the population.)
        """
        credit = self.model.params.credit
        predicted = min(max(predicted, credit.refit_pd_floor), credit.refit_pd_cap)
        raw = predicted / self.pd_scale   # what the unscaled scorecard predicted
        step = credit.refit_speed * (realised - predicted) / raw
        self.pd_scale = float(np.clip(self.pd_scale + step, credit.pd_scale_min,
                                      credit.pd_scale_max))

    def homogenized_margin(self, base_margin: float, peers_active: int,
                           peers_initial: int) -> float:
        """More lenders with similar products in a segment compress the margin."""
        if peers_active <= 0:
            return base_margin
        ratio = max(peers_initial, 1) / peers_active
        return base_margin * ratio ** self.model.params.credit.homogenization

    def remember(self, new: float, new_pd_amount: float, defaults: float, net_loss: float,
                 net_income: float) -> None:
        self.new_history.append(new)
        self.new_pd_history.append(new_pd_amount)
        self.default_history.append(defaults)
        self.loss_history.append(net_loss)
        self.balance_history.append(self.book)
        self.income_history.append(net_income)
        self.last_new = new

    def year_losses_and_balance(self) -> tuple[float, float]:
        """Net losses over the last year and the average book over it (亿元)."""
        balance = sum(self.balance_history) / max(len(self.balance_history), 1)
        return sum(self.loss_history), balance

    def provision_step(self, npl_held: float, net_loss: float) -> float:
        """Provision expense this quarter: use provisions for realised losses first, then
        rebuild to coverage of the non-performing loans still held. Never counts a loss
        twice: the loss reduces provisions, the expense restores them."""
        coverage = self.model.params.policy.banking.provision_coverage
        target = coverage * npl_held
        expense = target - (self.provisions - net_loss)
        self.provisions = target
        return expense

    def annual_roe(self) -> float:
        if self.capital <= 0 or not self.income_history:
            return 0.0
        return 4.0 * sum(self.income_history) / len(self.income_history) / self.capital
