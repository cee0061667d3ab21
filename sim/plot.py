"""Standard figures of one run or a comparison of runs.

Every function takes a :class:`~sim.results.RunResult`, a list of them, or a ``{label:
run or list of runs}`` dict and returns a :class:`matplotlib.figure.Figure`. Runs under
one label (a list, or several runs of the same scenario name) are replicates: each line
is their mean and a band shows their range (5-95% from ten runs on). Figures are built
without pyplot, so nothing touches global state: this works headless, in scripts and in
notebooks (a returned Figure displays inline).

Every panel has a quarter axis, a y label in words with its unit (:mod:`sim.plot_labels`)
and the minimum y span of :func:`sim.plot_labels.min_span`; legends sit outside the data,
below the panels or to their right. Lender and firm-group figures are in
:mod:`sim.plot_breakdowns`, comparison figures in :mod:`sim.plot_compare`, the one-page
report in :mod:`sim.plot_report`; all are reachable from here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.columns import GROUP_DIMENSIONS
from sim.experiment.store import write_figure_atomic
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
from sim.plot_labels import axis_label, measure, measure_for_unit, words
from sim.results import RunResult

Runs = RunResult | Sequence[RunResult] | Mapping[str, RunResult | Sequence[RunResult]]
Labelled = dict[str, list[RunResult]]

CHANNEL_SERIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Bank", ("new_loans_bank",)),
    ("Online", ("new_loans_online",)),
    ("Supply chain", ("new_loans_supply_chain",)),
    ("Equity and crowdfunding", ("new_equity", "new_crowdfunding")),
)
# Muted, so that stacked channels are not confused with the runs' line colours.
CHANNEL_COLORS = ("#8fb3d9", "#f2b880", "#9fd1a8", "#c7a8d9")
RATE_PANELS = (
    ("All debt", "avg_rate_new"),
    ("Bank loans", "avg_rate_new_bank"),
    ("Online loans", "avg_rate_new_online"),
    ("Supply-chain finance", "avg_rate_new_supply_chain"),
)
FORMATS = ("png", "svg", "pdf")
DPI = 200


# ---------------------------------------------------------------- inputs


def run_label(run: RunResult) -> str:
    """A run's label: its scenario's name from run.json, else "run"."""
    meta = run.meta if isinstance(run.meta, dict) else {}
    return str(meta.get("name") or "run")


def as_runs(runs: Runs) -> Labelled:
    """Normalise runs to a non-empty ``{label: [replicate runs]}`` dict. A bare list is
    grouped by scenario name, so replicates of one scenario share a label."""
    if isinstance(runs, RunResult):
        return {run_label(runs): [runs]}
    if isinstance(runs, Mapping):
        items = list(runs.items())
    elif isinstance(runs, Sequence) and not isinstance(runs, str):
        items = [(run_label(run), run) for run in runs]
    else:
        raise TypeError(f"expected a RunResult or a dict of them, got {type(runs).__name__}")
    if not items:
        raise ValueError("no runs to plot")
    labelled: Labelled = {}
    for label, value in items:
        group = list(value) if isinstance(value, Sequence) and not isinstance(value, str) \
            else [value]
        for run in group:
            if not isinstance(run, RunResult):
                raise TypeError(f"run '{label}' is a {type(run).__name__}, not a RunResult")
        if not group:
            raise ValueError(f"no runs under label '{label}'")
        labelled.setdefault(str(label), []).extend(group)
    return labelled


def series(frame: pd.DataFrame, *columns: str) -> pd.Series:
    """Sum of ``columns`` indexed by quarter index; NaN where a column was not reported."""
    index = quarter_index(frame["quarter"])
    total = np.zeros(len(frame))
    for column in columns:
        if column not in frame:
            total = np.full(len(frame), np.nan)
            break
        total = total + pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
    return pd.Series(total, index=index, dtype=float).groupby(level=0).mean()


def quarters_of(runs: Labelled, table: str = "quarterly") -> list[int]:
    """Every quarter index in the runs' ``table`` (the shared x axis)."""
    frames = [getattr(run, table) for group in runs.values() for run in group]
    return sorted({q for frame in frames if "quarter" in frame
                   for q in quarter_index(frame["quarter"])})


