"""Tier use cases: measure, upgrade during ingestion, review (downgrade), status, history.

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

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, bindparam, case, func, select, update
from sqlalchemy.orm import Session

from patron.core.bulk import insert_rows, update_rows
from patron.core.db import UTCDateTime, table_of
from patron.core.errors import Conflict
from patron.core.raw import Ask, Loading, keys_in, unindexed
from patron.events.models import Event
from patron.members.models import Member
from patron.members.service import get_member
from patron.program.schema import Program
from patron.tiers.definition import Level, TierMembership, TiersDefinition, compile_levels
from patron.tiers.models import MemberTier, OutboxMessage, TierChange
from patron.tiers.progress import (
    NO_LEVEL,
    MeasureTracker,
    Progress,
    after_review,
    level_index,
    progress,
    qualified_index,
    window_end,
    window_start,
)

if TYPE_CHECKING:
    from patron.events.ingest import MemberState, Row

TIERS = table_of(MemberTier)
CHANGES = table_of(TierChange)
OUTBOX = table_of(OutboxMessage)
REVIEW_CHUNK = 1000


def _value(
    tiers: TiersDefinition, kind: Any = Event.type
) -> tuple[ColumnElement[Any], list[ColumnElement[bool]]]:
    """What one stored event contributes to the measure, and which events count."""
    if tiers.qualify_on == "spend":
        return Event.amount - Event.refunded_amount, [kind == "purchase"]
    if tiers.qualify_on == "visits":
        fully_refunded = (Event.amount > 0) & (Event.refunded_amount >= Event.amount)
        return case((fully_refunded, 0), else_=1), [kind == "purchase"]
    points: ColumnElement[Any] = Event.points.expression
    return points, []


_MEMBER_TIERS = select(MemberTier.member_id, MemberTier.tier, MemberTier.paid_until).where(
    keys_in(MemberTier.member_id, "keys")
)
_MEASURES: dict[str, Any] = {}


def _measure_query(tiers: TiersDefinition) -> Any:
    """Each member's measure from the events from ``first`` on, built once per kind.

    Events counted for every row of the batch (before ``last``, the window start
    of its latest event) collapse into one group per member; those that may
    leave the window during the batch come one by one.
    """
    if tiers.qualify_on not in _MEASURES:
        # SQLite, which plans without statistics, would take the (type, occurred_at)
        # index and read every purchase of the window, of every member (20 ms per
        # import batch at 30,000 events, and growing); the member index reads
        # only the batch's members' events.
        value, where = _value(tiers, kind=unindexed(Event.type))
        last = bindparam("last", type_=UTCDateTime)
        moment = case((Event.occurred_at >= last, None), else_=Event.occurred_at).label("t")
        _MEASURES[tiers.qualify_on] = (
            select(Event.member_id, moment, func.sum(value))
            .where(
                keys_in(Event.member_id, "keys"),
                Event.occurred_at >= bindparam("first", type_=UTCDateTime),
                *where,
            )
            .group_by(Event.member_id, moment)
        )
    return _MEASURES[tiers.qualify_on]


def _require_tiers(program: Program | None) -> tuple[Program, TiersDefinition]:
    if program is None or program.tiers is None:
        raise Conflict("the program in force has no tiers section", field="program")
    return program, program.tiers


# -- during ingestion --------------------------------------------------------------


@dataclass
class _Change:
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
    changes: list[_Change] = field(default_factory=list)
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
                _measure_query(tiers),
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
                _Change(row.member_id, before, reached, measure, row.occurred_at, row)
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
                _Change(member_id, before, paid_level, measure, at, row, "membership")
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
            _write_changes(
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
            _write_paid(session, {m: self.paid[m] for m in self.paid_changed})


def _write_paid(session: Session, paid: dict[int, datetime | None]) -> None:
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


def _write_changes(
    session: Session,
    program: Program,
    levels: Sequence[Level],
    changes: list[_Change],
    stored: set[int],
    at: datetime,
    *,
    attributes: dict[int, dict[str, Any]],
) -> None:
    tiers = program.tiers
    assert tiers is not None
    final: dict[int, _Change] = {}
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


# -- measuring outside ingestion -------------------------------------------------------


@dataclass(frozen=True)
class Measured:
    now: int
    at_decision: int
    earliest: datetime | None


def measure_members(
    session: Session,
    program: Program,
    member_ids: Iterable[int],
    at: datetime,
    decision_at: datetime | None = None,
) -> dict[int, Measured]:
    """Each member's measure at ``at`` (and what already counts at ``decision_at``)."""
    tiers = program.tiers
    assert tiers is not None
    start = window_start(tiers.window, at, program.zone)
    later = window_start(tiers.window, decision_at or at, program.zone)
    value, where = _value(tiers, kind=unindexed(Event.type))  # the member index: see _measure_query
    query = (
        select(
            Event.member_id,
            func.sum(case((Event.occurred_at >= start, value), else_=0)),
            func.sum(case((Event.occurred_at >= later, value), else_=0)),
            func.min(case((Event.occurred_at >= start, Event.occurred_at), else_=None)),
        )
        .where(Event.member_id.in_(list(member_ids)), Event.occurred_at >= min(start, later))
        .where(*where)
        .group_by(Event.member_id)
    )
    return {
        mid: Measured(int(now_total or 0), int(then_total or 0), earliest)
        for mid, now_total, then_total, earliest in session.execute(query)
    }


# -- the review job -------------------------------------------------------------------


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
                    _Change(member_id, current, earned, figure, at, None, "membership_ended")
                )
                continue
        if tier is None or review_at is None or review_at > due_before:
            continue
        reviewed += 1
        new = after_review(levels, current, figure, tiers.review.max_down)
        if paid_until is not None and paid_until > at:
            new = max(new, min(paid_level, current))  # a paid level holds while paid
        if new < current:
            changes.append(_Change(member_id, current, new, figure, at, None, "review"))
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
        _write_changes(session, program, levels, changes, set(chunk), at, attributes=attributes)
    if ended:
        _write_paid(session, ended)
    return reviewed, sum(c.reason == "review" for c in changes), len(ended)


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
