"""Splitting a history by a member label or by membership."""

from __future__ import annotations

import numpy as np

from patron.analytics.splits import (
    member_dimension_codes,
    membership_codes,
    split_history,
)
from tests.unit.analytics.helpers import day, history

H = history([(1, 0, 10), (1, 5, 20), (2, 1, 30), (3, 2, 40), (4, 3, 50)])


def test_member_labels_reach_their_purchases() -> None:
    codes, names = member_dimension_codes(H, np.array([1, 2, 3]), ["London", None, "Leeds"])
    labels = [names[c] for c in codes.tolist()]
    assert labels == ["London", "London", "(none)", "Leeds", "(none)"]  # 4 is not listed
    groups = dict(split_history(H, codes, names))
    assert list(groups) == ["(none)", "London", "Leeds"]  # ties by label
    assert groups["London"].net.tolist() == [10, 20]
    assert groups["(none)"].member.tolist() == [2, 4]


def test_membership_labels_each_purchase_by_when_it_was_made() -> None:
    codes, names = membership_codes(H, np.array([1, 2, 3, 4]), np.array([day(2), 0, day(9), 0]))
    assert [names[c] for c in codes.tolist()] == [
        "before joining",
        "member",
        "member",
        "before joining",
        "member",
    ]


def test_small_groups_are_pooled_beyond_the_limit() -> None:
    codes = np.array([0, 0, 1, 2, 3])
    groups = split_history(H, codes, ["a", "b", "c", "d"], max_groups=2)
    assert [name for name, _ in groups] == ["a", "b", "(other)"]
    assert groups[2][1].net.tolist() == [40, 50]
