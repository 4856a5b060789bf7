"""The loyalty score: weights, caps and exact rounding."""

from __future__ import annotations

import numpy as np

from patron.analytics.loyalty import LoyaltyInputs, loyalty_scores, score_bands


def scores(**counts: list[int]) -> list[int]:
    n = len(next(iter(counts.values())))
    zero = [0] * n
    inputs = LoyaltyInputs(
        member=np.arange(n),
        purchases=np.array(counts.get("purchases", zero)),
        referrals=np.array(counts.get("referrals", zero)),
        reviews=np.array(counts.get("reviews", zero)),
        survey_answers=np.array(counts.get("survey_answers", zero)),
        redemptions=np.array(counts.get("redemptions", zero)),
        stamp_cards=np.array(counts.get("stamp_cards", zero)),
    )
    return loyalty_scores(inputs).tolist()


def test_the_documented_example_scores_ninety() -> None:
    assert scores(
        purchases=[10], referrals=[1], reviews=[3], survey_answers=[1], redemptions=[3]
    ) == [90]


def test_caps_bound_every_signal_and_the_total_is_100() -> None:
    assert scores(
        purchases=[500], referrals=[9], reviews=[9], survey_answers=[4], redemptions=[50]
    ) == [100]
    assert scores(purchases=[0, 1, 2, 10, 11]) == [0, 0, 4, 40, 40]  # 40 x 1/9 = 4.44
    assert scores(referrals=[1, 2, 3]) == [5, 10, 15]
    assert scores(redemptions=[1, 2]) == [7, 13]  # 6.67 and 13.33
    assert scores(purchases=[2], redemptions=[1]) == [11]  # 4.44 + 6.67 = 11.11


def test_stamp_cards_count_as_engagement_with_redemptions_under_one_cap() -> None:
    assert scores(stamp_cards=[1, 3]) == [7, 20]
    assert scores(redemptions=[2], stamp_cards=[1]) == [20]
    assert scores(redemptions=[3], stamp_cards=[5]) == [20]  # the cap holds for both


def test_bands() -> None:
    assert score_bands(np.array([0, 19, 20, 59, 80, 100])) == {
        "0-19": 2,
        "20-39": 1,
        "40-59": 1,
        "60-79": 0,
        "80-100": 2,
    }
