"""The SME side of the market, behind one interface: :class:`SMEEngine`.

Two engines implement it and must give identical results (``tests/test_parity.py``):

- :class:`sim.engines.numba_engine.NumbaEngine` — SMEs as records in arrays, the phases
  as numba kernels (:mod:`sim.kernels`); the default (``run.engine = "numba"``);
- :class:`sim.reference.engine.ReferenceEngine` — every SME a Mesa agent in plain
  Python (``run.engine = "reference"``), to read and check the rules.

:class:`sim.model.CreditMarket` holds one (``model.sme``) and knows neither's internals.
"""

from __future__ import annotations

from sim.engines.protocol import SMEEngine

ENGINES = ("numba", "reference")

__all__ = ["ENGINES", "SMEEngine", "build_engine"]


def build_engine(name: str, model, acc) -> SMEEngine:
    """The SME engine called ``name`` for ``model``, writing its sums into ``acc``."""
    if name == "reference":
        from sim.reference.engine import ReferenceEngine

        return ReferenceEngine(model, acc)
    if name == "numba":
        from sim.engines.numba_engine import NumbaEngine

        return NumbaEngine(model, acc)
    raise ValueError(f"unknown engine {name!r}; choose one of {', '.join(ENGINES)}")
