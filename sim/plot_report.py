"""A one-page PDF report of a run (or of a few labelled runs): the headline table of
:meth:`sim.results.RunResult.summary` and the overview panels of :func:`sim.plot.overview`
on one A4 page, drawn with matplotlib's GridSpec and written with PdfPages (vector)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.experiment.store import write_figure_atomic
from sim.plot import Labelled, Runs, as_runs, overview_panels
from sim.plot_axes import band_note, figure_legend, title
from sim.plot_labels import ascii_units

A4 = (8.27, 11.69)  # inches, portrait
MOST_YEARS = 7  # table columns that fit the page width


def headline_table(runs: Labelled) -> tuple[pd.DataFrame, str]:
    """The headline figures and a caption: by year for one label (replicates averaged),
    else the last reported year of each label."""
    summaries = {label: [run.summary() for run in group] for label, group in runs.items()}
    if len(runs) == 1:
        (label, tables), = summaries.items()
        table = sum(tables[1:], tables[0]) / len(tables)
        years = list(table.columns)
        if len(years) > MOST_YEARS:  # evenly spaced years, first and last kept
            keep = np.unique(np.linspace(0, len(years) - 1, MOST_YEARS).round().astype(int))
            table = table[[years[i] for i in keep]]
        caption = "Averages over each year's quarters; flows annualised"
    else:
        columns = {label: sum(t.iloc[:, -1] for t in tables) / len(tables)
                   for label, tables in summaries.items()}
        table = pd.DataFrame(columns)
        last = {str(tables[0].columns[-1]) for tables in summaries.values()}
        caption = f"Averages over the quarters of {', '.join(sorted(last))}; flows annualised"
    replicates = max(len(group) for group in runs.values())
    if replicates > 1:
        caption += f"; mean of up to {replicates} replicate runs"
    table.index = [ascii_units(str(name)) for name in table.index]
    return table, caption


def _format(value: float) -> str:
    if value is None or not np.isfinite(value):
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.2f}"


def _draw_table(ax: Axes, table: pd.DataFrame, caption: str) -> None:
    ax.set_axis_off()
    cells = [[_format(float(v)) for v in row] for row in table.to_numpy()]
    drawn = ax.table(cellText=cells, rowLabels=list(table.index),
                     colLabels=[str(c) for c in table.columns], loc="upper right",
                     bbox=[0.36, 0.0, 0.64, 1.0], cellLoc="right", edges="horizontal")
    drawn.auto_set_font_size(False)
    drawn.set_fontsize(7.5)
    title(ax, "Headline figures")
    ax.text(0.0, -0.06, caption, transform=ax.transAxes, fontsize=7, color="0.3",
            va="top")


def _heading(runs: Labelled) -> str:
    group = next(iter(runs.values()))
    meta = group[0].meta if isinstance(group[0].meta, dict) else {}
    quarters = group[0].quarterly["quarter"].astype(str)
    facts = [f"{quarters.iloc[0]}-{quarters.iloc[-1]}" if len(quarters) else ""]
    if meta.get("agents"):
        facts.append(f"{int(meta['agents']):,} simulated SMEs")
    if len(runs) == 1 and len(group) > 1:
        facts.append(f"{len(group)} replicate runs")
    elif len(runs) == 1 and "seed" in meta:
        facts.append(f"seed {meta['seed']}")
    names = " vs ".join(runs) if len(runs) <= 3 else f"{len(runs)} scenarios"
    return f"SME finance: {names}\n" + ", ".join(f for f in facts if f)


def report_figure(runs: Runs) -> Figure:
    """The report page: heading, headline table and six overview panels, legend below."""
    runs = as_runs(runs)
    figure = Figure(figsize=A4, layout="constrained")
    grid = figure.add_gridspec(4, 2, height_ratios=[1.25, 1.0, 1.0, 1.0])
    _draw_table(figure.add_subplot(grid[0, :]), *headline_table(runs))
    panels = [figure.add_subplot(grid[1 + n // 2, n % 2]) for n in range(6)]
    for ax in panels:
        ax.tick_params(labelsize=7)
    handles = overview_panels(panels, runs)
    figure_legend(figure, handles, title=band_note(len(g) for g in runs.values()), ncols=3)
    figure.suptitle(_heading(runs), fontsize=12)
    return figure


def save_report(runs: Runs, path: str | Path) -> Path:
    """Write the one-page report as a PDF at ``path``; return it."""
    path = Path(path)
    runs = as_runs(runs)
    figure = report_figure(runs)
    write_figure_atomic(path, figure, metadata={"Title": _heading(runs).splitlines()[0]})
    return path
