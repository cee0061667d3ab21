"""A small fixed run whose output tables are stored in ``tests/golden/`` so that a change
meant to leave results alone (an optimisation) is checked to do so bit for bit, and, on
libraries other than the recording's, to within what rounding can change.

Re-record only when results are meant to change (model or generator), and say why in the
commit::

    python tests/golden_run.py              # the tables, meta.json and tolerances.json
    python tests/golden_run.py tolerances   # tolerances.json only (tables unchanged)

Why the tolerances are measured rather than chosen
--------------------------------------------------
Other numpy, numba or llvmlite versions (or another CPU: numpy picks SIMD code paths at
run time) may round a few floating-point operations differently in the last bit: a sum
taken in another order, ``exp`` or ``log`` from another implementation. On their own
these move results by ~1e-16. But the model takes yes/no decisions on floats (does a
firm's cash cover its debt, which offers fit a lender's capacity, does a lender fail),
and with 6,000 agents one decision that flips changes a lender's book by a large
fraction; the run then follows another, equally likely path. Measured on this run:
changing a firm parameter (``firms.cash_buffer_quarters``, ``firms.margin_noise_sd`` ...)
by one or two units in the last place changes lenders' net income by as much as the
largest value in the column, group default rates by up to 18 % of their largest value,
and in about one run in 20 makes a lender fail (4 of the 73 of 140 such reruns that
changed results at all; in the others the last bit was absorbed, e.g. by a float32
field). A fixed tolerance small enough to catch
a real change would fail on most new installs; one large enough for every flip would
catch nothing.

So :func:`record_tolerances` measures the spread: it reruns the golden scenario with each
of :data:`ROUNDING_PARAMETERS` moved by ±1 to ±5 units in the last place (what a library
that rounds differently does to the model), and stores for every summary (see
:func:`deviations`) the largest deviation from the recorded tables seen over these runs.
The tolerance check allows :data:`MARGIN` times that, plus :data:`FLOOR` for summaries
that never moved (inputs such as the LPR path, which only summation order could touch).
"""

from __future__ import annotations

import json
import math
import platform
import sys
from pathlib import Path

import numba
import numpy as np
import pandas as pd

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
TABLES = ("quarterly", "groups", "lenders")
TOLERANCES = GOLDEN_DIR / "tolerances.json"

# Parameters moved by a few units in the last place to stand for a library that rounds
# differently: those whose last bit reaches results at all (many are absorbed, e.g. by
# float32 fields), firm-level ones (every firm's accounts, hence default and exit
# decisions), the macro path, and a credit one (every estimated PD and price).
ROUNDING_PARAMETERS = ("firms.mean_reversion_quarterly", "firms.margin_quality_slope",
                       "firms.margin_noise_sd", "firms.cash_buffer_quarters",
                       "firms.owner_draw_share", "firms.max_request_quarters",
                       "macro.gdp_growth_annual", "credit.lgd_unsecured")
ROUNDING_STEPS = (1, 2, 3, 4, 5, -1, -2, -3, -4, -5)  # units in the last place
# Allowed deviation = MARGIN × largest deviation seen over the rounding runs + FLOOR.
# The largest seen over 80 runs is not a sure bound, so it is checked by leaving each
# parameter's runs out in turn and testing them against the others' envelope: with a
# margin of 3 two of 73 held-out runs (that changed results) went outside, with 4 none.
# A 1 % change of the PD intercept or slope still lands far outside (test_golden.py).
MARGIN = 4.0
FLOOR = 1e-9

# numeric columns whose rows mean different things, summarised per value of this column
_SPLIT_BY = {"groups": "metric"}


def golden_scenario():
    from tests.helpers import scenario

    return scenario(agents=6_000, end="2025Q4", seed=777, burn_in=6)


