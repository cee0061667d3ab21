"""The shipped baseline's estimated parameters and where they come from.

``scenarios/baseline.toml`` carries a ``[provenance]`` block naming the calibration file,
the folder it wrote (shipped under ``experiments/calibrations/``), a hash of that folder's
results, the targets file and the date. The folder must be the one the estimate came from
(its hash matches) and every estimated parameter must hold the folder's estimate: an
edit to either without the other fails here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sim.calibration import folder_hash, load_result
from sim.calibration.spec import load_calibration
from sim.config import load_scenario

REPO_ROOT = Path(__file__).resolve().parents[1]
BASELINE = REPO_ROOT / "scenarios" / "baseline.toml"


@pytest.fixture(scope="module")
def provenance():
    scenario = load_scenario(BASELINE)
    assert scenario.provenance is not None, "the baseline names no calibration"
    return scenario, scenario.provenance


def _value(scenario, key: str) -> float:
    node = scenario
    for part in key.split("."):
        node = node[part] if isinstance(node, dict) else getattr(node, part)
    return float(node)


def test_the_shipped_folder_is_the_one_the_baseline_quotes(provenance):
    _, block = provenance
    folder = REPO_ROOT / block.folder
    assert folder.is_dir(), block.folder
    assert folder_hash(folder) == block.folder_hash
    manifest = json.loads((folder / "calibration.json").read_text(encoding="utf-8"))
    calibration = load_calibration(REPO_ROOT / block.calibration)
    assert manifest["name"] == calibration.spec.name
    named = (calibration.source.parent / calibration.spec.targets).resolve()
    assert named == (REPO_ROOT / block.targets).resolve() and named.is_file()


def test_every_estimated_parameter_holds_the_estimate(provenance):
    scenario, block = provenance
    result = load_result(REPO_ROOT / block.folder)
    assert sorted(block.parameters) == sorted(result.estimate)
    for key, value in result.estimate.items():
        assert _value(scenario, key) == pytest.approx(value, rel=1e-12), key
    # the fit was reported on as many fresh seeds as the file asks, with standard errors
    # for every parameter
    calibration = load_calibration(REPO_ROOT / block.calibration)
    assert result.identification["fresh_runs"] == calibration.spec.fresh_replicates
    assert result.fit is not None and len(result.fit) == len(calibration.targets.moments())
    assert set(result.estimates["parameter"]) == set(result.estimate)
