"""Random draws and storage rounding for the reference engine.

Draws come from the generator of :mod:`sim.rng` through its plain-Python functions
(``.py_func``), which give the same bits as the compiled ones: a draw is a pure function
of (stream key, uid, lender or field, round), so it does not matter in which order, or in
which engine, the firms draw.

The fast engine keeps some firm attributes in float32 (see
``sim.population.SME_FIELDS``); a value stored there is rounded, and what is read back
later is the rounded value. The reference stores the same attributes through
:func:`f32` so that both engines carry the same numbers. Arithmetic on float32 values
alone is float32 arithmetic in the kernels: a product of two is rounded to float32
(``f32(a * b)`` is that product exactly), and the exponential of one is the C library's
single-precision ``expf`` (:func:`expf`), which is not always the double-precision
``exp`` rounded to float32.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import struct
from functools import lru_cache

import numpy as np

from sim import rng

uniform = rng.uniform.py_func      # (key, uid, lender, round) -> float in (0, 1)
normal = rng.normal.py_func        # (key, uid, lender, round) -> N(0, 1)
norm_cdf = rng.norm_cdf.py_func    # Φ(x)

_FLOAT32 = struct.Struct("f")


@lru_cache(maxsize=1024)
def key(seed: int, stream: int, quarter: int) -> np.uint64:
    """The key of one stream (``rng.S_*``) in one quarter (0 for fixed draws)."""
    # the key's products wrap modulo 2**64 on purpose, as in the kernels; numpy would
    # warn of overflow on its scalars
    with np.errstate(over="ignore"):
        return np.uint64(rng.stream_key.py_func(seed, stream, quarter))


def f32(x: float) -> float:
    """``x`` rounded to the nearest float32, as a Python float."""
    return _FLOAT32.unpack(_FLOAT32.pack(x))[0]


_libm = ctypes.CDLL(ctypes.util.find_library("m") or None)
_expf = _libm.expf
_expf.restype = ctypes.c_float
_expf.argtypes = (ctypes.c_float,)


def expf(x: float) -> float:
    """exp of a float32 value in single precision (C ``expf``), as a Python float."""
    return _expf(x)


# Quality deciles of N(0, 1): a firm's risk band is how many of them its quality exceeds.
BAND_EDGES = tuple(rng.norm_ppf.py_func(k / 10.0) for k in range(1, 10))


def risk_band(quality: float) -> int:
    return sum(1 for edge in BAND_EDGES if quality > edge)
