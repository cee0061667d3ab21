"""``NumbaEngine``: the SMEs as records in arrays, their phases as numba kernels."""

from __future__ import annotations

from typing import Callable

import numba
import numpy as np

from sim.accumulators import Accumulators, block_sum, widened
from sim.categories import DEBT_CHANNELS, LOAN_EMPTY, LOAN_NONPERFORMING, SIZE_GROUPS, \
    SIZES
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
from sim.panel import PANEL_CATEGORIES, PANEL_DEBT, PANEL_FIRM_FIELDS, PANEL_FLAGS
from sim.population import FIRM_FLAGS, FREE_LINE, Population, check_slot_count, slot_capacity, \
    staggered_zeros


class NumbaEngine:
    """The SME side of the market in arrays (:class:`~sim.population.Population`): one
    firm record and two loan records per slot, a credit request per seeker; each phase
    a parallel kernel over fixed blocks of slots (see :class:`sim.engines.SMEEngine`)."""

    name = "numba"

    def __init__(self, model, acc: Accumulators):
        self.model = model
        self.acc = acc
        run = model.params.run
        # None means all cores; set it explicitly so an earlier run's count does not linger
        numba.set_num_threads(min(run.threads or numba.config.NUMBA_NUM_THREADS,
                                  numba.config.NUMBA_NUM_THREADS))
        self.threads = numba.get_num_threads()
        capacity = slot_capacity(model.params)
        check_slot_count(capacity)
        self.pop = Population.allocate(capacity)
        self.used_slots = 0
        self.seekers_per_block = np.zeros(0, dtype=np.int64)
        # a bit per slot free for an entrant (set by phase 7)
        self.free_bits = np.zeros((0, L.WORDS_PER_BLOCK), dtype=np.uint64)
        self.block_starts = np.zeros(1, dtype=np.int64)
        self.spare_block_starts = np.zeros(1, dtype=np.int64)
        self._block_room(L.n_blocks(capacity))
        # where the credit seekers' requests are (see Population.requests) and their
        # applications, one entry per seeker (grown as needed)
        self.seekers = np.zeros(0, dtype=np.int32)
        self.apps: Applications | None = None
        # where each lender's offers start in rationing's scratch (int64 [J + 1])
        self.lender_starts = np.zeros(len(model.lenders) + 1, dtype=np.int64)
        self._seeker_room(run.agents // 2)

    @property
    def used_blocks(self) -> int:
        return L.n_blocks(self.used_slots)

    @property
    def capacity(self) -> int:
        return self.pop.capacity

    def bytes_per_slot(self) -> float:
        return self.pop.bytes_per_slot()

    # ------------------------------------------------------------------ set-up
    def fill(self, slots, uids, sizes, entrant: bool, fp, tables) -> np.ndarray:
        """Draw firms into ``slots``; ``tables`` (lender choice) place the starting book.
        Returns each new firm's sector, region, size and stage (uint8 [n, 4])."""
        groups_of = np.empty((slots.shape[0], 4), dtype=np.uint8)
        init_firms(slots, uids, sizes, int(entrant), fp, *tables, self.model.starting_rates,
                   groups_of, self.pop.firms, self.pop.loans)
        return groups_of

    def populate(self, fp, tables) -> None:
        total = int(self.model.agents_by_size.sum())
        slots = np.arange(total, dtype=np.int64)
        self.used_slots = total
        sizes = np.repeat(np.arange(len(SIZES), dtype=np.int64), self.model.agents_by_size)
        self.fill(slots, slots.copy(), sizes, False, fp, tables)
        self.count_stocks()

    def count_stocks(self) -> None:
        self.acc.zero_stocks(self.used_blocks)  # the rest are never written
        count_stocks(self.used_slots, self.acc.lender, self.acc.group, self.pop.firms,
                     self.pop.loans)

    # ------------------------------------------------------------------ phases
    def operate_service_demand(self, fp) -> None:
        firms_quarter(self.used_slots, fp, self.acc.lender, self.acc.group,
                      self.acc.owner_draws, self.seekers_per_block, self.pop.firms,
                      self.pop.loans, self.pop.requests)
        self.pop.release_stale_requests(self.seekers_per_block[:self.used_blocks])

    def credit_rounds(self, table, params_of_round: Callable[[int], object]) -> None:
        acc, pop = self.acc, self.pop
        blocks = self.used_blocks
        block_starts = self.block_starts[:blocks + 1]
        self._seeker_room(int(self.seekers_per_block[:blocks].sum()))
        apps = self.apps
        n_seekers = list_seekers(self.used_slots, self.seekers_per_block,
                                 block_starts, self.seekers)
        seekers, spare = self.seekers, self.spare_seekers
        starts, spare_starts = block_starts, self.spare_block_starts[:blocks + 1]
        rounds = self.model.params.credit.search_rounds
        for round_number in range(rounds):
            cp = params_of_round(round_number)
            choose_and_screen(seekers, starts, cp, table, acc.lender, acc.group,
                              pop.firms, pop.loans, pop.requests, apps)
            ration(seekers, n_seekers, apps, pop.firms, pop.requests, self.model.yi_per_wan,
                   table.capacity, table.crowd_capacity, spare, self.lender_starts,
                   cp.min_loan_wan)
            book(seekers, starts, cp, table, acc.lender, acc.group, acc.band,
                 pop.firms, pop.loans, pop.requests, apps)
            if round_number < rounds - 1:
                # the next round visits only the firms still seeking
                n_seekers = keep_seeking(seekers, starts, apps.seeking, spare, spare_starts)
                seekers, spare = spare, seekers
                starts, spare_starts = spare_starts, starts

    def default_and_count(self, fp) -> None:
        defaults_and_count(self.used_slots, fp, self.acc.lender, self.acc.group,
                           self.free_bits, self.pop.firms, self.pop.loans)

    def alive_by_size(self) -> np.ndarray:
        # firms alive after exits, by size, as counted at the close of books
        return block_sum(self.acc.group[:, SIZE_GROUPS, :, L.GM_ALIVE],
                         self.used_blocks).sum(axis=1)

    def enter(self, counts: list[int], tables, fp) -> None:
        total = sum(counts)
        if total == 0:
            return
        pop = self.pop
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
        uids = (np.int64(self.model.quarter) << 32) | np.arange(total, dtype=np.int64)
        sizes = np.repeat(np.arange(len(SIZES), dtype=np.int64), counts)
        count_entrants(self.fill(slots, uids, sizes, True, fp, tables), self.acc.entry_groups)

    def reassign_loans(self, failed: int, acquirer: int) -> None:
        lender_ids = self.pop.loan_lender[:self.used_slots]  # slots past it were never used
        lender_ids[lender_ids == failed] = acquirer

    def panel_state(self, slots: np.ndarray) -> dict[str, np.ndarray]:
        firms, loans = self.pop.firms[slots], self.pop.loans[slots]
        state = {"uid": (firms["entry_quarter"].astype(np.int64) << 32) | firms["serial"]}
        for name in (*PANEL_CATEGORIES, *PANEL_FIRM_FIELDS):
            state[name] = firms[name].astype(np.float64)
        for name in PANEL_FLAGS:
            state[name] = ((firms["flags"] >> FIRM_FLAGS[name][0]) & 1).astype(np.float64)
        held = loans["status"] != LOAN_EMPTY
        for name, channel in zip(PANEL_DEBT, DEBT_CHANNELS):
            # added position by position, in the order the reference engine adds them
            mine = held & (loans["channel"] == channel)
            state[name] = np.where(mine[:, 0], loans["principal"][:, 0], 0.0) + np.where(
                mine[:, 1], loans["principal"][:, 1], 0.0)
        state["non_performing"] = (loans["status"] == LOAN_NONPERFORMING).any(
            axis=1).astype(np.float64)
        # a closed firm with no loans left has given up its slot (its record is stale
        # until an entrant overwrites it): an empty slot, as in the reference engine
        gone = (state["alive"] == 0.0) & ~held.any(axis=1)
        for name, values in state.items():
            values[gone] = 0
        return state

    # ------------------------------------------------------------------ room
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
        """Make the per-block arrays hold ``blocks`` blocks, keeping their contents."""
        self.acc.widen(blocks)
        self.seekers_per_block = widened(self.seekers_per_block, blocks)
        self.free_bits = widened(self.free_bits, blocks)
        self.block_starts = widened(self.block_starts, blocks + 1)
        self.spare_block_starts = widened(self.spare_block_starts, blocks + 1)

    def _seeker_room(self, n_seekers: int) -> None:
        """Make the seeker and application arrays hold at least ``n_seekers`` entries."""
        if self.seekers.shape[0] >= n_seekers and self.apps is not None:
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
        self.apps = Applications(**arrays)
