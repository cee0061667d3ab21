"""Speed of two revisions of the code, measured alternately on the same machine.

Usage (from the repository root)::

    python benchmarks/revisions.py HEAD~1                     # HEAD~1 against the working tree
    python benchmarks/revisions.py 07ab0c5 --against HEAD     # two commits
    python benchmarks/revisions.py HEAD~1 --agents 1000000 --threads 2 --quarters 6 --pairs 4

A machine whose speed drifts (a shared virtual machine, a laptop that throttles) can run
the same code 25% faster or slower from one minute to the next, so two single runs
cannot show a change of a few percent. Here short runs of the two revisions alternate in
fresh processes, in the order A B B A A B ..., so both meet the same drift; the median of
each and the ratio of the medians are the figures to quote, and the spread within each
revision says how far to trust them.

Each revision runs from a copy of its files in the user's cache
(``~/.cache/xiaowei/revisions/<commit>``, kept, so its kernels compile only the first
time; the working tree runs as it is, with uncommitted changes). A run builds the
baseline scenario of that revision at ``--agents``, without burn-in, steps
``--warm-quarters`` untimed and then ``--quarters`` timed (with ``--full-run``: its
burn-in untimed, then its reported quarters), and hashes its result tables:
an optimisation meant to change nothing is checked to change nothing. Results go to
``benchmarks/results/revisions-<stamp>.csv`` (one row per run, with the machine).
Revisions need ``sim.config.load_scenario`` and ``sim.model.CreditMarket`` as they are
now.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/scale.py

from scale import (  # noqa: E402 - machine description and CSV writing shared with scale.py
    MACHINE_COLUMNS, REPO_ROOT, machine_info, write_measurements,
)

RESULT_MARKER = "REVISION_RESULT "
WORKING_TREE = "working tree"
RUN_COLUMNS = ("revision", "commit", "order", "agents", "threads", "full_run",
               "warm_quarters", "quarters", "wall_s", "cpu_s", "ns_per_sme_quarter", "cpu_ns_per_sme_quarter",
               "results_sha256")


# ====================================================================== child process


def child_main(spec: dict) -> int:
    """Run one revision (its root first on the path); print ``REVISION_RESULT {json}``."""
    sys.path.insert(0, spec["root"])
    import time

    import sim

    if not Path(sim.__file__).resolve().is_relative_to(Path(spec["root"]).resolve()):
        raise SystemExit(f"error: imported sim from {sim.__file__}, not from {spec['root']}")
    try:
        from sim.warmup import warm_up
    except ImportError:  # revisions before the warm-up left the kernels package
        from sim.kernels import warm_up

    warm_up()
    if spec.get("compile_only"):
        return 0
    import hashlib

    import pandas as pd

    from sim.config import load_scenario
    from sim.model import CreditMarket
    from sim.quarters import parse_quarter, quarter_label

    baseline = Path(spec["root"]) / "scenarios" / "baseline.toml"
    if spec.get("full_run"):
        # the baseline run as `sim run` steps it: its burn-in untimed, then its reported
        # quarters timed (the quarters benchmarks/scale.py's 1M x 28-quarter target counts)
        scenario = load_scenario(baseline, agents=spec["agents"], threads=spec["threads"])
        model = CreditMarket(scenario)
        while model.quarter < model.start_quarter:
            model.step()
        first = model.quarter
        wall, cpu = time.perf_counter(), time.process_time()
        while model.quarter <= model.end_quarter:
            model.step()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        quarters = model.quarter - first
    else:
        start = parse_quarter(load_scenario(baseline).run.start)
        end = quarter_label(start + spec["warm_quarters"] + spec["quarters"] - 1)
        scenario = load_scenario(baseline, agents=spec["agents"], threads=spec["threads"],
                                 burn_in_quarters=0, end=end)
        model = CreditMarket(scenario)
        for _ in range(spec["warm_quarters"]):
            model.step()
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(spec["quarters"]):
            model.step()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        quarters = spec["quarters"]
    result = model.results()
    digest = hashlib.sha256()
    for table in (result.quarterly, result.groups, result.lenders):
        digest.update(pd.util.hash_pandas_object(table, index=False).to_numpy().tobytes())
    print(RESULT_MARKER + json.dumps({"wall_s": wall, "cpu_s": cpu, "quarters": quarters,
                                      "results_sha256": digest.hexdigest()}), flush=True)
    return 0


# ====================================================================== parent process


def _git(*args: str) -> str:
    completed = subprocess.run(["git", "-C", str(REPO_ROOT), *args], capture_output=True,
                               text=True)
    if completed.returncode != 0:
        raise SystemExit(f"error: git {' '.join(args)}: {completed.stderr.strip()}")
    return completed.stdout.strip()


def _child(root: Path, spec: dict) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), "--child",
               json.dumps({**spec, "root": str(root)})]
    completed = subprocess.run(command, cwd=root, capture_output=True, text=True)
    for line in completed.stdout.splitlines():
        if line.startswith(RESULT_MARKER):
            return json.loads(line[len(RESULT_MARKER):])
    if completed.returncode == 0 and spec.get("compile_only"):
        return {}
    tail = " | ".join(completed.stderr.strip().splitlines()[-3:])
    raise SystemExit(f"error: the run of {root} failed (exit code {completed.returncode}): "
                     f"{tail}")


def _order(pairs: int) -> list[int]:
    """0 = base, 1 = other: A B, then B A, and so on, so a steady drift hits both alike."""
    order = []
    for pair in range(pairs):
        order += [0, 1] if pair % 2 == 0 else [1, 0]
    return order


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Speed of two revisions, alternated run by run on this machine.")
    parser.add_argument("base", nargs="?", help="the revision to compare against (a "
                                                "commit, tag, branch or HEAD~N)")
    parser.add_argument("--against", metavar="REV", default=None,
                        help="the other revision (default: the working tree as it is)")
    parser.add_argument("--agents", type=int, default=1_000_000, metavar="N")
    parser.add_argument("--threads", type=int, default=None, metavar="N",
                        help="numba threads (default: all)")
    parser.add_argument("--warm-quarters", type=int, default=2, metavar="Q",
                        help="quarters stepped before timing (default 2)")
    parser.add_argument("--quarters", type=int, default=6, metavar="Q",
                        help="quarters timed in each run (default 6)")
    parser.add_argument("--full-run", action="store_true",
                        help="time each revision's baseline run as `sim run` makes it: "
                             "the burn-in untimed, then the reported quarters (what the "
                             "1M x 28-quarter target measures); --quarters and "
                             "--warm-quarters do not apply")
    parser.add_argument("--pairs", type=int, default=4, metavar="P",
                        help="runs of each revision (default 4)")
    parser.add_argument("--child", metavar="JSON", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is None:
        if args.base is None:
            parser.error("name the revision to compare against, e.g. HEAD~1")
        for name in ("agents", "warm_quarters", "quarters", "pairs"):
            if getattr(args, name) < 1:
                parser.error(f"--{name.replace('_', '-')} must be at least 1")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.child is not None:
        return child_main(json.loads(args.child))
    names = [args.base, args.against or WORKING_TREE]
    commits = [_git("rev-parse", "--verify", f"{args.base}^{{commit}}"),
               _git("rev-parse", "--verify", f"{args.against}^{{commit}}")
               if args.against else _git("rev-parse", "HEAD")]
    machine = machine_info()
    print("Machine")
    for key in MACHINE_COLUMNS:
        if key in machine:
            print(f"  {key:18} {machine[key]}")
    spec = {"agents": args.agents, "threads": args.threads,
            "warm_quarters": args.warm_quarters, "quarters": args.quarters,
            "full_run": args.full_run}
    roots = [export(commits[0]), export(commits[1]) if args.against else REPO_ROOT]
    for name, root in zip(names, roots):
        print(f"... loading or compiling the kernels of {name} (not timed)", flush=True)
        _child(root, {**spec, "compile_only": True})
    rows: list[dict] = []
    for position, k in enumerate(_order(args.pairs)):
        out = _child(roots[k], spec)
        agents_quarters = args.agents * out.get("quarters", args.quarters)
        row = {"revision": names[k], "commit": commits[k], "order": position, **spec,
               "quarters": out.get("quarters", args.quarters),
               "threads": args.threads or machine["numba_max_threads"],
               "wall_s": out["wall_s"], "cpu_s": out["cpu_s"],
               "ns_per_sme_quarter": out["wall_s"] / agents_quarters * 1e9,
               "cpu_ns_per_sme_quarter": out["cpu_s"] / agents_quarters * 1e9,
               "results_sha256": out["results_sha256"]}
        rows.append(row)
        print(f"  {position + 1:2d}. {names[k]:>14}  {row['ns_per_sme_quarter']:7.1f} ns per "
              f"SME-quarter (CPU {row['cpu_ns_per_sme_quarter']:.1f})", flush=True)
    return report(names, rows, machine)


def export(commit: str) -> Path:
    """The files of ``commit`` in a folder of the user's cache, made once and kept, so a
    revision's kernels compile only the first time it is measured."""
    from sim import cache_root

    folder = cache_root() / "revisions" / commit
    if folder.is_dir():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f"{commit[:12]}-", dir=folder.parent))
    archive = subprocess.run(["git", "-C", str(REPO_ROOT), "archive", "--format=tar", commit],
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(partial)], input=archive, check=True)
    partial.rename(folder)  # whole or not at all
    return folder


def report(names: list[str], rows: list[dict], machine: dict) -> int:
    medians = []
    print(f"\nns per SME-quarter, {rows[0]['agents']:,} agents, {rows[0]['threads']} "
          f"threads, {rows[0]['quarters']} quarters a run")
    for name in names:
        walls = [row["ns_per_sme_quarter"] for row in rows if row["revision"] == name]
        medians.append(statistics.median(walls))
        print(f"  {name:>14}: median {medians[-1]:7.1f}  (min {min(walls):.1f}, "
              f"max {max(walls):.1f}, {len(walls)} runs)")
    print(f"  {names[1]} / {names[0]}: {medians[1] / medians[0]:.3f} (ratio of the medians)")
    same = len({row["results_sha256"] for row in rows}) == 1
    print(f"  results identical: {'yes' if same else 'no'}")
    out, _ = write_measurements("revisions", MACHINE_COLUMNS + RUN_COLUMNS, rows, machine)
    print(f"wrote {out.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
