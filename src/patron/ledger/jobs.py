"""Scheduled ledger jobs: release pending points, expire what is past its date.

Spendability is decided by time (``available_at``, ``expires_at``), so a late
job never lets anyone spend expired points; the jobs write the bookkeeping a
member sees on the statement (lot status, one expiry entry per member).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from patron.core.bulk import insert_rows, update_rows
from patron.core.db import table_of
from patron.core.ids import reserve_ids
from patron.ledger.models import LedgerEntry, LotAllocation, PointLot
from patron.ledger.posting import ACCOUNTS, ENTRIES, load_accounts
from patron.members.models import Member

if TYPE_CHECKING:
    from patron.program.schema import Program


@dataclass(frozen=True)
class JobReport:
    released_lots: int = 0
    expired_lots: int = 0
    expired_points: int = 0
    members_touched: int = 0


def release_pending(session: Session, at: datetime) -> int:
    """Mark lots whose pending period is over as available; returns how many."""
    result = session.execute(
        update(PointLot)
        .where(PointLot.status == "pending", PointLot.available_at <= at)
        .values(status="available")
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _members_with_expired_points(
    session: Session, at: datetime, program: Program | None
) -> list[int]:
    dated = select(PointLot.member_id).where(
        PointLot.remaining > 0, PointLot.expires_at.is_not(None), PointLot.expires_at <= at
    )
    ids = set(session.scalars(dated.distinct()))
    if program is not None and program.points.expiry.policy == "inactivity":
        cutoff = at - timedelta(days=program.points.expiry.days or 0)
        idle = (
            select(PointLot.member_id)
            .join(Member, Member.id == PointLot.member_id)
            .where(
                PointLot.remaining > 0,
                PointLot.earned_at <= cutoff,  # as ledger.lots.idle_expiry
                or_(
                    Member.last_activity_at <= cutoff,
                    Member.last_activity_at.is_(None) & (Member.enrolled_at <= cutoff),
                ),
            )
            .distinct()
        )
        ids.update(session.scalars(idle))
    return sorted(ids)


EXPIRY_CHUNK = 1000  # members per round: bounds memory and the size of IN lists


def expire_points(session: Session, at: datetime, program: Program | None) -> JobReport:
    """Expire what is left of lots past their date: one ``expire`` entry per member.

    Set-based: the accounts of a chunk of members are locked (in id order, like
    every writer), their expired lots read again under the lock, and the
    entries, allocations, lot updates and account totals written in bulk.
    """
    lots_done = points_done = 0
    members = _members_with_expired_points(session, at, program)
    for i in range(0, len(members), EXPIRY_CHUNK):
        lots, points = _expire_chunk(session, members[i : i + EXPIRY_CHUNK], at, program)
        lots_done += lots
        points_done += points
    return JobReport(
        expired_lots=lots_done, expired_points=points_done, members_touched=len(members)
    )


def _expire_chunk(
    session: Session, member_ids: list[int], at: datetime, program: Program | None
) -> tuple[int, int]:
    accounts = load_accounts(session, member_ids)  # locks
    due = PointLot.expires_at <= at
    if program is not None and program.points.expiry.policy == "inactivity":
        cutoff = at - timedelta(days=program.points.expiry.days or 0)
        idle = func.coalesce(Member.last_activity_at, Member.enrolled_at) <= cutoff
        due = or_(due, idle & (PointLot.earned_at <= cutoff))  # as ledger.lots.idle_expiry
    rows = session.execute(
        select(PointLot.id, PointLot.member_id, PointLot.remaining)
        .join(Member, Member.id == PointLot.member_id)
        .where(PointLot.member_id.in_(member_ids), PointLot.remaining > 0, due)
        .order_by(PointLot.member_id, PointLot.id)
    ).all()
    by_member: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for lot_id, member_id, remaining in rows:
        by_member[member_id].append((lot_id, remaining))
    if not by_member:
        return 0, 0
    entry_ids = reserve_ids(session, ENTRIES, len(by_member))
    entries, allocations, account_rows = [], [], []
    expired_total = 0
    for entry_id, (member_id, lots) in zip(entry_ids, sorted(by_member.items()), strict=True):
        total = sum(n for _, n in lots)
        expired_total += total
        entries.append(
            {
                "id": entry_id,
                "member_id": member_id,
                "kind": "expire",
                "points": -total,
                "event_id": None,
                "rule_id": None,
                "awards": None,
                "actor": None,
                "reason": None,
                "explanation": _expiry_explanation(total, len(lots), program),
                "created_at": at,
            }
        )
        allocations += [{"entry_id": entry_id, "lot_id": lot, "points": n} for lot, n in lots]
        accounts[member_id].balance -= total
        account_rows.append(
            {"member_id": member_id, "balance": accounts[member_id].balance, "updated_at": at}
        )
    insert_rows(session, ENTRIES, entries)
    insert_rows(session, table_of(LotAllocation), allocations)
    lot_ids = [a["lot_id"] for a in allocations]
    session.execute(
        update(PointLot)
        .where(PointLot.id.in_(lot_ids))
        .values(remaining=0, status="expired")
        .execution_options(synchronize_session=False)
    )
    update_rows(session, ACCOUNTS, "member_id", account_rows)
    return len(lot_ids), expired_total


def _expiry_explanation(points: int, lots: int, program: Program | None) -> str:
    policy = program.points.expiry if program is not None else None
    why = {
        "rolling": f"{policy.days} days after they were earned" if policy else "",
        "end_of_year": "at the end of the calendar year" if policy else "",
        "inactivity": f"after {policy.days} days without activity" if policy else "",
    }.get(policy.policy if policy else "", "on their expiry date")
    return f"-{points} pts expired {why} ({lots} lot{'s' if lots != 1 else ''})"


def run_jobs(session: Session, at: datetime, program: Program | None) -> JobReport:
    released = release_pending(session, at)
    expired = expire_points(session, at, program)
    return JobReport(
        released, expired.expired_lots, expired.expired_points, expired.members_touched
    )


def points_by_member(session: Session) -> dict[int, int]:
    """Sum of entries per member (used by checks and tests)."""
    totals: dict[int, int] = defaultdict(int)
    for member_id, points in session.execute(select(LedgerEntry.member_id, LedgerEntry.points)):
        totals[member_id] += points
    return dict(totals)
