"""Which designs ``sim analyze`` takes, and what a Sobol design sampled for them reports.

* one Morris trajectory or one Sobol base sample gives no meaningful index: the experiment
  file is refused by ``sim sweep`` and a store of such a design by ``sim analyze``, each
  with exit 2, the design's size and the minimum;
* a Sobol design sampled with second-order terms gets its pairwise indices (S2, with
  confidence), printed and written to ``sobol_second_order-<statistic>.csv``; one without
  them gets neither; on the Ishigami function S2 matches the analytic values.

No model runs: responses are computed from the design points and stored as runs.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim import cli
from sim.experiment import load_experiment
from sim.experiment.analyze import analyze, second_order_rows, sobol_results
from sim.experiment.design import build_design
from tests.helpers import BASELINE, write_text
from tests.test_experiment_analyze import fake_runs

# three parameters whose schema allows [-pi, pi], for the Ishigami function
ISHIGAMI = ("credit.channel_constant.bank", "credit.channel_constant.online",
            "credit.channel_constant.supply_chain")


def experiment_file(folder: Path, method: str, samples: int, second_order: bool = False,
                    replications: int = 2) -> Path:
    body = "".join(f'"{key}" = {{ range = [{-math.pi}, {math.pi}] }}\n' for key in ISHIGAMI)
    return write_text(folder / f"{method}.toml", (
        f'name = "toy_{method}"\nscenario = "{BASELINE.as_posix()}"\n'
        f"replications = {replications}\n"
        f'[design]\nmethod = "{method}"\nsamples = {samples}\n'
        f"second_order = {'true' if second_order else 'false'}\n[parameters]\n{body}"))


def ishigami(sample: np.ndarray) -> np.ndarray:
    x1, x2, x3 = sample.T
    return np.sin(x1) + 7 * np.sin(x2) ** 2 + 0.1 * x3**4 * np.sin(x1)


def store_runs(out: Path, experiment) -> None:
    """Store every run, its 'npl_ratio' the Ishigami function of its point plus noise."""
    fake_runs(out, experiment, ishigami)


@pytest.mark.parametrize("method, samples, message", [
    ("morris", 1, "a Morris design needs at least 2 trajectories"),
    ("sobol", 1, "a Sobol design needs at least 2 base samples N"),
])
def test_an_experiment_file_with_too_small_a_design_is_refused(tmp_path, capsys, method,
                                                               samples, message):
    path = experiment_file(tmp_path, method, samples)
    assert cli.main(["sweep", str(path), "--dry-run", "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert f"'design.samples' = {samples}: {message}" in err and "Traceback" not in err
    assert not (tmp_path / "s").exists()
    experiment_file(tmp_path, method, 2)
    assert cli.main(["sweep", str(path), "--dry-run", "--out", str(tmp_path / "s")]) == 0


@pytest.mark.parametrize("method, unit, message", [
    ("morris", "1 trajectory", "a Morris design needs at least 2 trajectories"),
    ("sobol", "1 base sample", "a Sobol design needs at least 2 base samples N"),
])
def test_a_stored_design_too_small_for_indices_is_refused(tmp_path, capsys, method, unit,
                                                          message):
    # a store made before the experiment file refused such designs
    experiment = load_experiment(experiment_file(tmp_path, method, 2))
    experiment.spec.design.samples = 1
    out = tmp_path / "store"
    store_runs(out, experiment)
    assert cli.main(["analyze", str(out), "--output", "npl_ratio"]) == 2
    err = capsys.readouterr().err
    assert f"holds a {method} design of {unit}: {message}" in err
    assert "design.samples = 2 or more" in err and "Traceback" not in err
    assert not (out / "analysis").exists()


def test_second_order_indices_are_reported_when_the_design_paid_for_them(tmp_path, capsys):
    experiment = load_experiment(experiment_file(tmp_path, "sobol", 4, second_order=True))
    out = tmp_path / "store"
    store_runs(out, experiment)
    assert cli.main(["analyze", str(out), "--output", "npl_ratio"]) == 0
    printed = capsys.readouterr().out
    assert "second-order Sobol indices" in printed
    pairs = pd.read_csv(out / "analysis" / "sobol_second_order-mean.csv")
    assert len(pairs) == 3 and set(pairs["index"]) == {"S2"}
    assert list(zip(pairs["parameter"], pairs["other"])) == [
        (ISHIGAMI[0], ISHIGAMI[1]), (ISHIGAMI[0], ISHIGAMI[2]), (ISHIGAMI[1], ISHIGAMI[2])]
    assert pairs["value"].notna().all() and (pairs["conf"] > 0).all()
    assert (pairs["replicates"] == 2).all()
    # the first- and total-order table is the same as ever
    table = pd.read_csv(out / "analysis" / "sobol-mean.csv")
    assert set(table["index"]) == {"S1", "ST"}


def test_no_second_order_indices_without_second_order_samples(tmp_path, capsys):
    experiment = load_experiment(experiment_file(tmp_path, "sobol", 4))
    out = tmp_path / "store"
    store_runs(out, experiment)
    assert analyze(out, outputs=["npl_ratio"]).second_order is None
    assert cli.main(["analyze", str(out), "--output", "npl_ratio"]) == 0
    assert "second-order" not in capsys.readouterr().out
    assert sorted(p.name for p in (out / "analysis").iterdir()) == ["sobol-mean.csv",
                                                                    "sobol-mean.png"]


def test_second_order_indices_of_the_ishigami_function_match_the_analytic_values(tmp_path):
    experiment = load_experiment(experiment_file(tmp_path, "sobol", 1024, second_order=True))
    design = build_design(experiment)
    assert len(design) == 1024 * (2 * 3 + 2)
    y = ishigami(design.sample)
    rng = np.random.default_rng(0)
    noisy = np.column_stack([y + rng.normal(0, 0.05, len(y)) for _ in range(2)])
    main, per_rep = sobol_results(design.problem, noisy, "y", second_order=True)
    pairs = pd.DataFrame(second_order_rows("y", list(ISHIGAMI), main, per_rep))
    value = pairs.set_index(["parameter", "other"])["value"]
    # Ishigami & Homma (1990), a = 7, b = 0.1: only x1 and x3 interact
    assert value[(ISHIGAMI[0], ISHIGAMI[2])] == pytest.approx(0.2437, abs=0.08)
    assert value[(ISHIGAMI[0], ISHIGAMI[1])] == pytest.approx(0.0, abs=0.08)
    assert value[(ISHIGAMI[1], ISHIGAMI[2])] == pytest.approx(0.0, abs=0.08)
    assert (pairs["replicates"] == 2).all() and pairs["replicate_sd"].notna().all()
