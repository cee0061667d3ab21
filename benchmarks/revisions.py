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

``--by-kernel`` also times each SME kernel of the numba engine and counts the work it was
given (slot-quarters for the firm passes, seeker visits for the credit round), so that a
slower revision shows whether each unit of work got dearer or there was more work: a
deeper credit market makes more firms seek credit each quarter at the same cost per
seeker.
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
KERNEL_COLUMNS = ("kernel_seconds", "work")  # JSON, with --by-kernel

# The kernels --by-kernel times (as sim.engines.numba_engine calls them) and the work
# each is given: slot-quarters (a pass over every slot) or seeker visits (one entry of
# the round's seeker list).
KERNEL_WORK = {"firms_quarter": "slot_quarters", "defaults_and_count": "slot_quarters",
               "choose_and_screen": "seeker_visits", "ration": "seeker_visits",
               "book": "seeker_visits", "keep_seeking": "seeker_visits"}


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
    timing = {"on": False, "seconds": {}, "work": {}}
    if spec.get("by_kernel"):
        _time_kernels(timing)
    if spec.get("full_run"):
        # the baseline run as `sim run` steps it: its burn-in untimed, then its reported
        # quarters timed (the quarters benchmarks/scale.py's 1M x 28-quarter target counts)
        scenario = load_scenario(baseline, agents=spec["agents"], threads=spec["threads"])
        model = CreditMarket(scenario)
        while model.quarter < model.start_quarter:
            model.step()
        first = model.quarter
        timing["on"] = True
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
        timing["on"] = True
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
                                      "results_sha256": digest.hexdigest(),
                                      "kernel_seconds": timing["seconds"],
                                      "work": timing["work"]}), flush=True)
    return 0


def _time_kernels(timing: dict) -> None:
    """Wrap the numba engine's kernels (as its module calls them) to add their wall time
    to ``timing["seconds"]`` and their work to ``timing["work"]`` while ``timing["on"]``."""
    import time

    import sim.engines.numba_engine as engine

    def work_of(name, args):
        # each unit counted once a pass: the firm pass and phase 7 cover the same slots,
        # and every kernel of a credit round the same seekers
        if name == "firms_quarter":  # (n_slots, ...)
            return {"slot_quarters": int(args[0])}
        if name == "choose_and_screen":  # (seekers, block_starts, ..., apps)
            visits = int(args[1][-1])
            applied = int((args[-1].lender[:visits] >= 0).sum())
            return {"seeker_visits": visits, "applications": applied}
        return {}

    def timed(name, kernel):
        def run(*args):
            started = time.perf_counter()
            out = kernel(*args)
            if timing["on"]:
                seconds = timing["seconds"]
                seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - started
                for unit, count in work_of(name, args).items():
                    timing["work"][unit] = timing["work"].get(unit, 0) + count
            return out
        return run

    for name in KERNEL_WORK:
        if hasattr(engine, name):  # a revision may not have every kernel
            setattr(engine, name, timed(name, getattr(engine, name)))


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
    parser.add_argument("--by-kernel", action="store_true",
                        help="also time each SME kernel and count its work (slot-quarters, "
                             "seeker visits), and compare the cost per unit of work")
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
            "full_run": args.full_run, "by_kernel": args.by_kernel}
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
        if args.by_kernel:
            row["kernel_seconds"] = json.dumps(out.get("kernel_seconds", {}))
            row["work"] = json.dumps(out.get("work", {}))
        rows.append(row)
        print(f"  {position + 1:2d}. {names[k]:>14}  {row['ns_per_sme_quarter']:7.1f} ns per "
              f"SME-quarter (CPU {row['cpu_ns_per_sme_quarter']:.1f})", flush=True)
    return report(names, rows, machine, args.by_kernel)


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


def report(names: list[str], rows: list[dict], machine: dict, by_kernel: bool = False) -> int:
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
    columns = MACHINE_COLUMNS + RUN_COLUMNS
    if by_kernel:
        kernel_report(names, rows)
        columns += KERNEL_COLUMNS
    out, _ = write_measurements("revisions", columns, rows, machine)
    print(f"wrote {out.relative_to(REPO_ROOT)}")
    return 0


def kernel_report(names: list[str], rows: list[dict]) -> None:
    """Per kernel: the median seconds of each revision, their ratio, the ratio of the work
    each was given, and the ratio of the cost per unit of work."""
    seconds, work, walls = {}, {}, {}
    for name in names:
        mine = [row for row in rows if row["revision"] == name]
        runs = [json.loads(row["kernel_seconds"]) for row in mine]
        seconds[name] = {kernel: statistics.median(run.get(kernel, 0.0) for run in runs)
                         for kernel in KERNEL_WORK if any(kernel in run for run in runs)}
        work[name] = json.loads(mine[0]["work"])  # the same in every run of a revision
        walls[name] = statistics.median(row["wall_s"] for row in mine)
    base, other = names
    print("\nby kernel (median seconds over the timed quarters; work is the same in every "
          "run of a revision)")
    print(f"  {'kernel':<20} {base[:12]:>12} {other[:12]:>12} {'ratio':>7} {'unit':>14} "
          f"{'work ratio':>10} {'per unit':>9}")
    for kernel in KERNEL_WORK:
        if kernel not in seconds[base] or kernel not in seconds[other]:
            continue
        a, b = seconds[base][kernel], seconds[other][kernel]
        unit = KERNEL_WORK[kernel]
        work_ratio = work[other].get(unit, 0) / max(work[base].get(unit, 0), 1)
        per_unit = (b / a) / work_ratio if a > 0 and work_ratio > 0 else float("nan")
        print(f"  {kernel:<20} {a:12.3f} {b:12.3f} {b / a if a else float('nan'):7.3f} "
              f"{unit:>14} {work_ratio:10.3f} {per_unit:9.3f}")
    # the Python phases and the kernels not timed here (entry: init_firms and its helpers)
    rest = {name: walls[name] - sum(seconds[name].values()) for name in names}
    print(f"  {'the rest':<20} {rest[base]:12.3f} {rest[other]:12.3f} "
          f"{rest[other] / rest[base] if rest[base] > 0 else float('nan'):7.3f}")
    for name in names:
        counts = ", ".join(f"{unit} {count:,}" for unit, count in sorted(work[name].items()))
        print(f"  work of {name}: {counts}")


if __name__ == "__main__":
    sys.exit(main())
