"""Customers drawn from the models themselves, for tests, benchmarks and sanity checks.

Each simulator takes the population parameters and each customer's age ``T`` (time
from the first purchase to the end of calibration, in the model's time unit) and
returns what :func:`~patron.analytics.clv.summarize` would have produced for them
(continuous ``recency`` and ``T``; round them for period data), the hidden truth behind
it (purchase rate, alive at ``T``) and, with ``holdout=t``, the repeat purchases the
same customers go on to make in (T, T+t]. Everything is drawn in one vectorised pass
from a ``numpy.random.Generator``, so a seed fixes the result.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ._common import ArrayLike, FloatArray, as_float_array


@dataclass(frozen=True)
class SimulatedCustomers:
    """Calibration summary per customer, the hidden truth, and the holdout purchases."""

    frequency: FloatArray
    recency: FloatArray
    T: FloatArray
    purchase_rate: FloatArray  #: lambda: purchases per time unit while alive
    alive: npt.NDArray[np.bool_]  #: still alive at T
    frequency_holdout: FloatArray  #: purchases in (T, T + holdout]; zeros without holdout


@dataclass(frozen=True)
class SimulatedSpend:
    """Mean spend of each customer's purchases, and their true mean spend p / nu."""

    monetary_value: FloatArray
    true_mean_spend: FloatArray


def _ages(T: ArrayLike, holdout: float) -> FloatArray:
    age = as_float_array(T, "T")
    if np.any(age < 0):
        raise ValueError("T must be non-negative")
    if not holdout >= 0:
        raise ValueError("holdout must be non-negative")
    return age


def simulate_bgnbd(
    r: float,
    alpha: float,
    a: float,
    b: float,
    T: ArrayLike,
    rng: np.random.Generator,
    *,
    holdout: float = 0.0,
) -> SimulatedCustomers:
    """Customers of a BG/NBD(r, alpha, a, b) population, each observed for ``T``.

    While alive a customer buys at rate lambda ~ Gamma(r, rate alpha); after each repeat
    purchase they drop out with probability p ~ Beta(a, b), so they make at most
    K ~ Geometric(p) repeat purchases. Of N ~ Poisson(lambda (T + holdout)) purchase
    opportunities, Binomial(N, T / (T + holdout)) fall in (0, T]; the customer takes
    the first min(N, K) of them. The x-th of n uniform arrival times in (0, T] is
    T * Beta(x, n - x + 1).
    """
    age = _ages(T, holdout)
    n = age.size
    rate = rng.gamma(r, 1.0 / alpha, n)
    dropout = rng.beta(a, b, n)
    lifetime_purchases = rng.geometric(np.clip(dropout, 1e-300, 1.0))
    span = age + holdout
    opportunities = rng.poisson(rate * span)
    share = np.divide(age, span, out=np.ones(n), where=span > 0)
    in_calibration = rng.binomial(opportunities, share)
    x = np.minimum(in_calibration, lifetime_purchases)
    made = np.minimum(opportunities, lifetime_purchases)
    recency = np.zeros(n)
    bought = x > 0
    recency[bought] = age[bought] * rng.beta(
        x[bought].astype(float), (in_calibration[bought] - x[bought] + 1).astype(float)
    )
    alive = in_calibration < lifetime_purchases
    return SimulatedCustomers(x.astype(float), recency, age, rate, alive, (made - x).astype(float))


def simulate_pareto_nbd(
    r: float,
    alpha: float,
    s: float,
    beta: float,
    T: ArrayLike,
    rng: np.random.Generator,
    *,
    holdout: float = 0.0,
) -> SimulatedCustomers:
    """Customers of a Pareto/NBD(r, alpha, s, beta) population, each observed for ``T``.

    Purchase rate lambda ~ Gamma(r, rate alpha), dropout rate mu ~ Gamma(s, rate beta),
    lifetime tau ~ Exponential(mu); purchases are Poisson(lambda) while alive, and the
    last of x uniform arrival times in (0, min(tau, T)] is min(tau, T) * Beta(x, 1).
    """
    age = _ages(T, holdout)
    n = age.size
    rate = rng.gamma(r, 1.0 / alpha, n)
    death_rate = rng.gamma(s, 1.0 / beta, n)
    lifetime = rng.exponential(1.0, n) / np.maximum(death_rate, 1e-300)
    active = np.minimum(lifetime, age)
    x = rng.poisson(rate * active)
    recency = np.zeros(n)
    bought = x > 0
    recency[bought] = active[bought] * rng.beta(x[bought].astype(float), 1.0)
    active_later = np.clip(lifetime - age, 0.0, holdout)
    later = rng.poisson(rate * active_later)
    return SimulatedCustomers(
        x.astype(float), recency, age, rate, lifetime > age, later.astype(float)
    )


def simulate_gamma_gamma_spend(
    p: float, q: float, gamma: float, frequency: ArrayLike, rng: np.random.Generator
) -> SimulatedSpend:
    """Mean spend of each customer's ``frequency`` purchases under Gamma-Gamma(p, q, gamma).

    Each customer has nu ~ Gamma(q, rate gamma) and true mean spend p / nu; each purchase
    is Gamma(p, rate nu), so the sum of x of them is Gamma(p x, rate nu). Customers with
    x = 0 get a mean spend of 0.
    """
    x = as_float_array(frequency, "frequency")
    nu = rng.gamma(q, 1.0 / gamma, x.size)
    spend = np.zeros(x.size)
    bought = x > 0
    spend[bought] = rng.gamma(p * x[bought], 1.0 / nu[bought]) / x[bought]
    return SimulatedSpend(spend, p / nu)


__all__ = [
    "SimulatedCustomers",
    "SimulatedSpend",
    "simulate_bgnbd",
    "simulate_gamma_gamma_spend",
    "simulate_pareto_nbd",
]
