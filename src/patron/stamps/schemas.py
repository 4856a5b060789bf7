"""Stamp card API responses."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from patron.stamps.service import CardView


class StampOut(BaseModel):
    kind: str = Field(description="stamp, unstamp, complete, reopen, owed or expire")
    count: int = Field(description="Stamps added (negative: taken away).")
    explanation: str
    at: datetime
    event_id: int | None


class CouponOut(BaseModel):
    code: str
    status: str = Field(description="issued, used, cancelled or expired")


class StampCardOut(BaseModel):
    id: int
    card: str = Field(description="The card's id in the program.")
    name: str
    status: str = Field(description="open, complete or expired")
    stamps: int
    goal: int
    owed: int = Field(description="Stamps owed after a refund took back a used card's stamp.")
    text: str = Field(description="The card in words, e.g. '4 of 9 stamps'.")
    started_at: datetime
    expires_at: datetime | None
    ended_at: datetime | None
    coupon: CouponOut | None = Field(description="The reward of a complete card.")
    history: list[StampOut]


class StampCardsOut(BaseModel):
    member_id: int
    cards: list[StampCardOut]


def card_text(card: CardView) -> str:
    """``4 of 9 stamps``, ``complete: coupon ABCD-...``, ``expired with 2 of 9 stamps``."""
    count = f"{card.stamps} of {card.goal} stamps"
    if card.owed:
        count += f" ({card.owed} owed)"
    if card.status == "complete":
        return f"complete: coupon {card.coupon_code} ({card.coupon_status})"
    if card.status == "expired":
        return f"expired with {count}"
    if card.expires_at is not None:
        return f"{count}, until {card.expires_at:%Y-%m-%d}"
    return count


def card_out(card: CardView) -> StampCardOut:
    return StampCardOut(
        id=card.id,
        card=card.card,
        name=card.name,
        status=card.status,
        stamps=card.stamps,
        goal=card.goal,
        owed=card.owed,
        text=card_text(card),
        started_at=card.started_at,
        expires_at=card.expires_at,
        ended_at=card.ended_at,
        coupon=CouponOut(code=card.coupon_code, status=card.coupon_status or "issued")
        if card.coupon_code
        else None,
        history=[
            StampOut(
                kind=h.kind, count=h.count, explanation=h.explanation, at=h.at, event_id=h.event_id
            )
            for h in card.history
        ],
    )
