"""Typed records of the money a lender's quarter moves (national 亿元).

Named fields instead of string-keyed dicts: a misspelt name fails at once instead of
reading as zero. Records that are complete when made are frozen; what accumulates over
phase 8 (resolutions, mergers, entry) sits in :class:`QuarterBooks`, whose fields are
fixed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.kernels import layout as L


@dataclass(frozen=True, slots=True)
class LenderFlows:
    """One lender's quarter as the kernels summed it, plus what government adds to a
    bank's close (loss compensation, the inclusive-loan incentive, the central bank's
    deferral support) and what it takes (VAT on its interest)."""

    new: float
    interest: float
    principal: float
    writeoff: float
    recovery: float
    perf_end: float
    npl_end: float
    loans: float
    new_npl: float
    new_pd_amount: float
    fees: float
    nondebt: float
    new_count_nondebt: float
    subsidy: float
    guarantee_fee: float
    deferred: float           # principal entering deferral
    capitalised: float        # interest of deferred loans added to their principal
    interest_vat_exempt: float  # of interest, on bank loans exempt from VAT
    loss_compensation: float = 0.0
    incentive: float = 0.0
    deferral_support: float = 0.0
    vat: float = 0.0          # VAT on the interest not exempt, as the government records it

    @classmethod
    def of(cls, sums, index: int) -> LenderFlows:
        """Read lender ``index``'s row of the quarter's reduced accumulators."""
        m = sums.lender_money[index]
        c = sums.lender_count[index]
        return cls(
            new=m[L.LF_NEW_AMT], interest=m[L.LF_INTEREST], principal=m[L.LF_PRINCIPAL],
            writeoff=m[L.LF_WRITEOFF], recovery=m[L.LF_RECOVERY], perf_end=m[L.LF_BAL_PERF],
            npl_end=m[L.LF_BAL_NPL], loans=c[L.LF_LOANS], new_npl=m[L.LF_NEW_NPL],
            new_pd_amount=m[L.LF_NEW_PD_AMT], fees=m[L.LF_FEES], nondebt=m[L.LF_NONDEBT_AMT],
            new_count_nondebt=c[L.LF_APPROVALS], subsidy=m[L.LF_SUBSIDY],
            guarantee_fee=m[L.LF_GUARANTEE_FEE], deferred=m[L.LF_DEFERRED],
            capitalised=m[L.LF_CAPITALISED], interest_vat_exempt=m[L.LF_INTEREST_VAT_EXEMPT],
        )


@dataclass(frozen=True, slots=True)
class BankPnL:
    """A bank's quarterly profit and loss."""

    interest: float
    partner_interest: float   # on its shares of platforms' joint loans
    rest_income: float        # on the rest of its book
    incentive: float
    funding: float
    op_cost: float
    provision_expense: float
    payout: float
    net_income: float
    compensation: float       # government's share of its loan losses
    deferral_support: float = 0.0  # the central bank's payment on principal it deferred
    capitalised: float = 0.0  # interest of deferred loans added to principal (accrued)
    vat: float = 0.0          # VAT paid on the interest of loans not exempt


@dataclass(frozen=True, slots=True)
class PlatformPnL:
    """A lending platform's quarterly profit and loss, with how the pool's interest and
    principal were shared among its funders."""

    interest: float           # paid by firms on the whole pool
    funding: float
    op_cost: float
    provision_expense: float
    payout: float
    net_income: float
    partner_interest_paid: float
    abs_interest: float
    interest_kept: float
    principal_received: float
    investor_interest: float = 0.0   # paid to a P2P platform's retail investors


@dataclass(frozen=True, slots=True)
class EquityPnL:
    """A crowd/equity platform's quarterly profit and loss: fees, no loans."""

    fees: float
    op_cost: float
    payout: float
    net_income: float

    @property
    def interest(self) -> float:
        return 0.0


PnL = BankPnL | PlatformPnL | EquityPnL


@dataclass(slots=True)
class QuarterBooks:
    """What moved a lender's capital this quarter. ``pnl`` is None in an entrant's first
    quarter, whose capital only moves by ``injection`` less ``returned``."""

    pnl: PnL | None = None
    injection: float = 0.0        # capital put in (resolution shortfall, entry)
    merger_capital: float = 0.0   # capital taken over from failed lenders
    merged_out: float = 0.0       # capital handed to an acquirer
    returned: float = 0.0         # a run-off predecessor's capital paid back on entry

    @property
    def net_income(self) -> float:
        return self.pnl.net_income if self.pnl is not None else 0.0

    @property
    def interest(self) -> float:
        return self.pnl.interest if self.pnl is not None else 0.0


@dataclass(frozen=True, slots=True)
class PartnerShare:
    """A bank's receipts, losses and holdings on platforms' joint loans this quarter."""

    interest: float
    loss: float
    npl: float
    stock_end: float


@dataclass(slots=True)
class PartnerLedger:
    """Partner banks' parts of platforms' joint loans, as arrays by bank index, added to
    by each platform's close in platform order."""

    interest: np.ndarray
    loss: np.ndarray
    npl: np.ndarray
    stock_end: np.ndarray

    @classmethod
    def zeros(cls, n_banks: int) -> PartnerLedger:
        return cls(*(np.zeros(n_banks) for _ in range(4)))

    def share(self, bank_index: int) -> PartnerShare:
        return PartnerShare(float(self.interest[bank_index]), float(self.loss[bank_index]),
                            float(self.npl[bank_index]), float(self.stock_end[bank_index]))


@dataclass(frozen=True, slots=True)
class InvestorFlows:
    """The outside investors' part of a platform's quarter (asset-backed securities)."""

    abs_bought: float = 0.0
    abs_principal: float = 0.0
    abs_recovery: float = 0.0
    abs_interest: float = 0.0
    abs_loss: float = 0.0

    def items(self) -> tuple[tuple[str, float], ...]:
        """(outside-sector account item, amount), in the order the items are booked."""
        return (("abs_bought", self.abs_bought), ("abs_principal", self.abs_principal),
                ("abs_recovery", self.abs_recovery), ("abs_interest", self.abs_interest),
                ("abs_loss", self.abs_loss))



@dataclass(frozen=True, slots=True)
class RetailInvestorFlows:
    """The retail investors' part of a P2P platform's quarter: the money they put into
    new loans, what they get back, and what they lose (write-offs net of recoveries, and
    at a wind-down's resolution the book left less what its buyer pays)."""

    invested: float = 0.0
    principal: float = 0.0
    recovery: float = 0.0
    interest: float = 0.0
    loss: float = 0.0

    def items(self) -> tuple[tuple[str, float], ...]:
        return (("p2p_invested", self.invested), ("p2p_principal", self.principal),
                ("p2p_recovery", self.recovery), ("p2p_interest", self.interest),
                ("p2p_loss", self.loss))
