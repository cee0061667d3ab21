"""Blocks claimed from a shared counter (sim.kernels.schedule): every block runs exactly
once, with its own index, whichever threads take it, and claims alternate between the
two halves of the blocks."""

from __future__ import annotations

import numba
import numpy as np
import pytest
from numba import njit, prange

from sim.kernels.schedule import claim, claim_block

N_BLOCKS = 401  # odd: the first half has one block more than the second


@njit
def _block_work(b):
    # uneven work per block, so the threads claim blocks at different paces
    return (b % 7 + 1) * 2000


@njit(parallel=True)
def _claimed_blocks(n_blocks, visits, sums):
    """Each block adds 1 to its visit count and writes the sum of its own work."""
    counter = np.zeros(1, dtype=np.int64)
    for _ in prange(n_blocks):
        while True:
            b = claim_block(counter, n_blocks)
            if b >= n_blocks:
                break
            visits[b] += 1
            total = 0
            for k in range(_block_work(b)):
                total += k + b
            sums[b] = total
    # the counter is read by the caller: numba may fold a read of a fresh np.zeros
    # that only an intrinsic wrote
    return counter


def _run(threads: int):
    visits = np.zeros(N_BLOCKS, dtype=np.int64)
    sums = np.zeros(N_BLOCKS, dtype=np.int64)
    previous = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        final = int(_claimed_blocks(N_BLOCKS, visits, sums)[0])
    finally:
        numba.set_num_threads(previous)
    expected = np.array([sum(k + b for k in range(_block_work(b))) for b in range(N_BLOCKS)])
    return final, visits, np.array_equal(sums, expected)


@pytest.mark.parametrize("threads", [1, 2])
def test_every_block_runs_once_with_its_own_index(threads):
    if threads > numba.config.NUMBA_NUM_THREADS:
        pytest.skip("numba has fewer threads on this machine")
    final, visits, sums_right = _run(threads)
    assert (visits == 1).all()
    assert sums_right
    assert final == 2 * N_BLOCKS  # every iteration's last claim finds the blocks gone


@njit
def _claim_order(n_blocks):
    counter = np.zeros(1, dtype=np.int64)
    order = np.empty(n_blocks + 1, dtype=np.int64)
    for k in range(n_blocks + 1):
        order[k] = claim_block(counter, n_blocks)
    return order


@pytest.mark.parametrize("n_blocks", [1, 2, 5, 6])
def test_claims_alternate_between_the_halves(n_blocks):
    half = (n_blocks + 1) // 2
    expected = []
    for k in range(half):
        expected.append(k)
        if half + k < n_blocks:
            expected.append(half + k)
    assert _claim_order(n_blocks).tolist() == expected + [n_blocks]  # then none left


def test_claim_refuses_a_counter_that_is_not_int64():
    @njit
    def claim_float(counter):
        return claim(counter)

    with pytest.raises(numba.core.errors.TypingError):
        claim_float(np.zeros(1))
