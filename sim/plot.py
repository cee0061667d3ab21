"""Standard figures of one run or a comparison of runs.

Every function takes a :class:`~sim.results.RunResult` or a ``{label: RunResult}`` dict and
returns a :class:`matplotlib.figure.Figure`. Figures are built without pyplot, so nothing
touches global state: this works headless, in scripts and in notebooks (a returned Figure
displays inline). Money is in 亿元 and labelled "100 million yuan" (ASCII labels avoid
missing-glyph warnings from fonts without CJK characters).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from sim.categories import BANK_TYPES, LENDER_KINDS, PLATFORM_KINDS, REGIONS, SECTORS, SIZES, STAGES
from sim.columns import GROUP_DIMENSIONS, GROUP_METRICS
from sim.plot_axes import (
    add_legend,
    hide_unused,
    new_figure,
    percent_axis,
    quarter_axis,
    style_for_unit,
    thousands_axis,
)
from sim.quarters import parse_quarter
from sim.results import RunResult

Runs = RunResult | Mapping[str, RunResult]

MONEY = "100 million yuan"
LINESTYLES = ("-", "--", ":", "-.")
CHANNEL_SERIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("bank", ("new_loans_bank",)),
    ("online", ("new_loans_online",)),
    ("supply chain", ("new_loans_supply_chain",)),
    ("equity + crowdfunding", ("new_equity", "new_crowdfunding")),
)
RATE_PANELS = (
    ("all debt", "avg_rate_new"),
    ("bank", "avg_rate_new_bank"),
    ("online", "avg_rate_new_online"),
    ("supply chain", "avg_rate_new_supply_chain"),
)
# Known category orders, so that colours and legends follow the model's own order.
GROUP_ORDER = {"sector": SECTORS, "region": REGIONS, "size": SIZES, "stage": STAGES}
UNIT_LABELS = {"亿元": MONEY, "fraction": "%", "fraction/yr": "% per year", "firms": "firms"}


# ---------------------------------------------------------------- inputs


def as_runs(runs: Runs) -> dict[str, RunResult]:
    """Normalise one run or a ``{label: run}`` mapping to a non-empty dict."""
    if isinstance(runs, RunResult):
        return {str(runs.meta.get("name") or "run"): runs}
    if isinstance(runs, Mapping):
        if not runs:
            raise ValueError("no runs to plot")
        for label, run in runs.items():
            if not isinstance(run, RunResult):
                raise TypeError(f"run '{label}' is a {type(run).__name__}, not a RunResult")
        return {str(label): run for label, run in runs.items()}
    raise TypeError(f"expected a RunResult or a dict of them, got {type(runs).__name__}")


def _quarter_labels(frames: Sequence[pd.DataFrame]) -> list[str]:
    """All quarters in any of the frames, in time order: the shared x axis."""
    labels = {str(q) for frame in frames for q in frame["quarter"]}
    return sorted(labels, key=parse_quarter)


def _x(frame: pd.DataFrame, labels: list[str]) -> np.ndarray:
    position = {label: i for i, label in enumerate(labels)}
    return np.array([position[str(q)] for q in frame["quarter"]], dtype=float)


def _values(frame: pd.DataFrame, *columns: str) -> np.ndarray:
    """Sum of the given columns as floats; NaN where a column was not reported."""
    total = np.zeros(len(frame))
    for column in columns:
        if column not in frame:
            return np.full(len(frame), np.nan)
        total = total + pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
    return total


# ---------------------------------------------------------------- axes helpers


def _run_lines(ax: Axes, runs: dict[str, RunResult], labels: list[str], *columns: str,
               linestyle: str = "-", suffix: str = "", legend: bool = True) -> None:
    """One line per run (colour = run) of the sum of ``columns`` from the quarterly table."""
    for number, (label, run) in enumerate(runs.items()):
        frame = run.quarterly
        ax.plot(_x(frame, labels), _values(frame, *columns), color=f"C{number}",
                linestyle=linestyle, label=f"{label}{suffix}" if legend else "_nolegend_")


def _title_suffix(runs: dict[str, RunResult]) -> str:
    return ": " + " vs ".join(runs) if len(runs) <= 3 else f": {len(runs)} runs"


# ---------------------------------------------------------------- quarterly figures


def _stack_channels(ax: Axes, run: RunResult, labels: list[str]) -> None:
    frame = run.quarterly
    stacks = [np.nan_to_num(_values(frame, *columns)) for _, columns in CHANNEL_SERIES]
    ax.stackplot(_x(frame, labels), *stacks, labels=[name for name, _ in CHANNEL_SERIES],
                 alpha=0.85)
    ax.set_ylabel(f"{MONEY} per quarter")
    thousands_axis(ax)
    quarter_axis(ax, labels)


def channel_mix(runs: Runs) -> Figure:
    """New lending by channel, stacked (one panel per run), and the online share."""
    runs = as_runs(runs)
    labels = _quarter_labels([run.quarterly for run in runs.values()])
    panels = len(runs) + 1
    ncols = min(panels, 3)
    figure, axes = new_figure(math.ceil(panels / ncols), ncols)
    top = 0.0
    for ax, (label, run) in zip(axes.flat, runs.items()):
        _stack_channels(ax, run, labels)
        ax.set_title(f"New finance by channel: {label}")
        top = max(top, ax.get_ylim()[1])
    for ax in list(axes.flat)[: len(runs)]:
        ax.set_ylim(0, top)  # same scale so runs compare at a glance
    add_legend(axes.flat[0], loc="upper left")
    share_ax = axes.flat[len(runs)]
    _run_lines(share_ax, runs, labels, "online_share_new")
    share_ax.set_title("Online share of new debt (%)")
    percent_axis(share_ax)
    quarter_axis(share_ax, labels)
    add_legend(share_ax)
    hide_unused(axes, panels)
    return figure


def rates(runs: Runs) -> Figure:
    """Average annual rate on new debt, overall and by channel, with the 1-year LPR."""
    runs = as_runs(runs)
    labels = _quarter_labels([run.quarterly for run in runs.values()])
    figure, axes = new_figure(2, 2)
    for ax, (name, column) in zip(axes.flat, RATE_PANELS):
        _run_lines(ax, runs, labels, column)
        _run_lines(ax, runs, labels, "lpr_1y", linestyle="--", legend=False)
        ax.plot([], [], color="0.3", linestyle="--", label="1y LPR (dashed)")
        ax.set_title(f"Average rate on new loans, {name} (% per year)")
        percent_axis(ax)
        quarter_axis(ax, labels)
    add_legend(axes.flat[0])
    return figure


def defaults(runs: Runs) -> Figure:
    """Annualised default rate of borrowers and the NPL ratio (all and bank)."""
    runs = as_runs(runs)
    labels = _quarter_labels([run.quarterly for run in runs.values()])
    figure, axes = new_figure(1, 2)
    default_ax, npl_ax = axes.flat
    _run_lines(default_ax, runs, labels, "default_rate")
    default_ax.set_title("Default rate of borrowing SMEs (% per year)")
    _run_lines(npl_ax, runs, labels, "npl_ratio", suffix=" all")
    _run_lines(npl_ax, runs, labels, "npl_ratio_bank", linestyle=":", suffix=" bank")
    npl_ax.set_title("NPL ratio of SME loans (%)")
    for ax in axes.flat:
        percent_axis(ax)
        quarter_axis(ax, labels)
        add_legend(ax)
    return figure


def credit_gap(runs: Runs) -> Figure:
    """Credit demanded vs financed (debt + equity + crowdfunding) and the unmet share."""
    runs = as_runs(runs)
    labels = _quarter_labels([run.quarterly for run in runs.values()])
    figure, axes = new_figure(1, 2)
    amount_ax, share_ax = axes.flat
    _run_lines(amount_ax, runs, labels, "credit_demand", suffix=" demanded")
    _run_lines(amount_ax, runs, labels, "new_loans", "new_equity", "new_crowdfunding",
               linestyle="--", suffix=" financed")
    amount_ax.set_title(f"Finance demanded and financed ({MONEY} per quarter)")
    thousands_axis(amount_ax)
    _run_lines(share_ax, runs, labels, "unmet_demand_share")
    share_ax.set_title("Unmet share of credit demand (%)")
    percent_axis(share_ax)
    for ax in axes.flat:
        quarter_axis(ax, labels)
        add_legend(ax)
    return figure


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
    index = LENDER_KINDS.index(kind) if kind in LENDER_KINDS else len(LENDER_KINDS)
    return f"C{index % 10}"


def _plot_kinds(ax: Axes, runs: dict[str, RunResult], labels: list[str], kinds: Sequence[str],
                metric: str) -> None:
    """Colour = lender kind, line style = run."""
    for number, (run_label, run) in enumerate(runs.items()):
        if run.lenders.empty:
            continue
        aggregated = aggregate_lenders_by_kind(run.lenders)
        for kind in kinds:
            rows = aggregated[aggregated["kind"] == kind]
            if rows[metric].isna().all():  # e.g. a platform without an own book
                continue
            rows = rows.sort_values("quarter", key=lambda q: q.map(parse_quarter))
            name = kind if len(runs) == 1 else f"{kind} ({run_label})"
            ax.plot(_x(rows, labels), rows[metric].to_numpy(dtype=float),
                    color=_kind_color(kind), linestyle=LINESTYLES[number % len(LINESTYLES)],
                    label=name)


def lenders(runs: Runs) -> Figure:
    """Capital ratio and annual ROE by lender kind: banks on top, platforms below."""
    runs = as_runs(runs)
    labels = _quarter_labels([run.lenders for run in runs.values() if not run.lenders.empty]
                             or [run.quarterly for run in runs.values()])
    figure, axes = new_figure(2, 2)
    rows = (("banks", BANK_TYPES, "capital ÷ risk-weighted assets"),
            ("platforms", PLATFORM_KINDS, "capital ÷ own book"))
    for (group, kinds, ratio_note), (ratio_ax, roe_ax) in zip(rows, axes):
        _plot_kinds(ratio_ax, runs, labels, kinds, "capital_ratio")
        ratio_ax.set_title(f"Capital ratio, {group} (%, {ratio_note})")
        _plot_kinds(roe_ax, runs, labels, kinds, "roe_annual")
        roe_ax.set_title(f"Return on equity, {group} (% per year)")
        for ax in (ratio_ax, roe_ax):
            percent_axis(ax)
            quarter_axis(ax, labels)
        add_legend(ratio_ax)
    return figure


# ---------------------------------------------------------------- groups


def _group_rows(run: RunResult, dimension: str, metric: str) -> pd.DataFrame:
    groups = run.groups
    if groups.empty:
        return groups
    return groups[(groups["dimension"] == dimension) & (groups["metric"] == metric)]


def _group_order(dimension: str, present: set[str]) -> list[str]:
    known = [name for name in GROUP_ORDER.get(dimension, ()) if name in present]
    return known + sorted(present - set(known))


def _available_dimensions(runs: dict[str, RunResult]) -> list[str]:
    found = {str(d) for run in runs.values() if not run.groups.empty
             for d in run.groups["dimension"].unique()}
    return sorted(found)


def groups(runs: Runs, dimension: str = "size",
           metrics: Sequence[str] = ("new_loans", "approval_rate")) -> Figure:
    """Chosen metrics per group of one dimension (colour = group, line style = run)."""
    runs = as_runs(runs)
    available = _available_dimensions(runs)
    if dimension not in available:
        raise ValueError(f"no group results for dimension '{dimension}'; available: "
                         f"{', '.join(available) or 'none'}")
    group_frames = [run.groups[run.groups["dimension"] == dimension] for run in runs.values()]
    labels = _quarter_labels([frame for frame in group_frames if not frame.empty])
    figure, axes = new_figure(1, len(metrics))
    for ax, metric in zip(axes.flat, metrics):
        unit, description = GROUP_METRICS.get(metric, ("", metric))
        _plot_groups(ax, runs, labels, dimension, metric)
        ax.set_title(f"{description.capitalize()} by {dimension} "
                     f"({UNIT_LABELS.get(unit, unit)})")
        style_for_unit(ax, unit)
        quarter_axis(ax, labels)
        add_legend(ax)
    return figure


def _plot_groups(ax: Axes, runs: dict[str, RunResult], labels: list[str], dimension: str,
                 metric: str) -> None:
    frames = {label: _group_rows(run, dimension, metric) for label, run in runs.items()}
    present = {str(g) for frame in frames.values() if not frame.empty for g in frame["group"]}
    order = _group_order(dimension, present)
    for number, (run_label, frame) in enumerate(frames.items()):
        if frame.empty:
            continue
        for colour, group in enumerate(order):
            rows = frame[frame["group"].astype(str) == group]
            rows = rows.sort_values("quarter", key=lambda q: q.map(parse_quarter))
            name = group if len(runs) == 1 else f"{group} ({run_label})"
            ax.plot(_x(rows, labels), rows["value"].to_numpy(dtype=float),
                    color=f"C{colour % 10}", linestyle=LINESTYLES[number % len(LINESTYLES)],
                    label=name)


# ---------------------------------------------------------------- dashboard


def overview(runs: Runs) -> Figure:
    """A 2 × 3 dashboard: lending, online share, rates, defaults, unmet demand, bank capital."""
    runs = as_runs(runs)
    labels = _quarter_labels([run.quarterly for run in runs.values()])
    figure, axes = new_figure(2, 3, width=4.6, height=3.4)
    lending_ax, share_ax, rate_ax, default_ax, unmet_ax, capital_ax = axes.flat
    if len(runs) == 1:
        _stack_channels(lending_ax, next(iter(runs.values())), labels)
        lending_ax.set_title(f"New finance by channel ({MONEY}/q)")
        add_legend(lending_ax, loc="upper left")
    else:
        _run_lines(lending_ax, runs, labels, "new_loans")
        lending_ax.set_title(f"New debt ({MONEY} per quarter)")
        thousands_axis(lending_ax)
        add_legend(lending_ax)
    _run_lines(share_ax, runs, labels, "online_share_new", legend=False)
    share_ax.set_title("Online share of new debt (%)")
    _run_lines(rate_ax, runs, labels, "avg_rate_new", legend=False)
    _run_lines(rate_ax, runs, labels, "lpr_1y", linestyle="--", legend=False)
    rate_ax.plot([], [], color="0.3", linestyle="--", label="1y LPR")
    rate_ax.set_title("Average rate on new debt (% per year)")
    _run_lines(default_ax, runs, labels, "default_rate", legend=False)
    _run_lines(default_ax, runs, labels, "npl_ratio", linestyle="--", legend=False)
    default_ax.legend(handles=[Line2D([], [], color="0.3", label="default rate (%/yr)"),
                               Line2D([], [], color="0.3", linestyle="--", label="NPL ratio")],
                      fontsize=8)
    default_ax.set_title("Defaults and NPL ratio (%)")
    _run_lines(unmet_ax, runs, labels, "unmet_demand_share", legend=False)
    unmet_ax.set_title("Unmet share of credit demand (%)")
    _run_lines(capital_ax, runs, labels, "bank_car_mean", legend=False)
    capital_ax.set_title("Bank capital ratio, assets-weighted (%)")
    for ax in (share_ax, rate_ax, default_ax, unmet_ax, capital_ax):
        percent_axis(ax)
        quarter_axis(ax, labels)
    add_legend(rate_ax)
    figure.suptitle("SME finance" + _title_suffix(runs))
    return figure


# ---------------------------------------------------------------- files


def _standard_figures(runs: dict[str, RunResult]) -> list[tuple[str, Callable[[], Figure]]]:
    """(file stem, figure builder) for every standard figure the runs have data for."""
    figures: list[tuple[str, Callable[[], Figure]]] = [
        ("overview", lambda: overview(runs)),
        ("channel_mix", lambda: channel_mix(runs)),
        ("rates", lambda: rates(runs)),
        ("defaults", lambda: defaults(runs)),
        ("credit_gap", lambda: credit_gap(runs)),
    ]
    if any(not run.lenders.empty for run in runs.values()):
        figures.append(("lenders", lambda: lenders(runs)))
    available = _available_dimensions(runs)
    for dimension in GROUP_DIMENSIONS:
        if dimension in available:
            figures.append((f"groups_{dimension}",
                            lambda dimension=dimension: groups(runs, dimension)))
    return figures


def standard_figures(runs: Runs) -> dict[str, Figure]:
    """Every standard figure the runs have data for, by name (not saved)."""
    runs = as_runs(runs)
    return {stem: build() for stem, build in _standard_figures(runs)}


def save_standard_figures(runs: Runs, out_dir: str | Path, dpi: int = 120) -> list[Path]:
    """Write the standard figures as PNG files into ``out_dir``; return their paths."""
    runs = as_runs(runs)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for stem, build in _standard_figures(runs):
        path = out_dir / f"{stem}.png"
        build().savefig(path, dpi=dpi)
        written.append(path)
    return written


# ---------------------------------------------------------------- comparisons

_COMPARISON_FIGURES = ("difference_paths", "outcome_paths", "effect_summary")


def __getattr__(name: str):
    """Figures of paired comparisons live in :mod:`sim.plot_compare` (which imports this
    module); they are reachable here too, loaded on first use."""
    if name in _COMPARISON_FIGURES:
        from sim import plot_compare

        return getattr(plot_compare, name)
    raise AttributeError(f"module 'sim.plot' has no attribute '{name}'")
