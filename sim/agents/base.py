"""The base of every Mesa agent of the model.

``mesa.Agent`` numbers agents per model from a class-level dictionary keyed by the model
itself (Mesa 3.3), so every model ever made stays reachable and its arrays are never
freed: a process that runs many models (a sweep or calibration worker) grows by the whole
model each run (mesa/mesa#3179, fixed in later Mesa, which needs Python 3.12). Here the
counters are keyed weakly: a model no longer referenced is freed with its counter, and
agents are numbered exactly as before.
"""

from __future__ import annotations

import itertools
import weakref

import mesa


class PerModelIds(weakref.WeakKeyDictionary):
    """An id counter per model, starting at 1, dropped with the model."""

    def __getitem__(self, model):
        try:
            return super().__getitem__(model)
        except KeyError:
            counter = itertools.count(1)
            self[model] = counter
            return counter


class Agent(mesa.Agent):
    """``mesa.Agent`` with per-model id counters that do not keep models alive."""

    _ids = PerModelIds()
