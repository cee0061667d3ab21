"""Figures of a stored experiment: outcome distributions, quarterly bands, responses and
sensitivity indices.

Every function takes a DataFrame from :func:`sim.experiment.load` (one row per run and
quarter) or the result of :func:`sim.experiment.analyze` and returns a
:class:`matplotlib.figure.Figure`, built without pyplot as in :mod:`sim.plot`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.experiment.scalars import HEADLINE_OUTPUTS, run_scalars
from sim.plot_axes import quarter_axis, quarter_index
from sim.plot_labels import ascii_units, table_unit, words

if TYPE_CHECKING:
    from sim.experiment.analyze import Analysis

INDEX_LABELS = {"mu_star": "mu* (mean |elementary effect|)", "S1": "first order S1",
                "ST": "total ST"}


def _scale(column: str) -> float:
    """Percentages for fractions; other units as stored (one unit per output, whatever
    the size of a run's value)."""
    return table_unit(column)[2]


def _label(column: str) -> str:
    """Words and unit of an output, e.g. "Average rate on new loans (% per year)"."""
    unit = ascii_units(table_unit(column)[0])
    return f"{words(column)} ({unit})" if unit else words(column)


def _legend_below(ax, **kwargs) -> None:
    """The legend under the axes (outside the data), if anything is labelled."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), fontsize="small",
                  frameon=False, ncols=3, **kwargs)


def _panels(count: int, columns: int = 3, size: tuple[float, float] = (4.2, 3.2)):
    columns = max(1, min(columns, count))
    rows = math.ceil(count / columns)
    figure = Figure(figsize=(size[0] * columns, size[1] * rows), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for ax in axes[count:]:
        ax.set_visible(False)
    return figure, axes[:count]


def _scalars(frame: pd.DataFrame, outputs: Sequence[str], statistic: str) -> pd.DataFrame:
    return run_scalars(frame, list(outputs), statistic)


def _default_outputs(frame: pd.DataFrame) -> list[str]:
    return [c for c in HEADLINE_OUTPUTS if c in frame.columns]


def outcome_distributions(frame: pd.DataFrame, outputs: Sequence[str] | None = None,
                          statistic: str = "mean", bins: int = 20) -> Figure:
    """Histogram over runs of each output (its mean over the reported quarters, or last)."""
    outputs = list(outputs or _default_outputs(frame))
    scalars = _scalars(frame, outputs, statistic)
    figure, axes = _panels(len(outputs))
    for ax, output in zip(axes, outputs):
        values = scalars[output].to_numpy(dtype=float) * _scale(output)
        values = values[np.isfinite(values)]
        ax.hist(values, bins=bins, color="tab:blue", alpha=0.8)
        if len(values):
            ax.axvline(np.median(values), color="black", linewidth=1, label="median")
        ax.set_xlabel(_label(output))
        ax.set_ylabel("Runs (number)")
    figure.suptitle(f"Outcomes over {len(scalars)} runs ({statistic} over the reported "
                    "quarters)")
    return figure


def quarterly_band(frame: pd.DataFrame, column: str, by: str | None = None,
                   band: tuple[float, float] = (0.1, 0.9)) -> Figure:
    """Median and a quantile band across runs of a quarterly column; one band per ``by`` level."""
    figure = Figure(figsize=(7, 4), layout="constrained")
    ax = figure.add_subplot()
    groups = [(None, frame)] if by is None else list(frame.groupby(by, sort=True))
    quarters = sorted(frame["quarter"].astype(str).unique(), key=lambda q: quarter_index([q]))
    x = np.array(quarter_index(quarters), dtype=float)
    for level, group in groups:
        table = group.pivot_table(index="quarter", columns=["point", "replicate"],
                                  values=column).reindex(quarters) * _scale(column)
        low, mid, high = (table.quantile(q, axis=1) for q in (band[0], 0.5, band[1]))
        label = "all runs" if level is None else f"{by} = {level:g}"
        (line,) = ax.plot(x, mid, label=label)
        ax.fill_between(x, low, high, color=line.get_color(), alpha=0.2)
    quarter_axis(ax, quarters)
    ax.set_ylabel(_label(column))
    ax.set_title(f"{words(column)}: median and {band[0]:.0%}-{band[1]:.0%} of runs")
    _legend_below(ax)
    return figure


def response(frame: pd.DataFrame, output: str, parameter: str, by: str | None = None,
             statistic: str = "mean") -> Figure:
    """An output against one parameter: every run, and replicate means per point."""
    keys = [parameter] + ([by] if by else [])
    scalars = _scalars(frame, [output], statistic)
    design = frame.drop_duplicates("point")[["point", *keys]]
    data = scalars.merge(design, on="point")
    data[output] = data[output] * _scale(output)
    figure = Figure(figsize=(6, 4), layout="constrained")
    ax = figure.add_subplot()
    groups = [(None, data)] if by is None else list(data.groupby(by, sort=True))
    for level, group in groups:
        means = group.groupby(parameter)[output].mean()
        (line,) = ax.plot(means.index, means.to_numpy(), marker="o",
                          label="replicate mean" if level is None else f"{by} = {level:g}")
        ax.scatter(group[parameter], group[output], s=8, alpha=0.35, color=line.get_color())
    ax.set_xlabel(parameter)
    ax.set_ylabel(_label(output))
    _legend_below(ax)
    return figure


def sensitivity(table: pd.DataFrame) -> Figure:
    """Morris mu* or Sobol S1 and ST per parameter, with confidence intervals, per output."""
    outputs = list(dict.fromkeys(table["output"]))
    morris = "mu_star" in set(table["index"])
    indices = ["mu_star"] if morris else ["S1", "ST"]
    figure, axes = _panels(len(outputs), columns=2, size=(5.5, 0.5 + 0.45 *
                                                          table["parameter"].nunique()))
    for ax, output in zip(axes, outputs):
        part = table[table["output"] == output]
        names = list(dict.fromkeys(part["parameter"]))
        y = np.arange(len(names))
        height = 0.8 / len(indices)
        for k, index in enumerate(indices):
            rows = part[part["index"] == index].set_index("parameter").reindex(names)
            ax.barh(y + (k - (len(indices) - 1) / 2) * height, rows["value"], height=height,
                    xerr=rows["conf"].fillna(0).to_numpy(), capsize=2,
                    label=INDEX_LABELS.get(index, index))
        ax.set_yticks(y, names, fontsize="small")
        ax.invert_yaxis()
        ax.set_title(words(output), fontsize="medium")
        ax.axvline(0, color="grey", linewidth=0.5)
        if len(indices) > 1 or ax is axes[0]:
            _legend_below(ax)
    kind = "Morris screening" if morris else "Sobol indices"
    figure.suptitle(f"{kind} ({table.attrs.get('statistic', 'mean')} over the reported "
                    "quarters; bars: 95% bootstrap intervals)")
    return figure


def point_summary(table: pd.DataFrame, keys: Sequence[str]) -> Figure:
    """Replicate means and 95% intervals per design point (a grid or LHS summary)."""
    outputs = list(dict.fromkeys(table["output"]))
    figure, axes = _panels(len(outputs))
    x_key = keys[0]
    by = keys[1] if len(keys) > 1 else None
    for ax, output in zip(axes, outputs):
        part = table[table["output"] == output]
        groups = [(None, part)] if by is None else list(part.groupby(by, sort=True))
        scale = _scale(output)
        for level, group in groups:
            group = group.sort_values(x_key)
            ax.errorbar(group[x_key], group["mean"] * scale,
                        yerr=group["conf"].fillna(0) * scale, marker="o", capsize=2,
                        linestyle="-" if len(keys) <= 2 else "none",
                        label=None if level is None else f"{by} = {level:g}")
        ax.set_xlabel(x_key, fontsize="small")
        ax.set_ylabel(_label(output), fontsize="small")
        if by is not None and ax is axes[0]:
            _legend_below(ax)
    figure.suptitle("Replicate means and 95% intervals by design point")
    return figure


def analysis_figure(analysis: Analysis) -> Figure:
    """The figure of :func:`sim.experiment.analyze`'s result: indices with their intervals,
    or, for a grid or LHS, the point summary."""
    if analysis.method == "summary":
        return point_summary(analysis.table, analysis.parameters)
    return sensitivity(analysis.table)
