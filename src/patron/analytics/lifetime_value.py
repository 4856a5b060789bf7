"""The program's customer lifetime value: its purchases, the fitted models, the predictions.

Shared by ``patron analytics clv`` and ``GET /v1/analytics/clv``. Transactions are
every ``purchase`` event in the program currency, at its amount less what was
refunded (a fully refunded purchase is left out), dated in the program's time zone,
per member. Amounts become currency units as float64: model inputs and statistical
estimates, never amounts to book (the API rounds them to the minor unit for
display). scipy loads only when a fit is asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from patron.core.clock import now
from patron.core.errors import InvalidInput
from patron.core.money import exponent
from patron.events.models import Event
from patron.program.service import require_program

if TYPE_CHECKING:
    from patron.analytics.clv import (
        BGNBDModel,
        CustomerValue,
        GammaGammaModel,
        ParetoNBDModel,
        RFMSummary,
    )

PurchaseModelName = Literal["bgnbd", "pareto"]
PARAMETER_NAMES = {"bgnbd": ("r", "alpha", "a", "b"), "pareto": ("r", "alpha", "s", "beta")}
SPEND_PARAMETERS = ("p", "q", "gamma")


@dataclass(frozen=True)
class ValueFit:
    summary: RFMSummary
    purchases: BGNBDModel | ParetoNBDModel
    spend: GammaGammaModel
    value: CustomerValue
    zero_spend: int  # repeat buyers who spent nothing: left out of the spend model


def program_transactions(session: Session) -> tuple[dict[str, Any], str, str]:
    """(customer, date, amount) columns of the program's purchases, its currency, and
    today's date in its time zone (the default calibration end)."""
    _, program = require_program(session)
    zone = ZoneInfo(program.timezone)
    customers: list[int] = []
    moments: list[datetime] = []
    minor: list[int] = []
    query = (
        select(Event.member_id, Event.occurred_at, Event.amount - Event.refunded_amount)
        .where(Event.type == "purchase", Event.currency == program.currency)
        .where((Event.refunded_amount < Event.amount) | (Event.amount == 0))
        .execution_options(yield_per=50_000)
    )
    for member_id, occurred_at, net in session.execute(query):
        customers.append(member_id)
        moments.append(occurred_at.astimezone(zone).replace(tzinfo=None))
        minor.append(net)
    amounts = np.asarray(minor, dtype=np.float64) / 10 ** exponent(program.currency)
    today = now().astimezone(zone).date().isoformat()
    return {"customer": customers, "date": moments, "amount": amounts}, program.currency, today


def fit_value(
    columns: dict[str, Any],
    *,
    calibration_end: str,
    freq: str,
    model: PurchaseModelName,
    horizon: int,
    discount_rate: float,
    source_field: str | None,
) -> ValueFit:
    """Summarise, fit the purchase model and Gamma-Gamma, and predict per customer.

    A summary the data cannot give (no purchases up to ``calibration_end``, a bad
    date) is an InvalidInput naming ``source_field``; a model that cannot be fitted
    (too few repeat buyers) is an InvalidInput saying which.
    """
    from patron.analytics.clv import (
        fit_bgnbd,
        fit_gamma_gamma,
        fit_pareto_nbd,
        predict_customer_value,
        summarize,
    )

    try:
        summary = summarize(
            columns,
            customer_col="customer",
            date_col="date",
            amount_col="amount",
            calibration_end=calibration_end,
            freq=freq,
        )
    except ValueError as exc:
        raise InvalidInput(str(exc), field=source_field) from None
    x, t_x, age = summary.frequency, summary.recency, summary.T
    try:
        purchases: BGNBDModel | ParetoNBDModel = (
            fit_bgnbd(x, t_x, age) if model == "bgnbd" else fit_pareto_nbd(x, t_x, age)
        )
    except (ValueError, FloatingPointError) as exc:
        raise InvalidInput(f"cannot fit the {model} model: {exc}") from None
    repeat = (summary.frequency > 0) & (summary.monetary_value > 0)
    zero_spend = int(np.count_nonzero((summary.frequency > 0) & ~repeat))
    try:
        spend = fit_gamma_gamma(summary.frequency[repeat], summary.monetary_value[repeat])
    except (ValueError, FloatingPointError) as exc:
        raise InvalidInput(f"cannot fit the Gamma-Gamma spend model: {exc}") from None
    value = predict_customer_value(
        purchases,
        spend,
        summary.frequency,
        summary.recency,
        summary.T,
        summary.monetary_value,
        horizon=horizon,
        discount_rate=discount_rate,
        freq=freq,
    )
    return ValueFit(summary, purchases, spend, value, zero_spend)
