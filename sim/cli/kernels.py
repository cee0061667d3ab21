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
