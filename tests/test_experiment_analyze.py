"""Sensitivity analysis on toy responses with known answers, through the real store.

No model runs: responses are computed from the design points and written as stored runs,
so ``sim analyze`` reads exactly what a sweep would have left.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from sim import cli, plot_experiment
from sim.experiment import load, load_experiment
from sim.experiment.analyze import analyze, morris_indices, sobol_indices
from sim.experiment.design import build_design
from sim.experiment.report import write_analysis
from sim.experiment.runner import open_store
from sim.experiment.store import run_id

REPO_ROOT = Path(__file__).resolve().parents[1]
BASELINE = (REPO_ROOT / "scenarios" / "baseline.toml").as_posix()
# three parameters whose schema allows [-pi, pi], for the Ishigami function
ISHIGAMI = ("credit.channel_constant.bank", "credit.channel_constant.online",
            "credit.channel_constant.supply_chain")
LINEAR = {"credit.rate_sensitivity": (10.0, 30.0, 0.1), "credit.time_sensitivity": (0.0, 1.0, 1.0),
          "credit.digital_sensitivity": (2.0, 6.0, 0.1)}     # low, high, slope


def experiment_file(folder: Path, method: str, samples: int | None,
                    parameters: dict[str, str], replications: int = 2) -> Path:
    design = f'[design]\nmethod = "{method}"\n' + (f"samples = {samples}\n" if samples else "")
    body = "".join(f'"{key}" = {{ {spec} }}\n' for key, spec in parameters.items())
    path = folder / f"{method}.toml"
    path.write_text(f'name = "toy_{method}"\nscenario = "{BASELINE}"\n'
                    f"replications = {replications}\n{design}[parameters]\n{body}",
                    encoding="utf-8")
    return path


def linear(sample: np.ndarray) -> np.ndarray:
    return sample @ np.array([slope for _, _, slope in LINEAR.values()])


def ishigami(sample: np.ndarray) -> np.ndarray:
    x1, x2, x3 = sample.T
    return np.sin(x1) + 7 * np.sin(x2) ** 2 + 0.1 * x3**4 * np.sin(x1)


def test_morris_mu_star_of_a_linear_response_is_slope_times_range(tmp_path):
    params = {k: f"range = [{lo}, {hi}]" for k, (lo, hi, _) in LINEAR.items()}
    design = build_design(load_experiment(experiment_file(tmp_path, "morris", 8, params)))
    y = linear(design.sample)
    table = pd.DataFrame(morris_indices(design.problem, design.sample,
                                        np.column_stack([y, y + 0.5]), "y", 4))
    mu_star = table[table["index"] == "mu_star"].set_index("parameter")["value"]
    expected = {k: slope * (hi - lo) for k, (lo, hi, slope) in LINEAR.items()}  # 2, 1, 0.4
    for key, value in expected.items():
        assert mu_star[key] == pytest.approx(value, rel=1e-9)
    assert list(mu_star.sort_values(ascending=False).index) == list(LINEAR)
    sigma = table[table["index"] == "sigma"]["value"]
    assert (sigma.abs() < 1e-9).all()       # no interactions, no non-linearity


def test_sobol_indices_of_the_ishigami_function_match_the_analytic_values(tmp_path):
    params = {k: f"range = [{-math.pi}, {math.pi}]" for k in ISHIGAMI}
    design = build_design(load_experiment(experiment_file(tmp_path, "sobol", 1024, params)))
    assert len(design) == 1024 * (3 + 2)
    y = ishigami(design.sample)
    rng = np.random.default_rng(0)
    noisy = np.column_stack([y + rng.normal(0, 0.05, len(y)) for _ in range(2)])
    table = pd.DataFrame(sobol_indices(design.problem, noisy, "y", second_order=False))
    value = table.set_index(["parameter", "index"])["value"]
    # Ishigami & Homma (1990), a = 7, b = 0.1
    analytic = {"S1": (0.3139, 0.4424, 0.0), "ST": (0.5576, 0.4424, 0.2437)}
    for index, values in analytic.items():
        for key, expected in zip(ISHIGAMI, values):
            assert value[(key, index)] == pytest.approx(expected, abs=0.06), (key, index)
    conf = table["conf"]
    assert (conf > 0).all() and (conf < 0.1).all()
    assert (table["replicates"] == 2).all()


def fake_runs(out: Path, experiment, response) -> None:
    """Store runs whose 'npl_ratio' is ``response`` of the design point (plus noise)."""
    store, design = open_store(experiment, out)
    sample = design.sample if design.sample is not None else \
        design.points[design.keys].to_numpy(dtype=float)
    values = response(sample)
    rng = np.random.default_rng(1)
    for point in range(len(design)):
        for replicate in range(experiment.spec.replications):
            frame = pd.DataFrame({"point": [point] * 2, "replicate": [replicate] * 2,
                                  "seed": [replicate] * 2})
            for key, value in design.values(point).items():
                frame[key] = value
            frame["quarter"] = ["2024Q1", "2024Q2"]
            for name in experiment.outputs:
                frame[name] = rng.normal(size=2)
            frame["npl_ratio"] = values[point] + rng.normal(0, 0.01, 2)
            frame["scenario_hash"] = "toy"
            frame["package_version"] = "toy"
            store.write_run(run_id(point, replicate), frame, {"toy": True})


def test_sim_analyze_writes_a_morris_table_and_figure(tmp_path, capsys):
    params = {k: f"range = [{lo}, {hi}]" for k, (lo, hi, _) in LINEAR.items()}
    experiment = load_experiment(experiment_file(tmp_path, "morris", 4, params))
    out = tmp_path / "store"
    fake_runs(out, experiment, linear)
    assert cli.main(["analyze", str(out), "--output", "npl_ratio"]) == 0
    printed = capsys.readouterr().out
    assert "mu_star" in printed
    table = pd.read_csv(out / "analysis" / "morris-mean.csv")
    assert (out / "analysis" / "morris-mean.png").stat().st_size > 0
    mu_star = table[table["index"] == "mu_star"].set_index("parameter")
    assert list(mu_star["value"].sort_values(ascending=False).index) == list(LINEAR)
    assert mu_star["value"].iloc[0] == pytest.approx(2.0, rel=0.05)
    assert (mu_star["replicates"] == 2).all() and mu_star["conf"].notna().all()
    # the design decides the method
    assert cli.main(["analyze", str(out), "--method", "sobol"]) == 2
    assert "morris design" in capsys.readouterr().err
    assert cli.main(["analyze", str(out), "--output", "npl_rate"]) == 2
    assert "not stored" in capsys.readouterr().err


def test_grid_summary_and_experiment_figures(tmp_path):
    path = tmp_path / "grid.toml"
    path.write_text(f'name = "g"\nscenario = "{BASELINE}"\nreplications = 3\n'
                    '[parameters]\n"policy.central_bank.rrr" = [0.07, 0.06]\n'
                    '"firms.borrowing_propensity" = [0.4, 0.5, 0.6]\n', encoding="utf-8")
    experiment = load_experiment(path)
    out = tmp_path / "store"
    fake_runs(out, experiment, lambda x: 10 * x[:, 0] + x[:, 1])
    result = analyze(out, outputs=["npl_ratio", "new_loans"])
    assert result.method == "summary" and result.statistic == "mean"
    assert result.parameters == ["policy.central_bank.rrr", "firms.borrowing_propensity"]
    assert not (out / "analysis").exists()  # analysing writes nothing
    paths = write_analysis(result, out / "analysis")
    assert [p.name for p in paths] == ["summary-mean.csv", "summary-mean.png"]
    assert all(p.stat().st_size > 0 for p in paths)
    table = result.table[result.table["output"] == "npl_ratio"]
    assert len(table) == 6 and (table["replicates"] == 3).all()
    expected = 10 * table["policy.central_bank.rrr"] + table["firms.borrowing_propensity"]
    assert np.allclose(table["mean"], expected, atol=0.05)
    assert table["conf"].gt(0).all()

    frame = load(out)
    assert len(frame) == 6 * 3 * 2
    figures = [plot_experiment.outcome_distributions(frame, ["npl_ratio", "new_loans"]),
               plot_experiment.quarterly_band(frame, "npl_ratio", by="policy.central_bank.rrr"),
               plot_experiment.response(frame, "npl_ratio", "firms.borrowing_propensity",
                                        by="policy.central_bank.rrr"),
               plot_experiment.analysis_figure(result)]
    assert all(isinstance(f, Figure) and f.axes for f in figures)
    lazy = load(out, lazy=True)
    assert lazy.count_rows() == len(frame)
