"""Tiers during ingestion: each event's level, upgrades at once, their records.

See :mod:`patron.tiers.service` for the rules (an event that crosses a threshold
earns at the level held before it; upgrades in the batch's transaction).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from patron.core.bulk import insert_rows, update_rows
from patron.core.db import table_of
from patron.core.raw import Ask, Loading, keys_in
from patron.members.models import Member
from patron.program.schema import Program
from patron.tiers.definition import Level, TierMembership, TiersDefinition, compile_levels
from patron.tiers.measuring import batch_measure_query
from patron.tiers.models import MemberTier, OutboxMessage, TierChange
from patron.tiers.progress import (
    NO_LEVEL,
    MeasureTracker,
    level_index,
    qualified_index,
    window_start,
)

if TYPE_CHECKING:
    from patron.events.rows import MemberState, Row

TIERS = table_of(MemberTier)
CHANGES = table_of(TierChange)
OUTBOX = table_of(OutboxMessage)

_MEMBER_TIERS = select(MemberTier.member_id, MemberTier.tier, MemberTier.paid_until).where(
    keys_in(MemberTier.member_id, "keys")
)


@dataclass
class LevelChange:
    member_id: int
    before: int
    after: int
    measure: int
    at: datetime
    row: Row | None = None
    reason: str = "threshold"  # threshold | membership | review | membership_ended


@dataclass
class TierBatch:
    """A batch's view of its members' levels and measures (see the module docstring)."""

    program: Program
    tiers: TiersDefinition
    levels: tuple[Level, ...]
    tracker: MeasureTracker
    current: dict[int, int] = field(default_factory=dict)
    stored: set[int] = field(default_factory=set)
    changes: list[LevelChange] = field(default_factory=list)
    paid: dict[int, datetime | None] = field(default_factory=dict)
    paid_changed: set[int] = field(default_factory=set)

    @classmethod
    def loading(cls, program: Program, rows: Sequence[Row]) -> Loading[TierBatch | None]:
        """None when the program has no tiers (then ingestion does nothing more).
        The levels and the measures are read together (see core.raw.gather)."""
        tiers = program.tiers
        if tiers is None:
            return None
        batch = cls(
            program, tiers, compile_levels(program), MeasureTracker(tiers.window, program.zone)
        )
        members = sorted({r.member_id for r in rows})
        if not members:
            return batch
        times = [r.occurred_at for r in rows]
        first = window_start(tiers.window, min(times), program.zone)
        last = window_start(tiers.window, max(times), program.zone)
        levels, measured = yield [
            Ask(_MEMBER_TIERS, {"keys": members}, keys=("keys",)),
            # The best plan depends on how many members and how long a window: never
            # one generic plan for all (a prepared statement may settle on one).
            Ask(
                batch_measure_query(tiers),
                {"keys": members, "first": first, "last": last},
                keys=("keys",),
                prepare=False,
            ),
        ]
        for member_id, tier, paid_until in levels:
            batch.stored.add(member_id)
            batch.current[member_id] = level_index(batch.levels, tier)
            batch.paid[member_id] = paid_until
        for member_id, at, total in measured:
            if at is None:
                batch.tracker.settled[member_id] += int(total or 0)
            else:
                batch.tracker.add(member_id, at, int(total or 0))
        return batch

    def facts(self, member_id: int) -> tuple[str | None, Decimal | None]:
        """The member's level and its multiplier, for MemberFacts."""
        index = self.current.get(member_id, NO_LEVEL)
        if index == NO_LEVEL:
            return None, None
        level = self.levels[index]
        return level.id, level.multiplier

    def after_event(self, row: Row) -> None:
        """Count a scored event and move the member up if it crossed a threshold."""
        membership = self.tiers.membership
        is_fee = membership is not None and row.event.type == "custom"
        if is_fee and membership is not None and row.event.name == membership.event:
            self._fee_paid(row, membership)
        kind = self.tiers.qualify_on
        if kind == "points":
            value = row.points
        elif row.event.type != "purchase":
            return
        else:
            value = row.facts.amount if kind == "spend" and row.facts is not None else 1
        if value <= 0:
            return
        self.tracker.add(row.member_id, row.occurred_at, value)
        before = self.current.get(row.member_id, NO_LEVEL)
        if before + 1 == len(self.levels):
            return  # at the top already
        if self.tracker.ceiling(row.member_id) < self.levels[before + 1].threshold:
            return  # cannot have reached the next level: no need to measure
        measure = self.tracker.measure(row.member_id, row.occurred_at)
        reached = qualified_index(self.levels, measure)
        if reached > before:
            self.current[row.member_id] = reached
            self.changes.append(
                LevelChange(row.member_id, before, reached, measure, row.occurred_at, row)
            )

    def _fee_paid(self, row: Row, membership: TierMembership) -> None:
        """A membership fee: the paid level for ``days`` from now or from the paid period's end."""
        member_id, at = row.member_id, row.occurred_at
        paid_until = self.paid.get(member_id)
        start = paid_until if paid_until is not None and paid_until > at else at
        self.paid[member_id] = start + timedelta(days=membership.days)
        self.paid_changed.add(member_id)
        before = self.current.get(member_id, NO_LEVEL)
        paid_level = level_index(self.levels, membership.tier)
        if paid_level > before:
            self.current[member_id] = paid_level
            measure = self.tracker.measure(member_id, at)
            self.changes.append(
                LevelChange(member_id, before, paid_level, measure, at, row, "membership")
            )

    def after_refund(self, row: Row) -> None:
        """A refund lowers the measure, dated like its purchase (leaves the window with it).

        Under ``points`` the points taken back are only known when the refund is
        written: they lower the measure from the next batch on.
        """
        refund = row.refund or {}
        ref = refund.get("ref")
        if ref is None:
            return
        if self.tiers.qualify_on == "spend":
            self.tracker.add(row.member_id, ref.occurred_at, -int(refund.get("amount", 0)))
        elif self.tiers.qualify_on == "visits" and self._made_full(refund):
            self.tracker.add(row.member_id, ref.occurred_at, -1)

    @staticmethod
    def _made_full(refund: dict[str, Any]) -> bool:
        return bool(refund["after"].full and not refund["before"].full)

    def save(self, session: Session, members: dict[int, MemberState], at: datetime) -> None:
        """Write the batch's upgrades: levels, history, outbox rows, the ``tier`` attribute."""
        if self.changes:
            write_changes(
                session,
                self.program,
                self.levels,
                self.changes,
                self.stored,
                at,
                attributes={
                    mid: members[mid].attributes for mid in {c.member_id for c in self.changes}
                },
            )
        if self.paid_changed:
            write_paid(session, {m: self.paid[m] for m in self.paid_changed})


