"""The purchase history container: sorting, customers, selections."""

from __future__ import annotations

import numpy as np

from patron.analytics.history import PurchaseHistory, per_customer, positions
from tests.unit.analytics.helpers import day, history


def test_build_sorts_by_member_then_time_and_finds_customers() -> None:
    h = history([(7, 3, 30), (2, 5, 50), (7, 1, 10), (2, 4, 40), (9, 0, 90)])
    assert h.member.tolist() == [2, 2, 7, 7, 9]
    assert h.at.tolist() == [day(4), day(5), day(1), day(3), day(0)]
    assert h.net.tolist() == [40, 50, 10, 30, 90]
    c = h.customers
    assert c.ids.tolist() == [2, 7, 9]
    assert c.first.tolist() == [0, 2, 4]
    assert c.last.tolist() == [1, 3, 4]
    assert c.count.tolist() == [2, 2, 1]
    assert c.code.tolist() == [0, 0, 1, 1, 2]


def test_huge_member_ids_and_times_still_sort() -> None:
    h = PurchaseHistory.build([2**40, 1, 2**40], [5, 2**40, 1], [1, 2, 3])
    assert h.member.tolist() == [1, 2**40, 2**40]
    assert h.at.tolist() == [2**40, 1, 5]


def test_before_and_empty_history() -> None:
    h = history([(1, 0, 10), (1, 10, 20), (2, 5, 30)])
    assert h.before(day(5)).net.tolist() == [10]
    assert h.before(day(100)) is h
    empty = PurchaseHistory.build([], [], [])
    assert len(empty.customers) == 0
    assert len(empty.before(0)) == 0


def test_positions_and_per_customer() -> None:
    ids = np.array([3, 5, 9])
    where, found = positions(ids, np.array([5, 4, 9, 10]))
    assert found.tolist() == [True, False, True, False]
    assert where[found].tolist() == [1, 2]
    h = history([(3, 0, 1), (9, 1, 1)])
    assert per_customer(h.customers, np.array([9, 9, 4, 3]), np.array([2, 5, 7, 1])).tolist() == [
        1,
        7,
    ]
