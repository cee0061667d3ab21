"""Informal debt that formal credit replaces, and credit lines banks offer firms that
have not borrowed (docs/ODD.md 7.25): each mechanism moves the model the way it should,
on one seed, against a run without it or with less of it."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.config import load_scenario
from sim.model import run
from sim.schema import Change

BASELINE = Path(__file__).resolve().parent.parent / "scenarios" / "baseline.toml"
AGENTS = 30_000


def _run(end: str = "2026Q4", agents: int = AGENTS, edit=None):
    scenario = load_scenario(BASELINE, agents=agents, end=end, threads=1)
    if edit is not None:
        edit(scenario)
    return run(scenario).quarterly.set_index("quarter")


@pytest.fixture(scope="module")
def baseline():
    return _run()


def test_informal_debt_falls_as_formal_credit_replaces_it(baseline):
    stock = baseline["informal_debt"]
    assert stock.iloc[-1] < stock.iloc[0]
    assert baseline["informal_refinanced"].sum() > 0


def test_a_rate_cut_converts_more_non_borrowers():
    """Banks offer every visible non-borrower a line each quarter (outreach saturated, so
    banks' room does not enter) and firms take it below a reservation rate where riskier
    firms' bank rates lie: after a cut of the benchmark rate, more of them take it."""
    def saturated(scenario):
        scenario.credit.outreach.scale = 100.0
        scenario.credit.outreach.reservation_rate_annual = 0.045

    def cut(scenario):
        saturated(scenario)
        scenario.change.append(Change.model_validate(
            {"at": "2024Q1", "set": {"central_bank.lpr_1y_annual": 0.0245}}))

    kept, cut_run = _run(edit=saturated), _run(edit=cut)
    assert cut_run["credit_lines_offered"].sum() > kept["credit_lines_offered"].sum()


def test_more_outreach_gives_more_bank_borrowers(baseline):
    """Outreach off, at its default, and scaled up by banks' room (``scale``) or by
    guidance pressure (``guidance_factor``)."""
    def outreach(**values):
        def edit(scenario):
            for name, value in values.items():
                setattr(scenario.credit.outreach, name, value)
        return edit

    none = _run(edit=outreach(scale=0.0))
    room = _run(edit=outreach(scale=0.2))
    # guidance pressure, where banks' room alone reaches few firms
    unpushed = _run(edit=outreach(scale=0.01, guidance_factor=0.0))
    pushed = _run(edit=outreach(scale=0.01, guidance_factor=50.0))
    assert none["credit_lines_offered"].sum() == 0
    end = "2026Q4"
    assert none.loc[end, "borrowers_bank"] < baseline.loc[end, "borrowers_bank"] \
        < room.loc[end, "borrowers_bank"]
    assert pushed["credit_lines_offered"].sum() > unpushed["credit_lines_offered"].sum()
    assert pushed.loc[end, "borrowers_bank"] > unpushed.loc[end, "borrowers_bank"]


def test_a_credit_crunch_raises_informal_debt(baseline):
    """A capital requirement raised in 2025Q1 cuts banks' room: fewer formal loans to
    refinance informal debt with, and the stock grows where the baseline's shrinks."""
    def crunch(scenario):
        scenario.change.append(Change.model_validate(
            {"at": "2025Q1", "set": {"banking.min_car": 0.125}}))

    crunched = _run(edit=crunch)
    window = slice("2025Q1", "2026Q4")
    assert crunched.loc[window, "informal_refinanced"].sum() < \
        baseline.loc[window, "informal_refinanced"].sum()
    assert crunched.loc["2026Q4", "informal_debt"] > crunched.loc["2024Q4", "informal_debt"]
    assert crunched.loc["2026Q4", "informal_debt"] > baseline.loc["2026Q4", "informal_debt"]


def test_baseline_bank_credit_grows_6_to_12_percent_a_year():
    """2024Q4 to 2030Q4 at 200,000 SMEs, seed 20240101 (the scenario's)."""
    q = _run(end="2030Q4", agents=200_000)
    for column in ("loan_balance", "loan_balance_bank"):
        growth = (q.loc["2030Q4", column] / q.loc["2024Q4", column]) ** (1 / 6) - 1
        assert 0.06 <= growth <= 0.12, f"{column}: {growth:.2%} a year"