def write_paid(session: Session, paid: dict[int, datetime | None]) -> None:
    session.execute(
        update(TIERS)
        .where(TIERS.c.member_id == bindparam("m"))
        .values(paid_until=bindparam("paid_until")),
        [{"m": m, "paid_until": until} for m, until in sorted(paid.items())],
        execution_options={"synchronize_session": False},
    )


def member_tier_facts(attributes: dict[str, Any]) -> str | None:
    """Without a tiers section, the member's tier is the attribute ``tier`` (set by hand)."""
    tier = attributes.get("tier")
    return str(tier) if tier is not None else None


def tier_facts(program: Program, attributes: dict[str, Any]) -> tuple[str | None, Decimal | None]:
    """A member's tier and multiplier from their attributes (the ``tier`` attribute
    mirrors the level), for a simulation: the same values ingestion would use."""
    tier = member_tier_facts(attributes)
    if program.tiers is None or tier is None:
        return tier, None
    level = next((lv for lv in program.tiers.levels if lv.id == tier), None)
    return (tier, level.multiplier) if level is not None else (None, None)


# -- writing changes -----------------------------------------------------------------


def write_changes(
    session: Session,
    program: Program,
    levels: Sequence[Level],
    changes: list[LevelChange],
    stored: set[int],
    at: datetime,
    *,
    attributes: dict[int, dict[str, Any]],
) -> None:
    tiers = program.tiers
    assert tiers is not None
    final: dict[int, LevelChange] = {}
    history, outbox = [], []
    for change in changes:
        final[change.member_id] = change
        old = levels[change.before] if change.before != NO_LEVEL else None
        new = levels[change.after] if change.after != NO_LEVEL else None
        kind = "upgrade" if change.after > change.before else "downgrade"
        event_id = change.row.event_id if change.row is not None else None
        text = _explain(tiers, program.currency, old, new, change.measure, change.reason)
        history.append(
            {
                "member_id": change.member_id,
                "from_tier": old.id if old else None,
                "to_tier": new.id if new else None,
                "kind": kind,
                "reason": change.reason,
                "measure": change.measure,
                "event_id": event_id,
                "explanation": text,
                "changed_at": change.at,
            }
        )
        outbox.append(
            {
                "event_type": f"tier.{kind}d",
                "member_id": change.member_id,
                "payload": {
                    "member_id": change.member_id,
                    "from": old.id if old else None,
                    "to": new.id if new else None,
                    "reason": change.reason,
                    "measure": change.measure,
                    "qualify_on": tiers.qualify_on,
                    "event_id": event_id,
                    "at": change.at.isoformat(),
                    "explanation": text,
                },
                "created_at": at,
                "delivered_at": None,
            }
        )
    insert_rows(session, CHANGES, history)
    insert_rows(session, OUTBOX, outbox)
    rows = []
    for member_id, change in sorted(final.items()):
        new = levels[change.after] if change.after != NO_LEVEL else None
        review = change.at + timedelta(days=tiers.review.days) if new else None
        rows.append(
            {
                "m": member_id,
                "tier": new.id if new else None,
                "since": change.at,
                "review_at": review,
                "updated_at": at,
            }
        )
        mirror = attributes[member_id]
        if new is None:
            mirror.pop("tier", None)
        else:
            mirror["tier"] = new.id
    fresh = [r for r in rows if r["m"] not in stored]
    known = [r for r in rows if r["m"] in stored]
    insert_rows(session, TIERS, [{"member_id": r.pop("m"), **r} for r in fresh])
    update_rows(session, TIERS, "member_id", [{"member_id": r.pop("m"), **r} for r in known])
    members = table_of(Member)
    session.execute(
        update(members).where(members.c.id == bindparam("m")).values(attributes=bindparam("attrs")),
        [{"m": mid, "attrs": dict(attributes[mid])} for mid in sorted(final)],
        execution_options={"synchronize_session": False},
    )
    stored.update(final)


def _explain(
    tiers: TiersDefinition,
    currency: str,
    old: Level | None,
    new: Level | None,
    measure: int,
    reason: str,
) -> str:
    from patron.tiers.progress import amount_words

    figure = amount_words(tiers, measure, currency)
    window = (
        f"in the last {tiers.window.days} days"
        if tiers.window.type == "rolling"
        else "this calendar year"
    )
    held = old.name if old else "no tier"
    to = new.name if new else "no tier"
    if reason == "membership":
        assert new is not None and tiers.membership is not None
        return f"Joined {new.name}: membership fee paid ({tiers.membership.days} days)"
    if reason == "membership_ended":
        return f"Moved from {held} to {to}: membership not renewed; {figure} {window}"
    if reason == "threshold":
        assert new is not None
        threshold = amount_words(tiers, new.threshold, currency)
        return f"Reached {new.name}: {figure} {window} (threshold {threshold})"
    return f"Moved from {held} to {to} at review: {figure} {window}"
