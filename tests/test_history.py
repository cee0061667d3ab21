"""The history run (scenarios/history_*.toml): 2019Q1-2025Q4 from the end-2018 facts under
the real policy path.

* every history file validates and sets only what a history file may (sim/history.py);
  a file that sets a behavioural parameter is refused with a message naming the key;
* the per-firm online cap of the 2020-11 rules is written in the run's money unit;
* the history run starts from the end-2018 facts (run.json records them) and runs;
* no quarter of the three history files has a default rate above 15% a year or a fall of
  new lending above 50% quarter on quarter (measured at 10,000 agents).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sim import start_state
from sim.config import load_scenario
from sim.history import HISTORY_KEYS, HistoryError, allowed, check_history
from sim.model import CreditMarket
from sim.quarters import parse_quarter
from tests.helpers import extreme_quarters

REPO_ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = REPO_ROOT / "scenarios"
HISTORY = SCENARIOS / "history_2019_2025.toml"
HISTORY_FILES = sorted(SCENARIOS.glob("history_*.toml"))
AGENTS = 10_000


def test_three_history_files_ship():
    assert {p.name for p in HISTORY_FILES} >= {"history_2019_2025.toml",
                                               "history_no_deferral.toml",
                                               "history_no_online_rules.toml"}


@pytest.mark.parametrize("path", HISTORY_FILES, ids=lambda p: p.stem)
def test_history_files_validate_and_set_only_history_keys(path):
    scenario = load_scenario(path)
    assert (scenario.run.start, scenario.run.end) == ("2019Q1", "2025Q4")
    check_history(path)


def test_history_keys_exclude_behaviour():
    assert allowed("policy.central_bank.lpr_1y_annual")
    assert allowed("platforms.p2p.count") and allowed("macro.gdp_growth_annual")
    for key in ("firms.borrowing_propensity", "credit.rate_sensitivity",
                "banks.rural.margin_annual", "policy.banking.target_pressure",
                "policy.central_bank.funding_beta", "platforms.p2p.margin_annual",
                "run.burn_in_quarters"):
        assert not allowed(key), key
    assert len(set(HISTORY_KEYS)) == len(HISTORY_KEYS)


def test_behavioural_key_in_a_history_file_is_refused(tmp_path):
    crafted = tmp_path / "history_crafted.toml"
    crafted.write_text(
        f'extends = "{HISTORY.as_posix()}"\n'
        '[firms]\nborrowing_propensity = 0.9\n'
        '[[change]]\nat = "2020Q1"\nset = { "banking.target_pressure" = 3.0 }\n')
    load_scenario(crafted)  # a valid scenario ...
    with pytest.raises(HistoryError) as refused:  # ... but not a history file
        check_history(crafted)
    message = str(refused.value)
    assert "firms.borrowing_propensity" in message and "banking.target_pressure" in message
    done = subprocess.run([sys.executable, "-m", "sim", "validate", str(crafted)],
                          capture_output=True, text=True, cwd=REPO_ROOT)
    assert done.returncode == 2 and "firms.borrowing_propensity" in done.stderr


def test_per_firm_cap_is_in_the_run_money_unit():
    """The 2020-11 rule (1,000,000 yuan per firm) is written as the start state scales the
    default cap (100万元): the file's value must match it."""
    scenario = load_scenario(HISTORY)
    base = load_scenario(SCENARIOS / "baseline.toml", start="2019Q1", end="2019Q1")
    built, record = start_state.apply(base)
    # the money unit's scaling, before the start state lifts the cap to the pre-2020 rules
    scaled = next(p["value"] for p in record["parameters"]
                  if p["parameter"] == "policy.banking.online_per_firm_cap_wan")
    assert scaled == pytest.approx(base.policy.banking.online_per_firm_cap_wan
                                   * built.population.revenue_median.micro
                                   / base.population.revenue_median.micro)
    assert built.policy.banking.online_per_firm_cap_wan >= 1e5   # no cap before 2020-11
    values = [c.set["banking.online_per_firm_cap_wan"] for c in scenario.change
              if c.set and c.set.get("banking.online_per_firm_cap_wan", 1e9) < 1e5]
    assert values and values[0] == pytest.approx(scaled, rel=1e-4)


def test_history_run_starts_from_the_2018_facts():
    scenario = load_scenario(HISTORY, agents=AGENTS, threads=1)
    model = CreditMarket(scenario, check=True)
    while model.quarter < parse_quarter("2019Q3"):  # burn-in and two reported quarters
        model.step()
    meta = model.metadata()
    assert meta["start_state"]["facts_year"] == 2018
    assert meta["start_state"]["targets_first_quarter"]["loan_balance_bank"] == \
        pytest.approx(80_000.0)
    # the P2P agents lend investors' money at its end-2018 size (not rescaled)
    p2p = [p for p in model.platforms if p.kind == "p2p"]
    assert len(p2p) == 6 and sum(p.active for p in p2p) == 4  # 2019Q2 schedule
    # small-loan companies: the capital behind their end-2018 loans (9,550亿 × 8,360 ÷
    # 9,550 over 6 agents)
    assert model.params.platforms.small_loan.net_assets_yi == pytest.approx(8360.0 / 6)


@pytest.fixture(scope="module")
def history_runs():
    runs = {}
    for path in HISTORY_FILES:
        model = CreditMarket(load_scenario(path, agents=AGENTS, threads=1))
        model.run_all()
        runs[path.stem] = model.results().quarterly
    return runs


def test_no_quarter_defaults_above_15_percent_or_lending_falls_by_half(history_runs):
    for name, q in history_runs.items():
        assert extreme_quarters(q) == [], name


def test_p2p_gone_by_2020q4(history_runs):
    q = history_runs["history_2019_2025"].set_index("quarter")
    assert q.loc["2019Q1", "loan_balance_p2p"] > 0
    assert q.loc["2020Q4":, "loan_balance_p2p"].abs().max() == 0.0


def test_firm_entry_follows_a_national_yearly_count():
    """``macro.firm_entry_yearly`` (the history run's SAMR counts) sets the entrants of each
    quarter to a quarter of the national count, whatever the live firms; back at 0 the
    rate ``population.entry_rate_quarterly`` applies again."""
    from sim.config import scenario_from_dict

    raw = {"run": {"agents": 10_000, "burn_in_quarters": 2, "start": "2024Q1",
                   "end": "2025Q4"},
           "change": [{"at": "2024Q3", "set": {"macro.firm_entry_yearly": 30.0e6}},
                      {"at": "2025Q3", "set": {"macro.firm_entry_yearly": 0.0}}]}
    model = CreditMarket(scenario_from_dict(raw, "entry"))
    model.run_all()
    q = model.results().quarterly.set_index("quarter")
    counted = q.loc["2024Q3":"2025Q2", "sme_entries"]
    assert counted.to_numpy() == pytest.approx(30.0e6 / 4, rel=0.02)
    rate = model.params.population.entry_rate_quarterly
    # after the count ends: the rate on the live firms of the quarter before entry
    alive_before = q["sme_alive"].shift(1)
    by_rate = q.loc["2025Q3":, "sme_entries"] / alive_before.loc["2025Q3":]
    assert by_rate.to_numpy() == pytest.approx(rate, rel=0.1)
    assert counted.mean() > 1.2 * q.loc["2024Q1":"2024Q2", "sme_entries"].mean()
