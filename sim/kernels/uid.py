"""A firm's uid from its record.

The uid is ``(entry quarter << 32) | k`` for the ``k``-th firm entering in a quarter (the
starting firms have entry quarter 0). Every draw about a firm is keyed by it. The record
keeps its two parts in six bytes (``entry_quarter`` int16, ``serial`` uint32) rather
than eight, two bytes of every slot.
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
