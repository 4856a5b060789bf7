"""Events: everything a customer does, stored once per external_id."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from patron.core.db import Base, BigId

EVENT_TYPES = ("purchase", "refund", "signup", "custom")


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_member_occurred", "member_id", "occurred_at"),
        Index("ix_events_type_occurred", "type", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(200), unique=True)
    type: Mapped[str] = mapped_column(String(16))
    name: Mapped[str | None] = mapped_column(String(100))  # custom event name
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    occurred_at: Mapped[datetime]
    received_at: Mapped[datetime]
    amount: Mapped[int] = mapped_column(default=0)  # minor units; refunds: amount refunded
    currency: Mapped[str] = mapped_column(String(3))
    channel: Mapped[str | None] = mapped_column(String(50))
    store: Mapped[str | None] = mapped_column(String(100))
    lines: Mapped[list[Any]] = mapped_column(default=list)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    refund_of_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"), index=True)
    refunded_amount: Mapped[int] = mapped_column(default=0)  # purchases: refunded so far
    payload_hash: Mapped[str] = mapped_column(String(64))
    program_version: Mapped[int | None]
    points: Mapped[int] = mapped_column(default=0)  # net points this event posted
