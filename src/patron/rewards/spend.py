"""The points side of a redemption, written with a handful of Core statements.

This is :func:`patron.ledger.service.debit` for the redemption hot path: the
same rows (one ``spend`` entry, its lot allocations, lower lot remainders, the
account balance, the member's last activity), the same first-to-expire-first
choice of lots (:func:`patron.ledger.lots.take_for_spend`), the same refusal
when not enough is spendable, but without the ORM unit of work, whose
bookkeeping cost more than the database work. ``tests/integration`` checks
both give the same ledger.

Locking is the ledger's: the member's account row ``FOR UPDATE`` (SQLite
serialises writers with ``BEGIN IMMEDIATE``), read together with what the
checks need of the member, before anything is read that the lock protects.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, insert, select, text, update
from sqlalchemy.orm import Session, make_transient_to_detached

from patron.core.db import table_of
from patron.core.errors import NotFound
from patron.ledger.lots import OpenLot, idle_expiry, take_for_spend
from patron.ledger.models import LedgerEntry, LotAllocation, PointAccount, PointLot
from patron.members.models import Member
from patron.rewards.models import Redemption, Reward

if TYPE_CHECKING:
    from patron.program.schema import Program

ACCOUNTS = table_of(PointAccount)
MEMBERS = table_of(Member)
LOTS = table_of(PointLot)
ENTRIES = table_of(LedgerEntry)
ALLOCATIONS = table_of(LotAllocation)
REWARDS = table_of(Reward)
REDEMPTIONS = table_of(Redemption)


@dataclass(frozen=True)
class Holder:
    """A member whose account is locked, with what a redemption checks, and the
    reward's stock counter as it was read (unlocked: an early answer only)."""

    member_id: int
    debt: int
    status: str
    attributes: dict[str, Any]
    last_activity_at: datetime | None
    enrolled_at: datetime
    reward_row_id: int
    stock: int | None
    issued: int


# Built once: these run on every redemption, and building a statement costs more
# than sending it.
_LOCK_HOLDER = (
    select(
        ACCOUNTS.c.debt,
        MEMBERS.c.status,
        MEMBERS.c.attributes,
        MEMBERS.c.last_activity_at,
        MEMBERS.c.enrolled_at,
        REWARDS.c.id,
        REWARDS.c.stock,
        REWARDS.c.issued,
    )
    .join_from(ACCOUNTS, MEMBERS, MEMBERS.c.id == ACCOUNTS.c.member_id)
    .outerjoin(REWARDS, REWARDS.c.key == bindparam("reward_key"))
    .where(ACCOUNTS.c.member_id == bindparam("member_id"))
    .with_for_update(of=ACCOUNTS)
)
_OPEN_LOTS = (
    select(LOTS.c.id, LOTS.c.remaining, LOTS.c.available_at, LOTS.c.expires_at, LOTS.c.earned_at)
    .where(LOTS.c.member_id == bindparam("member_id"), LOTS.c.remaining > 0)
    .order_by(LOTS.c.id)
)


def lock_holder(session: Session, member_id: int, reward_key: str) -> Holder:
    """Lock the member's account (``FOR UPDATE``); read the member and the reward with it."""
    session.flush()  # the statements below bypass autoflush
    row = (
        session.connection()
        .execute(_LOCK_HOLDER, {"member_id": member_id, "reward_key": reward_key})
        .first()
    )
    if row is None:
        raise NotFound(f"no member with id {member_id}", field="member_id")
    if row.id is None:
        raise NotFound(f"no reward with id '{reward_key}'", field="reward")
    return Holder(member_id, *row)


def _open_lots(session: Session, holder: Holder, program: Program | None) -> list[OpenLot]:
    """As ``ledger.service._open_lots``: lots with points left, the inactivity
    deadline applied as an expiry."""
    days = None
    if program is not None and program.points.expiry.policy == "inactivity":
        days = program.points.expiry.days or 0
    last = holder.last_activity_at or holder.enrolled_at
    rows = session.connection().execute(_OPEN_LOTS, {"member_id": holder.member_id})
    lots = []
    for lot_id, remaining, available_at, expires_at, earned_at in rows:
        if days is not None:
            expires_at = idle_expiry(expires_at, last, earned_at, days)
        lots.append(OpenLot(lot_id, remaining, available_at, expires_at))
    return lots


def allocate(
    session: Session, holder: Holder, points: int, at: datetime, program: Program | None
) -> list[tuple[int, int]]:
    """Which lots the spend takes from (first to expire first), or InsufficientPoints."""
    return take_for_spend(_open_lots(session, holder, program), points, at, holder.debt)


