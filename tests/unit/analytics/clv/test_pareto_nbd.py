"""Pareto/NBD: the published CDNOW estimates, the hypergeometric likelihood against a
direct integral, and simulated customers with known parameters, survival and future."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate
from scipy.special import gammaln

from patron.analytics.clv import ParetoNBDModel, fit_pareto_nbd, pareto_nbd_log_likelihood
from patron.analytics.clv.simulate import simulate_pareto_nbd

from .conftest import CdnowSummary, standard_errors

# Fader & Hardie, "A Note on Deriving the Pareto/NBD Model", CDNOW sample, weeks.
PUBLISHED = ParetoNBDModel(r=0.55, alpha=10.58, s=0.61, beta=11.67)


def test_cdnow_fit_reproduces_the_published_estimates(cdnow: CdnowSummary) -> None:
    model = fit_pareto_nbd(cdnow.frequency, cdnow.recency, cdnow.T)
    assert model.converged
    # Published to two decimals: within half a unit of the last place.
    assert model.r == pytest.approx(0.55, abs=5e-3)
    assert model.alpha == pytest.approx(10.58, abs=5e-3)
    assert model.s == pytest.approx(0.61, abs=5e-3)
    assert model.beta == pytest.approx(11.67, abs=5e-3)
    assert model.log_likelihood == pytest.approx(-9595.0, abs=0.05)
    per_customer = model.log_likelihood_per_customer(cdnow.frequency, cdnow.recency, cdnow.T)
    assert per_customer.sum() == pytest.approx(model.log_likelihood, abs=1e-6)


def _terms_by_integration(
    params: tuple[float, float, float, float], x: float, recency: float, T: float
) -> tuple[float, float]:
    """(log-likelihood, P(alive)) from the defining integral, no 2F1:
    L = G(r+x) a^r b^s / G(r) [(a+T)^-(r+x) (b+T)^-s
                                + s int_{t_x}^T (a+u)^-(r+x) (b+u)^-(s+1) du].
    Both terms are scaled by the integrand's value at t_x to keep quad in range."""
    r, alpha, s, beta = params

    def log_integrand(u: float) -> float:
        return float(-(r + x) * np.log(alpha + u) - (s + 1) * np.log(beta + u))

    scale = log_integrand(recency)
    died, _ = integrate.quad(
        lambda u: np.exp(log_integrand(u) - scale), recency, T, epsabs=0, epsrel=1e-12, limit=500
    )
    alive = np.exp(-(r + x) * np.log(alpha + T) - s * np.log(beta + T) - scale)
    head = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    return float(head + scale + np.log(alive + s * died)), float(alive / (alive + s * died))


@pytest.mark.parametrize(
    ("params", "x", "recency", "T"),
    [
        ((0.55, 10.58, 0.61, 11.67), 2, 30.43, 38.86),  # alpha < beta
        ((0.55, 10.58, 0.61, 11.67), 0, 0.0, 38.86),
        ((0.55, 11.67, 0.61, 10.58), 2, 30.43, 38.86),  # alpha > beta
        ((1.3, 4.0, 0.8, 4.0), 5, 10.0, 52.0),  # alpha = beta
        ((0.9, 80.0, 1.5, 0.3), 300, 2.0, 100.0),  # many purchases, alpha >> beta
        ((2.0, 0.2, 0.4, 60.0), 40, 70.0, 75.0),  # alpha << beta
        ((0.5, 5.0, 1.0, 5.0), 7, 52.0, 52.0),  # bought at the very end
    ],
)
def test_likelihood_and_survival_match_direct_integration(
    params: tuple[float, float, float, float], x: int, recency: float, T: float
) -> None:
    model = ParetoNBDModel(*params)
    log_likelihood, p_alive = _terms_by_integration(params, x, recency, T)
    assert model.log_likelihood_per_customer(x, recency, T)[0] == pytest.approx(
        log_likelihood, rel=1e-9, abs=1e-9
    )
    assert model.probability_alive(x, recency, T)[0] == pytest.approx(p_alive, rel=1e-8)


