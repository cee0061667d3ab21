"""Reproducibility: a run is a pure function of its scenario and seed.

Same seed twice, and 1 thread against 2 threads, must give bit-identical tables; another
seed must give different ones. Firms are identified by uid, never by slot.
"""

from __future__ import annotations

import mmap
import sys

import numba
import numpy as np
import pandas as pd
import pytest

from sim.kernels.bitsets import find_free_slots
from sim.kernels.layout import BLOCK_SIZE, WORDS_PER_BLOCK, n_blocks
from sim.model import CreditMarket, run
from sim.population import SME_FIELDS, Population
from sim.quarters import parse_quarter, quarter_label
from sim.results import TABLE_FILES, RunResult
from sim.schema import Scenario
from sim.wiring import choice_tables
from tests.helpers import scenario

# the run.json entries that legitimately differ between two identical runs (timings)
VOLATILE_META = {"wall_seconds", "started_unix"}


def small(**changes) -> Scenario:
    """20,000 SMEs, 4 burn-in quarters, 2024Q1-2025Q4 reported, all threads (a fresh
    object per call). ``changes`` as for :func:`tests.helpers.scenario`."""
    return scenario(agents=20_000, end="2025Q4", burn_in=4, **changes)


@pytest.fixture(scope="module")
def reference() -> RunResult:
    """The small scenario run once, shared by the tests that only read it."""
    return run(small())


def first_difference(left: pd.DataFrame, right: pd.DataFrame) -> str:
    """Where two same-shaped tables first differ, for a readable failure message."""
    if left.shape != right.shape or list(left.columns) != list(right.columns):
        return f"shapes/columns differ: {left.shape} {list(left.columns)} vs " \
               f"{right.shape} {list(right.columns)}"
    lines = []
    for column in left.columns:
        a, b = left[column].to_numpy(), right[column].to_numpy()
        if a.dtype.kind == "f" and b.dtype.kind == "f":
            differ = ~((a == b) | (np.isnan(a) & np.isnan(b)))
        else:
            differ = a != b
        if differ.any():
            row = int(np.flatnonzero(differ)[0])
            where = {k: left[k].iloc[row] for k in ("quarter", "dimension", "group", "metric",
                                                     "lender") if k in left}
            lines.append(f"{column}: {int(differ.sum())} rows differ, first at row {row} "
                         f"{where}: {a[row]!r} vs {b[row]!r}")
    return "\n".join(lines) or "no cell differs (dtype or index difference)"


def assert_same_tables(first: RunResult, second: RunResult) -> None:
    problems = []
    for name in TABLE_FILES:
        left, right = getattr(first, name), getattr(second, name)
        try:
            pd.testing.assert_frame_equal(left, right, check_exact=True)
        except AssertionError:
            problems.append(f"[{name}]\n{first_difference(left, right)}")
    assert not problems, "tables differ:\n" + "\n".join(problems)


def test_same_seed_twice_is_identical(reference):
    again = run(small())
    assert_same_tables(reference, again)
    stable = {k: v for k, v in reference.meta.items() if k not in VOLATILE_META}
    assert stable == {k: v for k, v in again.meta.items() if k not in VOLATILE_META}


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2,
                    reason="numba has a single thread on this machine")
def test_thread_count_does_not_change_results():
    # CreditMarket sets numba's thread count on every construction, so nothing leaks
    one = run(small(run={"threads": 1}))
    two = run(small(run={"threads": 2}))
    assert one.meta["threads"] == 1
    assert two.meta["threads"] == 2
    assert_same_tables(one, two)


def test_different_seeds_give_different_results(reference):
    other = run(small(seed=reference.meta["seed"] + 1))
    assert list(reference.quarterly["quarter"]) == list(other.quarterly["quarter"])
    # random outcomes must move; policy inputs (lpr_1y, rrr ...) may stay put
    for column in ("new_loans", "sme_exits", "applications", "loan_balance"):
        assert not np.array_equal(reference.quarterly[column], other.quarterly[column]), column


