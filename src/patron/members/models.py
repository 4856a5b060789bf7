"""Members: the people in the program."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from patron.core.db import Base, BigId

MEMBER_STATUSES = ("active", "blocked")
CHANNELS = ("email", "sms", "push")


class Member(Base):
    __tablename__ = "members"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    phone: Mapped[str | None] = mapped_column(String(32), unique=True)
    first_name: Mapped[str | None] = mapped_column(String(200))
    last_name: Mapped[str | None] = mapped_column(String(200))
    birthday: Mapped[date | None]
    status: Mapped[str] = mapped_column(String(16), default="active")
    consents: Mapped[dict[str, Any]] = mapped_column(default=dict)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    enrolled_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # Kept current by event ingestion; the engine's "first purchase" and the
    # inactivity expiry policy read them without scanning events.
    purchase_count: Mapped[int] = mapped_column(default=0)
    last_activity_at: Mapped[datetime | None]
