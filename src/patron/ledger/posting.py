"""Bulk posting of earned points: the hot path of event ingestion.

One INSERT for the entries (ids returned in order), one for their lots, one
executemany UPDATE for the accounts. A member in debt repays it from the new
lot before anything becomes spendable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from patron.core.bulk import insert_rows, update_rows
from patron.core.db import UTCDateTime, table_of
from patron.core.ids import reserve_ids
from patron.core.raw import Ask, Loading, gather, keys_in
from patron.ledger.lots import idle_expiry
from patron.ledger.models import LedgerEntry, PointAccount, PointLot

if TYPE_CHECKING:
    from patron.program.schema import Program

ENTRIES = table_of(LedgerEntry)
LOTS = table_of(PointLot)
ACCOUNTS = table_of(PointAccount)


@dataclass(slots=True)
class Earning:
    """Points to credit: one ledger entry and one lot."""

    member_id: int
    points: int
    explanation: str
    earned_at: datetime
    available_at: datetime
    expires_at: datetime | None
    event_id: int | None = None
    rule_id: str | None = None
    awards: list[dict[str, Any]] | None = None
    kind: str = "earn"
    actor: str | None = None
    reason: str | None = None


@dataclass(slots=True)
class AccountState:
    balance: int
    debt: int


def load_accounts(session: Session, member_ids: Sequence[int]) -> dict[int, AccountState]:
    """Read and lock (``FOR UPDATE`` on PostgreSQL) the accounts, in id order.

    Locking serialises concurrent writers to one member (debt repayment, caps,
    first purchase); the fixed order keeps two batches from deadlocking.
    """
    (rows,) = gather(session, locking_accounts(member_ids))
    return rows


def locking_accounts(member_ids: Sequence[int]) -> Loading[dict[int, AccountState]]:
    """:func:`load_accounts` as a loader, to lock beside other reads (see core.raw.gather)."""
    wanted = sorted(set(member_ids))
    if not wanted:
        return {}
    (rows,) = yield [Ask(_LOCK, {"keys": wanted}, keys=("keys",))]
    return {m: AccountState(b, d) for m, b, d in rows}


_LOCK = (
    select(PointAccount.member_id, PointAccount.balance, PointAccount.debt)
    .where(keys_in(PointAccount.member_id, "keys"))
    .order_by(PointAccount.member_id)
    .with_for_update()
)


def post_earnings(
    session: Session,
    earnings: Sequence[Earning],
    accounts: dict[int, AccountState],
    at: datetime,
    entry_ids: Sequence[int] | None = None,
) -> list[int]:
    """Write entries, lots and account totals for ``earnings``; returns entry ids.

    ``accounts`` must hold every member concerned (see :func:`load_accounts`);
    it is updated in place so a caller can post several batches. ``entry_ids``
    are ids the caller already reserved for the entries (one per earning).
    """
    if not earnings:
        return []
    ids = list(entry_ids) if entry_ids is not None else reserve_ids(session, ENTRIES, len(earnings))
    entry_rows: list[dict[str, Any]] = [
        {
            "id": entry_id,
            "member_id": e.member_id,
            "kind": e.kind,
            "points": e.points,
            "event_id": e.event_id,
            "rule_id": e.rule_id,
            "explanation": e.explanation,
            "awards": e.awards,
            "actor": e.actor,
            "reason": e.reason,
            "created_at": e.earned_at,
        }
        for entry_id, e in zip(ids, earnings, strict=True)
    ]
    insert_rows(session, ENTRIES, entry_rows)
    lot_rows = []
    touched: set[int] = set()
    for entry_id, e in zip(ids, earnings, strict=True):
        account = accounts[e.member_id]
        repaid = min(account.debt, e.points)
        account.debt -= repaid
        account.balance += e.points
        touched.add(e.member_id)
        lot_rows.append(
            {
                "member_id": e.member_id,
                "entry_id": entry_id,
                "event_id": e.event_id,
                "points": e.points,
                "remaining": e.points - repaid,
                "earned_at": e.earned_at,
                "available_at": e.available_at,
                "expires_at": e.expires_at,
                "status": "available" if e.available_at <= at else "pending",
            }
        )
    insert_rows(session, LOTS, lot_rows)
    update_rows(
        session,
        ACCOUNTS,
        "member_id",
        [
            {
                "member_id": m,
                "balance": accounts[m].balance,
                "debt": accounts[m].debt,
                "updated_at": at,
            }
            for m in sorted(touched)
        ],
    )
    return ids


@dataclass(frozen=True, slots=True)
class IdleGap:
    """A member back at ``back_at`` after more than the inactivity policy's ``days``
    since their last activity, ``last_active``."""

    member_id: int
    last_active: datetime
    back_at: datetime
    days: int


_HELD_BEFORE = select(LOTS.c.id, LOTS.c.member_id, LOTS.c.earned_at, LOTS.c.expires_at).where(
    LOTS.c.member_id.in_(bindparam("members", expanding=True)), LOTS.c.remaining > 0
)
_PIN_EXPIRY = (
    update(LOTS)
    .where(LOTS.c.id == bindparam("lot"))
    .values(expires_at=bindparam("expiry", type_=UTCDateTime()))
)


def pin_idle_expiry(session: Session, gaps: Sequence[IdleGap]) -> None:
    """Fix the expiry of the lots that expired while their member was away.

    Under an inactivity policy a lot's expiry is not stored: it is worked out
    when read from the member's last activity (``ledger.lots.idle_expiry``).
    New activity moves it, so a member away longer than the policy allows who
    came back before the expiry job ran would have had their expired points
    back, spendable again, and a history imported in one go (no job between
    its events) kept every inactivity expiry it should have had. Before the
    activity moves, each lot that expired on the way gets the date it expired
    on; the expiry job then expires it like any dated lot.
    """
    if not gaps:
        return
    by_member: dict[int, list[IdleGap]] = {}
    for gap in gaps:
        by_member.setdefault(gap.member_id, []).append(gap)
    pins = []
    for lot_id, member_id, earned_at, expires_at in session.execute(
        _HELD_BEFORE, {"members": sorted(by_member)}
    ):
        pinned = expires_at
        for gap in by_member[member_id]:
            if earned_at >= gap.back_at:
                continue
            expired = idle_expiry(pinned, gap.last_active, earned_at, gap.days)
            if expired <= gap.back_at:
                pinned = expired
        if pinned != expires_at:
            pins.append({"lot": lot_id, "expiry": pinned})
    if pins:
        session.execute(_PIN_EXPIRY, pins)


def idle_gap(
    program: Program | None, member_id: int, last_active: datetime, at: datetime
) -> IdleGap | None:
    """The gap activity at ``at`` ends, if it reached the inactivity policy's days
    (points expire *at* their date, so activity at that very instant is too late).
    ``last_active``: the member's last activity, or their enrolment."""
    if program is None or program.points.expiry.policy != "inactivity":
        return None
    days = program.points.expiry.days or 0
    if at >= last_active + timedelta(days=days):
        return IdleGap(member_id, last_active, at, days)
    return None
