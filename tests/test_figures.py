"""Figures for a slide, drawn from small real runs: quarter axes, labels in words with
units, legends outside the data, labels from --label or the scenario's name, replicate
bands, the minimum y span, svg and pdf files, the one-page report and the units of
``sim compare``'s tables."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure

import sim
from sim import cli, plot
from sim.cli.plot import labelled_runs
from sim.columns import GROUP_METRICS, LENDER_COLUMNS, QUARTERLY_COLUMNS
from sim.compare import compare_scenarios, load_window, with_units, write_comparison
from sim.config import find_scenario
from sim.plot_compare import comparison_figures, effect_summary
from sim.plot_labels import min_span
from sim.plot_report import report_figure, save_report
from sim.results import RunResult, write_run

SMALL = {"agents": 2000, "end": "2024Q4", "burn_in_quarters": 0, "threads": 1}
RAW_NAMES = {name for table in (QUARTERLY_COLUMNS, GROUP_METRICS, LENDER_COLUMNS)
             for name in table if "_" in name}
QUARTER_OR_YEAR = re.compile(r"^\d{4}(Q[1-4])?$")
UNIT_IN_PARENTHESES = re.compile(r"\(([^()]*(%|percentage points|yuan|firms|index|"
                                 r"lenders|number)[^()]*)\)\s*$", re.S)


def _run(name: str, seed: int | None = None) -> RunResult:
    return sim.run(load_window(find_scenario(name), **SMALL, seed=seed))


@pytest.fixture(scope="module")
def runs() -> dict[str, RunResult]:
    return {"base": _run("baseline"), "base2": _run("baseline", seed=11),
            "cut": _run("rate_cut")}


# ---------------------------------------------------------------- checks


def drawn(figure: Figure) -> Figure:
    FigureCanvasAgg(figure)
    figure.canvas.draw()
    return figure


def texts(figure: Figure) -> list[str]:
    """Every title, axis label, tick-free legend text and the suptitle."""
    found = [figure._suptitle.get_text()] if figure._suptitle else []
    legends = list(figure.legends) + [ax.get_legend() for ax in figure.axes if ax.get_legend()]
    for legend in legends:
        found += [t.get_text() for t in legend.get_texts()] + [legend.get_title().get_text()]
    for ax in figure.axes:
        found += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
    return [t for t in found if t]


def check_slide_ready(figure: Figure, time_axes: bool = True) -> None:
    drawn(figure)
    visible = [ax for ax in figure.axes if ax.get_visible()]
    for text in texts(figure):
        raw = set(re.findall(r"[a-z0-9]+(?:_[a-z0-9]+)+", text)) & RAW_NAMES
        assert not raw, f"raw column name {raw} in {text!r}"
    for ax in visible:
        if ax.get_ylabel():
            assert UNIT_IN_PARENTHESES.search(ax.get_ylabel()), ax.get_ylabel()
        if time_axes:
            ticks = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
            assert ticks and all(QUARTER_OR_YEAR.match(t) for t in ticks), ticks
    boxes = [ax.get_window_extent() for ax in visible]
    legends = list(figure.legends) + [ax.get_legend() for ax in visible if ax.get_legend()]
    for legend in legends:
        box = legend.get_window_extent()
        for axes_box in boxes:
            width = min(box.x1, axes_box.x1) - max(box.x0, axes_box.x0)
            height = min(box.y1, axes_box.y1) - max(box.y0, axes_box.y0)
            assert width <= 1 or height <= 1, "a legend covers the data"


def legend_texts(figure: Figure) -> str:
    legends = list(figure.legends) + [ax.get_legend() for ax in figure.axes if ax.get_legend()]
    return " | ".join(t.get_text() for legend in legends for t in legend.get_texts())


# ---------------------------------------------------------------- standard figures


@pytest.mark.parametrize("several", [False, True])
def test_every_standard_figure_is_ready_for_a_slide(runs, several):
    chosen = ({"baseline": [runs["base"], runs["base2"]], "rate cut": runs["cut"]}
              if several else runs["base"])
    figures = plot.standard_figures(chosen)
    assert {"overview", "channel_mix", "rates", "defaults", "credit_gap", "lenders",
            "groups_size"} <= set(figures)
    for name, figure in figures.items():
        check_slide_ready(figure)
        if several:
            assert "rate cut" in legend_texts(figure) + figure._suptitle.get_text(), name


def test_two_runs_overview_has_quarters_on_every_panel(runs):
    figure = drawn(plot.overview([runs["base"], runs["cut"]]))
    for ax in figure.axes:
        ticks = [t.get_text() for t in ax.get_xticklabels()]
        assert ticks[0] == "2024Q1" and ticks[-1] == "2024Q4"


def test_scenario_names_label_runs_and_replicates_make_bands(runs):
    figure = plot.overview([runs["base"], runs["base2"], runs["cut"]])
    legend = legend_texts(figure)
    assert "baseline" in legend and "rate_cut" in legend
    share = figure.axes[1]
    assert any(isinstance(c, PolyCollection) for c in share.collections)  # the band
    assert "range of runs" in figure.legends[0].get_title().get_text()


def test_a_flat_series_is_not_drawn_as_a_cliff(runs):
    flat = runs["base"].quarterly.copy()
    flat["avg_rate_new"] = 0.05 + np.array([0, 0.0001, -0.0001, 0])  # a 0.01 pp wiggle
    flat["new_loans"] = 80_000.0
    flat_run = RunResult(quarterly=flat, groups=runs["base"].groups,
                         lenders=runs["base"].lenders, meta={"name": "flat"})
    figure = drawn(plot.overview({"flat": flat_run, "other": flat_run}))
    lending, rate = figure.axes[0], figure.axes[2]
    low, high = rate.get_ylim()
    assert high - low >= 1.0 - 1e-9  # ±0.5 pp at least
    low, high = lending.get_ylim()
    assert high - low >= 0.04 * 8.0 - 1e-9  # ±2% of 8 trillion yuan
    assert min_span(3.0, 3.0, "percent") == (2.5, 3.5)
    assert min_span(0.1, 0.1, "percent") == (0.0, 1.0)  # never below zero
    assert min_span(100.0, 100.0, "amount") == (98.0, 102.0)
    assert min_span(1.0, 9.0, "percent") == (1.0, 9.0)  # wide enough already


def test_labels_come_from_options_else_the_scenario_name(runs, tmp_path, capsys):
    first = write_run(runs["base"], tmp_path / "folder-one")
    second = write_run(runs["cut"], tmp_path / "folder-two")
    named = labelled_runs([first, second], None)
    assert list(named) == ["baseline", "rate_cut"]
    labelled = labelled_runs([first, second], ["Today", "LPR cut"])
    legend = legend_texts(plot.overview(labelled))
    assert "Today" in legend and "LPR cut" in legend and "folder" not in legend
    out = tmp_path / "figs"
    assert cli.main(["plot", str(first), str(second), "--label", "Today", "--label",
                     "LPR cut", "--format", "png,svg,pdf", "--report", "--out",
                     str(out)]) == 0
    assert (out / "overview.svg").read_text(encoding="utf-8").lstrip().startswith("<?xml")
    assert (out / "rates.pdf").read_bytes()[:5] == b"%PDF-"
    assert (out / "overview.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "report.pdf").is_file()
    capsys.readouterr()
    assert cli.main(["plot", str(first), str(second), "--label", "one"]) == 2
    assert "--label given 1 time(s) for 2 label(s)" in capsys.readouterr().err
    assert cli.main(["plot", str(first), "--format", "gif"]) == 2
    assert "gif" in capsys.readouterr().err


def test_save_standard_figures_formats_and_dpi(runs, tmp_path):
    paths = plot.save_standard_figures(runs["base"], tmp_path, formats=("pdf",), dpi=72)
    assert {p.suffix for p in paths} == {".pdf"}
    paths = runs["base"].plot(tmp_path / "api", formats="png", dpi=50, report=True)
    assert paths[-1].name == "report.pdf" and paths[0].suffix == ".png"
    with pytest.raises(ValueError, match="unknown figure format jpg"):
        plot.save_standard_figures(runs["base"], tmp_path, formats="jpg")


# ---------------------------------------------------------------- the report


def test_the_report_is_one_page_with_the_headline_table(runs, tmp_path):
    figure = report_figure(runs["base"])
    check_slide_ready(figure, time_axes=False)
    table_ax = figure.axes[0]
    cells = [cell.get_text().get_text() for cell in table_ax.tables[0].get_celld().values()]
    assert "2024" in cells and any("Online share of new lending (%)" in c for c in cells)
    assert not any("亿" in c or "万" in c for c in cells)  # spelled out for any font
    path = save_report({"baseline": [runs["base"], runs["base2"]]}, tmp_path / "r.pdf")
    data = path.read_bytes()
    assert data[:5] == b"%PDF-"
    assert data.count(b"/Type /Page") - data.count(b"/Type /Pages") == 1


# ---------------------------------------------------------------- comparisons


@pytest.fixture(scope="module")
def comparison():
    base = load_window(find_scenario("baseline"), **SMALL)
    other = load_window(find_scenario("rate_cut"), **SMALL)
    return compare_scenarios(base, other, reps=2, outcomes=("new_loans", "avg_rate_new",
                                                            "online_share_new",
                                                            "approval_rate",
                                                            "unmet_demand_share",
                                                            "default_rate",
                                                            "first_time_borrowers"))


def test_comparison_figures_are_ready_for_a_slide(comparison):
    for figure in comparison_figures(comparison).values():
        check_slide_ready(figure)
    differences = drawn(plot.difference_paths(comparison, ["avg_rate_new"]))
    assert "percentage points" in differences.axes[0].get_ylabel()
    summary = drawn(effect_summary({"rate cut": comparison}, "avg_rate_new"))
    check_slide_ready(summary, time_axes=False)
    assert "(percentage points)" in summary.axes[0].get_xlabel()


def test_a_comparison_keeps_its_replicates_for_sim_plot(comparison, tmp_path, capsys):
    out = write_comparison(comparison, tmp_path / "cmp")
    runs = labelled_runs([out], None)
    assert list(runs) == ["baseline", "rate_cut"]
    assert [len(group) for group in runs.values()] == [2, 2]
    for kept, quarterly in zip(runs["rate_cut"], comparison.other):
        np.testing.assert_array_equal(kept.quarterly["new_loans"].to_numpy(),
                                      quarterly["new_loans"].to_numpy())
    assert cli.main(["plot", str(out)]) == 0
    assert (out / "figures" / "overview.png").is_file()
    figure = plot.overview(runs)
    assert any(isinstance(c, PolyCollection) for c in figure.axes[1].collections)


def test_comparison_tables_carry_units(comparison):
    raw = comparison.summary().set_index("outcome")
    shown = with_units(comparison.summary()).set_index("outcome")
    rate = shown.loc["avg_rate_new"]
    assert rate["unit"] == "% per year" and rate["diff_unit"] == "percentage points"
    assert rate["diff"] == pytest.approx(100 * raw.loc["avg_rate_new", "diff"])
    assert rate["t"] == pytest.approx(raw.loc["avg_rate_new", "t"])
    assert shown.loc["new_loans", "unit"] == "亿元 per quarter"
    assert shown.loc["new_loans", "base"] == pytest.approx(raw.loc["new_loans", "base"])
    table = comparison.table()
    assert "% per year" in table and " pp" in table
    differences = with_units(comparison.differences())
    assert {"label", "unit", "diff_unit"} <= set(differences.columns)
    assert isinstance(differences, pd.DataFrame)


def test_every_column_has_its_words_in_the_figures():
    """The figures' labels are keyed by the column names of sim/columns.py: a column
    added there without its words here would be drawn under a made-up label."""
    from sim.columns import GROUP_METRICS, LENDER_COLUMNS, QUARTERLY_COLUMNS
    from sim.plot_labels import FLOWS, GROUP_LABELS, LENDER_LABELS, QUARTERLY_LABELS

    assert set(QUARTERLY_LABELS) == set(QUARTERLY_COLUMNS) - {"quarter"}
    assert set(GROUP_LABELS) == set(GROUP_METRICS)
    assert set(LENDER_LABELS) <= set(LENDER_COLUMNS)
    assert FLOWS <= set(QUARTERLY_COLUMNS) | set(GROUP_METRICS)
