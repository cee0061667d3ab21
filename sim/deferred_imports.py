"""Libraries a ``sim run`` process loads when it first uses them, not at start-up.

Mesa 3.3's package ``__init__`` imports pandas (for its data collector) and
``mesa.experimental`` (whose continuous space imports ``scipy.spatial``); numba, loading
the kernels, runs all of ``scipy.linalg`` to find BLAS. The simulation needs none of them
before its first quarter: pandas only when the results become tables at the end, the SciPy
code never. Importing them took 0.5–0.7 s of a start-up whose target is 2 s
(``benchmarks/README.md``, optimisation log).

:func:`defer` puts a stand-in module in ``sys.modules`` for each. The stand-in has the
real module's spec; the first time anything reads a name from it (``pd.DataFrame``,
``from pandas import Series``, its ``__path__`` to import a submodule, ``dir()``), the
real module's code runs in the stand-in, which from then on is the real module. So code
that uses these libraries works unchanged, only later. Only the ``sim`` command calls
this, in its own process; importing :mod:`sim` in a notebook changes nothing.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
import types

# name: whether its submodules may load before the package's own code runs. Mesa's
# ``__init__`` imports the first two; numba, loading the kernels, imports
# ``scipy.linalg.cython_blas`` (a table of BLAS function pointers that imports nothing) to
# see whether BLAS is there, which without the stand-in runs all of ``scipy.linalg``.
DEFERRED = {"pandas": False, "mesa.experimental": False, "scipy.linalg": True}


class _DeferredModule(types.ModuleType):
    """A module whose code runs the first time a name it does not yet hold is read."""

    def _load(self) -> None:
        self.__class__ = types.ModuleType  # a plain module from here on: no recursion
        spec = self.__spec__
        if spec.submodule_search_locations is not None:
            self.__path__ = spec.submodule_search_locations
        try:
            spec.loader.exec_module(self)
        except BaseException:
            # as a failed import does: no half-run module left behind
            sys.modules.pop(spec.name, None)
            raise

    def __getattr__(self, name: str) -> object:
        self._load()
        return getattr(self, name)

    def __dir__(self) -> list[str]:
        self._load()
        return dir(self)


def _find_spec(name: str) -> importlib.machinery.ModuleSpec | None:
    """The spec of ``name`` without importing it or its parent packages."""
    parent, _, _ = name.rpartition(".")
    if not parent:
        return importlib.util.find_spec(name)
    parent_spec = _find_spec(parent)
    if parent_spec is None or not parent_spec.submodule_search_locations:
        return None
    return importlib.machinery.PathFinder.find_spec(name,
                                                    parent_spec.submodule_search_locations)


def defer(names: dict[str, bool] = DEFERRED) -> list[str]:
    """Put a stand-in for each of ``names`` not yet imported (nor any package above it);
    returns the names deferred."""
    deferred = []
    for name, submodules_first in names.items():
        parts = name.split(".")
        if any(".".join(parts[:k]) in sys.modules for k in range(1, len(parts) + 1)):
            continue
        spec = _find_spec(name)
        if spec is None or spec.loader is None:
            continue
        module = importlib.util.module_from_spec(spec)
        if not submodules_first:
            # without ``__path__`` a submodule import asks ``__getattr__`` for it, so the
            # package's own code runs before any of its submodules, as usual
            module.__dict__.pop("__path__", None)
        module.__class__ = _DeferredModule
        sys.modules[name] = module
        deferred.append(name)
    return deferred
