"""What a batch carries: each event on its way, the members it touches, and the
row an event becomes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from patron.events.schemas import Award, EventIn
from patron.ledger.posting import Earning
from patron.rules.types import EventFacts, LineItem


@dataclass
class MemberState:
    id: int
    status: str
    attributes: dict[str, Any]
    purchase_count: int
    last_activity_at: datetime | None
    changed: bool = False


@dataclass
class Row:
    """One event on its way through the batch."""

    index: int
    event: EventIn
    hash: str
    occurred_at: datetime
    member_id: int = 0
    facts: EventFacts | None = None
    awards: Sequence[Award] = field(default_factory=list)
    earning: Earning | None = None
    refund: dict[str, Any] | None = None
    event_id: int | None = None
    points: int = 0
    lines: tuple[LineItem, ...] = ()  # a purchase's, in minor units (check_shape)


def event_record(row: Row, received_at: datetime, currency: str, version: int) -> dict[str, Any]:
    """The ``events`` row a scored event becomes."""
    ev = row.event
    refund = row.refund or {}
    return {
        "id": row.event_id,
        "external_id": ev.external_id,
        "type": ev.type,
        "name": ev.name,
        "member_id": row.member_id,
        "occurred_at": row.occurred_at,
        "received_at": received_at,
        "amount": refund.get("amount", row.facts.amount if row.facts else 0),
        "currency": currency,
        "channel": ev.channel,
        "store": ev.store,
        "lines": refund.get("lines")
        or [
            {
                "sku": li.sku,
                "category": li.category,
                "quantity": li.quantity,
                "unit_price": li.unit_price,
            }
            for li in (row.facts.lines if row.facts else ())
        ],
        "attributes": ev.attributes,
        "refund_of_id": refund.get("purchase_id"),
        "refunded_amount": 0,
        "payload_hash": row.hash,
        "program_version": version,
        "points": row.points,
    }
