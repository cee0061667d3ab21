"""The firm groups a firm's sums go to, the stock count's cells, and the stage codes the
kernels compare.

Every firm belongs to one group of each dimension (sector, region, size, stage); the
groups share one index of the group accumulator, ``group_acc[block, group, size, GM_*]``,
with the offsets of :mod:`sim.categories` (``GROUP_SECTOR`` …).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.categories import (
    GROUP_REGION, GROUP_SECTOR, GROUP_SIZE, GROUP_STAGE, REGIONS, STAGES,
)
from sim.kernels.layout import N_CELLS, N_STOCKS, STOCK_METRICS

STAGE_STARTUP, STAGE_GROWTH, STAGE_STABLE, STAGE_DECLINE = range(len(STAGES))

# The stock count sums each live firm into its cell (sector × region × stage, by size) and
# adds a block's cells to the groups once, at the block's end: 8 additions a firm instead
# of 32 (8 stocks into 4 groups). Cells are numbered sector-major, then region, then stage.
_PER_SECTOR = len(REGIONS) * len(STAGES)
_N_STAGES = len(STAGES)
_N_REGIONS = len(REGIONS)


@njit(cache=True, inline="always")
def group_rows(sector, region, size, stage):
    """The four rows (int64) of ``group_acc`` of a firm with these codes: its sector,
    region, size and stage groups."""
    return (GROUP_SECTOR + np.int64(sector), GROUP_REGION + np.int64(region),
            GROUP_SIZE + np.int64(size), GROUP_STAGE + np.int64(stage))


@njit(cache=True, inline="always")
def firm_groups(f):
    """The four rows (int64) of ``group_acc`` of the firm whose record is ``f``."""
    return group_rows(f.sector, f.region, f.size, f.stage)


@njit(cache=True, inline="always")
def count_firm(lender_acc, group_acc, b, j, f, lender_metric, no_collateral_metric,
               group_metric):
    """Count firm ``f`` once in block ``b``'s sums: for lender ``j`` under
    ``lender_metric`` (and ``no_collateral_metric`` if it has no collateral), and in each
    of its groups under ``group_metric`` (an application, an approval)."""
    s = f.size
    lender_acc[b, j, s, lender_metric] += 1.0
    if f.collateral <= 0.0:
        lender_acc[b, j, s, no_collateral_metric] += 1.0
    for g in firm_groups(f):
        group_acc[b, g, s, group_metric] += 1.0


@njit(cache=True, inline="always")
def cell_of(f):
    """The stock-count cell (int64) of the firm whose record is ``f``."""
    return (np.int64(f.sector) * _N_REGIONS + np.int64(f.region)) * _N_STAGES \
        + np.int64(f.stage)


@njit(cache=True)
def fold_cells(cells, group_acc_b):
    """Add a block's cell sums ``cells`` (float64 [N_CELLS, sizes, N_STOCKS], stocks in
    the order of ``layout.STOCK_METRICS``) to its rows of the group accumulator
    ``group_acc_b`` (float64 [N_GROUPS, sizes, GM_N]): each cell to its sector, region,
    size and stage groups, cells in order. The reference engine folds in the same order
    (``ReferenceEngine._fold``), so the two engines' sums agree bit for bit."""
    for c in range(N_CELLS):
        sector = c // _PER_SECTOR
        region = (c // _N_STAGES) % _N_REGIONS
        stage = c % _N_STAGES
        for s in range(cells.shape[1]):
            cell = cells[c, s]
            if cell[0] == 0.0:
                continue  # no live firm: every stock of the cell is 0
            for g in group_rows(sector, region, s, stage):
                row = group_acc_b[g, s]
                for k in range(N_STOCKS):
                    row[STOCK_METRICS[k]] += cell[k]
