"""The baseline is plausible, every channel and lender kind lends, and it is stationary.

The plausibility bounds are the ones docs/calibration.md documents; the figures the
baseline produces at full size are recorded there.
"""

import numpy as np
import pytest

from sim.bands import BASELINE_2024_BANDS
from sim.categories import LENDER_KINDS
from sim.config import load_scenario
from sim.model import run
from tests.helpers import scenario

BOUNDS = BASELINE_2024_BANDS


@pytest.fixture(scope="module")
def baseline_2024():
    """The baseline file at 200,000 agents, through 2024."""
    sc = load_scenario("scenarios/baseline.toml", agents=200_000)
    sc.run.end = "2024Q4"
    return run(sc)


def test_baseline_2024_within_plausibility_bounds(baseline_2024):
    year = baseline_2024.quarterly
    assert list(year["quarter"]) == ["2024Q1", "2024Q2", "2024Q3", "2024Q4"]
    for column, (low, high) in BOUNDS.items():
        value = year[column].mean()
        assert low <= value <= high, f"{column} = {value:.4f} outside [{low}, {high}]"


def test_sme_population_grows_two_to_six_percent_a_year():
    result = run(scenario(agents=100_000, end="2026Q4"))
    alive = result.quarterly["sme_alive"].to_numpy()
    growth = (alive[-1] / alive[0]) ** (4 / (len(alive) - 1)) - 1
    assert 0.02 <= growth <= 0.06, growth


def test_every_channel_and_lender_kind_lends(baseline_2024):
    q = baseline_2024.quarterly
    for column in ("new_loans_bank", "new_loans_online", "new_loans_supply_chain",
                   "new_equity", "new_crowdfunding"):
        assert (q[column] > 0).all(), column
    by_kind = baseline_2024.lenders.groupby("kind")["new_loans"].sum()
    for kind in LENDER_KINDS:
        assert by_kind[kind] > 0, kind


def test_channel_flows_add_up(baseline_2024):
    q = baseline_2024.quarterly
    parts = q["new_loans_bank"] + q["new_loans_online"] + q["new_loans_supply_chain"]
    np.testing.assert_allclose(parts, q["new_loans"], rtol=1e-12)
    balances = q["loan_balance_bank"] + q["loan_balance_online"] + q["loan_balance_supply_chain"]
    np.testing.assert_allclose(balances, q["loan_balance"], rtol=1e-12)


def _paired(two_increases: bool, seed: int):
    sc = scenario(agents=50_000, end="2025Q4", seed=seed,
                  policy={"banking": {"two_increases": two_increases}})
    return run(sc)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_two_increases_targets_push_banks_to_lend(seed):
    on, off = _paired(True, seed), _paired(False, seed)
    banks = {"large_state", "joint_stock", "city_commercial", "rural"}
    lent_on = on.lenders[on.lenders["kind"].isin(banks)]
    lent_off = off.lenders[off.lenders["kind"].isin(banks)]
    # banks are more willing (higher appetite) and lend more to SMEs under the targets
    assert lent_on["appetite_el"].mean() > lent_off["appetite_el"].mean()
    assert on.quarterly["new_loans_bank"].sum() > off.quarterly["new_loans_bank"].sum()


def test_stationary_under_constant_policy_and_flat_macro():
    flat = {name: 0.0 for name in ("manufacturing", "wholesale_retail", "catering", "services",
                                   "agriculture", "construction", "technology")}
    sc = scenario(agents=50_000, end="2033Q4", macro={"sector_growth": flat})
    q = run(sc).quarterly
    assert len(q) == 40
    stationary = dict(BOUNDS, online_share_new=(0.25, 0.50), unmet_demand_share=(0.05, 0.30))
    for column, (low, high) in stationary.items():
        values = q[column].to_numpy()
        assert values.min() >= low and values.max() <= high, \
            f"{column} leaves [{low}, {high}]: {values.min():.4f}..{values.max():.4f}"
        first, last = values[:20].mean(), values[20:].mean()
        assert abs(last - first) <= 0.5 * max(first, last), f"{column} trends: {first} → {last}"
        slope = np.polyfit(np.arange(20), values[20:], 1)[0]
        assert abs(slope) * 20 <= 0.25 * values[20:].mean(), f"{column} still drifting"
