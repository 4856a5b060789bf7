"""Ledger use cases: balance, statement, debit, adjust, refund reversal.

Every write locks the member's account row first (``FOR UPDATE`` on
PostgreSQL; SQLite serialises writers with ``BEGIN IMMEDIATE``), so concurrent
debits on one member can never overspend.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from patron.core.errors import Conflict, InsufficientPoints, InvalidInput, NotFound
from patron.ledger.lots import (
    OpenLot,
    idle_expiry,
    spend_order,
    take,
    take_for_reversal,
    take_for_spend,
)
from patron.ledger.models import LedgerEntry, LotAllocation, PointAccount, PointLot, RuleBudget
from patron.ledger.posting import (
    AccountState,
    Earning,
    idle_gap,
    pin_idle_expiry,
    post_earnings,
)
from patron.members.models import Member

if TYPE_CHECKING:
    from patron.program.schema import Program

EXPIRING_SOON_DAYS = 30


@dataclass(frozen=True)
class Balance:
    member_id: int
    balance: int  # sum of entries: available + pending - debt
    available: int  # spendable now
    pending: int  # earned, not yet spendable
    expiring_soon: int  # in available or pending lots expiring in the next 30 days
    debt: int
    expiring_within_days: int = EXPIRING_SOON_DAYS


def ensure_budget_rows(session: Session, rule_ids: list[str]) -> None:
    """Make the counter row of each budgeted rule exist (a no-op for those that do).

    Done when a program is saved, so ingestion only ever updates the rows; a
    concurrent creator losing the race is harmless (the savepoint swallows it).
    """
    known = set(session.scalars(select(RuleBudget.rule_id).where(RuleBudget.rule_id.in_(rule_ids))))
    for rule_id in rule_ids:
        if rule_id in known:
            continue
        try:
            with session.begin_nested():
                session.execute(insert(RuleBudget), [{"rule_id": rule_id, "awarded": 0}])
        except IntegrityError:
            pass


def idle_days(program: Program | None) -> int | None:
    """The inactivity policy's days, or None under another policy."""
    if program is None or program.points.expiry.policy != "inactivity":
        return None
    return program.points.expiry.days or 0


def _open_lots(session: Session, member: Member, program: Program | None) -> list[OpenLot]:
    days = idle_days(program)
    last = member.last_activity_at or member.enrolled_at
    rows = session.execute(
        select(
            PointLot.id,
            PointLot.remaining,
            PointLot.available_at,
            PointLot.expires_at,
            PointLot.event_id,
            PointLot.earned_at,
        )
        .where(PointLot.member_id == member.id, PointLot.remaining > 0)
        .order_by(PointLot.id)
    )
    lots = []
    for lot_id, remaining, available_at, expires_at, event_id, earned_at in rows:
        if days is not None:
            expires_at = idle_expiry(expires_at, last, earned_at, days)
        lots.append(OpenLot(lot_id, remaining, available_at, expires_at, event_id))
    return lots


def _member(session: Session, member_id: int) -> Member:
    member = session.get(Member, member_id)
    if member is None:
        raise NotFound(f"no member with id {member_id}", field="member_id")
    return member


