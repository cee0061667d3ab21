"""The units table and the one function that turns SME-level money into national 亿元.

| quantity | unit | note |
|---|---|---|
| SME money (revenue, cash, loans) | 万元 = 1e4 yuan | agent level |
| lender books, reported aggregates | 亿元 = 1e8 yuan | national, real scale |
| rates | fraction per year (``_annual``) or per quarter (``_quarterly``) | |
| shares, ratios | fraction | |
| time | quarter | one step |

Each SME stands for ``weight[size]`` real firms (its stratum's represented firms ÷
simulated agents). Only :func:`national` multiplies by a weight.
"""

from __future__ import annotations

import numpy as np

WAN_PER_YI = 1e4  # 1 亿元 = 10,000 万元


def stratum_weights(represented: np.ndarray, agents: np.ndarray) -> np.ndarray:
    """Real firms per simulated SME, by size stratum."""
    return np.asarray(represented, dtype=np.float64) / np.maximum(agents, 1)


def national(sums_by_size: np.ndarray, weights: np.ndarray, money: bool = True) -> np.ndarray:
    """Turn per-stratum sums over agents (last axis = size) into national figures.

    Money sums (万元 over agents) become 亿元; counts become numbers of real firms. Kernels
    accumulate unweighted sums by size stratum; this is the only place a weight is applied.
    """
    total = np.tensordot(np.asarray(sums_by_size, dtype=np.float64), weights, axes=([-1], [0]))
    return total / WAN_PER_YI if money else total


def national_by_stratum(sums_by_size: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Like :func:`national` for money, keeping the size axis (last) apart."""
    return np.asarray(sums_by_size, dtype=np.float64) * (weights / WAN_PER_YI)


def yi_per_agent_wan(weights: np.ndarray) -> np.ndarray:
    """Factor by stratum from one agent's 万元 to national 亿元 (used for lender capacity).

    Rationing compares an applicant's loan, scaled to the firms it stands for, with a
    lender's capacity in 亿元; the factor comes from here so the weight rule has one home.
    """
    return np.asarray(weights, dtype=np.float64) / WAN_PER_YI


def annual_probability(quarterly: float) -> float:
    """A quarter's probability as a year's: 1 − (1 − q)⁴, so it stays within 0–1 (4q
    would pass 1 when a quarter's rate passes 25%). ``quarterly`` is clipped to 0–1
    first."""
    share = min(max(float(quarterly), 0.0), 1.0)
    return 1.0 - (1.0 - share) ** 4
