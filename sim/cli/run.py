"""``sim run`` and ``sim validate``: run a scenario into a run folder, or only check it."""

from __future__ import annotations

import argparse


def add_commands(commands) -> None:
    """Register ``run`` and ``validate`` on the ``sim`` command's subparsers."""
    run = commands.add_parser("run", help="run a scenario and write a run folder")
    run.add_argument("scenario", metavar="SCENARIO",
                     help="scenario .toml file, or the name of a shipped one (baseline)")
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
    validate.add_argument("scenario", metavar="SCENARIO",
                          help="scenario .toml file, or the name of a shipped one")
    validate.set_defaults(handler=cmd_validate)


def cmd_run(args: argparse.Namespace) -> int:
    from sim.deferred_imports import defer
    from sim.startup import collector_paused

    defer()  # pandas and SciPy code the run does not need load when first used, if ever
    with collector_paused():
        from sim.config import load_scenario

        scenario = load_scenario(args.scenario, agents=args.agents,
                                 seed=args.seed, threads=args.threads, engine=args.engine)
        from sim.cli.kernels import check_before_running
        from sim.output_paths import check_output_dir
        from sim.results import default_run_dir

        # refused now, not after hours of computing
        out_dir = check_output_dir(args.out if args.out is not None else
                                   default_run_dir(scenario.name, scenario.run.seed),
                                   what="run folder")
        check_before_running(scenario)
        if scenario.run.engine == "numba":  # the reference engine runs no kernels
            from sim.cli.kernels import warm_up_kernels

            warm_up_kernels(args.quiet)

        from sim.model import build_model
        from sim.results import summary_table, write_run

        model = build_model(scenario, check=args.check)
    model.run_all(progress=not args.quiet)
    result = model.results()
    path = write_run(result, out_dir)
    if not args.quiet:
        print(summary_table(result))
        print(f"run folder: {path}")
        print(f"next: sim plot {path}   (figures; --format svg,pdf for slides)")
    else:
        print(path)  # only the path, so scripts can capture it
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from sim.config import find_scenario, load_scenario

    path = find_scenario(args.scenario)
    scenario = load_scenario(path)
    from sim import start_state

    if start_state.applies(scenario.run.start):
        # a 2016Q1–2019Q1 start scales some values from the year-end facts (as a run
        # does when the model is built): one that leaves its bounds is named now
        start_state.apply(scenario)
    if path.name.startswith("history"):
        from sim.history import check_history

        check_history(path)  # only dated policy, shocks, schedules, macro, start
    run = scenario.run
    print(f"OK: {args.scenario} ({len(scenario.change)} changes, {len(scenario.shock)} shocks, "
          f"{run.start}–{run.end}, {run.agents:,} agents)")
    for line in schedule_lines(scenario):
        print(line)
    return 0


def schedule_lines(scenario) -> list[str]:
    """The changes and shocks a run applies, in the order it applies them (by quarter,
    then as written), one line each."""
    from sim.quarters import parse_quarter

    entries = []
    for number, change in enumerate(scenario.change, 1):
        if change.set is not None:
            what = ", ".join(f"{key} = {value!r}" for key, value in change.set.items())
            entries.append((parse_quarter(change.at), 0, number,
                            f"{change.at}          set   {what}  (change #{number})"))
        else:
            what = ", ".join(f"{key} → {value!r}" for key, value in change.ramp.items())
            entries.append((parse_quarter(change.start), 0, number,
                            f"{change.start}–{change.to}  ramp  {what}  (change #{number})"))
    for number, shock in enumerate(scenario.shock, 1):
        where = ", ".join((shock.sectors or []) + (shock.regions or [])) or "all firms"
        entries.append((parse_quarter(shock.at), 1, number,
                        f"{shock.at}          shock revenue {shock.revenue:+.0%} for "
                        f"{shock.quarters} quarter(s), {where}  (shock #{number})"))
    if not entries:
        return []
    return ["applies, in order:"] + [f"  {line}" for *_, line in sorted(entries)]
