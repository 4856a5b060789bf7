"""Rewards in the program file: validation with paths, windows, eligibility, discounts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from patron.program.loader import ProgramInvalid, program_from_dict, program_to_dict
from patron.rewards.definition import (
    RewardDefinition,
    availability_problem,
    discount_minor,
    eligibility_problem,
    member_segments,
    member_tier,
    opens_at,
)

BASE: dict[str, Any] = {"name": "Shop", "currency": "EUR", "timezone": "Europe/Berlin"}
LATTE = {"id": "latte", "name": "Latte", "kind": "free_item", "sku": "L", "cost": 100}


def problems(*rewards: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ProgramInvalid) as exc:
        program_from_dict({**BASE, "rewards": list(rewards)})
    return {e["path"]: e["message"] for e in exc.value.errors}


@pytest.mark.parametrize(
    ("changes", "path", "message"),
    [
        ({"kind": "discount"}, "rewards[0]", "a discount reward needs discount"),
        ({"sku": None}, "rewards[0]", "needs the sku"),
        ({"cost": None}, "rewards[0]", "cost (points, at least 1) is required"),
        ({"birthday": True}, "rewards[0]", "a birthday reward is a gift: it has no cost"),
        ({"early_access": {"tiers": ["gold"], "days": 3}}, "rewards[0]", "needs valid_from"),
        ({"cots": 5}, "rewards[0].cots", "did you mean 'cost'?"),
        ({"kind": "discount", "sku": None, "discount": {}}, "rewards[0].discount", "exactly one"),
        (
            {"kind": "discount", "discount": {"percent": "12.345"}},
            "rewards[0].discount",
            "at most 2 decimal places",
        ),
        ({"kind": "discount", "discount": {"amount": "0.001"}}, "rewards[0].discount.amount", ""),
        ({"limit": {"count": 0}}, "rewards[0].limit.count", "greater than or equal to 1"),
        ({"id": "Bad Id"}, "rewards[0].id", "lower-case"),
        ({"valid_from": "soon"}, "rewards[0].valid_from", "is not a date"),
    ],
)
def test_bad_rewards_are_named_by_path(changes: dict[str, Any], path: str, message: str) -> None:
    reward = {k: v for k, v in {**LATTE, **changes}.items() if v is not None}
    found = problems(reward)
    assert path in found, found
    assert message in found[path]


def test_duplicate_ids_and_money_precision() -> None:
    found = problems(
        LATTE,
        {**LATTE, "name": "Other"},
        {"id": "x", "name": "X", "kind": "discount", "discount": {"amount": "1.005"}, "cost": 5},
    )
    assert "duplicate reward id 'latte' (also rewards[0])" in found["rewards[1].id"]
    assert "more than 2 decimal places" in found["rewards[2].discount.amount"]


def test_rewards_survive_a_round_trip() -> None:
    program = program_from_dict(
        {
            **BASE,
            "rewards": [
                LATTE,
                {
                    "id": "box",
                    "name": "Box",
                    "kind": "gift",
                    "cost": 5,
                    "valid_from": "2026-04-01T10:00",
                    "early_access": {"tiers": "gold", "days": 2},
                    "eligible": {"segments": "vip"},
                },
            ],
        }
    )
    assert program_from_dict(program_to_dict(program)) == program
    assert program.reward("box") is not None and program.reward("nope") is None


def _box(**changes: Any) -> RewardDefinition:
    data = {
        "id": "box",
        "name": "Box",
        "kind": "gift",
        "cost": 5,
        "valid_from": "2026-04-01",
        "valid_until": "2026-04-30",
        "early_access": {"tiers": ["gold"], "days": 2},
    }
    return RewardDefinition.model_validate({**data, **changes})


def test_windows_are_local_and_early_access_is_by_tier() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    box = _box()
    assert opens_at(box, berlin, None) == datetime(2026, 3, 31, 22, tzinfo=UTC)  # CEST midnight
    assert opens_at(box, berlin, "gold") == datetime(2026, 3, 29, 22, tzinfo=UTC)
    just_before = datetime(2026, 3, 31, 21, 59, tzinfo=UTC)
    assert availability_problem(box, berlin, just_before, "gold") is None
    why = availability_problem(box, berlin, just_before, "silver")
    assert (
        why == "reward box opens on 2026-04-01 00:00 (Europe/Berlin); gold members 2 days earlier"
    )
    assert (
        availability_problem(box, berlin, datetime(2026, 4, 30, 21, 59, tzinfo=UTC), None) is None
    )
    ended = availability_problem(box, berlin, datetime(2026, 4, 30, 22, 0, tzinfo=UTC), "gold")
    assert ended == "reward box ended on 2026-05-01 00:00 (Europe/Berlin)"


def test_eligibility_reads_member_attributes() -> None:
    both = _box(eligible={"tiers": ["gold"], "segments": ["vip"]})
    assert member_tier({"tier": "gold"}) == "gold" and member_tier({}) is None
    assert member_segments({"segments": ["a", "b"]}) == {"a", "b"}
    assert member_segments({"segments": "a"}) == {"a"} and member_segments(None) == set()
    assert eligibility_problem(both, {"tier": "gold", "segments": ["vip"]}) is None
    assert "segment vip" in str(eligibility_problem(both, {"tier": "gold"}))
    assert "tier gold members (tier silver)" in str(eligibility_problem(both, {"tier": "silver"}))
    assert eligibility_problem(_box(), {}) is None


@pytest.mark.parametrize(
    ("terms", "order", "discount"),
    [
        ({"discount_amount": 500}, None, 500),
        ({"discount_amount": 500}, 320, 320),
        ({"discount_amount": 500}, 0, 0),
        ({"discount_percent": "10"}, 1005, 101),  # 100.5 rounds half up
        ({"discount_percent": "12.5"}, 1004, 126),  # 125.5
        ({"discount_percent": "12.5"}, 1003, 125),  # 125.375
        ({"discount_percent": "10"}, None, None),
        ({"sku": "L"}, 1000, None),
    ],
)
def test_discounts_in_minor_units(
    terms: dict[str, Any], order: int | None, discount: int | None
) -> None:
    assert discount_minor(terms, order) == discount
