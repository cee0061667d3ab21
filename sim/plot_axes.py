"""Axes and figure helpers shared by the figure modules (:mod:`sim.plot`,
:mod:`sim.plot_compare`): panel grids, quarter axes, unit formats and legends."""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter


def new_figure(nrows: int, ncols: int, width: float = 5.0, height: float = 3.6
               ) -> tuple[Figure, np.ndarray]:
    """A figure of ``nrows`` × ``ncols`` panels (a 2-D array of axes), without pyplot."""
    figure = Figure(figsize=(width * ncols, height * nrows), layout="constrained")
    axes = figure.subplots(nrows, ncols, squeeze=False)
    return figure, axes


def quarter_axis(ax: Axes, labels: list[str]) -> None:
    """Quarter labels on the x axis, every fourth one (on Q1 where possible)."""
    first_q1 = next((i for i, label in enumerate(labels) if label.endswith("Q1")), 0)
    ticks = list(range(first_q1, len(labels), 4)) or [0]
    ax.set_xticks(ticks, [labels[i] for i in ticks], rotation=45, ha="right", fontsize=8)
    ax.set_xlim(-0.5, len(labels) - 0.5)
    ax.grid(True, alpha=0.3)


def percent_axis(ax: Axes) -> None:
    """Fractions on the y axis shown as percentages."""
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0))


def thousands_axis(ax: Axes) -> None:
    """Whole numbers with thousands separators on the y axis."""
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))


def style_for_unit(ax: Axes, unit: str) -> None:
    """The y axis format of a column in ``unit`` (see :data:`sim.columns.QUARTERLY_COLUMNS`)."""
    if unit.startswith("fraction"):
        percent_axis(ax)
    elif unit in ("亿元", "firms"):
        thousands_axis(ax)


def add_legend(ax: Axes, **kwargs) -> None:
    """A small legend, only if something in ``ax`` has a label."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, **kwargs)


def hide_unused(axes: np.ndarray, used: int) -> None:
    """Hide the panels after the first ``used`` (a grid that is not full)."""
    for ax in axes.flat[used:]:
        ax.set_visible(False)
