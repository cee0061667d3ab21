"""``sim run`` starts with the cyclic garbage collector paused, and restores it."""

import gc

import pytest

from sim.startup import collector_paused


def test_collector_paused_inside_and_restored_after():
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_collector_restored_after_an_error():
    with pytest.raises(RuntimeError):
        with collector_paused():
            raise RuntimeError("bad scenario")
    assert gc.isenabled()


def test_collector_left_off_if_it_was_off():
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
