"""Every shipped scenario stays within plausible bounds (measured at 20,000 agents, one
seed): no quarter with a firms' default rate above 15% a year or a fall of new lending
of more than half on the quarter before, unless the file declares that its shock is that
large and why (``[run] extreme_shock_reason``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.config import ScenarioError, load_scenario
from sim.model import CreditMarket
from tests.helpers import extreme_quarters

SCENARIOS = sorted((Path(__file__).resolve().parents[1] / "scenarios").glob("*.toml"))
AGENTS = 20_000


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_no_extreme_quarter_without_a_declared_reason(path):
    scenario = load_scenario(path, agents=AGENTS, threads=1)
    model = CreditMarket(scenario)
    model.run_all()
    extreme = extreme_quarters(model.results().quarterly)
    if scenario.run.extreme_shock_reason is None:
        assert extreme == [], f"{path.name}: {extreme}"
    else:
        assert extreme, f"{path.name} declares an extreme shock but has no extreme quarter"


def test_a_declared_reason_shorter_than_ten_characters_is_refused(tmp_path):
    crafted = tmp_path / "crafted.toml"
    crafted.write_text('[run]\nextreme_shock_reason = "a war"\n')
    with pytest.raises(ScenarioError, match="extreme_shock_reason.*at least 10 characters"):
        load_scenario(crafted)
