"""The dashboard without a browser: what the page sends is validated as a scenario file
is, crafted names and paths are refused, run folders stay in the dashboard's results
folder, downloads hold only that folder, and the server binds to 127.0.0.1 by default."""

from __future__ import annotations

import dataclasses
import io
import json
import math
import socket
import threading
import zipfile
from pathlib import Path

import pytest

from sim.cli import build_parser
from sim.config import ScenarioError
from sim.dashboard import catalogue, folders
from sim.dashboard import form as forms
from sim.dashboard.catalogue import DashboardInputError
from sim.dashboard.levers import LEVER_BY_KEY, LEVERS
from sim.dashboard.server import (SERVER_ENVIRONMENT, check_port, exposure_warning,
                                  is_loopback, solara_arguments)

LPR = "central_bank.lpr_1y_annual"
CRAFTED_NAMES = ["../../etc/passwd", "/etc/passwd", "baseline.toml", "..", "", ".",
                 "scenarios/baseline", "baseline/../rate_cut", "BASELINE", None, 3,
                 str(catalogue.SCENARIO_DIR / "baseline.toml")]


@pytest.fixture(scope="module")
def base_form() -> forms.Form:
    return forms.defaults("baseline")


def moved(form: forms.Form, **levers) -> forms.Form:
    return dataclasses.replace(form, levers={**form.levers, **levers})


def message(form: forms.Form) -> str:
    with pytest.raises(ScenarioError) as caught:
        forms.plan(form)
    return str(caught.value)


# ---------------------------------------------------------------- the scenario list


def test_picker_offers_the_shipped_scenarios_baseline_first():
    names = catalogue.scenario_names()
    assert names[0] == "baseline"
    assert set(names) == {p.stem for p in catalogue.SCENARIO_DIR.glob("*.toml")}
    assert catalogue.scenario_file("rate_cut") == catalogue.SCENARIO_DIR / "rate_cut.toml"


@pytest.mark.parametrize("name", CRAFTED_NAMES)
def test_crafted_scenario_names_and_paths_are_refused(name, base_form):
    with pytest.raises(DashboardInputError, match="not one of the shipped scenarios"):
        catalogue.scenario_file(name)
    with pytest.raises(DashboardInputError):
        forms.defaults(name)
    assert "not one of the shipped scenarios" in message(
        dataclasses.replace(base_form, scenario=name))


def test_a_link_out_of_the_scenario_folder_is_refused(tmp_path):
    folder = tmp_path / "scenarios"
    folder.mkdir()
    (tmp_path / "secret.toml").write_text('name = "secret"\n')
    (folder / "leak.toml").symlink_to(tmp_path / "secret.toml")
    with pytest.raises(DashboardInputError, match="is not in"):
        catalogue.scenario_file("leak", folder)


# ---------------------------------------------------------------- page → scenario


def test_every_shipped_scenario_starts_unmoved():
    for name in catalogue.scenario_names():
        plan = forms.plan(forms.defaults(name))
        assert plan.same, (name, plan.moves)
        assert plan.lever.change == plan.baseline.change


def test_moved_levers_become_one_change_and_the_shock_a_shock(base_form):
    form = dataclasses.replace(moved(base_form, **{LPR: 3.0, "fiscal.deferral": True}),
                               lever_at="2025Q1", shock_pct=-20.0, shock_at="2025Q2",
                               shock_quarters=3, agents=30_000, seed=7, last_year=2026)
    plan = forms.plan(form)
    assert plan.moves == {LPR: 0.03, "fiscal.deferral": True}
    added = plan.lever.change[-1]
    assert (added.at, added.set) == ("2025Q1", {LPR: 0.03, "fiscal.deferral": True})
    assert len(plan.lever.change) == len(plan.baseline.change) + 1
    shock = plan.lever.shock[-1]
    assert (shock.at, shock.revenue, shock.quarters) == ("2025Q2", -0.2, 3)
    assert not plan.baseline.shock
    for scenario in (plan.baseline, plan.lever):  # the same run settings on both lines
        assert (scenario.run.agents, scenario.run.seed, scenario.run.end) == (30_000, 7,
                                                                              "2026Q4")
    assert plan.baseline.name == "baseline"
    assert plan.lever.name == "baseline-dashboard"
    assert plan.baseline.policy.central_bank.lpr_1y_annual == 0.0345


def test_a_lever_the_scenario_sets_again_later_is_reported():
    form = forms.defaults("rate_cut")
    plan = forms.plan(moved(form, **{LPR: 2.5}))
    assert plan.reset_later == (f"{LPR} (2024Q3)", f"{LPR} (2024Q4)", f"{LPR} (2025Q2)")


@pytest.mark.parametrize("value, words", [
    (-1.0, "greater than or equal to 0"),
    (50.0, "less than or equal to 0.3"),
    ("3.0", "not a number"),
    (math.nan, "not a finite number"),
    (math.inf, "not a finite number"),
    (True, "not a number"),
    (None, "not a number"),
])
def test_a_bad_lever_value_is_refused_naming_the_key(base_form, value, words):
    text = message(moved(base_form, **{LPR: value}))
    assert LPR in text and words in text


