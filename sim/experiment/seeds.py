"""Seeds of a sweep's runs and of its design sampler.

A run's seed depends on the root seed and the replicate index only, never on the design
point: every point sees the same random numbers for replicate r (common random numbers),
so differences between points are the parameters' effect, not sampling noise, and no seed
depends on the order or the worker a run happens to get.
"""

from __future__ import annotations

import hashlib

_MAX_SEED = 2**63 - 1  # the scenario schema's upper bound


def _digest(*parts: object) -> int:
    text = ":".join(str(p) for p in ("xiaowei-sweep", *parts))
    return int.from_bytes(hashlib.sha256(text.encode("ascii")).digest()[:8], "big")


def replicate_seed(root_seed: int, replicate: int) -> int:
    """The scenario seed of replicate ``replicate`` (0-based) of every design point."""
    if replicate < 0:
        raise ValueError(f"replicate must be >= 0, got {replicate}")
    return _digest(root_seed, "replicate", replicate) & _MAX_SEED


def design_seed(root_seed: int) -> int:
    """The seed of the design sampler (LHS, Sobol scrambling, Morris trajectories)."""
    return _digest(root_seed, "design") & (2**32 - 1)
