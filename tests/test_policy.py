"""Scheduled changes, ramps, shocks and the reactive rule do what the scenario says."""

import numpy as np
import pytest

from sim.categories import REGIONS, SECTORS
from sim.model import CreditMarket, run
from sim.policy import PolicySchedule
from sim.quarters import parse_quarter
from tests.helpers import scenario


def test_set_applies_at_its_quarter_and_stays():
    sc = scenario(agents=5_000, end="2025Q2", burn_in=0,
                  change=[{"at": "2024Q3", "set": {"central_bank.lpr_1y_annual": 0.031}}])
    q = run(sc).quarterly.set_index("quarter")
    assert q.loc["2024Q2", "lpr_1y"] == pytest.approx(0.0345)
    np.testing.assert_allclose(q.loc["2024Q3":, "lpr_1y"], 0.031)


def test_ramp_moves_linearly_to_its_target():
    sc = scenario(agents=5_000, end="2025Q4", burn_in=0,
                  change=[{"from": "2025Q1", "to": "2025Q4", "ramp": {"central_bank.rrr": 0.05}}])
    q = run(sc).quarterly.set_index("quarter")["rrr"]
    np.testing.assert_allclose(q.loc["2025Q1":"2025Q4"], [0.065, 0.06, 0.055, 0.05])
    assert q.loc["2024Q4"] == pytest.approx(0.07)


def test_shock_multiplies_revenue_of_named_sectors_in_its_quarters():
    sc = scenario(shock=[{"at": "2024Q2", "quarters": 2, "sectors": ["catering"],
                          "revenue": -0.3}])
    schedule = PolicySchedule(sc)
    inside = schedule.revenue_multipliers(parse_quarter("2024Q3"))
    after = schedule.revenue_multipliers(parse_quarter("2024Q4"))
    catering = SECTORS.index("catering")
    assert np.allclose(inside[catering], 0.7)
    assert np.allclose(np.delete(inside, catering, axis=0), 1.0)
    assert np.allclose(after, 1.0)
    assert inside.shape == (len(SECTORS), len(REGIONS))


def test_a_revenue_shock_raises_defaults():
    shock = [{"at": "2024Q2", "quarters": 2, "revenue": -0.35,
              "sectors": ["catering", "wholesale_retail", "services"]}]
    base = run(scenario(agents=30_000, end="2024Q4")).quarterly
    hit = run(scenario(agents=30_000, end="2024Q4", shock=shock)).quarterly
    assert hit["default_rate"].iloc[1:3].mean() > base["default_rate"].iloc[1:3].mean()
    # before the shock the two runs share every draw
    assert hit.iloc[0].equals(base.iloc[0])


def test_reactive_rule_cuts_the_lpr_when_defaults_run_high():
    sc = scenario(agents=5_000, end="2024Q4", burn_in=2,
                  policy={"central_bank": {"reactive_rule": True,
                                           "rule_default_threshold": 0.0,
                                           "rule_step": 0.001, "rule_floor_annual": 0.03}})
    model = CreditMarket(sc)
    model.run_all()
    assert model.params.policy.central_bank.lpr_1y_annual < 0.0345
    assert model.params.policy.central_bank.lpr_1y_annual >= 0.03
    # the scenario object the user passed is not modified by the run
    assert sc.policy.central_bank.lpr_1y_annual == 0.0345