def test_population_growth_does_not_change_results(reference):
    """Slots for one starting firm each: the arrays grow at the first entry, and the run
    is the one with room to spare from the start."""
    model = CreditMarket(small(population={"capacity_factor": 1.0}))
    start_capacity = model.sme.capacity
    model.run_all()
    assert model.sme.capacity > start_capacity
    assert model.acc.lender.shape[0] == model.acc.group.shape[0] == \
        n_blocks(model.sme.capacity)
    assert_same_tables(reference, model.results())


def test_population_records_keep_every_field_through_growth():
    """Firm, loan and request records start on their own cache lines of a page, every
    field of ``SME_FIELDS`` is a view into them with its declared dtype, and growing
    keeps what the slots hold (new slots hold zeros until a firm is placed in them) and
    the quarter's requests."""
    pop = Population.allocate(100_000)
    pop.arrays["cash"][:10] = 7.0
    pop.loan_lender[:10] = 3
    # two requests in block 0, one in block 1
    for at, offset in ((0, 4), (1, 9), (BLOCK_SIZE, 5)):
        pop.requests[at] = (1.5, 2.5, offset, -1, 1)
    for name, (dtype, shape, *_) in SME_FIELDS.items():
        assert pop.arrays[name].dtype == np.dtype(dtype), name
        assert pop.arrays[name].shape == ((100_000,) if shape == "firm" else (100_000, 2))
    assert pop.bytes_per_slot() == sum(
        np.dtype(d).itemsize * (1 if shape == "firm" else 2) for d, shape, *_ in
        SME_FIELDS.values())
    # packed fields read back through the Population: the uid from its two parts, the
    # flags from their bits
    pop.firms["entry_quarter"][3], pop.firms["serial"][3] = 8100, 17
    pop.firms["flags"][3] = 0b1010  # bureau file, distressed
    pop.loans["flags"][3, 1] = 0b10  # amortizing, unsecured
    assert pop.uid[3] == (8100 << 32) | 17 and pop.uid[4] == 0
    assert [int(getattr(pop, name)[3]) for name in
            ("alive", "bureau", "defaulted_before", "distressed")] == [0, 1, 0, 1]
    assert pop.loan_amortizing[3].tolist() == [0, 1] and pop.loan_secured[3].tolist() == [0, 0]
    pop.grow(250_000, np.array([2, 1]))
    assert pop.capacity == 250_000 and pop.firms.shape == (250_000,)
    lines = {(array.ctypes.data % 4096) // 64 for array in (pop.firms, pop.loans,
                                                             pop.requests)}
    assert len(lines) == 3
    assert pop.requests["offset"][[0, 1, BLOCK_SIZE]].tolist() == [4, 9, 5]
    assert (pop.requests["need"][[0, 1, BLOCK_SIZE]] == 1.5).all()
    assert pop.requests["offset"][2:BLOCK_SIZE].sum() == 0
    assert (pop.cash[:10] == 7.0).all() and (pop.cash[10:] == 0).all()
    assert (pop.loan_lender[:10] == 3).all() and (pop.loan_lender[10:] == 0).all()


@pytest.mark.skipif(not hasattr(mmap, "MADV_DONTNEED") or sys.platform != "linux",
                    reason="pages given back read as zeros only on Linux")
def test_old_requests_past_the_quarters_give_their_memory_back():
    """After a quarter with fewer seekers in a block, the whole pages past its requests
    are given back (they read as zeros again), and every current request is kept, in
    that block and the next."""
    pop = Population.allocate(3 * BLOCK_SIZE)
    for block in (0, 1):
        first = block * BLOCK_SIZE
        pop.requests["need"][first:first + 3000] = 1.5
    pop.release_stale_requests(np.array([3000, 3000]))  # nothing stale yet
    assert (pop.requests["need"][:3000] == 1.5).all()
    pop.release_stale_requests(np.array([100, 3000]))
    need = pop.requests["need"]
    assert (need[:100] == 1.5).all()
    page_records = 4096 // pop.requests.itemsize
    assert (need[100 + 2 * page_records:3000] == 0).all(), "stale pages were kept"
    assert (need[BLOCK_SIZE:BLOCK_SIZE + 3000] == 1.5).all()
    # a block that shrinks by less than a few pages keeps them: not worth a system call
    pop.release_stale_requests(np.array([100, 2990]))
    assert (need[BLOCK_SIZE:BLOCK_SIZE + 3000] == 1.5).all()


