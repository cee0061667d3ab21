"""Targets files and simulated moments (sim/calibration/).

* the shipped report targets load, name every representable report figure with a source,
  a definition and a tolerance, and hold out F4-2030, F9-2030 and F12;
* a path enters as a level and a slope; floors count only when missed;
* every statistic is computed as its definition says, on a table built by hand;
* a malformed file, an unknown key, column, group or metric is refused naming it, before
  any run;
* a real run gives a finite number for every moment.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.calibration import (
    TargetsError, distance, fit_table, gaps, load_targets, simulated_moments,
)
from sim.calibration.targets import TargetsFile, fit_line

REPO_ROOT = Path(__file__).resolve().parents[1]
REPORT = REPO_ROOT / "experiments" / "targets" / "report_2024_2030.toml"


# ------------------------------------------------------------------ the shipped file
def test_report_targets_cover_the_representable_figures():
    targets = load_targets(REPORT)
    figures = " ".join(t.figure for t in targets.target)
    for figure in ("F1", "F3", "F4", "F5", "F6", "F7", "F8", "F13", "F9", "F10", "F11",
                   "F12", "policy inputs"):
        assert figure in figures, figure
    held = {t.id for t in targets.target if t.holdout}
    assert {"F4-2030", "F9-2030"} <= held and any(i.startswith("F12") for i in held)
    for t in targets.target:
        assert t.source and t.definition
    # figures dated 2022 or 2023 compared in 2024 say how they were moved
    moved = {t.id: t.adjustment for t in targets.target}
    for target_id in ("bank-rate-2023", "F6-2024", "F9-2024", "F11-2024", "F12-2024",
                      "F1-equity", "F3-startup", "F3-growth", "F3-stable"):
        assert moved[target_id], target_id


def test_a_path_enters_as_a_level_and_a_slope():
    targets = load_targets(REPORT)
    f4 = next(t for t in targets.target if t.id == "F4")
    moments = {m.id: m for m in targets.moments()}
    assert "F4" not in moments and {"F4:level", "F4:slope"} <= set(moments)
    level, slope = fit_line(f4.years, f4.values)
    assert moments["F4:slope"].value == pytest.approx(slope)
    assert slope == pytest.approx(0.0341, abs=2e-4)      # the report's 3.4pp a year
    assert level == pytest.approx(0.3525, abs=1e-3)
    assert moments["F4:level"].standard_error == pytest.approx(f4.tolerance / 2)


# ------------------------------------------------------------------ statistics by hand
def _quarterly(years=range(2024, 2027)) -> pd.DataFrame:
    labels = [f"{y}Q{q}" for y in years for q in range(1, 5)]
    n = len(labels)
    k = np.arange(n, dtype=float)
    return pd.DataFrame({
        "quarter": labels,
        "loan_balance": 100.0 * 1.02 ** k,          # a stock growing 2% a quarter
        "new_equity": np.full(n, 5.0),
        "new_loans": np.full(n, 90.0),
        "new_crowdfunding": np.full(n, 5.0),
        "online_share_new": 0.30 + 0.01 * k,          # +4pp a year
    })


def _targets(*entries: dict) -> TargetsFile:
    base = {"measure": "stock", "period": "q4", "channel": "all", "source": "s",
            "definition": "d", "tolerance": 1.0}
    return TargetsFile.model_validate({"name": "t", "target": [
        {**base, "figure": e["id"], **e} for e in entries]})


def test_statistics_follow_their_definitions():
    q = _quarterly()
    targets = _targets(
        {"id": "stock", "column": "loan_balance", "years": [2025], "value": 1.0},
        {"id": "growth", "column": "loan_balance", "statistic": "growth",
         "years": [2024, 2026], "value": 0.1},
        {"id": "flow", "column": "new_equity", "measure": "flow", "period": "annual_sum",
         "years": [2024], "value": 1.0},
        {"id": "ratio", "column": "new_equity", "measure": "flow", "period": "annual_sum",
         "denominator": ["new_loans", "new_equity", "new_crowdfunding"], "years": [2025],
         "value": 0.05},
        {"id": "path", "column": "online_share_new", "measure": "share",
         "period": "annual_mean", "statistic": "path", "years": [2024, 2025, 2026],
         "values": [0.3, 0.3, 0.3], "tolerance": 0.1, "slope_tolerance": 0.01},
    )
    m = simulated_moments(targets, q)
    assert m["stock"] == pytest.approx(100.0 * 1.02 ** 7)          # 2025Q4
    assert m["growth"] == pytest.approx(1.02 ** 4 - 1.0)            # Q4 over Q4, a year
    assert m["flow"] == pytest.approx(20.0)                         # four quarters
    assert m["ratio"] == pytest.approx(0.05)
    assert m["path:level"] == pytest.approx(0.315)                  # 2024's mean
    assert m["path:slope"] == pytest.approx(0.04)


def test_a_group_target_is_a_share_of_its_dimension_or_a_sum():
    q = _quarterly()
    rows = [{"quarter": label, "dimension": "stage", "group": group, "metric":
             "credit_demand", "value": value}
            for label in q["quarter"] for group, value in
            (("startup", 1.0), ("growth", 3.0), ("stable", 4.0), ("decline", 2.0))]
    groups = pd.DataFrame(rows)
    share = {"table": "groups", "dimension": "stage", "metric": "credit_demand",
             "measure": "flow", "period": "annual_sum", "years": [2025], "value": 0.1}
    targets = _targets({"id": "share", "groups": ["startup", "growth"], **share},
                       {"id": "sum", "groups": ["stable"], "as_share": False, **share})
    m = simulated_moments(targets, q, groups)
    assert m["share"] == pytest.approx(0.4)          # (1 + 3) / 10
    assert m["sum"] == pytest.approx(16.0)           # 4 a quarter over the year


def test_a_floor_counts_only_when_missed():
    targets = _targets(
        {"id": "floor", "column": "loan_balance", "years": [2024], "value": 50.0,
         "bound": "floor", "tolerance": 10.0},
        {"id": "missed", "column": "loan_balance", "years": [2024], "value": 500.0,
         "bound": "floor", "tolerance": 10.0},
        {"id": "two-sided", "column": "loan_balance", "years": [2024], "value": 50.0,
         "tolerance": 10.0},
    )
    m = simulated_moments(targets, _quarterly())
    z = gaps(targets.moments(), m)
    assert z["floor"] == 0.0 and z["missed"] < 0 and z["two-sided"] > 0
    assert distance(targets, m) == pytest.approx(z["missed"] ** 2 + z["two-sided"] ** 2)
    # an undefined moment is never a good fit
    undefined = m.copy()
    undefined["two-sided"] = math.nan
    assert distance(targets, undefined) == math.inf
    table = fit_table(targets, m)
    assert list(table["moment"]) == ["floor", "missed", "two-sided"]


def test_a_run_that_does_not_cover_a_year_is_named():
    targets = _targets({"id": "late", "column": "loan_balance", "years": [2030],
                        "value": 1.0})
    with pytest.raises(TargetsError, match="late.*2030"):
        simulated_moments(targets, _quarterly())


# ------------------------------------------------------------------ bad files
def _write(tmp_path, text: str) -> Path:
    path = tmp_path / "targets.toml"
    path.write_text(text, encoding="utf-8")
    return path


GOOD = """name = "t"
[[target]]
id = "a"
figure = "F4"
column = "online_share_new"
measure = "share"
period = "annual_mean"
channel = "online"
years = [2024]
value = 0.35
tolerance = 0.03
source = "report"
definition = "d"
"""


def test_a_good_file_loads(tmp_path):
    assert load_targets(_write(tmp_path, GOOD)).target[0].id == "a"


@pytest.mark.parametrize("change, message", [
    (('column = "online_share_new"', 'column = "online_share_nwe"'),
     "unknown column 'online_share_nwe' (did you mean 'online_share_new'?)"),
    (("tolerance = 0.03", "tolerence = 0.03"), "unknown key 'target.0.tolerence'"),
    (("years = [2024]", "years = [2022]"), "year 2022 outside"),
    (("tolerance = 0.03", "tolerance = 0.03\nstandard_error = 0.01"), "exactly one of"),
    (('period = "annual_mean"', 'period = "yearly"'), "'target.0.period'"),
    (("value = 0.35", 'statistic = "path"\nvalues = [0.3, 0.4]'), "at least 3"),
    (('source = "report"', ""), "'target.0.source'"),
])
def test_a_bad_target_is_refused_naming_it(tmp_path, change, message):
    old, new = change
    with pytest.raises(TargetsError) as caught:
        load_targets(_write(tmp_path, GOOD.replace(old, new)))
    assert message in str(caught.value)
    assert str(tmp_path / "targets.toml") in str(caught.value)


def test_unknown_groups_and_files_are_refused(tmp_path):
    groups = GOOD.replace('column = "online_share_new"',
                          'table = "groups"\ndimension = "stage"\ngroups = ["startups"]\n'
                          'metric = "credit_demand"')
    with pytest.raises(TargetsError, match="unknown stage group 'startups'"):
        load_targets(_write(tmp_path, groups))
    ratio = groups.replace('"startups"', '"startup"').replace('"credit_demand"',
                                                              '"approval_rate"')
    with pytest.raises(TargetsError, match="'approval_rate' is a ratio"):
        load_targets(_write(tmp_path, ratio))
    # one group's own ratio, not a share of its dimension, is a meaningful target
    own = ratio.replace('metric = "approval_rate"', 'metric = "approval_rate"\nas_share = false')
    assert load_targets(_write(tmp_path, own)).target[0].metric == "approval_rate"
    with pytest.raises(TargetsError, match="'approval_rate' is a ratio"):
        load_targets(_write(tmp_path, own.replace('["startup"]', '["startup", "growth"]')))
    with pytest.raises(TargetsError, match="not found"):
        load_targets(tmp_path / "missing.toml")
    with pytest.raises(TargetsError, match="not valid TOML"):
        load_targets(_write(tmp_path, "name = \n"))
    twice = GOOD + GOOD[GOOD.index("[[target]]"):]
    with pytest.raises(TargetsError, match="'a' is used twice"):
        load_targets(_write(tmp_path, twice))


# ------------------------------------------------------------------ a real run
def test_every_report_moment_is_finite_on_a_run():
    from sim.config import load_scenario
    from sim.model import CreditMarket

    targets = load_targets(REPORT)
    model = CreditMarket(load_scenario(REPO_ROOT / "scenarios" / "baseline.toml",
                                       agents=10_000, threads=1))
    model.run_all()
    result = model.results()
    moments = simulated_moments(targets, result.quarterly, result.groups)
    assert list(moments.index) == [m.id for m in targets.moments()]
    assert all(math.isfinite(v) for v in moments)
    assert math.isfinite(distance(targets, moments))
