"""The public modules say what they export (``__all__``) and document it."""

from __future__ import annotations

import importlib
import inspect

import pytest

PUBLIC = ("sim", "sim.config", "sim.results", "sim.model", "sim.errors", "sim.quarters",
          "sim.memory", "sim.output_paths", "sim.overrides", "sim.panel", "sim.collector",
          "sim.experiment", "sim.calibration")


@pytest.mark.parametrize("name", PUBLIC)
def test_public_modules_export_documented_names(name):
    module = importlib.import_module(name)
    assert module.__doc__ and module.__doc__.strip(), f"{name} has no module docstring"
    assert hasattr(module, "__all__"), f"{name} has no __all__"
    for exported in module.__all__:
        value = getattr(module, exported)  # every exported name exists
        if not (inspect.isfunction(value) or inspect.isclass(value)):
            continue
        assert (value.__doc__ or "").strip(), f"{name}.{exported} has no docstring"
        if inspect.isclass(value) and value.__module__.startswith("sim"):
            for attribute, member in vars(value).items():
                if attribute.startswith("_") or not inspect.isfunction(member):
                    continue
                assert (member.__doc__ or "").strip(), \
                    f"{name}.{exported}.{attribute} has no docstring"


def test_scenario_api_is_documented():
    from sim.schema import Scenario

    for method in ("from_file", "with_overrides", "with_changes", "with_shock"):
        assert getattr(Scenario, method).__doc__
