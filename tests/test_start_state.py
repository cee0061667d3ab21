"""The start-year state: 2016Q1–2019Q1 starts are built from the year-end facts of the
year before (sim/start_state.py), 2019Q2–2023Q4 starts are refused, 2024Q1 is untouched.

The 2019Q1 run is checked against the end-2018 facts it was built from: bank SME loans
(PBoC inclusive measure, 8.0万亿), firms with a bank loan (18.15m), the bank new-loan
rate (7.40% for 2018, 7.02% in 2018Q4) and the inclusive NPL ratio (≈4.2%); so is the
history file's first quarter, whose own 2019 policy acts from the start.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sim import start_state
from sim.config import ScenarioError, load_scenario
from sim.model import CreditMarket

REPO_ROOT = Path(__file__).resolve().parents[1]
BASELINE = REPO_ROOT / "scenarios" / "baseline.toml"
HISTORY = REPO_ROOT / "scenarios" / "history_2019_2025.toml"


def _scenario(start: str, end: str | None = None, agents: int = 30_000):
    return load_scenario(BASELINE, start=start, end=end or start, agents=agents, threads=1)


# ------------------------------------------------------------------ facts and mapping
def test_facts_ship_with_the_package_and_end_with_2018():
    facts = start_state.load_facts()
    assert facts.records and max(r["year"] for r in facts.records) <= 2018
    assert start_state.FACTS_PATH.is_file()
    text = (REPO_ROOT / "pyproject.toml").read_text()
    assert "[tool.setuptools.package-data]" in text and "data/*.toml" in text


def test_end_2018_state_is_the_facts():
    state = start_state.year_end_state(2018)
    assert state["bank_sme_loans_yi"]["value"] == pytest.approx(80_000.0)
    assert state["bank_borrowers"]["value"] == pytest.approx(18.15e6)
    assert state["bank_rate_new"]["value"] == pytest.approx(0.074)
    assert state["policy_rate"]["value"] == pytest.approx(0.0435)
    assert state["sme_npl_ratio"]["value"] == pytest.approx(0.042)
    for entry in state.values():  # every value names the facts (or method) behind it
        assert entry["method"]


def test_interpolation_between_dated_facts():
    facts = start_state.Facts([
        {"quantity": "x", "year": 2016, "value": 100.0, "date": "2016-12-31"},
        {"quantity": "x", "year": 2018, "value": 400.0, "date": "2018-12-31"},
    ])
    mid = facts.at_year_end("x", 2017)
    assert mid["value"] == pytest.approx(200.0, rel=1e-3)  # log-linear
    assert "interpolated" in mid["method"] and len(mid["facts"]) == 2
    assert facts.at_year_end("x", 2018)["method"] == "as recorded"
    assert facts.at_year_end("x", 2015)["value"] == pytest.approx(50.0, rel=1e-2)


@pytest.mark.parametrize("start,year", [("2016Q1", 2015), ("2017Q1", 2016),
                                        ("2018Q1", 2017), ("2019Q1", 2018),
                                        ("2017Q3", 2016)])
def test_start_builds_from_the_year_before(start, year):
    scenario = _scenario(start)
    built, record = start_state.apply(scenario)
    assert record["facts_year"] == year
    assert record["targets_first_quarter"]["loan_balance_bank"] == pytest.approx(
        start_state.year_end_state(year)["bank_sme_loans_yi"]["value"])
    assert built.policy.central_bank.lpr_1y_annual == pytest.approx(0.0435)
    assert built.policy.banking.two_increases == (year >= 2018)
    assert scenario.policy.central_bank.lpr_1y_annual == pytest.approx(0.0345)  # a copy
    changed = {p["parameter"] for p in record["parameters"]}
    assert {"population.represented.individual", "firms.borrowing_propensity",
            "population.revenue_median.small", "policy.central_bank.rrr"} <= changed


def test_2024_start_is_untouched():
    scenario = _scenario("2024Q1")
    assert not start_state.applies("2024Q1") and not start_state.applies("2031Q1")
    model = CreditMarket(scenario)
    assert model.start_state is None
    assert model.params.model_dump() == scenario.model_dump()
    assert "start_state" not in model.metadata()


# ------------------------------------------------------------------ refused starts
@pytest.mark.parametrize("start", ["2019Q2", "2020Q3", "2023Q4"])
def test_starts_2019q2_to_2023q4_are_refused(start):
    with pytest.raises(ScenarioError) as err:
        _scenario(start)
    message = str(err.value)
    assert "run.start" in message and "2016Q1–2019Q1" in message and "2024Q1" in message


@pytest.mark.parametrize("command", ["validate", "run"])
def test_refused_start_exits_2(tmp_path, command):
    path = tmp_path / "s.toml"
    path.write_text(f'extends = "{BASELINE.as_posix()}"\n[run]\nstart = "2020Q3"\n'
                    'end = "2021Q4"\n')
    args = [command, str(path)] + (["--out", str(tmp_path / "out")] if command == "run"
                                   else [])
    done = subprocess.run([sys.executable, "-m", "sim", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.startswith("error:") and "run.start" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "out").exists()


# ------------------------------------------------------------------ the runs
@pytest.fixture(scope="module")
def run_2019():
    # 100,000 agents: at 30,000 the first quarter's bank loans move by ±4% with the seed
    model = CreditMarket(_scenario("2019Q1", "2019Q4", agents=100_000))
    model.run_all()
    return model.results()


def _first(run, column):
    return float(run.quarterly[column].iloc[0])


def test_2019q1_reports_the_end_2018_facts(run_2019):
    targets = run_2019.meta["start_state"]["targets_first_quarter"]
    assert run_2019.meta["start_state"]["facts_year"] == 2018
    assert _first(run_2019, "loan_balance_bank") == pytest.approx(80_000.0, rel=0.10)
    assert _first(run_2019, "borrowers_bank") == pytest.approx(18.15e6, rel=0.10)
    assert targets["borrowers_bank"] == pytest.approx(18.15e6)
    assert _first(run_2019, "avg_rate_new_bank") == pytest.approx(0.074, rel=0.10)
    assert _first(run_2019, "sme_alive") == pytest.approx(targets["sme_alive"], rel=0.10)


def _history_first_quarter(agents: int):
    """The history file's first reported quarter: its own 2019 policy acts from the start
    (the large banks' growth target, the cost target, the January RRR cuts)."""
    model = CreditMarket(load_scenario(HISTORY, agents=agents))
    while model.quarter <= model.start_quarter:
        model.step()
    return model.results()


def test_history_run_reports_the_end_2018_facts():
    """The starting state carries the end-2018 online rules and non-bank lenders (P2P
    platforms, small-loan companies), so the history run starts where the facts are, as
    the baseline's 2019Q1 start does. Measured at 200,000 SMEs: bank loans 8.18万亿,
    16.9m bank borrowers, 7.26%; before the non-banks and rules entered the reference and
    lenders' product ceilings the online per-firm limit, 6.65万亿, 25.1m and 53% of new
    lending online."""
    run = _history_first_quarter(100_000)
    assert _first(run, "loan_balance_bank") == pytest.approx(80_000.0, rel=0.10)
    assert _first(run, "borrowers_bank") == pytest.approx(18.15e6, rel=0.10)
    assert _first(run, "avg_rate_new_bank") == pytest.approx(0.074, rel=0.10)
    assert _first(run, "loan_balance_p2p") > 0.0


@pytest.mark.slow
@pytest.mark.parametrize("which", ["baseline", "history"])
def test_2019q1_npl_within_ten_percent_at_200000_agents(which):
    """The issue's scale: at 30,000 agents the first quarter's bank NPL ratio is sampling
    noise of the few defaults behind it; at 200,000 it still moves by ±5% with the seed.
    Measured: 4.45% (baseline) and 4.34% (history) against 4.2%, and 4.24% and 4.23% on
    average over four seeds (banks' pre-2019 write-off pace,
    credit.writeoff_quarters_before_2019)."""
    if which == "history":
        run = _history_first_quarter(200_000)
    else:
        model = CreditMarket(load_scenario(BASELINE, start="2019Q1", end="2019Q1",
                                           agents=200_000))
        model.run_all()
        run = model.results()
    assert _first(run, "npl_ratio_bank") == pytest.approx(0.042, rel=0.10)


def test_2019_first_year_has_no_jumps(run_2019):
    q = run_2019.quarterly
    for column in ("loan_balance_bank", "loan_balance", "borrowers_bank", "sme_alive"):
        values = q[column].to_numpy()
        steps = abs(values[1:] / values[:-1] - 1.0)
        assert steps.max() <= 0.05, (column, steps)


@pytest.mark.parametrize("start", ["2016Q1", "2017Q1", "2018Q1"])
def test_earlier_starts_run(start):
    model = CreditMarket(_scenario(start, agents=20_000))
    model.run_all()
    run = model.results()
    year = int(start[:4]) - 1
    assert run.meta["start_state"]["facts_year"] == year
    target = run.meta["start_state"]["targets_first_quarter"]
    # measured at 20,000 agents: loans 5–13% and borrowers 10–14% below the facts (2017Q1
    # the furthest; docs/ODD.md, Initialisation)
    assert _first(run, "loan_balance_bank") == pytest.approx(target["loan_balance_bank"],
                                                             rel=0.2)
    assert _first(run, "borrowers_bank") == pytest.approx(target["borrowers_bank"], rel=0.15)


@pytest.mark.slow
def test_the_reference_is_measured_on_the_current_calibration():
    """start_state.REFERENCE is what ``python -m sim.start_reference`` measures now: a
    calibration change that moves it fails here until it is re-measured."""
    from sim.start_reference import measure
    from sim.start_state import REFERENCE

    measured = measure()
    for key, value in REFERENCE.items():
        # On a processor that rounds a few operations differently in the last bit (numpy
        # and LLVM pick code paths by processor) the runs take a few other decisions. On
        # an AMD Zen 3 against the machine that measured REFERENCE, the levels moved by
        # 0.01-0.08%, the rate stored to 4 decimals landed on the next step (0.0486
        # against 0.0485), and the elasticities, which divide the difference of two runs,
        # by 0.3%. A calibration change moves them by more.
        rel = 0.01 if key.endswith("_elasticity") else 1e-3
        step = 1e-4 if key == "avg_rate_new_bank" else 0.0
        assert measured[key] == pytest.approx(value, rel=rel, abs=step), key
