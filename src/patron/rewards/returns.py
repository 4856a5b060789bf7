"""Giving back the points of a cancelled redemption.

The spend took points from particular lots (``lot_allocations``). They come
back as one ``reverse`` entry (positive: the reversal of a spend) and, for
each lot the spend took from, a new lot with the same points, earning time,
availability and expiry as the original. So the returned points keep their
original expiry date: points whose original lot has expired in the meantime
come back already expired, written at once as an ``expire`` entry, and are
never spendable again. A member in debt repays it from the returned points
first, as with any credit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from patron.ledger.lots import idle_expiry
from patron.ledger.models import LedgerEntry, LotAllocation, PointAccount, PointLot
from patron.ledger.service import idle_days
from patron.members.models import Member

if TYPE_CHECKING:
    from patron.program.schema import Program


@dataclass(frozen=True)
class Returned:
    entry_id: int
    points: int  # all points given back
    expired: int  # of which already expired


def return_points(
    session: Session,
    account: PointAccount,
    member: Member,
    spend_entry_id: int,
    *,
    explanation: str,
    actor: str | None,
    at: datetime,
    program: Program | None,
) -> Returned:
    """Credit back what ``spend_entry_id`` took; ``account`` must be locked by the caller."""
    taken = session.execute(
        select(
            LotAllocation.points,
            PointLot.event_id,
            PointLot.earned_at,
            PointLot.available_at,
            PointLot.expires_at,
        )
        .join(PointLot, PointLot.id == LotAllocation.lot_id)
        .where(LotAllocation.entry_id == spend_entry_id)
        .order_by(LotAllocation.id)
    ).all()
    days = idle_days(program)
    last = member.last_activity_at or member.enrolled_at
    total = sum(row.points for row in taken)

    def expired(expires_at: datetime | None, earned_at: datetime) -> bool:
        if days is not None:
            expires_at = idle_expiry(expires_at, last, earned_at, days)
        return expires_at is not None and expires_at <= at

    dead = sum(row.points for row in taken if expired(row.expires_at, row.earned_at))
    entry = LedgerEntry(
        member_id=member.id,
        kind="reverse",
        points=total,
        explanation=explanation,
        actor=actor,
        created_at=at,
    )
    session.add(entry)
    session.flush()
    repay = min(account.debt, total - dead)
    dead_lots: list[tuple[PointLot, int]] = []
    for row in taken:
        gone = expired(row.expires_at, row.earned_at)
        keep = row.points
        if not gone:
            paid = min(repay, keep)
            repay -= paid
            account.debt -= paid
            keep -= paid
        lot = PointLot(
            member_id=member.id,
            entry_id=entry.id,
            event_id=row.event_id,
            points=row.points,
            remaining=0 if gone else keep,
            earned_at=row.earned_at,
            available_at=row.available_at,
            expires_at=row.expires_at,
            status="expired" if gone else "available",
        )
        session.add(lot)
        if gone:
            dead_lots.append((lot, row.points))
    session.flush()
    if dead:
        expiry = LedgerEntry(
            member_id=member.id,
            kind="expire",
            points=-dead,
            explanation=f"-{dead} pts expired: returned by a cancelled redemption, "
            "but their original lots had already expired",
            created_at=at,
        )
        session.add(expiry)
        session.flush()
        session.execute(
            insert(LotAllocation),
            [{"entry_id": expiry.id, "lot_id": lot.id, "points": n} for lot, n in dead_lots],
        )
    account.balance += total - dead
    account.updated_at = at
    return Returned(entry.id, total, dead)
