"""``ReferenceEngine``: the SME side of the market with every SME a Mesa agent in plain
Python.

It implements :class:`sim.engines.SMEEngine` as the numba engine does, from rules written
a second time in :mod:`sim.reference.sme`. Firms live in a table of slots, as in the fast
engine: they are visited in slot order, entrants take the lowest free slots, and a firm's
sums go to the accumulator row of its slot's block; so every total is added up in the
same order as the fast engine adds it, and the two give identical results.
"""

from __future__ import annotations

import numpy as np

from sim.accumulators import Accumulators
from sim.categories import (
    DEBT_CHANNELS, GROUP_REGION, GROUP_SECTOR, GROUP_SIZE, GROUP_STAGE, LOAN_NONPERFORMING,
    REGIONS, SIZES, STAGES,
)
from sim.errors import SimError
from sim.kernels import layout as L
from sim.panel import PANEL_CATEGORIES, PANEL_FIRM_FIELDS, PANEL_FLAGS, STATE_COLUMNS
from sim.population import slot_capacity
from sim.reference.credit import ration
from sim.reference.sme import SME

MAX_AGENTS = 200_000  # one Python object per firm: meant for tens of thousands


def plain(bundle):
    """A parameter bundle with its numpy arrays as (nested) lists of Python numbers, the
    plain data the SME agents read."""
    return bundle._replace(**{
        name: value.tolist() if isinstance(value, np.ndarray) else
        value.item() if isinstance(value, np.generic) else value
        for name, value in bundle._asdict().items()})


