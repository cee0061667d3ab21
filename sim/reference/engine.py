"""``ReferenceMarket``: the credit market with every SME a Mesa agent in plain Python.

It is :class:`sim.model.CreditMarket` with the per-SME steps replaced: the quarter's
phases, the lenders, regulators, policy schedule, book closing, recording and the
stock-flow check are inherited unchanged. Firms live in a table of slots, as in the fast
engine: they are visited in slot order, entrants take the lowest free slots, and a
firm's sums go to the accumulator row of its slot's block; so every total is added up in
the same order as the fast engine adds it, and the two give identical results.
"""

from __future__ import annotations

import numpy as np

from sim import rng
from sim.categories import SIZES
from sim.errors import SimError
from sim.kernels import layout as L
from sim.model import CreditMarket
from sim.population import Population
from sim.reference.credit import ration
from sim.reference.draws import key, uniform
from sim.reference.sme import SME
from sim.wiring import credit_params

MAX_AGENTS = 200_000  # one Python object per firm: meant for tens of thousands


def plain(bundle):
    """A parameter bundle with its numpy arrays as (nested) lists of Python numbers, the
    plain data the SME agents read."""
    return bundle._replace(**{
        name: value.tolist() if isinstance(value, np.ndarray) else
        value.item() if isinstance(value, np.generic) else value
        for name, value in bundle._asdict().items()})


class ReferenceMarket(CreditMarket):
    """The credit market of :class:`~sim.model.CreditMarket`, its SMEs
    :class:`~sim.reference.sme.SME` agents (``model.agents_by_type[SME]``)."""

    ENGINE = "reference"

    def __init__(self, scenario, check: bool = False):
        agents = scenario.run.agents
        if agents > MAX_AGENTS:
            raise SimError(
                f"the reference engine runs every SME as a Python object and is meant for "
                f"tens of thousands of agents; run.agents = {agents:,} is above its limit of "
                f"{MAX_AGENTS:,}: use engine = \"numba\" (--engine numba)")
        super().__init__(scenario, check=check)

    # ------------------------------------------------------------------ the firms
    def _init_population(self) -> None:
        # Firms are agents in a table of slots (None = free) instead of arrays, which
        # shrink to a one-slot placeholder. (A lender's resolution relabels loans in the
        # arrays; this engine hands the loans over itself: _hand_over_loans.)
        self.slots: list[SME | None] = [None] * self.pop.capacity
        self.pop = Population.allocate(1)
        with np.errstate(over="ignore"):   # the generator's uint64 arithmetic wraps
            super()._init_population()

    @property
    def capacity(self) -> int:
        return len(self.slots)

    def firms(self) -> list[SME]:
        """Every firm still holding a slot (live, or closed with bad loans left), in slot
        order."""
        return [firm for firm in self.slots[:self.used_slots] if firm is not None]

    def _fill(self, slots, uids, sizes, entrant: bool, fp, tables) -> None:
        fp = plain(fp)
        ids, cum, count = (t.tolist() for t in tables)
        table = _ChoiceTable(ids, cum, count)
        rates = self.starting_rates.tolist()
        for slot, uid, size in zip(slots.tolist(), uids.tolist(), sizes.tolist()):
            firm = SME(self, uid, size, slot)
            firm.draw(fp, entrant, table, rates)
            self.slots[slot] = firm

    def _count_stocks(self) -> None:
        for firm in self.firms():
            firm.count()

    def step(self) -> None:
        with np.errstate(over="ignore"):   # the generator's uint64 arithmetic wraps
            super().step()

    # phases 3–5
    def _firms_pass(self, fp) -> None:
        fp = plain(fp)
        firms = [firm for firm in self.firms() if firm.alive]
        for firm in firms:
            firm.operate(fp)
        for firm in firms:
            firm.service_debt(fp)
        for firm in firms:
            firm.demand(fp)

    # phase 6
    def _credit_rounds(self, table) -> None:
        seekers = [firm for firm in self.firms() if firm.alive and firm.need > 0.0]
        lenders = plain(table)
        yi_per_wan = self.yi_per_wan.tolist()
        for round_number in range(self.params.credit.search_rounds):
            cp = plain(credit_params(self.params, self.quarter, self.seed, round_number,
                                     self.expected_rate, self.yi_per_wan))
            offers = [offer for offer in (firm.apply(cp, lenders) for firm in seekers)
                      if offer is not None]
            ration(offers, table.capacity, yi_per_wan, cp.min_loan_wan)
            for offer in offers:
                if offer.funded:
                    offer.firm.accept(offer, cp, lenders)
                else:
                    offer.firm.turned_down(offer.lender, cp)

    # phase 7 and the stock count of phase 8
    def _defaults_and_count(self, fp) -> None:
        fp = plain(fp)
        for firm in self.firms():
            firm.default_or_exit(fp)
            firm.count()
            if not firm.alive and not firm.has_loans():
                # nothing left to collect: the slot is free for an entrant
                self.slots[firm.slot] = None
                firm.remove()

    def _hand_over_loans(self) -> None:
        """Loans of lenders resolved at the close of books pass to their acquirers."""
        for failed, acquirer in self.market.transfers:
            for firm in self.firms():
                for loan in firm.loans:
                    if loan is not None and loan.lender == failed:
                        loan.lender = acquirer

    # phase 9
    def _entry(self, tables, fp) -> None:
        """Entrants, a share of the live firms of each size stratum, take the lowest free
        slots (ODD 7.18)."""
        self._hand_over_loans()
        rate = self.params.population.entry_rate_quarterly
        stream = key(self.seed, rng.S_ENTRY, self.quarter)
        alive_by_size = [0] * len(SIZES)
        for firm in self.firms():
            if firm.alive:
                alive_by_size[firm.size] += 1
        counts = []
        for s, alive in enumerate(alive_by_size):
            expected = rate * alive
            whole = int(expected)
            counts.append(whole + (1 if uniform(stream, s, 0, 0) < expected - whole else 0))
        total = sum(counts)
        if total == 0:
            return
        free = [slot for slot, firm in enumerate(self.slots) if firm is None][:total]
        if len(free) < total:
            # every free slot is taken: the rest go into new slots at the end
            first_new = len(self.slots)
            self.slots.extend([None] * (total - len(free)))
            free.extend(range(first_new, len(self.slots)))
            self._block_room(L.n_blocks(len(self.slots)))
        self.used_slots = max(self.used_slots, free[-1] + 1)
        uids = [(self.quarter << 32) | k for k in range(total)]
        sizes = [s for s, n in enumerate(counts) for _ in range(n)]
        self._fill(np.array(free), np.array(uids), np.array(sizes), True, fp, tables)
        for slot in free:
            firm = self.slots[slot]
            for g in firm.groups:
                self.entry_groups[g, firm.size] += 1.0

    # ------------------------------------------------------------------ output
    def metadata(self) -> dict:
        meta = super().metadata()
        meta["engine"] = self.ENGINE
        meta["threads"] = 1
        meta["bytes_per_slot"] = None
        return meta


class _ChoiceTable:
    """The lenders' choice tables (``sim.wiring.choice_tables``) as lists, for the
    starting loans."""

    def __init__(self, choice_lenders, choice_cum, choice_n):
        self.choice_lenders = choice_lenders
        self.choice_cum = choice_cum
        self.choice_n = choice_n