def environment() -> dict:
    """What the bits depend on besides the code: floating-point results are only promised
    identical for the same libraries on the same kind of machine. The kind of machine is
    the processor LLVM compiles the kernels for (``cpu``) and the SIMD code paths numpy
    picks at run time (``numpy_simd``): an AMD Zen 3 and an Intel Xeon with AVX-512 round
    a few operations differently, and the run then takes other yes/no decisions."""
    import llvmlite
    import llvmlite.binding

    return {"numba": numba.__version__, "llvmlite": llvmlite.__version__,
            "numpy": np.__version__, "machine": platform.machine(),
            "system": platform.system(), "cpu": llvmlite.binding.get_host_cpu_name(),
            "numpy_simd": _numpy_simd()}


def _numpy_simd() -> list[str]:
    """The optional SIMD targets numpy was built with that this processor runs."""
    try:  # not public: a numpy without it reports "unknown" (its version is named too)
        from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__
    except ImportError:
        return ["unknown"]
    return [target for target in __cpu_dispatch__ if __cpu_features__.get(target)]


def run_tables(threads: int | None = None,
               scale: dict[str, float] | None = None) -> dict[str, pd.DataFrame]:
    """The golden run's tables; ``scale`` multiplies parameters given by dotted path
    (``{"credit.score_slope": 1.01}``) to see how far results move."""
    from sim.model import run
    from sim.schema import Scenario

    scenario = golden_scenario()
    if threads is not None:
        scenario = scenario.model_copy(
            update={"run": scenario.run.model_copy(update={"threads": threads})})
    if scale:
        raw = scenario.model_dump()
        for path, factor in scale.items():
            *sections, name = path.split(".")
            where = raw
            for section in sections:
                where = where[section]
            where[name] = where[name] * factor
        scenario = Scenario.model_validate(raw)
    result = run(scenario)
    return {name: getattr(result, name).reset_index(drop=True) for name in TABLES}


def recorded_tables() -> dict[str, pd.DataFrame]:
    return {name: pd.read_parquet(GOLDEN_DIR / f"{name}.parquet") for name in TABLES}


def _exact(column: np.ndarray) -> bool:
    """Identifiers (text, integers such as the lender index) must match exactly;
    floats and yes/no columns are compared with a tolerance."""
    return column.dtype.kind not in "fcb"


def mismatched_labels(got: dict[str, pd.DataFrame],
                      want: dict[str, pd.DataFrame]) -> list[str]:
    """Differences no tolerance excuses: shape, column names, identifier columns."""
    problems = []
    for name in TABLES:
        g, w = got[name], want[name]
        if list(g.columns) != list(w.columns) or len(g) != len(w):
            problems.append(f"{name}: shape or columns differ ({g.shape} vs {w.shape})")
            continue
        for column in w.columns:
            b = w[column].to_numpy()
            if _exact(b) and not np.array_equal(g[column].to_numpy(), b):
                problems.append(f"{name}: identifier column {column!r} differs")
    return problems


def deviations(got: dict[str, pd.DataFrame],
               want: dict[str, pd.DataFrame]) -> dict[str, tuple[float, float]]:
    """For every table and numeric column (per metric in ``groups``), two relative
    deviations of ``got`` from ``want``:

    - ``cell``: the largest |got − want| of any row over the largest |want| of the
      column, so a column's small values are not held to a tighter bound than its large;
    - ``mean``: |mean got − mean want| over mean |want|, the column averaged over all its
      rows (quarters, lenders, groups), which is what a change of behaviour moves and
      flips of single decisions mostly average out of.

    NaNs must be where they were (else both are ``inf``). Keys are ``table.column`` or
    ``groups.value.<metric>``.
    """
    out: dict[str, tuple[float, float]] = {}
    for name in TABLES:
        g, w = got[name], want[name]
        split = _SPLIT_BY.get(name)
        parts = [("", np.ones(len(w), dtype=bool))] if split is None else \
            [(f".{key}", (w[split] == key).to_numpy()) for key in pd.unique(w[split])]
        for column in w.columns:
            if _exact(w[column].to_numpy()) or column == split:
                continue
            a_all = g[column].to_numpy().astype(np.float64)
            b_all = w[column].to_numpy().astype(np.float64)
            for suffix, rows in parts:
                a, b = a_all[rows], b_all[rows]
                if not np.array_equal(np.isnan(a), np.isnan(b)):
                    out[f"{name}.{column}{suffix}"] = (math.inf, math.inf)
                    continue
                a, b = a[~np.isnan(b)], b[~np.isnan(b)]
                if b.size == 0:
                    out[f"{name}.{column}{suffix}"] = (0.0, 0.0)
                    continue
                scale = float(np.max(np.abs(b))) or 1.0
                cell = float(np.max(np.abs(a - b))) / scale
                level = float(np.mean(np.abs(b))) or 1.0
                mean = abs(float(np.mean(a)) - float(np.mean(b))) / level
                out[f"{name}.{column}{suffix}"] = (cell, mean)
    return out


