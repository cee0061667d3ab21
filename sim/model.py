"""The credit market: owns the state and calls the ten phases of a quarter."""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import mesa
import numba
import numpy as np

from sim import __version__, rng
from sim.agents.regulators import BankingRegulator, CentralBank, Courts, DataRegulator, \
    FiscalAuthority
from sim.agents.sectors import Government, OutsideSector
from sim.categories import SIZE_GROUPS, SIZES
from sim.kernels import layout as L
from sim.kernels.birth import count_entrants, init_firms
from sim.kernels.bitsets import find_free_slots
from sim.kernels.book import book
from sim.kernels.credit import choose_and_screen
from sim.kernels.defaults import count_stocks, defaults_and_count
from sim.kernels.operate import firms_quarter, list_seekers
from sim.kernels.params import Applications
from sim.kernels.ration import ration
from sim.kernels.seekers import keep_seeking
from sim.lenders_market import LenderMarket
from sim.policy import PolicySchedule
from sim.population import FREE_LINE, Population, check_slot_count, slot_capacity, \
    staggered_zeros
from sim.quarters import parse_quarter, quarter_label
from sim.recorder import Recorder
from sim.schema import Scenario
from sim.units import national, national_by_stratum, stratum_weights, yi_per_agent_wan
from sim.wiring import choice_tables, credit_params, firm_params, initial_expected_rates, \
    lender_table


# Phases as timed: 3–5 run as one pass over the firms, 7 with the stock count of 8.
PHASES = ("policy", "lenders_plan", "firms_operate_service_demand", "credit_rounds",
          "defaults_and_count", "books_close", "entry", "record")


