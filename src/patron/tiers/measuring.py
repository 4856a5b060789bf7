"""The qualifying measure, computed from the events of the window.

A rolling window cannot be kept as a running figure without the events that
leave it; computing it makes refunds (a purchase counts net of what was
refunded), late events and changed thresholds right by construction. Both
queries read through ``ix_events_member_occurred``: SQLite, which plans without
statistics, would otherwise take the (type, occurred_at) index and read every
purchase of the window, of every member (``unindexed`` rules it out).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, bindparam, case, func, select
from sqlalchemy.orm import Session

from patron.core.db import UTCDateTime
from patron.core.raw import keys_in, unindexed
from patron.events.models import Event
from patron.program.schema import Program
from patron.tiers.definition import TiersDefinition
from patron.tiers.progress import (
    window_start,
)


def qualifying_value(
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


_MEASURES: dict[str, Any] = {}


def batch_measure_query(tiers: TiersDefinition) -> Any:
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
        value, where = qualifying_value(tiers, kind=unindexed(Event.type))
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
    value, where = qualifying_value(
        tiers, kind=unindexed(Event.type)
    )  # the member index: see _measure_query
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
