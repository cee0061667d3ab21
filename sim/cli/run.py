"""``sim run`` and ``sim validate``: run a scenario into a run folder, or only check it."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_commands(commands) -> None:
    """Register ``run`` and ``validate`` on the ``sim`` command's subparsers."""
    run = commands.add_parser("run", help="run a scenario and write a run folder")
    run.add_argument("scenario", metavar="SCENARIO", help="scenario .toml file")
    run.add_argument("--agents", type=int, metavar="N",
                     help="SMEs simulated (overrides run.agents)")
    run.add_argument("--seed", type=int, metavar="S", help="random seed (overrides run.seed)")
    run.add_argument("--out", metavar="DIR",
                     help="run folder to create (default: results/<name>-<time>-s<seed>)")
    run.add_argument("--threads", type=int, metavar="K", help="threads (overrides run.threads)")
    run.add_argument("--engine", choices=("numba", "reference"),
                     help="numba kernels, or every SME a plain-Python Mesa agent (same "
                          "results, for up to 200,000 agents; overrides run.engine)")
    run.add_argument("--check", action="store_true",
                     help="check accounting identities every quarter (slower)")
    run.add_argument("--quiet", action="store_true",
                     help="no progress or summary; print only the run folder")
    run.set_defaults(handler=cmd_run)

    validate = commands.add_parser("validate", help="check a scenario file without running it")
    validate.add_argument("scenario", metavar="SCENARIO", help="scenario .toml file")
    validate.set_defaults(handler=cmd_validate)


def fail_if_exists(out_dir: Path | None) -> None:
    """Refuse an existing --out before the run, not after hours of computing."""
    from sim.results import RunFolderError

    if out_dir is not None and (out_dir.exists() or out_dir.is_symlink()):
        raise RunFolderError(f"run folder {out_dir} already exists; choose another --out "
                             "or remove it first")


def cmd_run(args: argparse.Namespace) -> int:
    from sim.deferred_imports import defer
    from sim.startup import collector_paused

    defer()  # pandas and SciPy code the run does not need load when first used, if ever
    with collector_paused():
        from sim.config import load_scenario

        scenario = load_scenario(args.scenario, agents=args.agents, seed=args.seed,
                                 threads=args.threads, engine=args.engine)
        out_dir = Path(args.out) if args.out else None
        fail_if_exists(out_dir)
        if scenario.run.engine == "numba":  # the reference engine runs no kernels
            from sim.cli.kernels import warm_up_kernels

            warm_up_kernels(args.quiet)

        from sim.model import build_model
        from sim.results import default_run_dir, summary_table, write_run

        model = build_model(scenario, check=args.check)
    model.run_all(progress=not args.quiet)
    result = model.results()
    path = write_run(result, out_dir or default_run_dir(scenario.name, scenario.run.seed))
    if not args.quiet:
        print(summary_table(result))
        print(f"run folder: {path}")
    else:
        print(path)  # only the path, so scripts can capture it
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from sim.config import load_scenario

    scenario = load_scenario(args.scenario)
    if Path(args.scenario).name.startswith("history"):
        from sim.history import check_history

        check_history(args.scenario)  # only dated policy, shocks, schedules, macro, start
    run = scenario.run
    print(f"OK: {args.scenario} ({len(scenario.change)} changes, {len(scenario.shock)} shocks, "
          f"{run.start}–{run.end}, {run.agents:,} agents)")
    return 0