@dataclass
class QuarterSums:
    """The quarter's accumulators summed over blocks (in block order) and weighted."""

    lender_money: np.ndarray          # [J, LF_N] every metric weighted as money (亿元)
    lender_count: np.ndarray          # [J, LF_N] every metric weighted as a count
    lender_money_by_size: np.ndarray  # [J, LF_N, 3] 亿元, by firm size
    group_money: np.ndarray | None    # [G, GM_N]
    group_count: np.ndarray | None    # [G, GM_N]
    borrowers_before: np.ndarray      # [3] borrowers by size at the start of the quarter
    group_borrowers_before: np.ndarray  # [G]


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

    def __init__(self, scenario: Scenario, check: bool = False):
        super().__init__(seed=scenario.run.seed)
        self.scenario = scenario
        self.params = scenario.model_copy(deep=True)
        run = self.params.run
        # None means all cores; set it explicitly so an earlier run's count does not linger
        numba.set_num_threads(min(run.threads or numba.config.NUMBA_NUM_THREADS,
                                  numba.config.NUMBA_NUM_THREADS))
        self.threads = numba.get_num_threads()
        self.seed = run.seed
        self.start_quarter = parse_quarter(run.start)
        self.end_quarter = parse_quarter(run.end)
        self.quarter = self.start_quarter - run.burn_in_quarters
        self.resolved_this_quarter = 0
        self.last_default_rate = 0.0
        # -- population and weights
        shares = np.array([getattr(self.params.population.agent_share, s) for s in SIZES])
        self.agents_by_size = np.floor(shares * run.agents).astype(np.int64)
        self.agents_by_size[-1] = run.agents - self.agents_by_size[:-1].sum()
        represented = np.array([getattr(self.params.population.represented, s) for s in SIZES])
        self.weights = stratum_weights(represented, self.agents_by_size)
        self.yi_per_wan = yi_per_agent_wan(self.weights)
        capacity = slot_capacity(self.params)
        check_slot_count(capacity)
        self.pop = Population.allocate(capacity)
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
        # -- scratch owned by the model, reused every quarter
        n_lenders = len(self.lenders)
        self.lender_acc = np.zeros((0, n_lenders, len(SIZES), L.LF_N))
        self.group_acc = np.zeros((0, L.N_GROUPS, len(SIZES), L.GM_N))
        self.band_acc = np.zeros((0, 5, 10, L.BAND_N))
        self.owner_draws = np.zeros((0, len(SIZES), 2))
        self.seekers_per_block = np.zeros(0, dtype=np.int64)
        # a bit per slot free for an entrant (set by phase 7)
        self.free_bits = np.zeros((0, L.WORDS_PER_BLOCK), dtype=np.uint64)
        self.block_starts = np.zeros(1, dtype=np.int64)
        self.spare_block_starts = np.zeros(1, dtype=np.int64)
        self._block_room(L.n_blocks(capacity))
        self.entry_groups = np.zeros((L.N_GROUPS, len(SIZES)))
        # where the credit seekers' requests are (see Population.requests) and their
        # applications, one entry per seeker (grown as needed)
        self.seekers = np.zeros(0, dtype=np.int32)
        self.app: dict[str, np.ndarray] = {}
        self._seeker_room(run.agents // 2)
        self.expected_rate = initial_expected_rates(self.params)
        self.starting_rates = self.expected_rate[:3].mean(axis=1)  # of the starting book
        self.borrowers_by_size = np.zeros(len(SIZES))
        self.group_borrowers = np.zeros(L.N_GROUPS)
        self._init_population()
        self.recorder = Recorder(self.start_quarter, self.end_quarter - self.start_quarter + 1,
                                 n_lenders)
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

    def years_elapsed(self) -> float:
        return (self.quarter - self.start_quarter) / 4.0

    # ------------------------------------------------------------------ set-up
    def _fill(self, slots, uids, sizes, entrant: bool, fp, tables) -> np.ndarray:
        """Draw firms into ``slots``; ``tables`` (lender choice) place the starting book.
        Returns each new firm's sector, region, size and stage (uint8 [n, 4])."""
        groups_of = np.empty((slots.shape[0], 4), dtype=np.uint8)
        init_firms(slots, uids, sizes, int(entrant), fp, *tables, self.starting_rates,
                   groups_of, self.pop.firms, self.pop.loans)
        return groups_of

    def _firm_params(self):
        drag = self.params.macro.feedback_coefficient * self.last_default_rate \
            if self.params.run.macro_feedback else 0.0
        return firm_params(self.params, self.quarter, self.start_quarter // 4, self.seed,
                           self.schedule.revenue_multipliers(self.quarter), drag / 4.0)

    def _init_population(self) -> None:
        total = int(self.agents_by_size.sum())
        slots = np.arange(total, dtype=np.int64)
        self.used_slots = total
        sizes = np.repeat(np.arange(len(SIZES), dtype=np.int64), self.agents_by_size)
        self._fill(slots, slots.copy(), sizes, False, self._firm_params(),
                   choice_tables(self.lenders))
        self._count_stocks()
        sums = self._reduce()
        self.market.set_initial_books(sums)
        self.borrowers_by_size = sums.group_count[10:13, L.GM_BORROWERS].copy()
        self.group_borrowers = sums.group_count[:, L.GM_BORROWERS].copy()

    # ------------------------------------------------------------------ reductions
    def _count_stocks(self) -> None:
        blocks = self.used_blocks  # the rest are never written (see step)
        self.lender_acc[:blocks, ..., L.LF_BAL_PERF] = 0.0
        self.lender_acc[:blocks, ..., L.LF_BAL_NPL] = 0.0
        self.lender_acc[:blocks, ..., L.LF_LOANS] = 0.0
        for m in (L.GM_ALIVE, L.GM_BALANCE, L.GM_NPL, L.GM_BORROWERS):
            self.group_acc[:blocks, ..., m] = 0.0
        count_stocks(self.used_slots, self.lender_acc, self.group_acc, self.pop.firms,
                     self.pop.loans)

    @property
    def used_blocks(self) -> int:
        """Blocks holding slots ever used; the kernels never write past them."""
        return L.n_blocks(self.used_slots)

    def _block_sum(self, acc: np.ndarray) -> np.ndarray:
        """Sum a per-block accumulator over its blocks, in block order. Blocks past the
        used ones are never written, so they are left out: at 1M SMEs they are a quarter
        of the accumulator."""
        return acc[:self.used_blocks].sum(axis=0)

    def _reduce(self) -> QuarterSums:
        """Sum the accumulators over blocks, in block order, and weight them."""
        by_size = self._block_sum(self.lender_acc).transpose(0, 2, 1)   # [J, LF_N, 3]
        sums = QuarterSums(
            lender_money=national(by_size, self.weights),
            lender_count=national(by_size, self.weights, money=False),
            lender_money_by_size=national_by_stratum(by_size, self.weights),
            group_money=None, group_count=None,
            borrowers_before=self.borrowers_by_size.copy(),
            group_borrowers_before=self.group_borrowers.copy(),
        )
        self._reduce_groups(sums)
        return sums

    def _reduce_groups(self, sums: QuarterSums) -> None:
        """(Re)compute the group sums, entrants included; lender sums are unaffected by
        entry, so after phase 9 only these need redoing."""
        group = self._block_sum(self.group_acc)
        group[:, :, L.GM_ALIVE] += self.entry_groups
        group[:, :, L.GM_ENTRIES] += self.entry_groups
        group_by_size = group.transpose(0, 2, 1)
        sums.group_money = national(group_by_size, self.weights)
        sums.group_count = national(group_by_size, self.weights, money=False)

    def lender_money(self, metric: int) -> np.ndarray:
        """One lender metric so far this quarter, national 亿元 per lender."""
        return national(self._block_sum(self.lender_acc[..., metric]), self.weights)

    # ------------------------------------------------------------------ the quarter
    def _lap(self, phase: int) -> None:
        """Charge the time since the last lap to ``phase`` (index into PHASES)."""
        now = time.perf_counter()
        self.phase_seconds[phase] += now - self._lap_started
        self._lap_started = now

    def step(self) -> None:
        self._lap_started = time.perf_counter()
        q = self.quarter
        # Only blocks holding used slots are ever written, so only they need zeroing: the
        # rest stay untouched zeros, costing neither time nor resident memory.
        blocks = self.used_blocks
        self.lender_acc[:blocks] = 0.0
        self.group_acc[:blocks] = 0.0
        self.band_acc[:blocks] = 0.0
        self.owner_draws[:blocks] = 0.0
        self.entry_groups[:] = 0.0
        self.resolved_this_quarter = 0
        self.government.account.reset()
        self.outside.account.reset()
        # 1. policy
        self.schedule.apply(self.params, q)
        for regulator in self.regulators:
            regulator.step()
        self._lap(0)
        # 2. lenders plan
        self.market.plan()
        tables = choice_tables(self.lenders)
        self._lap(1)
        # 3.–5. firms operate, service their debt and decide what to borrow
        fp = self._firm_params()
        self._firms_pass(fp)
        # repaid principal can be lent again this quarter
        self.market.add_repayments(self.lender_money(L.LF_PRINCIPAL))
        self._lap(2)
        # 6. screening, pricing and rationing, in rounds
        table = lender_table(self.lenders, *tables)
        self._credit_rounds(table)
        self.market.take_capacity(table.capacity)
        self._lap(3)
        # 7. default, loss and exit, and the stock count of phase 8
        self._defaults_and_count(fp)
        self._lap(4)
        # 8. books close
        sums = self._reduce()
        self.market.close_books(sums, national(self._block_sum(self.owner_draws).T, self.weights))
        self._lap(5)
        # 9. entry of firms
        self._entry(tables, fp)
        self._lap(6)
        # 10. record
        self._reduce_groups(sums)
        self._update_expectations()
        self.last_default_rate = 4.0 * sums.group_count[10:13, L.GM_DEFAULTS].sum() / max(
            sums.borrowers_before.sum(), 1.0)
        if self.checker is not None:
            self.checker.check(q, sums)
        self.recorder.record(q, self, sums)
        self.borrowers_by_size = sums.group_count[10:13, L.GM_BORROWERS].copy()
        self.group_borrowers = sums.group_count[:, L.GM_BORROWERS].copy()
        self.quarter += 1
        self._lap(7)

    def _firms_pass(self, fp) -> None:
        """Phases 3–5: firms operate, service their debt and decide what to borrow."""
        firms_quarter(self.used_slots, fp, self.lender_acc, self.group_acc, self.owner_draws,
                      self.seekers_per_block, self.pop.firms, self.pop.loans,
                      self.pop.requests)
        self.pop.release_stale_requests(self.seekers_per_block[:self.used_blocks])

    def _defaults_and_count(self, fp) -> None:
        """Phase 7 and the stock count of phase 8."""
        defaults_and_count(self.used_slots, fp, self.lender_acc, self.group_acc,
                           self.free_bits, self.pop.firms, self.pop.loans)

    def _seeker_room(self, n_seekers: int) -> None:
        """Make the seeker and application arrays hold at least ``n_seekers`` entries."""
        if self.seekers.shape[0] >= n_seekers and self.app:
            return
        size = max(n_seekers + n_seekers // 4, 1024)
        # request positions fit int32 (capacity < 2**31); half the bytes of int64.
        # Zeros, not a fill value: each quarter writes every seeker's entries before any
        # kernel reads them, and pages never written take no memory.
        columns = {"seekers": np.int32, "spare_seekers": np.int32, "seeking": np.uint8,
                   "lender": np.int16, "channel": np.uint8,
                   "size": np.uint8, "pd": np.float64, "amount": np.float64, "rate": np.float32,
                   "ok": np.uint8, "secured": np.uint8, "funded": np.uint8}
        arrays = {name: staggered_zeros((size,), dtype, FREE_LINE + k)
                  for k, (name, dtype) in enumerate(columns.items())}
        self.seekers = arrays.pop("seekers")
        # the next round's seekers; within a round, rationing's scratch (its offers in
        # lender order), used up before the next round's list is written here
        self.spare_seekers = arrays.pop("spare_seekers")
        self.app = {
            **arrays,
            "starts": np.zeros(len(self.lenders) + 1, dtype=np.int64),
        }

    def _credit_rounds(self, table) -> None:
        blocks = self.used_blocks
        block_starts = self.block_starts[:blocks + 1]
        self._seeker_room(int(self.seekers_per_block[:blocks].sum()))
        app = self.app
        apps = Applications(**{name: app[name] for name in Applications._fields})
        n_seekers = list_seekers(self.used_slots, self.seekers_per_block,
                                 block_starts, self.seekers)
        seekers, spare = self.seekers, self.spare_seekers
        starts, spare_starts = block_starts, self.spare_block_starts[:blocks + 1]
        rounds = self.params.credit.search_rounds
        for round_number in range(rounds):
            cp = credit_params(self.params, self.quarter, self.seed, round_number,
                               self.expected_rate, self.yi_per_wan)
            choose_and_screen(seekers, starts, cp, table, self.lender_acc, self.group_acc,
                              self.pop.firms, self.pop.loans, self.pop.requests, apps)
            ration(seekers, n_seekers, apps, self.pop.firms, self.pop.requests,
                   self.yi_per_wan, table.capacity, spare, app["starts"])
            book(seekers, starts, cp, table, self.lender_acc, self.group_acc, self.band_acc,
                 self.pop.firms, self.pop.loans, self.pop.requests, apps)
            if round_number < rounds - 1:
                # the next round visits only the firms still seeking
                n_seekers = keep_seeking(seekers, starts, app["seeking"], spare, spare_starts)
                seekers, spare = spare, seekers
                starts, spare_starts = spare_starts, starts

    def _entry(self, tables, fp) -> None:
        """Phase 9: entrants by size stratum fill free slots in ascending order."""
        pop = self.pop
        rate = self.params.population.entry_rate_quarterly
        key = np.uint64(rng.stream_key(self.seed, rng.S_ENTRY, self.quarter))
        # firms alive after exits, by size, as counted at the close of books
        alive_by_size = self._block_sum(self.group_acc[:, SIZE_GROUPS, :, L.GM_ALIVE]).sum(axis=1)
        counts = []
        for s in range(len(SIZES)):
            expected = rate * alive_by_size[s]
            whole = int(expected)
            extra = 1 if rng.uniform(key, s, 0, 0) < expected - whole else 0
            counts.append(whole + extra)
        total = sum(counts)
        if total == 0:
            return
        slots = np.empty(total, dtype=np.int64)
        # a closed firm's slot is free once its bad loans are written off
        found = find_free_slots(self.free_bits, self.used_slots, pop.capacity, total, slots)
        if found < total:
            # every free slot is taken: the rest go into new slots at the end
            first_new = pop.capacity
            self._grow(first_new + total - found)
            slots[found:] = first_new + np.arange(total - found)
        # kernels loop over slots below the highest ever used, so that the threads'
        # equal shares of the loop are equal shares of the work
        self.used_slots = max(self.used_slots, int(slots[-1]) + 1)
        uids = (np.int64(self.quarter) << 32) | np.arange(total, dtype=np.int64)
        sizes = np.repeat(np.arange(len(SIZES), dtype=np.int64), counts)
        count_entrants(self._fill(slots, uids, sizes, True, fp, tables), self.entry_groups)

    def _grow(self, needed: int) -> None:
        """Grow the population to at least ``needed`` slots, and by at least a quarter
        (so it grows a few times in a run, not every quarter), with block accumulators
        to match. Slots past the old end are all free, so which slot an entrant takes,
        and so every result, does not depend on when this happens."""
        capacity = max(needed, self.pop.capacity + self.pop.capacity // 4)
        check_slot_count(capacity)
        self.pop.grow(capacity, self.seekers_per_block[:self.used_blocks])
        self._block_room(L.n_blocks(capacity))

    def _block_room(self, blocks: int) -> None:
        """Make the per-block accumulators hold ``blocks`` blocks, keeping their sums."""
        def widen(array: np.ndarray, extra: int = 0) -> np.ndarray:
            wider = np.zeros((blocks + extra,) + array.shape[1:], dtype=array.dtype)
            wider[:array.shape[0]] = array
            return wider

        self.lender_acc = widen(self.lender_acc)
        self.group_acc = widen(self.group_acc)
        self.band_acc = widen(self.band_acc)
        self.owner_draws = widen(self.owner_draws)
        self.seekers_per_block = widen(self.seekers_per_block)
        self.free_bits = widen(self.free_bits)
        self.block_starts = widen(self.block_starts, extra=1)
        self.spare_block_starts = widen(self.spare_block_starts, extra=1)

    def _update_expectations(self) -> None:
        """Firms expect last quarter's rate for their risk band and channel."""
        band = self._block_sum(self.band_acc)
        amount = band[..., L.BAND_AMT]
        have = amount > 0
        self.expected_rate[:3][have[:3]] = (band[..., L.BAND_RATE_AMT][:3][have[:3]]
                                           / amount[:3][have[:3]])

    # ------------------------------------------------------------------ running
    def run_all(self, progress: bool = False) -> None:
        total = self.end_quarter - self.quarter + 1
        self.started_unix = time.time()
        started = time.perf_counter()
        bar = None
        if progress:
            from tqdm import tqdm

            # disable=None: no bar when output is not a terminal (logs, CI)
            bar = tqdm(total=total, unit="quarter", desc="simulating", leave=False,
                       disable=None)
        while self.quarter <= self.end_quarter:
            self.step()
            if bar is not None:
                label = quarter_label(self.quarter - 1)
                bar.set_postfix_str(label + (" (burn-in)" if self.quarter - 1 <
                                             self.start_quarter else ""))
                bar.update(1)
        if bar is not None:
            bar.close()
        self.wall_seconds = time.perf_counter() - started

    def results(self):
        from sim.results import RunResult

        quarterly, groups, lenders = self.recorder.to_frames(self)
        return RunResult(quarterly=quarterly, groups=groups, lenders=lenders,
                         meta=self.metadata())

    def metadata(self) -> dict:
        return {
            "name": self.scenario.name,
            "scenario": self.scenario.model_dump(mode="json", by_alias=True),
            "seed": self.seed,
            "agents": int(self.params.run.agents),
            "generator_version": rng.GENERATOR_VERSION,
            "package_version": __version__,
            "git_revision": _git_revision(),
            "engine": "numba",
            "threads": self.threads,
            "wall_seconds": round(self.wall_seconds, 3),
            # when the first quarter started, in seconds since the epoch: with the launch
            # time it gives how long the process took to start (benchmarks/limits.py)
            "started_unix": round(self.started_unix, 3),
            "macro_feedback": bool(self.params.run.macro_feedback),
            "burn_in_quarters": self.params.run.burn_in_quarters,
            "weights": dict(zip(SIZES, self.weights.tolist())),
            "bytes_per_slot": round(self.pop.bytes_per_slot(), 1),
            "stock_flow_checked": self.checker is not None,
        }


def _git_revision() -> str | None:
    here = Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def build_model(scenario: Scenario, check: bool = False) -> CreditMarket:
    """The model of ``run.engine``: :class:`CreditMarket` (numba kernels) or the plain-Mesa
    :class:`sim.reference.ReferenceMarket`, which must give the same results."""
    if scenario.run.engine == "reference":
        from sim.reference import ReferenceMarket

        return ReferenceMarket(scenario, check=check)
    return CreditMarket(scenario, check=check)


def run(scenario: Scenario, progress: bool = False, check: bool = False):
    """Run a scenario to its end; return a :class:`sim.results.RunResult`."""
    model = build_model(scenario, check=check)
    model.run_all(progress=progress)
    return model.results()

