"""Small builders shared by the tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from sim.config import _deep_merge
from sim.schema import Scenario

REPO_ROOT = Path(__file__).resolve().parents[1]
BASELINE = REPO_ROOT / "scenarios" / "baseline.toml"


def scenario(agents: int = 20_000, end: str = "2024Q4", seed: int = 20240101,
             burn_in: int = 16, **sections) -> Scenario:
    """A baseline scenario of a given size and horizon, with section overrides."""
    raw = {"run": {"agents": agents, "end": end, "seed": seed, "burn_in_quarters": burn_in}}
    return Scenario.model_validate(_deep_merge(raw, sections))


# A quarter past either bound is taken for a model artefact unless the scenario says why
# its shock is that large (run.extreme_shock_reason).
MAX_DEFAULT_RATE_ANNUAL = 0.15
MAX_NEW_LENDING_FALL = 0.50


def extreme_quarters(quarterly) -> list[str]:
    """The quarters of a run's quarterly table whose default rate (already annual: 4 ×
    1 − (1 − quarterly rate)⁴, sim/columns.py) exceeds MAX_DEFAULT_RATE_ANNUAL or whose new
    lending fell by more than MAX_NEW_LENDING_FALL on the quarter before, each with
    its figure."""
    default = quarterly["default_rate"].to_numpy()
    new = quarterly["new_loans"].to_numpy()
    fall = 1.0 - new[1:] / np.maximum(new[:-1], 1e-12)
    labels = quarterly["quarter"].to_numpy()
    found = [f"{labels[k]}: default rate {default[k]:.1%}/yr"
             for k in np.flatnonzero(default > MAX_DEFAULT_RATE_ANNUAL)]
    found += [f"{labels[k + 1]}: new lending fell {fall[k]:.0%}"
              for k in np.flatnonzero(fall > MAX_NEW_LENDING_FALL)]
    return found


_TARGET = """
[[target]]
id = "{id}"
figure = "synthetic"
column = "{column}"
measure = "share"
period = "annual_mean"
channel = "all"
years = [2025]
value = {value!r}
standard_error = {se!r}
source = "{source}"
definition = "annual mean of {column} in 2025"
"""


def target_toml(id: str, column: str, value: float, se: float, source: str) -> str:
    """One ``[[target]]`` of a targets file: the 2025 annual mean of a quarterly column."""
    return _TARGET.format(id=id, column=column, value=value, se=se, source=source)


def write_text(path, text: str):
    """Write ``text`` to ``path`` (UTF-8) and return the path."""
    path.write_text(text, encoding="utf-8")
    return path


def calibration_toml(name: str, scenario, parameters: dict[str, str], *, trials: int = 8,
                     seed: int = 7, extra: str = "") -> str:
    """A small calibration file against ``targets.toml`` beside it: 2,000 SMEs, 2
    replicates, CMA-ES, runs to 2025Q4; ``parameters`` maps each key to its table's body
    (``range = [...]``, optionally a prior)."""
    body = "".join(f'\n[parameters."{key}"]\n{spec}\n' for key, spec in parameters.items())
    return f"""
name = "{name}"
scenario = "{Path(scenario).as_posix()}"
targets = "targets.toml"
agents = 2000
replicates = 2
trials = {trials}
batch = 4
sampler = "cmaes"
seed = {seed}
end = "2025Q4"
{extra}
{body}"""


def sim_cli(*args, timeout: float = 900) -> subprocess.CompletedProcess:
    """``python -m sim ARGS`` from the repository root, its output captured as text (a
    command still running after ``timeout`` seconds fails the test, not hangs it)."""
    return subprocess.run([sys.executable, "-m", "sim", *map(str, args)],
                          capture_output=True, text=True, cwd=REPO_ROOT, timeout=timeout)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def synthetic_targets(folder: Path, calibration_file: Path, truth: dict[str, float],
                      columns: tuple[str, ...], source: str):
    """Write ``folder/targets.toml``: the 2025 mean of each of ``columns`` as the model
    makes it at ``truth``, on seeds no search uses (101–104), with a standard error of
    the seed noise (at least 5% of the value). Returns the calibration's simulator."""
    import pandas as pd

    from sim.calibration.spec import load_calibration

    write_text(folder / "targets.toml", 'name = "probe"\n' + "".join(
        target_toml(c, c, 0.1, 0.01, source) for c in columns))
    simulate = load_calibration(calibration_file).simulator
    runs = pd.DataFrame([simulate(truth, seed) for seed in (101, 102, 103, 104)])
    mean, spread = runs.mean(), runs.std(ddof=1)
    write_text(folder / "targets.toml", 'name = "synthetic"\n' + "".join(
        target_toml(c, c, float(mean[c]), float(max(spread[c], 0.05 * abs(mean[c]))),
                    source) for c in columns))
    return simulate
