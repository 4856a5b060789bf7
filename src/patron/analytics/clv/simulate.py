"""Customers drawn from the models themselves, for tests, benchmarks and sanity checks.

Each simulator takes the population parameters and each customer's age ``T`` (time
from the first purchase to the end of calibration, in the model's time unit) and
returns what :func:`~patron.analytics.clv.summarize` would have produced for them:
continuous ``recency`` and ``T`` (round them for period data). Everything is drawn in
one vectorised pass from a ``numpy.random.Generator``, so a seed fixes the result.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ._common import ArrayLike, FloatArray, as_float_array


@dataclass(frozen=True)
class SimulatedCustomers:
    """Repeat purchases, recency and age per customer, and the hidden truth behind them."""

    frequency: FloatArray
    recency: FloatArray
    T: FloatArray
    purchase_rate: FloatArray  #: lambda, purchases per time unit while alive
    alive: npt.NDArray[np.bool_]  #: still alive at T (the models' hidden state)


def _ages(T: ArrayLike) -> FloatArray:
    age = as_float_array(T, "T")
    if np.any(age < 0):
        raise ValueError("T must be non-negative")
    return age


def simulate_bgnbd(
    r: float, alpha: float, a: float, b: float, T: ArrayLike, rng: np.random.Generator
) -> SimulatedCustomers:
    """Customers of a BG/NBD(r, alpha, a, b) population, each observed for ``T``.

    While alive a customer buys at rate lambda ~ Gamma(r, rate alpha); after each repeat
    purchase they drop out with probability p ~ Beta(a, b). With N(T) ~ Poisson(lambda T)
    purchases available and K ~ Geometric(p) repeat purchases before dropping out, the
    customer makes x = min(N, K) of them, and the x-th of N uniform arrival times is
    T * Beta(x, N - x + 1).
    """
    age = _ages(T)
    n = age.size
    rate = rng.gamma(r, 1.0 / alpha, n)
    dropout = rng.beta(a, b, n)
    available = rng.poisson(rate * age)
    lifetime_purchases = rng.geometric(np.clip(dropout, 1e-300, 1.0))
    x = np.minimum(available, lifetime_purchases)
    recency = np.zeros(n)
    bought = x > 0
    recency[bought] = age[bought] * rng.beta(
        x[bought].astype(float), (available[bought] - x[bought] + 1).astype(float)
    )
    alive = available < lifetime_purchases
    return SimulatedCustomers(x.astype(float), recency, age, rate, alive)


def simulate_pareto_nbd(
    r: float, alpha: float, s: float, beta: float, T: ArrayLike, rng: np.random.Generator
) -> SimulatedCustomers:
    """Customers of a Pareto/NBD(r, alpha, s, beta) population, each observed for ``T``.

    Purchase rate lambda ~ Gamma(r, rate alpha), dropout rate mu ~ Gamma(s, rate beta),
    lifetime tau ~ Exponential(mu); purchases are Poisson(lambda) over (0, min(tau, T)],
    and the last of x uniform arrival times there is min(tau, T) * Beta(x, 1).
    """
    age = _ages(T)
    n = age.size
    rate = rng.gamma(r, 1.0 / alpha, n)
    death_rate = rng.gamma(s, 1.0 / beta, n)
    lifetime = rng.exponential(1.0, n) / np.maximum(death_rate, 1e-300)
    active = np.minimum(lifetime, age)
    x = rng.poisson(rate * active)
    recency = np.zeros(n)
    bought = x > 0
    recency[bought] = active[bought] * rng.beta(x[bought].astype(float), 1.0)
    return SimulatedCustomers(x.astype(float), recency, age, rate, lifetime > age)


def simulate_gamma_gamma_spend(
    p: float, q: float, gamma: float, frequency: ArrayLike, rng: np.random.Generator
) -> FloatArray:
    """Mean spend of each customer's ``frequency`` transactions under Gamma-Gamma(p, q, gamma).

    Each customer has nu ~ Gamma(q, rate gamma); each transaction is Gamma(p, rate nu), so
    the sum of x of them is Gamma(p x, rate nu). Customers with x = 0 get 0.
    """
    x = as_float_array(frequency, "frequency")
    nu = rng.gamma(q, 1.0 / gamma, x.size)
    spend = np.zeros(x.size)
    bought = x > 0
    spend[bought] = rng.gamma(p * x[bought], 1.0 / nu[bought]) / x[bought]
    return spend


__all__ = [
    "SimulatedCustomers",
    "simulate_bgnbd",
    "simulate_gamma_gamma_spend",
    "simulate_pareto_nbd",
]