def test_initial_firm_does_not_depend_on_its_slot():
    """The initial firms filled into the slots in order and in reverse order get, uid by
    uid, the same value in every field (draws are keyed by uid, not by slot), also when
    the reversed fill lands on slots full of what an earlier firm could have left: the
    fill writes every field."""
    model = CreditMarket(small())
    engine = model.sme
    capacity = engine.capacity
    total = int(model.agents_by_size.sum())
    sizes = np.repeat(np.arange(len(model.agents_by_size), dtype=np.int64),
                      model.agents_by_size)
    uids = np.arange(total, dtype=np.int64)
    # Both fills start from the same model state (lenders after the initial books were
    # set), so only the slot order differs between them.
    tables = choice_tables(model.lenders)
    filled = []
    for slots, stale in ((np.arange(total, dtype=np.int64), 0),
                         (np.arange(capacity - 1, capacity - 1 - total, -1, dtype=np.int64),
                          0xAB)):
        engine.pop = Population.allocate(capacity)
        engine.pop.firms.view(np.uint8)[:] = stale
        engine.pop.loans.reshape(-1).view(np.uint8)[:] = stale
        engine.fill(slots, uids, sizes, False, model._firm_params(), tables)
        filled.append({name: engine.pop.arrays[name][slots] for name in SME_FIELDS})
    in_order, reversed_ = filled
    for name in SME_FIELDS:  # row k holds uid k in both
        np.testing.assert_array_equal(reversed_[name], in_order[name], err_msg=name)


def test_entrants_take_the_lowest_free_slots_first():
    """``find_free_slots`` lists the slots marked free below the used ones in ascending
    order, then never-used slots, and stops at the count asked for."""
    rng = np.random.default_rng(7)
    blocks, n_slots, capacity = 3, 2 * BLOCK_SIZE + 1000, 3 * BLOCK_SIZE
    marked = rng.random(blocks * BLOCK_SIZE) < 0.03
    marked[[0, 63, 64, 127, BLOCK_SIZE - 1, BLOCK_SIZE]] = True  # word and block edges
    marked[n_slots:] = False  # phase 7 marks only slots below the used ones
    free_bits = np.packbits(marked, bitorder="little").view(np.uint64).reshape(
        blocks, WORDS_PER_BLOCK)
    expected = np.concatenate([np.flatnonzero(marked), np.arange(n_slots, capacity)])
    for count in (0, 1, 5, int(marked.sum()), int(marked.sum()) + 7, len(expected) + 10):
        out = np.full(count, -1, dtype=np.int64)
        found = find_free_slots(free_bits, n_slots, capacity, count, out)
        assert found == min(count, len(expected))
        np.testing.assert_array_equal(out[:found], expected[:found], err_msg=str(count))


def test_alive_uids_are_unique_after_a_run():
    sc = small()
    model = CreditMarket(sc)
    model.run_all()
    pop = model.sme.pop
    alive = pop.alive.astype(bool)
    uids = pop.uid[alive]
    assert uids.size > 0
    assert np.unique(uids).size == uids.size, "two live firms share a uid"
    # initial firms: uid k < agents; entrants: (entry quarter << 32) | k
    entry_quarter = uids >> 32
    initial = entry_quarter == 0
    assert (uids[initial] < sc.run.agents).all()
    first = parse_quarter(sc.run.start) - sc.run.burn_in_quarters
    last = parse_quarter(sc.run.end)
    entrants = entry_quarter[~initial]
    assert entrants.size > 0, "no entrant survived; the test checks nothing about entrants"
    assert entrants.min() >= first, quarter_label(int(entrants.min()))
    assert entrants.max() <= last, quarter_label(int(entrants.max()))
    assert ((uids[~initial] & 0xFFFFFFFF) < sc.run.agents).all()
