"""Loading (or, the first time, compiling) the kernels before a command runs models."""

from __future__ import annotations

import sys

COMPILE_NOTICE = "Compiling the numba kernels (first run only)..."


def warm_up_kernels(quiet: bool) -> None:
    """Compile (or load from cache) the numba kernels; a first compile (a minute or two)
    shows a spinner with the time so far and what is being compiled."""
    import gc

    from sim.warmup import warm_up

    spinner = _Spinner(COMPILE_NOTICE.rstrip("."))

    def announce(*_: object) -> None:
        # warm_up calls this just before it starts compiling, so the wait is explained.
        # compiling leaves much cyclic garbage: let the collector run (half the memory)
        gc.enable()
        if not quiet:
            spinner.start()

    try:
        was_cached, seconds = warm_up(report=announce, stage=spinner.set_stage)
    finally:
        spinner.stop()
    if was_cached or quiet:
        return
    print(f"{COMPILE_NOTICE} done in {seconds:.1f} s; later runs use the cache",
          file=sys.stderr, flush=True)


class _Spinner:
    """A line on stderr, redrawn every fifth of a second on a terminal: a turning mark,
    the seconds so far and the current stage; elsewhere (a log) each stage once."""

    FRAMES = "|/-\\"

    def __init__(self, text: str):
        self.text = text
        self.stage = ""
        self.thread = None
        self.stopping = None
        self.started = 0.0
        self.terminal = sys.stderr.isatty()

    def set_stage(self, stage: str) -> None:
        self.stage = stage
        if self.thread is not None and not self.terminal:
            print(f"  {stage}", file=sys.stderr, flush=True)

    def start(self) -> None:
        import threading
        import time

        self.started = time.perf_counter()
        self.stopping = threading.Event()
        if not self.terminal:
            print(f"{self.text}...", file=sys.stderr, flush=True)
        self.thread = threading.Thread(target=self._spin, daemon=True)
        self.thread.start()

    def _spin(self) -> None:
        import time

        frame = 0
        while not self.stopping.wait(0.2):
            if self.terminal:
                elapsed = time.perf_counter() - self.started
                line = f"{self.FRAMES[frame % 4]} {self.text}: {elapsed:4.0f} s  {self.stage}"
                print(f"\r{line[:110]:<110}", end="", file=sys.stderr, flush=True)
                frame += 1

    def stop(self) -> None:
        if self.thread is None:
            return
        self.stopping.set()
        self.thread.join()
        if self.terminal:
            print(f"\r{'':<110}\r", end="", file=sys.stderr, flush=True)


def check_before_running(scenario) -> None:
    """What is checked before the kernels load (a first compile takes minutes): the run's
    memory estimate (``build_model`` checks it again for callers of the Python API), and a
    thread count above what numba may use (reported, not silently reduced)."""
    from sim.memory import check_run_memory

    run = scenario.run
    check_run_memory(run.agents, run.engine)
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
