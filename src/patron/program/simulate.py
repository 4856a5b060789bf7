"""Answer "what would this event earn?" with explanations, writing nothing."""

from __future__ import annotations

from datetime import UTC
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from patron.core.clock import now
from patron.core.errors import InvalidInput, NotFound
from patron.core.raw import gather
from patron.events.batch_state import BatchState
from patron.events.rows import MemberState, Row
from patron.events.schemas import EventIn
from patron.events.validation import check_shape, parse_row, to_facts
from patron.ledger.models import RuleBudget, RuleUsage
from patron.members.models import Member
from patron.program.schema import Program
from patron.program.service import require_program
from patron.rules.engine import evaluate
from patron.rules.periods import period_key
from patron.rules.types import MemberFacts
from patron.stamps.batch_reads import stamp_batch_loading
from patron.tiers.batch import tier_facts


class RefundForASketch(InvalidInput):
    """A refund simulated for a described member: the body's ``member`` is to blame,
    not the event (the route names the event's own fields ``event.*``)."""


class MemberSketch(BaseModel):
    """A hypothetical member for simulation."""

    model_config = ConfigDict(extra="forbid")

    status: str = Field(default="active", pattern="^(active|blocked)$")
    attributes: dict[str, Any] = Field(default_factory=dict)
    purchase_count: int = Field(default=0, ge=0)


def simulate(
    session: Session,
    raw_event: dict[str, Any],
    *,
    member_id: int | None,
    sketch: MemberSketch | None,
) -> dict[str, Any]:
    """What ``raw_event`` would earn, for the member ``member_id``, or the one
    ``sketch`` describes, or else the member the event itself names (a new
    member when its ``member_external_id`` is not known yet: ingestion would
    enrol them)."""
    version, program = require_program(session)
    at = now()
    named = "member_id" in raw_event or "member_external_id" in raw_event
    raw = {"external_id": "simulation", **raw_event}
    if not named:
        raw["member_id"] = member_id or 1  # the event's checks want a member named
    event = parse_row(raw)
    lines = check_shape(event, program.currency, at)
    occurred_at = event.occurred_at or at
    facts = to_facts(event, program.currency, occurred_at, lines)
    usage: dict[tuple[str, str], int] = {}
    in_event = _member_named(session, event) if named and sketch is None else None
    member_id = member_id or in_event
    if event.type == "refund":
        return _refund(session, program, version, event, member_id, sketch)
    if member_id is not None:
        member = session.get(Member, member_id)
        if member is None:
            raise NotFound(f"no member with id {member_id}", field="member_id")
        if in_event is not None and in_event != member_id:
            raise InvalidInput("the event names another member than member_id", field="member_id")
        tz = ZoneInfo(program.timezone)
        keys = {period_key(r.cap.per, occurred_at, tz) for r in program.rules if r.cap}
        for u in session.scalars(
            select(RuleUsage).where(
                RuleUsage.member_id == member_id, RuleUsage.period_key.in_(keys)
            )
        ):
            usage[(u.rule_id, u.period_key)] = u.points
        tier, multiplier = tier_facts(program, member.attributes or {})
        member_facts = MemberFacts(
            member_id,
            member.status,
            member.attributes or {},
            member.purchase_count,
            tier=tier,
            tier_multiplier=multiplier,
            rule_usage=usage,
        )
    else:
        s = sketch or MemberSketch()
        tier, multiplier = tier_facts(program, s.attributes)
        member_facts = MemberFacts(
            0, s.status, s.attributes, s.purchase_count, tier=tier, tier_multiplier=multiplier
        )
    budgets = {b.rule_id: b.awarded for b in session.scalars(select(RuleBudget))}
    evaluation = evaluate(program, facts, member_facts, budgets_used=budgets)
    row = Row(0, event, "", occurred_at.astimezone(UTC), member_facts.member_id, facts)
    member_state = MemberState(
        member_facts.member_id,
        member_facts.status,
        dict(member_facts.attributes),
        member_facts.purchase_count,
        None,
    )
    return {
        "program_version": version,
        "points": evaluation.points,
        "awards": [
            {"rule_id": a.rule_id, "points": a.points, "explanation": a.explanation}
            for a in evaluation.effects
        ],
        "skipped": list(evaluation.skipped),
        "available_at": program.available_at(occurred_at),
        "expires_at": program.expires_at(occurred_at),
        "stamp_cards": _stamps(session, program, row, member_state),
    }


def _refund(
    session: Session,
    program: Program,
    version: int,
    event: EventIn,
    member_id: int | None,
    sketch: MemberSketch | None,
) -> dict[str, Any]:
    """What a refund would take back, worked out as ingestion works it out: the
    points the refunded part of the purchase earned (a refund earns nothing, and
    answering "0 points" would hide what it costs the member)."""
    if sketch is not None:
        raise RefundForASketch(
            "a refund takes back what its purchase earned: simulate it for the member who "
            "made the purchase, not a described one",
            field="member",
        )
    if member_id is None:
        raise NotFound(
            f"no member with external_id {event.member_external_id}",
            field="event.member_external_id",
        )
    if session.get(Member, member_id) is None:
        raise NotFound(f"no member with id {member_id}", field="member_id")
    occurred_at = (event.occurred_at or now()).astimezone(UTC)
    row = Row(0, event, "", occurred_at, member_id)
    state = BatchState(program)
    state.load_purchases(session, [row])
    try:
        state.check_refund(row)
    except NotFound as exc:  # named where it sits in the simulate body
        raise NotFound(exc.detail, field=f"event.{exc.field}") from None
    owed, explanation, _ = state.take_back(session, row)
    return {
        "program_version": version,
        "points": -owed,
        "awards": [{"rule_id": None, "points": -owed, "explanation": explanation}],
        "skipped": [],
        "available_at": None,
        "expires_at": None,
        "stamp_cards": [],
    }


def _member_named(session: Session, event: EventIn) -> int | None:
    """The id of the member the event names; None for an external id not known yet.
    An unknown ``member_id`` is NotFound, named where it sits in the simulate body."""
    if event.member_id is not None:
        if session.get(Member, event.member_id) is None:
            raise NotFound(f"no member with id {event.member_id}", field="event.member_id")
        found: int | None = event.member_id
    else:
        found = None
    if event.member_external_id is not None:
        by_external = session.scalar(
            select(Member.id).where(Member.external_id == event.member_external_id)
        )
        if found is not None and by_external != found:
            raise InvalidInput(
                "member_id and member_external_id name different members", field="member_id"
            )
        found = by_external
    return found


def _stamps(session: Session, program: Program, row: Row, member: MemberState) -> list[str]:
    """What the purchase would do to the member's stamp cards, as ingestion would say
    it: the member's open cards are read, nothing is written, and a coupon a full
    card would give is named without a code (it has none until it is given)."""
    (batch,) = gather(session, stamp_batch_loading(session, program, [row], {member.id: member}))
    if batch is None:
        return []
    batch.simulated = True
    batch.after_event(row)
    return batch.explanations(row)
