"""BG/NBD: published CDNOW estimates, formulas against independent integrals, and
simulated customers whose parameters, survival and future purchases are known."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate
from scipy.optimize import check_grad
from scipy.special import betaln

from patron.analytics.clv import BGNBDModel, bgnbd_log_likelihood, fit_bgnbd
from patron.analytics.clv.bgnbd import _Objective
from patron.analytics.clv.simulate import simulate_bgnbd

from .conftest import CdnowSummary, standard_errors

# Fader, Hardie & Lee (2005), CDNOW sample, weeks.
PUBLISHED = BGNBDModel(r=0.243, alpha=4.414, a=0.793, b=2.426)


def test_cdnow_fit_reproduces_the_published_estimates(cdnow: CdnowSummary) -> None:
    model = fit_bgnbd(cdnow.frequency, cdnow.recency, cdnow.T)
    assert model.converged
    assert model.n_customers == 2357
    # Published to three decimals: within half a unit of the last place.
    assert model.r == pytest.approx(0.243, abs=5e-4)
    assert model.alpha == pytest.approx(4.414, abs=5e-4)
    assert model.a == pytest.approx(0.793, abs=5e-4)
    assert model.b == pytest.approx(2.426, abs=5e-4)
    assert model.log_likelihood == pytest.approx(-9582.4, abs=0.05)
    per_customer = model.log_likelihood_per_customer(cdnow.frequency, cdnow.recency, cdnow.T)
    assert per_customer.sum() == pytest.approx(model.log_likelihood, abs=1e-6)


def test_log_likelihood_is_in_the_units_of_the_data(cdnow: CdnowSummary) -> None:
    """In days instead of weeks alpha is 7 times larger and each of the x purchase-time
    densities is 7 times smaller: LL_days = LL_weeks - sum(x) log 7."""
    weeks = fit_bgnbd(cdnow.frequency, cdnow.recency, cdnow.T)
    days = fit_bgnbd(cdnow.frequency, cdnow.recency * 7, cdnow.T * 7)
    assert days.alpha == pytest.approx(7 * weeks.alpha, rel=1e-5)
    assert (days.r, days.a, days.b) == pytest.approx((weeks.r, weeks.a, weeks.b), rel=1e-5)
    expected = weeks.log_likelihood - cdnow.frequency.sum() * np.log(7)
    assert days.log_likelihood == pytest.approx(expected, abs=1e-4)


def test_published_conditional_expectation() -> None:
    """FHL 2005: a customer with x=2, t_x=30.43, T=38.86 makes 1.226 purchases in the
    next 39 weeks."""
    expected = PUBLISHED.expected_purchases(39, 2, 30.43, 38.86)
    assert expected[0] == pytest.approx(1.226, abs=5e-4)


def _expected_by_integration(
    params: tuple[float, float, float, float], x: float, recency: float, T: float, t: float
) -> float:
    """E[Y(t) | x, t_x, T] without hypergeometric functions: alive customers have
    lambda ~ Gamma(r+x, alpha+T) and p ~ Beta(a, b+x); given (lambda, p) they make
    (1 - exp(-lambda p t)) / p purchases on average, whose mean over lambda is
    (1 - ((alpha+T)/(alpha+T+p t))^(r+x)) / p."""
    r, alpha, a, b = params
    c = alpha + T

    def integrand(p: float) -> float:
        purchases = -np.expm1((r + x) * np.log(c / (c + p * t))) / p
        density = np.exp((a - 1) * np.log(p) + (b + x - 1) * np.log1p(-p) - betaln(a, b + x))
        return float(purchases * density)

    value, _ = integrate.quad(integrand, 0, 1, limit=500, epsabs=1e-14, epsrel=1e-10)
    if x == 0:
        return value
    odds = a / (b + x - 1) * ((alpha + T) / (alpha + recency)) ** (r + x)
    return value / (1 + odds)


@pytest.mark.parametrize(
    ("params", "x", "recency", "T", "t"),
    [
        ((0.243, 4.414, 0.793, 2.426), 0, 0.0, 0.0, 39.0),  # new customer, E[X(t)]
        ((0.243, 4.414, 0.793, 2.426), 2, 30.43, 38.86, 39.0),
        ((0.243, 4.414, 0.793, 2.426), 0, 0.0, 38.86, 0.5),  # short horizon
        ((2.0, 0.1, 0.3, 0.4), 0, 0.0, 1.0, 52.0),  # a + b < 1: the 2F1 is negative
        ((0.5, 5.0, 5.0, 0.5), 50, 280.0, 300.0, 52.0),
        ((30.0, 1.0, 1.0, 1.0), 3, 5.0, 6.0, 52.0),  # a = 1: removable singularity
        ((0.3, 2.0, 0.5, 0.45), 0, 0.0, 3.0, 1e5),  # very long horizon
        ((1.2, 3.0, 0.9, 4.0), 400, 299.0, 300.0, 26.0),  # many purchases
    ],
)
def test_expected_purchases_match_direct_integration(
    params: tuple[float, float, float, float], x: int, recency: float, T: float, t: float
) -> None:
    model = BGNBDModel(*params)
    value = model.expected_purchases(t, x, recency, T)[0]
    assert value == pytest.approx(_expected_by_integration(params, x, recency, T, t), rel=1e-7)


@pytest.mark.parametrize(("x", "recency", "T", "t"), [(0, 0.0, 43.0, 52.0), (7, 34.0, 39.0, 1e3)])
def test_expected_purchases_when_everyone_drops_out_alike(
    x: int, recency: float, T: float, t: float
) -> None:
    """Huge a and b (a fit that found no spread in dropout probabilities): p is
    a/(a+b+x) for every customer, to within 1/(a+b), so E[Y(t) | alive] is the
    closed form (1 - ((alpha+T)/(alpha+T+p t))^(r+x)) / p. (Both 2F1 series overflow
    here in their first form.)"""
    r, alpha, a, b = 1.4, 7.4, 8.6e6, 3.0e7
    model = BGNBDModel(r, alpha, a, b)
    p = a / (a + b + x)
    c = alpha + T
    if_alive = -np.expm1((r + x) * np.log(c / (c + p * t))) / p
    expected = if_alive * model.probability_alive(x, recency, T)[0]
    assert model.expected_purchases(t, x, recency, T)[0] == pytest.approx(expected, rel=1e-6)


@pytest.fixture(scope="module")
def simulated() -> tuple[BGNBDModel, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """100,000 customers from the CDNOW parameters, aged 1-78 weeks, followed 52 more."""
    rng = np.random.default_rng(20050401)
    T = rng.uniform(1.0, 78.0, 100_000)
    sim = simulate_bgnbd(*PUBLISHED.params, T, rng, holdout=52.0)
    return PUBLISHED, sim.frequency, sim.recency, sim.T, sim.alive, sim.frequency_holdout


def _groups(frequency: np.ndarray) -> list[np.ndarray]:
    return [frequency == 0, frequency == 1, (frequency >= 2) & (frequency <= 3), frequency >= 4]


def test_probability_alive_matches_simulated_survival(simulated: tuple[np.ndarray, ...]) -> None:
    """Given its history a customer is alive with probability P(alive): within each
    frequency group the share alive matches the mean prediction to 4 standard errors."""
    model, x, t_x, T, alive, _ = simulated
    assert isinstance(model, BGNBDModel)
    p_alive = model.probability_alive(x, t_x, T)
    assert np.all(p_alive[x == 0] == 1.0)  # BG/NBD: no dropout before a repeat purchase
    for group in _groups(x):
        p = p_alive[group]
        error = np.sqrt(np.sum(p * (1 - p))) / p.size
        assert abs(alive[group].mean() - p.mean()) <= 4 * error + 1e-12
        assert p.size > 2000


def test_expected_purchases_match_simulated_holdout(simulated: tuple[np.ndarray, ...]) -> None:
    """The conditional expectation predicts the simulated next 52 weeks: within each
    frequency group, mean predicted = mean realised to 4 standard errors, and the
    standard error is small enough (< 6% of the mean) for this to discriminate."""
    model, x, t_x, T, _, holdout = simulated
    assert isinstance(model, BGNBDModel)
    predicted = model.expected_purchases(52.0, x, t_x, T)
    for group in _groups(x):
        gap = holdout[group] - predicted[group]
        error = gap.std() / np.sqrt(gap.size)
        assert abs(gap.mean()) <= 4 * error
        assert error < 0.06 * predicted[group].mean()


@pytest.mark.parametrize(
    ("truth", "seed"),
    [((0.243, 4.414, 0.793, 2.426), 1), ((2.0, 8.0, 0.5, 3.0), 2)],
)
def test_fit_recovers_simulated_parameters(
    truth: tuple[float, float, float, float], seed: int
) -> None:
    """50,000 simulated customers: every estimate within 4 asymptotic standard errors
    of the truth, those errors small (< 15% of the value), and the likelihood at the
    estimate at least that at the truth."""
    rng = np.random.default_rng(seed)
    sim = simulate_bgnbd(*truth, rng.uniform(1.0, 78.0, 50_000), rng)
    model = fit_bgnbd(sim.frequency, sim.recency, sim.T)
    assert model.converged

    def total(params: np.ndarray) -> float:
        return float(bgnbd_log_likelihood(params, sim.frequency, sim.recency, sim.T).sum())

    errors = standard_errors(total, model.params)
    for estimate, true, error in zip(model.params, truth, errors, strict=True):
        assert abs(estimate - true) <= 4 * error
        assert error < 0.15 * true
    assert model.log_likelihood >= total(np.array(truth))
    assert model.log_likelihood == pytest.approx(total(np.array(model.params)), abs=1e-6)


def test_compressed_and_weighted_fits_agree_with_the_raw_fit() -> None:
    """Whole-week data: merging identical rows (or passing counts as weights) changes
    neither the estimates nor the summed log-likelihood."""
    rng = np.random.default_rng(7)
    sim = simulate_bgnbd(0.5, 3.0, 0.7, 2.5, rng.integers(1, 40, 20_000).astype(float), rng)
    x, t_x, T = sim.frequency, np.floor(sim.recency), sim.T
    t_x[x == 0] = 0.0
    raw = fit_bgnbd(x, t_x, T, compress=False)
    merged = fit_bgnbd(x, t_x, T, compress=True)
    rows, index, counts = np.unique(np.c_[x, t_x, T], axis=0, return_index=True, return_counts=True)
    weighted = fit_bgnbd(rows[:, 0], rows[:, 1], rows[:, 2], weights=counts, compress=False)
    assert index.size < x.size / 4
    for model in (merged, weighted):
        assert model.params == pytest.approx(raw.params, rel=1e-5)
        assert model.log_likelihood == pytest.approx(raw.log_likelihood, abs=1e-5)
        assert model.n_customers == x.size


def test_analytic_gradient_matches_finite_differences(cdnow: CdnowSummary) -> None:
    weights = np.random.default_rng(3).integers(1, 5, cdnow.frequency.size).astype(float)
    objective = _Objective(cdnow.frequency, cdnow.recency, cdnow.T, weights)
    for point in (np.log([0.243, 4.414, 0.793, 2.426]), np.array([0.3, -1.0, 2.0, 0.5])):
        error = check_grad(
            lambda theta: objective(theta)[0],
            lambda theta: objective(theta)[1],
            point,
            epsilon=1e-7,
        )
        assert error < 1e-6


positive = st.floats(min_value=1e-2, max_value=50.0)


@settings(max_examples=200, deadline=None)
@given(
    r=positive,
    alpha=positive,
    a=positive,
    b=positive,
    x=st.integers(min_value=0, max_value=2000),
    recency_share=st.floats(min_value=0.0, max_value=1.0),
    T=st.floats(min_value=0.0, max_value=1e4),
    t=st.floats(min_value=0.0, max_value=1e4),
)
def test_predictions_stay_finite_and_coherent(
    r: float,
    alpha: float,
    a: float,
    b: float,
    x: int,
    recency_share: float,
    T: float,
    t: float,
) -> None:
    """Across a wide parameter and data range: finite log-likelihood, P(alive) in [0, 1],
    expected purchases finite, non-negative and non-decreasing in the horizon."""
    model = BGNBDModel(r, alpha, a, b)
    recency = recency_share * T if x > 0 else 0.0
    assert np.isfinite(model.log_likelihood_per_customer(x, recency, T)).all()
    p_alive = model.probability_alive(x, recency, T)[0]
    assert 0.0 <= p_alive <= 1.0
    shorter = model.expected_purchases(t / 2, x, recency, T)[0]
    longer = model.expected_purchases(t, x, recency, T)[0]
    assert np.isfinite(longer)
    assert -1e-9 <= shorter <= longer * (1 + 1e-9) + 1e-12


@pytest.mark.parametrize(
    ("frequency", "recency", "T", "message"),
    [
        ([1.5], [1.0], [2.0], "non-negative integers"),
        ([-1], [0.0], [2.0], "non-negative integers"),
        ([2], [3.0], [2.0], "cannot exceed T"),
        ([0], [1.0], [2.0], "must be 0"),
        ([1], [float("nan")], [2.0], "NaN"),
    ],
)
def test_bad_summaries_are_refused(
    frequency: list[float], recency: list[float], T: list[float], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        fit_bgnbd(frequency, recency, T)


def test_fit_needs_customers() -> None:
    with pytest.raises(ValueError, match="no customers"):
        fit_bgnbd([], [], [])
