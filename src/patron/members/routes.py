"""HTTP: enrol, update, get, list and look up members."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Response

from patron.api.deps import Caller, require
from patron.core.idempotency import remember, replay
from patron.core.pagination import DEFAULT_LIMIT, MAX_ID, MAX_LIMIT, Page
from patron.members import service
from patron.members.schemas import MemberCreate, MemberOut, MemberUpdate

router = APIRouter(prefix="/v1/members", tags=["members"])

MemberId = Path(ge=1, le=MAX_ID, description="The member's id.")
CREATE_SCOPE = "members.create"


@router.post("", response_model=MemberOut, status_code=201)
def create_member(
    body: MemberCreate,
    response: Response,
    idempotency_key: str | None = Header(None, min_length=1, max_length=200),
    caller: Caller = Depends(require("pos")),
) -> MemberOut:
    """Enrol a member. With an ``Idempotency-Key`` a retry returns the first result;
    the same key with a different body is a 409."""
    payload = body.model_dump(mode="json")
    with caller.db.unit_of_work() as session:
        if idempotency_key is not None:
            stored = replay(session, CREATE_SCOPE, idempotency_key, payload)
            if stored is not None:
                response.status_code = stored[0]
                return MemberOut.model_validate(stored[1])
        member = service.create_member(session, body)
        out = MemberOut.model_validate(member)
        if idempotency_key is not None:
            remember(
                session, CREATE_SCOPE, idempotency_key, payload, 201, out.model_dump(mode="json")
            )
    response.headers["Location"] = f"{router.prefix}/{out.id}"
    return out


@router.get("", response_model=Page[MemberOut])
def list_members(
    status: Literal["active", "blocked"] | None = Query(None),
    cursor: str | None = Query(None, max_length=64),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    caller: Caller = Depends(require("read")),
) -> Page[MemberOut]:
    """Members in enrolment order; pass ``next_cursor`` back as ``cursor`` for the next page."""
    with caller.db.unit_of_work() as session:
        page = service.list_members(session, cursor=cursor, limit=limit, status=status)
        items = [MemberOut.model_validate(m) for m in page.items]
    return Page[MemberOut](items=items, next_cursor=page.next_cursor)


@router.get("/lookup", response_model=MemberOut)
def lookup_member(
    external_id: str | None = Query(None, max_length=200),
    email: str | None = Query(None, max_length=320),
    phone: str | None = Query(None, max_length=64),
    caller: Caller = Depends(require("read")),
) -> MemberOut:
    """The member with exactly one of ``external_id``, ``email`` or ``phone``."""
    with caller.db.unit_of_work() as session:
        member = service.find_member(session, external_id=external_id, email=email, phone=phone)
        return MemberOut.model_validate(member)


@router.get("/{member_id}", response_model=MemberOut)
def get_member(member_id: int = MemberId, caller: Caller = Depends(require("read"))) -> MemberOut:
    """One member's profile, consents and attributes."""
    with caller.db.unit_of_work() as session:
        return MemberOut.model_validate(service.get_member(session, member_id))


@router.patch("/{member_id}", response_model=MemberOut)
def update_member(
    body: MemberUpdate,
    member_id: int = MemberId,
    caller: Caller = Depends(require("admin")),
) -> MemberOut:
    """Change only the fields sent; ``null`` clears one. ``attributes`` merge
    (``null`` removes one); ``consents`` change only the channels sent."""
    with caller.db.unit_of_work() as session:
        return MemberOut.model_validate(service.update_member(session, member_id, body))
