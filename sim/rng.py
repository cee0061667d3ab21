"""Counter-based random numbers: a draw is a hash of what it is for, never a running state.

A uniform is ``hash(seed, stream, quarter, uid, lender, round)``. Because nothing is
consumed, a branch that draws or not cannot shift any other draw, results do not depend
on thread count or array order, and two scenarios with the same seed share every draw
that policy does not touch (common random numbers).

The mixer is the SplitMix64 finaliser applied once per key component. Functions here are
numba-compiled and also callable from plain Python through ``.py_func``; both give the
same bits. Any change to how draws are made must bump ``GENERATOR_VERSION``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

GENERATOR_VERSION = "xw-splitmix-2"  # 2: ziggurat normals, tabulated normal CDF

# Streams: one per purpose. Never reuse a number for a different purpose.
S_INIT = 1            # initial attributes and entrants' attributes (per uid)
S_REVENUE = 2         # revenue shock (per uid, quarter)
S_MARGIN = 3          # margin noise (per uid, quarter)
S_STAGE = 4           # stage transition (per uid, quarter)
S_INVEST = 5          # investment opportunity (per uid, quarter)
S_CHANNEL = 6         # channel choice (per uid, quarter, round)
S_LENDER = 7          # lender choice within a channel (per uid, quarter, round, channel)
S_SIGNAL = 8          # persistent screening error (per uid, lender)
S_SIGNAL_REFRESH = 9  # quarterly refresh of the screening error (per uid, lender, quarter)
S_RENEW = 10          # renewal of a maturing loan (per uid, quarter, slot)
S_EXIT = 11           # exit (per uid, quarter)
S_DEFAULT_EXIT = 12   # closure after default (per uid, quarter)
S_ENTRY = 13          # stochastic rounding of entrant counts (per stratum, quarter)
S_BUREAU = 14         # fixed rank for credit-bureau coverage (per uid)
S_VERIFIED = 15       # fixed rank for verified receivables (per uid)
S_PARTNER = 16        # reserved: partner-bank choice
S_OFFER = 17          # a bank's unsolicited credit line reaches the firm (per uid, quarter)
S_OFFER_TARGET = 18   # debt target of a firm that takes an offered line (per uid)
S_TAX_FILE = 19       # fixed rank for banks' access to tax-payment records (per uid)
S_WRITEOFF = 20       # a bad loan written off a quarter later (per uid, quarter, position)
S_PANEL = 21          # the panel's sample of firms (sim/panel.py; numpy, once per run)

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_LENDER_MULT = np.uint64(0xD6E8FEB86659FD93)
_ROUND_MULT = np.uint64(0xA0761D6478BD642F)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_INV_2_53 = 1.0 / 9007199254740992.0


@njit(cache=True, inline="always")
def mix64(z):
    """SplitMix64 finaliser: a bijective avalanche of a uint64."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(cache=True)
def stream_key(seed, stream, quarter):
    """Key for one purpose in one quarter: uint64 from (seed, stream, quarter) ints >= 0.

    Keys are uint64; pass them to kernels as ``np.uint64`` so numba never types them as
    signed integers.
    """
    h = mix64(np.uint64(seed) + _GOLDEN)
    h = mix64(h ^ (np.uint64(stream) * _GOLDEN))
    return mix64(h ^ (np.uint64(quarter) + _GOLDEN))


@njit(cache=True, inline="always")
def draw_bits(key, uid, lender, rnd):
    """64 random bits for (key, uid, lender, round); all ints >= 0."""
    h = mix64(np.uint64(key) ^ (np.uint64(uid) * _GOLDEN))
    return mix64(h ^ (np.uint64(lender + 1) * _LENDER_MULT + np.uint64(rnd + 1) * _ROUND_MULT))


@njit(cache=True, inline="always")
def uniform(key, uid, lender, rnd):
    """A float64 in (0, 1): never exactly 0 or 1, so logs and inverse CDFs are safe."""
    return (np.float64(draw_bits(key, uid, lender, rnd) >> _S11) + 0.5) * _INV_2_53


# Acklam's rational approximation of the standard normal quantile (relative error
# < 1.2e-9), for fixed quantiles such as risk-band edges.
_A1, _A2, _A3 = -3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02
_A4, _A5, _A6 = 1.383577518672690e02, -3.066479806614716e01, 2.506628277459239e00
_B1, _B2, _B3 = -5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02
_B4, _B5 = 6.680131188771972e01, -1.328068155288572e01
_C1, _C2, _C3 = -7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00
_C4, _C5, _C6 = -2.549671010161535e00, 4.374664141464968e00, 2.938163982698783e00
_D1, _D2, _D3, _D4 = 7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00, \
    3.754408661907416e00
_P_LOW = 0.02425


@njit(cache=True)
def norm_ppf(p):
    """Standard normal quantile for p in (0, 1)."""
    if p < _P_LOW:
        q = math.sqrt(-2.0 * math.log(p))
        return (((((_C1 * q + _C2) * q + _C3) * q + _C4) * q + _C5) * q + _C6) / \
            ((((_D1 * q + _D2) * q + _D3) * q + _D4) * q + 1.0)
    if p > 1.0 - _P_LOW:
        q = math.sqrt(-2.0 * math.log(1.0 - p))
        return -(((((_C1 * q + _C2) * q + _C3) * q + _C4) * q + _C5) * q + _C6) / \
            ((((_D1 * q + _D2) * q + _D3) * q + _D4) * q + 1.0)
    q = p - 0.5
    r = q * q
    return (((((_A1 * r + _A2) * r + _A3) * r + _A4) * r + _A5) * r + _A6) * q / \
        (((((_B1 * r + _B2) * r + _B3) * r + _B4) * r + _B5) * r + 1.0)


