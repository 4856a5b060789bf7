"""Which member each row of a batch is for: found by id or external id, or
enrolled on the spot when the program says unknown members enrol."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from patron.core.errors import InvalidInput, NotFound
from patron.events.reads import MemberRow
from patron.events.rows import MemberState, Row
from patron.members.bulk import enrol_many
from patron.program.schema import Program


def may_enrol(program: Program, row: Row) -> bool:
    if row.event.type == "signup":
        return True
    return row.event.type != "refund" and program.unknown_members == "enrol"


def members_with_enrolled(
    session: Session, program: Program, rows: list[Row], found: list[MemberRow], at: datetime
) -> tuple[dict[int, MemberState], dict[str, int]]:
    """The batch's members as it will change them (those found, and those it enrols
    now, each from its earliest event), and every known external id's member."""
    ext_to_id = {m.external_id: m.id for m in found if m.external_id}
    enrol: dict[str, datetime] = {}
    for row in rows:
        ext = row.event.member_external_id
        if ext and ext not in ext_to_id and may_enrol(program, row):
            enrol[ext] = min(enrol.get(ext, row.occurred_at), row.occurred_at)
    new_ids = enrol_many(session, enrol, at)
    ext_to_id.update(new_ids)
    members = {
        m.id: MemberState(
            m.id, m.status, dict(m.attributes or {}), m.purchase_count, m.last_activity_at
        )
        for m in found
    }
    for mid in new_ids.values():
        members[mid] = MemberState(mid, "active", {}, 0, None, changed=True)
    return members, ext_to_id


def member_of(row: Row, ext_to_id: dict[str, int], known: dict[int, MemberState]) -> int:
    """The id of the member ``row`` names; NotFound or InvalidInput naming the field."""
    ev = row.event
    if ev.member_external_id is None:
        mid = ev.member_id or 0
        if mid not in known:
            raise NotFound(f"no member with id {mid}", field="member_id")
        return mid
    found = ext_to_id.get(ev.member_external_id)
    if found is None:
        why = (
            "refunds never enrol members"
            if ev.type == "refund"
            else "this program rejects events from unknown members"
        )
        raise NotFound(
            f"no member with external_id {ev.member_external_id}; {why}",
            field="member_external_id",
        )
    if ev.member_id is not None and ev.member_id != found:
        raise InvalidInput(
            "member_id and member_external_id name different members", field="member_id"
        )
    return found
