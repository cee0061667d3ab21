"""Bit sets of free SME slots: phase 7 marks the slots it left free (no live firm, no
loan), and entry finds the lowest ones without reading every record.

A bit set is ``free_bits`` (uint64 ``[n_blocks, WORDS_PER_BLOCK]``), one bit per slot,
a row per slot block (``layout.BLOCK_SIZE``), so each block's thread writes only its own
row.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.kernels.layout import BLOCK_SIZE, WORDS_PER_BLOCK

_ONE = np.uint64(1)


@njit(cache=True, inline="always")
def mark_slot(bits, i):
    """Set slot ``i``'s bit in its block's row ``bits`` (uint64 [WORDS_PER_BLOCK])."""
    bits[(i % BLOCK_SIZE) >> 6] |= _ONE << np.uint64(i & 63)


# De Bruijn multiplication finds which bit a power of two sets (Leiserson, Prokop and
# Randall 1998): each of the 64 products has a different top six bits.
_DE_BRUIJN = 0x03F79D71B4CB0A89


def _de_bruijn_bits() -> np.ndarray:
    bits = np.zeros(64, dtype=np.int64)
    for t in range(64):
        bits[((1 << t) * _DE_BRUIJN % (1 << 64)) >> 58] = t
    return bits


_DE_BRUIJN_BIT = _de_bruijn_bits()
_DE_BRUIJN_U64 = np.uint64(_DE_BRUIJN)
_S58 = np.uint64(58)


@njit(cache=True, inline="always")
def lowest_bit(power):
    """The position (int64, 0–63) of the one set bit of ``power`` (uint64)."""
    return _DE_BRUIJN_BIT[(power * _DE_BRUIJN_U64) >> _S58]


@njit(cache=True, nogil=True)
def find_free_slots(free_bits, n_slots, capacity, count, out):
    """Write the first ``count`` free slots into ``out`` (int64 [count or more]) in
    ascending order and return how many were found: those below ``n_slots`` set in
    ``free_bits`` (uint64 [n_blocks, WORDS_PER_BLOCK], as the last phase-7 pass left
    them), then the never-used slots from ``n_slots`` up to ``capacity``."""
    found = 0
    n_words = (n_slots + 63) // 64
    for w in range(n_words):
        if found == count:
            return found
        word = free_bits[w // WORDS_PER_BLOCK, w % WORDS_PER_BLOCK]
        # the set bits, lowest first, one step each
        while word != 0 and found < count:
            lowest = word & (~word + _ONE)
            out[found] = w * 64 + lowest_bit(lowest)
            found += 1
            word ^= lowest
    for i in range(n_slots, capacity):
        if found == count:
            break
        out[found] = i
        found += 1
    return found
