"""Retries: an external id received before gets the first answer.

A retry with the same payload is a ``duplicate`` carrying the first result
(event, member, points, awards, stamp cards); the same external id with another
payload is a 409. Within one batch the second of two rows with one external id
is a retry of the first, answered like it once the first is scored.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from patron.core.errors import Conflict
from patron.events.reads import StoredEvent
from patron.events.schemas import AwardOut, Outcome
from patron.ledger.models import LedgerEntry
from patron.program.schema import Program
from patron.stamps.batch_reads import stored_stamp_texts

if TYPE_CHECKING:
    from patron.events.rows import Row


def sort_out_retries(
    session: Session,
    program: Program,
    rows: list[Row],
    known: dict[str, StoredEvent],
    results: list[Outcome],
) -> tuple[list[Row], dict[str, Row]]:
    """The rows to score, and the first row of each external id in the batch.

    Retries of stored events are answered in ``results`` here; a different
    payload under a known external id is rejected (409).
    """
    awards = stored_awards(session, [k.id for k in known.values()])
    stamped = (
        stored_stamp_texts(session, [k.id for k in known.values()])
        if known and program.stamp_cards
        else {}
    )
    first_in_batch: dict[str, Row] = {}
    fresh = []
    for row in rows:
        ext = row.event.external_id
        stored = known.get(ext)
        twin = first_in_batch.get(ext)
        if stored is None and twin is None:
            first_in_batch[ext] = row
            fresh.append(row)
            continue
        res = results[row.index]
        first_hash = stored.payload_hash if stored is not None else twin.hash  # type: ignore[union-attr]
        if first_hash != row.hash:
            res.status = "rejected"
            res.error = Conflict(
                f"event {ext} was already received with a different payload", field="external_id"
            ).to_problem()
            continue
        res.status = "duplicate"
        if stored is not None:
            res.event_id, res.member_id, res.points = stored.id, stored.member_id, stored.points
            res.program_version, res.occurred_at = stored.program_version, stored.occurred_at
            res.awards = awards.get(stored.id, [])
            res.stamp_cards = stamped.get(stored.id, [])
    return fresh, first_in_batch


def answer_repeats(results: list[Outcome], first_rows: dict[str, Row]) -> None:
    """In-batch repeats answer like the row they repeat, now that it is scored."""
    for res in results:
        twin = first_rows.get(res.external_id)
        if res.status == "duplicate" and res.event_id is None and twin is not None:
            first = results[twin.index]
            res.event_id, res.member_id, res.points = first.event_id, first.member_id, first.points
            res.awards, res.program_version = first.awards, first.program_version
            res.occurred_at = first.occurred_at
            res.stamp_cards = first.stamp_cards


def stored_awards(session: Session, event_ids: list[int]) -> dict[int, list[AwardOut]]:
    """The awards a stored event earned (or the reversal it made), for replies to retries."""
    out: dict[int, list[AwardOut]] = defaultdict(list)
    if not event_ids:
        return out
    for eid, rule, pts, text, awards in session.execute(
        select(
            LedgerEntry.event_id,
            LedgerEntry.rule_id,
            LedgerEntry.points,
            LedgerEntry.explanation,
            LedgerEntry.awards,
        )
        .where(LedgerEntry.event_id.in_(event_ids))
        .order_by(LedgerEntry.id)
    ):
        if awards:
            out[eid].extend(
                AwardOut(rule_id=a["rule_id"], points=a["points"], explanation=a["explanation"])
                for a in awards
            )
        else:
            out[eid].append(AwardOut(rule_id=rule, points=pts, explanation=text))
    return out
