"""Figures of a paired comparison (:class:`sim.compare.Comparison`).

Like :mod:`sim.plot`, every function returns a :class:`matplotlib.figure.Figure` built
without pyplot, with quarter axes, labels in words with units (differences of
percentages in percentage points) and legends outside the data; ``sim.plot`` re-exports
them, so a notebook needs only ``from sim import plot``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.compare import Comparison
from sim.plot_axes import (
    band_note,
    draw_band,
    figure_legend,
    hide_unused,
    line_handle,
    new_figure,
    patch_handle,
    quarter_axis,
    quarter_index,
    title,
    value_axis,
)
from sim.plot_labels import axis_label, measure, words

# A readable default: the outcomes most levers are judged by.
DEFAULT_PANELS = ("new_loans", "avg_rate_new", "online_share_new", "approval_rate",
                  "unmet_demand_share", "default_rate")


def _panels(result: Comparison, outcomes: Sequence[str] | None) -> list[str]:
    chosen = list(outcomes) if outcomes is not None else \
        [o for o in DEFAULT_PANELS if o in result.outcomes]
    unknown = [o for o in chosen if o not in result.outcomes]
    if unknown:
        raise ValueError(f"not compared: {', '.join(unknown)}; compared outcomes: "
                         f"{', '.join(result.outcomes)}")
    if not chosen:
        raise ValueError("no outcomes to plot")
    return chosen


def _grid(n: int) -> tuple[int, int]:
    cols = min(3, n)
    return math.ceil(n / cols), cols


def _mark_start(ax, result: Comparison) -> None:
    if result.start is None or result.start not in result.quarters:
        return
    ax.axvline(quarter_index([result.start])[0] - 0.5, color="0.5", linestyle=":",
               linewidth=1)


def _start_handles(result: Comparison) -> list:
    if result.start is None or result.start not in result.quarters:
        return []
    return [line_handle(f"lever starts ({result.start})", color="0.5", linestyle=":")]


def difference_paths(result: Comparison, outcomes: Sequence[str] | None = None) -> Figure:
    """Paired difference OTHER − BASE per quarter, with its 95% replication interval."""
    panels = _panels(result, outcomes)
    table = result.differences()
    x = np.array(quarter_index(result.quarters), dtype=float)
    rows, cols = _grid(len(panels))
    figure, axes = new_figure(rows, cols, width=4.4, height=3.2)
    for ax, outcome in zip(axes.flat, panels):
        part = table[table["outcome"] == outcome].set_index("quarter").loc[result.quarters]
        base = result.values("base", outcome)
        shown = measure(outcome, base)
        ax.fill_between(x, part["ci_low"] * shown.scale, part["ci_high"] * shown.scale,
                        color="C0", alpha=0.25, linewidth=0)
        ax.plot(x, part["diff"] * shown.scale, color="C0")
        ax.axhline(0.0, color="0.3", linewidth=0.8)
        _mark_start(ax, result)
        title(ax, words(outcome))
        level = float(np.nanmean(np.abs(base))) * shown.scale if base.size else None
        value_axis(ax, f"Difference ({shown.diff_unit})", shown.kind, level=level,
                   difference=True)
        quarter_axis(ax, result.quarters)
    hide_unused(axes, len(panels))
    figure_legend(figure, [line_handle("mean paired difference", "C0"),
                           patch_handle("95% replication interval", "C0", alpha=0.25),
                           *_start_handles(result)])
    figure.suptitle(f"{result.other_name} − {result.base_name} "
                    f"({len(result.seeds)} paired replicates)", fontsize=12)
    return figure


def outcome_paths(result: Comparison, outcomes: Sequence[str] | None = None) -> Figure:
    """BASE and OTHER over time: replicate means, with the replicates' range as a band."""
    panels = _panels(result, outcomes)
    index = quarter_index(result.quarters)
    rows, cols = _grid(len(panels))
    figure, axes = new_figure(rows, cols, width=4.4, height=3.2)
    for ax, outcome in zip(axes.flat, panels):
        stored = np.concatenate([result.values(which, outcome).ravel()
                                 for which in ("base", "other")])
        shown = measure(outcome, stored)
        for number, which in enumerate(("base", "other")):
            draw_band(ax, [pd.Series(row, index=index) for row in result.values(which, outcome)],
                      shown.scale, f"C{number}")
        _mark_start(ax, result)
        title(ax, words(outcome))
        value_axis(ax, axis_label(outcome, stored), shown.kind)
        quarter_axis(ax, result.quarters)
    hide_unused(axes, len(panels))
    figure_legend(figure, [line_handle(result.base_name, "C0"),
                           line_handle(result.other_name, "C1"), *_start_handles(result)],
                  title=band_note([len(result.seeds)]))
    figure.suptitle(f"{result.base_name} vs {result.other_name}", fontsize=12)
    return figure


def effect_summary(results: dict[str, Comparison], outcome: str,
                   quarters: Sequence[str] | None = None) -> Figure:
    """One outcome's mean paired difference (with interval) for several comparisons,
    e.g. every lever against the baseline, averaged over each lever's window."""
    if not results:
        raise ValueError("no comparisons to plot")
    names = list(results)
    stats, levels = [], []
    for name in names:
        row = results[name].summary(quarters).set_index("outcome").loc[outcome]
        stats.append((row["diff"], row["ci_low"], row["ci_high"]))
        levels.append(results[name].values("base", outcome).ravel())
    shown = measure(outcome, np.concatenate(levels))
    diff, low, high = (np.array(v, dtype=float) * shown.scale for v in zip(*stats))
    figure, axes = new_figure(1, 1, width=6.0, height=0.5 * len(names) + 1.8)
    ax = axes[0, 0]
    y = np.arange(len(names))[::-1]
    err = np.vstack([np.nan_to_num(diff - low), np.nan_to_num(high - diff)])
    ax.errorbar(diff, y, xerr=err, fmt="o", color="C0", capsize=3)
    ax.axvline(0.0, color="0.3", linewidth=0.8)
    ax.set_yticks(y, names)
    ax.set_ylim(-0.6, len(names) - 0.4)
    ax.grid(True, axis="x", alpha=0.3)
    ax.set_xlabel(f"Mean paired difference, 95% interval ({shown.diff_unit})", fontsize=9)
    text = words(outcome)
    # "NPL ratio" keeps its capitals; "Default rate" reads "default rate" mid-sentence
    text = text[0].lower() + text[1:] if text[1:2].islower() else text
    title(ax, f"Effect on {text}")
    return figure


def comparison_figures(result: Comparison) -> dict[str, Figure]:
    """The figures ``sim compare`` writes, by file name."""
    return {"differences.png": difference_paths(result), "paths.png": outcome_paths(result)}
