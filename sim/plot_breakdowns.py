"""Standard figures by lender kind and by firm group (see :mod:`sim.plot`, which
re-exports them): colour = kind or group, line style = label, replicate bands as there."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.categories import (
    ALL_KINDS,
    BANK_TYPES,
    DIGITAL_BANK_KINDS,
    NONBANK_KINDS,
    PLATFORM_KINDS,
    REGIONS,
    SECTORS,
    SIZES,
    STAGES,
)
from sim.plot import Labelled, Runs, as_runs, finish, quarters_of
from sim.plot_axes import (
    draw_band,
    legend_right,
    line_handle,
    new_figure,
    quarter_axis,
    quarter_index,
    title,
    value_axis,
)
from sim.plot_labels import group_label, kind_label, measure, words

LINESTYLES = ("-", "--", ":", "-.")
# Known category orders, so that colours and legends follow the model's own order.
GROUP_ORDER = {"sector": SECTORS, "region": REGIONS, "size": SIZES, "stage": STAGES}
DIMENSION_WORDS = {"sector": "sector", "region": "region", "size": "firm size",
                   "stage": "life stage"}


def style_handles(runs: Labelled) -> list:
    """Legend entries of the labels as line styles, when there is more than one."""
    if len(runs) < 2:
        return []
    return [line_handle(label, linestyle=LINESTYLES[n % len(LINESTYLES)])
            for n, label in enumerate(runs)]


# ---------------------------------------------------------------- lenders


def _weighted_by(frame: pd.DataFrame, value: str, weights: pd.Series) -> pd.Series:
    """Per (quarter, kind) mean of ``value`` weighted by ``weights`` (finite values only)."""
    values = pd.to_numeric(frame[value], errors="coerce").replace([np.inf, -np.inf], np.nan)
    weights = weights.replace([np.inf, -np.inf], np.nan)
    usable = values.notna() & weights.notna() & (weights > 0)
    parts = pd.DataFrame({"quarter": frame["quarter"].astype(str), "kind": frame["kind"],
                          "product": (values * weights).where(usable),
                          "weight": weights.where(usable)})
    sums = parts.groupby(["quarter", "kind"])[["product", "weight"]].sum(min_count=1)
    return sums["product"] / sums["weight"]


def aggregate_lenders_by_kind(lenders: pd.DataFrame) -> pd.DataFrame:
    """Capital ratio and annual ROE per (quarter, kind) over active lenders.

    Weighted by total assets when the table has a ``total_assets`` column. Otherwise the
    pooled ratios of the kind: capital ratio = total capital ÷ total risk-weighted assets
    (weights capital ÷ capital_ratio) and ROE = total profit ÷ total capital (weights
    capital).
    """
    frame = lenders
    if "active" in frame:
        frame = frame[frame["active"].astype(bool)]
    capital = pd.to_numeric(frame["capital"], errors="coerce")
    if "total_assets" in frame:
        assets = pd.to_numeric(frame["total_assets"], errors="coerce")
        ratio_weights, roe_weights = assets, assets
    else:
        ratio = pd.to_numeric(frame["capital_ratio"], errors="coerce")
        ratio_weights = (capital / ratio.where(ratio > 0)).astype(float)
        roe_weights = capital
    result = pd.DataFrame({
        "capital_ratio": _weighted_by(frame, "capital_ratio", ratio_weights),
        "roe_annual": _weighted_by(frame, "roe_annual", roe_weights),
    })
    return result.reset_index()


def _kind_color(kind: str) -> str:
    index = ALL_KINDS.index(kind) if kind in ALL_KINDS else len(ALL_KINDS)
    return f"C{index % 10}"


def _kind_series(aggregated: pd.DataFrame, kind: str, metric: str) -> pd.Series:
    rows = aggregated[aggregated["kind"] == kind]
    return pd.Series(rows[metric].to_numpy(dtype=float), index=quarter_index(rows["quarter"]),
                     dtype=float).sort_index()


def _plot_kinds(ax: Axes, runs: Labelled, kinds: Sequence[str], metric: str) -> None:
    """Colour = lender kind, line style = label; kinds without values are left out."""
    shown = measure(metric, table="lenders")
    aggregated = {label: [aggregate_lenders_by_kind(run.lenders) for run in group
                          if not run.lenders.empty] for label, group in runs.items()}
    for number, (label, tables) in enumerate(aggregated.items()):
        for kind in kinds:
            parts = [_kind_series(table, kind, metric) for table in tables]
            parts = [part for part in parts if part.notna().any()]
            if not parts:  # e.g. a platform without an own book
                continue
            draw_band(ax, parts, shown.scale, _kind_color(kind),
                      linestyle=LINESTYLES[number % len(LINESTYLES)],
                      label=kind_label(kind) if number == 0 else "_nolegend_")


def lenders(runs: Runs) -> Figure:
    """Capital ratio and annual ROE by lender kind: banks on top, platforms below."""
    runs = as_runs(runs)
    quarters = quarters_of(runs, "lenders") or quarters_of(runs)
    figure, axes = new_figure(2, 2, width=4.6, height=3.3)
    rows = (("Banks", BANK_TYPES + DIGITAL_BANK_KINDS, "capital ÷ risk-weighted assets"),
            ("Platforms and non-banks", PLATFORM_KINDS + NONBANK_KINDS,
             "capital ÷ own book"))
    for (group, kinds, ratio_note), (ratio_ax, roe_ax) in zip(rows, axes):
        for ax, metric in ((ratio_ax, "capital_ratio"), (roe_ax, "roe_annual")):
            _plot_kinds(ax, runs, kinds, metric)
            shown = measure(metric, table="lenders")
            title(ax, f"{words(metric, 'lenders')}: {group.lower()}")
            note = f", {ratio_note}" if metric == "capital_ratio" else ""
            value_axis(ax, f"{words(metric, 'lenders')} ({shown.unit}{note})", shown.kind)
            quarter_axis(ax, quarters)
        legend_right(roe_ax)
    return finish(figure, runs, style_handles(runs), "Lenders")


# ---------------------------------------------------------------- groups


def available_dimensions(runs: Labelled) -> list[str]:
    found = {str(d) for group in runs.values() for run in group if not run.groups.empty
             for d in run.groups["dimension"].unique()}
    return sorted(found)


def _group_order(dimension: str, present: set[str]) -> list[str]:
    known = [name for name in GROUP_ORDER.get(dimension, ()) if name in present]
    return known + sorted(present - set(known))


def _group_series(run, dimension: str, metric: str, group: str) -> pd.Series:
    frame = run.groups
    if frame.empty:
        return pd.Series(dtype=float)
    rows = frame[(frame["dimension"] == dimension) & (frame["metric"] == metric)
                 & (frame["group"].astype(str) == group)]
    return pd.Series(pd.to_numeric(rows["value"], errors="coerce").to_numpy(dtype=float),
                     index=quarter_index(rows["quarter"]), dtype=float).sort_index()


def _plot_groups(ax: Axes, runs: Labelled, quarters: list[int], dimension: str,
                 metric: str) -> None:
    chosen = [run.groups[(run.groups["dimension"] == dimension)
                         & (run.groups["metric"] == metric)]
              for group in runs.values() for run in group if not run.groups.empty]
    present = {str(g) for frame in chosen for g in frame["group"]}
    stored = np.concatenate([pd.to_numeric(f["value"], errors="coerce").to_numpy(dtype=float)
                             for f in chosen] or [np.zeros(0)])
    shown = measure(metric, stored, table="groups")
    for number, group_runs in enumerate(runs.values()):
        for colour, group in enumerate(_group_order(dimension, present)):
            draw_band(ax, [_group_series(run, dimension, metric, group) for run in group_runs],
                      shown.scale, f"C{colour % 10}",
                      linestyle=LINESTYLES[number % len(LINESTYLES)],
                      label=group_label(group) if number == 0 else "_nolegend_")
    title(ax, f"{words(metric, 'groups')} by {DIMENSION_WORDS.get(dimension, dimension)}")
    value_axis(ax, f"{words(metric, 'groups')} ({shown.unit})", shown.kind)
    quarter_axis(ax, quarters)


def groups(runs: Runs, dimension: str = "size",
           metrics: Sequence[str] = ("new_loans", "approval_rate")) -> Figure:
    """Chosen metrics per group of one dimension (colour = group, line style = label)."""
    runs = as_runs(runs)
    available = available_dimensions(runs)
    if dimension not in available:
        raise ValueError(f"no group results for dimension '{dimension}'; available: "
                         f"{', '.join(available) or 'none'}")
    quarters = quarters_of(runs, "groups")
    figure, axes = new_figure(1, len(metrics), width=4.6, height=3.4)
    for ax, metric in zip(axes.flat, metrics):
        _plot_groups(ax, runs, quarters, dimension, metric)
    legend_right(axes.flat[len(metrics) - 1], title=DIMENSION_WORDS.get(dimension,
                                                                         dimension).capitalize())
    return finish(figure, runs, style_handles(runs),
                  f"By {DIMENSION_WORDS.get(dimension, dimension)}")
