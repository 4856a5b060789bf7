"""The points ledger: append-only entries, lots with remaining amounts.

Invariant (checked by the property tests): for every member
``account.balance == sum(entries.points) == sum(lots.remaining) - account.debt``
once the expiry job has run; spendable points at time t are the remaining
points of lots with ``available_at <= t < expires_at``, less the debt.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from patron.core.db import Base, BigId

ENTRY_KINDS = ("earn", "spend", "expire", "reverse", "adjust")


class PointAccount(Base):
    """One per member. The row a debit locks (SELECT ... FOR UPDATE)."""

    __tablename__ = "point_accounts"

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    balance: Mapped[int] = mapped_column(default=0)  # sum of entries (pending included)
    debt: Mapped[int] = mapped_column(default=0)  # points owed after a refund of spent points
    updated_at: Mapped[datetime]


class LedgerEntry(Base):
    __tablename__ = "ledger_entries"
    __table_args__ = (Index("ix_ledger_entries_member_id_id", "member_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    kind: Mapped[str] = mapped_column(String(16))
    points: Mapped[int]  # signed: + earn/adjust up, - spend/expire/reverse/adjust down
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"), index=True)
    rule_id: Mapped[str | None] = mapped_column(String(100))
    explanation: Mapped[str] = mapped_column(Text)
    # For an earn entry, the rule awards it is made of: [{rule_id, points,
    # explanation, basis}], basis mapping line index -> minor units counted.
    # Refunds read it to take back exactly what the refunded lines earned.
    awards: Mapped[list[Any] | None]
    actor: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


class PointLot(Base):
    __tablename__ = "point_lots"
    __table_args__ = (
        Index("ix_point_lots_member_open", "member_id", "remaining"),
        Index(  # only lots still holding points: keeps the expiry job's scan small
            "ix_point_lots_expires_at",
            "expires_at",
            sqlite_where=text("remaining > 0"),
            postgresql_where=text("remaining > 0"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entries.id"))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"), index=True)
    points: Mapped[int]
    remaining: Mapped[int]
    earned_at: Mapped[datetime]
    available_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|available|expired


class LotAllocation(Base):
    """Which lots a spend, reversal or expiry took its points from."""

    __tablename__ = "lot_allocations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entries.id"), index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("point_lots.id"), index=True)
    points: Mapped[int]


class RuleUsage(Base):
    """Points a capped rule gave one member in one cap period."""

    __tablename__ = "rule_usage"

    rule_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    period_key: Mapped[str] = mapped_column(String(16), primary_key=True)
    points: Mapped[int] = mapped_column(default=0)


class RuleBudget(Base):
    """Points a budgeted rule gave in total."""

    __tablename__ = "rule_budgets"

    rule_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    awarded: Mapped[int] = mapped_column(default=0)
