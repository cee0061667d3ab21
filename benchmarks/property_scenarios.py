"""The long profile of tests/test_property_scenarios.py: many scenario files drawn from
the schema, each run small through ``sim run --check``; every one must run to the end with
finite tables and a balanced ledger, or be refused with exit 2 naming a key it sets.

Usage (from the repository root)::

    python benchmarks/property_scenarios.py                   # 500 examples, seed 0
    python benchmarks/property_scenarios.py --examples 2000 --seed 7
    python benchmarks/property_scenarios.py --agents 5000 --max-keys 12

Unlike the test, a failure does not stop the search: every example runs, failures are
sorted into classes (exception type, or the outcome, and the message without its
numbers) and the scenario file of each is kept in ``--keep`` (a new temporary folder by
default) to be replayed with ``sim run FILE --check``. Prints the machine (as
``benchmarks/scale.py`` does), the counts of runs that finished, refusals and failures,
and the time per example; writes them to ``benchmarks/results/property_scenarios-<stamp>.csv``.
Exit code 1 if any example failed.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))            # benchmarks/scale.py: machine and CSV helpers
sys.path.insert(0, str(HERE.parent))     # this checkout (and its tests/), even if not installed

from scale import MACHINE_COLUMNS, REPO_ROOT, machine_with_kernels, write_measurements  # noqa: E402

COLUMNS = MACHINE_COLUMNS + (
    "examples", "seed", "agents_min", "agents_max", "starts", "quarters", "max_keys", "ran", "refused",
    "failures", "failure_classes", "seconds", "seconds_per_example",
    "run_seconds_median", "run_seconds_max", "kept")


def _failure_class(text: str) -> str:
    """A failure's message without the numbers and quoted values that differ between
    examples of one class."""
    first = text.strip().splitlines()[0] if text.strip() else "(no message)"
    first = first.split(" (keys: ")[0]
    first = re.sub(r"'[^']*'", "'…'", first)
    return re.sub(r"-?\d[\d.e+-]*", "#", first)[:160]


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=500, metavar="N",
                        help="scenario files drawn and run (default 500)")
    parser.add_argument("--seed", type=int, default=0, metavar="S",
                        help="Hypothesis seed: the same seed draws the same files (default 0)")
    parser.add_argument("--agents", default="1000-2000", metavar="N[-M]",
                        help="SMEs of each run, a number or a range (default 1000-2000)")
    parser.add_argument("--max-keys", type=int, default=8, metavar="K",
                        help="most parameters one file sets (default 8)")
    parser.add_argument("--start", action="append", metavar="QUARTER",
                        help="first quarter of the runs (repeat for a choice; default "
                             "2024Q1; 2016Q1-2019Q1 start from the year-end facts)")
    parser.add_argument("--quarters", action="append", type=int, metavar="N",
                        help="quarters each run reports (repeat for a choice; default 4 "
                             "or 6)")
    parser.add_argument("--keep", metavar="DIR",
                        help="folder for the failing scenario files (default: a new "
                             "temporary folder)")
    args = parser.parse_args(argv)
    low, _, high = args.agents.partition("-")
    try:
        args.agents_range = (int(low), int(high or low))
    except ValueError:
        parser.error("--agents takes a number or a range, e.g. 1000-2000")
    if not 1000 <= args.agents_range[0] <= args.agents_range[1] <= 200_000:
        parser.error("--agents must lie within 1,000-200,000")
    from sim.schema import RunSection

    for start in args.start or []:
        try:
            RunSection(start=start, end=start)
        except ValueError as exc:
            parser.error(f"--start {start}: {exc}")
    if any(n < 1 for n in args.quarters or []):
        parser.error("--quarters must be at least 1")
    if args.examples < 1 or args.max_keys < 1:
        parser.error("--examples and --max-keys must be at least 1")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    from hypothesis import HealthCheck, Phase, given, seed, settings

    from tests.scenario_strategies import (
        RUN_QUARTERS, RUN_STARTS, run_drawn, scenarios, to_toml,
    )

    machine = machine_with_kernels()
    keep = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="property-"))
    keep.mkdir(parents=True, exist_ok=True)
    counts: Counter[str] = Counter()
    classes: Counter[str] = Counter()
    run_seconds: list[float] = []

    starts = tuple(args.start or RUN_STARTS)
    quarters = tuple(args.quarters or RUN_QUARTERS)

    @seed(args.seed)
    @settings(max_examples=args.examples, deadline=None, database=None,
              phases=(Phase.generate,), suppress_health_check=list(HealthCheck))
    @given(drawn=scenarios(agents=args.agents_range, max_keys=args.max_keys, starts=starts,
                           quarters=quarters))
    def one(drawn) -> None:
        number = sum(counts.values()) + 1
        with tempfile.TemporaryDirectory() as folder:
            started = time.perf_counter()
            try:
                outcome = run_drawn(drawn, Path(folder))
                kind, message = outcome.kind, outcome.message
            except Exception as exc:  # a crash: what the property exists to find
                kind = "failure"
                message = "".join(traceback.format_exception_only(exc)).strip()
                # the innermost frame in the model's code (not numpy's)
                frames = traceback.extract_tb(exc.__traceback__)
                where = next((f for f in reversed(frames) if "/sim/" in f.filename),
                             frames[-1])
                message = f"{type(exc).__name__} at {Path(where.filename).name}:" \
                          f"{where.lineno}: {message}"
            run_seconds.append(time.perf_counter() - started)
        counts[kind] += 1
        if kind == "failure":
            name = _failure_class(message)
            classes[name] += 1
            path = keep / f"failure-{number:05d}.toml"
            path.write_text(f"# {message.strip().splitlines()[0][:300]}\n"
                            + to_toml(drawn.data), encoding="utf-8")
            print(f"  #{number}: FAILURE {message.strip()[:300]}\n    kept {path}",
                  flush=True)
        if number % 50 == 0:
            print(f"  {number} examples: {dict(counts)}", flush=True)

    print(f"\n{args.examples} scenario files, seed {args.seed}, "
          f"{args.agents_range[0]:,}-{args.agents_range[1]:,} SMEs, from "
          f"{' or '.join(starts)} for {' or '.join(map(str, quarters))} quarters, up to "
          f"{args.max_keys} keys each", flush=True)
    started = time.perf_counter()
    one()
    seconds = time.perf_counter() - started
    examples = sum(counts.values())
    print(f"\nran to the end: {counts['ran']}; refused (exit 2, key named): "
          f"{counts['refused']}; failures: {counts['failure']}")
    print(f"{seconds:.1f} s, {seconds / max(examples, 1):.3f} s per example (median run "
          f"{statistics.median(run_seconds):.3f} s, slowest {max(run_seconds):.2f} s)")
    for name, count in classes.most_common():
        print(f"  {count:5d} × {name}")
    if classes:
        print(f"failing scenario files kept in {keep}")
    row = {"examples": examples, "seed": args.seed, "agents_min": args.agents_range[0],
           "agents_max": args.agents_range[1], "starts": " ".join(starts),
           "quarters": " ".join(map(str, quarters)),
           "max_keys": args.max_keys,
           "ran": counts["ran"], "refused": counts["refused"],
           "failures": counts["failure"], "failure_classes": len(classes),
           "seconds": seconds, "seconds_per_example": seconds / max(examples, 1),
           "run_seconds_median": statistics.median(run_seconds),
           "run_seconds_max": max(run_seconds), "kept": str(keep) if classes else ""}
    out, _ = write_measurements("property_scenarios", COLUMNS, [row], machine)
    print(f"wrote {out.relative_to(REPO_ROOT)}")
    return 1 if counts["failure"] else 0


if __name__ == "__main__":
    sys.exit(main())