def spend(
    session: Session,
    holder: Holder,
    points: int,
    allocations: list[tuple[int, int]],
    *,
    reason: str,
    actor: str | None,
    at: datetime,
) -> int:
    """Write the spend of ``points`` taken as ``allocations``; returns the entry's id."""
    entry_id = session.execute(
        insert(ENTRIES)
        .values(
            member_id=holder.member_id,
            kind="spend",
            points=-points,
            explanation=f"-{points} pts: {reason}",
            actor=actor,
            reason=reason,
            created_at=at,
        )
        .returning(ENTRIES.c.id)
    ).scalar_one()
    session.execute(
        insert(ALLOCATIONS),
        [{"entry_id": entry_id, "lot_id": lot, "points": n} for lot, n in allocations],
    )
    session.execute(
        update(LOTS)
        .where(LOTS.c.id == bindparam("lot"))
        .values(remaining=LOTS.c.remaining - bindparam("taken")),
        [{"lot": lot, "taken": n} for lot, n in allocations],
    )
    session.execute(
        update(ACCOUNTS)
        .where(ACCOUNTS.c.member_id == holder.member_id)
        .values(balance=ACCOUNTS.c.balance - points, updated_at=at)
    )
    session.execute(
        update(MEMBERS).where(MEMBERS.c.id == holder.member_id).values(last_activity_at=at)
    )
    return int(entry_id)


# One statement on PostgreSQL: the spend and the coupon, the stock taken last.
# Data-modifying CTEs all run (their order does not matter: they touch
# different rows); ``coupon`` is written only when ``stock`` took one, and an
# empty ``coupon`` is how the caller learns the reward sold out (and rolls back).
_SPEND_AND_ISSUE = text(
    """
WITH entry AS (
    INSERT INTO ledger_entries (member_id, kind, points, explanation, actor, reason, created_at)
    VALUES (:member, 'spend', -CAST(:points AS bigint), :explanation, :actor, :reason, :at)
    RETURNING id
), taken AS (
    SELECT * FROM unnest(CAST(:lots AS bigint[]), CAST(:counts AS bigint[])) AS t(lot_id, n)
), allocated AS (
    INSERT INTO lot_allocations (entry_id, lot_id, points)
    SELECT entry.id, taken.lot_id, taken.n FROM entry, taken
), lots AS (
    UPDATE point_lots SET remaining = point_lots.remaining - taken.n
    FROM taken WHERE point_lots.id = taken.lot_id
), account AS (
    UPDATE point_accounts SET balance = balance - CAST(:points AS bigint), updated_at = :at
    WHERE member_id = :member
), active AS (
    UPDATE members SET last_activity_at = :at WHERE id = :member
), stock AS (
    UPDATE rewards SET issued = issued + 1
    WHERE id = :reward AND (stock IS NULL OR issued < stock)
    RETURNING id
), coupon AS (
    INSERT INTO redemptions (member_id, reward_id, code, status, points, terms, spend_entry_id,
                             issued_at, expires_at, fulfilment, actor)
    SELECT :member, :reward, :code, 'issued', :points, CAST(:terms AS json), entry.id,
           :at, :expires_at, :fulfilment, :actor
    FROM entry, stock
    RETURNING id, spend_entry_id
)
SELECT id, spend_entry_id FROM coupon
"""
)


def spend_and_issue(
    session: Session,
    holder: Holder,
    points: int,
    allocations: list[tuple[int, int]],
    coupon: dict[str, Any],
    *,
    reason: str,
    actor: str | None,
    at: datetime,
) -> Redemption | None:
    """PostgreSQL: ``spend`` and the coupon's INSERT and the stock in one round trip.

    ``coupon`` holds the redemption's columns. Returns the redemption (persistent
    in ``session``), or None when the reward is out of stock: the caller must
    raise, so the unit of work rolls back the spend written alongside.
    """
    row = (
        session.connection()
        .execute(
            _SPEND_AND_ISSUE,
            {
                "member": holder.member_id,
                "points": points,
                "explanation": f"-{points} pts: {reason}",
                "actor": actor,
                "reason": reason,
                "at": at,
                "lots": [lot for lot, _ in allocations],
                "counts": [n for _, n in allocations],
                "reward": holder.reward_row_id,
                "code": coupon["code"],
                "terms": json.dumps(coupon["terms"]),
                "expires_at": coupon["expires_at"],
                "fulfilment": coupon["fulfilment"],
            },
        )
        .first()
    )
    if row is None:
        return None
    redemption = Redemption(id=row.id, spend_entry_id=row.spend_entry_id, **coupon)
    make_transient_to_detached(redemption)  # it is in the database already:
    session.add(redemption)  # persistent from here, without another INSERT
    return redemption
