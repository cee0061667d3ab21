"""The SME agent of the reference engine (its loans: :mod:`sim.reference.loans`).

An :class:`SME` is a Mesa agent holding its attributes (``docs/ODD.md``, 2.1) and at most
two loans. Each quarter the model calls, for every firm in slot order:
:meth:`SME.operate` (phase 3), :meth:`SME.service_debt` (4), :meth:`SME.demand` (5);
in each credit round :meth:`SME.apply`, then :meth:`SME.accept` or
:meth:`SME.turned_down` (6, in :mod:`sim.reference.sme_credit`);
:meth:`SME.default_or_exit` and :meth:`SME.count` (7 and the stock count of 8). New
firms draw their attributes in :meth:`SME.draw`.

Firm-level money is in 万元. What a firm pays, borrows or owes is added to the model's
accumulators (``model.acc``: ``lender``, ``group``, ``band``, ``owner_draws``) in the row
of its slot's block (``layout.BLOCK_SIZE`` slots), as the fast engine does, so the two
engines add the same numbers in the same order.
"""

from __future__ import annotations

import math

from sim import rng
from sim.agents.base import Agent
from sim.categories import (
    CH_BANK, CH_ONLINE, CH_SUPPLY_CHAIN, GROUP_REGION, GROUP_SECTOR, GROUP_SIZE, GROUP_STAGE,
    LOAN_NONPERFORMING, REGIONS, STAGES,
)
from sim.kernels import layout as L
from sim.reference.draws import f32, key, normal, uniform
from sim.reference import informal
from sim.reference.birth import draw_firm
from sim.reference.loans import Loan
from sim.reference.sme_credit import SMECredit

STARTUP, GROWTH, STABLE, DECLINE = range(4)
MICRO = 1



