"""The counter-based generator: the distributions of its draws, and the same bits from the
compiled and the plain-Python versions (the reference engine uses the latter)."""

import math

import numpy as np
import pytest
from numba import njit, prange

from sim import rng

DRAWS = 4_000_000


@njit(parallel=True, cache=False)
def _normals(key, lender, rnd, out):
    for i in prange(out.shape[0]):
        out[i] = rng.normal(key, i, lender, rnd)


@njit(parallel=True, cache=False)
def _uniforms(key, lender, rnd, out):
    for i in prange(out.shape[0]):
        out[i] = rng.uniform(key, i, lender, rnd)


def _phi(x):
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


@pytest.fixture(scope="module")
def normals():
    out = np.empty(DRAWS)
    _normals(np.uint64(rng.stream_key(2024, rng.S_REVENUE, 8100)), 0, 0, out)
    return out


def test_normal_moments(normals):
    n = normals.size
    # each statistic within 5 standard errors of its value under N(0, 1)
    assert abs(normals.mean()) < 5 / math.sqrt(n)
    assert abs(normals.var() - 1.0) < 5 * math.sqrt(2.0 / n)
    assert abs((normals ** 3).mean()) < 5 * math.sqrt(15.0 / n)
    assert abs((normals ** 4).mean() - 3.0) < 5 * math.sqrt(96.0 / n)


def test_normal_histogram_matches_the_density(normals):
    # 200 equiprobable bins: chi-square with 199 degrees of freedom, far-tail cut-off
    edges = np.array([rng.norm_ppf.py_func(k / 200) for k in range(1, 200)])
    counts = np.bincount(np.searchsorted(edges, normals), minlength=200)
    expected = normals.size / 200
    chi2 = ((counts - expected) ** 2 / expected).sum()
    assert chi2 < 199 + 5 * math.sqrt(2 * 199), chi2


@pytest.mark.parametrize("threshold", [2.0, 3.0, 3.6541528853610088, 4.0])
def test_normal_tails(normals, threshold):
    # the ziggurat's tail starts at 3.654; both sides of it must carry the right mass
    expected = 2 * (1 - _phi(threshold)) * normals.size
    observed = (np.abs(normals) > threshold).sum()
    assert abs(observed - expected) < 5 * math.sqrt(expected) + 1, (observed, expected)


def test_draws_for_other_lenders_and_rounds_are_independent(normals):
    other = np.empty(DRAWS)
    _normals(np.uint64(rng.stream_key(2024, rng.S_REVENUE, 8100)), 3, 1, other)
    assert abs(np.corrcoef(normals, other)[0, 1]) < 5 / math.sqrt(DRAWS)
    neighbour = np.corrcoef(normals[:-1], normals[1:])[0, 1]   # consecutive uids
    assert abs(neighbour) < 5 / math.sqrt(DRAWS)


def test_uniforms_are_uniform_and_inside_the_open_interval():
    out = np.empty(DRAWS)
    _uniforms(np.uint64(rng.stream_key(1, rng.S_EXIT, 8000)), 0, 0, out)
    assert out.min() > 0.0 and out.max() < 1.0
    counts = np.bincount((out * 100).astype(np.int64), minlength=100)
    expected = out.size / 100
    assert ((counts - expected) ** 2 / expected).sum() < 99 + 5 * math.sqrt(2 * 99)


def test_compiled_and_plain_python_draws_are_the_same_bits():
    key = np.uint64(rng.stream_key(99, rng.S_SIGNAL, 0))
    compiled = np.empty(20_000)
    _normals(key, 7, 2, compiled)
    plain = np.array([rng.normal.py_func(key, i, 7, 2) for i in range(20_000)])
    assert np.array_equal(compiled, plain)
    # the slow paths (wedges, tail) are among these
    assert (np.abs(compiled) > rng._ZIG_R).any()
    xs = np.linspace(-9.0, 9.0, 4001)
    assert all(rng.norm_cdf(x) == rng.norm_cdf.py_func(x) for x in xs)
    assert all(rng.uniform(key, i, 0, 0) == rng.uniform.py_func(key, i, 0, 0)
               for i in range(2000))


def test_the_reference_engines_keys_are_the_compiled_keys_without_warnings():
    import warnings

    from sim.reference import draws

    draws.key.cache_clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's overflow warning would fail here
        keys = [draws.key(seed, stream, quarter)
                for seed in (0, 20240101) for stream in range(rng.S_PANEL + 1)
                for quarter in (0, 8096)]
    compiled = [np.uint64(rng.stream_key(seed, stream, quarter))
                for seed in (0, 20240101) for stream in range(rng.S_PANEL + 1)
                for quarter in (0, 8096)]
    assert keys == compiled


def test_normal_cdf_is_accurate_and_monotone():
    xs = np.linspace(-8.5, 8.5, 100_001)
    values = np.array([rng.norm_cdf(x) for x in xs])
    exact = np.array([_phi(x) for x in xs])
    assert np.abs(values - exact).max() < 2e-9
    assert (np.diff(values) >= -2e-16).all()   # monotone up to rounding near 1
    assert rng.norm_cdf(-20.0) == 0.0 and rng.norm_cdf(20.0) == 1.0
