"""What the quarter asks of the SME side, and what each phase reads and writes."""

from __future__ import annotations

from typing import Callable, Protocol

import numpy as np


class SMEEngine(Protocol):
    """The firms of a :class:`~sim.model.CreditMarket` and their loans.

    An engine is built with the model (it reads ``model.params``, ``model.quarter``,
    ``model.seed``, ``model.agents_by_size``, ``model.starting_rates``) and the quarter's
    :class:`~sim.accumulators.Accumulators`, into which every phase adds what firms do,
    in the row of the firm's slot's block. Firms live in slots: they are visited in slot
    order and entrants take the lowest free slots, so every sum is added in the same
    order whichever engine runs.

    ``fp`` is the quarter's firm-parameter bundle (:func:`sim.wiring.firm_params`),
    ``tables`` the lenders' choice tables (:func:`sim.wiring.choice_tables`) and
    ``table`` the lender table of phase 6 (:func:`sim.wiring.lender_table`).
    """

    name: str
    threads: int
    used_slots: int   # slots below the highest ever used: the kernels' loop bound

    @property
    def used_blocks(self) -> int:
        """Blocks holding slots ever used; no phase writes past them."""

    def populate(self, fp, tables) -> None:
        """Draw the starting firms and their loans into the first slots, and count the
        stocks (writes the stock metrics of ``acc``)."""

    def count_stocks(self) -> None:
        """Count balances, NPLs, loans, live firms and borrowers into ``acc`` (phase 8's
        stock count, on its own: used at set-up)."""

    def operate_service_demand(self, fp) -> None:
        """Phases 3–5: revenue, profit and owner draws; interest and principal due,
        renewal and deferral; credit demand. Writes flows of ``acc.lender``,
        ``acc.group`` and ``acc.owner_draws``; firms' cash, debts and requests."""

    def credit_rounds(self, table, params_of_round: Callable[[int], object]) -> None:
        """Phase 6: ``params_of_round(k)`` gives round k's credit bundle. Firms choose
        a channel and a lender, which screens, prices and rations by ``table.capacity``
        (float64 [J], 亿元, used up in place); approved loans are booked. Writes
        ``acc.lender``, ``acc.group``, ``acc.band``."""

    def default_and_count(self, fp) -> None:
        """Phase 7 and the stock count of phase 8: distressed firms still short default,
        bad loans age and are written off, firms close; then stocks are counted."""

    def alive_by_size(self) -> np.ndarray:
        """Live firms by size stratum after phase 7 (float64 [3], agents)."""

    def enter(self, counts: list[int], tables, fp) -> None:
        """Phase 9: ``counts[s]`` entrants of size ``s`` take the lowest free slots (new
        slots at the end when none is free); adds them to ``acc.entry_groups``."""

    def reassign_loans(self, failed: int, acquirer: int) -> None:
        """Every loan held by lender ``failed`` passes to lender ``acquirer``."""

    def bytes_per_slot(self) -> float | None:
        """Memory per slot, where the engine can say (None otherwise)."""

    def panel_state(self, slots: np.ndarray) -> dict[str, np.ndarray]:
        """What the firms in ``slots`` (int64 ``(n,)``) hold now: ``uid`` (0 for an empty
        slot) and every column of :data:`sim.panel.STATE_COLUMNS` as float64 ``(n,)``
        (categories as codes, flags as 0/1, debts in 万元)."""
