"""A test program with one reward of every kind and rule, and helpers to use it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from patron.core.clock import FrozenClock
from patron.core.db import Database
from patron.ledger.models import PointAccount
from patron.ledger.service import adjust
from patron.members.schemas import MemberCreate
from patron.members.service import create_member
from patron.program.service import require_program
from tests.integration.conftest import CAFE, load_program

REWARDS: list[dict[str, Any]] = [
    {
        "id": "free-latte",
        "name": "Free latte",
        "kind": "free_item",
        "sku": "LATTE",
        "cost": 100,
        "limit": {"count": 2, "per": "month"},
    },
    {
        "id": "five-off",
        "name": "5.00 off",
        "kind": "discount",
        "discount": {"amount": "5.00"},
        "cost": 300,
        "stock": 3,
        "coupon_days": 14,
    },
    {
        "id": "ten-pct",
        "name": "10% off",
        "kind": "discount",
        "discount": {"percent": "12.5"},
        "cost": 50,
    },
    {"id": "tote", "name": "Tote bag", "kind": "gift", "cost": 200, "stock": 1},
    {
        "id": "gold-tasting",
        "name": "Tasting evening",
        "kind": "experience",
        "cost": 100,
        "eligible": {"tiers": ["gold", "platinum"]},
    },
    {
        "id": "vip-mug",
        "name": "VIP mug",
        "kind": "gift",
        "cost": 10,
        "eligible": {"segments": ["vip"]},
    },
    {
        "id": "spring-box",
        "name": "Spring box",
        "kind": "gift",
        "cost": 50,
        "valid_from": "2026-04-01",
        "valid_until": "2026-04-30",
        "early_access": {"tiers": ["gold"], "days": 10},
    },
    {
        "id": "birthday-cake",
        "name": "Birthday cake",
        "kind": "free_item",
        "sku": "CAKE",
        "birthday": True,
        "coupon_days": 31,
    },
]
PROGRAM: dict[str, Any] = {**CAFE, "rewards": REWARDS}


def load_rewards_program(database: Database, clock: FrozenClock, **changes: Any) -> None:
    load_program(database, {**PROGRAM, **changes}, clock)


def enrol(database: Database, name: str, points: int = 0, **fields: Any) -> int:
    """A member with ``points`` spendable points (a goodwill adjustment)."""
    from patron.core.clock import now

    with database.unit_of_work() as session:
        member = create_member(session, MemberCreate(external_id=name, **fields))
        if points:
            adjust(
                session,
                member.id,
                points,
                reason="test points",
                actor="test",
                at=now(),
                program=require_program(session)[1],
            )
        return member.id


def balance(database: Database, member_id: int) -> int:
    with database.unit_of_work() as session:
        return int(
            session.scalar(select(PointAccount.balance).where(PointAccount.member_id == member_id))
            or 0
        )
