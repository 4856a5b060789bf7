"""Bulk posting of earned points: the hot path of event ingestion.

One INSERT for the entries (ids returned in order), one for their lots, one
executemany UPDATE for the accounts. A member in debt repays it from the new
lot before anything becomes spendable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from patron.core.bulk import insert_rows, update_rows
from patron.core.db import table_of
from patron.core.ids import reserve_ids
from patron.core.raw import Ask, Loading, gather, keys_in
from patron.ledger.models import LedgerEntry, PointAccount, PointLot

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
