"""Flags are bits of one byte per firm (or loan): reading one gives a copy, so it is
read-only and a write raises instead of silently doing nothing; set_flag writes them."""

from __future__ import annotations

import numpy as np
import pytest

from sim.population import FIRM_FLAGS, LOAN_FLAGS, LOAN_PREFIX, Population


@pytest.fixture
def pop() -> Population:
    return Population.allocate(64)


def test_a_write_to_a_flag_raises(pop):
    with pytest.raises(ValueError, match="read-only"):
        pop.alive[0] = 1
    with pytest.raises(ValueError, match="read-only"):
        pop.flag("bureau")[:] = 1
    with pytest.raises(ValueError, match="read-only"):
        pop.uid[0] = 7
    assert not pop.alive.any()


def test_set_flag_changes_only_its_bit(pop):
    pop.set_flag("alive", slice(0, 10), True)
    pop.set_flag("bureau", [2, 3], 1)
    pop.set_flag("alive", 4, False)
    assert pop.alive[:12].tolist() == [1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 0, 0]
    assert np.flatnonzero(pop.bureau).tolist() == [2, 3]
    assert pop.alive_count() == 9
    for name in FIRM_FLAGS:
        if name not in ("alive", "bureau"):
            assert not pop.flag(name).any()


def test_set_flag_on_loans_takes_an_array_of_values(pop):
    name = LOAN_PREFIX + next(iter(LOAN_FLAGS))
    values = np.zeros(pop.loans.shape, dtype=bool)
    values[1, 0] = values[5, -1] = True
    pop.set_flag(name, slice(None), values)
    assert getattr(pop, name).tolist() == values.astype(np.uint8).tolist()
    # a copy the caller owns may still be changed
    copy = pop.flag(name).copy()
    copy[0, 0] = 1
    assert getattr(pop, name)[0, 0] == 0