def lock_account(session: Session, member_id: int) -> PointAccount:
    """The member's account, locked, as the database holds it now.

    ``populate_existing``: bulk writes (ingestion, redemptions) update accounts with
    Core statements the session does not see; an account object loaded earlier in
    the transaction would otherwise keep its old balance and debt. Pending ORM
    changes are flushed before the read, so none are lost.
    """
    account = session.scalar(
        select(PointAccount)
        .where(PointAccount.member_id == member_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if account is None:
        raise NotFound(f"no member with id {member_id}", field="member_id")
    return account


def get_balance(
    session: Session, member_id: int, at: datetime, program: Program | None = None
) -> Balance:
    member = _member(session, member_id)
    account = session.get(PointAccount, member_id)
    debt = account.debt if account else 0
    lots = _open_lots(session, member, program)
    soon = at + timedelta(days=EXPIRING_SOON_DAYS)
    live = [lot for lot in lots if not lot.expired(at)]
    return Balance(
        member_id=member_id,
        balance=account.balance if account else 0,
        available=sum(lot.remaining for lot in live if lot.spendable(at)) - debt,
        pending=sum(lot.remaining for lot in live if lot.pending(at)),
        expiring_soon=sum(
            lot.remaining for lot in live if lot.expires_at is not None and lot.expires_at <= soon
        ),
        debt=debt,
    )


def spendable_points(
    session: Session, member_ids: list[int], at: datetime, program: Program | None = None
) -> dict[int, int]:
    """Spendable points (less debt) of many members in one query.

    Same answer as ``get_balance(...).available`` for each member; members with
    nothing spendable are left out.
    """
    if not member_ids:
        return {}
    live = (PointLot.available_at <= at) & (
        PointLot.expires_at.is_(None) | (PointLot.expires_at > at)
    )
    days = idle_days(program)
    if days is not None:  # as ledger.lots.idle_expiry
        cutoff = at - timedelta(days=days)
        active = func.coalesce(Member.last_activity_at, Member.enrolled_at) > cutoff
        live = live & (active | (PointLot.earned_at > cutoff))
    query = (
        select(
            PointAccount.member_id,
            func.coalesce(func.sum(PointLot.remaining), 0),
            PointAccount.debt,
        )
        .join(Member, Member.id == PointAccount.member_id)
        .join(
            PointLot,
            (PointLot.member_id == PointAccount.member_id) & live & (PointLot.remaining > 0),
            isouter=True,
        )
        .where(PointAccount.member_id.in_(member_ids))
        .group_by(PointAccount.member_id, PointAccount.debt)
    )
    out = {m: int(total) - debt for m, total, debt in session.execute(query)}
    return {m: n for m, n in out.items() if n > 0}


def _write_movement(
    session: Session, account: PointAccount, entry: LedgerEntry, allocations: list[tuple[int, int]]
) -> None:
    session.add(entry)
    session.flush()
    if allocations:
        session.execute(
            insert(LotAllocation),
            [{"entry_id": entry.id, "lot_id": lot, "points": n} for lot, n in allocations],
        )
        lots = {
            lot.id: lot
            for lot in session.scalars(
                select(PointLot).where(PointLot.id.in_([lot for lot, _ in allocations]))
            )
        }
        for lot_id, n in allocations:
            lots[lot_id].remaining -= n
    account.balance += entry.points
    account.updated_at = entry.created_at


def debit(
    session: Session,
    member_id: int,
    points: int,
    *,
    reason: str,
    actor: str | None,
    at: datetime,
    program: Program | None,
) -> LedgerEntry:
    """Spend points first-to-expire first; refuses if not enough are spendable."""
    if points <= 0:
        raise InvalidInput("points to debit must be a positive whole number", field="points")
    account = lock_account(session, member_id)
    member = _member(session, member_id)
    if member.status == "blocked":
        raise Conflict("a blocked member cannot spend points", field="member_id")
    allocations = take_for_spend(_open_lots(session, member, program), points, at, account.debt)
    gap = idle_gap(program, member_id, member.last_activity_at or member.enrolled_at, at)
    if gap is not None:  # the spend is activity: what expired on the way stays expired
        pin_idle_expiry(session, [gap])
    entry = LedgerEntry(
        member_id=member_id,
        kind="spend",
        points=-points,
        actor=actor,
        reason=reason,
        explanation=f"-{points} pts: {reason}",
        created_at=at,
    )
    _write_movement(session, account, entry, allocations)
    member.last_activity_at = at
    return entry


def adjust(
    session: Session,
    member_id: int,
    points: int,
    *,
    reason: str,
    actor: str | None,
    at: datetime,
    program: Program | None,
) -> LedgerEntry:
    """A manual correction or goodwill grant; needs a reason and records who made it.

    Credits are spendable at once and expire under the program's policy; a debit
    takes spendable points first-to-expire first, then pending ones.
    """
    if points == 0:
        raise InvalidInput("an adjustment must be a non-zero number of points", field="points")
    if not reason or not reason.strip():
        raise InvalidInput("an adjustment needs a reason", field="reason")
    account = lock_account(session, member_id)
    member = _member(session, member_id)
    explanation = f"{points:+d} pts: manual adjustment by {actor or 'unknown'}: {reason.strip()}"
    if points > 0:
        state = {member_id: AccountState(account.balance, account.debt)}
        expires_at = program.expires_at(at) if program else None
        earning = Earning(
            member_id=member_id,
            points=points,
            explanation=explanation,
            earned_at=at,
            available_at=at,
            expires_at=expires_at,
            kind="adjust",
            actor=actor,
            reason=reason,
        )
        entry_id = post_earnings(session, [earning], state, at)[0]
        session.refresh(account)
        entry = session.get(LedgerEntry, entry_id)
        assert entry is not None
        return entry
    lots = _open_lots(session, member, program)
    ordered = spend_order(lots, at) + sorted(
        (lot for lot in lots if lot.pending(at) and lot.remaining > 0), key=lambda lot: lot.id
    )
    held = sum(lot.remaining for lot in ordered) - account.debt
    if -points > held:
        raise InsufficientPoints(
            f"cannot remove {-points} points: the member holds {max(held, 0)}",
            field="points",
            available=max(held, 0),
        )
    allocations, _ = take(ordered, -points)
    entry = LedgerEntry(
        member_id=member_id,
        kind="adjust",
        points=points,
        actor=actor,
        reason=reason,
        explanation=explanation,
        created_at=at,
    )
    _write_movement(session, account, entry, allocations)
    return entry


def reverse_points(
    session: Session,
    member_id: int,
    points: int,
    *,
    refund_event_id: int,
    purchase_event_id: int,
    explanation: str,
    at: datetime,
    program: Program | None,
    as_of: datetime | None = None,
) -> LedgerEntry | None:
    """Take back points a refunded purchase earned; what is already spent becomes debt.

    ``as_of``: when the refund happened, if before ``at`` (an imported history).
    Which lots are still live, and which pending, is judged then: a purchase
    refunded within minutes gives back its own lot even when the import runs
    after that lot's expiry date. Judged at ``at`` instead, the lot would look
    expired, the refund would become debt, and the expiry job would then take
    the same points a second time.
    """
    if points <= 0:
        return None
    account = lock_account(session, member_id)
    member = _member(session, member_id)
    when = at if as_of is None else min(as_of, at)
    allocations, shortfall = take_for_reversal(
        _open_lots(session, member, program), points, when, purchase_event_id
    )
    entry = LedgerEntry(
        member_id=member_id,
        kind="reverse",
        points=-points,
        event_id=refund_event_id,
        explanation=explanation,
        created_at=at,
    )
    _write_movement(session, account, entry, allocations)
    account.debt += shortfall
    return entry


@dataclass(frozen=True)
class StatementLine:
    id: int
    created_at: datetime
    kind: str
    points: int
    explanation: str
    rule_id: str | None
    event_external_id: str | None
    available_at: datetime | None
    expires_at: datetime | None
    actor: str | None
    reason: str | None
    awards: list[Any] | None = None


def get_statement(
    session: Session, member_id: int, *, limit: int = 50, before_id: int | None = None
) -> list[StatementLine]:
    """Newest first; ``before_id`` continues from a previous page."""
    from patron.events.models import Event

    _member(session, member_id)
    query = (
        select(LedgerEntry, Event.external_id, PointLot.available_at, PointLot.expires_at)
        .outerjoin(Event, Event.id == LedgerEntry.event_id)
        .outerjoin(PointLot, PointLot.entry_id == LedgerEntry.id)
        .where(LedgerEntry.member_id == member_id)
        .order_by(LedgerEntry.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        query = query.where(LedgerEntry.id < before_id)
    return [
        StatementLine(
            e.id,
            e.created_at,
            e.kind,
            e.points,
            e.explanation,
            e.rule_id,
            ext,
            avail,
            exp,
            e.actor,
            e.reason,
            e.awards,
        )
        for e, ext, avail, exp in session.execute(query)
    ]
