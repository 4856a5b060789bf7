"""Gamma-Gamma spend model: the published CDNOW estimates, a proper density, and
simulated customers whose true mean spend is known."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate
from scipy.optimize import check_grad

from patron.analytics.clv import GammaGammaModel, fit_gamma_gamma, gamma_gamma_log_likelihood
from patron.analytics.clv.gamma_gamma import _Objective
from patron.analytics.clv.simulate import simulate_gamma_gamma_spend

from .conftest import CdnowSummary, standard_errors

# Fader, Hardie & Lee (2005), "RFM and CLV", CDNOW repeat buyers, dollars.
PUBLISHED = GammaGammaModel(p=6.25, q=3.74, gamma=15.44)


def test_cdnow_fit_reproduces_the_published_estimates(cdnow: CdnowSummary) -> None:
    """Fitted on the 946 repeat buyers only. The published figures come from a
    spreadsheet optimiser: p and q agree to half a unit of the last published digit,
    gamma to one unit (15.448 against 15.44), and the likelihood here is at least that
    of the published triple (and barely above it)."""
    model = fit_gamma_gamma(cdnow.frequency, cdnow.monetary_value)
    assert model.converged
    assert model.n_customers == 946
    assert model.p == pytest.approx(6.25, abs=5e-3)
    assert model.q == pytest.approx(3.74, abs=5e-3)
    assert model.gamma == pytest.approx(15.44, abs=1e-2)
    repeat = cdnow.frequency > 0
    published_ll = PUBLISHED.log_likelihood_per_customer(
        cdnow.frequency[repeat], cdnow.monetary_value[repeat]
    ).sum()
    assert published_ll <= model.log_likelihood < published_ll + 0.05


@pytest.mark.parametrize("x", [1, 3, 12])
def test_density_of_mean_spend_integrates_to_one(x: int) -> None:
    def density(m: float) -> float:
        return float(np.exp(PUBLISHED.log_likelihood_per_customer(x, m)[0]))

    total, _ = integrate.quad(density, 0, np.inf, limit=500, epsrel=1e-10)
    assert total == pytest.approx(1.0, abs=1e-8)


def test_expected_spend_without_repeat_purchases_is_the_population_mean() -> None:
    assert PUBLISHED.population_mean_spend == pytest.approx(6.25 * 15.44 / 2.74)
    assert PUBLISHED.expected_spend(0, 0.0)[0] == pytest.approx(PUBLISHED.population_mean_spend)
    # The conditional mean lies between the population mean and the customer's own.
    own = PUBLISHED.expected_spend([2, 2], [10.0, 80.0])
    assert 10.0 < own[0] < PUBLISHED.population_mean_spend < own[1] < 80.0


def test_expected_spend_is_infinite_where_the_posterior_has_no_mean() -> None:
    heavy_tailed = GammaGammaModel(p=2.0, q=0.8, gamma=10.0)
    assert heavy_tailed.population_mean_spend == np.inf
    spend = heavy_tailed.expected_spend([0, 1], [0.0, 12.0])
    assert spend[0] == np.inf
    assert spend[1] == pytest.approx(2.0 * (10.0 + 12.0) / (2.0 + 0.8 - 1.0))


def test_expected_spend_matches_simulated_true_means() -> None:
    """Given x purchases of mean m, E[spend | x, m] is the posterior mean of the
    customer's true mean spend p/nu: in each frequency group the average prediction
    equals the average truth to 4 standard errors (and those errors are < 2%)."""
    rng = np.random.default_rng(2013)
    x = rng.integers(1, 15, 100_000).astype(float)
    sim = simulate_gamma_gamma_spend(*PUBLISHED.params, x, rng)
    predicted = PUBLISHED.expected_spend(x, sim.monetary_value)
    for group in (x == 1, (x >= 2) & (x <= 4), x >= 5):
        gap = sim.true_mean_spend[group] - predicted[group]
        error = gap.std() / np.sqrt(gap.size)
        assert abs(gap.mean()) <= 4 * error
        assert error < 0.02 * predicted[group].mean()
    # And the customer's own mean alone would be a worse estimate than the shrunk one.
    own_error = np.mean((sim.true_mean_spend - sim.monetary_value) ** 2)
    assert np.mean((sim.true_mean_spend - predicted) ** 2) < own_error


def test_fit_recovers_simulated_parameters() -> None:
    truth = (4.0, 5.0, 30.0)
    rng = np.random.default_rng(17)
    x = rng.integers(1, 20, 20_000).astype(float)
    spend = simulate_gamma_gamma_spend(*truth, x, rng).monetary_value
    model = fit_gamma_gamma(x, spend)
    assert model.converged

    def total(params: np.ndarray) -> float:
        return float(gamma_gamma_log_likelihood(params, x, spend).sum())

    errors = standard_errors(total, model.params)
    for estimate, true, error in zip(model.params, truth, errors, strict=True):
        assert abs(estimate - true) <= 4 * error
        assert error < 0.15 * true
    assert model.log_likelihood >= total(np.array(truth))
    assert model.log_likelihood == pytest.approx(total(np.array(model.params)), abs=1e-6)


def test_customers_without_repeat_purchases_are_left_out() -> None:
    rng = np.random.default_rng(8)
    x = rng.integers(0, 6, 2_000).astype(float)
    spend = simulate_gamma_gamma_spend(6.25, 3.74, 15.44, x, rng).monetary_value
    with_zeros = fit_gamma_gamma(x, spend)
    without = fit_gamma_gamma(x[x > 0], spend[x > 0])
    assert with_zeros.n_customers == np.count_nonzero(x) < x.size
    assert with_zeros.params == pytest.approx(without.params, rel=1e-6)
    assert with_zeros.log_likelihood == pytest.approx(without.log_likelihood, abs=1e-8)


def test_rounded_spend_compresses_without_changing_the_fit() -> None:
    rng = np.random.default_rng(5)
    x = rng.integers(1, 6, 30_000).astype(float)
    spend = np.round(simulate_gamma_gamma_spend(6.25, 3.74, 15.44, x, rng).monetary_value, 0)
    spend = np.maximum(spend, 1.0)
    merged = fit_gamma_gamma(x, spend, compress=True)
    raw = fit_gamma_gamma(x, spend, compress=False)
    assert merged.params == pytest.approx(raw.params, rel=1e-5)
    assert merged.log_likelihood == pytest.approx(raw.log_likelihood, abs=1e-5)


def test_analytic_gradient_matches_finite_differences(cdnow: CdnowSummary) -> None:
    repeat = cdnow.frequency > 0
    weights = np.random.default_rng(3).integers(1, 5, int(repeat.sum())).astype(float)
    objective = _Objective(cdnow.frequency[repeat], cdnow.monetary_value[repeat], weights)
    for point in (np.log([6.25, 3.74, 15.44]), np.array([0.3, -1.0, 2.0])):
        error = check_grad(
            lambda theta: objective(theta)[0],
            lambda theta: objective(theta)[1],
            point,
            epsilon=1e-7,
        )
        assert error < 1e-6


@pytest.mark.parametrize(
    ("frequency", "spend", "message"),
    [
        ([2, 1], [10.0, 0.0], "positive"),
        ([2, 1], [10.0, -5.0], "positive"),
        ([0, 0], [0.0, 0.0], "no repeat buyers"),
        ([1, 2], [3.0, float("inf")], "NaN or infinite"),
    ],
)
def test_bad_spend_is_refused(frequency: list[int], spend: list[float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        fit_gamma_gamma(frequency, spend)
