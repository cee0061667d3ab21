"""Money from outside the lenders' balance sheets that sizes three channels (``[channels]``,
ODD 7.8, 7.9 and 7.16): investors' funds behind equity and crowdfunding, and core firms'
payables behind supply-chain finance. Each is a national figure in the base year
(``channels.pool_base_year``) that grows at its own rate, by calendar year, so a run
that starts earlier starts with less.
"""

from __future__ import annotations

import math

import numpy as np

from sim.categories import ANCHOR_AFFINITY, SECTORS, SIZES


def _years_from_base(params, quarter: int) -> float:
    """Years from the start of the base year to ``quarter`` (absolute quarter index)."""
    return (quarter - 4 * params.channels.pool_base_year) / 4.0


def investor_pools(params, quarter: int) -> tuple[float, float]:
    """Equity (VC, PE, angel) and crowdfunding investors' funds for SMEs this quarter
    (national 亿元): what all crowd/equity platforms together can raise in each."""
    ch = params.channels
    years = _years_from_base(params, quarter)
    return (ch.equity_funds_yi * (1.0 + ch.equity_growth_annual) ** years,
            ch.crowd_funds_yi * (1.0 + ch.crowd_growth_annual) ** years)


def anchored_revenue_yi(params) -> float:
    """National quarterly revenue (亿元) of the firms selling into core firms' chains at
    the population's starting distribution: firms of each size × mean revenue (median ×
    exp(σ²/2) of the log-normal) × the share anchored (sector mix × anchor chance)."""
    pop = params.population
    firms = np.array([getattr(pop.represented, s) for s in SIZES])
    median_q = np.array([getattr(pop.revenue_median, s) for s in SIZES]) / 4.0
    mean_q = median_q * math.exp(0.5 * pop.revenue_log_sd ** 2)
    mix = np.array([getattr(pop.sectors, s) for s in SECTORS])
    anchored = float(mix @ np.minimum(1.0, pop.anchor_share * np.array(ANCHOR_AFFINITY)))
    return float(firms @ mean_q) * anchored / 1e4


def receivable_quarters(params, quarter: int) -> float:
    """Receivables an anchored firm can finance, × its quarterly revenue: core firms'
    payables to SMEs (growing at ``payables_growth_annual``) over anchored firms'
    revenue (growing with nominal GDP), both from the base year."""
    ch = params.channels
    years = _years_from_base(params, quarter)
    payables = ch.core_payables_yi * (1.0 + ch.payables_growth_annual) ** years
    revenue = anchored_revenue_yi(params) * (1.0 + params.macro.gdp_growth_annual) ** years
    return payables / revenue if revenue > 0 else 0.0
