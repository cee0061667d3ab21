"""Where the credit rounds find their seekers, and the list of those still seeking.

``seekers`` (int32) lists the records of ``requests`` of a round's credit seekers in slot
order, ``block_starts`` (int64 [n_blocks + 1]) where each slot block's begin in it; the
request gives the firm's slot (:func:`slot_of`, see ``sim.population``).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from sim.kernels.layout import BLOCK_SIZE
from sim.kernels.prefetch import prefetch

# seekers ahead whose records the credit-round loops ask for (see sim.kernels.prefetch);
# their requests are asked for twice as far ahead, since the request gives the slot
PREFETCH_AHEAD = 8


@njit(cache=True, inline="always")
def slot_of(requests, r):
    """The slot of the firm whose request is ``requests[r]``: its block is the request's."""
    return r - r % BLOCK_SIZE + np.int64(requests[r].offset)


@njit(cache=True, inline="always")
def visit_seeker(seekers, k, end, requests, firms, loans):
    """The slot of seeker ``k`` of a block's seekers (which end before ``end``), having
    asked the processor for the records that the seekers ahead of it will need."""
    if k + 2 * PREFETCH_AHEAD < end:
        prefetch(requests, seekers[k + 2 * PREFETCH_AHEAD])
    if k + PREFETCH_AHEAD < end:
        ahead = slot_of(requests, seekers[k + PREFETCH_AHEAD])
        prefetch(firms, ahead)
        prefetch(loans, ahead)
    return slot_of(requests, seekers[k])


@njit(cache=True, parallel=True, nogil=True)
def keep_seeking(seekers, block_starts, app_seeking, kept, kept_starts):
    """The seekers of a round that still seek finance after it (``app_seeking``, uint8,
    one per seeker), in the same order, into ``kept`` (int32), with ``kept_starts``
    (int64 [n_blocks + 1]) where each slot block's begin. Returns how many. A firm whose
    need was met would only be skipped by the next round, and a firm visits every round
    from the same slot block, so the next round's sums over blocks are the same as over
    the whole list."""
    n_blocks = block_starts.shape[0] - 1
    kept_starts[0] = 0
    for b in range(n_blocks):
        count = 0
        for k in range(block_starts[b], block_starts[b + 1]):
            count += app_seeking[k]
        kept_starts[b + 1] = kept_starts[b] + count
    for b in prange(n_blocks):
        at = kept_starts[b]
        for k in range(block_starts[b], block_starts[b + 1]):
            if app_seeking[k] == 1:
                kept[at] = seekers[k]
                at += 1
    return kept_starts[n_blocks]
