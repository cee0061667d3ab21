"""The ``sim run`` process's deferred imports: nothing loads early, everything works late."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from sim.deferred_imports import DEFERRED, defer


def _run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_fresh_process_starts_mesa_and_the_kernels_without_the_deferred_libraries():
    out = _run("""
        import sys, types
        from sim.deferred_imports import defer
        print(sorted(defer()))
        from sim.warmup import warm_up
        warm_up()
        real = [name for name in ("pandas", "pyarrow", "scipy.spatial", "scipy.linalg",
                                  "mesa.experimental")
                if type(sys.modules.get(name)) is types.ModuleType]
        print(real)
    """).splitlines()
    assert out[0] == str(sorted(DEFERRED))
    assert out[1] == "[]"  # the model was built and stepped without any of them


def test_the_deferred_libraries_work_when_first_used():
    out = _run("""
        import sys, types
        from sim.deferred_imports import defer
        defer()
        import mesa
        # a submodule first: the package's own code must run before it, as usual
        from pandas.api.types import is_numeric_dtype
        print(type(sys.modules["pandas"]) is types.ModuleType)
        import pandas as pd
        print(pd.DataFrame({"a": [1, 2]})["a"].sum(), is_numeric_dtype(pd.Series([1.0])))
        from mesa.experimental.continuous_space import ContinuousSpace
        print(ContinuousSpace.__name__, "continuous_space" in dir(mesa.experimental))
        import numpy as np
        import scipy.linalg
        print(scipy.linalg.solve(np.eye(2), np.ones(2)).tolist())
        print(all(type(sys.modules[name]) is types.ModuleType
                  for name in ("pandas", "mesa.experimental", "scipy.linalg")))
    """).splitlines()
    assert out == ["True", "3 True", "ContinuousSpace True", "[1.0, 1.0]", "True"]


def test_nothing_is_deferred_that_is_already_imported():
    import pandas  # noqa: F401  (the test process has pandas already)

    assert "pandas" not in defer({"pandas": False})
