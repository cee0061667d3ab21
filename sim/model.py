"""The credit market: owns the state and calls the ten phases of a quarter."""

from __future__ import annotations

import gc
import subprocess
import time
from pathlib import Path

import mesa
import numpy as np

from sim import __version__, rng, start_state
from sim.accumulators import Accumulators, QuarterSums, block_sum, reduce, reduce_groups
from sim.agents.regulators import BankingRegulator, CentralBank, Courts, DataRegulator, \
    FiscalAuthority
from sim.agents.sectors import Government, OutsideSector
from sim.categories import CH_BANK, GROUP_REGION, N_GROUPS, REGIONS, SIZES
from sim.collector import QuarterlyCollector
from sim.diffusion import no_signals, signals
from sim.errors import SimError
from sim.engines import SMEEngine, build_engine
from sim.expectations import channel_rates, draw_shares, initial_kind_rates, lender_kinds, \
    update_kind_rates
from sim.kernels import layout as L
from sim.lenders_market import LenderMarket
from sim.outside_funds import NominalGdp
from sim.panel import Panel, draw_sample
from sim.policy import PolicySchedule
from sim.quarters import parse_quarter, quarter_label
from sim.recorder import Recorder
from sim.schema import Scenario
from sim.units import annual_probability, national, stratum_weights, yi_per_agent_wan
from sim.wiring import choice_tables, credit_params, firm_params, initial_expected_rates, \
    lender_table

__all__ = ["CreditMarket", "build_model", "run"]


# Phases as timed: 3–5 run as one pass over the firms, 7 with the stock count of 8.
PHASES = ("policy", "lenders_plan", "firms_operate_service_demand", "credit_rounds",
          "defaults_and_count", "books_close", "entry", "record")


