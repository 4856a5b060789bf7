"""The loyalty score reads referrals and stamp cards where the program keeps them.

A shop with a referral program and a coffee card, run through the real engine:
anna refers ben, who signs up with her code and buys 25.00 with two lattes (the
referral is rewarded; ben starts a stamp card); carol signs up with anna's code
but buys only 5.00 (rejected: below the minimum). Worked out by hand:

- anna: 1 qualifying referral -> 15 x 1/3 = 5 (carol's rejected one does not count);
- ben: one purchase (no repeat), one stamp card started -> 20 x 1/3 = 6.67 -> 7;
- carol: one purchase and no latte, so no stamp card -> 0.
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from typing import Any

from patron.analytics import service
from patron.core.clock import FrozenClock
from patron.core.db import Database
from patron.events.ingest import ingest
from patron.members.schemas import MemberCreate
from patron.members.service import create_member
from patron.referrals.service import referral_code
from tests.integration.conftest import CAFE, load_program

LATTE = {"id": "free-latte", "name": "Free latte", "kind": "free_item", "sku": "LATTE", "cost": 300}


def program() -> dict[str, Any]:
    data = copy.deepcopy(CAFE)
    data["rewards"] = [LATTE]
    data["referrals"] = {
        "min_amount": "20.00",
        "within_days": 30,
        "max_per_week": 5,
        "referrer_reward": {"points": 200},
        "referee_reward": {"points": 100},
    }
    data["stamp_cards"] = [
        {
            "id": "coffee",
            "name": "Coffee card",
            "goal": 9,
            "per": "item",
            "lines": {"sku": ["LATTE"]},
            "reward": "free-latte",
        }
    ]
    return data


def event(ext: str, kind: str, who: str, at: datetime, **fields: Any) -> dict[str, Any]:
    return {
        "external_id": ext,
        "type": kind,
        "member_external_id": who,
        "occurred_at": at.isoformat(),
        **fields,
    }


def test_referrals_and_stamp_cards_feed_the_loyalty_score(
    database: Database, clock: FrozenClock
) -> None:
    load_program(database, program(), clock)
    with database.unit_of_work() as session:
        anna = create_member(session, MemberCreate(external_id="anna"))
        code = referral_code(session, anna.id, anna.enrolled_at)
    latte = {"sku": "LATTE", "category": "coffee", "quantity": 2, "unit_price": "10.00"}
    cake = {"sku": "CAKE", "category": "bakery", "quantity": 1, "unit_price": "5.00"}
    hour_ago = clock.now() - timedelta(hours=1)  # analytics counts what happened before now
    rows = [
        event("s-ben", "signup", "ben", hour_ago, attributes={"referral_code": code}),
        event("s-carol", "signup", "carol", hour_ago, attributes={"referral_code": code}),
        event("p-ben", "purchase", "ben", hour_ago, lines=[latte, cake]),
        event("p-carol", "purchase", "carol", hour_ago, lines=[cake]),
    ]
    with database.unit_of_work() as session:
        results = ingest(session, rows).results
        ids = {r.external_id: r.member_id for r in results}
    assert all(r.status == "accepted" for r in results), results
    with service.open_shop(database, clock.now() + timedelta(days=1)) as data:
        scores = service.member_scores(data, service_rules())
    by_member = dict(zip(scores.member.tolist(), scores.loyalty.tolist(), strict=True))
    inputs = scores.loyalty_inputs
    referrals = dict(zip(inputs.member.tolist(), inputs.referrals.tolist(), strict=True))
    cards = dict(zip(inputs.member.tolist(), inputs.stamp_cards.tolist(), strict=True))
    assert referrals[anna.id] == 1  # carol's referral was rejected: first purchase too small
    assert (cards[ids["p-ben"]], cards[ids["p-carol"]]) == (1, 0)
    assert by_member[anna.id] == 5
    assert by_member[ids["p-ben"]] == 7
    assert by_member[ids["p-carol"]] == 0


def service_rules() -> Any:
    from patron.analytics.periods import ActivityRules

    return ActivityRules()
