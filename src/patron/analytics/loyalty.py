"""A loyalty score from 0 to 100 per member.

Five signals, each counted up to a cap and scaled to 0-1, weighted, summed:

===================  ================================================  ====  ======
signal               counted as                                        cap   weight
===================  ================================================  ====  ======
repeat purchasing    counted purchases after the first                 9     40
referrals            qualified or rewarded referrals made (the         3     15
                     ``referrals`` table), plus custom events named
                     ``referral`` (referrals made outside Patron)
reviews              custom events named ``review``                    3     15
survey answers       custom events named ``survey_answer``             1     10
program engagement   redemptions (``spend`` entries in the ledger)     3     20
                     plus stamp cards started
===================  ================================================  ====  ======

``score = round_half_up(sum(weight * min(count, cap) / cap))``, computed exactly in
integers. A member with ten purchases, a referral, three reviews, a survey answer
and three redemptions (or two and a stamp card) scores 40 + 5 + 15 + 10 + 20 = 90.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import lcm

import numpy as np

from patron.analytics.history import Ints

REFERRAL_EVENT, REVIEW_EVENT, SURVEY_EVENT = "referral", "review", "survey_answer"


@dataclass(frozen=True)
class Signal:
    name: str
    cap: int
    weight: int


LOYALTY_SIGNALS = (
    Signal("repeat_purchases", 9, 40),
    Signal("referrals", 3, 15),
    Signal("reviews", 3, 15),
    Signal("survey_answers", 1, 10),
    Signal("engagement", 3, 20),
)
assert sum(s.weight for s in LOYALTY_SIGNALS) == 100


@dataclass(frozen=True)
class LoyaltyInputs:
    """Per member (aligned arrays): the raw counts behind the score."""

    member: Ints
    purchases: Ints
    referrals: Ints
    reviews: Ints
    survey_answers: Ints
    redemptions: Ints
    stamp_cards: Ints

    def counts(self, name: str) -> Ints:
        if name == "repeat_purchases":
            return np.maximum(self.purchases - 1, 0)
        if name == "engagement":
            return self.redemptions + self.stamp_cards
        values: Ints = getattr(self, name)
        return values


def loyalty_scores(inputs: LoyaltyInputs) -> Ints:
    scale = lcm(*(s.cap for s in LOYALTY_SIGNALS))
    total = np.zeros(inputs.member.size, dtype=np.int64)
    for signal in LOYALTY_SIGNALS:
        capped = np.minimum(inputs.counts(signal.name), signal.cap)
        total += signal.weight * capped * (scale // signal.cap)
    return np.asarray((2 * total + scale) // (2 * scale), dtype=np.int64)


def score_bands(scores: Ints) -> dict[str, int]:
    """How many members score 0-19, 20-39, 40-59, 60-79 and 80-100."""
    edges = [(0, 19), (20, 39), (40, 59), (60, 79), (80, 100)]
    return {f"{lo}-{hi}": int(((scores >= lo) & (scores <= hi)).sum()) for lo, hi in edges}
