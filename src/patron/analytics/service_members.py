"""Member use cases, taken as of the end of the period (or now, if sooner): RFM
scores and segments, lifecycle stages (P(alive) of a fitted BG/NBD, or recency
rules), shopping profiles (price- or convenience-driven), loyalty scores from
engagement, and all of these together per member (:class:`MemberScores`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from patron.analytics.history import Bools, Floats, Ints, positions
from patron.analytics.lifecycle import Lifecycle, LifecycleRules, lifecycle_stages
from patron.analytics.loyalty import LoyaltyInputs, loyalty_scores
from patron.analytics.periods import ActivityRules
from patron.analytics.profiles import Profiles, shopping_profiles
from patron.analytics.rfm import RFMTable, rfm_table

if TYPE_CHECKING:
    from patron.analytics.service import ShopData


def rfm_scores(data: ShopData) -> RFMTable:
    return rfm_table(data.purchases, data.as_of_s)


def member_stages(data: ShopData, rules: ActivityRules) -> Lifecycle:
    ids, joined = data.members
    return lifecycle_stages(
        data.purchases, ids, joined, data.as_of_s, LifecycleRules(active_days=rules.active_days)
    )


def member_profiles(data: ShopData) -> Profiles:
    return shopping_profiles(data.purchases, data.as_of_s)


@dataclass(frozen=True)
class LoyaltyTable:
    inputs: LoyaltyInputs
    scores: Ints

    def mean(self) -> float | None:
        return float(self.scores.mean()) if self.scores.size else None


def loyalty_table(data: ShopData) -> LoyaltyTable:
    inputs = data.engagement
    return LoyaltyTable(inputs, loyalty_scores(inputs))


@dataclass(frozen=True)
class MemberScores:
    """Every member (ascending id) with their scores; NaN / 0 / -1 where they have not
    bought (no recency, no RFM scores, no segment)."""

    member: Ints
    joined_at: Ints
    purchases: Ints
    spent_minor: Ints
    recency_days: Floats
    r: Ints
    f: Ints
    m: Ints
    segment: Ints  # index into rfm.SEGMENTS, -1 without purchases
    stage: Ints  # index into lifecycle.STAGES
    p_alive: Floats
    discount_share: Floats
    place_share: Floats
    interval_cv: Floats
    price_driven: Bools
    convenience_driven: Bools
    loyalty: Ints
    loyalty_inputs: LoyaltyInputs


def member_scores(data: ShopData, rules: ActivityRules) -> MemberScores:
    data.preload()
    ids, joined = data.members
    table, shop = rfm_scores(data), member_profiles(data)
    where, bought = positions(table.member, ids)

    def spread(values: np.ndarray, missing: float | int | bool) -> np.ndarray:
        if not values.size:
            return np.full(ids.size, missing, dtype=np.asarray(missing).dtype)
        return np.where(bought, values[where], missing)

    life, points = member_stages(data, rules), loyalty_table(data)
    return MemberScores(
        member=ids,
        joined_at=joined,
        purchases=spread(table.frequency, 0),
        spent_minor=spread(table.monetary_minor, 0),
        recency_days=spread(table.recency_days, np.nan),
        r=spread(table.r, 0),
        f=spread(table.f, 0),
        m=spread(table.m, 0),
        segment=spread(table.segment, -1),
        stage=life.stage,
        p_alive=life.p_alive,
        discount_share=spread(shop.discount_share, np.nan),
        place_share=spread(shop.place_share, np.nan),
        interval_cv=spread(shop.interval_cv, np.nan),
        price_driven=spread(shop.price_driven, False),
        convenience_driven=spread(shop.convenience_driven, False),
        loyalty=points.scores,
        loyalty_inputs=points.inputs,
    )