class SME(SMECredit, Agent):
    """A small or micro firm, or an individual business (one agent stands for
    ``model.weights[size]`` real ones)."""

    def __init__(self, model, uid: int, size: int, slot: int):
        super().__init__(model)
        self.uid = uid
        self.size = size
        self.slot = slot                  # position in the model's slot table
        self.block = slot // L.BLOCK_SIZE
        self.loans: list[Loan | None] = [None, None]
        # the quarter's flags (phase 4 onwards)
        self.distressed = False
        self.due = 0.0
        self.need = 0.0
        self.invest = False
        self.refinance = False            # the need includes repaying informal debt
        self.offered = False              # took a bank's offered line this quarter
        self.rejected_by = -1
        self.sought = False               # asked for credit this quarter
        self.margin = 0.0

    # ------------------------------------------------------------------ bookkeeping
    @property
    def groups(self) -> tuple[int, int, int, int]:
        """Rows of ``group_acc``: sector, region, size and stage groups."""
        return (GROUP_SECTOR + self.sector, GROUP_REGION + self.region,
                GROUP_SIZE + self.size, GROUP_STAGE + self.stage)

    def _to_lender(self, lender: int, metric: int, amount: float) -> None:
        self.model.acc.lender[self.block, lender, self.size, metric] += amount

    def _to_groups(self, metric: int, amount: float) -> None:
        acc = self.model.acc.group
        for g in self.groups:
            acc[self.block, g, self.size, metric] += amount

    def has_loans(self) -> bool:
        return any(loan is not None for loan in self.loans)

    def debt(self) -> float:
        """Performing principal owed (万元)."""
        return sum((loan.principal for loan in self.loans if loan and loan.performing), 0.0)

    def debt_due(self, defer_interest: bool) -> float:
        """Interest plus scheduled principal owed this quarter (万元); deferred loans owe
        no principal, nor interest while ``defer_interest``."""
        total = 0.0
        for loan in self.loans:
            if loan is not None and loan.performing:
                interest, principal = loan.due(defer_interest)
                total += interest
                total += principal
        return total

    # ------------------------------------------------------------------ birth
    def draw(self, fp, entrant: bool, table, starting_rates) -> None:
        """Starting attributes (:func:`sim.reference.birth.draw_firm`)."""
        draw_firm(self, fp, entrant, table, starting_rates)
        self.informal_debt = informal.at_birth(self, fp, entrant, self.loans[0] is not None,
                                               self.revenue)

    # ------------------------------------------------------------------ phase 3
    def operate(self, fp) -> None:
        """Ageing, stage, bureau file, digital drift; revenue, margin and cash; owner
        draws (ODD 7.1–7.5)."""
        self.distressed = False
        self.due = 0.0
        self.need = 0.0
        self.invest = False
        self.refinance = False
        self.offered = False
        self.rejected_by = -1
        self.sought = False
        self._advance(fp)
        drawn = self._earn(fp)
        if drawn > 0.0:
            draws = self.model.acc.owner_draws
            draws[self.block, self.size, 0] += drawn
            draws[self.block, self.size, 1] += drawn * self.outside_stake

    def _digital_step(self, fp) -> float:
        """How far the digital footprint moves this quarter: the common drift, part of
        the gap to the mean of its sector and region peers (if behind them), and part
        of the gap to a full footprint, by platforms' marketing (ODD 7.5)."""
        digital = self.digital
        peer = 0.5 * (fp.peer_digital[GROUP_SECTOR + self.sector]
                      + fp.peer_digital[GROUP_REGION + self.region])
        return fp.digital_drift + fp.digital_imitation * max(peer - digital, 0.0) \
            + fp.digital_marketing * (1.0 - digital)

    def _advance(self, fp) -> None:
        self.age = min(self.age + 1, 255)
        u = uniform(key(fp.seed, rng.S_STAGE, fp.quarter), self.uid, 0, 0)
        tr = fp.transitions
        if self.stage == STARTUP:
            if u < tr[0]:
                self.stage = GROWTH
            elif u < tr[0] + tr[1]:
                self.stage = STABLE
        elif self.stage == GROWTH:
            if u < tr[2]:
                self.stage = STABLE
        elif self.stage == STABLE:
            if u < tr[3]:
                self.stage = DECLINE
            elif u < tr[3] + tr[4]:
                self.stage = GROWTH
        else:
            if u < tr[5]:
                self.stage = STABLE
        # a bureau file comes from a past loan or from coverage (a fixed rank per firm)
        if self.reported_loan:
            self.bureau = True
        else:
            rank = uniform(key(fp.seed, rng.S_BUREAU, 0), self.uid, 0, 0)
            self.bureau = rank < fp.bureau_coverage[self.size]
        # banks read its tax records if tax-data coverage reaches its rank (fixed per firm)
        self.tax_file = uniform(key(fp.seed, rng.S_TAX_FILE, 0), self.uid, 0, 0) \
            < fp.tax_coverage
        self.digital = f32(min(1.0, self.digital + self._digital_step(fp)))

    def _earn(self, fp) -> float:
        """Revenue, profit and cash; returns what the owners draw (万元)."""
        s, sector = self.size, self.sector
        growth = fp.growth_by_sector_q[sector]
        self.log_trend = f32(self.log_trend + (growth + fp.drift_by_stage[self.stage]))
        lr = self.log_revenue + growth
        lr += fp.mean_reversion * (self.log_trend - lr)
        lr += fp.vol_by_size[s] * normal(key(fp.seed, rng.S_REVENUE, fp.quarter), self.uid, 0, 0)
        self.log_revenue = f32(lr)
        level = fp.shock_mult[sector][self.region]
        revenue = math.exp(lr) * level
        self.revenue = revenue
        margin = fp.margin_by_size[s] + fp.margin_slope * self.quality + \
            fp.margin_noise * normal(key(fp.seed, rng.S_MARGIN, fp.quarter), self.uid, 0, 0)
        if level < 1.0:
            # fixed costs do not fall with revenue: a revenue collapse hits margins
            margin -= fp.shock_margin_loss * (1.0 - level)
        self.margin = f32(margin)
        self.cash += revenue * margin
        # owners draw only profits: they keep a working buffer and the borrowed money
        held = max(self.debt_due(fp.deferral_interest), self.debt())
        excess = self.cash - fp.cash_buffer * revenue - held
        if excess <= 0.0:
            return 0.0
        drawn = fp.owner_draw_share * excess
        self.cash -= drawn
        return drawn

    # ------------------------------------------------------------------ phase 4
    def service_debt(self, fp) -> None:
        """Deferral, renewal of maturing bank loans, then interest and scheduled
        principal: paid if cash covers them, otherwise the firm is distressed until
        phase 7 (ODD 7.6). Informal lenders are paid first (ODD 7.25)."""
        informal.pay_interest(self, fp)
        if fp.deferral:
            self._defer(fp)
        else:
            self._end_deferral(fp)
        for slot, loan in enumerate(self.loans):
            if (loan is not None and loan.performing and not loan.deferred
                    and not loan.amortizing and loan.remaining <= 1
                    and loan.channel == CH_BANK and self.history >= fp.renewal_min_history
                    and not self.defaulted_before):
                draw = uniform(key(fp.seed, rng.S_RENEW, fp.quarter), self.uid, slot, 0)
                if draw < fp.renewal_share:
                    loan.remaining = loan.term + 1
                    self._to_lender(loan.lender, L.LF_RENEWED, loan.principal)
        owed = self.debt_due(fp.deferral_interest)
        if owed > 0.0:
            if self.cash >= owed:
                self.pay_debt(fp)
            else:
                self.distressed = True
                self.due = owed

    def _defer(self, fp) -> None:
        """While the programme runs: a firm hit this quarter (revenue
        ``deferral_revenue_gap`` or more below its trend, or cash short of its debt
        service) with no bad loan defers its performing bank loans until it ends."""
        due = self.debt_due(fp.deferral_interest)
        trend = math.exp(self.log_trend)
        if self.revenue >= (1.0 - fp.deferral_revenue_gap) * trend and self.cash >= due:
            return
        if any(loan is not None and loan.status == LOAN_NONPERFORMING for loan in self.loans):
            return
        for loan in self.loans:
            if loan is not None and loan.performing and loan.channel == CH_BANK \
                    and not loan.deferred:
                loan.deferred = True
                self._to_lender(loan.lender, L.LF_DEFERRED, loan.principal)

    def _end_deferral(self, fp) -> None:
        """After the programme: deferred loans owe again; one that matured while deferred
        is repaid in equal parts over ``deferral_repay_quarters``."""
        for loan in self.loans:
            if loan is not None and loan.deferred:
                loan.deferred = False
                if loan.remaining <= 1:
                    loan.amortizing = True
                    loan.remaining = fp.deferral_repay_quarters

    def pay_debt(self, fp) -> None:
        """Pay this quarter's interest (net of any subsidy), guarantee fee and scheduled
        principal on every loan but this quarter's new ones."""
        s = self.size
        for slot, loan in enumerate(self.loans):
            if loan is None or not loan.performing or loan.new:
                continue
            if loan.deferred and fp.deferral_interest:
                self._to_lender(loan.lender, L.LF_CAPITALISED, loan.capitalise_interest())
                continue
            p = loan.principal
            interest, principal = loan.due(fp.deferral_interest)
            subsidy = 0.0
            if s <= MICRO and fp.subsidy_annual > 0.0:
                subsidy = min(interest, p * fp.subsidy_annual * 0.25)
            fee = 0.0
            if fp.guarantee_on and s <= MICRO and loan.channel == CH_BANK:
                fee = p * fp.guarantee_fee_annual * 0.25
            self.cash -= interest - subsidy + fee + principal
            self._to_lender(loan.lender, L.LF_INTEREST, interest)
            # exempt while the exemption is in force (rate −1 when it is not)
            if loan.vat_eligible and fp.vat_exempt_rate >= 0.0:
                self._to_lender(loan.lender, L.LF_INTEREST_VAT_EXEMPT, interest)
            self._to_lender(loan.lender, L.LF_SUBSIDY, subsidy)
            self._to_lender(loan.lender, L.LF_GUARANTEE_FEE, fee)
            self._to_lender(loan.lender, L.LF_PRINCIPAL, principal)
            if not loan.deferred:
                loan.remaining -= 1
            left = p - principal
            if principal >= p or left <= 1e-9 * p:
                self.loans[slot] = None
            else:
                loan.principal = left
        self.history = min(self.history + 1, 255)

    # ------------------------------------------------------------------ phase 5
    def demand(self, fp) -> None:
        """External finance sought: a cash shortfall, a working-capital gap to the debt
        target, an investment; a discouraged firm seeks only the shortfall (ODD 7.7)."""
        revenue = self.revenue
        shortfall = max(0.0, self.due - self.cash)
        has_npl = any(loan is not None and not loan.performing for loan in self.loans)
        free_slot = None in self.loans
        total = shortfall
        if self.discouraged > 0:
            self.discouraged -= 1
        else:
            if self.debt_target == 0.0:
                self.offered = informal.take_offer(self, fp)
            if self.debt_target > 0.0 and not has_npl:
                # a firm using both its credit lines waits for one to mature
                gap = self.debt_target * fp.debt_appetite * revenue - self.debt()
                if gap > fp.working_gap_min * revenue and free_slot:
                    total += gap
                draw = uniform(key(fp.seed, rng.S_INVEST, fp.quarter), self.uid, 0, 0)
                if draw < fp.invest_prob[self.stage]:
                    total += fp.invest_size * revenue
                    self.invest = True
                # refinancing comes last: a loan's proceeds meet the rest of the need first
                if free_slot and informal.refinances(self, fp):
                    total += self.informal_debt
                    self.refinance = True
        # firms ask for what lenders could plausibly give, a multiple of revenue
        total = min(total, max(shortfall, fp.max_request * revenue))
        if total > 0.0:
            self.need = total
            self.sought = True
            self._to_groups(L.GM_DEMAND, total)

    # ------------------------------------------------------------------ phase 7
    def default_or_exit(self, fp) -> None:
        """Bad loans age and are written off (also a closed firm's); a distressed firm
        pays with what the credit round gave it or defaults; firms close after a default,
        after losses or at the stage hazard, repaying what their cash allows (ODD 7.14)."""
        for slot, loan in enumerate(self.loans):
            if loan is not None and loan.status == LOAN_NONPERFORMING:
                loan.npl_age += 1
                if loan.npl_age >= fp.writeoff_quarters and (
                        loan.npl_age > fp.writeoff_quarters or fp.writeoff_extra <= 0.0
                        or uniform(key(fp.seed, rng.S_WRITEOFF, fp.quarter), self.uid, slot,
                                   0) >= fp.writeoff_extra):
                    # a loan stays writeoff_quarters + writeoff_extra quarters on average
                    self._write_off(loan, fp)
                    self.loans[slot] = None
        if not self.alive:
            return
        quarter_key = key(fp.seed, rng.S_DEFAULT_EXIT, fp.quarter)
        closing = False
        if self.distressed:
            if self.cash < self.due:
                informal.borrow(self, self.due, fp)
            if self.cash >= self.due:
                self.pay_debt(fp)
            elif not self._default():
                self.cash = max(self.cash, 0.0)  # the owner tops up; the firm stays current
            else:
                if uniform(quarter_key, self.uid, 0, 0) < fp.exit_after_default:
                    closing = True
                else:
                    self.cash = max(self.cash, 0.0)  # the owner tops up to stay open
        elif self.cash < 0.0:
            # losses with no debt due: the owner tops up or closes the firm
            if uniform(quarter_key, self.uid, 0, 0) < fp.exit_after_default:
                closing = True
            else:
                self.cash = 0.0
        for loan in self.loans:
            if loan is not None:
                loan.new = False  # from the next quarter on, it owes like any other
        if not closing:
            hazard = fp.exit_hazard[self.stage]
            closing = uniform(key(fp.seed, rng.S_EXIT, fp.quarter), self.uid, 0, 0) < hazard
        if closing:
            self._close()

    def _default(self) -> bool:
        """Loans turn bad, except deferred ones (their unpaid interest is added to
        principal); returns whether any did (a firm whose loans are all deferred has not
        defaulted)."""
        bad = False
        for loan in self.loans:
            if loan is not None and loan.performing:
                if loan.deferred:
                    self._to_lender(loan.lender, L.LF_CAPITALISED, loan.capitalise_interest())
                    continue
                loan.status = LOAN_NONPERFORMING
                loan.npl_age = 0
                loan.new = False
                self._to_lender(loan.lender, L.LF_NEW_NPL, loan.principal)
                bad = True
        if not bad:
            return False
        self.defaulted_before = True
        self.history = 0
        self._to_groups(L.GM_DEFAULTS, 1.0)
        return True

    def _write_off(self, loan: Loan, fp) -> None:
        c = loan.channel
        verified = c == CH_SUPPLY_CHAIN and uniform(
            key(fp.seed, rng.S_VERIFIED, 0), self.uid, 0, 0) < fp.verified_share
        if verified:
            lgd = fp.lgd_verified
        elif loan.secured:
            lgd = fp.lgd_by_channel_secured[c]
        else:
            lgd = fp.lgd_by_channel_unsecured[c]
        self._to_lender(loan.lender, L.LF_WRITEOFF, loan.principal)
        self._to_lender(loan.lender, L.LF_RECOVERY, loan.principal * (1.0 - lgd))

    def _close(self) -> None:
        """The firm closes: it repays what its cash allows, the rest turns bad."""
        for slot, loan in enumerate(self.loans):
            if loan is None or not loan.performing:
                continue
            p = loan.principal
            paid = min(p, max(self.cash, 0.0))
            self.cash -= paid
            self._to_lender(loan.lender, L.LF_PRINCIPAL, paid)
            if paid >= p:
                self.loans[slot] = None
            else:
                loan.principal = p - paid
                loan.status = LOAN_NONPERFORMING
                loan.npl_age = 0
                loan.deferred = False
                self._to_lender(loan.lender, L.LF_NEW_NPL, p - paid)
        self.alive = False
        self.cash = 0.0
        self.informal_debt = 0.0  # informal lenders' loss, outside the lenders' books
        self._to_groups(L.GM_EXITS, 1.0)

    # ------------------------------------------------------------------ phase 8
    def count(self, cells) -> None:
        """Add this slot's stocks: loans by lender (a closed firm's bad loans too), and
        for a live firm its cell's firms, debt, bad debt, borrowers, digital footprint,
        online users, bank borrowers and informal debt, into its block's ``cells`` (float64
        [cells, sizes, stocks]; cells are sector-major, then region, then stage), which
        the engine folds into the groups as the fast engine does."""
        debt = npl = 0.0
        borrower = bank_borrower = 0.0
        online = 0.0
        for loan in self.loans:
            if loan is None:
                continue
            debt += loan.principal
            if loan.performing:
                self._to_lender(loan.lender, L.LF_BAL_PERF, loan.principal)
                self._to_lender(loan.lender, L.LF_LOANS, 1.0)
                borrower = 1.0
                if loan.channel == CH_ONLINE:
                    online = 1.0
                elif loan.channel == CH_BANK:
                    bank_borrower = 1.0
            else:
                self._to_lender(loan.lender, L.LF_BAL_NPL, loan.principal)
                npl += loan.principal
        if not self.alive:
            return
        # in the order of layout.STOCK_METRICS
        cell = cells[(self.sector * len(REGIONS) + self.region) * len(STAGES) + self.stage,
                     self.size]
        cell[0] += 1.0
        cell[1] += debt
        cell[2] += npl
        cell[3] += borrower
        cell[4] += self.digital
        cell[5] += online
        cell[6] += bank_borrower
        cell[7] += self.informal_debt
