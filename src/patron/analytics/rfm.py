"""RFM: recency, frequency and monetary quintile scores, and named segments.

Per customer, over their counted purchases before ``as_of``: *recency* is the days
since the last purchase, *frequency* the number of purchases, *monetary* the net
amount spent (minor units). Each becomes a score 1-5 by quintile among all
customers: ``score = 1 + floor(5 * L / n)``, where ``L`` is how many customers have a
strictly worse value (an older last purchase; fewer purchases; less spent). Equal
values always get equal scores, and with distinct values each score holds a fifth
of the customers. The worst value scores 1, so 5 is always best.

Segments read the recency score ``R`` against ``FM = round_half_up((F + M) / 2)``:

=====  ============  ==================  ==================  ===========  ===========
R\\FM  1             2                   3                   4            5
=====  ============  ==================  ==================  ===========  ===========
5      new           potential loyalist  potential loyalist  champions    champions
4      new           potential loyalist  potential loyalist  loyal        champions
3      hibernating   potential loyalist  potential loyalist  loyal        loyal
2      hibernating   hibernating         at risk             at risk      cannot lose
1      lost          lost                at risk             at risk      cannot lose
=====  ============  ==================  ==================  ===========  ===========
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from patron.analytics.history import DAY, Floats, Ints, PurchaseHistory

SEGMENTS = (
    "champions",
    "loyal",
    "potential_loyalists",
    "new",
    "at_risk",
    "cannot_lose",
    "hibernating",
    "lost",
)
_C, _L, _P, _N, _A, _X, _H, _O = range(8)
# SEGMENT_GRID[R - 1][FM - 1] -> index into SEGMENTS (rows R = 1..5).
SEGMENT_GRID = np.array(
    [
        [_O, _O, _A, _A, _X],  # R = 1
        [_H, _H, _A, _A, _X],  # R = 2
        [_H, _P, _P, _L, _L],  # R = 3
        [_N, _P, _P, _L, _C],  # R = 4
        [_N, _P, _P, _C, _C],  # R = 5
    ],
    dtype=np.int64,
)


@dataclass(frozen=True)
class RFMTable:
    """One row per customer (``member`` ascending)."""

    member: Ints
    recency_days: Floats
    frequency: Ints
    monetary_minor: Ints
    r: Ints
    f: Ints
    m: Ints
    segment: Ints  # index into SEGMENTS

    def __len__(self) -> int:
        return int(self.member.size)

    def segment_counts(self) -> dict[str, int]:
        counts = np.bincount(self.segment, minlength=len(SEGMENTS))
        return {name: int(counts[i]) for i, name in enumerate(SEGMENTS)}


def quintile_scores(values: np.ndarray) -> Ints:
    """1-5 by quintile, higher values scoring higher; ties share a score."""
    n = values.size
    if not n:
        return np.zeros(0, dtype=np.int64)
    below = np.searchsorted(np.sort(values), values, side="left")
    return np.asarray(1 + (5 * below) // n, dtype=np.int64)


def segment_of(r: Ints, f: Ints, m: Ints) -> Ints:
    fm = (f + m + 1) // 2
    return np.asarray(SEGMENT_GRID[r - 1, fm - 1], dtype=np.int64)


def rfm_table(history: PurchaseHistory, as_of: int) -> RFMTable:
    history = history.before(as_of)
    customers = history.customers
    last = history.at[customers.last]
    frequency = customers.count
    monetary = (
        np.add.reduceat(history.net, customers.first)
        if len(customers)
        else np.zeros(0, dtype=np.int64)
    )
    r = quintile_scores(last)
    f = quintile_scores(frequency)
    m = quintile_scores(monetary)
    return RFMTable(
        member=customers.ids,
        recency_days=np.asarray((as_of - last) / DAY, dtype=np.float64),
        frequency=frequency,
        monetary_minor=np.asarray(monetary, dtype=np.int64),
        r=r,
        f=f,
        m=m,
        segment=segment_of(r, f, m),
    )
