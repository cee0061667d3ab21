"""A finished model is freed: nothing the model or Mesa keeps holds on to it.

Mesa 3.3 numbers agents from a class-level dictionary keyed by the model, which kept
every model ever made alive (mesa/mesa#3179): a calibration worker running 200,000-SME
models grew by about 45 MB a run until the machine ran out of memory.
"""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

from sim.config import load_scenario
from sim.model import build_model

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.toml"


def test_a_finished_model_is_freed_with_its_agents():
    model = build_model(load_scenario(BASELINE, agents=2000, end="2024Q2"))
    model.run_all()
    model.results()
    alive = weakref.ref(model)
    lender = weakref.ref(model.lenders[0])
    del model
    gc.collect()
    assert alive() is None and lender() is None


def test_run_frees_a_large_model_before_it_returns(monkeypatch):
    """``sim.model.run`` collects a model of FREE_AT_ONCE_AGENTS SMEs or more itself, so
    a worker running such models one after another never holds two."""
    import sim.model

    made = []
    build = sim.model.build_model

    def remember(*args, **kwargs):
        model = build(*args, **kwargs)
        made.append(weakref.ref(model))
        return model

    monkeypatch.setattr(sim.model, "build_model", remember)
    gc.disable()   # only run()'s own collection may free it
    try:
        sim.model.run(load_scenario(BASELINE, agents=sim.model.FREE_AT_ONCE_AGENTS,
                                    end="2024Q1", burn_in_quarters=1))
        assert len(made) == 1 and made[0]() is None
    finally:
        gc.enable()