def stored_values(runs: Labelled, *columns: str) -> np.ndarray:
    """Every stored value of the sum of ``columns`` (to choose a display scale)."""
    parts = [series(run.quarterly, *columns).to_numpy() for group in runs.values()
             for run in group]
    return np.concatenate(parts) if parts else np.zeros(0)


def run_color(number: int) -> str:
    return f"C{number % 10}"


def run_handles(runs: Labelled, linestyle: str = "-") -> list:
    """Legend entries of the labels (colours), when there is more than one."""
    if len(runs) < 2:
        return []
    return [line_handle(label, run_color(n), linestyle) for n, label in enumerate(runs)]


def finish(figure: Figure, runs: Labelled, handles: Sequence, heading: str) -> Figure:
    """The figure legend (with the band note) and the title naming the labels."""
    figure_legend(figure, handles, title=band_note(len(group) for group in runs.values()))
    labels = list(runs)
    names = " vs ".join(labels) if len(labels) <= 3 else f"{len(labels)} scenarios"
    figure.suptitle(f"{heading}: {names}", fontsize=12)
    return figure


# ---------------------------------------------------------------- panels


def line_panel(ax: Axes, runs: Labelled, quarters: list[int], column: str,
               heading: str | None = None, extra: Sequence[tuple[str, str]] = ()) -> None:
    """One column per label (colour = label), plus ``extra`` (column, line style) in the
    same unit, e.g. the LPR dashed under the rates."""
    stored = np.concatenate([stored_values(runs, column),
                             *(stored_values(runs, other) for other, _ in extra)])
    shown = measure(column, stored)
    for number, group in enumerate(runs.values()):
        draw_band(ax, [series(run.quarterly, column) for run in group], shown.scale,
                  run_color(number))
        for other, style in extra:
            draw_band(ax, [series(run.quarterly, other) for run in group], shown.scale,
                      run_color(number), linestyle=style, linewidth=1.1)
    title(ax, heading or words(column))
    value_axis(ax, axis_label(column, stored), shown.kind)
    quarter_axis(ax, quarters)


def channel_stack(ax: Axes, group: list[RunResult], quarters: list[int],
                  stored: np.ndarray, top: float | None = None) -> None:
    """New finance by channel, stacked (replicate means); ``stored`` values choose the
    unit and ``top`` (stored units) fixes the scale shared by several panels."""
    shown = measure_for_unit("亿元", stored, flow=True)
    means = []
    for _, columns in CHANNEL_SERIES:
        table = pd.concat([series(run.quarterly, *columns) for run in group], axis=1)
        means.append(table.mean(axis=1).reindex(quarters))
    x = np.array(quarters, dtype=float)
    ax.stackplot(x, *(np.nan_to_num(m.to_numpy(dtype=float)) * shown.scale for m in means),
                 colors=CHANNEL_COLORS, alpha=0.9)
    value_axis(ax, f"New finance ({shown.unit})", shown.kind)
    if top is not None and top > 0:
        ax.set_ylim(0, top * shown.scale)
    quarter_axis(ax, quarters)


def channel_handles() -> list:
    return [patch_handle(name, color) for (name, _), color in zip(CHANNEL_SERIES,
                                                                    CHANNEL_COLORS)]


# ---------------------------------------------------------------- quarterly figures


