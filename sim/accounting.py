"""The stock-flow check: an independent ledger that verifies the books every quarter.

It keeps its own record of each lender's loan stock (counted from the SME arrays) and
checks, for every lender, every quarter:

1. **Loans**: stock at end = stock at start + new − repaid − written off + interest
   of deferred loans added to principal (per lender,
   hence per channel: each lender lends through one channel), with books moved between
   lenders at a resolution counted as transfers.
2. **Funding**: a platform's pool equals what its funders hold (own share, ABS
   investors, partner banks), and each bank's partner holdings equal the sum of its
   shares across platforms.
3. **Capital**: moves only by income, payouts, injections and mergers; net income is
   recomputed here from its components.
4. **Payments**: every yuan firms pay (interest, principal, fees) and every subsidy is
   received by a lender, a partner bank, an investor or the government; government
   outlays equal what lenders received from it.

Used behind ``sim run --check`` and in the tests; a deliberate leak makes it fail.
"""

from __future__ import annotations

import numpy as np

from sim.agents.books import BankPnL, EquityPnL, PlatformPnL
from sim.categories import CH_EQUITY
from sim.errors import SimError
from sim.kernels import layout as L
from sim.quarters import quarter_label


class AccountingError(SimError):
    """A stock-flow identity failed: money was created or lost."""


def _close(a: float, b: float, scale: float) -> bool:
    return abs(a - b) <= 1e-9 * max(1.0, abs(scale))