def test_expected_purchases_tend_continuously_to_the_s_equals_one_limit() -> None:
    at_one = ParetoNBDModel(0.7, 6.0, 1.0, 9.0).expected_purchases(52, 3, 20.0, 40.0)[0]
    for s in (1 - 1e-7, 1 + 1e-7):
        nearby = ParetoNBDModel(0.7, 6.0, s, 9.0).expected_purchases(52, 3, 20.0, 40.0)[0]
        assert nearby == pytest.approx(at_one, rel=1e-6)
    assert at_one > 0


@pytest.fixture(scope="module")
def simulated() -> tuple[np.ndarray, ...]:
    """100,000 customers from the CDNOW estimates, aged 1-78 weeks, followed 52 more."""
    rng = np.random.default_rng(19870101)
    sim = simulate_pareto_nbd(*PUBLISHED.params, rng.uniform(1.0, 78.0, 100_000), rng, holdout=52.0)
    return sim.frequency, sim.recency, sim.T, sim.alive, sim.frequency_holdout


def _groups(frequency: np.ndarray) -> list[np.ndarray]:
    return [frequency == 0, frequency == 1, (frequency >= 2) & (frequency <= 3), frequency >= 4]


def test_probability_alive_matches_simulated_survival(simulated: tuple[np.ndarray, ...]) -> None:
    """Within each frequency group, the share of customers alive matches the mean
    P(alive) to 4 standard errors."""
    x, t_x, T, alive, _ = simulated
    p_alive = PUBLISHED.probability_alive(x, t_x, T)
    for group in _groups(x):
        p = p_alive[group]
        error = np.sqrt(np.sum(p * (1 - p))) / p.size
        assert abs(alive[group].mean() - p.mean()) <= 4 * error
        assert p.size > 2000


def test_expected_purchases_match_simulated_holdout(simulated: tuple[np.ndarray, ...]) -> None:
    x, t_x, T, _, holdout = simulated
    predicted = PUBLISHED.expected_purchases(52.0, x, t_x, T)
    for group in _groups(x):
        gap = holdout[group] - predicted[group]
        error = gap.std() / np.sqrt(gap.size)
        assert abs(gap.mean()) <= 4 * error
        assert error < 0.06 * predicted[group].mean()


def test_fit_recovers_simulated_parameters() -> None:
    """20,000 simulated customers: each estimate within 4 asymptotic standard errors of
    the truth (errors under 25% of the value), likelihood at the estimate >= at truth."""
    truth = (0.8, 6.0, 0.5, 9.0)
    rng = np.random.default_rng(11)
    sim = simulate_pareto_nbd(*truth, rng.uniform(10.0, 100.0, 20_000), rng)
    model = fit_pareto_nbd(sim.frequency, sim.recency, sim.T)
    assert model.converged

    def total(params: np.ndarray) -> float:
        return float(pareto_nbd_log_likelihood(params, sim.frequency, sim.recency, sim.T).sum())

    errors = standard_errors(total, model.params)
    for estimate, true, error in zip(model.params, truth, errors, strict=True):
        assert abs(estimate - true) <= 4 * error
        assert error < 0.25 * true
    assert model.log_likelihood >= total(np.array(truth))


positive = st.floats(min_value=1e-2, max_value=100.0)


@settings(max_examples=200, deadline=None)
@given(
    r=positive,
    alpha=positive,
    s=positive,
    beta=positive,
    x=st.integers(min_value=0, max_value=2000),
    recency_share=st.floats(min_value=0.0, max_value=1.0),
    T=st.floats(min_value=1e-3, max_value=1e4),
    t=st.floats(min_value=0.0, max_value=1e4),
)
def test_predictions_stay_finite_and_coherent(
    r: float,
    alpha: float,
    s: float,
    beta: float,
    x: int,
    recency_share: float,
    T: float,
    t: float,
) -> None:
    model = ParetoNBDModel(r, alpha, s, beta)
    recency = recency_share * T if x > 0 else 0.0
    assert np.isfinite(model.log_likelihood_per_customer(x, recency, T)).all()
    p_alive = model.probability_alive(x, recency, T)[0]
    assert 0.0 <= p_alive <= 1.0
    shorter = model.expected_purchases(t / 2, x, recency, T)[0]
    longer = model.expected_purchases(t, x, recency, T)[0]
    assert np.isfinite(longer)
    assert 0.0 <= shorter <= longer * (1 + 1e-9) + 1e-12
