"""Informal debt that formal credit replaces, and credit lines banks offer firms that
have not borrowed (docs/ODD.md 7.25): each mechanism moves the model the way it should,
on one seed, against a run without it or with less of it."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from numba import njit

from sim import rng
from sim.bands import BASELINE_LOAN_GROWTH_BAND
from sim.categories import N_GROUPS, N_RISK_BANDS
from sim.config import load_scenario
from sim.kernels import informal as informal_kernels
from sim.kernels.layout import GM_N
from sim.kernels.params import FirmParams
from sim.population import FIRM_DTYPE
from sim.reference import informal as ref_informal
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


@njit(cache=False)
def _offers_taken(firms, fp, group_acc, key_offer, key_target):
    taken = 0
    for i in range(firms.shape[0]):
        if informal_kernels.take_offer(firms[i], np.int64(i), 0, fp, fp.bank_rate_band,
                                       fp.debt_target, group_acc, key_offer, key_target):
            taken += 1
    return taken


def _offer_params(bank_rate_band: np.ndarray) -> FirmParams:
    fields = dict.fromkeys(FirmParams._fields, 0.0)
    fields.update(seed=7, quarter=3, offer_prob=1.0, offer_min_digital=0.5,
                  reservation_rate=0.08, informal_rate=0.18, debt_target_sd=0.35,
                  debt_target=np.array([0.5, 0.8, 1.0]), bank_rate_band=bank_rate_band)
    return FirmParams(**fields)


def _non_borrowers(n: int) -> np.ndarray:
    firms = np.zeros(n, dtype=FIRM_DTYPE)
    firms["quality"] = np.random.default_rng(3).normal(size=n)
    firms["size"] = 1
    firms["digital"] = 0.6
    firms["informal_debt"][: n // 4] = 10.0   # a quarter owe informal debt
    return firms


def _taken(engine: str, fp: FirmParams, firms: np.ndarray) -> int:
    if engine == "numba":
        acc = np.zeros((1, N_GROUPS, 3, GM_N))
        return _offers_taken(firms, fp, acc, rng.stream_key(fp.seed, rng.S_OFFER, fp.quarter),
                             rng.stream_key(fp.seed, rng.S_OFFER_TARGET, 0))
    taken = 0
    with np.errstate(over="ignore"):   # the hash's uint64 products wrap by design
        for i, record in enumerate(firms):
            firm = SimpleNamespace(
                bureau=False, history=0, digital=float(record["digital"]), uid=i,
                informal_debt=float(record["informal_debt"]), quality=float(record["quality"]),
                size=1, debt_target=0.0, _to_groups=lambda *args: None)
            taken += ref_informal.take_offer(firm, fp)
    return taken


def test_a_lower_bank_rate_converts_more_non_borrowers():
    """Every visible non-borrower is offered a line; it takes it where the bank rate it
    expects for its risk band is below its reservation rate (8%, or the 18% informal rate
    if it owes informal debt). With bank rates 2pp lower across the bands (a benchmark
    cut passed on), more take it, in both engines alike."""
    riskiest_to_safest = np.linspace(0.14, 0.04, N_RISK_BANDS)
    counts = {}
    for engine in ("numba", "reference"):
        counts[engine] = [_taken(engine, _offer_params(bands), _non_borrowers(4_000))
                          for bands in (riskiest_to_safest, riskiest_to_safest - 0.02)]
    assert counts["numba"] == counts["reference"]
    kept, cut = counts["numba"]
    assert 0 < kept < cut < 4_000


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
        low, high = BASELINE_LOAN_GROWTH_BAND
        assert low <= growth <= high, f"{column}: {growth:.2%} a year"
