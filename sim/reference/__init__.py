"""The reference engine: the same model with every SME a plain-Python Mesa agent.

``run.engine = "reference"`` (``sim run ... --engine reference``) runs the SME phases
(operation, debt service, demand, credit rounds, default and exit, entry) as methods of
:class:`~sim.reference.sme.SME` agents instead of the numba kernels of
:mod:`sim.kernels`; lenders, regulators, the policy schedule, the recorder and the
accounting check are the fast engine's, unchanged. The rules are written here a second
time, independently of the kernels (nothing here imports them), from the same
counter-based draws, so the two engines must give the same results: ``tests/test_parity.py``
checks it firm by firm. It exists to read and check the model, not to run it at scale:
it refuses more than :data:`~sim.reference.engine.MAX_AGENTS` agents.

Modules: :mod:`~sim.reference.draws` (random streams, float32 storage),
:mod:`~sim.reference.sme` (the SME agent), :mod:`~sim.reference.birth` (its starting
draws), :mod:`~sim.reference.loans` (its loans), :mod:`~sim.reference.credit` (lender
choice, screening, pricing and rationing), :mod:`~sim.reference.engine` (the model),
:mod:`~sim.reference.parity` (per-firm state of either engine, first difference).
"""

from __future__ import annotations


def __getattr__(name: str):
    # lazily, so that the SME rules can be imported without the market
    if name in ("ReferenceEngine", "MAX_AGENTS"):
        from sim.reference import engine

        return getattr(engine, name)
    raise AttributeError(name)