class StockFlowCheck:
    def __init__(self, model):
        self.model = model
        self.loan_stock = np.array([l.book for l in model.lenders], dtype=np.float64)
        self.capital = np.array([l.capital for l in model.lenders], dtype=np.float64)
        self.loan_peak = self.loan_stock.copy()  # the largest loan stock of each lender
        self.quarters_checked = 0

    def _fail(self, quarter: int, message: str) -> None:
        raise AccountingError(f"stock-flow check failed in {quarter_label(quarter)}: {message}")

    def check(self, quarter: int, sums) -> None:
        model = self.model
        money = sums.lender_money
        end = money[:, L.LF_BAL_PERF] + money[:, L.LF_BAL_NPL]
        flows = (money[:, L.LF_NEW_AMT] - money[:, L.LF_PRINCIPAL] - money[:, L.LF_WRITEOFF]
                 + money[:, L.LF_CAPITALISED])
        for lender in model.lenders:
            j = lender.index
            expected = self.loan_stock[j] + flows[j]
            if not _close(end[j], expected, max(end[j], self.loan_stock[j])):
                self._fail(quarter, f"loans of {lender.name}: end {end[j]:.6f} 亿元 but start "
                           f"{self.loan_stock[j]:.6f} + new − repaid − written off "
                           f"+ capitalised = "
                           f"{expected:.6f}")
        self.loan_peak = np.maximum(self.loan_peak, end)
        self._check_funding(quarter)
        self._check_capital(quarter)
        self._check_payments(quarter, money)
        # carry the counted stocks forward, then apply this quarter's resolutions
        self.loan_stock = end.copy()
        for failed, acquirer in model.market.transfers:
            self.loan_stock[acquirer] += self.loan_stock[failed]
            self.loan_stock[failed] = 0.0
            # the acquirer's funders now carry the failed lender's rounding too
            self.loan_peak[acquirer] += self.loan_peak[failed]
        self.capital = np.array([l.capital for l in model.lenders], dtype=np.float64)
        self.quarters_checked += 1

    def _check_funding(self, quarter: int) -> None:
        model = self.model
        held = {bank: 0.0 for bank in model.banks}
        for platform in model.platforms:
            if platform.channel == CH_EQUITY:
                continue
            funders = platform.funders_total()
            # funders' stocks are moved by shares of every quarter's flows, so their
            # rounding is relative to the largest book they have carried, not to the book
            # now: one that ran off to nothing leaves a residue of what it held
            scale = max(platform.book, self.loan_peak[platform.index])
            if not _close(funders, platform.book, scale):
                self._fail(quarter, f"{platform.name}'s funders hold {funders:.6f} 亿元 but its "
                           f"loans total {platform.book:.6f}")
            for k, bank in enumerate(platform.partners):
                held[bank] += platform.partner_stock[k] + platform.facil_stock[k]
        for bank, amount in held.items():
            if bank.active and not _close(amount, bank.partner_stock, amount):
                self._fail(quarter, f"{bank.name} books {bank.partner_stock:.6f} 亿元 of joint "
                           f"loans but platforms record {amount:.6f}")

    def _check_capital(self, quarter: int) -> None:
        model = self.model
        for lender in model.lenders:
            books = lender.books
            if books is None:
                continue
            start = self.capital[lender.index]
            pnl = books.pnl
            if pnl is None:  # an entrant's first quarter: only its capital
                moved = books.injection - books.returned
                if not _close(lender.capital - start, moved, lender.capital):
                    self._fail(quarter, f"{lender.name}'s capital moved by "
                               f"{lender.capital - start:.6f} 亿元 on entry but was injected "
                               f"{books.injection:.6f} less {books.returned:.6f} "
                               "returned to a predecessor's owners")
                continue
            if isinstance(pnl, BankPnL):
                income = (pnl.interest + pnl.partner_interest + pnl.rest_income
                          + pnl.incentive + pnl.deferral_support + pnl.capitalised
                          - pnl.funding - pnl.op_cost - pnl.provision_expense - pnl.vat)
            elif isinstance(pnl, EquityPnL):
                income = pnl.fees - pnl.op_cost
            else:
                income = (pnl.interest - pnl.partner_interest_paid - pnl.abs_interest
                          - pnl.investor_interest - pnl.funding - pnl.op_cost - pnl.provision_expense)
            if not _close(income, pnl.net_income, pnl.interest + abs(pnl.net_income)):
                self._fail(quarter, f"{lender.name}: reported net income {pnl.net_income:.6f} "
                           f"≠ income less costs {income:.6f}")
            moved = pnl.net_income - pnl.payout + books.injection + books.merger_capital
            end = lender.capital if lender.active else lender.capital + books.merged_out
            if not _close(end - start, moved, max(abs(start), abs(end))):
                self._fail(quarter, f"capital of {lender.name} moved by {end - start:.6f} 亿元 but "
                           f"income − payouts + injections = {moved:.6f}")

    def _check_payments(self, quarter: int, money) -> None:
        model = self.model
        paid = money[:, L.LF_INTEREST].sum() + money[:, L.LF_PRINCIPAL].sum()
        received = 0.0
        compensation = 0.0
        support = 0.0
        vat = 0.0
        for lender in model.lenders:
            pnl = lender.books.pnl if lender.books is not None else None
            if isinstance(pnl, BankPnL):
                received += pnl.interest + money[lender.index, L.LF_PRINCIPAL]
                compensation += pnl.compensation
                support += pnl.deferral_support
                vat += pnl.vat
            elif isinstance(pnl, PlatformPnL):
                received += (pnl.interest_kept + pnl.partner_interest_paid + pnl.abs_interest
                             + pnl.principal_received + pnl.investor_interest)
        if not _close(paid, received, paid):
            self._fail(quarter, f"firms and subsidies paid {paid:.6f} 亿元 of interest and "
                       f"principal but lenders, partners and investors received {received:.6f}")
        gov = model.government.account.quarter
        outlays = gov["risk_compensation"] + gov["guarantee_payouts"]
        if not _close(outlays, compensation, outlays):
            self._fail(quarter, f"government paid {outlays:.6f} 亿元 of loss sharing but banks "
                       f"received {compensation:.6f}")
        if not _close(gov["deferral_support"], support, support):
            self._fail(quarter, f"the central bank paid {gov['deferral_support']:.6f} 亿元 of "
                       f"deferral support but banks received {support:.6f}")
        if not _close(gov["vat_received"], vat, vat):
            self._fail(quarter, f"banks paid {vat:.6f} 亿元 of VAT but the government "
                       f"received {gov['vat_received']:.6f}")
        fees = money[:, L.LF_GUARANTEE_FEE].sum()
        if not _close(gov["guarantee_fees"], fees, fees):
            self._fail(quarter, f"firms paid {fees:.6f} 亿元 of guarantee fees but the guarantee "
                       f"fund received {gov['guarantee_fees']:.6f}")
