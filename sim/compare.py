"""Comparing two scenarios with common random numbers.

BASE and OTHER run with the same seeds (replicate r uses seed ``S + r``), so every draw
the policy does not touch is shared and the paired difference OTHER − BASE of a
replicate is the policy's effect plus far less noise than two independent runs would
carry. Over R replicates the mean difference gets a t-based 95% replication interval.

    from sim.compare import compare
    result = compare("scenarios/baseline.toml", "scenarios/rate_cut.toml", reps=5,
                     agents=50_000)
    result.summary()            # one row per outcome, averaged over the effect window
    result.differences()        # one row per outcome and quarter
    with_units(result.summary())  # the same with units: percentages, percentage points

A comparison folder keeps every replicate as a run folder (``runs/base-r0``,
``runs/other-r0``, ...), so ``sim plot COMPARISON_DIR`` draws both scenarios with
replicate bands.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.config import ScenarioError, read_with_extends, scenario_from_dict
from sim.errors import SimError
from sim.plot_labels import table_unit, words
from sim.quarters import parse_quarter, quarter_label
from sim.results import RunResult, load_run, write_run
from sim.schema import Scenario

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# Outcomes the comparison reports by default: what the levers act on first and last.
KEY_OUTCOMES: tuple[str, ...] = (
    "new_loans", "new_loans_bank", "new_loans_online", "new_loans_supply_chain",
    "loan_balance", "avg_rate_new", "avg_rate_new_bank", "avg_rate_new_online",
    "avg_rate_new_supply_chain", "approval_rate", "unmet_demand_share", "default_rate",
    "npl_ratio", "online_share_new", "online_share_balance", "first_time_borrowers",
    "bank_funding_cost", "fiscal_cost",
)
RUNS_DIR = "runs"  # replicate run folders inside a comparison folder
ROLES = ("base", "other")


class CompareError(SimError):
    """Two scenarios that cannot be compared, or a comparison folder that cannot be written."""


def t_quantile_975(df: int) -> float:
    """The 0.975 quantile of Student's t with ``df`` degrees of freedom."""
    if df < 1:
        return math.nan
    from scipy import stats

    return float(stats.t.ppf(0.975, df))


def paired_stats(diffs: np.ndarray) -> dict[str, float]:
    """Mean, sd, t statistic and 95% interval of paired differences (one per replicate)."""
    diffs = np.asarray(diffs, dtype=float)
    n = len(diffs)
    mean = float(diffs.mean()) if n else math.nan
    sd = float(diffs.std(ddof=1)) if n > 1 else math.nan
    se = sd / math.sqrt(n) if n > 1 else math.nan
    if n > 1 and se == 0.0:
        t = 0.0 if mean == 0.0 else math.copysign(math.inf, mean)
    else:
        t = mean / se if n > 1 else math.nan
    half = t_quantile_975(n - 1) * se if n > 1 else math.nan
    return {"diff": mean, "sd": sd, "t": t, "ci_low": mean - half, "ci_high": mean + half,
            "reps": n}


# ---------------------------------------------------------------- scenarios


def load_window(path: str | Path, **run: Any) -> Scenario:
    """Load a scenario with ``run`` keys overridden (``agents``, ``seed``, ``start``,
    ``end``, ``burn_in_quarters`` ...), dropping scheduled changes and shocks that begin
    after the new end: a shorter horizon for tests and notebooks without editing the
    file. Changes before the new start still apply (in the burn-in)."""
    path = Path(path)
    raw = read_with_extends(path)
    raw["run"] = {**raw.get("run", {}), **{k: v for k, v in run.items() if v is not None}}
    raw.setdefault("name", path.stem)
    try:
        end = parse_quarter(raw["run"].get("end", Scenario().run.end))
    except ValueError as exc:
        raise ScenarioError(f"{path}: {exc}") from None

    def first(entry: dict) -> str:
        return str(entry.get("at") or entry.get("from") or "")

    def keep(entry: dict) -> bool:
        try:
            return parse_quarter(first(entry)) <= end
        except ValueError:
            return True  # let validation name the bad quarter

    raw["shock"] = [e for e in raw.get("shock", []) if keep(e)]
    changes = [e for e in raw.get("change", []) if keep(e)]
    raw["change"] = [_cut_ramp(raw, changes, e, end) for e in changes]
    return scenario_from_dict(raw, str(path))


