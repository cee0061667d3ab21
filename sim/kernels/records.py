"""Packed fields of the records: a firm's uid, and the yes/no flags of firms and loans.

The uid is ``(entry quarter << 32) | k`` for the ``k``-th firm entering in a quarter (the
starting firms have entry quarter 0). Every draw about a firm is keyed by it. The record
keeps its two parts in six bytes (``entry_quarter`` int16, ``serial`` uint32) rather
than eight. The yes/no fields are bits of one byte, ``flags`` (their bits are
``sim.population.FIRM_FLAGS`` and ``LOAN_FLAGS``). Each saves bytes in every slot of a
population that never fits in cache.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_LOW_32 = np.int64(0xFFFFFFFF)


@njit(cache=True, inline="always")
def uid_of(f):
    """The uid (int64) of the firm whose record is ``f``."""
    return (np.int64(f.entry_quarter) << 32) | np.int64(f.serial)


@njit(cache=True, inline="always")
def set_uid(f, uid):
    """Store ``uid`` (int64) in the firm record ``f``."""
    f.entry_quarter = uid >> 32
    f.serial = uid & _LOW_32


@njit(cache=True, inline="always")
def flag(f, bit):
    """Flag ``bit`` of the record ``f`` (a firm's or a loan's) as 0 or 1 (int64)."""
    return (np.int64(f.flags) >> bit) & 1


@njit(cache=True, inline="always")
def set_flag(f, bit, on):
    """Set flag ``bit`` of the record ``f`` (a firm's or a loan's) to ``on`` (0 or 1)."""
    f.flags = (np.int64(f.flags) & ~(np.int64(1) << bit)) | (np.int64(on) << bit)
