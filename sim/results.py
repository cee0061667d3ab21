"""Run results: the in-memory :class:`RunResult`, run folders on disk and a terminal summary.

A run folder holds ``quarterly.parquet``, ``groups.parquet``, ``lenders.parquet`` and
``run.json``. It is written into a temporary sibling folder and renamed into place, so a
folder with the final name is always complete.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import SimError

__all__ = ["RunResult", "RunFolderError", "load_run", "write_run", "summary_table",
           "default_run_dir", "safe_name", "with_period_index", "TABLE_FILES", "RUN_FILES",
           "META_FILE", "PANEL_FILE"]

TABLE_FILES = ("quarterly", "groups", "lenders")
META_FILE = "run.json"
PANEL_FILE = "panel.parquet"  # written when the run kept a panel (run.panel_firms > 0)
RUN_FILES = tuple(f"{name}.parquet" for name in TABLE_FILES) + (META_FILE,)
PARTIAL_MARKER = ".partial-"
GROUP_FRAME_COLUMNS = ("quarter", "dimension", "group", "metric", "value")


class RunFolderError(SimError):
    """A run folder that cannot be written or read."""


def with_period_index(quarterly: pd.DataFrame) -> pd.DataFrame:
    """``quarterly`` indexed by its quarters as a ``pd.PeriodIndex`` (freq ``Q``, named
    ``period``), its ``quarter`` column kept: ``.loc["2025"]`` selects a year and plots
    get a time axis."""
    frame = quarterly.copy()
    frame.index = pd.PeriodIndex(frame["quarter"].astype(str), freq="Q", name="period")
    return frame


@dataclass(repr=False)
class RunResult:
    """Everything one run produces.

    ``quarterly`` has one row per reported quarter, indexed by ``pd.PeriodIndex``
    (columns of ``sim.columns.QUARTERLY_COLUMNS``, ``quarter`` also as the text
    "2024Q1"); ``groups`` is long form (quarter, dimension, group, metric, value);
    ``lenders`` has the columns of ``sim.columns.LENDER_COLUMNS``; ``panel`` follows a
    sample of SMEs quarter by quarter (``sim.panel.panel_columns``; empty when the run
    kept none); ``meta`` is the JSON-serialisable content of run.json.
    """

    quarterly: pd.DataFrame
    groups: pd.DataFrame
    lenders: pd.DataFrame
    meta: dict
    panel: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        if "quarter" in self.quarterly and not isinstance(self.quarterly.index,
                                                          pd.PeriodIndex):
            self.quarterly = with_period_index(self.quarterly)
        if self.panel is None:
            from sim.panel import empty_frame

            self.panel = empty_frame()

    def __repr__(self) -> str:
        meta = self.meta if isinstance(self.meta, dict) else {}
        quarters = self.quarterly["quarter"] if "quarter" in self.quarterly else []
        span = f"{quarters.iloc[0]}–{quarters.iloc[-1]}" if len(quarters) else "no quarters"
        agents = meta.get("agents")
        facts = [span, f"{len(quarters)} quarters"]
        if agents:
            facts.append(f"{agents:,} SMEs")
        facts += [str(meta[key]) for key in ("engine",) if key in meta]
        if "seed" in meta:
            facts.append(f"seed {meta['seed']}")
        tables = ", ".join(f"{name} {len(getattr(self, name)):,} rows"
                           for name in ("quarterly", "lenders", "groups", "panel"))
        return f"<RunResult {meta.get('name', '?')!r}: {'; '.join(facts)}; {tables}>"

    def summary(self, years: str = "all") -> pd.DataFrame:
        """Headline figures by year (rows: labelled with units; columns: years), averaged
        over each year's quarters, flows annualised. ``years="ends"``: only the first
        and last reported year, as ``sim run`` prints them."""
        quarterly = self.quarterly
        if years == "ends":
            chosen = _year_frames(quarterly)
        else:
            year_of = quarterly["quarter"].astype(str).str[:4]
            chosen = [(year, quarterly[year_of == year]) for year in sorted(set(year_of))]
        table = pd.DataFrame({label: [compute(frame) for _, compute in SUMMARY_ROWS]
                              for label, frame in chosen},
                             index=[label for label, _ in SUMMARY_ROWS])
        table.index.name = self.meta.get("name", "run") if isinstance(self.meta, dict) \
            else "run"
        return table

    def plot(self, out: str | Path | None = None, label: str | None = None,
             formats: str | tuple[str, ...] = ("png",), dpi: int = 200,
             report: bool = False):
        """The standard figures of this run: a dict of name → matplotlib Figure, or,
        with ``out``, the figures saved there in ``formats`` (png at ``dpi``, svg, pdf)
        and their paths, plus report.pdf (one page: headline table and overview) with
        ``report``. ``label`` names the run in titles (default: the scenario's name)."""
        from sim.plot import run_label, save_standard_figures, standard_figures

        runs = {label or run_label(self): self}
        if out is None:  # shown inline at the display's resolution
            return standard_figures(runs, formats=formats)
        paths = save_standard_figures(runs, Path(out), formats=formats, dpi=dpi)
        if report:
            from sim.plot_report import save_report

            paths.append(save_report(runs, Path(out) / "report.pdf"))
        return paths


# ---------------------------------------------------------------- writing


def _json_default(value: Any) -> Any:
    """Convert the numpy and path values that commonly end up in metadata."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"run metadata value {value!r} ({type(value).__name__}) is not "
                    "JSON-serialisable")


def _partial_dir(out_dir: Path) -> Path:
    return out_dir.with_name(f"{out_dir.name}{PARTIAL_MARKER}{os.getpid()}")


def _refuse_existing(out_dir: Path) -> None:
    if out_dir.exists() or out_dir.is_symlink():
        raise RunFolderError(f"run folder {out_dir} already exists; choose another output "
                             "folder or remove it first")


def write_run(result: RunResult, out_dir: Path) -> Path:
    """Write ``result`` as a run folder at ``out_dir`` and return that path.

    Everything goes into ``<out_dir>.partial-<pid>`` first (run.json last) and the folder is
    renamed into place only when complete. An existing ``out_dir`` is refused. On any
    failure, Ctrl-C included, the partial folder is removed.
    """
    out_dir = Path(out_dir)
    _refuse_existing(out_dir)
    # Serialise the metadata before touching the disk so a bad value fails fast.
    meta_text = json.dumps(result.meta, indent=2, ensure_ascii=False, default=_json_default)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    partial = _partial_dir(out_dir)
    # A leftover with our pid can only be an unfinished folder from an earlier crash.
    shutil.rmtree(partial, ignore_errors=True)
    try:
        partial.mkdir()
        for name in TABLE_FILES:
            getattr(result, name).to_parquet(partial / f"{name}.parquet", index=False)
        if result.panel is not None and len(result.panel):
            result.panel.to_parquet(partial / PANEL_FILE, index=False)
        (partial / META_FILE).write_text(meta_text + "\n", encoding="utf-8")
        # Re-check: another process may have taken the name while we were writing, and
        # rename() would silently replace an empty folder.
        _refuse_existing(out_dir)
        os.replace(partial, out_dir)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return out_dir


def safe_name(name: str) -> str:
    """A scenario name usable as part of a folder name (no separators or spaces)."""
    cleaned = re.sub(r'[\\/:*?"<>|\s]+', "_", name).strip("._")
    return cleaned or "run"


def default_run_dir(scenario_name: str, seed: int, root: Path = Path("results")) -> Path:
    """``<root>/<name>-<YYYYmmdd-HHMMSS>-s<seed>``, with -2, -3 ... appended if taken."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path(root) / f"{safe_name(scenario_name)}-{stamp}-s{seed}"
    candidate, number = base, 2
    while candidate.exists():
        candidate = base.with_name(f"{base.name}-{number}")
        number += 1
    return candidate


# ---------------------------------------------------------------- reading


def _check_run_folder(path: Path) -> None:
    if not path.exists():
        raise RunFolderError(f"run folder not found: {path}")
    if not path.is_dir():
        raise RunFolderError(f"{path} is a file; give a run folder (it holds {META_FILE})")
    if PARTIAL_MARKER in path.name:
        raise RunFolderError(f"{path} is an unfinished run folder (the run was interrupted "
                             "or is still being written)")
    missing = [name for name in RUN_FILES if not (path / name).is_file()]
    if missing:
        raise RunFolderError(f"{path} is not a run folder: {', '.join(missing)} "
                             f"{'is' if len(missing) == 1 else 'are'} missing")


def _read_table(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise RunFolderError(f"{path}: cannot read the table ({exc})") from None


def _read_meta(path: Path) -> dict:
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunFolderError(f"{path}: not readable JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise RunFolderError(f"{path}: expected a JSON object, got {type(meta).__name__}")
    return meta


def load_run(path: str | Path) -> RunResult:
    """Read a run folder written by :func:`write_run`."""
    path = Path(path)
    _check_run_folder(path)
    tables = {name: _read_table(path / f"{name}.parquet") for name in TABLE_FILES}
    panel = _read_table(path / PANEL_FILE) if (path / PANEL_FILE).exists() else None
    return RunResult(meta=_read_meta(path / META_FILE), panel=panel, **tables)


# ---------------------------------------------------------------- terminal summary


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    """A numeric column, or all-NaN if the run did not report it."""
    if name not in frame:
        return pd.Series(np.nan, index=frame.index)
    return pd.to_numeric(frame[name], errors="coerce")


def _mean(frame: pd.DataFrame, name: str) -> float:
    return float(_column(frame, name).mean())


def _weighted_mean(frame: pd.DataFrame, name: str, weight: str) -> float:
    """Mean of ``name`` weighted by the flow ``weight``; plain mean when weights are empty."""
    values, weights = _column(frame, name), _column(frame, weight)
    usable = values.notna() & weights.notna() & (weights > 0)
    if not usable.any():
        return _mean(frame, name)
    return float((values[usable] * weights[usable]).sum() / weights[usable].sum())


def _ratio_of_sums(frame: pd.DataFrame, numerator: str, denominator: str) -> float:
    total = _column(frame, denominator).sum(min_count=1)
    if not total or math.isnan(total):
        return math.nan
    return float(_column(frame, numerator).sum(min_count=1) / total)


def _per_year(frame: pd.DataFrame, name: str) -> float:
    """A quarterly flow as an annual amount (mean × 4, i.e. the sum of a full year)."""
    return _mean(frame, name) * 4


# (label, value for one year's quarters). Rates and shares of flows are weighted by the
# flow they describe, so a quiet quarter does not count as much as a busy one.
SUMMARY_ROWS: tuple[tuple[str, Any], ...] = (
    ("SMEs alive (万 firms)", lambda f: _mean(f, "sme_alive") / 1e4),
    ("New loans (万亿元/yr)", lambda f: _per_year(f, "new_loans") / 1e4),
    ("Online share of new lending (%)",
     lambda f: 100 * _ratio_of_sums(f, "new_loans_online", "new_loans")),
    ("Avg new-loan rate, all (%)", lambda f: 100 * _weighted_mean(f, "avg_rate_new", "new_loans")),
    ("Avg new-loan rate, bank (%)",
     lambda f: 100 * _weighted_mean(f, "avg_rate_new_bank", "new_loans_bank")),
    ("Avg new-loan rate, online (%)",
     lambda f: 100 * _weighted_mean(f, "avg_rate_new_online", "new_loans_online")),
    ("NPL ratio (%)", lambda f: 100 * _mean(f, "npl_ratio")),
    ("Default rate (%/yr)", lambda f: 100 * _mean(f, "default_rate")),
    ("Unmet-demand share (%)",
     lambda f: 100 * _weighted_mean(f, "unmet_demand_share", "credit_demand")),
    ("Approval rate (%)", lambda f: 100 * _ratio_of_sums(f, "approvals", "applications")),
    ("Bank capital ratio, mean (%)", lambda f: 100 * _mean(f, "bank_car_mean")),
    ("Fiscal cost (亿元/yr)", lambda f: _per_year(f, "fiscal_cost")),
)


def _display_width(text: str) -> int:
    """Terminal columns taken by ``text`` (CJK characters take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, right: bool = False) -> str:
    fill = " " * max(0, width - _display_width(text))
    return fill + text if right else text + fill


def _format_value(value: float) -> str:
    if value is None or math.isnan(value):
        return "–"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.2f}"


def _year_frames(quarterly: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """The first and last reported year (one entry if they coincide), labelled."""
    years = quarterly["quarter"].astype(str).str[:4].astype(int)
    chosen = sorted({years.min(), years.max()})
    frames = []
    for year in chosen:
        frame = quarterly[years == year]
        label = str(year) if len(frame) == 4 else f"{year} ({len(frame)}q)"
        frames.append((label, frame))
    return frames


def summary_table(result: RunResult) -> str:
    """A short plain-text table of headline numbers for the first and last reported year.

    Values are averages over each year's quarters; flows are annualised.
    """
    quarterly = result.quarterly
    if quarterly.empty:
        return "(no quarters reported)"
    table = result.summary(years="ends")
    header = ["", *table.columns]
    rows = [[label, *(_format_value(value) for value in values)]
            for label, values in zip(table.index, table.to_numpy())]
    widths = [max(_display_width(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(_pad(cell, widths[i], right=i > 0) for i, cell in enumerate(row)).rstrip()
             for row in [header, *rows]]
    title = result.meta.get("name") if isinstance(result.meta, dict) else None
    first, last = quarterly["quarter"].iloc[0], quarterly["quarter"].iloc[-1]
    caption = (f"{title + ': ' if title else ''}{first}–{last}; first and last reported year, "
               "averaged over their quarters")
    return "\n".join([caption, *lines])
