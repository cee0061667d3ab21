"""What `sim/memory.py`'s estimate rests on: the peak memory of a run on each engine, per
SME, over a process that has imported the model.

Usage (from the repository root)::

    python benchmarks/memory_estimate.py          # numba at 200,000, reference at 20,000

Each run goes in a fresh child process: it loads the baseline scenario, records its
resident memory (the base), runs the scenario to its end, builds the result tables and
records the peak (``ru_maxrss``). Written to ``benchmarks/results/memory_estimate-*.csv``
with the machine; ``tests/test_bad_input.py`` checks the estimate's figures
(``sim.memory.FIXED_BYTES``, ``BYTES_PER_SME``) against the newest file.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/scale.py

from scale import MACHINE_COLUMNS, REPO_ROOT, machine_with_kernels, write_measurements  # noqa: E402

COLUMNS = (*MACHINE_COLUMNS, "engine", "agents", "base_mb", "peak_mb", "bytes_per_sme")

CHILD = """
import gc, json, resource, sys
from sim.config import load_scenario
from sim.model import CreditMarket
engine, agents = sys.argv[1], int(sys.argv[2])
scenario = load_scenario("baseline", agents=agents, engine=engine, threads=1)
gc.collect()
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
model = CreditMarket(scenario)
model.run_all()
model.results()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"base_mb": base / 1024, "peak_mb": peak / 1024,
                  "bytes_per_sme": (peak - base) * 1024 / agents}))
"""


def measure(engine: str, agents: int) -> dict:
    """Peak memory of one run of ``agents`` SMEs on ``engine``, in a fresh process."""
    done = subprocess.run([sys.executable, "-c", CHILD, engine, str(agents)], cwd=REPO_ROOT,
                          capture_output=True, text=True, check=True)
    return {"engine": engine, "agents": agents,
            **json.loads(done.stdout.strip().splitlines()[-1])}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--numba-agents", type=int, default=200_000)
    parser.add_argument("--reference-agents", type=int, default=20_000)
    args = parser.parse_args(argv)
    machine = machine_with_kernels()
    rows = [measure("numba", args.numba_agents), measure("reference", args.reference_agents)]
    for row in rows:
        print(f"{row['engine']:9s} {row['agents']:>9,} SMEs: base {row['base_mb']:.0f} MB, "
              f"peak {row['peak_mb']:.0f} MB, {row['bytes_per_sme']:,.0f} bytes per SME")
    out, _ = write_measurements("memory_estimate", COLUMNS, rows, machine)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
