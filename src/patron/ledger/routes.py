"""HTTP: balance, statement, manual adjustments and plain debits."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Header, Path, Query, Response
from sqlalchemy.orm import Session

from patron.api.deps import Caller, require
from patron.core.clock import now
from patron.core.errors import InvalidInput
from patron.core.idempotency import remember, replay
from patron.core.pagination import DEFAULT_LIMIT, MAX_ID, MAX_LIMIT, decode_cursor, encode_cursor
from patron.ledger import service
from patron.ledger.schemas import (
    AdjustIn,
    BalanceOut,
    DebitIn,
    EntryOut,
    StatementEntryOut,
    StatementOut,
)
from patron.program.service import current_program

router = APIRouter(prefix="/v1/members/{member_id}/points", tags=["points"])

MemberId = Path(ge=1, le=MAX_ID, description="The member's id.")
IDEMPOTENCY_KEY = "Idempotency-Key"


def _program(session: Session) -> Any:
    found = current_program(session)
    return found[1] if found else None


def _balance(session: Session, member_id: int) -> BalanceOut:
    b = service.get_balance(session, member_id, now(), _program(session))
    return BalanceOut(**b.__dict__)


@router.get("", response_model=BalanceOut)
def balance(member_id: int = MemberId, caller: Caller = Depends(require("read"))) -> BalanceOut:
    """Available, pending and soon-expiring points."""
    with caller.db.unit_of_work() as session:
        return _balance(session, member_id)


@router.get("/statement", response_model=StatementOut)
def statement(
    member_id: int = MemberId,
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    cursor: str | None = Query(None, max_length=64),
    caller: Caller = Depends(require("read")),
) -> StatementOut:
    """Every entry, newest first, each with its plain-language explanation.
    Pass ``next_cursor`` back as ``cursor`` for the next (older) page."""
    before_id = decode_cursor(cursor)
    with caller.db.unit_of_work() as session:
        lines = service.get_statement(session, member_id, limit=limit + 1, before_id=before_id)
    more = len(lines) > limit
    lines = lines[:limit]
    next_cursor = encode_cursor(lines[-1].id) if more and lines else None
    return StatementOut(
        items=[StatementEntryOut(**line.__dict__) for line in lines], next_cursor=next_cursor
    )


def _write(
    caller: Caller,
    member_id: int,
    kind: str,
    body: AdjustIn | DebitIn,
    key: str | None,
    response: Response,
) -> EntryOut:
    payload = {"member_id": member_id, **body.model_dump()}
    scope = f"points.{kind}"
    with caller.db.unit_of_work() as session:
        if key is not None:
            stored = replay(session, scope, key, payload)
            if stored is not None:
                response.status_code = stored[0]
                return EntryOut(**stored[1])
        program = _program(session)
        at = now()
        fn = service.debit if kind == "debit" else service.adjust
        entry = fn(
            session,
            member_id,
            body.points,
            reason=body.reason,
            actor=caller.principal.actor,
            at=at,
            program=program,
        )
        session.flush()
        out = EntryOut(
            entry_id=entry.id,
            member_id=member_id,
            kind=entry.kind,
            points=entry.points,
            explanation=entry.explanation,
            balance=_balance(session, member_id),
        )
        if key is not None:
            remember(session, scope, key, payload, 201, out.model_dump(mode="json"))
    response.status_code = 201
    return out


@router.post("/adjust", response_model=EntryOut, status_code=201)
def adjust(
    body: AdjustIn,
    response: Response,
    member_id: int = MemberId,
    idempotency_key: str | None = Header(
        None, description="Optional: a retry with the same key returns the first result."
    ),
    caller: Caller = Depends(require("admin")),
) -> EntryOut:
    """A manual correction or goodwill grant. Needs a reason; records who made it."""
    return _write(caller, member_id, "adjust", body, idempotency_key, response)


@router.post("/debit", response_model=EntryOut, status_code=201)
def debit(
    body: DebitIn,
    response: Response,
    member_id: int = MemberId,
    idempotency_key: str | None = Header(
        None, description="Required: a retry with the same key returns the first result."
    ),
    caller: Caller = Depends(require("pos")),
) -> EntryOut:
    """Spend points, first-to-expire first. Requires an ``Idempotency-Key``:
    a retry returns the first result and never debits twice."""
    if idempotency_key is None:
        raise InvalidInput(
            "a debit needs an Idempotency-Key header so a retry cannot debit twice",
            field=IDEMPOTENCY_KEY,
        )
    return _write(caller, member_id, "debit", body, idempotency_key, response)
