"""RFM quintiles and the segment map."""

from __future__ import annotations

import numpy as np

from patron.analytics.rfm import SEGMENT_GRID, SEGMENTS, quintile_scores, rfm_table, segment_of
from tests.unit.analytics.helpers import day, history


def test_quintiles_of_distinct_values() -> None:
    assert quintile_scores(np.array([50, 10, 40, 20, 30])).tolist() == [5, 1, 4, 2, 3]
    assert quintile_scores(np.arange(1, 11)).tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def test_ties_share_a_score_and_the_worst_value_scores_one() -> None:
    assert quintile_scores(np.array([1, 1, 1, 2, 3])).tolist() == [1, 1, 1, 4, 5]
    assert quintile_scores(np.array([7, 7, 7])).tolist() == [1, 1, 1]
    assert quintile_scores(np.array([], dtype=np.int64)).tolist() == []


def seg(r: int, f: int, m: int) -> str:
    return SEGMENTS[int(segment_of(np.array([r]), np.array([f]), np.array([m]))[0])]


def test_segment_map() -> None:
    assert seg(5, 5, 5) == "champions"
    assert seg(4, 5, 5) == "champions"
    assert seg(4, 4, 4) == "loyal"
    assert seg(3, 5, 4) == "loyal"  # FM = round_half_up(4.5) = 5
    assert seg(5, 1, 1) == "new"
    assert seg(4, 1, 2) == "potential_loyalists"  # FM = round_half_up(1.5) = 2
    assert seg(2, 4, 3) == "at_risk"
    assert seg(1, 5, 4) == "cannot_lose"
    assert seg(2, 2, 1) == "hibernating"
    assert seg(1, 1, 2) == "lost"
    assert set(SEGMENT_GRID.ravel().tolist()) == set(range(len(SEGMENTS)))


def test_rfm_table_of_five_customers() -> None:
    # Customer k (1..5) bought k times, the last time on day 10 * k, spending 100 each time
    # except customer 1, who spent 10,000 once.
    rows = [(k, 10 * k - i, 100) for k in range(2, 6) for i in range(k)] + [(1, 10, 10_000)]
    t = rfm_table(history(rows + [(6, 60, 1)]), as_of=day(60))  # customer 6 is after as_of
    assert t.member.tolist() == [1, 2, 3, 4, 5]
    assert t.recency_days.tolist() == [50.0, 40.0, 30.0, 20.0, 10.0]
    assert t.frequency.tolist() == [1, 2, 3, 4, 5]
    assert t.monetary_minor.tolist() == [10_000, 200, 300, 400, 500]
    assert t.r.tolist() == [1, 2, 3, 4, 5]
    assert t.f.tolist() == [1, 2, 3, 4, 5]
    assert t.m.tolist() == [5, 1, 2, 3, 4]
    names = [SEGMENTS[s] for s in t.segment.tolist()]
    # FM: 3, 2, 3, 4, 5
    assert names == ["at_risk", "hibernating", "potential_loyalists", "loyal", "champions"]
    assert t.segment_counts()["champions"] == 1
    assert sum(t.segment_counts().values()) == 5
