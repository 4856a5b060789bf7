"""Price-driven and convenience-driven profiles on hand-made customers."""

from __future__ import annotations

import numpy as np
import pytest

from patron.analytics.profiles import interval_cv, place_shares, shopping_profiles, top_share
from tests.unit.analytics.helpers import day, history

ROWS = [
    # 1: coupons on 3 of 4 purchases, big baskets, in two places equally, every 10 days
    (1, 0, 1000),
    (1, 10, 1000),
    (1, 20, 1000),
    (1, 30, 1000),
    # 2: one place, small baskets, weekly: convenience
    (2, 0, 300),
    (2, 7, 300),
    (2, 14, 300),
    (2, 21, 300),
    # 3: one place, small baskets, but irregular (gaps 1 and 29 days)
    (3, 0, 200),
    (3, 1, 200),
    (3, 30, 200),
    # 4: two purchases: too few for a profile
    (4, 0, 5000),
    (4, 3, 5000),
]
DISCOUNTED = [True, True, True, False] + [False] * 9
# 1: app and till equally, at two stores equally; 2: the web shop only; 3: always the
# same store, at the till or in the app; 4: two channels, two stores.
CHANNELS = [0, 0, 1, 1] + [2] * 4 + [0, 1, 0] + [0, 1]
STORES = [0, 1, 0, 1] + [-1] * 4 + [3, 3, 3] + [0, 1]


def test_place_share_is_the_top_channel_or_store() -> None:
    h = history(ROWS, channel=CHANNELS, store=STORES)
    assert top_share(h, h.channel).tolist() == [0.5, 1.0, 2 / 3, 0.5]
    assert top_share(h, h.store)[[0, 2, 3]].tolist() == [0.5, 1.0, 0.5]
    assert np.isnan(top_share(h, h.store)[1])  # the web shop has no store
    assert place_shares(h).tolist() == [0.5, 1.0, 1.0, 0.5]
    assert np.isnan(place_shares(history(ROWS))).all()


def test_interval_cv() -> None:
    cv = interval_cv(history([(1, 0, 1), (1, 1, 1), (1, 11, 1), (2, 0, 1), (2, 5, 1), (3, 0, 1)]))
    assert cv[0] == pytest.approx(4.5 / 5.5)
    assert np.isnan(cv[1]) and np.isnan(cv[2])  # one interval; none


def test_profiles() -> None:
    p = shopping_profiles(history(ROWS, DISCOUNTED, CHANNELS, STORES), day(100))
    assert p.member.tolist() == [1, 2, 3, 4]
    assert p.discount_share.tolist() == [0.75, 0.0, 0.0, 0.0]
    assert p.profiled.tolist() == [True, True, True, False]
    assert p.price_driven.tolist() == [True, False, False, False]
    assert p.one_place.tolist() == [False, True, True, False]
    # Median order of all 13 purchases is 3.00: customers 2 and 3 buy at most that.
    assert p.small_baskets.tolist() == [False, True, True, False]
    assert p.steady.tolist() == [True, True, False, False]
    assert p.convenience_driven.tolist() == [False, True, False, False]
    assert p.counts()["convenience_driven"] == 1 and p.counts()["profiled"] == 3


def test_profiles_without_venues_mark_no_one_as_one_place() -> None:
    p = shopping_profiles(history(ROWS, DISCOUNTED), day(100))
    assert not p.one_place.any() and not p.convenience_driven.any()
    assert p.price_driven.sum() == 1
