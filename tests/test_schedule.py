"""Blocks claimed from a shared counter (sim.kernels.schedule): every block runs exactly
once, whichever threads take it, and the sums do not depend on who ran what."""

from __future__ import annotations

import numba
import numpy as np
import pytest
from numba import njit, prange

from sim.kernels.schedule import claim


@njit(parallel=True)
def _claimed_blocks(n_blocks, visits, owner, sums):
    """Each block adds 1 to its visit count, records its thread and writes its own sum
    (work that grows with the block index, so threads finish blocks unevenly)."""
    counter = np.zeros(1, dtype=np.int64)
    for _ in prange(n_blocks):
        while True:
            b = claim(counter)
            if b >= n_blocks:
                break
            visits[b] += 1
            owner[b] = numba.get_thread_id()
            total = 0.0
            for k in range((b % 7 + 1) * 2000):
                total += np.sqrt(k + b)
            sums[b] = total
    # the counter is read by the caller: numba may fold a read of a fresh np.zeros
    # that only an intrinsic wrote
    return counter


def _run(threads: int, n_blocks: int = 400):
    visits = np.zeros(n_blocks, dtype=np.int64)
    owner = np.full(n_blocks, -1, dtype=np.int64)
    sums = np.zeros(n_blocks)
    previous = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        final = int(_claimed_blocks(n_blocks, visits, owner, sums)[0])
    finally:
        numba.set_num_threads(previous)
    return final, visits, owner, sums


def test_every_block_runs_once_on_one_thread():
    final, visits, owner, _ = _run(1)
    assert (visits == 1).all()
    assert (owner == 0).all()
    assert final == 2 * 400  # every iteration's last claim finds the blocks gone


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2,
                    reason="numba has a single thread on this machine")
def test_every_block_runs_once_on_two_threads_and_sums_match():
    final, visits, owner, sums = _run(2)
    assert (visits == 1).all()
    assert set(np.unique(owner)) <= {0, 1}
    assert final == 2 * 400
    assert np.array_equal(sums, _run(1)[3])


def test_claim_refuses_a_counter_that_is_not_int64():
    @njit
    def claim_float(counter):
        return claim(counter)

    with pytest.raises(numba.core.errors.TypingError):
        claim_float(np.zeros(1))
