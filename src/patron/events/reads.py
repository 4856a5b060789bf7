"""What a batch reads before it scores: stored events, members, locked accounts.

Statements built once, read by loaders (see :mod:`patron.core.raw`): on
PostgreSQL they go straight to the driver, a key list as one array
parameter, and the reads of one step share a round trip.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import select

from patron.core.raw import Ask, Loading, keys_in
from patron.events.models import Event
from patron.ledger.models import PointAccount
from patron.members.models import Member


class StoredEvent(NamedTuple):
    id: int
    external_id: str
    payload_hash: str
    member_id: int
    points: int
    program_version: int
    occurred_at: datetime


class MemberRow(NamedTuple):
    id: int
    external_id: str | None
    status: str
    attributes: dict[str, Any] | None
    purchase_count: int
    last_activity_at: datetime | None


class LockedAccount(NamedTuple):
    member_id: int
    balance: int
    debt: int
    status: str
    attributes: dict[str, Any] | None
    purchase_count: int
    last_activity_at: datetime | None


_STORED = select(
    Event.id,
    Event.external_id,
    Event.payload_hash,
    Event.member_id,
    Event.points,
    Event.program_version,
    Event.occurred_at,
).where(keys_in(Event.external_id, "keys"))

_MEMBER_COLUMNS = (
    Member.id,
    Member.external_id,
    Member.status,
    Member.attributes,
    Member.purchase_count,
    Member.last_activity_at,
)
# Two indexed look-ups (an OR of both would scan the table on SQLite).
_MEMBERS_BY_ID = select(*_MEMBER_COLUMNS).where(keys_in(Member.id, "keys"))
_MEMBERS_BY_EXTERNAL_ID = select(*_MEMBER_COLUMNS).where(keys_in(Member.external_id, "keys"))

# FOR UPDATE of both tables: a statement that waited for a lock reads the
# committed versions of the rows it locks, and only of those.
_LOCK = (
    select(
        PointAccount.member_id,
        PointAccount.balance,
        PointAccount.debt,
        Member.status,
        Member.attributes,
        Member.purchase_count,
        Member.last_activity_at,
    )
    .join(Member, Member.id == PointAccount.member_id)
    .where(keys_in(PointAccount.member_id, "keys"))
    .order_by(PointAccount.member_id)
    .with_for_update()
)


def stored_events(external_ids: Collection[str]) -> Loading[dict[str, StoredEvent]]:
    """Events already received under these external ids."""
    if not external_ids:
        return {}
    (rows,) = yield [Ask(_STORED, {"keys": list(external_ids)}, keys=("keys",))]
    return {r[1]: StoredEvent(*r) for r in rows}


def members_named(ids: Collection[int], external_ids: Collection[str]) -> Loading[list[MemberRow]]:
    """The members the batch names by id or by external id, each once."""
    asks = [
        Ask(statement, {"keys": list(keys)}, keys=("keys",))
        for statement, keys in ((_MEMBERS_BY_ID, ids), (_MEMBERS_BY_EXTERNAL_ID, external_ids))
        if keys
    ]
    if not asks:
        return []
    found: dict[int, MemberRow] = {}
    for rows in (yield asks):
        for r in rows:
            found[r[0]] = MemberRow(*r)
    return list(found.values())


def lock_accounts_with_members(member_ids: list[int]) -> Ask:
    """Lock the accounts and their members' rows, in member id order (PostgreSQL);
    rows as :class:`LockedAccount`."""
    return Ask(_LOCK, {"keys": member_ids}, keys=("keys",))
