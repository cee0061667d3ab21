"""Words and display units of the output columns, for figures and comparison tables.

The units are those of :mod:`sim.columns`, shown as a reader expects them: fractions as
percentages (a difference of two percentages in percentage points), amounts in 亿元
scaled to trillion yuan (万亿元) or billion yuan by their size, counts of firms in
millions or thousands. Figure text is ASCII ("trillion yuan", not 万亿元) so that a
font without CJK glyphs draws no empty boxes; tables and CSV files keep 亿元.

The minimum y-axis span (:func:`min_span`) keeps a small move from being drawn as a
cliff: a level in percent spans at least 1 percentage point (±0.5 pp around the data),
an amount or count at least ±2% of its level; a difference at least ±0.1 pp, or ±0.5%
of the base level.

Only data here (no matplotlib), so :mod:`sim.compare` can use it for its tables.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from sim.columns import GROUP_METRICS, LENDER_COLUMNS, QUARTERLY_COLUMNS

# column -> words (no unit). Flows are reported per quarter (FLOWS below).
QUARTERLY_LABELS: dict[str, str] = {
    "sme_alive": "SMEs alive",
    "sme_entries": "SMEs entering",
    "sme_exits": "SMEs closing",
    "credit_demand": "Finance demanded",
    "new_loans": "New debt, all channels",
    "new_loans_bank": "New bank loans",
    "new_loans_online": "New online loans",
    "new_loans_supply_chain": "New supply-chain finance",
    "new_equity": "Equity raised on platforms",
    "new_crowdfunding": "Crowdfunding raised",
    "renewals": "Loans renewed without repayment",
    "loan_balance": "SME debt outstanding",
    "loan_balance_bank": "Bank loans outstanding",
    "loan_balance_online": "Online loans outstanding",
    "loan_balance_supply_chain": "Supply-chain finance outstanding",
    "applications": "Applications",
    "approvals": "Approvals",
    "approval_rate": "Approval rate",
    "unmet_demand_share": "Unmet share of finance demanded",
    "avg_rate_new": "Average rate on new loans",
    "avg_rate_new_bank": "Average rate on new bank loans",
    "avg_rate_new_online": "Average rate on new online loans",
    "avg_rate_new_supply_chain": "Average rate on new supply-chain finance",
    "default_rate": "Default rate of borrowers",
    "npl_ratio": "NPL ratio of SME loans",
    "npl_ratio_bank": "NPL ratio of bank SME loans",
    "bank_car_mean": "Bank capital ratio, assets-weighted",
    "bank_car_min": "Lowest bank capital ratio",
    "online_share_new": "Online share of new debt",
    "online_share_balance": "Online share of debt outstanding",
    "borrowers": "Borrowers with a performing loan",
    "borrowers_bank": "Borrowers with a bank loan",
    "borrowers_online": "Borrowers with an online loan",
    "digital_mean": "Mean digital footprint",
    "first_time_borrowers": "First-time borrowers",
    "informal_debt": "Informal debt outstanding",
    "informal_refinanced": "Informal debt refinanced by loans",
    "informal_borrowed": "Informal borrowing",
    "credit_lines_offered": "Credit lines taken unasked",
    "unsecured_share_new": "Unsecured share of new loans",
    "bank_approval_rate_no_collateral": "Bank approval rate, firms without collateral",
    "fiscal_cost": "Fiscal cost, net of fees",
    "hhi_bank": "Concentration of new bank lending (HHI)",
    "hhi_online": "Concentration of new online lending (HHI)",
    "lpr_1y": "1-year loan prime rate",
    "rrr": "Reserve-requirement ratio",
    "bank_funding_cost": "Bank funding cost",
    "platforms_active": "Platforms operating",
    "lenders_resolved": "Lenders resolved",
    "loan_balance_p2p": "P2P loans outstanding",
    "loan_balance_small_loan": "Small-loan companies' loans outstanding",
    "loan_balance_digital_bank": "Digital banks' loans outstanding",
    "online_share_balance_pboc": "Online share of debt outstanding, PBoC definition",
    "online_share_new_originated": "Share of new debt arranged online",
    "online_share_new_funded": "Share of new debt funded by online lenders",
    "online_share_balance_originated": "Share of debt outstanding arranged online",
    "online_share_balance_funded": "Share of debt outstanding funded by online lenders",
    "new_loans_facilitated": "New loans facilitated for banks",
    "loan_balance_facilitated": "Facilitated loans outstanding",
    "platform_equity_raised": "Equity raised by platforms",
    "p2p_investor_loss": "P2P investors' losses",
}
GROUP_LABELS: dict[str, str] = {
    "sme_alive": "SMEs alive", "credit_demand": "Finance demanded", "new_loans": "New debt",
    "new_nondebt": "Equity and crowdfunding raised", "loan_balance": "Debt outstanding",
    "approval_rate": "Approval rate", "unmet_demand_share": "Unmet share of demand",
    "avg_rate_new": "Average rate on new loans", "default_rate": "Default rate",
}
LENDER_LABELS: dict[str, str] = {
    "capital_ratio": "Capital ratio", "roe_annual": "Return on equity",
    "roa_annual": "Return on assets", "npl_ratio": "NPL ratio",
    "new_loans": "New finance originated", "loan_balance": "Loans outstanding",
    "market_share_new": "Share of its channel's new lending",
}
# Flows over a quarter: their unit gets "per quarter".
FLOWS = frozenset({
    "sme_entries", "sme_exits", "credit_demand", "new_loans", "new_loans_bank",
    "new_loans_online", "new_loans_supply_chain", "new_equity", "new_crowdfunding",
    "renewals", "applications", "approvals", "first_time_borrowers", "informal_refinanced",
    "informal_borrowed", "credit_lines_offered", "fiscal_cost", "lenders_resolved",
    "new_loans_facilitated", "platform_equity_raised", "p2p_investor_loss", "new_nondebt",
})
KIND_LABELS: dict[str, str] = {
    "large_state": "Large state banks", "joint_stock": "Joint-stock banks",
    "city_commercial": "City commercial banks", "rural": "Rural banks",
    "digital_bank": "Digital banks", "big_tech": "Big-tech platforms",
    "online_micro": "Online micro-lenders", "supply_chain": "Supply-chain platforms",
    "crowd_equity": "Crowd and equity platforms", "p2p": "P2P platforms",
    "small_loan": "Small-loan companies",
}
GROUP_NAMES: dict[str, str] = {"wholesale_retail": "wholesale and retail"}

# Stored unit -> (figure unit, table unit) where the unit does not depend on the size.
PERCENT_UNITS = {"fraction": "%", "fraction/yr": "% per year"}
ASCII_UNITS = (("万亿元", "trillion yuan"), ("亿元", "100 million yuan"),
               ("万 firms", "10,000 firms"))


@dataclass(frozen=True)
class Measure:
    """How a column is shown: ``values * scale`` in ``unit``; ``kind`` decides the axis
    rule (percent, amount, count, index); ``diff_unit`` is the unit of a difference."""

    unit: str
    scale: float
    kind: str
    diff_unit: str


def words(column: str, table: str = "quarterly") -> str:
    """The words for ``column`` of a table ("quarterly", "groups", "lenders"), no unit."""
    known = {"quarterly": QUARTERLY_LABELS, "groups": GROUP_LABELS,
             "lenders": LENDER_LABELS}[table]
    if column in known:
        return known[column]
    return column.replace("_", " ").capitalize()  # never a raw column name on a slide


def stored_unit(column: str, table: str = "quarterly") -> str:
    """The unit code of :mod:`sim.columns` ("fraction", "亿元", ...), or ""."""
    columns = {"quarterly": QUARTERLY_COLUMNS, "groups": GROUP_METRICS,
               "lenders": LENDER_COLUMNS}[table]
    return columns.get(column, ("", ""))[0]


def _magnitude(values: Iterable[float] | None) -> float:
    if values is None:
        return math.nan
    array = np.abs(np.asarray(list(values) if not isinstance(values, np.ndarray) else values,
                              dtype=float))
    array = array[np.isfinite(array)]
    return float(array.max()) if array.size else math.nan


def measure_for_unit(unit: str, values: Iterable[float] | None = None,
                     flow: bool = False) -> Measure:
    """The display of stored ``unit``; amounts and counts scaled by the size of
    ``values`` (stored units)."""
    per = " per quarter" if flow else ""
    if unit in PERCENT_UNITS:
        return Measure(PERCENT_UNITS[unit], 100.0, "percent", "percentage points")
    size = _magnitude(values)
    if unit == "亿元":
        if not size < 5_000:  # NaN (no values) too: most amounts are trillions
            display = f"trillion yuan{per}"
            return Measure(display, 1e-4, "amount", display)
        display = f"billion yuan{per}"
        return Measure(display, 0.1, "amount", display)
    if unit in ("firms", "loans", "lenders"):
        if size >= 1e6:
            display, scale = f"million {unit}{per}", 1e-6
        elif size >= 1e4:
            display, scale = f"thousand {unit}{per}", 1e-3
        else:
            display, scale = f"{unit}{per}", 1.0
        return Measure(display, scale, "count", display)
    if unit.startswith("index"):
        return Measure("index 0-1", 1.0, "index", "index points")
    return Measure(unit or "value", 1.0, "amount", unit or "value")


def measure(column: str, values: Iterable[float] | None = None,
            table: str = "quarterly") -> Measure:
    """How ``column`` is shown (see :func:`measure_for_unit`)."""
    return measure_for_unit(stored_unit(column, table), values, flow=column in FLOWS)


def axis_label(column: str, values: Iterable[float] | None = None,
               table: str = "quarterly") -> str:
    """Words and unit, e.g. avg_rate_new -> "Average rate on new loans (% per year)"."""
    return f"{words(column, table)} ({measure(column, values, table).unit})"


def table_unit(column: str) -> tuple[str, str, float]:
    """(level unit, difference unit, scale) for tables and CSV files: percentages and
    percentage points, amounts in 亿元 and counts unscaled."""
    unit = stored_unit(column)
    per = " per quarter" if column in FLOWS else ""
    if unit in PERCENT_UNITS:
        return PERCENT_UNITS[unit], "percentage points", 100.0
    if not unit or unit == "label":
        return "", "", 1.0
    return f"{unit}{per}", f"{unit}{per}", 1.0


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind.replace("_", " "))


def group_label(group: str) -> str:
    return GROUP_NAMES.get(group, group.replace("_", " "))


def ascii_units(text: str) -> str:
    """``text`` with Chinese unit names spelled out, for fonts without CJK glyphs."""
    for chinese, english in ASCII_UNITS:
        text = text.replace(chinese, english)
    return text


def min_span(low: float, high: float, kind: str, level: float | None = None,
             difference: bool = False) -> tuple[float, float]:
    """y limits around data from ``low`` to ``high`` (display units) widened to the
    minimum span of ``kind``; a non-negative level is never pushed below zero.

    ``level``: the size amounts are judged by (default: the larger of |low|, |high|);
    for a difference, the base level.
    """
    if not (math.isfinite(low) and math.isfinite(high)):
        return low, high
    size = level if level is not None and math.isfinite(level) else max(abs(low), abs(high))
    if kind == "percent":
        half = 0.1 if difference else 0.5
    elif kind == "index":
        half = 0.01 if difference else 0.02
    else:
        half = (0.005 if difference else 0.02) * size
    if half <= 0 or high - low >= 2 * half:
        return low, high
    middle = (low + high) / 2
    bottom, top = middle - half, middle + half
    if not difference and low >= 0 > bottom:
        bottom, top = 0.0, 2 * half
    return bottom, top
