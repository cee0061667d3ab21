"""The quarter's per-block sums: what the SME phases write and the lender side reads.

Whichever engine runs the firms (:mod:`sim.engines`), a firm adds what it pays, borrows,
owes and does to the row of its slot's block (``layout.BLOCK_SIZE`` slots) of these
arrays. The market sums the rows in block order and weights them by size stratum, so a
total never depends on the thread count or on the engine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.categories import ALL_KINDS, N_GROUPS, N_RISK_BANDS, SIZE_GROUPS, SIZES
from sim.kernels import layout as L
from sim.units import national, national_by_stratum

N_SIZES = len(SIZES)


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

    def size_counts(self, metric: int) -> np.ndarray:
        """A group metric, weighted as a count, of each size stratum (float64 [3])."""
        return self.group_count[SIZE_GROUPS, metric]


class Accumulators:
    """Per-block sums of one quarter, zeroed at its start.

    ``lender`` float64 [block, lender, size, LF_*]; ``group`` float64 [block, group, size,
    GM_*] (groups as in :mod:`sim.categories`); ``band`` float64 [block, lender kind, risk
    band, BAND_*]; ``owner_draws`` float64 [block, size, 2] (paid to owners, of which to
    outside investors); ``entry_groups`` float64 [group, size], the quarter's entrants.
    """

    def __init__(self, n_lenders: int, blocks: int = 0):
        self.lender = np.zeros((0, n_lenders, N_SIZES, L.LF_N))
        self.group = np.zeros((0, N_GROUPS, N_SIZES, L.GM_N))
        self.band = np.zeros((0, len(ALL_KINDS), N_RISK_BANDS, L.BAND_N))
        self.owner_draws = np.zeros((0, N_SIZES, 2))
        self.entry_groups = np.zeros((N_GROUPS, N_SIZES))
        self.widen(blocks)

    @property
    def blocks(self) -> int:
        return self.lender.shape[0]

    def widen(self, blocks: int) -> None:
        """Hold at least ``blocks`` blocks, keeping the sums so far."""
        if blocks <= self.blocks:
            return
        for name in ("lender", "group", "band", "owner_draws"):
            setattr(self, name, widened(getattr(self, name), blocks))

    def zero(self, used_blocks: int) -> None:
        """Start a quarter. Only blocks holding used slots are ever written, so only they
        need zeroing: the rest stay untouched zeros, costing neither time nor resident
        memory."""
        self.lender[:used_blocks] = 0.0
        self.group[:used_blocks] = 0.0
        self.band[:used_blocks] = 0.0
        self.owner_draws[:used_blocks] = 0.0
        self.entry_groups[:] = 0.0

    def zero_stocks(self, used_blocks: int) -> None:
        """Clear the stock metrics before a stock count."""
        self.lender[:used_blocks, ..., L.LF_BAL_PERF] = 0.0
        self.lender[:used_blocks, ..., L.LF_BAL_NPL] = 0.0
        self.lender[:used_blocks, ..., L.LF_LOANS] = 0.0
        for metric in L.STOCK_METRICS:
            self.group[:used_blocks, ..., metric] = 0.0


def widened(array: np.ndarray, rows: int) -> np.ndarray:
    """``array`` with ``rows`` rows along its first axis, the old rows kept, new ones 0."""
    wider = np.zeros((rows,) + array.shape[1:], dtype=array.dtype)
    wider[:array.shape[0]] = array
    return wider


def block_sum(acc: np.ndarray, used_blocks: int) -> np.ndarray:
    """Sum a per-block accumulator over its blocks, in block order. Blocks past the used
    ones are never written, so they are left out: at 1M SMEs they are a quarter of the
    accumulator."""
    return acc[:used_blocks].sum(axis=0)


def reduce(acc: Accumulators, used_blocks: int, weights: np.ndarray,
           borrowers_by_size: np.ndarray, group_borrowers: np.ndarray) -> QuarterSums:
    """Sum the accumulators over blocks, in block order, and weight them."""
    by_size = block_sum(acc.lender, used_blocks).transpose(0, 2, 1)   # [J, LF_N, 3]
    sums = QuarterSums(
        lender_money=national(by_size, weights),
        lender_count=national(by_size, weights, money=False),
        lender_money_by_size=national_by_stratum(by_size, weights),
        group_money=None, group_count=None,
        borrowers_before=borrowers_by_size.copy(),
        group_borrowers_before=group_borrowers.copy(),
    )
    reduce_groups(acc, used_blocks, weights, sums)
    return sums


def reduce_groups(acc: Accumulators, used_blocks: int, weights: np.ndarray,
                  sums: QuarterSums) -> None:
    """(Re)compute the group sums, entrants included; lender sums are unaffected by
    entry, so after phase 9 only these need redoing."""
    group = block_sum(acc.group, used_blocks)
    group[:, :, L.GM_ALIVE] += acc.entry_groups
    group[:, :, L.GM_ENTRIES] += acc.entry_groups
    group_by_size = group.transpose(0, 2, 1)
    sums.group_money = national(group_by_size, weights)
    sums.group_count = national(group_by_size, weights, money=False)
