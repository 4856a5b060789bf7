"""The Gaussian hypergeometric function 2F1(a, b; c; z) for 0 <= z < 1, guarded.

``scipy.special.hyp2f1`` is fast and accurate over most of the range the models use,
but for large c (above ~150: heavy buyers) and z > 0.9 it returns NaN or inf (scipy
1.17; see scipy issues #8083 and #26089 for its family of such bugs). Values it
returns finite are kept; the others are recomputed here, vectorised over the failed
entries only:

- a = 1 (the Pareto/NBD integrals): Gauss's continued fraction for 2F1(1, b; c; z)
  (the one behind the incomplete beta function), evaluated with the modified Lentz
  algorithm. It converges for every z < 1, within a few thousand terms even at
  z = 0.9999.
- other a: the power series, whose terms vanish quickly when c is large, which is
  exactly where scipy fails.

Entries neither method settles within its term budget stay NaN, so a caller sees a
failure instead of a wrong number.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.special import hyp2f1 as scipy_hyp2f1

FloatArray = npt.NDArray[np.float64]

_TINY = 1e-300
_TOLERANCE = 4e-16
_MAX_TERMS = 100_000


def hyp2f1(
    a: float | FloatArray, b: float | FloatArray, c: float | FloatArray, z: float | FloatArray
) -> FloatArray:
    """2F1(a, b; c; z) elementwise for real 0 <= z < 1 and c > 0 (see the module notes)."""
    a_, b_, c_, z_ = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (a, b, c, z)))
    with np.errstate(all="ignore"):
        value = np.array(scipy_hyp2f1(a_, b_, c_, z_), dtype=np.float64, ndmin=1)
    failed = ~np.isfinite(value)
    if not failed.any():
        return value
    a_f, b_f, c_f, z_f = (np.atleast_1d(v)[failed] for v in (a_, b_, c_, z_))
    unit = a_f == 1.0
    redo = np.full(a_f.size, np.nan)
    if unit.any():
        redo[unit] = _continued_fraction(b_f[unit], c_f[unit], z_f[unit])
    if (~unit).any():
        redo[~unit] = _power_series(a_f[~unit], b_f[~unit], c_f[~unit], z_f[~unit])
    value[failed] = redo
    return value


def _continued_fraction(b: FloatArray, c: FloatArray, z: FloatArray) -> FloatArray:
    """2F1(1, b; c; z) = 1 / (1 + d1 / (1 + d2 / (1 + ...))) with p = c - 1, q = b - p:
    d(2m+1) = -(p+m)(b+m) z / ((p+2m)(p+2m+1)), d(2m) = m(q-m) z / ((p+2m-1)(p+2m))."""
    p = c - 1.0
    q = b - p
    f = np.ones_like(z)  # modified Lentz: f = 1 + d1/(1 + d2/(...)), then 1/f
    big_c = f.copy()
    small_d = np.zeros_like(z)
    done = np.zeros(z.shape, dtype=bool)
    for n in range(1, _MAX_TERMS):
        m = n // 2
        if n % 2:
            coefficient = -(p + m) * (b + m) * z / ((p + 2 * m) * (p + 2 * m + 1))
        else:
            coefficient = m * (q - m) * z / ((p + 2 * m - 1) * (p + 2 * m))
        small_d = 1.0 + coefficient * small_d
        small_d = np.where(np.abs(small_d) < _TINY, _TINY, small_d)
        big_c = 1.0 + coefficient / big_c
        big_c = np.where(np.abs(big_c) < _TINY, _TINY, big_c)
        small_d = 1.0 / small_d
        delta = big_c * small_d
        f = np.where(done, f, f * delta)
        done |= np.abs(delta - 1.0) < _TOLERANCE
        if done.all():
            break
    return np.where(done, 1.0 / f, np.nan)


def _power_series(a: FloatArray, b: FloatArray, c: FloatArray, z: FloatArray) -> FloatArray:
    """Sum of (a)_k (b)_k / ((c)_k k!) z^k until the terms no longer matter."""
    total = np.ones_like(z)
    term = np.ones_like(z)
    done = np.zeros(z.shape, dtype=bool)
    with np.errstate(all="ignore"):  # overflowing terms end as NaN: no answer, not a wrong one
        return _sum_series(a, b, c, z, total, term, done)


def _sum_series(
    a: FloatArray,
    b: FloatArray,
    c: FloatArray,
    z: FloatArray,
    total: FloatArray,
    term: FloatArray,
    done: npt.NDArray[np.bool_],
) -> FloatArray:
    for k in range(_MAX_TERMS):
        term = term * (a + k) * (b + k) / ((c + k) * (k + 1)) * z
        total = total + np.where(done, 0.0, term)
        # Past k > |a|, |b| the ratio of successive terms moves monotonically towards
        # z; bounding it by max(next ratio, z) bounds the rest of the tail.
        ratio = np.abs((a + k + 1) * (b + k + 1) / ((c + k + 1) * (k + 2))) * z
        rate = np.maximum(ratio, z)
        tail = np.abs(term) * rate / (1.0 - rate)
        shrinking = (k > np.abs(a)) & (k > np.abs(b)) & (rate < 1.0)
        done |= shrinking & (tail <= _TOLERANCE * np.abs(total))
        if done.all() or not np.isfinite(total[~done]).any():
            break
    return np.where(done & np.isfinite(total), total, np.nan)


__all__ = ["hyp2f1"]
