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