class CreditMarket(mesa.Model):
    """China's SME credit market, one step per quarter.

    A quarter, in order (``step``):

    1. **Policy** — scheduled changes and ramps apply; regulators run reactive rules.
    2. **Lenders plan** — re-lending is allocated; each bank and platform sets funding
       cost, capacity, appetite and margin; firms' lender-choice tables are rebuilt.
    3. **Firms operate** *(numba)* — revenue, profit, owner draws, digital drift, stage,
       ageing.
    4. **Debt service** *(numba)* — interest and scheduled principal fall due (deferred
       where policy says; maturing loans may be renewed); firms short are distressed.
       Repayments return to lenders' capacity.
    5. **Credit demand** *(numba)* — shortfalls, working capital, investment.
    6. **Screening, pricing, rationing** *(numba)* — ``search_rounds`` rounds of channel
       and lender choice, screening, pricing, capacity rationing and booking.
    7. **Default and loss** *(numba)* — distressed firms still short default; NPLs age
       and are written off; firms close.
    8. **Books close** — stocks are counted; platforms share flows with partner banks
       and investors; lenders' P&L and capital; government and outside-sector ledgers;
       failed lenders are resolved and platforms enter.
    9. **Entry** — entrants fill free slots in ascending order.
    10. **Record** — aggregates into the preallocated results; firms' rate expectations.
    """

    def __init__(self, scenario: Scenario, check: bool = False, engine: str | None = None):
        super().__init__(seed=scenario.run.seed)
        self.scenario = scenario
        self.params = scenario.model_copy(deep=True)
        # a 2016Q1–2019Q1 start begins from the year-end facts of the year before
        self.start_state = None
        if start_state.applies(self.params.run.start):
            self.params, self.start_state = start_state.apply(self.params)
        run = self.params.run
        self.seed = run.seed
        self.start_quarter = parse_quarter(run.start)
        self.end_quarter = parse_quarter(run.end)
        self.quarter = self.start_quarter - run.burn_in_quarters
        self.gdp = NominalGdp(self.params, self.quarter)
        self.resolved_this_quarter = 0
        self.last_default_rate = 0.0
        self._tax_coverage_drawn: float | None = None  # coverage the tax files follow
        # -- population and weights
        shares = np.array([getattr(self.params.population.agent_share, s) for s in SIZES])
        self.agents_by_size = np.floor(shares * run.agents).astype(np.int64)
        self.agents_by_size[-1] = run.agents - self.agents_by_size[:-1].sum()
        represented = np.array([getattr(self.params.population.represented, s) for s in SIZES])
        self.weights = stratum_weights(represented, self.agents_by_size)
        self.yi_per_wan = yi_per_agent_wan(self.weights)
        # -- agents
        self.market = LenderMarket(self)
        self.central_bank = CentralBank(self)
        self.banking_regulator = BankingRegulator(self)
        self.courts = Courts(self)
        self.fiscal = FiscalAuthority(self)
        self.data_regulator = DataRegulator(self)
        self.regulators = [self.central_bank, self.banking_regulator, self.courts, self.fiscal,
                           self.data_regulator]
        self.government = Government(self)
        self.outside = OutsideSector(self)
        self.schedule = PolicySchedule(self.params)
        # -- the SME side, and the sums it hands the lender side every quarter
        self.acc = Accumulators(len(self.lenders))
        self.expected_rate = initial_expected_rates(self.params)
        self.starting_rates = self.expected_rate[:3].mean(axis=1)  # of the starting book
        self.kind_rates = initial_kind_rates(self.expected_rate)
        # each lender slot's kind, fixed for the run (slots are made once; only which
        # are active changes)
        self.lender_kind = lender_kinds(self.lenders)
        self.sme: SMEEngine = build_engine(engine or run.engine, self, self.acc)
        # what firms saw of their peers and the platforms at the last stock count
        self.seen = no_signals()
        self.borrowers_by_size = np.zeros(len(SIZES))
        self.group_borrowers = np.zeros(N_GROUPS)
        self._init_population()
        self.recorder = Recorder(self.start_quarter, self.end_quarter - self.start_quarter + 1,
                                 len(self.lenders))
        # the panel's sample is drawn when the reported quarters begin (_draw_panel)
        self.panel = Panel(np.zeros(0, np.int64), np.zeros(0, np.int64), self.start_quarter,
                           self.end_quarter - self.start_quarter + 1)
        self.datacollector = QuarterlyCollector(self)
        self.checker = None
        if check:
            from sim.accounting import StockFlowCheck

            self.checker = StockFlowCheck(self)
        self.wall_seconds = 0.0
        self.started_unix = 0.0
        # wall seconds spent in each of the ten phases, summed over quarters (benchmarks)
        self.phase_seconds = np.zeros(len(PHASES))
        self._lap_started = 0.0

    # ------------------------------------------------------------------ lenders
    @property
    def lenders(self):
        return self.market.lenders

    @property
    def banks(self):
        return self.market.banks

    @property
    def platforms(self):
        return self.market.platforms

    @property
    def threads(self) -> int:
        return self.sme.threads

    @property
    def used_slots(self) -> int:
        return self.sme.used_slots

    @property
    def used_blocks(self) -> int:
        """Blocks holding slots ever used; the SME phases never write past them."""
        return self.sme.used_blocks

    def years_elapsed(self) -> float:
        """Years since the start of the reported period (negative in burn-in)."""
        return (self.quarter - self.start_quarter) / 4.0

    # ------------------------------------------------------------------ set-up
    def _firm_params(self, tax_redraw: bool = True):
        drag = self.params.macro.feedback_coefficient * self.last_default_rate \
            if self.params.run.macro_feedback else 0.0
        return firm_params(self.params, self.quarter, self.start_quarter // 4, self.seed,
                           self.schedule.revenue_multipliers(self.quarter), drag / 4.0,
                           self.seen, self.market.outreach, self.expected_rate[CH_BANK].copy(),
                           tax_redraw)

    def _credit_params(self, round_number: int):
        return credit_params(self.params, self.quarter, self.seed, round_number,
                             self.expected_rate, self.yi_per_wan, self.seen, self.gdp.level)

    def _init_population(self) -> None:
        self.sme.populate(self._firm_params(), choice_tables(self.lenders))
        sums = self._reduce()
        self.market.set_initial_books(sums)
        self.seen = signals(sums.group_count, self.platforms)
        self.borrowers_by_size = sums.size_counts(L.GM_BORROWERS).copy()
        self.group_borrowers = sums.group_count[:, L.GM_BORROWERS].copy()

    # ------------------------------------------------------------------ reductions
    def _reduce(self) -> QuarterSums:
        """Sum the accumulators over blocks, in block order, and weight them."""
        return reduce(self.acc, self.used_blocks, self.weights, self.borrowers_by_size,
                      self.group_borrowers)

    def lender_money(self, metric: int) -> np.ndarray:
        """One lender metric so far this quarter, national 亿元 per lender."""
        return national(block_sum(self.acc.lender[..., metric], self.used_blocks),
                        self.weights)

    # ------------------------------------------------------------------ the quarter
    def _lap(self, phase: int) -> None:
        """Charge the time since the last lap to ``phase`` (index into PHASES)."""
        now = time.perf_counter()
        self.phase_seconds[phase] += now - self._lap_started
        self._lap_started = now

    def step(self) -> None:
        """One quarter, its ten phases in order; ``running`` turns False after the end
        quarter (Mesa's ``run_model()`` then stops)."""
        q = self.quarter
        if q > self.end_quarter:
            raise SimError(f"the run ended with {quarter_label(self.end_quarter)}; a "
                           "finished model takes no more steps")
        if not self.started_unix:
            self.started_unix = time.time()
        if q == self.start_quarter:
            self._draw_panel()
        step_started = self._lap_started = time.perf_counter()
        self.acc.zero(self.used_blocks)
        self.resolved_this_quarter = 0
        self.government.account.reset()
        self.outside.account.reset()
        # 1. policy
        self.schedule.apply(self.params, q)
        self.gdp.advance(self.params, q)
        for regulator in self.regulators:
            regulator.step()
        self._lap(0)
        # 2. lenders plan
        self.market.plan()
        tables = choice_tables(self.lenders)
        self._lap(1)
        # 3.–5. firms operate, service their debt and decide what to borrow
        # a firm's tax file follows from its fixed rank and the coverage: drawn again for
        # every firm only when the coverage moves (new firms draw theirs in any quarter)
        coverage = self.params.policy.data.tax_data_coverage
        fp = self._firm_params(tax_redraw=coverage != self._tax_coverage_drawn)
        self._tax_coverage_drawn = coverage
        self.sme.operate_service_demand(fp)
        # repaid principal can be lent again this quarter
        self.market.add_repayments(self.lender_money(L.LF_PRINCIPAL))
        self._lap(2)
        # 6. screening, pricing and rationing, in rounds
        table = lender_table(self.lenders, *tables)
        self.sme.credit_rounds(table, self._credit_params)
        self.market.take_capacity(table.capacity, table.crowd_capacity)
        self._lap(3)
        # 7. default, loss and exit, and the stock count of phase 8
        self.sme.default_and_count(fp)
        self._lap(4)
        # 8. books close
        sums = self._reduce()
        owner_draws = block_sum(self.acc.owner_draws, self.used_blocks).T
        self.market.close_books(sums, national(owner_draws, self.weights))
        # before entrants: the stock count of the firms that were there
        self.seen = signals(sums.group_count, self.platforms)
        self._lap(5)
        # 9. entry of firms
        self.sme.enter(self._entrant_counts(), tables, fp)
        self._lap(6)
        # 10. record
        reduce_groups(self.acc, self.used_blocks, self.weights, sums)
        self._update_expectations(tables, sums)
        self.last_default_rate = annual_probability(
            sums.size_counts(L.GM_DEFAULTS).sum() / max(sums.borrowers_before.sum(), 1.0))
        if self.checker is not None:
            self.checker.check(q, sums)
        self.recorder.record(q, self, sums)
        if len(self.panel.slots) and q >= self.start_quarter:
            self.panel.record(q, self.sme.panel_state(self.panel.slots))
        self.borrowers_by_size = sums.size_counts(L.GM_BORROWERS).copy()
        self.group_borrowers = sums.group_count[:, L.GM_BORROWERS].copy()
        self.quarter += 1
        self.running = self.quarter <= self.end_quarter
        self._lap(7)
        self.wall_seconds += time.perf_counter() - step_started

    def _draw_panel(self) -> None:
        """The panel's sample: ``run.panel_firms`` of the firms open as the first reported
        quarter begins."""
        def is_open(slots):
            return self.sme.panel_state(slots)["alive"] == 1.0

        sample = draw_sample(self.seed, self.sme.used_slots, self.params.run.panel_firms,
                             is_open)
        self.panel = Panel(sample, self.sme.panel_state(sample)["uid"], self.start_quarter,
                           self.panel.n)

    def _entrant_counts(self) -> list[int]:
        """Phase 9: entrants of each size stratum, a share of its live firms; the
        fraction left over enters with that probability. The share is
        ``population.entry_rate_quarterly``, or, when ``macro.firm_entry_yearly`` gives a
        national count, a quarter of it over the national live firms."""
        rate = self.params.population.entry_rate_quarterly
        key = np.uint64(rng.stream_key(self.seed, rng.S_ENTRY, self.quarter))
        alive_by_size = self.sme.alive_by_size()
        entry_yearly = self.params.macro.firm_entry_yearly
        if entry_yearly > 0:
            national_alive = float(self.weights @ alive_by_size)
            rate = entry_yearly / 4.0 / national_alive if national_alive > 0 else 0.0
        counts = []
        for s in range(len(SIZES)):
            expected = rate * alive_by_size[s]
            whole = int(expected)
            extra = 1 if rng.uniform(key, s, 0, 0) < expected - whole else 0
            counts.append(whole + extra)
        return counts

    def _update_expectations(self, tables, sums: QuarterSums) -> None:
        """Firms expect of a channel last quarter's rate for their risk band of the
        lender kinds they may draw there (sim/expectations.py)."""
        band = block_sum(self.acc.band, self.used_blocks)
        update_kind_rates(self.kind_rates, band, L.BAND_AMT, L.BAND_RATE_AMT)
        region_firms = sums.group_count[GROUP_REGION:GROUP_REGION + len(REGIONS), L.GM_ALIVE]
        shares = draw_shares(tables, self.lender_kind, region_firms)
        channel_rates(self.expected_rate, self.kind_rates, shares,
                      self.params.credit.rate_sensitivity)

    # ------------------------------------------------------------------ running
    def run_all(self, progress: bool = False) -> None:
        """Step to the end quarter (burn-in included), as Mesa's ``run_model()`` does;
        ``progress`` shows a bar on a terminal. Each step adds its time to
        ``wall_seconds`` however the model is stepped."""
        total = self.end_quarter - self.quarter + 1
        bar = None
        if progress:
            from tqdm import tqdm

            # disable=None: no bar when output is not a terminal (logs, CI)
            bar = tqdm(total=total, unit="quarter", desc="simulating", leave=False,
                       disable=None)
        while self.running:
            self.step()
            if bar is not None:
                label = quarter_label(self.quarter - 1)
                bar.set_postfix_str(label + (" (burn-in)" if self.quarter - 1 <
                                             self.start_quarter else ""))
                bar.update(1)
        if bar is not None:
            bar.close()

    def results(self):
        """The run's tables so far as a :class:`sim.results.RunResult`; in mid-run the
        quarters not yet reached are NaN (the panel leaves them out)."""
        from sim.results import RunResult

        quarterly, groups, lenders = self.recorder.to_frames(self)
        return RunResult(quarterly=quarterly, groups=groups, lenders=lenders,
                         meta=self.metadata(), panel=self.panel.to_frame())

    def metadata(self) -> dict:
        """What run.json records of this run: scenario, seed, engine, versions, timing."""
        return {
            "name": self.scenario.name,
            "scenario": self.scenario.model_dump(mode="json", by_alias=True),
            "seed": self.seed,
            "agents": int(self.params.run.agents),
            "generator_version": rng.GENERATOR_VERSION,
            "package_version": __version__,
            "git_revision": _git_revision(),
            "engine": self.sme.name,
            "threads": self.threads,
            "wall_seconds": round(self.wall_seconds, 3),
            # when the first quarter started, in seconds since the epoch: with the launch
            # time it gives how long the process took to start (benchmarks/limits.py)
            "started_unix": round(self.started_unix, 3),
            "macro_feedback": bool(self.params.run.macro_feedback),
            "burn_in_quarters": self.params.run.burn_in_quarters,
            "weights": dict(zip(SIZES, self.weights.tolist())),
            "bytes_per_slot": _rounded(self.sme.bytes_per_slot()),
            "stock_flow_checked": self.checker is not None,
            **({"start_state": self.start_state} if self.start_state is not None else {}),
        }


