"""The cohort retention matrix: acquisition month x months since the first purchase.

A customer's *cohort* is the calendar month (UTC) of their first counted purchase.
``counts[i][k]`` is how many customers of cohort ``i`` bought at least once in the
``k``-th calendar month after their cohort month (``k = 0`` is the cohort month
itself, so ``counts[i][0]`` is the cohort's size); ``rates[i][k]`` divides by that
size. Cohorts are the months overlapping ``[start, end)``; activity is counted up to
``end``. A cell whose month begins at or after ``end`` has not been observed and is
None; the last observed month may be partial (it ends at ``end``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from patron.analytics.history import PurchaseHistory
from patron.analytics.periods import Period, month_label, month_number, month_of


@dataclass(frozen=True)
class CohortMatrix:
    months: list[str]  # cohort labels, 2026-01
    sizes: list[int]
    counts: list[list[int | None]]  # [cohort][months since first purchase]
    rates: list[list[float | None]]


def cohort_matrix(history: PurchaseHistory, period: Period) -> CohortMatrix:
    history = history.before(period.end_s)
    first_month = month_of(period.start)
    last_month = month_number(np.array([period.end_s - 1], dtype=np.int64))[0]
    size = int(last_month - first_month + 1)
    customers = history.customers
    month = month_number(history.at)
    cohort = month[customers.first] - first_month  # per customer, offset in the matrix
    # Distinct (customer, month) pairs: the history is sorted by customer then time.
    new_pair = np.ones(month.size, dtype=np.bool_)
    if month.size:
        new_pair[1:] = (customers.code[1:] != customers.code[:-1]) | (month[1:] != month[:-1])
    pair_customer = customers.code[new_pair]
    pair_cohort = cohort[pair_customer]
    pair_age = month[new_pair] - month[customers.first][pair_customer]
    inside = (pair_cohort >= 0) & (pair_cohort < size)
    cells = np.bincount(pair_cohort[inside] * size + pair_age[inside], minlength=size * size)
    grid = cells.reshape(size, size)

    counts: list[list[int | None]] = []
    rates: list[list[float | None]] = []
    sizes = [int(v) for v in grid[:, 0]]
    for i in range(size):
        observed = size - i  # months from the cohort month to the last observed one
        row = [int(v) for v in grid[i, :observed]]
        counts.append([*row, *([None] * (size - observed))])
        rates.append(
            [*(v / sizes[i] if sizes[i] else None for v in row), *([None] * (size - observed))]
        )
    return CohortMatrix(
        months=[month_label(first_month + i) for i in range(size)],
        sizes=sizes,
        counts=counts,
        rates=rates,
    )
