"""The memory a run needs, estimated before anything is allocated, and the refusal of a
run (or a sweep's workers) that would not fit in the memory available.

The figures come from the benchmarks, rounded up so that a run the estimate lets through
does not swap: a process that has imported the model holds about 260 MB; over it, a
numba run peaks at 176–233 bytes per SME from 100,000 to 10M SMEs (``benchmarks/scale.py``,
``benchmarks/results/scale-*.csv``) and, counting its result tables, at 308 bytes per SME
at 200,000 (the tables are a fixed cost); a reference-engine run (every SME a Python
object) at 4.9 kB per SME at 20,000 (``benchmarks/memory_estimate.py``,
``benchmarks/results/memory_estimate-*.csv``, which ``tests/test_bad_input.py`` checks
the estimate against).
"""

from __future__ import annotations

import os
from pathlib import Path

from sim.errors import SimError

__all__ = ["MemoryEstimateError", "run_bytes", "available_bytes", "largest_fitting",
           "check_run_memory", "BYTES_PER_SME", "FIXED_BYTES"]

#: bytes per SME at the peak of a run, by engine (benchmarks, rounded up)
BYTES_PER_SME = {"numba": 250, "reference": 6_500}
#: the interpreter, numpy/numba/pandas, compiled kernels, lenders and the results tables
FIXED_BYTES = 350 * 2**20
#: memory left to the system and other programs when judging what fits
HEADROOM = 0.9


class MemoryEstimateError(SimError):
    """A run or a sweep that would need more memory than the machine has available."""


def run_bytes(agents: int, engine: str = "numba") -> int:
    """Estimated peak memory in bytes of one run of ``agents`` SMEs."""
    return FIXED_BYTES + BYTES_PER_SME[engine] * int(agents)


def _cgroup_free() -> int | None:
    """Memory left under this process's cgroup (v2) limit, if it has one."""
    try:
        text = Path("/proc/self/cgroup").read_text()
        relative = text.strip().splitlines()[0].split(":", 2)[2]
        folder = Path("/sys/fs/cgroup") / relative.lstrip("/")
        limit = (folder / "memory.max").read_text().strip()
        if limit == "max":
            return None
        used = int((folder / "memory.current").read_text())
        return max(0, int(limit) - used)
    except (OSError, ValueError, IndexError):
        return None


def available_bytes() -> int | None:
    """Memory available to a new allocation: ``MemAvailable`` of ``/proc/meminfo`` (or
    psutil's figure elsewhere), capped by a cgroup limit; None when unknown."""
    available = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                available = int(line.split()[1]) * 1024
                break
    except (OSError, ValueError):
        pass
    if available is None:
        try:
            import psutil

            available = int(psutil.virtual_memory().available)
        except (ImportError, OSError):
            return None
    cgroup = _cgroup_free()
    return available if cgroup is None else min(available, cgroup)


def _gb(size: float) -> str:
    return f"{size / 2**30:.1f} GB"


def largest_fitting(budget: float, engine: str = "numba") -> int:
    """The most SMEs a run of ``engine`` may have within ``budget`` bytes."""
    return max(0, int((budget - FIXED_BYTES) // BYTES_PER_SME[engine]))


def check_run_memory(agents: int, engine: str = "numba", processes: int = 1,
                     what: str = "this run", available: int | None = None) -> None:
    """Refuse ``processes`` simultaneous runs of ``agents`` SMEs when their estimated peak
    memory exceeds 90% of what is available, naming the estimate and the largest agent
    count that fits. Set ``XIAOWEI_SKIP_MEMORY_CHECK=1`` to run anyway (e.g. when the
    system swaps by design)."""
    if os.environ.get("XIAOWEI_SKIP_MEMORY_CHECK") == "1":
        return
    if available is None:
        available = available_bytes()
    if available is None:
        return  # nothing to judge by; the run proceeds as before
    need = processes * run_bytes(agents, engine)
    budget = available * HEADROOM
    if need <= budget:
        return
    each = budget / processes
    fits = largest_fitting(each, engine)
    per = f" ({processes} runs at once, {_gb(run_bytes(agents, engine))} each)" \
        if processes > 1 else ""
    advice = (f"the largest agent count that fits is {fits:,}" if fits >= 1000 else
              "not even the smallest run (1,000 SMEs) fits")
    if processes > 1:
        advice += " per worker; or use fewer workers"
    raise MemoryEstimateError(
        f"{what} needs about {_gb(need)} of memory{per} for {agents:,} SMEs on the "
        f"{engine} engine, but {_gb(available)} is available; {advice} "
        "(set XIAOWEI_SKIP_MEMORY_CHECK=1 to run anyway)")
