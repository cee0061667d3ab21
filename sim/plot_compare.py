"""Figures of a paired comparison (:class:`sim.compare.Comparison`).

Like :mod:`sim.plot`, every function returns a :class:`matplotlib.figure.Figure` built
without pyplot; ``sim.plot`` re-exports them, so a notebook needs only ``from sim import
plot``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from sim.columns import QUARTERLY_COLUMNS
from sim.compare import Comparison
from sim.plot_axes import add_legend, hide_unused, new_figure, quarter_axis, style_for_unit

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


def _mark_start(ax, result: Comparison, labels: list[str]) -> None:
    if result.start is None or result.start not in labels:
        return
    ax.axvline(labels.index(result.start) - 0.5, color="0.5", linestyle=":", linewidth=1)


def difference_paths(result: Comparison, outcomes: Sequence[str] | None = None) -> Figure:
    """Paired difference OTHER − BASE per quarter, with its 95% replication interval."""
    panels = _panels(result, outcomes)
    table = result.differences()
    labels = result.quarters
    x = np.arange(len(labels))
    rows, cols = _grid(len(panels))
    figure, axes = new_figure(rows, cols, width=4.4, height=3.2)
    for ax, outcome in zip(axes.flat, panels):
        part = table[table["outcome"] == outcome].set_index("quarter").loc[labels]
        ax.fill_between(x, part["ci_low"], part["ci_high"], color="C0", alpha=0.25,
                        linewidth=0, label="95% interval")
        ax.plot(x, part["diff"], color="C0", label="mean difference")
        ax.axhline(0.0, color="0.3", linewidth=0.8)
        _mark_start(ax, result, labels)
        unit = QUARTERLY_COLUMNS.get(outcome, ("", ""))[0]
        style_for_unit(ax, unit)
        quarter_axis(ax, labels)
        ax.set_title(outcome, fontsize=10)
    add_legend(axes.flat[0], loc="best")
    hide_unused(axes, len(panels))
    figure.suptitle(f"{result.other_name} − {result.base_name} "
                    f"({len(result.seeds)} paired replicates)")
    return figure


def outcome_paths(result: Comparison, outcomes: Sequence[str] | None = None) -> Figure:
    """BASE and OTHER over time: replicate means, with each replicate faintly behind."""
    panels = _panels(result, outcomes)
    labels = result.quarters
    x = np.arange(len(labels))
    rows, cols = _grid(len(panels))
    figure, axes = new_figure(rows, cols, width=4.4, height=3.2)
    for ax, outcome in zip(axes.flat, panels):
        for number, (name, which) in enumerate(((result.base_name, "base"),
                                                (result.other_name, "other"))):
            values = result.values(which, outcome)
            for row in values:
                ax.plot(x, row, color=f"C{number}", alpha=0.15, linewidth=0.8)
            ax.plot(x, values.mean(axis=0), color=f"C{number}", label=name)
        _mark_start(ax, result, labels)
        style_for_unit(ax, QUARTERLY_COLUMNS.get(outcome, ("", ""))[0])
        quarter_axis(ax, labels)
        ax.set_title(outcome, fontsize=10)
    add_legend(axes.flat[0], loc="best")
    hide_unused(axes, len(panels))
    figure.suptitle(f"{result.base_name} vs {result.other_name} (mean of "
                    f"{len(result.seeds)} replicates)")
    return figure


def effect_summary(results: dict[str, Comparison], outcome: str,
                   quarters: Sequence[str] | None = None) -> Figure:
    """One outcome's mean paired difference (with interval) for several comparisons,
    e.g. every lever against the baseline, averaged over each lever's window."""
    if not results:
        raise ValueError("no comparisons to plot")
    names = list(results)
    stats = []
    for name in names:
        row = results[name].summary(quarters).set_index("outcome").loc[outcome]
        stats.append((row["diff"], row["ci_low"], row["ci_high"]))
    diff, low, high = (np.array(v, dtype=float) for v in zip(*stats))
    figure, axes = new_figure(1, 1, width=6.0, height=0.5 * len(names) + 1.5)
    ax = axes[0, 0]
    y = np.arange(len(names))[::-1]
    err = np.vstack([np.nan_to_num(diff - low), np.nan_to_num(high - diff)])
    ax.errorbar(diff, y, xerr=err, fmt="o", color="C0", capsize=3)
    ax.axvline(0.0, color="0.3", linewidth=0.8)
    ax.set_yticks(y, names)
    ax.grid(True, axis="x", alpha=0.3)
    ax.set_title(f"Effect on {outcome} (mean paired difference, 95% interval)", fontsize=10)
    return figure


def comparison_figures(result: Comparison) -> dict[str, Figure]:
    """The figures ``sim compare`` writes, by file name."""
    return {"differences.png": difference_paths(result), "paths.png": outcome_paths(result)}
