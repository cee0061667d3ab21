"""A small fixed run whose output tables are stored in ``tests/golden/`` so that a change
meant to leave results alone (an optimisation) is checked to do so bit for bit.

Re-record only when results are meant to change (model or generator), and say why in the
commit::

    python tests/golden_run.py
"""

from __future__ import annotations

import json
import platform
import sys
from pathlib import Path

import numba
import numpy as np
import pandas as pd

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
TABLES = ("quarterly", "groups", "lenders")


def golden_scenario():
    from tests.helpers import scenario

    return scenario(agents=6_000, end="2025Q4", seed=777, burn_in=6)


def environment() -> dict:
    """What the bits depend on besides the code: floating-point results are only promised
    identical for the same libraries on the same kind of machine."""
    import llvmlite

    return {"numba": numba.__version__, "llvmlite": llvmlite.__version__,
            "numpy": np.__version__, "machine": platform.machine(),
            "system": platform.system()}


def run_tables(threads: int | None = None) -> dict[str, pd.DataFrame]:
    from sim.model import run

    scenario = golden_scenario()
    if threads is not None:
        scenario = scenario.model_copy(
            update={"run": scenario.run.model_copy(update={"threads": threads})})
    result = run(scenario)
    return {name: getattr(result, name).reset_index(drop=True) for name in TABLES}


def record() -> None:
    from sim import rng

    GOLDEN_DIR.mkdir(exist_ok=True)
    for name, frame in run_tables().items():
        frame.to_parquet(GOLDEN_DIR / f"{name}.parquet", index=False)
    meta = {"generator_version": rng.GENERATOR_VERSION, "environment": environment()}
    (GOLDEN_DIR / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(f"recorded {', '.join(TABLES)} in {GOLDEN_DIR}")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    record()
