"""Loading (or, the first time, compiling) the kernels before a command runs models."""

from __future__ import annotations

import sys

COMPILE_NOTICE = "Compiling the numba kernels (first run only)..."


def warm_up_kernels(quiet: bool) -> None:
    """Compile (or load from cache) the numba kernels, telling the user if it takes a while."""
    import gc

    from sim.warmup import warm_up

    announced = False

    def announce(*_: object) -> None:
        # warm_up calls this just before it starts compiling, so the wait is explained.
        nonlocal announced
        # compiling leaves much cyclic garbage: let the collector run (half the memory)
        gc.enable()
        if quiet:
            return
        announced = True
        print(COMPILE_NOTICE, end=" ", file=sys.stderr, flush=True)

    was_cached, seconds = warm_up(report=announce)
    if was_cached or quiet:
        return
    if not announced:
        print(COMPILE_NOTICE, end=" ", file=sys.stderr)
    print(f"done in {seconds:.1f} s; later runs use the cache", file=sys.stderr, flush=True)


def check_before_running(scenario, processes: int = 1) -> None:
    """What is checked before a run allocates anything: its memory estimate, and a thread
    count above what numba may use (reported, not silently reduced)."""
    from sim.memory import check_run_memory

    run = scenario.run
    check_run_memory(run.agents, run.engine, processes)
    if run.threads is None:
        return
    if run.engine == "reference":
        if run.threads > 1:
            print(f"note: the reference engine runs on one thread; threads = {run.threads} "
                  "is not used", file=sys.stderr)
        return
    import numba

    usable = numba.config.NUMBA_NUM_THREADS
    if run.threads > usable:
        print(f"note: {run.threads} threads asked, but numba may use {usable} here (the "
              "cores available, or NUMBA_NUM_THREADS); running with "
              f"{usable}", file=sys.stderr)
