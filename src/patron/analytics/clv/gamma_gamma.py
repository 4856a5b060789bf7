"""Gamma-Gamma model of spend per transaction.

Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary Value" (note), after
Colombo & Jiang (1999). A customer's transaction values are Gamma(p, nu); across
customers nu ~ Gamma(q, gamma). For a customer with x transactions of mean value
m (here: x = frequency, m = monetary_value, the mean of the *repeat* purchases, so
only repeat buyers, x > 0, enter the fit) the density of m is

    f(m | p, q, gamma; x) = G(px+q) / (G(px) G(q)) * gamma^q (m x)^(px-1) x
                            / (gamma + m x)^(px+q)

and the expected spend of a customer given their history is

    E[M | p, q, gamma; m, x] = p (gamma + m x) / (p x + q - 1)

a weighted average of the population mean p gamma/(q-1) and the customer's own mean
(x = 0 gives the population mean; it needs q > 1). The model assumes spend is
independent of purchase frequency. Published CDNOW figures (946 repeat buyers, spend in
dollars): p=6.25, q=3.74, gamma=15.44.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln, psi

from ._common import (
    ArrayLike,
    FloatArray,
    as_float_array,
    check_weights,
    compress_rows,
    dot,
    maximise,
    worth_compressing,
    x_groups,
)


@dataclass(frozen=True)
class GammaGammaModel:
    """A fitted (or given) Gamma-Gamma spend model; ``log_likelihood`` is the summed
    log-likelihood of the repeat buyers it was fitted on."""

    p: float
    q: float
    gamma: float
    log_likelihood: float = float("nan")
    n_customers: float = 0.0
    converged: bool = True

    @property
    def params(self) -> tuple[float, float, float]:
        return (self.p, self.q, self.gamma)

    @property
    def population_mean_spend(self) -> float:
        """E[M] = p gamma / (q - 1) for a customer with no repeat purchase (inf if q <= 1)."""
        return self.p * self.gamma / (self.q - 1.0) if self.q > 1.0 else float("inf")

    def log_likelihood_per_customer(
        self, frequency: ArrayLike, monetary_value: ArrayLike
    ) -> FloatArray:
        """Log-density of each repeat buyer's mean spend (x > 0, m > 0)."""
        return gamma_gamma_log_likelihood(self.params, frequency, monetary_value)

    def expected_spend(self, frequency: ArrayLike, monetary_value: ArrayLike) -> FloatArray:
        """E[spend per transaction | x, m] = p (gamma + m x) / (p x + q - 1); infinite
        where p x + q <= 1 (the posterior of the mean spend has no mean there, as for
        x = 0 when q <= 1)."""
        x = as_float_array(frequency, "frequency")
        m = as_float_array(monetary_value, "monetary_value")
        x, m = np.broadcast_arrays(x, m)
        if np.any(x < 0):
            raise ValueError("frequency must be non-negative")
        p, q, gamma = self.params
        spend = np.where(x > 0, m, 0.0)
        denominator = p * x + q - 1.0
        with np.errstate(divide="ignore", invalid="ignore"):
            value = p * (gamma + spend * x) / denominator
        return np.asarray(np.where(denominator > 0, value, np.inf), dtype=float)


def _repeat_buyers(
    frequency: ArrayLike, monetary_value: ArrayLike
) -> tuple[FloatArray, FloatArray]:
    x = as_float_array(frequency, "frequency")
    m = as_float_array(monetary_value, "monetary_value")
    x, m = np.broadcast_arrays(x, m)
    if np.any(x <= 0):
        raise ValueError("the Gamma-Gamma likelihood is defined for repeat buyers (x > 0)")
    if np.any(m <= 0):
        raise ValueError("monetary_value must be positive for repeat buyers")
    return np.asarray(x, dtype=float), np.asarray(m, dtype=float)


