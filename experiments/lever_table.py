"""Every policy lever against its base, at full scale: the first-order outcome of each,
as a paired difference over replicates with common random numbers.

Usage (from the repository root)::

    python experiments/lever_table.py                                # 1M agents, 5 reps
    python experiments/lever_table.py --agents 200000 --reps 3 --end 2026Q4

Each lever file in ``scenarios/`` runs against ``baseline.toml`` (the deferral scenario
against ``pandemic_no_deferral.toml``) with seeds S, S+1, …; base runs are shared by all
levers. For each lever the outcomes named in the lever tests (``tests/test_levers.py``)
are averaged over the window from the lever's start, per replicate, and the paired
difference is reported with its 95% replication interval (t-based). Writes
``results/lever_table-<agents>.csv`` and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))  # this checkout, even if not installed

from sim.categories import BANK_TYPES, ONLINE_LENDER_KINDS, SMALL_BANK_TYPES  # noqa: E402
from sim.outcomes import (  # noqa: E402
    bank_lending_to, lender_ratio, lender_sum, quarterly,
    quarterly_change,
)

SCENARIOS = REPO_ROOT / "scenarios"
BANKS = BANK_TYPES
ONLINE_APPROVAL_RATE = lender_ratio(ONLINE_LENDER_KINDS, "approvals", "applications")


# lever: (base scenario, [(outcome, series, first quarter, last quarter or None = end)])
AFTER_RATE_CUT, AFTER_2025 = ("2024Q3", None), ("2025Q1", None)
LEVERS = {
    "rate_cut": ("baseline", [
        ("average new-loan rate", quarterly("avg_rate_new"), *AFTER_RATE_CUT),
        ("new bank loans (亿元/q)", quarterly("new_loans_bank"), *AFTER_RATE_CUT),
        ("new loans, all (亿元/q)", quarterly("new_loans"), *AFTER_RATE_CUT),
        ("loan balance (亿元)", quarterly("loan_balance"), *AFTER_RATE_CUT)]),
    "rrr_cut": ("baseline", [
        ("small banks' new loans (亿元/q)", lender_sum(SMALL_BANK_TYPES, "new_loans"),
         *AFTER_RATE_CUT),
        ("new bank loans (亿元/q)", quarterly("new_loans_bank"), *AFTER_RATE_CUT)]),
    "relending": ("baseline", [
        ("small banks' new loans (亿元/q)", lender_sum(SMALL_BANK_TYPES, "new_loans"), "2025Q2",
         None)]),
    "online_rules_tighter": ("baseline", [
        ("online share of new lending", quarterly("online_share_new"), *AFTER_2025),
        ("online share of balances", quarterly("online_share_balance"), *AFTER_2025)]),
    "online_rules_absent": ("baseline", [
        ("online share of new lending", quarterly("online_share_new"), *AFTER_2025),
        ("online share of balances", quarterly("online_share_balance"), *AFTER_2025)]),
    "rate_cap_tighter": ("baseline", [
        ("platform approval rate", ONLINE_APPROVAL_RATE, *AFTER_2025),
        ("unmet demand share", quarterly("unmet_demand_share"), *AFTER_2025)]),
    "data_protection": ("baseline", [
        ("platform approval rate", ONLINE_APPROVAL_RATE, *AFTER_2025),
        ("platform loans turning bad (share/q)",
         lender_ratio(ONLINE_LENDER_KINDS, "new_npl", "loan_balance"), *AFTER_2025)]),
    "credit_infrastructure": ("baseline", [
        ("bank approvals, firms without collateral (firms/q)",
         lender_sum(BANKS, "approvals_no_collateral"), *AFTER_2025),
        ("new bank loans (亿元/q)", quarterly("new_loans_bank"), *AFTER_2025)]),
    "blockchain_supply_chain": ("baseline", [
        ("new supply-chain finance (亿元/q)", quarterly("new_loans_supply_chain"),
         *AFTER_2025),
        ("supply-chain rate", quarterly("avg_rate_new_supply_chain"), *AFTER_2025)]),
    "risk_compensation": ("baseline", [
        ("bank lending to micro firms (亿元/q)", bank_lending_to("micro"), *AFTER_2025),
        ("fiscal cost (亿元/q)", quarterly("fiscal_cost"), *AFTER_2025)]),
    "inclusive_targets_off": ("baseline", [
        ("bank loans outstanding (loans)", lender_sum(BANKS, "loans"), *AFTER_2025)]),
    "pandemic_deferral": ("pandemic_no_deferral", [
        ("default rate during the shock (/yr)", quarterly("default_rate"), "2025Q1",
         "2025Q2"),
        ("change in the default rate when deferral ends (/yr)",
         quarterly_change("default_rate"), "2026Q1", "2026Q1")]),
}


def run_table(agents: int, reps: int, seed: int, end: str | None, threads: int | None,
              only: list[str] | None = None) -> pd.DataFrame:
    from sim.compare import load_window, paired_stats
    from sim.model import run as run_model

    cache: dict[tuple[str, int], object] = {}

    def result(name: str, rep: int):
        key = (name, rep)
        if key not in cache:
            overrides = {"agents": agents, "seed": seed + rep, "threads": threads}
            if end:
                overrides["end"] = end
            scenario = load_window(SCENARIOS / f"{name}.toml", **overrides)
            started = time.perf_counter()
            cache[key] = run_model(scenario)
            print(f"  {name} seed {seed + rep}: {time.perf_counter() - started:.0f} s",
                  flush=True)
        return cache[key]

    rows = []
    for lever, (base, outcomes) in LEVERS.items():
        if only and lever not in only:
            continue
        for label, series, first, last in outcomes:
            base_values, other_values = [], []
            for rep in range(reps):
                a = series(result(base, rep)).loc[first:last]
                b = series(result(lever, rep)).loc[first:last]
                base_values.append(a.mean())
                other_values.append(b.mean())
            stats = paired_stats(np.array(other_values) - np.array(base_values))
            rows.append({"lever": lever, "outcome": label, "base_scenario": base,
                         "window": f"{first}–{last or a.index[-1]}",
                         "base": float(np.mean(base_values)),
                         "scenario": float(np.mean(other_values)), **stats})
        # base runs are shared; lever runs are not needed again
        for rep in range(reps):
            cache.pop((lever, rep), None)
    return pd.DataFrame(rows)


def markdown(frame: pd.DataFrame) -> str:
    def fmt(value: float) -> str:
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        if abs(value) >= 1:
            return f"{value:.2f}"
        return f"{value:.4f}"

    lines = ["| lever | outcome (window) | base | scenario | difference | 95% interval | t |",
             "|---|---|---|---|---|---|---|"]
    for r in frame.itertuples():
        lines.append(f"| {r.lever} | {r.outcome} ({r.window}) | {fmt(r.base)} | "
                     f"{fmt(r.scenario)} | {fmt(r.diff)} | [{fmt(r.ci_low)}, "
                     f"{fmt(r.ci_high)}] | {r.t:.1f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--agents", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20240101)
    parser.add_argument("--end", help="last reported quarter (default: the scenario's)")
    parser.add_argument("--threads", type=int)
    parser.add_argument("--only", nargs="+", choices=sorted(LEVERS), metavar="LEVER")
    args = parser.parse_args(argv)
    from sim.warmup import warm_up

    warm_up()
    started = time.perf_counter()
    frame = run_table(args.agents, args.reps, args.seed, args.end, args.threads, args.only)
    out = REPO_ROOT / "results" / f"lever_table-{args.agents}.csv"
    out.parent.mkdir(exist_ok=True)
    frame.to_csv(out, index=False)
    print(markdown(frame))
    print(f"\n{args.agents:,} agents, {args.reps} paired replicates, "
          f"{time.perf_counter() - started:.0f} s; wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
