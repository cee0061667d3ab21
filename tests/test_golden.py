"""Results stay bit-identical to the recorded small run unless a change means to alter
them (then re-record with ``python tests/golden_run.py`` and say why)."""

import json

import numpy as np
import pandas as pd
import pytest

from sim import rng
from tests.golden_run import GOLDEN_DIR, TABLES, environment, run_tables


def _first_difference(name: str, got: pd.DataFrame, want: pd.DataFrame) -> str | None:
    if list(got.columns) != list(want.columns) or len(got) != len(want):
        return f"{name}: shape or columns differ ({got.shape} vs {want.shape})"
    for column in want.columns:
        a, b = got[column].to_numpy(), want[column].to_numpy()
        same = (a == b) | (pd.isna(a) & pd.isna(b)) if a.dtype.kind in "fc" else a == b
        if not np.all(same):
            row = int(np.argmin(same))
            where = {k: got.iloc[row][k] for k in ("quarter", "lender", "dimension", "group",
                                                    "metric") if k in got.columns}
            return (f"{name}: first difference in column {column!r} at row {row} {where}: "
                    f"{a[row]!r} vs recorded {b[row]!r}")
    return None


def test_results_are_bit_identical_to_the_recorded_run():
    meta = json.loads((GOLDEN_DIR / "meta.json").read_text())
    if meta["generator_version"] != rng.GENERATOR_VERSION:
        pytest.fail(f"generator is {rng.GENERATOR_VERSION} but the golden run was recorded "
                    f"with {meta['generator_version']}: re-record it")
    if meta["environment"] != environment():
        pytest.skip(f"golden run recorded with {meta['environment']}, "
                    f"this is {environment()}")
    got = run_tables(threads=1)
    for name in TABLES:
        want = pd.read_parquet(GOLDEN_DIR / f"{name}.parquet")
        problem = _first_difference(name, got[name], want)
        assert problem is None, problem
