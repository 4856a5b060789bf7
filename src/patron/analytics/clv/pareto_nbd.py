"""Pareto/NBD: the model of Schmittlein, Morrison & Colombo (1987), "Counting Your
Customers: Who Are They and What Will They Do Next?", Management Science 33(1), 1-24.

While alive, a customer buys as a Poisson process of rate ``lambda`` ~ Gamma(r, alpha);
their lifetime is exponential with rate ``mu`` ~ Gamma(s, beta). The likelihood of one
customer with (x, t_x, T) is, in the formulation of Fader & Hardie (2005), "A Note on
Deriving the Pareto/NBD Model and Related Expressions",

    L = G(r+x) alpha^r beta^s / G(r) * [ (alpha+T)^-(r+x) (beta+T)^-s
                                         + s * (I(t_x) - I(T)) ]
    I(u) = integral_u^inf (alpha+tau)^-(r+x) (beta+tau)^-(s+1) d tau

The second term is the chance of dying at some tau in (t_x, T]. Fader & Hardie write
``I`` with the Gaussian hypergeometric function, in two cases so that its argument
stays in [0, 1): for alpha >= beta, ``I(u) = (alpha+u)^-(r+s+x) 2F1(r+s+x, s+1;
r+s+x+1; (alpha-beta)/(alpha+u)) / (r+s+x)``, and symmetrically for alpha < beta. We
apply Euler's transformation to each, which gives

    alpha >= beta: I(u) = (alpha+u)^-(r+x) (beta+u)^-s / (r+s+x)
                          * 2F1(1, r+x; r+s+x+1; (alpha-beta)/(alpha+u))
    alpha <  beta: I(u) = (alpha+u)^(1-r-x) (beta+u)^-(s+1) / (r+s+x)
                          * 2F1(1, s+1; r+s+x+1; (beta-alpha)/(beta+u))

whose 2F1 is a series of positive terms that stays small (at most (r+s+x)/s in the
first case) even for large x, huge T or far-apart alpha and beta, so everything is
summed in logs without overflow. Published CDNOW figures (weeks): r=0.553,
alpha=10.578, s=0.606, beta=11.669, LL=-9595.0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln

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

Params = tuple[float, float, float, float]


@dataclass(frozen=True)
class ParetoNBDModel:
    """A fitted (or given) Pareto/NBD model; ``log_likelihood`` is the summed
    log-likelihood of the fitting data (NaN when the parameters were not fitted)."""

    r: float
    alpha: float
    s: float
    beta: float
    log_likelihood: float = float("nan")
    n_customers: float = 0.0
    converged: bool = True

    @property
    def params(self) -> Params:
        return (self.r, self.alpha, self.s, self.beta)

    def log_likelihood_per_customer(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """Log-likelihood of each customer's (x, t_x, T) under these parameters."""
        return pareto_nbd_log_likelihood(self.params, frequency, recency, T)

    def probability_alive(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """P(alive at T | x, t_x, T): the alive term's share of the likelihood."""
        x, t_x, age = check_rfm(frequency, recency, T)
        log_alive, log_died = _log_terms(self.params, x, t_x, age)
        return np.asarray(np.exp(log_alive - np.logaddexp(log_alive, log_died)), dtype=float)

    def expected_purchases(
        self, t: float, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """E[purchases in (T, T+t] | x, t_x, T] (Schmittlein et al. 1987; Fader & Hardie
        2005 eq. 22): ``(r+x)(beta+T)/((alpha+T)(s-1)) [1 - ((beta+T)/(beta+T+t))^(s-1)]
        * P(alive)``, with its s -> 1 limit ``(r+x)/(alpha+T) (beta+T) log(1+t/(beta+T))``
        handled without cancellation."""
        x, t_x, age = check_rfm(frequency, recency, T)
        horizon = float(t)
        if horizon < 0:
            raise ValueError("t must be non-negative")
        r, alpha, s, beta = self.params
        log_growth = np.log1p(horizon / (beta + age))
        k = s - 1.0
        # (1 - exp(-k L)) / k, which tends to L as k -> 0.
        factor = log_growth if abs(k) < 1e-12 else -np.expm1(-k * log_growth) / k
        rate = (r + x) / (alpha + age) * (beta + age) * factor
        return np.asarray(rate * self.probability_alive(x, t_x, age), dtype=float)


def _log_integral(params: Params, x: FloatArray, u: FloatArray) -> FloatArray:
    """log I(u): see the module docstring (Euler-transformed Fader-Hardie 2F1)."""
    r, alpha, s, beta = params
    rsx = r + s + x
    if alpha >= beta:
        z = (alpha - beta) / (alpha + u)
        f = hyp2f1(1.0, r + x, rsx + 1.0, z)
        power = -(r + x) * np.log(alpha + u) - s * np.log(beta + u)
    else:
        z = (beta - alpha) / (beta + u)
        f = hyp2f1(1.0, s + 1.0, rsx + 1.0, z)
        power = (1.0 - r - x) * np.log(alpha + u) - (s + 1.0) * np.log(beta + u)
    return np.asarray(power - np.log(rsx) + np.log(f), dtype=float)


def _log_terms(
    params: Params, x: FloatArray, t_x: FloatArray, age: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """log of the alive-at-T term and of the died-in-(t_x, T] term of the likelihood
    (both without the common factor G(r+x) alpha^r beta^s / G(r))."""
    r, alpha, s, beta = params
    log_alive = -(r + x) * np.log(alpha + age) - s * np.log(beta + age)
    at_last = _log_integral(params, x, t_x)
    at_end = _log_integral(params, x, age)
    # log(I(t_x) - I(T)); I is decreasing, so the difference is >= 0 up to rounding.
    gap = np.minimum(at_end - at_last, 0.0)
    with np.errstate(divide="ignore"):
        log_died = np.log(s) + at_last + np.log(-np.expm1(gap))
    log_died = np.where(t_x < age, log_died, -np.inf)
    return np.asarray(log_alive, dtype=float), np.asarray(log_died, dtype=float)


def pareto_nbd_log_likelihood(
    params: Params | FloatArray, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> FloatArray:
    """Per-customer Pareto/NBD log-likelihood at ``params = (r, alpha, s, beta)``."""
    x, t_x, age = check_rfm(frequency, recency, T)
    r, alpha, s, beta = (float(v) for v in params)
    log_alive, log_died = _log_terms((r, alpha, s, beta), x, t_x, age)
    head = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    return np.asarray(head + np.logaddexp(log_alive, log_died), dtype=float)


class _Objective:
    """Mean negative log-likelihood in log-parameters (gradient by finite differences:
    2F1 has no closed-form derivative in its parameters)."""

    def __init__(self, x: FloatArray, t_x: FloatArray, age: FloatArray, w: FloatArray):
        self.x, self.t_x, self.age, self.w = x, t_x, age, w
        self.xs, self.nx = x_groups(x, w)
        self.total = float(w.sum())

    def __call__(self, theta: FloatArray) -> float:
        r, alpha, s, beta = (float(v) for v in np.exp(theta))
        head = dot(self.nx, gammaln(r + self.xs) - gammaln(r))
        head += self.total * (r * np.log(alpha) + s * np.log(beta))
        with np.errstate(over="ignore", invalid="ignore"):
            log_alive, log_died = _log_terms((r, alpha, s, beta), self.x, self.t_x, self.age)
            ll = head + dot(self.w, np.logaddexp(log_alive, log_died))
        if not np.isfinite(ll):
            return 1e300
        return float(-ll / self.total)


#: Above twice this many distinct rows, the fit starts from the optimum of a sample.
_WARM_START_ROWS = 10_000


def _warm_start(
    x: FloatArray, t_x: FloatArray, age: FloatArray, w: FloatArray, initial: Params
) -> Params:
    """Parameters fitted on a fixed-seed sample of customers (rows drawn in proportion
    to their counts). Finite-difference gradients make each step of the full fit cost
    five likelihood evaluations; from a nearby start it needs a handful of steps
    instead of dozens. Only the starting point depends on the sample, not the optimum."""
    rng = np.random.default_rng(0)
    rows = rng.choice(x.size, size=_WARM_START_ROWS, p=w / w.sum())
    sample = _Objective(x[rows], t_x[rows], age[rows], np.ones(rows.size))
    outcome = maximise(sample, initial, sample.total, analytic_gradient=False)
    r, alpha, s, beta = (float(v) for v in outcome.params)
    return (r, alpha, s, beta)


def fit_pareto_nbd(
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    *,
    weights: ArrayLike | None = None,
    compress: bool | None = None,
    initial: Params | None = None,
) -> ParetoNBDModel:
    """Fit the Pareto/NBD by maximum likelihood (L-BFGS-B on log-parameters).

    ``weights`` and ``compress`` as in :func:`fit_bgnbd`; ``log_likelihood`` of the
    result is the full sum over customers in the units of the data.
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
        scale = max(mean_age, 1e-6)
        initial = (1.0, scale / max(mean_x, 0.1), 1.0, scale)
        if x.size > 2 * _WARM_START_ROWS:
            initial = _warm_start(x, t_x, age, w, initial)
    outcome = maximise(objective, initial, objective.total, analytic_gradient=False)
    r, alpha, s, beta = (float(v) for v in outcome.params)
    return ParetoNBDModel(
        r=r,
        alpha=alpha,
        s=s,
        beta=beta,
        log_likelihood=outcome.log_likelihood,
        n_customers=objective.total,
        converged=outcome.converged,
    )


__all__ = ["ParetoNBDModel", "fit_pareto_nbd", "pareto_nbd_log_likelihood"]
