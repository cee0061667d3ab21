"""Money from outside the lenders' balance sheets that sizes three channels (``[channels]``,
ODD 7.8, 7.9 and 7.16): investors' funds behind equity and crowdfunding, and core firms'
payables behind supply-chain finance. Each is a national figure in the base year
(``channels.pool_base_year``) that grows at its own rate, by calendar year, or with
nominal GDP (:class:`NominalGdp`), so a run that starts earlier starts with less.
"""

from __future__ import annotations

import math

import numpy as np

from sim.categories import ANCHOR_AFFINITY, SECTORS, SIZES


def _years_from_base(params, quarter: int) -> float:
    """Years from the start of the base year to ``quarter`` (absolute quarter index)."""
    return (quarter - 4 * params.channels.pool_base_year) / 4.0


class NominalGdp:
    """Nominal GDP against the base year's (``channels.pool_base_year``), compounded
    quarter by quarter at the growth rate in force (``macro.gdp_growth_annual``, which
    dated changes may move), so that a change of the rate bends the path instead of
    moving its level. It starts at the run's first quarter where the scenario's own
    growth path, discounted back from the base year, puts it: 1 at the start of the base
    year whatever the path before it (with one rate throughout, (1 + rate)^years)."""

    def __init__(self, params, quarter: int):
        self.quarter = quarter
        rate = params.macro.gdp_growth_annual
        path = _growth_path(params, quarter)
        if all(g == rate for g in path):
            self.level = (1.0 + rate) ** _years_from_base(params, quarter)
        else:
            sign = -1.0 if quarter < 4 * params.channels.pool_base_year else 1.0
            self.level = math.exp(sign * sum(math.log1p(g) for g in path) / 4.0)

    def advance(self, params, quarter: int) -> None:
        """Grow to ``quarter`` at the growth rate in force now."""
        if quarter > self.quarter:
            self.level *= (1.0 + params.macro.gdp_growth_annual) ** (
                (quarter - self.quarter) / 4.0)
            self.quarter = quarter


def _growth_path(params, quarter: int) -> list[float]:
    """The growth rate in force in each quarter between ``quarter`` (excluded) and the
    start of the base year (included), as the scenario's dated changes will set it; the
    rate of ``quarter`` itself when it is at or after the base year."""
    from sim.policy import PolicySchedule

    base = 4 * params.channels.pool_base_year
    if quarter >= base:
        return [params.macro.gdp_growth_annual] * (quarter - base)
    probe = params.model_copy(deep=True)
    schedule = PolicySchedule(probe)
    path = []
    for q in range(quarter, base + 1):
        schedule.apply(probe, q)
        if q > quarter:
            path.append(probe.macro.gdp_growth_annual)
    return path


def investor_pools(params, quarter: int, gdp_level: float) -> tuple[float, float]:
    """Equity (VC, PE, angel) and crowdfunding investors' funds for SMEs this quarter
    (national 亿元): what all crowd/equity platforms together can raise in each. Equity
    funds move with nominal GDP (``gdp_level``, :class:`NominalGdp`), crowdfunding at
    its own growth rate."""
    ch = params.channels
    years = _years_from_base(params, quarter)
    return (ch.equity_funds_yi * gdp_level,
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


def receivable_quarters(params, quarter: int, gdp_level: float) -> float:
    """Receivables an anchored firm can finance, × its quarterly revenue: core firms'
    payables to SMEs (growing at ``payables_growth_annual``) over anchored firms'
    revenue (moving with nominal GDP, ``gdp_level``), both from the base year."""
    ch = params.channels
    years = _years_from_base(params, quarter)
    payables = ch.core_payables_yi * (1.0 + ch.payables_growth_annual) ** years
    revenue = anchored_revenue_yi(params) * gdp_level
    return payables / revenue if revenue > 0 else 0.0
