"""Shared plumbing for the CLV models: input checks, row compression, the optimiser.

Every model is fitted by maximum likelihood on log-parameters (so they stay positive)
with L-BFGS-B and an analytic or finite-difference gradient. The optimiser works on the
*mean* negative log-likelihood (well scaled whatever the number of customers); the
reported ``log_likelihood`` is always the full sum over customers, in the time and money
units of the data.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize
from threadpoolctl import ThreadpoolController

FloatArray = npt.NDArray[np.float64]
ArrayLike = npt.ArrayLike

#: Bounds on every log-parameter: parameters stay within [e^-30, e^30] so that no
#: intermediate value overflows while the optimiser explores.
LOG_PARAM_BOUND = 30.0


def as_float_array(values: ArrayLike, name: str) -> FloatArray:
    """``values`` as a 1-d float64 array (a copy only when needed)."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == 0:
        array = array.reshape(1)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


def check_rfm(
    frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Validate (frequency, recency, T) in the buy-till-you-die conventions.

    frequency: repeat purchases (integer >= 0); recency: time of the last purchase
    measured from the first (0 when frequency is 0); T: age, time from the first
    purchase to the end of the calibration period (T >= recency).
    """
    x = as_float_array(frequency, "frequency")
    t_x = as_float_array(recency, "recency")
    age = as_float_array(T, "T")
    x, t_x, age = np.broadcast_arrays(x, t_x, age)
    if np.any(x < 0) or np.any(x != np.floor(x)):
        raise ValueError("frequency must hold non-negative integers (repeat purchases)")
    if np.any(t_x < 0):
        raise ValueError("recency must be non-negative")
    if np.any(t_x > age * (1 + 1e-12) + 1e-12):
        raise ValueError("recency cannot exceed T (the customer's age)")
    if np.any((x == 0) & (t_x != 0)):
        raise ValueError("recency must be 0 for customers with frequency 0")
    return x, np.minimum(t_x, age), age


def check_weights(weights: ArrayLike | None, size: int) -> FloatArray:
    """Per-row counts (how many customers a row stands for); ones when not given."""
    if weights is None:
        return np.ones(size)
    w = np.broadcast_to(as_float_array(weights, "weights"), (size,)).astype(np.float64)
    if np.any(w < 0):
        raise ValueError("weights must be non-negative")
    return w


def compress_rows(*columns: FloatArray, weights: FloatArray) -> tuple[list[FloatArray], FloatArray]:
    """Merge identical rows of ``columns``, summing their weights.

    With discrete data (weeks, days) a million customers collapse to a few thousand
    distinct (frequency, recency, T) triples; the log-likelihood of the merged rows,
    weighted by their counts, is exactly the full sum over customers. Rows come back
    sorted by the columns in order. Each column is coded as small integers (directly
    for whole numbers in a modest range, else by sorting its distinct values), the
    codes are packed into one integer key, and rows are grouped by that key: several
    times faster than a lexicographic sort of the float columns.
    """
    n = weights.size
    if n == 0:
        return list(columns), weights
    codes: list[npt.NDArray[np.int64]] = []
    levels: list[FloatArray] = []
    span = 1
    for column in columns:
        code, level = _column_codes(column)
        codes.append(code)
        levels.append(level)
        span *= level.size
    if span >= 2**62:  # keys would overflow: group by a lexicographic sort instead
        return _compress_by_lexsort(columns, weights)
    key = codes[0]
    for code, level in zip(codes[1:], levels[1:], strict=True):
        key = key * level.size + code
    if span <= max(4 * n, 1 << 16):
        counts = np.bincount(key, weights=weights, minlength=span)
        present = np.flatnonzero(counts)
        keys, counts = present, counts[present]
    else:
        keys, inverse = np.unique(key, return_inverse=True)
        counts = np.bincount(inverse.ravel(), weights=weights, minlength=keys.size)
    out: list[FloatArray] = []
    for level in reversed(levels):
        out.append(level[keys % level.size])
        keys = keys // level.size
    return out[::-1], np.asarray(counts, dtype=np.float64)


def _column_codes(column: FloatArray) -> tuple[npt.NDArray[np.int64], FloatArray]:
    """Small integer codes for a column's values, and the value of each code."""
    low, high = float(column.min()), float(column.max())
    if high - low < 1 << 20 and np.array_equal(column, np.floor(column)):
        return (column - low).astype(np.int64), low + np.arange(int(high - low) + 1, dtype=float)
    level, code = np.unique(column, return_inverse=True)
    return code.ravel().astype(np.int64), level


def _compress_by_lexsort(
    columns: tuple[FloatArray, ...], weights: FloatArray
) -> tuple[list[FloatArray], FloatArray]:
    order = np.lexsort(columns[::-1])
    sorted_cols = [c[order] for c in columns]
    new_group = np.zeros(weights.size, dtype=bool)
    new_group[0] = True
    for c in sorted_cols:
        new_group[1:] |= c[1:] != c[:-1]
    starts = np.flatnonzero(new_group)
    counts = np.add.reduceat(weights[order], starts)
    return [c[starts] for c in sorted_cols], counts


def worth_compressing(*columns: FloatArray, sample: int = 4096) -> bool:
    """Cheap guess whether rows repeat enough for :func:`compress_rows` to pay off."""
    n = columns[0].size
    if n <= sample:
        return n > 1
    idx = np.linspace(0, n - 1, sample).astype(np.int64)
    sub = [c[idx] for c in columns]
    _, kept = compress_rows(*sub, weights=np.ones(sample))
    return kept.size < 0.5 * sample


@dataclass(frozen=True)
class FitOutcome:
    """Raw optimiser result: fitted parameters, summed log-likelihood, diagnostics."""

    params: FloatArray
    log_likelihood: float
    converged: bool
    iterations: int
    message: str


def maximise(
    neg_mean_ll: Callable[[FloatArray], tuple[float, FloatArray]] | Callable[[FloatArray], float],
    start: Sequence[float],
    total_weight: float,
    *,
    analytic_gradient: bool,
    max_iterations: int = 500,
) -> FitOutcome:
    """Minimise the mean negative log-likelihood over log-parameters.

    ``neg_mean_ll`` takes log-parameters and returns the mean negative log-likelihood
    (with its gradient when ``analytic_gradient``). Tolerances are tight so that the
    summed log-likelihood of a million customers is within ~1e-3 of the optimum.
    """
    x0 = np.log(np.asarray(start, dtype=np.float64))
    bounds = [(-LOG_PARAM_BOUND, LOG_PARAM_BOUND)] * x0.size
    options: dict[str, Any] = {
        "maxiter": max_iterations,
        "ftol": 1e-15,
        "gtol": 1e-10,
        "maxcor": 20,
    }
    if not analytic_gradient:
        options["eps"] = 1e-7
        options["gtol"] = 1e-8
    with _single_threaded_blas():
        result = minimize(
            neg_mean_ll,
            x0,
            jac=analytic_gradient,
            method="L-BFGS-B",
            bounds=bounds,
            options=options,
        )
    fun = float(result.fun)
    if not np.isfinite(fun):
        raise FloatingPointError("log-likelihood is not finite at the fitted parameters")
    # L-BFGS-B may stop in its line search once at the optimum to rounding: that is
    # convergence too, when the gradient of the mean log-likelihood is negligible.
    gradient = np.asarray(getattr(result, "jac", np.zeros(1)), dtype=np.float64)
    converged = bool(result.success) or float(np.max(np.abs(gradient))) < 1e-5
    return FitOutcome(
        params=np.exp(result.x),
        log_likelihood=-fun * total_weight,
        converged=converged,
        iterations=int(result.nit),
        message=str(result.message),
    )


def dot(left: FloatArray, right: FloatArray) -> float:
    """Inner product of two vectors without BLAS.

    ``numpy``'s ``@`` calls a multithreaded BLAS ``ddot`` for long vectors; on a busy
    machine its threads wait for cores and a fit's objective gets 10-20x slower.
    ``einsum`` sums in numpy's own single-threaded loop, at a steady speed.
    """
    return float(np.einsum("i,i->", left, right))


@functools.cache
def _blas_controller() -> ThreadpoolController:
    return ThreadpoolController()


def _single_threaded_blas() -> contextlib.AbstractContextManager[object]:
    """BLAS limited to one thread while a model is fitted.

    L-BFGS-B calls BLAS/LAPACK on its 4x4 working matrices at every step. OpenBLAS
    then wakes its thread pool, and on a busy machine each step costs milliseconds
    instead of microseconds: a fit took 5-10x more CPU time. The objectives
    themselves use no BLAS (see :func:`dot`), so one thread loses nothing.
    """
    return _blas_controller().limit(limits=1, user_api="blas")


def x_groups(x: FloatArray, weights: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Distinct repeat-purchase counts and their total weights.

    Terms of the likelihood that depend on frequency alone (gamma and digamma
    functions) are evaluated once per distinct frequency instead of once per customer.
    """
    xs, inverse = np.unique(x, return_inverse=True)
    counts = np.bincount(inverse.ravel(), weights=weights, minlength=xs.size)
    return xs, np.asarray(counts, dtype=np.float64)
