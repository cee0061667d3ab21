"""Mesa's conventions and the results object: a model that stops at its end quarter, a
DataCollector-like view with NaN for quarters not reached, a panel of SMEs followed over
time, and a RunResult that prints, summarises and plots itself."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.errors import SimError
from sim.model import CreditMarket
from sim.quarters import parse_quarter
from sim.results import PANEL_FILE, load_run, write_run
from tests.helpers import scenario

SMALL = {"agents": 3000, "end": "2025Q2", "burn_in": 2}


@pytest.fixture(scope="module")
def finished():
    model = CreditMarket(scenario(**SMALL, run={"panel_firms": 150, "threads": 1}))
    model.run_model()
    return model


def test_run_model_stops_at_the_end_quarter(finished):
    assert finished.running is False
    assert finished.quarter == finished.end_quarter + 1
    with pytest.raises(SimError, match="ended with 2025Q2"):
        finished.step()


def test_mid_run_tables_are_nan_for_quarters_not_reached():
    model = CreditMarket(scenario(**SMALL, run={"threads": 1}))
    for _ in range(2 + 3):  # burn-in, then three reported quarters
        model.step()
    assert model.running is True
    quarterly = model.results().quarterly
    assert len(quarterly) == 6
    reached, later = quarterly.iloc[:3], quarterly.iloc[3:]
    numbers = quarterly.columns.drop("quarter")
    assert np.isfinite(reached[numbers].to_numpy(float)).all()
    assert later[numbers].isna().all().all()
    lenders = model.datacollector.get_table_dataframe("lenders")
    assert lenders.loc[lenders["quarter"] == "2025Q1", "capital"].isna().all()
    assert lenders.loc[lenders["quarter"] == "2024Q1", "capital"].notna().all()
    panel = model.datacollector.get_agent_vars_dataframe()
    assert sorted(set(panel.index.get_level_values("quarter").astype(str))) == [
        "2024Q1", "2024Q2", "2024Q3"]


def test_datacollector_frames(finished):
    collector = finished.datacollector
    model_vars = collector.get_model_vars_dataframe()
    assert isinstance(model_vars.index, pd.PeriodIndex)
    assert str(model_vars.index[0]) == "2024Q1" and str(model_vars.index[-1]) == "2025Q2"
    assert model_vars.loc["2024", "new_loans"].gt(0).all()  # a year by partial indexing
    agents = collector.get_agent_vars_dataframe()
    assert agents.index.names == ["quarter", "uid"]
    assert len(agents) == 150 * 6
    with pytest.raises(KeyError, match="lenders, groups"):
        collector.get_table_dataframe("firms")


def test_panel_follows_the_same_firms(finished):
    panel = finished.results().panel
    by_quarter = panel.groupby("quarter")["uid"].apply(tuple)
    assert by_quarter.nunique() == 1  # the same firms every quarter, in the same order
    assert panel["uid"].nunique() == 150
    # drawn when 2024Q1 begins, after the two burn-in quarters, among the open firms:
    # all entered before it, and nearly all are still open at its end
    entered = panel["uid"].to_numpy() >> 32
    assert (entered < parse_quarter("2024Q1")).all()
    assert entered.max() > 0  # burn-in entrants can be drawn too
    first = panel[panel["quarter"] == "2024Q1"]
    assert first["present"].mean() > 0.97 and first["alive"].mean() > 0.97
    assert panel.groupby("quarter")["present"].mean().is_monotonic_decreasing
    # a firm that left: not alive from then on, its values missing once its slot went
    gone = panel[~panel["present"]]
    assert gone[["cash", "debt_bank"]].isna().all().all()
    assert not gone["alive"].any()
    debts = panel[["debt_bank", "debt_online", "debt_supply_chain"]]
    assert (debts.fillna(0) >= 0).all().all() and debts.sum().sum() > 0
    from sim.categories import SECTORS

    assert set(panel["sector"].dropna()) <= set(SECTORS)


def test_panel_size_zero_keeps_none(tmp_path):
    model = CreditMarket(scenario(agents=2000, end="2024Q2", burn_in=0,
                                  run={"panel_firms": 0, "threads": 1}))
    model.run_model()
    result = model.results()
    assert result.panel.empty and "uid" in result.panel.columns
    write_run(result, tmp_path / "r")
    assert not (tmp_path / "r" / PANEL_FILE).exists()
    assert load_run(tmp_path / "r").panel.empty


def test_run_result_object(finished, tmp_path):
    result = finished.results()
    text = repr(result)
    assert len(text) < 300 and "2024Q1–2025Q2" in text and "3,000 SMEs" in text
    assert "panel 900 rows" in text
    summary = result.summary()
    assert list(summary.columns) == ["2024", "2025"]
    assert "New loans (万亿元/yr)" in summary.index
    assert summary.loc["Default rate (%/yr)"].between(0, 100).all()
    assert list(result.summary(years="ends").columns) == ["2024", "2025 (2q)"]
    figures = result.plot()
    assert "overview" in figures and figures["overview"].axes
    paths = result.plot(tmp_path / "figures")
    assert all(path.exists() for path in paths)
    write_run(result, tmp_path / "r")
    again = load_run(tmp_path / "r")
    assert isinstance(again.quarterly.index, pd.PeriodIndex)
    pd.testing.assert_frame_equal(again.panel, result.panel)
    pd.testing.assert_frame_equal(again.quarterly, result.quarterly)
