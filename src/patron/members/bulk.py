"""Enrolling many members at once (event ingestion, imports, the demo)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.orm import Session

from patron.core.bulk import insert_rows
from patron.core.db import table_of
from patron.core.ids import reserve_ids
from patron.ledger.models import PointAccount
from patron.members.models import Member

MEMBERS = table_of(Member)


def enrol_many(session: Session, enrol_at: Mapping[str, datetime], now: datetime) -> dict[str, int]:
    """Create members (and their point accounts) for unknown external ids.

    ``enrol_at`` maps external id -> when they joined (their first event).
    Returns external id -> new member id.
    """
    if not enrol_at:
        return {}
    ext_ids = list(enrol_at)
    rows = [
        {
            "external_id": ext,
            "status": "active",
            "consents": {},
            "attributes": {},
            "enrolled_at": enrol_at[ext],
            "updated_at": now,
            "purchase_count": 0,
        }
        for ext in ext_ids
    ]
    ids = reserve_ids(session, MEMBERS, len(rows))
    for member_id, row in zip(ids, rows, strict=True):
        row["id"] = member_id
    insert_rows(session, MEMBERS, rows)
    insert_rows(
        session,
        table_of(PointAccount),
        [{"member_id": i, "balance": 0, "debt": 0, "updated_at": now} for i in ids],
    )
    return dict(zip(ext_ids, ids, strict=True))
