"""Member use cases: enrol, update, get, find, list. Services never commit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from patron.core.clock import now
from patron.core.errors import Conflict, InvalidInput, NotFound
from patron.core.pagination import Page, paginate
from patron.ledger.models import PointAccount
from patron.members.models import CHANNELS, MEMBER_STATUSES, Member
from patron.members.schemas import (
    MemberCreate,
    MemberUpdate,
    default_phone_region,
    normalize_email,
    normalize_phone,
)

UNIQUE_FIELDS = ("external_id", "email", "phone")
LOOKUP_FIELDS = "external_id|email|phone"


def _consents(stored: dict[str, Any], given: dict[str, bool], at: datetime) -> dict[str, Any]:
    """Stored consents with ``given`` applied; a channel's ``at`` moves only when it changes."""
    out = {c: dict(stored.get(c) or {"granted": False, "at": None}) for c in CHANNELS}
    for channel, granted in given.items():
        if out[channel].get("granted") != granted or out[channel].get("at") is None:
            out[channel] = {"granted": granted, "at": at.isoformat()}
    return out


def _check_unique(session: Session, values: dict[str, Any], member_id: int | None) -> None:
    """Conflict naming the field if another member already has one of these values."""
    for field in UNIQUE_FIELDS:
        value = values.get(field)
        if value is None:
            continue
        query = select(Member.id).where(getattr(Member, field) == value)
        if member_id is not None:
            query = query.where(Member.id != member_id)
        with session.no_autoflush:
            taken = session.scalar(query.limit(1)) is not None
        if taken:
            raise Conflict(f"another member already has this {field}", field=field)


def _write_unique(
    session: Session, values: dict[str, Any], member_id: int | None, write: Callable[[], None]
) -> None:
    """Make a write and flush it in a savepoint, so a unique violation from a
    concurrent transaction becomes a Conflict naming the field (and leaves the
    caller's transaction usable)."""
    try:
        with session.begin_nested():
            write()
            session.flush()
    except IntegrityError:
        _check_unique(session, values, member_id)
        raise


def create_member(session: Session, data: MemberCreate) -> Member:
    """Enrol a member and open their (empty) point account."""
    at = now()
    values = data.model_dump(include=set(UNIQUE_FIELDS))
    _check_unique(session, values, None)
    member = Member(
        external_id=data.external_id,
        email=data.email,
        phone=data.phone,
        first_name=data.first_name,
        last_name=data.last_name,
        birthday=data.birthday,
        status=data.status,
        consents=_consents({}, {c: False for c in CHANNELS} | data.consents.given(), at),
        attributes=dict(data.attributes),
        enrolled_at=at,
        updated_at=at,
        purchase_count=0,
    )
    _write_unique(session, values, None, lambda: session.add(member))
    session.add(PointAccount(member_id=member.id, balance=0, debt=0, updated_at=at))
    session.flush()
    return member


def get_member(session: Session, member_id: int) -> Member:
    member = session.get(Member, member_id)
    if member is None:
        raise NotFound(f"no member with id {member_id}", field="member_id")
    return member


def update_member(session: Session, member_id: int, data: MemberUpdate) -> Member:
    """Change only the fields ``data`` carries (see :class:`MemberUpdate`)."""
    member = get_member(session, member_id)
    sent = data.model_fields_set
    at = now()
    values = {f: getattr(data, f) for f in UNIQUE_FIELDS if f in sent}
    _check_unique(session, values, member.id)
    changes: dict[str, Any] = {}
    for field in ("external_id", "email", "phone", "first_name", "last_name", "birthday", "status"):
        if field in sent and getattr(member, field) != getattr(data, field):
            changes[field] = getattr(data, field)
    if data.consents is not None:
        consents = _consents(member.consents or {}, data.consents.given(), at)
        if consents != member.consents:
            changes["consents"] = consents
    if data.attributes is not None:
        attributes = dict(member.attributes or {})
        for key, value in data.attributes.items():
            if value is None:
                attributes.pop(key, None)
            else:
                attributes[key] = value
        if attributes != member.attributes:
            changes["attributes"] = attributes
    if changes:
        changes["updated_at"] = at

        def write() -> None:
            for field, value in changes.items():
                setattr(member, field, value)

        _write_unique(session, values, member.id, write)
    return member


def find_member(
    session: Session,
    *,
    external_id: str | None = None,
    email: str | None = None,
    phone: str | None = None,
) -> Member:
    """The member with exactly one of external_id, email or phone (normalised first)."""
    given = {
        k: v
        for k, v in (("external_id", external_id), ("email", email), ("phone", phone))
        if v is not None
    }
    if len(given) != 1:
        raise InvalidInput(
            "give exactly one of external_id, email or phone"
            + (f"; got {', '.join(given)}" if given else ""),
            field=LOOKUP_FIELDS,
        )
    field, raw = next(iter(given.items()))
    try:
        if field == "email":
            value = normalize_email(raw)
        elif field == "phone":
            value = normalize_phone(raw, default_phone_region())
        else:
            value = raw.strip()
    except ValueError as exc:
        raise InvalidInput(str(exc), field=field) from None
    member = session.scalar(select(Member).where(getattr(Member, field) == value))
    if member is None:
        raise NotFound(f"no member with this {field}", field=field)
    return member


def list_members(
    session: Session,
    *,
    cursor: str | None = None,
    limit: int | None = None,
    status: str | None = None,
) -> Page[Member]:
    """Members in enrolment order, a page at a time, optionally only one status."""
    if status is not None and status not in MEMBER_STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(MEMBER_STATUSES)}", field="status")
    query = select(Member)
    if status is not None:
        query = query.where(Member.status == status)
    return paginate(session, query, Member.id, cursor=cursor, limit=limit)
