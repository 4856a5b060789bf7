"""Tiers: the rules, and a member's status and history. The measure is in
``measuring``, upgrades during ingestion in ``batch``, the review job in ``review``.

**The qualifying measure is computed from the events of the window, not kept
as a running figure.** A rolling window cannot be maintained incrementally
without the events that leave it, and computing it makes refunds (a purchase
counts net of what was refunded), late events and changed thresholds right by
construction. It costs one grouped query per batch over the batch's members
(``ix_events_member_occurred``), and nothing when the program has no tiers.

**Upgrades happen during ingestion**, in the batch's transaction (the member's
account is locked, so concurrent batches of one member see each other): after
each event the member's measure is compared with the thresholds, and a member
who reaches a higher level moves up at once, possibly by several levels.
**The event that crosses a threshold earns at the level held before it**; the
new level's multiplier applies from the next event on (so an event's points
never depend on themselves, which a points measure would otherwise need).

**Downgrades happen only in the review job** (``patron jobs run``): a member
whose review date plus grace has passed and whose measure no longer reaches
their level moves down by at most ``review.max_down`` levels; one who still
qualifies keeps the level until the next review, ``review.days`` later.

Every change writes a ``tier_changes`` row, an ``outbox`` row
(``tier.upgraded`` / ``tier.downgraded``) and the member attribute ``tier``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from patron.core.errors import Conflict
from patron.members.service import get_member
from patron.program.schema import Program
from patron.tiers.definition import Level, TiersDefinition, compile_levels
from patron.tiers.measuring import Measured, measure_members
from patron.tiers.models import MemberTier, TierChange
from patron.tiers.progress import (
    NO_LEVEL,
    Progress,
    level_index,
    progress,
    window_end,
)


def _require_tiers(program: Program | None) -> tuple[Program, TiersDefinition]:
    if program is None or program.tiers is None:
        raise Conflict("the program in force has no tiers section", field="program")
    return program, program.tiers


# -- reading ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TierStatus:
    member_id: int
    tiers: TiersDefinition
    levels: tuple[Level, ...]
    since: datetime | None
    review_at: datetime | None
    decision_at: datetime | None
    paid_until: datetime | None
    progress: Progress
    currency: str
    zone: tzinfo


def tier_status(
    session: Session, member_id: int, at: datetime, program: Program | None
) -> TierStatus:
    """The member's level, measure and what they need for the next level and to keep this one."""
    program, tiers = _require_tiers(program)
    get_member(session, member_id)
    levels = compile_levels(program)
    row = session.execute(
        select(
            MemberTier.tier, MemberTier.since, MemberTier.review_at, MemberTier.paid_until
        ).where(MemberTier.member_id == member_id)
    ).first()
    current = level_index(levels, row.tier if row else None)
    review_at = row.review_at if row and current != NO_LEVEL else None
    decision_at = review_at + timedelta(days=tiers.review.grace_days) if review_at else None
    measured = measure_members(session, program, [member_id], at, decision_at).get(
        member_id, Measured(0, 0, None)
    )
    if tiers.window.type == "calendar_year":
        reach_by: datetime | None = window_end(tiers.window, at, program.zone)
    else:
        reach_by = (
            window_end(tiers.window, measured.earliest, program.zone)
            if measured.earliest is not None
            else None
        )
    paid_until = row.paid_until if row and row.paid_until and row.paid_until > at else None
    shown = progress(
        tiers,
        levels,
        current=current,
        measure=measured.now,
        reach_by=reach_by,
        decision_at=decision_at,
        measure_at_decision=measured.at_decision if decision_at else measured.now,
        currency=program.currency,
        zone=program.zone,
        paid_until=paid_until,
    )
    return TierStatus(
        member_id,
        tiers,
        levels,
        row.since if row and current != NO_LEVEL else None,
        review_at,
        decision_at,
        paid_until,
        shown,
        program.currency,
        program.zone,
    )


def tier_history(
    session: Session, member_id: int, *, limit: int, before_id: int | None = None
) -> list[TierChange]:
    """The member's tier changes, newest first."""
    get_member(session, member_id)
    query = select(TierChange).where(TierChange.member_id == member_id)
    if before_id is not None:
        query = query.where(TierChange.id < before_id)
    return list(session.scalars(query.order_by(TierChange.id.desc()).limit(limit)))