def channel_mix(runs: Runs) -> Figure:
    """New lending by channel, stacked (one panel per label), and the online share."""
    runs = as_runs(runs)
    quarters = quarters_of(runs)
    panels = len(runs) + 1
    ncols = min(panels, 3)
    figure, axes = new_figure(-(-panels // ncols), ncols, width=4.6, height=3.4)
    totals = stored_values(runs, *(c for _, columns in CHANNEL_SERIES for c in columns))
    top = float(np.nanmax(totals, initial=0.0)) * 1.05 if len(runs) > 1 else None
    for ax, (label, group) in zip(axes.flat, runs.items()):
        channel_stack(ax, group, quarters, totals, top=top)
        title(ax, f"New finance by channel: {label}")
    line_panel(axes.flat[len(runs)], runs, quarters, "online_share_new")
    hide_unused(axes, panels)
    return finish(figure, runs, channel_handles() + run_handles(runs), "New SME finance")


def rates(runs: Runs) -> Figure:
    """Average annual rate on new debt, overall and by channel, with the 1-year LPR."""
    runs = as_runs(runs)
    quarters = quarters_of(runs)
    figure, axes = new_figure(2, 2, width=4.8, height=3.3)
    for ax, (name, column) in zip(axes.flat, RATE_PANELS):
        line_panel(ax, runs, quarters, column, heading=name, extra=(("lpr_1y", "--"),))
    handles = run_handles(runs) + [line_handle("1-year loan prime rate (dashed)",
                                               linestyle="--")]
    return finish(figure, runs, handles, "Rates on new SME debt")


def defaults(runs: Runs) -> Figure:
    """Annualised default rate of borrowers and the NPL ratio (all and bank)."""
    runs = as_runs(runs)
    quarters = quarters_of(runs)
    figure, axes = new_figure(1, 2, width=4.8, height=3.4)
    line_panel(axes[0, 0], runs, quarters, "default_rate", heading="Defaults")
    line_panel(axes[0, 1], runs, quarters, "npl_ratio", heading="Non-performing loans",
               extra=(("npl_ratio_bank", ":"),))
    handles = run_handles(runs) + [line_handle("NPL ratio, all SME loans"),
                                   line_handle("NPL ratio, bank loans (dotted)",
                                               linestyle=":")]
    return finish(figure, runs, handles, "Credit risk")


def credit_gap(runs: Runs) -> Figure:
    """Credit demanded vs financed (debt + equity + crowdfunding) and the unmet share."""
    runs = as_runs(runs)
    quarters = quarters_of(runs)
    figure, axes = new_figure(1, 2, width=4.8, height=3.4)
    amount_ax, share_ax = axes.flat
    financed = ("new_loans", "new_equity", "new_crowdfunding")
    shown = measure("credit_demand", np.concatenate([stored_values(runs, "credit_demand"),
                                                     stored_values(runs, *financed)]))
    for number, group in enumerate(runs.values()):
        draw_band(amount_ax, [series(run.quarterly, "credit_demand") for run in group],
                  shown.scale, run_color(number))
        draw_band(amount_ax, [series(run.quarterly, *financed) for run in group],
                  shown.scale, run_color(number), linestyle="--")
    title(amount_ax, "Finance demanded and financed")
    value_axis(amount_ax, f"Finance ({shown.unit})", shown.kind)
    quarter_axis(amount_ax, quarters)
    line_panel(share_ax, runs, quarters, "unmet_demand_share", heading="Unmet demand")
    handles = run_handles(runs) + [line_handle("demanded"),
                                   line_handle("financed (dashed)", linestyle="--")]
    return finish(figure, runs, handles, "Finance demanded and financed")


def overview_panels(axes: Sequence[Axes], runs: Labelled) -> list:
    """Draw the six overview panels (lending, online share, rates, defaults, unmet
    demand, bank capital) into ``axes``; return the legend handles."""
    quarters = quarters_of(runs)
    lending_ax, share_ax, rate_ax, default_ax, unmet_ax, capital_ax = axes
    handles = run_handles(runs)
    if len(runs) == 1:
        channel_stack(lending_ax, next(iter(runs.values())), quarters,
                      stored_values(runs, "new_loans"))
        title(lending_ax, "New finance by channel")
        handles = channel_handles() + handles
    else:
        line_panel(lending_ax, runs, quarters, "new_loans", heading="New debt")
    line_panel(share_ax, runs, quarters, "online_share_new", heading="Online share")
    line_panel(rate_ax, runs, quarters, "avg_rate_new", heading="Rates on new loans",
               extra=(("lpr_1y", "--"),))
    line_panel(default_ax, runs, quarters, "default_rate", heading="Defaults")
    line_panel(unmet_ax, runs, quarters, "unmet_demand_share", heading="Unmet demand")
    line_panel(capital_ax, runs, quarters, "bank_car_mean", heading="Bank capital")
    handles.append(line_handle("1-year loan prime rate (dashed)", linestyle="--"))
    return handles


def overview(runs: Runs) -> Figure:
    """A 2 × 3 dashboard: lending, online share, rates, defaults, unmet demand, bank capital."""
    runs = as_runs(runs)
    figure, axes = new_figure(2, 3, width=4.4, height=3.2)
    return finish(figure, runs, overview_panels(list(axes.flat), runs), "SME finance")


# ---------------------------------------------------------------- files


def _standard_figures(runs: Labelled) -> list[tuple[str, Callable[[], Figure]]]:
    """(file stem, figure builder) for every standard figure the runs have data for."""
    from sim import plot_breakdowns

    figures: list[tuple[str, Callable[[], Figure]]] = [
        ("overview", lambda: overview(runs)),
        ("channel_mix", lambda: channel_mix(runs)),
        ("rates", lambda: rates(runs)),
        ("defaults", lambda: defaults(runs)),
        ("credit_gap", lambda: credit_gap(runs)),
    ]
    if any(not run.lenders.empty for group in runs.values() for run in group):
        figures.append(("lenders", lambda: plot_breakdowns.lenders(runs)))
    available = plot_breakdowns.available_dimensions(runs)
    for dimension in GROUP_DIMENSIONS:
        if dimension in available:
            figures.append((f"groups_{dimension}",
                            lambda dimension=dimension: plot_breakdowns.groups(runs,
                                                                               dimension)))
    return figures


def check_formats(formats: str | Sequence[str]) -> list[str]:
    """File formats from "png,svg" or a sequence; refuse any but png, svg and pdf."""
    chosen = [f.strip().lower().lstrip(".") for f in
              (formats.split(",") if isinstance(formats, str) else formats) if f.strip()]
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown or not chosen:
        raise ValueError(f"unknown figure format {', '.join(unknown) or '(none)'}; choose "
                         f"from {', '.join(FORMATS)}")
    return list(dict.fromkeys(chosen))


def standard_figures(runs: Runs, formats: str | Sequence[str] | None = None,
                     dpi: int | None = None) -> dict[str, Figure]:
    """Every standard figure the runs have data for, by name (not saved). ``dpi`` sets
    their display resolution; ``formats`` is only checked (the options of
    :func:`save_standard_figures`, so one set of options serves both)."""
    if formats is not None:
        check_formats(formats)
    figures = {stem: build() for stem, build in _standard_figures(as_runs(runs))}
    if dpi is not None:
        for figure in figures.values():
            figure.set_dpi(dpi)
    return figures


def save_standard_figures(runs: Runs, out_dir: str | Path,
                          formats: str | Sequence[str] = ("png",), dpi: int = DPI
                          ) -> list[Path]:
    """Write the standard figures into ``out_dir``, one file per figure and format (png
    at ``dpi``; svg and pdf are vector); return their paths."""
    chosen = check_formats(formats)
    runs = as_runs(runs)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for stem, build in _standard_figures(runs):
        figure = build()
        for suffix in chosen:
            path = out_dir / f"{stem}.{suffix}"
            write_figure_atomic(path, figure, dpi=dpi)  # never half a file
            written.append(path)
    return written


# ---------------------------------------------------------------- elsewhere

_ELSEWHERE = {
    "difference_paths": "plot_compare", "outcome_paths": "plot_compare",
    "effect_summary": "plot_compare", "lenders": "plot_breakdowns",
    "groups": "plot_breakdowns", "aggregate_lenders_by_kind": "plot_breakdowns",
    "report_figure": "plot_report", "save_report": "plot_report",
}


def __getattr__(name: str):
    """Comparison, breakdown and report figures live in their own modules (which import
    this one); they are reachable here too, loaded on first use."""
    if name in _ELSEWHERE:
        import importlib

        return getattr(importlib.import_module(f"sim.{_ELSEWHERE[name]}"), name)
    raise AttributeError(f"module 'sim.plot' has no attribute '{name}'")
