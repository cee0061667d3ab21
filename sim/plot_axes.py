"""Axes and figure helpers shared by the figure modules (:mod:`sim.plot`,
:mod:`sim.plot_compare`, :mod:`sim.plot_report`): panel grids, quarter axes, the
minimum y span, legends outside the data and replicate bands.

The x axis of a time panel is the integer quarter index of :mod:`sim.quarters` (year × 4
+ quarter − 1), labelled "2024Q1" on short horizons and by year on longer ones, so no
panel ever shows positions 0, 1, 2, ...
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import ScalarFormatter

from sim.plot_labels import min_span
from sim.quarters import parse_quarter, quarter_label

TITLE_SIZE = 10
LABEL_SIZE = 9
TICK_SIZE = 8
LEGEND_SIZE = 8
# Replicate bands: the range of the runs, or their 5-95% quantiles from this many runs on.
QUANTILE_BAND_FROM = 10


def new_figure(nrows: int, ncols: int, width: float = 5.0, height: float = 3.6
               ) -> tuple[Figure, np.ndarray]:
    """A figure of ``nrows`` × ``ncols`` panels (a 2-D array of axes), without pyplot."""
    figure = Figure(figsize=(width * ncols, height * nrows), layout="constrained")
    axes = figure.subplots(nrows, ncols, squeeze=False)
    for ax in axes.flat:
        ax.tick_params(labelsize=TICK_SIZE)
    return figure, axes


def quarter_index(quarters: Iterable) -> list[int]:
    """Quarter labels ("2024Q1"), pandas Periods or integer indices as integer indices."""
    out = []
    for quarter in quarters:
        if isinstance(quarter, (int, np.integer)):
            out.append(int(quarter))
        elif isinstance(quarter, pd.Period):
            out.append(quarter.year * 4 + quarter.quarter - 1)
        else:
            out.append(parse_quarter(str(quarter)))
    return out


def quarter_axis(ax: Axes, quarters: Sequence) -> None:
    """A time axis over ``quarters``: each quarter labelled ("2024Q1") up to eight
    quarters, else years at their first quarter (every second year beyond 12 years)."""
    index = quarter_index(quarters)
    if not index:
        return
    first, last = min(index), max(index)
    if last - first < 8:
        ticks = list(range(first, last + 1))
        ax.set_xticks(ticks, [quarter_label(q) for q in ticks], rotation=45, ha="right")
    else:
        years = list(range((first + 3) // 4, last // 4 + 1))[::2 if last - first >= 48 else 1]
        ax.set_xticks([4 * y for y in years], [str(y) for y in years])
        ax.set_xticks(range(first, last + 1), minor=True)
    ax.set_xlim(first - 0.5, last + 0.5)
    ax.tick_params(axis="x", labelsize=TICK_SIZE)
    ax.grid(True, alpha=0.3)


def value_axis(ax: Axes, label: str, kind: str, level: float | None = None,
               difference: bool = False) -> None:
    """The y label, plain numbers (thousands separated, no offset) and the minimum span
    of :func:`sim.plot_labels.min_span`."""
    ax.set_ylabel(wrap_label(label), fontsize=LABEL_SIZE)
    ax.yaxis.set_major_formatter(PlainFormatter())
    ax.autoscale_view()
    low, high = ax.dataLim.intervaly
    if ax.has_data() and np.isfinite([low, high]).all():
        current = ax.get_ylim()
        bottom, top = min_span(float(low), float(high), kind, level, difference)
        if top - bottom > current[1] - current[0]:
            ax.set_ylim(bottom, top)


def wrap_label(label: str, width: int = 34) -> str:
    """A long label on two or more lines, its unit "(...)" kept whole on the last one, so
    it does not run past its panel."""
    if len(label) <= width:
        return label
    text, paren, unit = label.rpartition(" (")
    if not paren or len(unit) + 1 > width:
        return textwrap.fill(label, width, break_on_hyphens=False)
    return f"{textwrap.fill(text, width, break_on_hyphens=False)}\n({unit}"


class PlainFormatter(ScalarFormatter):
    """Tick labels as plain numbers: no offset or power of ten (a slide reader should
    not add "+1.4e1" in their head), thousands separated."""

    def __init__(self) -> None:
        super().__init__(useOffset=False)
        self.set_scientific(False)

    def __call__(self, x: float, pos: int | None = None) -> str:
        if abs(x) >= 1000:
            return f"{x:,.0f}"
        return super().__call__(x, pos)


def title(ax: Axes, text: str) -> None:
    ax.set_title(text, fontsize=TITLE_SIZE)


def legend_right(ax: Axes, **kwargs) -> None:
    """The legend of ``ax`` to the right of its axes, outside the data."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0,
                  fontsize=LEGEND_SIZE, title_fontsize=LEGEND_SIZE, frameon=False, **kwargs)


def figure_legend(figure: Figure, handles: Sequence, title: str | None = None,
                  ncols: int | None = None) -> None:
    """One legend for the whole figure, below every panel."""
    if not handles:
        return
    ncols = ncols or (len(handles) if len(handles) <= 6 else 4)
    figure.legend(handles=list(handles), loc="outside lower center", ncols=ncols,
                  fontsize=LEGEND_SIZE, frameon=False, title=title,
                  title_fontsize=LEGEND_SIZE)


def line_handle(label: str, color: str = "0.3", linestyle: str = "-") -> Line2D:
    return Line2D([], [], color=color, linestyle=linestyle, label=label)


def patch_handle(label: str, color: str, alpha: float = 0.85) -> Patch:
    return Patch(facecolor=color, alpha=alpha, label=label)


def band_note(counts: Iterable[int]) -> str | None:
    """What a shaded band means, if any label has replicate runs."""
    most = max(counts, default=1)
    if most < 2:
        return None
    what = "5-95% of runs" if most >= QUANTILE_BAND_FROM else "range of runs"
    return f"Lines: mean of a scenario's replicate runs; shading: {what}"


def draw_band(ax: Axes, series: Sequence[pd.Series], scale: float, color: str,
              linestyle: str = "-", label: str = "_nolegend_", linewidth: float = 1.6
              ) -> None:
    """The mean over ``series`` (one per replicate run, indexed by quarter index) as a
    line and, for two runs or more, their range (5-95% from 10 runs on) as a band."""
    usable = [s for s in series if len(s)]
    if not usable:
        return
    table = pd.concat(usable, axis=1).sort_index() * scale
    x = table.index.to_numpy(dtype=float)
    ax.plot(x, table.mean(axis=1, skipna=True).to_numpy(dtype=float), color=color,
            linestyle=linestyle, label=label, linewidth=linewidth)
    if table.shape[1] >= 2:
        if table.shape[1] >= QUANTILE_BAND_FROM:
            low, high = table.quantile(0.05, axis=1), table.quantile(0.95, axis=1)
        else:
            low, high = table.min(axis=1), table.max(axis=1)
        ax.fill_between(x, low.to_numpy(dtype=float), high.to_numpy(dtype=float),
                        color=color, alpha=0.18, linewidth=0)


def hide_unused(axes: np.ndarray, used: int) -> None:
    """Hide the panels after the first ``used`` (a grid that is not full)."""
    for ax in axes.flat[used:]:
        ax.set_visible(False)
