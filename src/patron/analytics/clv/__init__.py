"""Customer lifetime value: buy-till-you-die purchase models and a spend model.

Pure numpy/scipy; no database, no pandas. The usual pipeline:

    summary = summarize(transactions, customer_col=..., date_col=..., amount_col=...,
                        calibration_end=..., freq="W")
    purchases = fit_bgnbd(summary.frequency, summary.recency, summary.T)
    spend = fit_gamma_gamma(summary.frequency, summary.monetary_value)
    value = predict_customer_value(purchases, spend, summary.frequency, summary.recency,
                                   summary.T, summary.monetary_value,
                                   horizon=12, discount_rate=0.01, freq="W")
    value.probability_alive, value.expected_purchases, value.expected_spend, value.clv

or piece by piece: ``purchases.probability_alive(x, t_x, T)``,
``purchases.expected_purchases(t, x, t_x, T)``, ``spend.expected_spend(x, m)`` and
:func:`customer_lifetime_value`.

Models: BG/NBD (Fader, Hardie & Lee 2005), Pareto/NBD (Schmittlein, Morrison & Colombo
1987, in the formulation of Fader & Hardie 2005), Gamma-Gamma spend (Fader & Hardie
2013). Each ``fit_*`` returns a frozen dataclass holding the parameters and the full
log-likelihood of the fitting data (a sum over customers, in the data's units).
Results are estimates (float64), never amounts to book. ``patron.analytics.clv.simulate``
draws customers from the models (tests, benchmarks); ``patron analytics clv`` is the
command line (``command.py``).
"""

from .bgnbd import BGNBDModel, bgnbd_log_likelihood, fit_bgnbd
from .gamma_gamma import GammaGammaModel, fit_gamma_gamma, gamma_gamma_log_likelihood
from .pareto_nbd import ParetoNBDModel, fit_pareto_nbd, pareto_nbd_log_likelihood
from .summary import FREQUENCIES, RFMSummary, summarize
from .value import (
    PERIODS_PER_MONTH,
    CustomerValue,
    PurchaseModel,
    SpendModel,
    customer_lifetime_value,
    predict_customer_value,
)

__all__ = [
    "FREQUENCIES",
    "PERIODS_PER_MONTH",
    "BGNBDModel",
    "CustomerValue",
    "GammaGammaModel",
    "ParetoNBDModel",
    "PurchaseModel",
    "RFMSummary",
    "SpendModel",
    "bgnbd_log_likelihood",
    "customer_lifetime_value",
    "fit_bgnbd",
    "fit_gamma_gamma",
    "fit_pareto_nbd",
    "gamma_gamma_log_likelihood",
    "pareto_nbd_log_likelihood",
    "predict_customer_value",
    "summarize",
]