def test_a_switch_takes_true_or_false_only(base_form):
    assert "'fiscal.deferral' = 1: a switch takes true or false" in message(
        moved(base_form, **{"fiscal.deferral": 1}))


@pytest.mark.parametrize("key", ["run.agents", "central_bank.min_car", "../x", 5])
def test_a_key_that_is_not_a_lever_is_refused(base_form, key):
    assert "unknown lever" in message(moved(base_form, **{key: 1.0}) if isinstance(key, str)
                                      else dataclasses.replace(base_form, levers={key: 1.0}))


@pytest.mark.parametrize("changes, words", [
    ({"agents": 10_000}, "'run.agents' = 10,000: the dashboard takes 20,000 to 200,000"),
    ({"agents": 10**9}, "'run.agents'"),
    ({"agents": 20_000.0}, "'run.agents' = 20000.0: a whole number is needed"),
    ({"seed": -1}, "'run.seed'"),
    ({"seed": "1"}, "'run.seed'"),
    ({"last_year": 2031}, "'run.end' = 2,031"),
    ({"last_year": 2023}, "'run.end'"),
    ({"shock_pct": -99.0}, "'shock.revenue' = -99.0%"),
    ({"shock_pct": "big"}, "'shock.revenue'"),
    ({"shock_pct": -10.0, "shock_quarters": 0}, "'shock.quarters'"),
    ({"shock_pct": -10.0, "shock_at": "2031Q1"}, "shock #1: quarter 2031Q1 is outside the run"),
    ({"shock_pct": -10.0, "shock_at": "soon"}, "'soon' is not a quarter"),
    ({"lever_at": "2040Q1", "levers": {LPR: 3.0}}, "quarter 2040Q1 is outside the run"),
    ({"lever_at": ["2024Q1"], "levers": {LPR: 3.0}}, "'lever_at'"),
    ({"levers": "lpr=0"}, "levers = 'lpr=0'"),
])
def test_bad_run_settings_are_refused_naming_the_key(base_form, changes, words):
    assert words in message(dataclasses.replace(base_form, **changes))


def test_a_move_that_collides_with_the_scenarios_own_change_is_refused():
    form = dataclasses.replace(forms.defaults("rate_cut"), lever_at="2024Q3")
    assert "both set 'central_bank.lpr_1y_annual' in 2024Q3" in message(
        moved(form, **{LPR: 2.5}))


def test_not_a_form_is_refused():
    with pytest.raises(DashboardInputError, match="expected the dashboard's form"):
        forms.plan({"scenario": "baseline"})


def test_sliders_hold_every_shipped_scenarios_value_without_moving_it():
    for name in catalogue.scenario_names():
        defaults = forms.defaults(name).levers
        for item in LEVERS:
            if item.switch:
                continue
            low, high, step = item.grid(defaults[item.key])
            value = defaults[item.key]
            assert low <= value <= high, (name, item.key)
            # the browser rounds to the grid and to the step's decimals
            on_grid = round(low + round((value - low) / step) * step, 4)
            assert not item.moved(value, on_grid), (name, item.key, value, step)
            assert item.moved(value, value + step), (name, item.key)


def test_page_values_are_converted_to_the_scenarios_units():
    assert LEVER_BY_KEY[LPR].policy_value(3.45) == 0.0345
    assert LEVER_BY_KEY["central_bank.rrr"].page_value(0.07) == 7.0
    assert LEVER_BY_KEY["central_bank.relending_quota_yi"].policy_value(20000) == 20000.0


def test_charts_carry_the_paths_in_the_units_shown():
    from sim.dashboard import charts
    from sim.dashboard.runner import SERIES, Snapshot

    snapshot = Snapshot("running", 18, 20, ("2024Q1", "2024Q2"),
                        baseline={name: (0.02, 0.03) for name in SERIES},
                        lever={name: (0.025, math.nan) for name in SERIES})
    options = charts.options(snapshot)
    assert [o["title"]["text"] for o in options] == [charts.TITLES[n][0] for n in SERIES]
    npl = options[SERIES.index("npl_ratio")]
    assert npl["xAxis"]["data"] == ["2024Q1", "2024Q2"]
    assert [s["data"] for s in npl["series"]] == [[2.0, 3.0], [2.5, None]]  # %, a gap
    assert options[0]["series"][0]["data"] == [0.02, 0.03]  # new loans stay in 亿元
    json.dumps(options, allow_nan=False)  # what the page receives is plain JSON
    assert all(o["series"][0]["data"] == [] for o in charts.options(None))
    assert charts.last_value((1.0, 2.0, math.nan)) == 2.0


# ---------------------------------------------------------------- run folders and zips


def _run_folder(root: Path, name: str = "baseline-dashboard-20260101-000000-s1") -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "run.json").write_text(json.dumps({"name": "baseline"}))
    (folder / "quarterly.parquet").write_bytes(b"PAR1")
    return folder


