"""The review job (``patron jobs run``): downgrades and ended paid memberships.

A member whose review date plus grace has passed and whose measure no longer
reaches their level moves down by at most ``review.max_down`` levels; one who
still qualifies keeps the level until the next review, ``review.days`` later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from patron.members.models import Member
from patron.program.schema import Program
from patron.tiers.batch import TIERS, LevelChange, write_changes, write_paid
from patron.tiers.definition import compile_levels
from patron.tiers.measuring import measure_members
from patron.tiers.models import MemberTier
from patron.tiers.progress import (
    NO_LEVEL,
    after_review,
    level_index,
    qualified_index,
)

REVIEW_CHUNK = 1000


@dataclass(frozen=True)
class ReviewReport:
    reviewed: int = 0
    downgraded: int = 0
    memberships_ended: int = 0


def review_tiers(session: Session, at: datetime, program: Program | None) -> ReviewReport:
    """Downgrade members whose review date plus grace has passed and who fall short, and
    end paid memberships that were not renewed."""
    if program is None or program.tiers is None:
        return ReviewReport()
    tiers = program.tiers
    due_before = at - timedelta(days=tiers.review.grace_days)
    due_now = (MemberTier.tier.is_not(None)) & (MemberTier.review_at <= due_before)
    if tiers.membership is not None:
        due_now = due_now | (MemberTier.paid_until <= at)
    due = list(
        session.scalars(select(MemberTier.member_id).where(due_now).order_by(MemberTier.member_id))
    )
    totals = [0, 0, 0]
    for i in range(0, len(due), REVIEW_CHUNK):
        for n, done in enumerate(_review_chunk(session, program, due[i : i + REVIEW_CHUNK], at)):
            totals[n] += done
    return ReviewReport(*totals)


def _review_chunk(
    session: Session, program: Program, chunk: list[int], at: datetime
) -> tuple[int, int, int]:
    from patron.ledger.posting import load_accounts

    tiers = program.tiers
    assert tiers is not None
    levels = compile_levels(program)
    due_before = at - timedelta(days=tiers.review.grace_days)
    paid_level = level_index(levels, tiers.membership.tier) if tiers.membership else NO_LEVEL
    load_accounts(session, chunk)  # the member lock every writer takes, in id order
    rows = session.execute(
        select(
            MemberTier.member_id, MemberTier.tier, MemberTier.review_at, MemberTier.paid_until
        ).where(MemberTier.member_id.in_(chunk))
    ).all()
    measured = measure_members(session, program, chunk, at)
    changes, kept = [], []
    ended: dict[int, datetime | None] = {}
    reviewed = 0
    for member_id, tier, review_at, paid_until in rows:
        current = level_index(levels, tier)
        figure = measured[member_id].now if member_id in measured else 0
        if paid_until is not None and paid_until <= at and tiers.membership is not None:
            ended[member_id] = None
            earned = qualified_index(levels, figure)
            if earned < current <= paid_level:  # the level was paid for, not earned
                changes.append(
                    LevelChange(member_id, current, earned, figure, at, None, "membership_ended")
                )
                continue
        if tier is None or review_at is None or review_at > due_before:
            continue
        reviewed += 1
        new = after_review(levels, current, figure, tiers.review.max_down)
        if paid_until is not None and paid_until > at:
            new = max(new, min(paid_level, current))  # a paid level holds while paid
        if new < current:
            changes.append(LevelChange(member_id, current, new, figure, at, None, "review"))
            continue
        while review_at <= due_before:
            review_at += timedelta(days=tiers.review.days)
        kept.append({"m": member_id, "review_at": review_at, "updated_at": at})
    if kept:
        session.execute(
            update(TIERS)
            .where(TIERS.c.member_id == bindparam("m"))
            .values(review_at=bindparam("review_at"), updated_at=bindparam("updated_at")),
            kept,
            execution_options={"synchronize_session": False},
        )
    if changes:
        attributes = {
            mid: dict(attrs or {})
            for mid, attrs in session.execute(
                select(Member.id, Member.attributes).where(
                    Member.id.in_([c.member_id for c in changes])
                )
            )
        }
        write_changes(session, program, levels, changes, set(chunk), at, attributes=attributes)
    if ended:
        write_paid(session, ended)
    return reviewed, sum(c.reason == "review" for c in changes), len(ended)