# The normal CDF by cubic Hermite interpolation of a table of Φ and φ on [-8, 0] in
# steps of 1/32 (error < 2e-9), and symmetry above 0: a few multiplies instead of an exp,
# and the same bits in every engine because the table is built here, once, with Python's
# erfc.
_CDF_LOW, _CDF_STEPS_PER_UNIT, _CDF_KNOTS = -8.0, 32.0, 258  # one knot past 0


def _cdf_tables() -> tuple[np.ndarray, np.ndarray]:
    x = _CDF_LOW + np.arange(_CDF_KNOTS) / _CDF_STEPS_PER_UNIT
    cdf = np.array([0.5 * math.erfc(-v / math.sqrt(2.0)) for v in x])
    # slopes scaled by the step, as the Hermite basis wants them
    slope = np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi) / _CDF_STEPS_PER_UNIT
    return cdf, slope


_CDF, _CDF_SLOPE = _cdf_tables()


@njit(cache=True)
def norm_cdf(x):
    """Standard normal CDF (0 below -8, 1 above 8)."""
    # the left half from the table, the right half by symmetry, so that values near 1
    # round the same way on both sides
    s = (-abs(x) - _CDF_LOW) * _CDF_STEPS_PER_UNIT
    if s <= 0.0:
        left = 0.0
    else:
        k = int(s)
        t = s - k
        t2 = t * t
        t3 = t2 * t
        left = ((2.0 * t3 - 3.0 * t2 + 1.0) * _CDF[k] + (t3 - 2.0 * t2 + t) * _CDF_SLOPE[k]
                + (3.0 * t2 - 2.0 * t3) * _CDF[k + 1] + (t3 - t2) * _CDF_SLOPE[k + 1])
    return 1.0 - left if x > 0.0 else left


# Ziggurat for normals (Marsaglia & Tsang 2000, in Doornik's 2005 form): 256 strips of
# equal area under the density. 99% of draws cost one hash, a table look-up and a
# multiply; the rest take fresh bits from a hash chain seeded by the first draw's bits, so
# a normal is still a pure function of (key, uid, lender, round).
_ZIG_R = 3.6541528853610088     # where the tail starts
_ZIG_V = 0.00492867323399       # area of each strip


def _ziggurat_tables() -> tuple[np.ndarray, np.ndarray]:
    x = np.empty(257)
    f = math.exp(-0.5 * _ZIG_R * _ZIG_R)
    x[0] = _ZIG_V / f   # the base strip is a rectangle of area V, tail included
    x[1] = _ZIG_R
    for i in range(2, 256):
        x[i] = math.sqrt(-2.0 * math.log(_ZIG_V / x[i - 1] + f))
        f = math.exp(-0.5 * x[i] * x[i])
    x[256] = 0.0
    return x, x[1:] / x[:-1]


_ZIG_X, _ZIG_RATIO = _ziggurat_tables()
_LAYER_MASK = np.uint64(0xFF)


@njit(cache=True, inline="always")
def _signed_unit(bits):
    """A float64 in (-1, 1) from the top 53 bits."""
    return 2.0 * (np.float64(bits >> _S11) + 0.5) * _INV_2_53 - 1.0


@njit(cache=True, inline="always")
def _unit(bits):
    return (np.float64(bits >> _S11) + 0.5) * _INV_2_53


@njit(cache=True)
def _normal_slow(bits, layer, u):
    """The ziggurat's rare paths: the wedge beside a strip, and the tail beyond R."""
    while True:
        if layer == 0:
            # the tail beyond R (Marsaglia 1964)
            while True:
                bits = mix64(bits + _GOLDEN)
                x = -math.log(_unit(bits)) / _ZIG_R
                bits = mix64(bits + _GOLDEN)
                y = -math.log(_unit(bits))
                if y + y >= x * x:
                    break
            return _ZIG_R + x if u > 0.0 else -(_ZIG_R + x)
        x = u * _ZIG_X[layer]
        f0 = math.exp(-0.5 * (_ZIG_X[layer] * _ZIG_X[layer] - x * x))
        f1 = math.exp(-0.5 * (_ZIG_X[layer + 1] * _ZIG_X[layer + 1] - x * x))
        bits = mix64(bits + _GOLDEN)
        if f1 + _unit(bits) * (f0 - f1) < 1.0:
            return x
        bits = mix64(bits + _GOLDEN)
        layer = np.int64(bits & _LAYER_MASK)
        u = _signed_unit(bits)
        if abs(u) < _ZIG_RATIO[layer]:
            return u * _ZIG_X[layer]


@njit(cache=True, inline="always")
def normal(key, uid, lender, rnd):
    """A standard normal draw for (key, uid, lender, round)."""
    bits = np.uint64(draw_bits(key, uid, lender, rnd))  # uint64 in plain Python too
    layer = np.int64(bits & _LAYER_MASK)   # low 8 bits; u uses the top 53
    u = _signed_unit(bits)
    if abs(u) < _ZIG_RATIO[layer]:
        return u * _ZIG_X[layer]
    return _normal_slow(bits, layer, u)
