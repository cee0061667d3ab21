"""Informal debt and banks' unsolicited credit lines for the reference engine's
:class:`~sim.reference.sme.SME` (docs/ODD.md 7.25); the fast engine's copy is
:mod:`sim.kernels.informal`, and the two must agree bit for bit."""

from __future__ import annotations

import math

from sim import rng
from sim.kernels import layout as L
from sim.reference.draws import f32, key, normal, risk_band, uniform


def pay_interest(firm, fp) -> None:
    """Phase 4, before formal debt service (informal lenders collect first): informal
    interest is paid from the cash the firm has; what it cannot pay is added to the
    debt."""
    debt = firm.informal_debt
    if debt <= 0.0:
        return
    interest = debt * fp.informal_rate * 0.25
    paid = min(interest, max(firm.cash, 0.0))
    firm.cash -= paid
    firm.informal_debt = f32(debt + (interest - paid))


def take_offer(firm, fp) -> None:
    """Phase 5, a firm that has never wanted debt: a bank that sees it offers a credit
    line with chance ``offer_prob``; it takes it if the expected bank rate for its risk
    band is below its reservation rate, and wants debt from then on. Returns whether it
    took one."""
    if fp.offer_prob <= 0.0:
        return False
    visible = firm.bureau or firm.history > 0 or firm.digital >= fp.offer_min_digital
    if not visible or uniform(key(fp.seed, rng.S_OFFER, fp.quarter), firm.uid, 0, 0) \
            >= fp.offer_prob:
        return False
    reservation = fp.informal_rate if firm.informal_debt > 0.0 else fp.reservation_rate
    if fp.bank_rate_band[risk_band(firm.quality)] >= reservation:
        return False
    s = firm.size
    sd = fp.debt_target_sd
    firm.debt_target = f32(fp.debt_target[s] * math.exp(
        sd * normal(key(fp.seed, rng.S_OFFER_TARGET, 0), firm.uid, 0, 0) - 0.5 * sd * sd))
    firm._to_groups(L.GM_OFFERS, 1.0)
    return True


def refinances(firm, fp) -> bool:
    """Whether the firm asks for formal credit to repay its informal debt."""
    return firm.informal_debt > 0.0 and \
        fp.bank_rate_band[risk_band(firm.quality)] < fp.informal_rate


def repay_from_loan(firm, need: float, amount: float) -> None:
    """Phase 6: what a loan brings beyond the rest of the need repays informal debt (the
    last ``informal_debt`` 万元 of the need are the refinancing)."""
    debt = firm.informal_debt
    other = max(0.0, need - debt)
    repaid = min(debt, max(0.0, amount - other))
    if repaid <= 0.0:
        return
    firm.cash -= repaid
    firm.informal_debt = f32(debt - repaid)
    firm._to_groups(L.GM_INFORMAL_REFI, repaid)


def borrow(firm, owed: float, fp) -> None:
    """Phase 7: a distressed firm still short of ``owed`` borrows
    ``informal_shortfall_share`` of the gap informally."""
    borrowed = fp.informal_shortfall_share * (owed - firm.cash)
    if borrowed <= 0.0:
        return
    firm.cash += borrowed
    firm.informal_debt = f32(firm.informal_debt + borrowed)
    firm._to_groups(L.GM_INFORMAL_NEW, borrowed)


def at_birth(firm, fp, entrant: bool, has_loan: bool, revenue: float) -> float:
    """Informal debt a new firm starts with: ``informal_multiple`` (times
    ``informal_entrant_factor`` for an entrant) × quarterly revenue if it holds no
    starting loan and the bureau's coverage does not include it."""
    if has_loan:
        return 0.0
    if uniform(key(fp.seed, rng.S_BUREAU, 0), firm.uid, 0, 0) < fp.bureau_coverage[firm.size]:
        return 0.0
    multiple = fp.informal_multiple[firm.size]
    if entrant:
        multiple *= fp.informal_entrant_factor
    return f32(multiple * revenue)