@pytest.mark.parametrize("name", ["../../etc/passwd", "/tmp/x", "a/b", "..", ""])
def test_a_run_folder_name_never_leaves_the_results_folder(tmp_path, name):
    root = tmp_path / "results" / "dashboard"
    path = folders.new_run_dir(root, name, 1)
    assert path.parent == root.resolve()
    assert ".." not in path.name and "/" not in path.name


def test_the_download_is_the_run_folder_and_nothing_else(tmp_path):
    root = tmp_path / "results" / "dashboard"
    folder = _run_folder(root)
    secret = tmp_path / "secret.txt"
    secret.write_text("not yours")
    (folder / "link").symlink_to(secret)  # a link inside is not followed
    with zipfile.ZipFile(io.BytesIO(folders.zip_run(root, folder))) as archive:
        names = sorted(archive.namelist())
    assert names == [f"{folder.name}/quarterly.parquet", f"{folder.name}/run.json"]
    assert folders.zip_name(folder) == f"{folder.name}.zip"


def test_a_crafted_download_path_is_refused(tmp_path):
    root = tmp_path / "results" / "dashboard"
    _run_folder(root)
    outside = _run_folder(tmp_path / "elsewhere")
    (root / "linked").symlink_to(outside)
    (root / "nested" / "deeper").mkdir(parents=True)
    (root / "nested" / "deeper" / "run.json").write_text("{}")
    crafted = [outside, root / ".." / ".." / "elsewhere" / outside.name, Path("/etc"),
               root / "linked", root, root / "nested" / "deeper", root / "missing",
               Path("../../etc/passwd")]
    for path in crafted:
        with pytest.raises(DashboardInputError):
            folders.zip_run(root, path)
    unfinished = root / "x.partial-123"
    unfinished.mkdir()
    (unfinished / "run.json").write_text("{}")
    with pytest.raises(DashboardInputError, match="not a finished run folder"):
        folders.zip_run(root, unfinished)


def test_the_results_folder_is_under_the_servers_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert folders.results_root() == (tmp_path / "results" / "dashboard").resolve()


# ---------------------------------------------------------------- a run in the background


def test_a_run_grows_quarter_by_quarter_and_writes_its_folder(tmp_path, base_form):
    from sim.dashboard.runner import Stopped, run_pair

    form = dataclasses.replace(moved(base_form, **{LPR: 2.0}), lever_at="2024Q3",
                               last_year=2024)
    plan = forms.plan(form)
    snapshots = []
    root = tmp_path / "results" / "dashboard"
    out = run_pair(plan, root, snapshots.append, threading.Event(), interval=0.0)
    assert out.parent == root.resolve() and (out / "run.json").is_file()
    meta = json.loads((out / "run.json").read_text())
    assert meta["scenario"]["change"][-1] == {"at": "2024Q3", "set": {LPR: 0.02},
                                              "from": None, "to": None, "ramp": None}
    grown = [len(s.quarters) for s in snapshots if s.stage == "running"]
    assert grown == [1, 2, 3, 4]  # one more quarter at every report
    last = snapshots[-1]
    assert last.stage == "done" and last.run_dir == str(out)
    # the same seed: identical until the lever moves, then apart
    assert last.baseline["new_loans"][:2] == last.lever["new_loans"][:2]
    assert last.baseline["avg_rate_new"][2:] != last.lever["avg_rate_new"][2:]
    assert all(v > 0 and math.isfinite(v) for v in last.lever["new_loans"])

    stop = threading.Event()
    stop.set()
    with pytest.raises(Stopped):
        run_pair(plan, root, snapshots.append, stop)


# ---------------------------------------------------------------- the server


def test_the_dashboard_binds_to_127_0_0_1_by_default():
    args = build_parser().parse_args(["dashboard"])
    assert (args.host, args.port, args.no_browser) == ("127.0.0.1", 8765, False)
    assert exposure_warning(args.host) is None
    command = solara_arguments(args.host, args.port, open_browser=False)
    assert command[command.index("--host") + 1] == "127.0.0.1"
    assert "--no-open" in command and "--production" in command


def test_the_server_downloads_nothing_and_reports_nothing():
    command = solara_arguments("127.0.0.1", 8765, open_browser=True)
    assert "--no-check-version" in command and "--open" in command
    assert SERVER_ENVIRONMENT["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] == "False"
    assert not SERVER_ENVIRONMENT["SOLARA_ASSETS_CDN"].startswith(("http:", "https:"))


@pytest.mark.parametrize("host, loopback", [
    ("127.0.0.1", True), ("127.1.2.3", True), ("::1", True), ("[::1]", True),
    ("localhost", True), ("0.0.0.0", False), ("::", False), ("192.168.1.5", False),
    ("example.org", False)])
def test_other_hosts_than_loopback_are_warned_about(host, loopback):
    assert is_loopback(host) is loopback
    assert (exposure_warning(host) is None) is loopback


def test_a_port_in_use_or_out_of_range_is_refused_before_starting():
    from sim.errors import SimError

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(SimError, match=f"port {port} on 127.0.0.1 is in use"):
            check_port("127.0.0.1", port)
    for port in (-1, 70_000):
        with pytest.raises(SimError, match="a port is 0 to 65535"):
            check_port("127.0.0.1", port)
