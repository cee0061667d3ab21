"""How the baseline moves 2024–2030: yearly growth of SME loans and the 2024 bands.

Usage (from the repository root)::

    python benchmarks/trends.py                       # baseline, 200,000 SMEs, 2 seeds
    python benchmarks/trends.py --agents 50000 --seeds 1
    python benchmarks/trends.py scenarios/rate_cut.toml

Prints, averaged over the seeds: the 2024 means of the calibration bands
(``sim.bands``), and from 2024Q4 to 2030Q4 the average yearly growth of
``loan_balance``, ``loan_balance_bank`` and ``borrowers_bank`` (Q4 over Q4) with the
online share of new lending in 2024 and 2030; loan balances must grow within
``sim.bands.BASELINE_LOAN_GROWTH_BAND``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

GROWTH_COLUMNS = ("loan_balance", "loan_balance_bank", "loan_balance_online",
                  "borrowers_bank", "sme_alive")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", default=str(REPO_ROOT / "scenarios/baseline.toml"))
    parser.add_argument("--agents", type=int, default=200_000)
    parser.add_argument("--seeds", type=int, default=2)
    args = parser.parse_args(argv)

    import pandas as pd

    from sim.bands import BASELINE_2024_BANDS, BASELINE_LOAN_GROWTH_BAND
    from sim.config import load_scenario
    from sim.model import run

    tables = []
    for k in range(args.seeds):
        sc = load_scenario(args.scenario, agents=args.agents)
        sc.run.seed = sc.run.seed + k
        tables.append(run(sc).quarterly.set_index("quarter"))
    q = pd.concat(tables).groupby(level=0).mean(numeric_only=True)
    first_year = q.index[:4]
    print(f"{args.scenario}: {args.agents:,} SMEs, {args.seeds} seed(s)")
    print(f"{first_year[0][:4]} means:")
    for column, (low, high) in BASELINE_2024_BANDS.items():
        value = q.loc[first_year, column].mean()
        mark = "ok" if low <= value <= high else "OUTSIDE"
        print(f"  {column:22s} {value:8.4f}  band [{low}, {high}]  {mark}")
    q4 = [label for label in q.index if label.endswith("Q4")]
    start, end = q4[0], q4[-1]
    years = int(end[:4]) - int(start[:4])
    print(f"growth a year, {start} to {end}:")
    for column in GROWTH_COLUMNS:
        growth = (q.loc[end, column] / q.loc[start, column]) ** (1 / years) - 1
        mark = ""
        if column in ("loan_balance", "loan_balance_bank"):
            low, high = BASELINE_LOAN_GROWTH_BAND
            mark = f"  band [{low:.0%}, {high:.0%}]  " + ("ok" if low <= growth <= high
                                                          else "OUTSIDE")
        print(f"  {column:22s} {growth:8.2%}{mark}")
    print(f"online share of new lending: {q.loc[q4[0], 'online_share_new']:.3f} ({start})"
          f" -> {q.loc[end, 'online_share_new']:.3f} ({end})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
