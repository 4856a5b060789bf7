"""CDNOW data (see tests/data/cdnow/README.md) and helpers for the CLV model tests."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

CDNOW = Path(__file__).resolve().parents[3] / "data" / "cdnow"
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class CdnowSummary:
    """The published per-customer summary (weeks, dollars)."""

    customer: FloatArray
    frequency: FloatArray
    recency: FloatArray
    T: FloatArray
    monetary_value: FloatArray


@pytest.fixture(scope="session")
def cdnow() -> CdnowSummary:
    data = np.genfromtxt(
        CDNOW / "cdnow_customers_summary_with_transactions.csv", delimiter=",", names=True
    )
    return CdnowSummary(data["ID"], data["x"], data["t_x"], data["T"], data["zbar"])


@pytest.fixture(scope="session")
def cdnow_transactions() -> dict[str, list[object]]:
    """The 6,919 CDNOW sample transactions as columns: customer, date, amount."""
    columns: dict[str, list[object]] = {"customer": [], "date": [], "amount": []}
    for line in (CDNOW / "CDNOW_sample.txt").read_text().splitlines():
        _, customer, day, _, dollars = line.split()
        columns["customer"].append(int(customer))
        columns["date"].append(f"{day[:4]}-{day[4:6]}-{day[6:]}")
        columns["amount"].append(float(dollars))
    return columns


def standard_errors(
    log_likelihood: Callable[[FloatArray], float], params: Sequence[float]
) -> FloatArray:
    """Asymptotic standard errors of maximum-likelihood estimates: square roots of the
    diagonal of the inverse observed information (a central-difference Hessian of the
    summed log-likelihood, steps relative to each parameter)."""
    theta = np.asarray(params, dtype=float)
    k = theta.size
    steps = 1e-4 * np.abs(theta)
    hessian = np.empty((k, k))
    for i in range(k):
        for j in range(i, k):
            total = 0.0
            for si, sj, sign in ((1, 1, 1), (1, -1, -1), (-1, 1, -1), (-1, -1, 1)):
                point = theta.copy()
                point[i] += si * steps[i]
                point[j] += sj * steps[j]
                total += sign * log_likelihood(point)
            hessian[i, j] = hessian[j, i] = total / (4 * steps[i] * steps[j])
    covariance = np.linalg.inv(-hessian)
    return np.sqrt(np.diag(covariance))
