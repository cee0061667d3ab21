"""The firm groups a firm's sums go to, and the stage codes the kernels compare.

Every firm belongs to one group of each dimension (sector, region, size, stage); the
groups share one index of the group accumulator, ``group_acc[block, group, size, GM_*]``,
with the offsets of :mod:`sim.categories` (``GROUP_SECTOR`` …).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.categories import GROUP_REGION, GROUP_SECTOR, GROUP_SIZE, GROUP_STAGE, STAGES

STAGE_STARTUP, STAGE_GROWTH, STAGE_STABLE, STAGE_DECLINE = range(len(STAGES))


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