def _cut_ramp(raw: dict, changes: list[dict], ramp: dict, end: int) -> dict:
    """A ramp running past ``end`` stops there at the value it would have reached, so
    its slope is the file's: the value it starts from is the scenario's, after the
    ``set`` changes scheduled before the ramp begins."""
    if not isinstance(ramp.get("ramp"), dict) or not isinstance(ramp.get("to"), str):
        return ramp
    try:
        first, last = parse_quarter(ramp["from"]), parse_quarter(ramp["to"])
    except (KeyError, ValueError):
        return ramp
    if last <= end:
        return ramp
    from sim.config import resolve_path

    probe = Scenario.model_validate({k: v for k, v in raw.items()
                                     if k not in ("change", "shock")})
    earlier = sorted((parse_quarter(c["at"]), n) for n, c in enumerate(changes)
                     if isinstance(c.get("set"), dict) and isinstance(c.get("at"), str)
                     and parse_quarter(c["at"]) < first)
    for _, n in earlier:
        for key, value in changes[n]["set"].items():
            target, name = resolve_path(probe, key)
            setattr(target, name, value)
    reached = {}
    for key, goal in ramp["ramp"].items():
        target, name = resolve_path(probe, key)
        start = float(getattr(target, name))
        reached[key] = start + (float(goal) - start) * (end - first + 1) / (last - first + 1)
    return {**ramp, "to": quarter_label(end), "ramp": reached}


def lever_start(base: Scenario, other: Scenario) -> int | None:
    """The first quarter in which OTHER's schedule differs from BASE's (or None)."""
    def entries(sc: Scenario) -> list[tuple[int, str]]:
        out = []
        for change in sc.change:
            label = change.at or change.start
            out.append((parse_quarter(label), json.dumps(change.model_dump(by_alias=True),
                                                         sort_keys=True, default=str)))
        for shock in sc.shock:
            out.append((parse_quarter(shock.at), json.dumps(shock.model_dump(),
                                                            sort_keys=True, default=str)))
        return out

    settings = ("population", "macro", "firms", "credit", "banks", "platforms", "policy")
    if any(getattr(base, name) != getattr(other, name) for name in settings):
        # different starting values act from the first simulated quarter
        return parse_quarter(other.run.start) - other.run.burn_in_quarters
    base_entries = entries(base)
    other_entries = entries(other)
    differing = [q for q, text in other_entries if (q, text) not in base_entries]
    differing += [q for q, text in base_entries if (q, text) not in other_entries]
    return min(differing) if differing else None


def check_comparable(base: Scenario, other: Scenario) -> None:
    """Common random numbers need the same population, horizon and burn-in."""
    for key in ("start", "end", "burn_in_quarters", "agents"):
        a, b = getattr(base.run, key), getattr(other.run, key)
        if a != b:
            hint = " (use --agents to set both)" if key == "agents" else ""
            raise CompareError(f"BASE and OTHER differ in run.{key} ({a} vs {b}); a paired "
                               f"comparison needs the same horizon and agents{hint}")


# ---------------------------------------------------------------- running