def tolerance_problems(got: dict[str, pd.DataFrame], want: dict[str, pd.DataFrame],
                       tolerances: dict[str, list[float]]) -> list[str]:
    """Every summary of ``got`` farther from ``want`` than rounding was seen to move it
    (``tolerances`` as :func:`record_tolerances` stored them), worst first; empty if
    none."""
    problems = mismatched_labels(got, want)
    if problems:
        return problems
    found = []
    for key, (cell, mean) in deviations(got, want).items():
        if key not in tolerances:
            found.append((math.inf, f"{key}: no tolerance recorded (new column? run "
                                     f"`python tests/golden_run.py tolerances`)"))
            continue
        for what, deviation, seen in (("cell", cell, tolerances[key][0]),
                                      ("mean", mean, tolerances[key][1])):
            allowed = MARGIN * seen + FLOOR
            if not deviation <= allowed:
                found.append((deviation / allowed,
                              f"{key}: {what} deviation {deviation:.3g} > allowed "
                              f"{allowed:.3g} ({MARGIN:g} × {seen:.3g} seen from rounding "
                              f"+ {FLOOR:g})"))
    return [text for _, text in sorted(found, key=lambda item: -item[0])]


def record_tolerances(runs: tuple[tuple[str, int], ...] | None = None) -> dict:
    """Rerun the golden scenario with each rounding parameter moved by each of
    :data:`ROUNDING_STEPS` units in the last place and store, per summary, the largest
    deviation from the recorded tables (``[cell, mean]``) in ``tolerances.json``."""
    want = recorded_tables()
    runs = runs or tuple((p, k) for p in ROUNDING_PARAMETERS for k in ROUNDING_STEPS)
    seen: dict[str, list[float]] = {}
    for path, steps in runs:
        got = run_tables(threads=1, scale={path: 1.0 + steps * np.finfo(float).eps})
        assert not mismatched_labels(got, want), (path, steps)
        for key, (cell, mean) in deviations(got, want).items():
            old = seen.setdefault(key, [0.0, 0.0])
            seen[key] = [max(old[0], cell), max(old[1], mean)]
    document = {"how": "largest deviation from the recorded tables over the golden run "
                       "rerun with each parameter moved by each step (units in the last "
                       "place); [cell, mean] as tests/golden_run.py:deviations",
                "parameters": list(ROUNDING_PARAMETERS), "steps": list(ROUNDING_STEPS),
                "environment": environment(), "seen": seen}
    TOLERANCES.write_text(json.dumps(document, indent=1, sort_keys=False) + "\n")
    print(f"recorded tolerances of {len(seen)} summaries from {len(runs)} runs "
          f"in {TOLERANCES}")
    return document


def record() -> None:
    from sim import rng

    GOLDEN_DIR.mkdir(exist_ok=True)
    for name, frame in run_tables().items():
        frame.to_parquet(GOLDEN_DIR / f"{name}.parquet", index=False)
    meta = {"generator_version": rng.GENERATOR_VERSION, "environment": environment()}
    (GOLDEN_DIR / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(f"recorded {', '.join(TABLES)} in {GOLDEN_DIR}")
    record_tolerances()


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    if sys.argv[1:] == ["tolerances"]:
        record_tolerances()
    elif sys.argv[1:]:
        sys.exit("usage: python tests/golden_run.py [tolerances]")
    else:
        record()