def _git_revision() -> str | None:
    here = Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def build_model(scenario: Scenario, check: bool = False) -> CreditMarket:
    """The model of ``scenario``, its SMEs run by the engine of ``run.engine``: the numba
    kernels or the plain-Mesa reference engine, which must give the same results.

    Raises :class:`sim.memory.MemoryEstimateError` before allocating anything when the
    run's estimated memory exceeds what the machine has available."""
    from sim.memory import check_run_memory

    check_run_memory(scenario.run.agents, scenario.run.engine)
    return CreditMarket(scenario, check=check)


# A model and its agents refer to each other, so a finished model is freed only when
# Python's cycle collector next runs, which can be several runs later: a sweep or
# calibration worker running large models one after another would hold several at once.
# A collection takes about 0.1 s, small beside a run of this many SMEs, large beside a
# small one.
FREE_AT_ONCE_AGENTS = 50_000


def run(scenario: Scenario, progress: bool = False, check: bool = False):
    """Run a scenario to its end; return a :class:`sim.results.RunResult` (which holds
    tables, not the model: a large model is freed before this returns)."""
    model = build_model(scenario, check=check)
    model.run_all(progress=progress)
    result = model.results()
    del model
    if scenario.run.agents >= FREE_AT_ONCE_AGENTS:
        gc.collect()
    return result

