"""Start-up of a ``sim`` process: loading without the cyclic garbage collector.

Importing numba, Mesa and the model, and loading the compiled kernels, leaves about
185,000 objects the collector tracks, nearly all for the life of the process. The
collector walks the growing heap again and again while that happens: at 1M agents the
start-up took 2.82–3.53 s with it and 2.56–2.71 s without, in three pairs measured
before pandas and SciPy were deferred (``benchmarks/README.md``, optimisation log).
Nothing created then is garbage worth collecting, so the command pauses the collector for
the start-up and resumes it before the simulation runs. Compiling the kernels (a first
run) is different: it leaves much cyclic garbage, so ``sim run`` resumes the collector
before it compiles.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector inside the block (reference counting still
    frees everything else); restore its previous state on leaving, also on error."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
