"""Outcome series of a run, by quarter, for comparing scenarios.

Each function returns a *series function*: given a run's tables (anything with
``quarterly``, ``lenders`` and ``groups`` frames, such as :class:`sim.results.RunResult`)
it returns a :class:`pandas.Series` indexed by quarter label. The lever tests and
``experiments/lever_table.py`` describe each lever's first-order outcome with these.
"""

from __future__ import annotations

from sim.categories import BANK_TYPES
from sim.columns import KIND_SIZE_DIMENSION


def quarterly(column: str):
    """A column of the quarterly table."""
    return lambda run: run.quarterly.set_index("quarter")[column]


def quarterly_change(column: str):
    """The quarter-on-quarter change of a column of the quarterly table."""
    return lambda run: run.quarterly.set_index("quarter")[column].diff()


def lender_sum(kinds: tuple[str, ...], column: str):
    """A lender column summed over the lenders of ``kinds``."""
    def series(run):
        frame = run.lenders[run.lenders["kind"].isin(kinds)]
        return frame.groupby("quarter", sort=False)[column].sum()
    return series


def lender_ratio(kinds: tuple[str, ...], numerator: str, denominator: str):
    """Sum of one lender column ÷ sum of another, over the lenders of ``kinds``."""
    def series(run):
        frame = run.lenders[run.lenders["kind"].isin(kinds)]
        sums = frame.groupby("quarter", sort=False)[[numerator, denominator]].sum()
        return sums[numerator] / sums[denominator]
    return series


def bank_lending_to(size: str):
    """New finance from banks of every type to firms of one size (亿元)."""
    def series(run):
        groups = run.groups[run.groups["dimension"] == KIND_SIZE_DIMENSION]
        wanted = [f"{kind}|{size}" for kind in BANK_TYPES]
        return groups[groups["group"].isin(wanted)].groupby("quarter", sort=False)[
            "value"].sum()
    return series
