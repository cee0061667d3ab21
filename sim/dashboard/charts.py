"""The dashboard's charts: the headline quarterly series so far, the moved scenario
against its baseline, as ECharts options (``solara.FigureEcharts``).

The browser draws them; the server only sends the numbers, so a chart can follow every
quarter (a matplotlib figure of six panels takes about half a second to render here,
longer than a quarter of a 20,000-SME run).
"""

from __future__ import annotations

import math
from typing import Any

from sim.dashboard.runner import SERIES, Snapshot

# title, and the factor from the column's unit to the one shown
TITLES: dict[str, tuple[str, float]] = {
    "new_loans": ("New loans (100m yuan a quarter)", 1.0),
    "online_share_new": ("Online share of new loans (%)", 100.0),
    "avg_rate_new": ("Average rate on new loans (% a year)", 100.0),
    "npl_ratio": ("NPL ratio (%)", 100.0),
    "default_rate": ("Default rate (% a year)", 100.0),
    "unmet_demand_share": ("Unmet credit demand (%)", 100.0),
}
BASELINE, MOVED = "baseline (as shipped)", "levers moved"


def _shown(values: tuple[float, ...], factor: float) -> list[float | None]:
    """Values in the unit shown, rounded for the page; a missing one is a gap (JSON has
    no NaN)."""
    return [round(v * factor, 6) if math.isfinite(v) else None for v in values]


def option(name: str, snapshot: Snapshot | None) -> dict[str, Any]:
    """The ECharts option of one series: the baseline dashed, the moved run solid."""
    title, factor = TITLES[name]
    labels = list(snapshot.quarters) if snapshot is not None else []
    base = _shown(snapshot.baseline.get(name, ()), factor) if snapshot else []
    moved = _shown(snapshot.lever.get(name, ()), factor) if snapshot else []
    return {
        "animation": False,
        "title": {"text": title, "left": "center", "textStyle": {"fontSize": 13}},
        "tooltip": {"trigger": "axis"},
        "legend": {"data": [BASELINE, MOVED], "bottom": 0},
        "grid": {"left": 60, "right": 35, "top": 40, "bottom": 60},
        "xAxis": {"type": "category", "data": labels, "boundaryGap": False},
        "yAxis": {"type": "value", "scale": True},
        "series": [
            {"name": BASELINE, "type": "line", "data": base, "showSymbol": False,
             "color": "#777777", "lineStyle": {"type": "dashed", "width": 2}},
            {"name": MOVED, "type": "line", "data": moved, "showSymbol": False,
             "color": "#d62728", "lineStyle": {"width": 2.5}},
        ],
    }


def options(snapshot: Snapshot | None) -> list[dict[str, Any]]:
    """One option per series of :data:`SERIES`, in order."""
    return [option(name, snapshot) for name in SERIES]


def last_value(series: tuple[float, ...]) -> float | None:
    """The last finite value of a series, or None."""
    for value in reversed(series):
        if math.isfinite(value):
            return value
    return None
