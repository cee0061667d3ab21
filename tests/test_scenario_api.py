"""Scenarios built and changed from Python, validated as files are; shipped scenarios by
name from any folder; ``sim.run`` with overrides."""

from __future__ import annotations

import pytest

import sim
from sim import cli
from sim.config import ScenarioError, find_scenario, load_scenario
from sim.schema import Scenario
from tests.helpers import BASELINE


def test_overrides_by_name_and_dotted_path():
    scenario = load_scenario(BASELINE, {"central_bank.lpr_1y_annual": 0.03}, agents=5000,
                             rrr=0.06, two_increases=False)
    assert scenario.run.agents == 5000
    assert scenario.policy.central_bank.rrr == 0.06
    assert scenario.policy.central_bank.lpr_1y_annual == 0.03
    assert scenario.policy.banking.two_increases is False
    same = load_scenario(BASELINE, {"policy.central_bank.rrr": 0.06, "run.agents": 5000})
    assert same.policy.central_bank.rrr == 0.06 and same.run.agents == 5000


@pytest.mark.parametrize("overrides, words", [
    ({"rrrr": 0.06}, ("unknown parameter 'rrrr'", "did you mean")),
    ({"rrr": "0.06"}, ("policy.central_bank.rrr", "'0.06'")),
    ({"rrr": 1.5}, ("policy.central_bank.rrr", "1.5")),
    ({"agents": 10}, ("run.agents", "10")),
    ({"count": 2}, ("names", "parameters", "dotted path")),
])
def test_overrides_are_validated_as_files_are(overrides, words):
    with pytest.raises(ScenarioError) as info:
        load_scenario(BASELINE, overrides)
    for word in words:
        assert word in str(info.value)


def test_with_changes_and_shock_are_validated():
    base = Scenario.from_file(BASELINE, agents=5000)
    changed = base.with_changes({"at": "2025Q1", "set": {"central_bank.rrr": 0.06}},
                                {"from": "2025Q1", "to": "2025Q4",
                                 "ramp": {"central_bank.lpr_1y_annual": 0.03}})
    assert len(changed.change) == len(base.change) + 2 and base.change == []
    assert changed.change[1].start == "2025Q1"
    shocked = changed.with_shock("2025Q2", -0.3, quarters=2, sectors=["catering"])
    assert shocked.shock[-1].revenue == -0.3 and shocked.shock[-1].sectors == ["catering"]
    assert shocked.run.agents == 5000 and shocked.name == "baseline"
    with pytest.raises(ScenarioError, match="change #1 .* and change #2"):
        base.with_changes({"at": "2025Q1", "set": {"central_bank.rrr": 0.06}},
                          {"at": "2025Q1", "set": {"central_bank.rrr": 0.05}})
    with pytest.raises(ScenarioError, match="shock.*revenue"):
        base.with_shock("2025Q2", -3.0)
    with pytest.raises(ScenarioError, match="outside the run"):
        base.with_shock("2040Q1", -0.1)
    assert base.with_overrides(rrr=0.05).policy.central_bank.rrr == 0.05


def test_shipped_scenarios_by_name_from_any_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert find_scenario("baseline").name == "baseline.toml"
    assert find_scenario("rate_cut.toml").parent == find_scenario("baseline").parent
    assert cli.main(["validate", "rrr_cut"]) == 0
    assert "OK: rrr_cut" in capsys.readouterr().out
    with pytest.raises(ScenarioError, match="did you mean 'rate_cut'"):
        find_scenario("rate_cutt")
    assert cli.main(["validate", "nothing/here.toml"]) == 2
    assert "not found" in capsys.readouterr().err


def test_sim_run_takes_a_name_and_overrides():
    result = sim.run("baseline", agents=2000, end="2024Q2", burn_in_quarters=0,
                     threads=1, rrr=0.06)
    assert result.meta["agents"] == 2000
    assert result.meta["scenario"]["policy"]["central_bank"]["rrr"] == 0.06
    assert list(result.quarterly["quarter"]) == ["2024Q1", "2024Q2"]


def test_version_flag(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"sim {sim.__version__}"


def test_load_scenario_by_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert sim.load_scenario("rate_cut", agents=5000).name == "rate_cut"
    assert Scenario.from_file("baseline").run.agents == 1_000_000
