"""Customer lifetime value: the discounting convention, and agreement with the
reference implementation (lifetimes 0.11.3) on CDNOW."""

from __future__ import annotations

import numpy as np
import pytest

from patron.analytics.clv import (
    PERIODS_PER_MONTH,
    BGNBDModel,
    GammaGammaModel,
    ParetoNBDModel,
    customer_lifetime_value,
    predict_customer_value,
)
from patron.analytics.clv._common import ArrayLike, FloatArray

from .conftest import CdnowSummary


class SteadyBuyer:
    """A purchase model with a known answer: `rate` purchases per period, forever."""

    def __init__(self, rate: float) -> None:
        self.rate = rate

    def expected_purchases(
        self, t: float, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        return np.full(np.shape(frequency), self.rate * t)

    def probability_alive(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        return np.ones(np.shape(frequency))


def test_each_month_is_discounted_at_its_end() -> None:
    """0.5 purchases a week of 20.00 for 12 months at 1% a month:
    sum_k 20 * 0.5 * 4.345 / 1.01^k."""
    value = customer_lifetime_value(
        SteadyBuyer(0.5), [3], [10.0], [20.0], [20.0], horizon=12, discount_rate=0.01, freq="W"
    )
    months = np.arange(1, 13)
    expected = np.sum(20.0 * 0.5 * PERIODS_PER_MONTH["W"] / 1.01**months)
    assert value[0] == pytest.approx(expected, rel=1e-12)
    assert value[0] < 20.0 * 0.5 * 52.14  # discounting costs something


def test_without_discounting_clv_is_spend_times_expected_purchases(cdnow: CdnowSummary) -> None:
    model = BGNBDModel(0.243, 4.414, 0.793, 2.426)
    x, t_x, T = cdnow.frequency[:50], cdnow.recency[:50], cdnow.T[:50]
    value = customer_lifetime_value(model, x, t_x, T, 30.0, horizon=6, discount_rate=0.0, freq="D")
    expected = 30.0 * model.expected_purchases(6 * 30.0, x, t_x, T)
    np.testing.assert_allclose(value, expected, rtol=1e-12)


# lifetimes 0.11.3 (bench/requirements-lifetimes.txt) on the CDNOW summary:
# BetaGeoFitter().fit(...), GammaGammaFitter().fit(repeat buyers), then
# ggf.customer_lifetime_value(bgf, ..., time=12, discount_rate=0.01, freq=F) for the
# first six customers. The parameters are lifetimes' own estimates, in full.
LIFETIMES_BGNBD = BGNBDModel(
    0.24259292827982182, 4.413532265271819, 0.7928859664406882, 2.42575238262586
)
LIFETIMES_GG = GammaGammaModel(6.248802496075312, 3.744588460923114, 15.44774806492914)
LIFETIMES_CLV = {
    # freq="D" on weekly data: lifetimes' README example, where a "month" is 30 weeks.
    "D": [140.0962176, 18.9434663, 38.18057471, 38.18057471, 38.18057471, 1003.86828547],
    "W": [36.27849576, 4.63746633, 8.34409312, 8.34409312, 8.34409312, 283.52359259],
}


@pytest.mark.parametrize("freq", ["D", "W"])
def test_matches_lifetimes_on_cdnow(cdnow: CdnowSummary, freq: str) -> None:
    x, t_x, T, m = (v[:6] for v in (cdnow.frequency, cdnow.recency, cdnow.T, cdnow.monetary_value))
    predicted = predict_customer_value(
        LIFETIMES_BGNBD, LIFETIMES_GG, x, t_x, T, m, horizon=12, discount_rate=0.01, freq=freq
    )
    np.testing.assert_allclose(predicted.clv, LIFETIMES_CLV[freq], rtol=1e-8)
    # lifetimes: conditional_expected_average_profit, conditional_probability_alive
    np.testing.assert_allclose(
        predicted.expected_spend[:3], [24.658616189, 18.91147987, 35.17100215], rtol=1e-8
    )
    np.testing.assert_allclose(
        predicted.probability_alive[:3], [0.7266091368, 0.21222738807, 1.0], rtol=1e-8
    )
    assert predicted.horizon_periods == pytest.approx(12 * PERIODS_PER_MONTH[freq])
    expected = LIFETIMES_BGNBD.expected_purchases(predicted.horizon_periods, x, t_x, T)
    np.testing.assert_allclose(predicted.expected_purchases, expected)
    assert set(predicted.columns()) == {
        "probability_alive",
        "expected_purchases",
        "expected_spend",
        "clv",
    }


def test_lifetimes_conditional_expectation_on_cdnow(cdnow: CdnowSummary) -> None:
    """lifetimes' conditional_expected_number_of_purchases_up_to_time(39, ...)."""
    expected = LIFETIMES_BGNBD.expected_purchases(
        39, cdnow.frequency[:3], cdnow.recency[:3], cdnow.T[:3]
    )
    np.testing.assert_allclose(
        expected, [1.2259104241744, 0.20325062425619, 0.19478085793948], rtol=1e-9
    )


def test_works_with_the_pareto_model_too(cdnow: CdnowSummary) -> None:
    model = ParetoNBDModel(0.55, 10.58, 0.61, 11.67)
    x, t_x, T, m = (v[:20] for v in (cdnow.frequency, cdnow.recency, cdnow.T, cdnow.monetary_value))
    short = predict_customer_value(model, LIFETIMES_GG, x, t_x, T, m, horizon=6)
    long = predict_customer_value(model, LIFETIMES_GG, x, t_x, T, m, horizon=24)
    assert np.all(short.clv > 0)
    assert np.all(long.clv > short.clv)
    assert np.all(long.clv < long.expected_purchases * long.expected_spend)  # discounted


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"horizon": -1}, "horizon"),
        ({"horizon": 1.5}, "horizon"),
        ({"discount_rate": -1.0}, "discount_rate"),
        ({"freq": "Y"}, "freq"),
        ({"periods_per_step": 0.0}, "periods_per_step"),
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, float | str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        customer_lifetime_value(SteadyBuyer(1.0), [1], [1.0], [2.0], [10.0], **kwargs)


def test_zero_horizon_is_worth_nothing() -> None:
    value = customer_lifetime_value(
        SteadyBuyer(1.0), [1, 2], [1.0, 2.0], [2.0, 3.0], 10.0, horizon=0
    )
    assert value.tolist() == [0.0, 0.0]
