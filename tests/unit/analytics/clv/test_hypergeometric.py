"""The guarded 2F1 against 17-digit values from mpmath (arbitrary precision).

The first cases are ones where scipy 1.17's ``hyp2f1`` returns NaN or inf (large c,
z > 0.9); the fallbacks are also checked on their own so that they stay tested
whichever scipy is installed."""

from __future__ import annotations

import math

import numpy as np
import pytest

from patron.analytics.clv._hypergeometric import (
    _continued_fraction,
    _log_gamma_ratio,
    _near_one,
    _power_series,
    hyp2f1,
)

# (a, b, c, z, mpmath.hyp2f1(a, b, c, z) with 50 digits, printed to 17)
REFERENCE = [
    (1.0, 1.0, 101.0, 0.9090909, 1.0091657474652493),
    (1.0, 252.84, 254.84, 0.917, 11.119580128640745),
    (1.0, 229.9058586060744, 234.26911304707662, 0.9997927541519361, 68.005060437575971),
    (1.0, 5.24, 251.24, 0.909, 1.0193963472366103),
    (1.0, 1890.9, 1892.55, 0.99995, 1995.6029932775535),
    (2.0, 2.0, 257.0, 0.9412249838038025, 1.0148946808742313),
    (-1.4828008817445322, 1.0, 271.51719911825546, 0.9844336769954909, 0.99463323674879334),
    (0.3, -0.2, 0.8, 0.5, 0.95512166481657051),
    (1.0, 3.2, 7.5, 0.99, 1.9431009889094894),
    # A Pareto/NBD fit of the demo café, z within 2e-4 of 1 (scipy: NaN)
    (1.0, 373.4922496786, 381.2066665056, 0.9998887410751526, 56.217246735932700),
    (1.0, 373.5, 374.2, 0.999855, 1530.8903204238404),
    (1.0, 1500.25, 1503.0, 0.99999, 842.78357927796133),
    (1.0, 2.5, 3.2, 0.9999999, 679.40192911247667),
]

# z near 1 where the connection formula must refuse: c - 1 - b within 1e-7 of an
# integer (its two terms cancel), or past its term budget.
REFUSED = [
    (373.0, 374.0000001, 0.99989, 1032.9931873394674),
    (373.0, 376.0000001, 0.9999, 181.25156620069864),
    (300.0, 500.5, 0.9999, 2.5033810542335419),
]


@pytest.mark.parametrize(("a", "b", "c", "z", "expected"), REFERENCE)
def test_guarded_hyp2f1(a: float, b: float, c: float, z: float, expected: float) -> None:
    assert hyp2f1(a, b, c, z)[0] == pytest.approx(expected, rel=1e-10)


def test_vectorised_with_failures_in_the_middle() -> None:
    a, b, c, z, expected = (np.array(column) for column in zip(*REFERENCE, strict=True))
    np.testing.assert_allclose(hyp2f1(a, b, c, z), expected, rtol=1e-10)


def test_continued_fraction_for_a_equal_one() -> None:
    # Not at z = 1 - 1e-7: tens of thousands of terms, and 4e-11 of rounding; the
    # connection formula answers there (below).
    cases = [case for case in REFERENCE if case[0] == 1.0 and case[3] < 0.999999]
    _, b, c, z, expected = (np.array(column) for column in zip(*cases, strict=True))
    np.testing.assert_allclose(_continued_fraction(b, c, z), expected, rtol=1e-11)


def test_power_series_where_c_is_large() -> None:
    cases = [case for case in REFERENCE if case[2] > 100]
    a, b, c, z, expected = (np.array(column) for column in zip(*cases, strict=True))
    # Where the series is too slow (a = 1, b close to c, z very near 1) it answers
    # NaN, never a wrong number; with a != 1 and large c it always converges.
    value = _power_series(a, b, c, z)
    answered = ~np.isnan(value)
    assert answered[a != 1.0].all()
    assert not answered.all()
    np.testing.assert_allclose(value[answered], expected[answered], rtol=1e-12)


def test_connection_formula_near_one() -> None:
    cases = [case for case in REFERENCE if case[0] == 1.0 and case[3] > 0.99]
    _, b, c, z, expected = (np.array(column) for column in zip(*cases, strict=True))
    np.testing.assert_allclose(_near_one(b, c, z), expected, rtol=1e-12)


def test_connection_formula_refuses_rather_than_cancel() -> None:
    b, c, z, expected = (np.array(column) for column in zip(*REFUSED, strict=True))
    assert np.isnan(_near_one(b, c, z)).all()
    # ...and the guarded function still answers there (continued fraction, or scipy)
    np.testing.assert_allclose(hyp2f1(1.0, b, c, z), expected, rtol=1e-11)


@pytest.mark.parametrize("x", [0.3, 2.5, 9.99, 10.0, 373.5, 4_193.0, 1e6])
@pytest.mark.parametrize("n", [1, 2, 7, 40])
def test_log_gamma_ratio_against_the_product(x: float, n: int) -> None:
    # Gamma(x + n) / Gamma(x) = x (x + 1) ... (x + n - 1), its logs summed with fsum
    exact = math.fsum(math.log(x + k) for k in range(n))
    got = float(_log_gamma_ratio(np.array([x]), np.array([float(n)]))[0])
    assert got == pytest.approx(exact, rel=1e-14, abs=3e-14)
