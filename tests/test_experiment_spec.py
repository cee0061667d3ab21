"""Experiment files: clear errors before anything runs; deterministic designs and seeds.

No model runs here: every bad file must fail in validation, through ``sim sweep`` with
exit code 2 and one ``error:`` line naming the key, leaving no experiment folder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim import cli
from sim.experiment.design import build_design, count_points
from sim.experiment.seeds import replicate_seed
from sim.experiment.spec import load_experiment

REPO_ROOT = Path(__file__).resolve().parents[1]
BASELINE = (REPO_ROOT / "scenarios" / "baseline.toml").as_posix()
TOP = f'name = "t"\nscenario = "{BASELINE}"\n'
RUN = '[run]\nagents = 2000\nend = "2024Q4"\n'
HEAD = TOP + RUN
GRID = ('[parameters."policy.central_bank.rrr"]\nlevels = [0.07, 0.06]\n'
        '[parameters."firms.borrowing_propensity"]\nlevels = [0.4, 0.5, 0.6]\n')

# name -> (experiment text, words the message must contain)
BAD_EXPERIMENTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "invalid_toml": (HEAD + "[parameters\n", ("exp.toml", "TOML")),
    "unknown_top_key": (TOP + "replicates = 3\n" + RUN + GRID,
                        ("replicates", "replications", "allowed")),
    "unknown_parameter": (HEAD + '[parameters."policy.central_bank.rrrr"]\nlevels = [0.06]\n',
                          ("policy.central_bank.rrrr", "did you mean 'policy.central_bank.rrr'")),
    "section_not_parameter": (HEAD + '[parameters."policy.central_bank"]\nlevels = [1]\n',
                              ("policy.central_bank", "unknown parameter")),
    "run_key_as_parameter": (HEAD + '[parameters."run.seed"]\nlevels = [1, 2]\n',
                             ("run.seed", "cannot be varied")),
    "unknown_parameter_field": (HEAD + '[parameters."policy.central_bank.rrr"]\n'
                                "levls = [0.06]\n", ("levls", "levels")),
    "value_out_of_range": (HEAD + '[parameters."policy.data.protection"]\nlevels = [0.5, 1.5]\n',
                           ("policy.data.protection", "1.5")),
    "range_in_grid": (HEAD + '[parameters."policy.central_bank.rrr"]\nrange = [0.05, 0.07]\n',
                      ("policy.central_bank.rrr", "levels", "grid")),
    "sobol_not_power_of_two": (HEAD + '[design]\nmethod = "sobol"\nsamples = 10\n'
                               '[parameters]\n"policy.central_bank.rrr" = {range = [0.05, 0.07]}\n'
                               '"policy.data.protection" = {range = [0.2, 0.8]}\n',
                               ("design.samples", "power of 2")),
    "unknown_design": (HEAD + '[design]\nmethod = "halton"\n' + GRID, ("design.method", "grid")),
    "unknown_output": (TOP + 'outputs = ["npl_ratio", "npl_rate"]\n' + RUN + GRID,
                       ("npl_rate", "npl_ratio")),
    "bad_run_override": (HEAD.replace("agents = 2000", "agents = 5") + GRID,
                         ("run.agents", "5")),
    "change_outside_run": (HEAD + '[parameters."policy.central_bank.rrr"]\n'
                           'levels = [0.06]\nat = "2031Q1"\n', ("2031Q1", "outside")),
    "missing_scenario": ('name = "t"\nscenario = "nowhere.toml"\n' + GRID,
                         ("nowhere.toml", "not found")),
}


@pytest.mark.parametrize("name", sorted(BAD_EXPERIMENTS))
def test_bad_experiment_is_a_clear_error_before_anything_runs(name, tmp_path, capsys):
    text, words = BAD_EXPERIMENTS[name]
    path = tmp_path / "exp.toml"
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "store"
    code = cli.main(["sweep", str(path), "--out", str(out), "--workers", "1"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("error: ") and "Traceback" not in err
    for word in words:
        assert word in err, f"{word!r} not in {err!r}"
    assert not out.exists()


def test_design_over_the_limit_is_refused_unless_raised(tmp_path, capsys):
    path = tmp_path / "exp.toml"
    text = TOP + "replications = 50\n" + RUN + GRID
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "store"
    assert cli.main(["sweep", str(path), "--out", str(out), "--max-runs", "299"]) == 2
    captured = capsys.readouterr()
    assert "300 runs" in captured.out           # the plan is printed first
    assert "300 runs, over the limit of 299" in captured.err
    assert "--max-runs" in captured.err
    assert not out.exists()
    assert cli.main(["sweep", str(path), "--out", str(out), "--max-runs", "300",
                     "--dry-run"]) == 0
    assert "about" in capsys.readouterr().out
    assert not out.exists()


def test_conflicting_backend_options_are_user_errors(tmp_path, capsys):
    path = tmp_path / "exp.toml"
    path.write_text(HEAD + GRID, encoding="utf-8")
    for args, word in ((["--workers", "2", "--scheduler", "tcp://x:1"], "exclude"),
                       (["--cluster", "slurm"], "--jobs"), (["--workers", "0"], "--workers")):
        assert cli.main(["sweep", str(path), "--dry-run", *args]) == 2
        assert word in capsys.readouterr().err
    assert cli.main(["sweep", "--status", str(tmp_path / "none")]) == 2
    assert "not found" in capsys.readouterr().err


def test_grid_design_and_parameter_types(tmp_path):
    path = tmp_path / "exp.toml"
    path.write_text(HEAD + GRID + '[parameters."firms.discouraged_quarters"]\nlevels = [1, 3]\n'
                    '[parameters."policy.fiscal.deferral"]\nlevels = [false, true]\n',
                    encoding="utf-8")
    experiment = load_experiment(path)
    design = build_design(experiment)
    assert count_points(experiment) == len(design) == 2 * 3 * 2 * 2
    points = design.points
    assert points["firms.discouraged_quarters"].dtype == np.int64
    assert points["policy.fiscal.deferral"].dtype == bool
    # the first parameter varies slowest
    assert list(points["policy.central_bank.rrr"][:12]) == [0.07] * 12
    assert design.values(0) == {"policy.central_bank.rrr": 0.07,
                                "firms.borrowing_propensity": 0.4,
                                "firms.discouraged_quarters": 1, "policy.fiscal.deferral": False}


@pytest.mark.parametrize("method,samples,expected", [("lhs", 7, 7), ("sobol", 8, 8 * 4),
                                                     ("morris", 3, 3 * 3)])
def test_sampled_designs_are_deterministic_and_in_range(tmp_path, method, samples, expected):
    text = (HEAD + f'[design]\nmethod = "{method}"\nsamples = {samples}\n[parameters]\n'
            '"policy.central_bank.rrr" = {range = [0.05, 0.07]}\n'
            '"firms.discouraged_quarters" = {range = [1, 4]}\n')
    path = tmp_path / "exp.toml"
    path.write_text(text, encoding="utf-8")
    first, second = (build_design(load_experiment(path)) for _ in range(2))
    assert count_points(load_experiment(path)) == len(first) == expected
    assert first.points.equals(second.points)
    np.testing.assert_array_equal(first.sample, second.sample)
    rrr = first.points["policy.central_bank.rrr"]
    assert rrr.between(0.05, 0.07).all()
    assert first.points["firms.discouraged_quarters"].isin([1, 2, 3, 4]).all()


def test_nested_and_shorthand_parameter_tables(tmp_path):
    path = tmp_path / "exp.toml"
    path.write_text(HEAD + "[parameters.policy.central_bank]\nrrr = [0.07, 0.06]\n"
                    "lpr_1y_annual = { levels = [0.0345], at = \"2024Q3\" }\n",
                    encoding="utf-8")
    experiment = load_experiment(path, agents=3000, replications=2)
    assert experiment.keys == ["policy.central_bank.rrr", "policy.central_bank.lpr_1y_annual"]
    assert experiment.spec.parameters["policy.central_bank.lpr_1y_annual"].at == "2024Q3"
    assert experiment.agents == 3000 and experiment.spec.replications == 2


def test_seeds_depend_on_root_and_replicate_only():
    seeds = [replicate_seed(11, r) for r in range(50)]
    assert len(set(seeds)) == 50 and all(0 <= s < 2**63 for s in seeds)
    assert replicate_seed(11, 3) == replicate_seed(11, 3) != replicate_seed(12, 3)