class ReferenceEngine:
    """The SME side of :class:`~sim.model.CreditMarket` as
    :class:`~sim.reference.sme.SME` agents (``model.agents_by_type[SME]``) in a table of
    slots (None = free)."""

    name = "reference"
    threads = 1

    def __init__(self, model, acc: Accumulators):
        agents = model.params.run.agents
        if agents > MAX_AGENTS:
            raise SimError(
                f"the reference engine runs every SME as a Python object and is meant for "
                f"tens of thousands of agents; run.agents = {agents:,} is above its limit of "
                f"{MAX_AGENTS:,}: use engine = \"numba\" (--engine numba)")
        self.model = model
        self.acc = acc
        self.slots: list[SME | None] = [None] * slot_capacity(model.params)
        self.used_slots = 0
        acc.widen(L.n_blocks(len(self.slots)))

    @property
    def used_blocks(self) -> int:
        return L.n_blocks(self.used_slots)

    @property
    def capacity(self) -> int:
        return len(self.slots)

    def bytes_per_slot(self) -> None:
        return None

    def firms(self) -> list[SME]:
        """Every firm still holding a slot (live, or closed with bad loans left), in slot
        order."""
        return [firm for firm in self.slots[:self.used_slots] if firm is not None]

    # ------------------------------------------------------------------ set-up
    def fill(self, slots: list[int], uids: list[int], sizes: list[int], entrant: bool, fp,
             tables) -> None:
        fp = plain(fp)
        ids, cum, count = (t.tolist() for t in tables)
        table = _ChoiceTable(ids, cum, count)
        rates = self.model.starting_rates.tolist()
        with np.errstate(over="ignore"):   # the generator's uint64 arithmetic wraps
            for slot, uid, size in zip(slots, uids, sizes):
                firm = SME(self.model, uid, size, slot)
                firm.draw(fp, entrant, table, rates)
                self.slots[slot] = firm

    def populate(self, fp, tables) -> None:
        agents_by_size = self.model.agents_by_size.tolist()
        total = sum(agents_by_size)
        self.used_slots = total
        sizes = [s for s, n in enumerate(agents_by_size) for _ in range(n)]
        self.fill(list(range(total)), list(range(total)), sizes, False, fp, tables)
        self.count_stocks()

    def count_stocks(self) -> None:
        cells = self._stock_cells()
        for firm in self.firms():
            firm.count(cells[firm.block])
        self._fold(cells)

    def _stock_cells(self) -> list[np.ndarray]:
        """Each block's empty cell sums for the stock count (see :meth:`SME.count`)."""
        shape = (L.N_CELLS, len(SIZES), L.N_STOCKS)
        return [np.zeros(shape) for _ in range(L.n_blocks(self.used_slots))]

    def _fold(self, cells: list[np.ndarray]) -> None:
        """Add each block's cell sums to its sector, region, size and stage groups, cells
        in order, as the fast engine does at the end of each block."""
        per_sector = len(REGIONS) * len(STAGES)
        for block, block_cells in enumerate(cells):
            rows = self.model.acc.group[block]
            for c in range(block_cells.shape[0]):
                sector, rest = divmod(c, per_sector)
                region, stage = divmod(rest, len(STAGES))
                for size in range(block_cells.shape[1]):
                    cell = block_cells[c, size]
                    if cell[0] == 0.0:
                        continue  # no live firm in the cell
                    for g in (GROUP_SECTOR + sector, GROUP_REGION + region, GROUP_SIZE + size,
                              GROUP_STAGE + stage):
                        row = rows[g, size]
                        for k, metric in enumerate(L.STOCK_METRICS):
                            row[metric] += cell[k]

    # ------------------------------------------------------------------ phases
    def operate_service_demand(self, fp) -> None:
        fp = plain(fp)
        firms = [firm for firm in self.firms() if firm.alive]
        with np.errstate(over="ignore"):
            for firm in firms:
                firm.operate(fp)
            for firm in firms:
                firm.service_debt(fp)
            for firm in firms:
                firm.demand(fp)

    def credit_rounds(self, table, params_of_round) -> None:
        seekers = [firm for firm in self.firms() if firm.alive and firm.need > 0.0]
        lenders = plain(table)
        yi_per_wan = self.model.yi_per_wan.tolist()
        with np.errstate(over="ignore"):
            for round_number in range(self.model.params.credit.search_rounds):
                cp = plain(params_of_round(round_number))
                offers = [offer for offer in (firm.apply(cp, lenders) for firm in seekers)
                          if offer is not None]
                ration(offers, table.capacity, table.crowd_capacity, yi_per_wan,
                       cp.min_loan_wan)
                for offer in offers:
                    if offer.funded:
                        offer.firm.accept(offer, cp, lenders)
                    else:
                        offer.firm.turned_down(offer.lender, cp)

    def default_and_count(self, fp) -> None:
        fp = plain(fp)
        cells = self._stock_cells()
        with np.errstate(over="ignore"):
            for firm in self.firms():
                firm.default_or_exit(fp)
                firm.count(cells[firm.block])
                if not firm.alive and not firm.has_loans():
                    # nothing left to collect: the slot is free for an entrant
                    self.slots[firm.slot] = None
                    firm.remove()
        self._fold(cells)

    def alive_by_size(self) -> np.ndarray:
        alive = np.zeros(len(SIZES))
        for firm in self.firms():
            if firm.alive:
                alive[firm.size] += 1.0
        return alive

    def enter(self, counts: list[int], tables, fp) -> None:
        """Entrants take the lowest free slots (ODD 7.18)."""
        total = sum(counts)
        if total == 0:
            return
        free = [slot for slot, firm in enumerate(self.slots) if firm is None][:total]
        if len(free) < total:
            # every free slot is taken: the rest go into new slots at the end
            first_new = len(self.slots)
            self.slots.extend([None] * (total - len(free)))
            free.extend(range(first_new, len(self.slots)))
            self.acc.widen(L.n_blocks(len(self.slots)))
        self.used_slots = max(self.used_slots, free[-1] + 1)
        uids = [(self.model.quarter << 32) | k for k in range(total)]
        sizes = [s for s, n in enumerate(counts) for _ in range(n)]
        self.fill(free, uids, sizes, True, fp, tables)
        for slot in free:
            firm = self.slots[slot]
            for g in firm.groups:
                self.acc.entry_groups[g, firm.size] += 1.0

    def reassign_loans(self, failed: int, acquirer: int) -> None:
        for firm in self.firms():
            for loan in firm.loans:
                if loan is not None and loan.lender == failed:
                    loan.lender = acquirer

    def panel_state(self, slots: np.ndarray) -> dict[str, np.ndarray]:
        columns = ("uid", *STATE_COLUMNS)
        rows = [self._firm_state(self.slots[int(slot)]) for slot in slots]
        state = {name: np.array([row[k] for row in rows], dtype=np.float64)
                 for k, name in enumerate(columns)}
        state["uid"] = np.array([row[0] for row in rows], dtype=np.int64)
        return state

    @staticmethod
    def _firm_state(firm) -> tuple:
        """One firm's panel row in the order ``uid, *STATE_COLUMNS``; an empty slot is
        all zeros, as the fast engine's cleared record."""
        if firm is None:
            return (0,) + (0.0,) * len(STATE_COLUMNS)
        debts = []
        for channel in DEBT_CHANNELS:
            total = 0.0
            for loan in firm.loans:
                total += loan.principal if loan is not None and loan.channel == channel \
                    else 0.0
            debts.append(total)
        bad = any(loan is not None and loan.status == LOAN_NONPERFORMING
                  for loan in firm.loans)
        return (firm.uid, *(float(getattr(firm, name)) for name in PANEL_CATEGORIES),
                *(float(getattr(firm, name)) for name in PANEL_FIRM_FIELDS),
                *(float(bool(getattr(firm, name))) for name in PANEL_FLAGS),
                *debts, float(bad))


class _ChoiceTable:
    """The lenders' choice tables (``sim.wiring.choice_tables``) as lists, for the
    starting loans."""

    def __init__(self, choice_lenders, choice_cum, choice_n):
        self.choice_lenders = choice_lenders
        self.choice_cum = choice_cum
        self.choice_n = choice_n
