"""Licensed digital banks (ODD 2, sim/agents/digital.py; scenarios/digital_banks.toml).

* none in the 2024 baseline, so no lender index moves;
* direction (20,000 SMEs, one seed): adding them raises online lending; they lend
  through the online channel with a bank's funding and capital rules; their loans count
  as online lending, and as bank lending in the PBoC share.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.agents.digital import DigitalBank
from sim.categories import CH_ONLINE, KIND_ONLINE
from sim.config import load_scenario
from sim.model import CreditMarket

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
AGENTS = 20_000


def _run(name):
    model = CreditMarket(load_scenario(SCENARIOS / name, agents=AGENTS, threads=1,
                                       end="2026Q4"))
    model.run_all()
    return model, model.results()


@pytest.fixture(scope="module")
def runs():
    return _run("baseline.toml"), _run("digital_banks.toml")


def test_none_in_the_baseline(runs):
    (base, result), _ = runs
    assert not any(isinstance(l, DigitalBank) for l in base.lenders)
    assert result.quarterly["loan_balance_digital_bank"].abs().max() == 0.0
    q = result.quarterly
    assert (q["online_share_balance_pboc"] == q["online_share_balance"]).all()


def test_digital_banks_lend_online_as_banks(runs):
    (base, base_result), (model, result) = runs
    digital = [l for l in model.lenders if isinstance(l, DigitalBank)]
    assert len(digital) == 2
    assert all(l.channel == CH_ONLINE and l.kind_class == KIND_ONLINE and l.bank_licence
               for l in digital)
    min_car = model.params.policy.banking.min_car
    assert all(l.capital_ratio() > min_car for l in digital)
    # funded at bank cost, below the big-tech platforms' cost of funds
    big_tech = [l for l in model.platforms if l.kind == "big_tech" and l.active]
    assert max(l.funding_cost for l in digital) < min(l.funding_cost for l in big_tech)
    q, qb = result.quarterly, base_result.quarterly
    assert (q["loan_balance_digital_bank"] > 0).all()
    assert (q["online_share_balance"] > q["online_share_balance_pboc"]).all()
    assert q["new_loans_online"].sum() > qb["new_loans_online"].sum()
    lenders = result.lenders
    assert (lenders.loc[lenders.kind == "digital_bank", "loan_balance"] > 0).any()


def test_count_by_schedule(tmp_path):
    """Two slots, none lending until a scheduled count of 2 from 2025Q1."""
    path = tmp_path / "digital_later.toml"
    path.write_text(f'extends = "{(SCENARIOS / "baseline.toml").as_posix()}"\n'
                    '[banks.digital_bank]\ncount = 0\nmax_count = 2\n'
                    '[[change]]\nat = "2025Q1"\nset = { "banks.digital_bank.count" = 2 }\n')
    model = CreditMarket(load_scenario(path, agents=AGENTS, threads=1, end="2025Q4"),
                         check=True)
    model.run_all()
    q = model.results().quarterly.set_index("quarter")
    assert q.loc[:"2025Q1", "loan_balance_digital_bank"].max() == 0.0
    assert (q.loc["2025Q2":, "loan_balance_digital_bank"] > 0).all()
    assert sum(isinstance(l, DigitalBank) and l.active for l in model.lenders) == 2