def gamma_gamma_log_likelihood(
    params: tuple[float, float, float] | FloatArray,
    frequency: ArrayLike,
    monetary_value: ArrayLike,
) -> FloatArray:
    """Per-customer log-density of the mean spend m of x > 0 transactions."""
    x, m = _repeat_buyers(frequency, monetary_value)
    p, q, gamma = (float(v) for v in params)
    px = p * x
    return np.asarray(
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(gamma)
        + (px - 1.0) * np.log(m)
        + px * np.log(x)
        - (px + q) * np.log(gamma + m * x),
        dtype=float,
    )


class _Objective:
    """Mean negative log-likelihood and analytic gradient in log-parameters."""

    def __init__(self, x: FloatArray, m: FloatArray, w: FloatArray):
        self.xs, self.nx = x_groups(x, w)
        self.total = float(w.sum())
        self.w, self.wx = w, w * x
        self.spent = m * x
        self.log_m_x = np.log(m) + np.log(x)  # log(m x)
        self.w_log_m = dot(w, np.log(m))
        self.wx_log_mx = dot(self.wx, self.log_m_x)

    def __call__(self, theta: FloatArray) -> tuple[float, FloatArray]:
        p, q, gamma = (float(v) for v in np.exp(theta))
        xs, nx = self.xs, self.nx
        pxs = p * xs
        ll = dot(nx, gammaln(pxs + q) - gammaln(pxs))
        ll += self.total * (q * np.log(gamma) - gammaln(q))
        # (px - 1) log m + px log x = px log(mx) - log m
        ll += p * self.wx_log_mx - self.w_log_m
        log_total = np.log(gamma + self.spent)
        inv_total = 1.0 / (gamma + self.spent)
        wx_log_total, w_log_total = dot(self.wx, log_total), dot(self.w, log_total)
        ll -= p * wx_log_total + q * w_log_total
        psi_pxq = psi(pxs + q)
        g_p = dot(nx, xs * (psi_pxq - psi(pxs))) + self.wx_log_mx - wx_log_total
        g_q = dot(nx, psi_pxq) + self.total * (np.log(gamma) - psi(q)) - w_log_total
        g_gamma = self.total * q / gamma - p * dot(self.wx, inv_total) - q * dot(self.w, inv_total)
        grad = np.array([g_p * p, g_q * q, g_gamma * gamma])
        return float(-ll / self.total), -grad / self.total


def fit_gamma_gamma(
    frequency: ArrayLike,
    monetary_value: ArrayLike,
    *,
    weights: ArrayLike | None = None,
    compress: bool | None = None,
    initial: tuple[float, float, float] | None = None,
) -> GammaGammaModel:
    """Fit the Gamma-Gamma model by maximum likelihood on the repeat buyers.

    Customers with ``frequency == 0`` are dropped (their monetary_value is 0 by
    convention and carries no information); the rest must have positive spend.
    ``log_likelihood`` is the full sum over the repeat buyers used.
    """
    x_all = as_float_array(frequency, "frequency")
    m_all = as_float_array(monetary_value, "monetary_value")
    x_all, m_all = np.broadcast_arrays(x_all, m_all)
    w_all = check_weights(weights, x_all.size)
    keep = (x_all > 0) & (w_all > 0)
    x, m = _repeat_buyers(x_all[keep], m_all[keep])
    w = w_all[keep]
    if x.size == 0:
        raise ValueError("no repeat buyers (frequency > 0) to fit the Gamma-Gamma model")
    if compress is None:
        compress = worth_compressing(x, m)
    if compress:
        (x, m), w = compress_rows(x, m, weights=w)
    objective = _Objective(x, m, w)
    if initial is None:
        mean_spend = float(np.average(m, weights=w))
        initial = (1.0, 2.0, mean_spend)  # p gamma / (q - 1) = observed mean
    outcome = maximise(objective, initial, objective.total, analytic_gradient=True)
    p, q, gamma = (float(v) for v in outcome.params)
    return GammaGammaModel(
        p=p,
        q=q,
        gamma=gamma,
        log_likelihood=outcome.log_likelihood,
        n_customers=objective.total,
        converged=outcome.converged,
    )


__all__ = [
    "GammaGammaModel",
    "fit_gamma_gamma",
    "gamma_gamma_log_likelihood",
]
