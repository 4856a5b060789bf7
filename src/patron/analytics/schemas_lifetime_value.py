"""Customer lifetime value responses: the fitted purchase and spend models
(:class:`FittedModelOut`), each customer's predicted value (:class:`CustomerValueOut`)
and the whole fit with its totals and top customers (:class:`LifetimeValueOut`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, Field

from patron.analytics.figures import money

if TYPE_CHECKING:
    from patron.analytics.lifetime_value import ValueFit


class FittedModelOut(BaseModel):
    params: dict[str, float]
    log_likelihood: float = Field(description="The full log-likelihood, in the data's units.")
    customers_fitted: float
    converged: bool


class CustomerValueOut(BaseModel):
    member_id: int
    probability_alive: float
    expected_purchases: float
    expected_spend: Decimal | None = Field(description="Per purchase; null if unbounded.")
    clv: Decimal | None


class LifetimeValueOut(BaseModel):
    """Fitted models and their predictions. Model inputs and outputs are float64
    statistical estimates; amounts are rounded to the minor unit for reading, not
    for booking."""

    currency: str
    calibration_end: str
    freq: str
    model: str
    customers: int
    purchase_model: FittedModelOut
    spend_model: FittedModelOut
    repeat_buyers_without_spend: int
    horizon_months: int
    discount_rate: float
    mean_probability_alive: float | None
    expected_purchases: float
    clv_total: Decimal
    clv_mean: Decimal | None
    top: list[CustomerValueOut] = Field(description="The customers of highest CLV.")

    @classmethod
    def of(
        cls,
        fit: ValueFit,
        currency: str,
        calibration_end: str,
        *,
        model: str,
        horizon: int,
        discount_rate: Decimal,
        top: int,
    ) -> LifetimeValueOut:
        from patron.analytics.lifetime_value import PARAMETER_NAMES, SPEND_PARAMETERS

        unit = money(1, currency)

        def amount(x: float) -> Decimal | None:
            return Decimal(repr(float(x))).quantize(unit) if np.isfinite(x) else None

        def fitted(names: tuple[str, ...], m: Any) -> FittedModelOut:
            return FittedModelOut(
                params=dict(zip(names, (float(v) for v in m.params), strict=True)),
                log_likelihood=float(m.log_likelihood),
                customers_fitted=float(m.n_customers),
                converged=bool(m.converged),
            )

        value, customers = fit.value, fit.summary.customer
        finite = value.clv[np.isfinite(value.clv)]
        best = np.argsort(-np.nan_to_num(value.clv, nan=-np.inf), kind="stable")[:top]
        return cls(
            currency=currency,
            calibration_end=calibration_end,
            freq=fit.summary.freq,
            model=model,
            customers=int(customers.size),
            purchase_model=fitted(PARAMETER_NAMES[model], fit.purchases),
            spend_model=fitted(SPEND_PARAMETERS, fit.spend),
            repeat_buyers_without_spend=fit.zero_spend,
            horizon_months=horizon,
            discount_rate=float(discount_rate),
            mean_probability_alive=(
                float(value.probability_alive.mean()) if customers.size else None
            ),
            expected_purchases=float(value.expected_purchases.sum()),
            clv_total=amount(float(finite.sum())) or unit * 0,
            clv_mean=amount(float(finite.mean())) if finite.size else None,
            top=[
                CustomerValueOut(
                    member_id=int(customers[i]),
                    probability_alive=float(value.probability_alive[i]),
                    expected_purchases=float(value.expected_purchases[i]),
                    expected_spend=amount(float(value.expected_spend[i])),
                    clv=amount(float(value.clv[i])),
                )
                for i in best.tolist()
            ],
        )
