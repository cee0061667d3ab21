"""Informal debt and banks' unsolicited credit lines, per firm (docs/ODD.md 7.6, 7.7,
7.25); called from the firm pass (:mod:`sim.kernels.operate`), booking
(:mod:`sim.kernels.book`) and phase 7 (:mod:`sim.kernels.defaults`). The reference
engine's copy is :mod:`sim.reference.informal`.

Informal lenders (private lenders, family, the owner's personal borrowing) are outside
the lenders' books: what a firm pays or borrows informally moves only its cash and its
``informal_debt`` (万元).
"""

from __future__ import annotations

import math

from numba import njit

from sim import rng
from sim.kernels.groups import firm_groups
from sim.kernels.layout import GM_INFORMAL_NEW, GM_INFORMAL_REFI, GM_OFFERS
from sim.kernels.records import flag
from sim.kernels.screening import risk_band
from sim.population import BUREAU

# request.invest bits: the need includes an investment (1), refinancing of informal debt
# (2); the firm took a bank's offered line this quarter and applies to banks only (4)
REQ_INVEST = 1
REQ_REFINANCE = 2
REQ_OFFERED = 4


@njit(cache=True, inline="always")
def pay_informal_interest(f, fp):
    """Phase 4, before formal debt service (informal lenders collect first): the quarter's
    interest on informal debt is paid from the cash the firm has, and what it cannot pay
    is added to the debt. Cash paid here is not there for the bank: informal debt makes
    formal default likelier."""
    debt = f.informal_debt
    if debt <= 0.0:
        return
    interest = debt * fp.informal_rate * 0.25
    paid = min(interest, max(f.cash, 0.0))
    f.cash -= paid
    f.informal_debt = debt + (interest - paid)


@njit(cache=True, inline="always")
def take_offer(f, u_id, b, fp, bank_rate_band, debt_targets, group_acc, key_offer,
               key_target):
    """Phase 5, for a live firm that has never wanted debt (``debt_target`` = 0): banks
    that see it (a bureau file, repayment history, or a digital footprint of at least
    ``offer_min_digital``) offer it a credit line with chance ``offer_prob``; it takes
    the line if the bank rate it expects for its risk band (``bank_rate_band``, float64
    [N_RISK_BANDS], ``fp.bank_rate_band`` taken out of the bundle before the loop) is
    below its reservation rate
    (the informal rate if it owes informal debt), and from then on wants debt like a
    borrower drawn at birth. Returns whether it took one."""
    if fp.offer_prob <= 0.0:
        return False
    visible = flag(f, BUREAU) == 1 or f.history > 0 or f.digital >= fp.offer_min_digital
    if not visible or rng.uniform(key_offer, u_id, 0, 0) >= fp.offer_prob:
        return False
    reservation = fp.informal_rate if f.informal_debt > 0.0 else fp.reservation_rate
    if bank_rate_band[risk_band(f.quality)] >= reservation:
        return False
    s = f.size
    sd = fp.debt_target_sd
    f.debt_target = debt_targets[s] * math.exp(
        sd * rng.normal(key_target, u_id, 0, 0) - 0.5 * sd * sd)
    for g in firm_groups(f):
        group_acc[b, g, s, GM_OFFERS] += 1.0
    return True


@njit(cache=True, inline="always")
def refinances(f, fp, bank_rate_band):
    """Phase 5: whether the firm seeks formal credit to repay its informal debt (it
    expects bank credit for its risk band to cost less)."""
    return f.informal_debt > 0.0 and bank_rate_band[risk_band(f.quality)] < fp.informal_rate


@njit(cache=True, inline="always")
def repay_from_loan(f, b, need, amount, group_acc):
    """Phase 6, a refinancing firm that borrowed ``amount`` against a remaining ``need``
    whose last ``informal_debt`` 万元 are the refinancing: what the loan brings beyond the
    rest of the need (shortfall, working capital, project) repays informal debt."""
    debt = f.informal_debt
    other = max(0.0, need - debt)
    repaid = min(debt, max(0.0, amount - other))
    if repaid <= 0.0:
        return
    f.cash -= repaid
    f.informal_debt = debt - repaid
    s = f.size
    for g in firm_groups(f):
        group_acc[b, g, s, GM_INFORMAL_REFI] += repaid


@njit(cache=True, inline="always")
def borrow_informally(f, b, s, owed, fp, group_acc):
    """Phase 7, a distressed firm whose cash still falls short of ``owed`` after the
    credit round: it borrows ``informal_shortfall_share`` of the gap informally."""
    borrowed = fp.informal_shortfall_share * (owed - f.cash)
    if borrowed <= 0.0:
        return
    f.cash += borrowed
    f.informal_debt = f.informal_debt + borrowed
    for g in firm_groups(f):
        group_acc[b, g, s, GM_INFORMAL_NEW] += borrowed
