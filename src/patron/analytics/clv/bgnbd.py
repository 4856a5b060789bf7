"""BG/NBD: the beta-geometric / negative binomial distribution model of repeat buying.

Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way: An Alternative to
the Pareto/NBD Model", Marketing Science 24(2), 275-284.

While alive, a customer buys as a Poisson process of rate ``lambda`` ~ Gamma(r, alpha)
(shape r, rate alpha); after every repeat purchase they drop out with probability
``p`` ~ Beta(a, b). Data per customer: ``frequency`` x (repeat purchases), ``recency``
t_x (time of the last purchase, from the first) and ``T`` (time from the first purchase
to the end of calibration). The likelihood of one customer is (FHL eq. 6)

    L = B(a, b+x)/B(a, b) * G(r+x)/G(r) * alpha^r / (alpha+T)^(r+x)
      + [x > 0] B(a+1, b+x-1)/B(a, b) * G(r+x)/G(r) * alpha^r / (alpha+t_x)^(r+x)

evaluated here in logs. Time is in whatever unit the data uses (weeks for the published
CDNOW figures r=0.243, alpha=4.414, a=0.793, b=2.426, LL=-9582.4); ``alpha`` carries
that unit, and the log-likelihood is that of the data as given (a density in time, so
it changes with the unit).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit, gammaln, log_expit, psi

from ._common import (
    ArrayLike,
    FloatArray,
    check_rfm,
    check_weights,
    compress_rows,
    dot,
    maximise,
    worth_compressing,
    x_groups,
)
from ._hypergeometric import hyp2f1


@dataclass(frozen=True)
class BGNBDModel:
    """A fitted (or given) BG/NBD model; ``log_likelihood`` is the summed log-likelihood
    of the fitting data (NaN when the parameters were not fitted)."""

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float = float("nan")
    n_customers: float = 0.0
    converged: bool = True

    @property
    def params(self) -> tuple[float, float, float, float]:
        return (self.r, self.alpha, self.a, self.b)

    def log_likelihood_per_customer(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """Log-likelihood of each customer's (x, t_x, T) under these parameters."""
        return bgnbd_log_likelihood(self.params, frequency, recency, T)

    def probability_alive(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """P(alive at T | x, t_x, T) (FHL eq. 11); exactly 1 when x = 0, since in the
        BG/NBD a customer can only drop out right after a repeat purchase."""
        x, t_x, age = check_rfm(frequency, recency, T)
        return np.where(x > 0, expit(-_log_odds_dead(self.params, x, t_x, age)), 1.0)

    def expected_purchases(
        self, t: float, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """E[purchases in (T, T+t] | x, t_x, T] (FHL eq. 10).

        Computed as ``(a+b+x-1)/(a-1) * (1 - G) * P(alive)`` where, by Euler's
        transformation of the paper's 2F1 term,
        ``G = (1-z)^(a-1) * 2F1(a+b-1-r, a-1; a+b+x-1; z)`` with ``z = t/(alpha+T+t)``.
        This form stays finite for large x, where the paper's 2F1 overflows; 1 - G is
        taken through ``expm1`` (no cancellation for short horizons) unless the 2F1 is
        negative, which happens for x = 0 when a + b < 1. At x = t_x = T = 0 it is the
        expected number of purchases of a new customer, E[X(t)] (FHL eq. 9).
        """
        x, t_x, age = check_rfm(frequency, recency, T)
        horizon = float(t)
        if not horizon >= 0:
            raise ValueError("t must be non-negative")
        r, alpha, a, b = self.params
        step = 1e-4
        if abs(a - 1.0) < step:  # (1 - G)/(a - 1) is 0/0 at a = 1: interpolate across it
            below = _expected_if_alive((r, alpha, 1.0 - step, b), x, age, horizon)
            above = _expected_if_alive((r, alpha, 1.0 + step, b), x, age, horizon)
            expected_if_alive = below + (a - 1.0 + step) / (2 * step) * (above - below)
        else:
            expected_if_alive = _expected_if_alive((r, alpha, a, b), x, age, horizon)
        return np.asarray(expected_if_alive * self.probability_alive(x, t_x, age), dtype=float)


def _expected_if_alive(
    params: tuple[float, float, float, float], x: FloatArray, age: FloatArray, horizon: float
) -> FloatArray:
    """E[purchases in (T, T+t] | alive at T, x]: (a+b+x-1)/(a-1) * (1 - G), a != 1.

    G is taken in Euler's form (see :meth:`BGNBDModel.expected_purchases`), whose series
    stays small for large x. Where that cannot be evaluated (huge a and b, i.e. nearly
    the same dropout probability for everyone, make its terms overflow) the paper's own
    form ``(1-z)^(r+x) 2F1(r+x, b+x; a+b+x-1; z)`` is used: its terms shrink by about
    z b / (a + b) each, so it is at its best exactly there.
    """
    r, alpha, a, b = params
    if abs(a + b - 1.0) < 1e-9:  # 2F1 with c = 0 at x = 0: a removable singularity too
        b += 2e-9
    z = horizon / (alpha + age + horizon)
    log_shrink = (a - 1.0) * np.log1p(-z)
    series = hyp2f1(a + b - 1.0 - r, a - 1.0, a + b + x - 1.0, z)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        one_minus_g = np.where(
            series > 0,
            -np.expm1(log_shrink + np.log(series)),
            1.0 - np.exp(log_shrink) * series,
        )
        failed = ~np.isfinite(one_minus_g)
        if failed.any():
            x_f, z_f = np.broadcast_to(x, z.shape)[failed], z[failed]
            paper = hyp2f1(r + x_f, b + x_f, a + b + x_f - 1.0, z_f)
            one_minus_g[failed] = -np.expm1((r + x_f) * np.log1p(-z_f) + np.log(paper))
    return np.asarray((a + b + x - 1.0) / (a - 1.0) * one_minus_g, dtype=float)


def _log_odds_dead(
    params: tuple[float, float, float, float], x: FloatArray, t_x: FloatArray, age: FloatArray
) -> FloatArray:
    """log of a/(b+x-1) * ((alpha+T)/(alpha+t_x))^(r+x): the odds that a customer with
    x > 0 dropped out right after the last purchase, against being alive at T."""
    r, alpha, a, b = params
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(
            np.log(a) - np.log(b + x - 1.0) + (r + x) * (np.log(alpha + age) - np.log(alpha + t_x)),
            dtype=float,
        )


def bgnbd_log_likelihood(
    params: tuple[float, float, float, float] | FloatArray,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
) -> FloatArray:
    """Per-customer BG/NBD log-likelihood at ``params = (r, alpha, a, b)``."""
    x, t_x, age = check_rfm(frequency, recency, T)
    r, alpha, a, b = (float(v) for v in params)
    common = (
        gammaln(r + x)
        - gammaln(r)
        + r * np.log(alpha)
        + gammaln(a + b)
        + gammaln(b + x)
        - gammaln(b)
        - gammaln(a + b + x)
        - (r + x) * np.log(alpha + age)
    )
    odds = _log_odds_dead((r, alpha, a, b), x, t_x, age)
    return np.asarray(common - np.where(x > 0, log_expit(-odds), 0.0), dtype=float)


class _Objective:
    """Mean negative log-likelihood and its analytic gradient in log-parameters.

    Rows are sorted by frequency so that frequency-only terms (gamma, digamma) are
    evaluated once per distinct frequency and the x > 0 rows form one slice.
    """

    def __init__(self, x: FloatArray, t_x: FloatArray, age: FloatArray, w: FloatArray):
        order = np.argsort(x, kind="stable")
        x, t_x, age, w = x[order], t_x[order], age[order], w[order]
        self.xs, self.nx = x_groups(x, w)
        self.total = float(w.sum())
        self.age, self.w, self.wx = age, w, w * x
        first_repeat = int(np.searchsorted(x, 0.0, side="right"))
        self.pos = slice(first_repeat, None)
        self.age1, self.t_x1, self.w1 = age[self.pos], t_x[self.pos], w[self.pos]
        self.x1 = x[self.pos]
        xs1 = self.xs[self.xs > 0]
        self.xs1 = xs1
        self.counts1 = np.diff(np.searchsorted(self.x1, np.append(xs1, np.inf)))
        self.starts1 = np.r_[0, np.cumsum(self.counts1)[:-1]].astype(np.intp)

    def __call__(self, theta: FloatArray) -> tuple[float, FloatArray]:
        r, alpha, a, b = (float(v) for v in np.exp(theta))
        xs, nx = self.xs, self.nx
        # Terms that depend on frequency only, weighted by each frequency's count.
        ll = dot(nx, gammaln(r + xs) + gammaln(b + xs) - gammaln(a + b + xs))
        ll += self.total * (gammaln(a + b) - gammaln(r) - gammaln(b) + r * np.log(alpha))
        psi_ab_x = psi(a + b + xs)
        g_r = dot(nx, psi(r + xs)) + self.total * (np.log(alpha) - psi(r))
        g_alpha = self.total * r / alpha
        g_a = self.total * psi(a + b) - dot(nx, psi_ab_x)
        g_b = dot(nx, psi(b + xs) - psi_ab_x) + self.total * (psi(a + b) - psi(b))
        # Alive-at-T term -(r+x) log(alpha+T), all rows.
        log_age = np.log(alpha + self.age)
        inv_age = 1.0 / (alpha + self.age)
        w_log_age, wx_log_age = dot(self.w, log_age), dot(self.wx, log_age)
        ll -= r * w_log_age + wx_log_age
        g_r -= w_log_age
        g_alpha -= r * dot(self.w, inv_age) + dot(self.wx, inv_age)
        # Dropped-after-last-purchase term for x > 0: log(1 + odds).
        if self.x1.size:
            log_shift = log_age[self.pos] - np.log(alpha + self.t_x1)
            odds = np.repeat(np.log(a) - np.log(b + self.xs1 - 1.0), self.counts1)
            r_x1 = r + self.x1
            odds += r_x1 * log_shift
            ll -= dot(self.w1, log_expit(-odds))
            wp = self.w1 * expit(odds)  # weight x P(dropped | data)
            g_r += dot(wp, log_shift)
            shift_slope = inv_age[self.pos] - 1.0 / (alpha + self.t_x1)
            g_alpha += dot(wp * r_x1, shift_slope)
            g_a += wp.sum() / a
            g_b -= dot(np.add.reduceat(wp, self.starts1), 1.0 / (b + self.xs1 - 1.0))
        grad = np.array([g_r * r, g_alpha * alpha, g_a * a, g_b * b])
        return -ll / self.total, -grad / self.total


def fit_bgnbd(
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    *,
    weights: ArrayLike | None = None,
    compress: bool | None = None,
    initial: tuple[float, float, float, float] | None = None,
) -> BGNBDModel:
    """Fit the BG/NBD by maximum likelihood (L-BFGS-B, analytic gradient, log-params).

    ``weights`` counts how many customers each row stands for (rows of a compressed
    table). ``compress`` merges identical rows first (default: when a sample shows many
    repeats, as with whole-day or whole-week data). ``log_likelihood`` of the result is
    the full sum over customers in the units of the data.
    """
    x, t_x, age = check_rfm(frequency, recency, T)
    w = check_weights(weights, x.size)
    keep = w > 0
    x, t_x, age, w = x[keep], t_x[keep], age[keep], w[keep]
    if x.size == 0:
        raise ValueError("no customers to fit")
    if compress is None:
        compress = worth_compressing(x, t_x, age)
    if compress:
        (x, t_x, age), w = compress_rows(x, t_x, age, weights=w)
    objective = _Objective(x, t_x, age, w)
    if initial is None:
        mean_x = float(np.average(x, weights=w))
        mean_age = float(np.average(age, weights=w))
        initial = (1.0, max(mean_age, 1e-6) / max(mean_x, 0.1), 1.0, 1.0)
    outcome = maximise(objective, initial, objective.total, analytic_gradient=True)
    r, alpha, a, b = (float(v) for v in outcome.params)
    return BGNBDModel(
        r=r,
        alpha=alpha,
        a=a,
        b=b,
        log_likelihood=outcome.log_likelihood,
        n_customers=objective.total,
        converged=outcome.converged,
    )


__all__ = ["BGNBDModel", "bgnbd_log_likelihood", "fit_bgnbd"]
