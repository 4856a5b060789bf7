"""What members say: product reviews after purchases, and NPS survey answers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from patron.demo.personas import persona_param
from patron.demo.process import Simulation
from patron.demo.seasons import DAY, HOUR

REVIEW_SHARE = 0.05  # of purchases
REFUNDED_REVIEW_SHARE = 0.4  # of refunded purchases: unhappy customers speak up
RATINGS = np.array([0.03, 0.04, 0.10, 0.30, 0.53])  # 1..5 stars
REFUNDED_RATINGS = np.array([0.35, 0.25, 0.20, 0.12, 0.08])
REVIEW_DELAY = (2 * HOUR, 3 * DAY)
SURVEY_SHARE = 0.2  # of members with a purchase
SURVEY_DELAY = (1 * DAY, 7 * DAY)
NPS_SPREAD = 1.8
NPS_REFUND_PENALTY = 2.5


@dataclass
class Feedback:
    review_of: np.ndarray  # int64 purchase index
    review_at: np.ndarray  # int64 epoch seconds
    rating: np.ndarray  # int64 1..5
    survey_member: np.ndarray  # int64 member index, at most one survey each
    survey_at: np.ndarray  # int64 epoch seconds
    nps: np.ndarray  # int64 0..10


def _stars(rng: np.random.Generator, probabilities: np.ndarray, size: int) -> np.ndarray:
    return 1 + rng.choice(5, size=size, p=probabilities)


def draw_feedback(sim: Simulation, rng: np.random.Generator, end: int) -> Feedback:
    """Reviews within days of some purchases, one NPS answer from some buyers; all < end."""
    purchases = sim.purchases
    size = purchases.at.size
    refunded = np.zeros(size, dtype=bool)
    refunded[sim.refunds.purchase] = True
    share = np.where(refunded, REFUNDED_REVIEW_SHARE, REVIEW_SHARE)
    review_of = np.flatnonzero(rng.random(size) < share)
    review_at = purchases.at[review_of] + rng.integers(*REVIEW_DELAY, size=review_of.size)
    unhappy = refunded[review_of]
    rating = np.where(
        unhappy, _stars(rng, REFUNDED_RATINGS, review_of.size), _stars(rng, RATINGS, review_of.size)
    )
    keep = review_at < end
    review_of, review_at, rating = review_of[keep], review_at[keep], rating[keep]

    count = np.bincount(purchases.member, minlength=sim.members.persona.size)
    first = np.cumsum(count) - count
    member = np.flatnonzero((count > 0) & (rng.random(count.size) < SURVEY_SHARE))
    after = first[member] + (rng.random(member.size) * count[member]).astype(np.int64)
    survey_at = purchases.at[after] + rng.integers(*SURVEY_DELAY, size=member.size)
    first_refund = np.full(count.size, np.iinfo(np.int64).max)
    np.minimum.at(first_refund, purchases.member[sim.refunds.purchase], sim.refunds.at)
    had_refund = first_refund[member] < survey_at
    centre = (
        persona_param("nps_mean")[sim.members.persona[member]] - NPS_REFUND_PENALTY * had_refund
    )
    nps = np.clip(np.rint(rng.normal(centre, NPS_SPREAD)), 0, 10).astype(np.int64)
    keep = survey_at < end
    return Feedback(review_of, review_at, rating, member[keep], survey_at[keep], nps[keep])