@dataclass
class Comparison:
    """Paired runs of two scenarios: replicate r of each used ``seeds[r]``."""

    base_name: str
    other_name: str
    seeds: list[int]
    # every replicate's full result, written as run folders by write_comparison
    base_runs: list[RunResult] = field(repr=False)
    other_runs: list[RunResult] = field(repr=False)
    start: str | None = None           # first quarter the lever acts (None: from the start)
    outcomes: tuple[str, ...] = KEY_OUTCOMES
    meta: dict = field(default_factory=dict)

    @property
    def base(self) -> list[pd.DataFrame]:
        """The base scenario's quarterly tables, one per replicate."""
        return [run.quarterly for run in self.base_runs]

    @property
    def other(self) -> list[pd.DataFrame]:
        """The other scenario's quarterly tables, one per replicate."""
        return [run.quarterly for run in self.other_runs]

    @property
    def quarters(self) -> list[str]:
        return [str(q) for q in self.base[0]["quarter"]]

    def values(self, which: str, outcome: str) -> np.ndarray:
        """``outcome`` per replicate (rows) and quarter (columns) of "base" or "other"."""
        runs = {"base": self.base, "other": self.other}[which]
        return np.vstack([run[outcome].to_numpy(dtype=float) for run in runs])

    def window(self) -> list[str]:
        """Reported quarters from the lever's start (all of them if it acts earlier)."""
        if self.start is None:
            return self.quarters
        first = parse_quarter(self.start)
        return [q for q in self.quarters if parse_quarter(q) >= first] or self.quarters

    def differences(self) -> pd.DataFrame:
        """Per outcome and quarter: base and other means, paired difference, its sd,
        t statistic and 95% replication interval."""
        rows = []
        for outcome in self.outcomes:
            base, other = self.values("base", outcome), self.values("other", outcome)
            for t, quarter in enumerate(self.quarters):
                stats = paired_stats(other[:, t] - base[:, t])
                rows.append({"outcome": outcome, "quarter": quarter,
                             "base": float(base[:, t].mean()),
                             "other": float(other[:, t].mean()), **stats})
        return pd.DataFrame(rows)

    def summary(self, quarters: Sequence[str] | None = None) -> pd.DataFrame:
        """Per outcome: each replicate's mean over ``quarters`` (default: the window from
        the lever's start), then the paired difference with its interval."""
        chosen = list(quarters) if quarters is not None else self.window()
        index = [self.quarters.index(q) for q in chosen]
        rows = []
        for outcome in self.outcomes:
            base = self.values("base", outcome)[:, index].mean(axis=1)
            other = self.values("other", outcome)[:, index].mean(axis=1)
            rows.append({"outcome": outcome, "base": float(base.mean()),
                         "other": float(other.mean()), **paired_stats(other - base)})
        frame = pd.DataFrame(rows)
        frame.attrs["quarters"] = f"{chosen[0]}–{chosen[-1]}"
        return frame

    def table(self) -> str:
        """The summary as plain text for the terminal, with units (percentages, their
        differences in percentage points)."""
        frame = with_units(self.summary())
        header = ["outcome", "unit", "base", "other", "difference", "95% interval", "t"]
        rows = []
        for r in frame.itertuples():
            points = " pp" if r.diff_unit == "percentage points" else ""
            rows.append([r.outcome, r.unit, _fmt(r.base), _fmt(r.other), _fmt(r.diff) + points,
                         f"[{_fmt(r.ci_low)}, {_fmt(r.ci_high)}]{points}", f"{r.t:.1f}"])
        widths = [max(_width(row[i]) for row in [header, *rows]) for i in range(len(header))]
        lines = ["  ".join(_pad(cell, widths[i], right=i > 1) for i, cell in enumerate(row))
                 .rstrip() for row in [header, *rows]]
        caption = (f"{self.other_name} − {self.base_name}: mean over {frame.attrs['quarters']}"
                   f", {len(self.seeds)} paired replicate(s), seeds {self.seeds[0]}"
                   f"{'…' + str(self.seeds[-1]) if len(self.seeds) > 1 else ''}; pp = "
                   "percentage points")
        return "\n".join([caption, *lines])


def with_units(frame: pd.DataFrame) -> pd.DataFrame:
    """A summary or differences table in display units: ``label`` (words), ``unit`` of
    base and other, ``diff_unit`` of diff, sd and the interval; fractions shown as
    percentages and their differences in percentage points, amounts in 亿元. The t
    statistic and the number of replicates are unchanged."""
    out = frame.copy()
    units = [table_unit(str(outcome)) for outcome in out["outcome"]]
    scale = np.array([unit[2] for unit in units])
    for column in ("base", "other", "diff", "sd", "ci_low", "ci_high"):
        if column in out:
            out[column] = out[column].to_numpy(dtype=float) * scale
    position = list(out.columns).index("outcome") + 1
    out.insert(position, "label", [words(str(o)) for o in out["outcome"]])
    out.insert(position + 1, "unit", [unit[0] for unit in units])
    out.insert(list(out.columns).index("other") + 1 if "other" in out else position + 2,
               "diff_unit", [unit[1] for unit in units])
    out.attrs = dict(frame.attrs)
    return out


