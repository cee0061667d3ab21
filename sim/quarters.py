"""Quarter labels ("2024Q1") and their integer index (year * 4 + quarter - 1)."""

from __future__ import annotations

import re

__all__ = ["parse_quarter", "quarter_label", "quarter_year"]

_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")


def parse_quarter(label: str) -> int:
    """Return the integer index of a label such as ``"2024Q1"``; raise ValueError if malformed."""
    match = _QUARTER.match(str(label))
    if not match:
        raise ValueError(f"'{label}' is not a quarter; write it as YYYYQn, e.g. 2024Q1")
    return int(match.group(1)) * 4 + int(match.group(2)) - 1


def quarter_label(index: int) -> str:
    """Inverse of :func:`parse_quarter`."""
    return f"{index // 4}Q{index % 4 + 1}"


def quarter_year(index: int) -> int:
    """The year of quarter ``index``."""
    return index // 4
