"""Customer lifetime value over a finite horizon, discounted step by step.

Convention (the one of ``lifetimes.utils._customer_lifetime_value``): the horizon is
cut into ``horizon`` steps (months by default), each ``periods_per_step`` model time
units long (``PERIODS_PER_MONTH[freq]``: 30 days, 4.345 weeks, 1 month). The value of
a customer is

    CLV = sum_{k=1..horizon} spend * (E[Y(k L)] - E[Y((k-1) L)]) / (1 + d)^k

where E[Y(t)] is the purchase model's expected number of purchases in (T, T+t] given
the customer's history, L = periods_per_step, spend the expected spend per purchase
(Gamma-Gamma) and d the ``discount_rate`` per step (monthly by default: 0.01 a month
is about 12.7% a year). Purchases of step k are discounted as if made at its end.
These are estimates for analytics (floats), not money to book.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ._common import ArrayLike, FloatArray, as_float_array

#: Model time units in one month, as in lifetimes: D -> 30, W -> 4.345, M -> 1.
PERIODS_PER_MONTH: dict[str, float] = {"D": 30.0, "W": 4.345, "M": 1.0}


class PurchaseModel(Protocol):
    """Anything that predicts conditional expected purchases (BG/NBD, Pareto/NBD)."""

    def expected_purchases(
        self, t: float, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray: ...

    def probability_alive(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray: ...


class SpendModel(Protocol):
    """Anything that predicts the expected spend per purchase (Gamma-Gamma)."""

    def expected_spend(self, frequency: ArrayLike, monetary_value: ArrayLike) -> FloatArray: ...


def customer_lifetime_value(
    purchases: PurchaseModel,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    expected_spend: ArrayLike,
    *,
    horizon: int = 12,
    discount_rate: float = 0.01,
    freq: str = "W",
    periods_per_step: float | None = None,
) -> FloatArray:
    """Discounted expected value of each customer's purchases over ``horizon`` steps.

    ``freq`` is the time unit of (recency, T) and of the purchase model; a step is a
    month (``PERIODS_PER_MONTH[freq]`` units) unless ``periods_per_step`` says
    otherwise, and ``discount_rate`` is per step. ``expected_spend`` is per purchase
    (e.g. :meth:`GammaGammaModel.expected_spend`).
    """
    if horizon < 0 or int(horizon) != horizon:
        raise ValueError("horizon must be a non-negative whole number of steps")
    if not discount_rate > -1.0:
        raise ValueError("discount_rate must be greater than -1")
    periods_per_step = _periods_per_step(freq, periods_per_step)
    spend = as_float_array(expected_spend, "expected_spend")
    size = np.broadcast(np.asarray(frequency), np.asarray(recency), np.asarray(T), spend).shape
    value = np.zeros(size)
    previous = np.zeros(size)
    for step in range(1, int(horizon) + 1):
        cumulative = purchases.expected_purchases(step * periods_per_step, frequency, recency, T)
        value += (cumulative - previous) / (1.0 + discount_rate) ** step
        previous = cumulative
    return np.asarray(value * spend, dtype=float)


@dataclass(frozen=True)
class CustomerValue:
    """Per-customer predictions over one horizon (float64 estimates, not money to book)."""

    probability_alive: FloatArray
    expected_purchases: FloatArray  #: in the next ``horizon`` steps
    expected_spend: FloatArray  #: per purchase
    clv: FloatArray  #: discounted value of those purchases
    horizon_periods: float  #: the horizon in the model's time unit

    def columns(self) -> dict[str, FloatArray]:
        return {
            "probability_alive": self.probability_alive,
            "expected_purchases": self.expected_purchases,
            "expected_spend": self.expected_spend,
            "clv": self.clv,
        }


def predict_customer_value(
    purchases: PurchaseModel,
    spend: SpendModel,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    monetary_value: ArrayLike,
    *,
    horizon: int = 12,
    discount_rate: float = 0.01,
    freq: str = "W",
    periods_per_step: float | None = None,
) -> CustomerValue:
    """P(alive), expected purchases and spend, and CLV over ``horizon`` steps (months
    unless ``periods_per_step`` says otherwise), as :func:`customer_lifetime_value`."""
    step = _periods_per_step(freq, periods_per_step)
    expected_spend = spend.expected_spend(frequency, monetary_value)
    return CustomerValue(
        probability_alive=purchases.probability_alive(frequency, recency, T),
        expected_purchases=purchases.expected_purchases(horizon * step, frequency, recency, T),
        expected_spend=expected_spend,
        clv=customer_lifetime_value(
            purchases,
            frequency,
            recency,
            T,
            expected_spend,
            horizon=horizon,
            discount_rate=discount_rate,
            periods_per_step=step,
        ),
        horizon_periods=horizon * step,
    )


def _periods_per_step(freq: str, periods_per_step: float | None) -> float:
    if periods_per_step is None:
        try:
            periods_per_step = PERIODS_PER_MONTH[freq]
        except KeyError:
            raise ValueError(f"freq must be one of {sorted(PERIODS_PER_MONTH)}") from None
    if not periods_per_step > 0:
        raise ValueError("periods_per_step must be positive")
    return float(periods_per_step)


__all__ = [
    "PERIODS_PER_MONTH",
    "CustomerValue",
    "PurchaseModel",
    "SpendModel",
    "customer_lifetime_value",
    "predict_customer_value",
]