def _width(text: str) -> int:
    """Terminal columns taken by ``text`` (CJK characters such as 亿元 take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, right: bool = False) -> str:
    fill = " " * max(0, width - _width(text))
    return fill + text if right else text + fill


def _fmt(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.4f}"


def compare_scenarios(base: Scenario, other: Scenario, reps: int = 5,
                      outcomes: Sequence[str] = KEY_OUTCOMES,
                      progress: Callable[[str], None] | None = None,
                      run: Callable | None = None) -> Comparison:
    """Run BASE and OTHER ``reps`` times each with seeds ``base.run.seed + r``."""
    if reps < 1:
        raise CompareError(f"--reps must be at least 1, got {reps}")
    check_comparable(base, other)
    if run is None:
        from sim.model import run
    root = base.run.seed
    seeds = [root + r for r in range(reps)]
    results: dict[str, list] = {"base": [], "other": []}
    step = 0
    for seed in seeds:
        for label, scenario in (("base", base), ("other", other)):
            step += 1
            if progress is not None:
                progress(f"run {step}/{2 * reps}: {scenario.name} seed {seed}")
            sc = scenario.model_copy(deep=True)
            sc.run.seed = seed
            results[label].append(run(sc))
    start = lever_start(base, other)
    first = parse_quarter(base.run.start)
    return Comparison(
        base_name=base.name, other_name=other.name, seeds=seeds,
        base_runs=list(results["base"]), other_runs=list(results["other"]),
        start=quarter_label(max(start, first)) if start is not None else None,
        outcomes=tuple(outcomes),
        meta={"agents": base.run.agents, "threads": results["base"][0].meta.get("threads")},
    )


def compare(base: str | Path, other: str | Path, reps: int = 5, **run: Any) -> Comparison:
    """Load two scenario files (``run`` keys overridden in both, horizon shortened as in
    :func:`load_window`) and compare them."""
    return compare_scenarios(load_window(base, **run), load_window(other, **run), reps=reps)


# ---------------------------------------------------------------- writing


def run_folders(result: Comparison) -> dict[str, list[str]]:
    """Where each replicate run goes inside a comparison folder, by role ("base",
    "other"): ``runs/base-r0``, ``runs/other-r0``, ..."""
    runs = {"base": result.base_runs, "other": result.other_runs}
    return {role: [f"{RUNS_DIR}/{role}-r{number}" for number in range(len(runs[role]))]
            for role in ROLES}


def write_comparison(result: Comparison, out_dir: Path, dpi: int = 200,
                     figures: Mapping[str, Figure] | None = None) -> Path:
    """Write differences.csv and summary.csv (with units, see :func:`with_units`),
    comparison.json, every replicate as a run folder under ``runs/`` and ``figures``
    (file name: figure, drawn by the caller, e.g.
    :func:`sim.plot_compare.comparison_figures`) to ``out_dir``.

    Written into ``<out_dir>.partial-<pid>`` and renamed into place when complete; an
    existing ``out_dir`` is refused.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() or out_dir.is_symlink():
        raise CompareError(f"comparison folder {out_dir} already exists; choose another "
                           "--out or remove it first")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    partial = out_dir.with_name(f"{out_dir.name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        partial.mkdir()
        with_units(result.differences()).to_csv(partial / "differences.csv", index=False)
        summary = result.summary()
        with_units(summary).to_csv(partial / "summary.csv", index=False)
        folders = run_folders(result)
        for role, runs in (("base", result.base_runs), ("other", result.other_runs)):
            for folder, run in zip(folders[role], runs):
                write_run(run, partial / folder)
        meta = {"base": result.base_name, "other": result.other_name, "seeds": result.seeds,
                "lever_start": result.start, "window": summary.attrs["quarters"],
                "units": "summary.csv and differences.csv: fractions as %, their "
                         "differences in percentage points, amounts in 亿元",
                "runs": folders, **result.meta}
        (partial / "comparison.json").write_text(json.dumps(meta, indent=2,
                                                            ensure_ascii=False) + "\n",
                                                 encoding="utf-8")
        for name, figure in (figures or {}).items():
            figure.savefig(partial / name, dpi=dpi)
        if out_dir.exists() or out_dir.is_symlink():
            raise CompareError(f"comparison folder {out_dir} already exists")
        os.replace(partial, out_dir)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return out_dir


def is_comparison(path: str | Path) -> bool:
    """Whether ``path`` is a comparison folder written by :func:`write_comparison`."""
    return (Path(path) / "comparison.json").is_file()


def load_comparison_runs(path: str | Path) -> dict[str, list[RunResult]]:
    """The replicate runs of a comparison folder by scenario name (base first); the
    roles' names if the two scenarios share a name. Empty lists for a folder written
    before replicates were kept."""
    path = Path(path)
    try:
        meta = json.loads((path / "comparison.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CompareError(f"{path / 'comparison.json'}: not readable ({exc})") from None
    names = [str(meta.get(role, role)) for role in ROLES]
    if names[0] == names[1]:
        names = [f"{names[0]} ({role})" for role in ROLES]
    folders = meta.get("runs") or {}
    return {name: [load_run(path / folder) for folder in folders.get(role, [])]
            for name, role in zip(names, ROLES)}
