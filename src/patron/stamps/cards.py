"""A stamp card and a stamp as a batch handles them, and the rows they become."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from patron.events.rows import Row


@dataclass(eq=False)
class Card:
    """A member's card as the batch sees it (hashable by identity)."""

    id: int | None
    member_id: int
    card: str
    status: str
    stamps: int
    goal: int
    started_at: datetime
    expires_at: datetime | None
    ended_at: datetime | None = None
    redemption_id: int | None = None
    coupon_status: str | None = None  # of a stored coupon: issued | used | cancelled
    coupon: dict[str, Any] | None = None  # a coupon this batch issues
    new: bool = False
    changed: bool = False
    gone: bool = False  # merged into a reopened card: deleted when saved

    def change(self, **values: Any) -> None:
        for key, value in values.items():
            setattr(self, key, value)
        self.changed = True


@dataclass
class Entry:
    card: Card
    kind: str
    count: int
    row: Row
    explanation: str
    purchase_row: Row | None = None
    purchase_id: int | None = None


def card_row(card: Card, at: datetime) -> dict[str, Any]:
    return {
        "id": card.id,
        "member_id": card.member_id,
        "card": card.card,
        "status": card.status,
        "stamps": card.stamps,
        "goal": card.goal,
        "started_at": card.started_at,
        "expires_at": card.expires_at,
        "ended_at": card.ended_at,
        "redemption_id": card.redemption_id,
        "updated_at": at,
    }


def stamp_row(entry: Entry, stamp_id: int) -> dict[str, Any]:
    purchase = entry.purchase_id
    if purchase is None and entry.purchase_row is not None:
        purchase = entry.purchase_row.event_id
    return {
        "id": stamp_id,
        "card_id": entry.card.id,
        "member_id": entry.card.member_id,
        "kind": entry.kind,
        "count": entry.count,
        "event_id": entry.row.event_id,
        "purchase_id": purchase,
        "explanation": entry.explanation,
        "created_at": entry.row.occurred_at,
    }
