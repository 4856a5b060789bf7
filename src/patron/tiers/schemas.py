"""Tier API responses: the member's level, progress in numbers and words, history."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, Field

from patron.tiers.definition import Level
from patron.tiers.models import TierChange
from patron.tiers.progress import Target
from patron.tiers.service import TierStatus


class LevelOut(BaseModel):
    id: str
    name: str
    threshold: int = Field(description="In the measure's unit: minor units, points or visits.")
    multiplier: Decimal | None
    perks: list[str]


class FigureOut(BaseModel):
    value: int = Field(description="Minor units (spend), points or visits.")
    display: str = Field(description="The figure in words, e.g. 120.00 GBP or 3 visits.")


class TargetOut(BaseModel):
    tier: str
    name: str
    needed: FigureOut
    by: date | None = Field(description="Local date until which the figure holds.")


class TierOut(BaseModel):
    member_id: int
    qualify_on: str
    window: str = Field(description="rolling:<days> or calendar_year")
    tier: LevelOut | None
    since: datetime | None
    review_at: datetime | None
    downgrade_possible_at: datetime | None = Field(
        description="Review date plus grace: the earliest a downgrade can take effect."
    )
    paid_until: datetime | None = Field(description="A paid membership level lasts until then.")
    measure: FigureOut
    next: TargetOut | None
    keep: TargetOut | None
    text: str
    levels: list[LevelOut]


class TierChangeOut(BaseModel):
    id: int
    kind: str
    from_tier: str | None
    to_tier: str | None
    measure: int
    event_id: int | None
    explanation: str
    changed_at: datetime


class TierHistoryOut(BaseModel):
    items: list[TierChangeOut]
    next_cursor: str | None


def _level(level: Level) -> LevelOut:
    return LevelOut(
        id=level.id,
        name=level.name,
        threshold=level.threshold,
        multiplier=level.multiplier,
        perks=list(level.perks),
    )


def tier_out(status: TierStatus) -> TierOut:
    from patron.tiers.progress import amount_words

    tiers, zone = status.tiers, status.zone

    def figure(value: int) -> FigureOut:
        return FigureOut(value=value, display=amount_words(tiers, value, status.currency))

    def target(t: Target | None) -> TargetOut | None:
        if t is None:
            return None
        by = t.by.astimezone(zone).date() if t.by is not None else None
        return TargetOut(tier=t.tier, name=t.name, needed=figure(t.needed), by=by)

    progress = status.progress
    window = tiers.window
    return TierOut(
        member_id=status.member_id,
        qualify_on=tiers.qualify_on,
        window=f"rolling:{window.days}" if window.type == "rolling" else "calendar_year",
        tier=_level(progress.level) if progress.level else None,
        since=status.since,
        review_at=status.review_at,
        downgrade_possible_at=status.decision_at,
        paid_until=status.paid_until,
        measure=figure(progress.measure),
        next=target(progress.next),
        keep=target(progress.keep),
        text=progress.text,
        levels=[_level(lv) for lv in status.levels],
    )


def change_out(change: TierChange) -> TierChangeOut:
    return TierChangeOut(
        id=change.id,
        kind=change.kind,
        from_tier=change.from_tier,
        to_tier=change.to_tier,
        measure=change.measure,
        event_id=change.event_id,
        explanation=change.explanation,
        changed_at=change.changed_at,
    )
