"""HTTP: a member's tier and progress, and their tier history."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Query

from patron.api.deps import Caller, require
from patron.core.clock import now
from patron.core.pagination import DEFAULT_LIMIT, MAX_ID, MAX_LIMIT, decode_cursor, encode_cursor
from patron.program.service import current_program
from patron.tiers import service
from patron.tiers.schemas import TierHistoryOut, TierOut, change_out, tier_out

router = APIRouter(prefix="/v1/members/{member_id}/tier", tags=["tiers"])

MemberId = Path(ge=1, le=MAX_ID, description="The member's id.")


@router.get("", response_model=TierOut)
def tier(member_id: int = MemberId, caller: Caller = Depends(require("read"))) -> TierOut:
    """The member's level, benefits, qualifying figure, and what they need for the next
    level and to keep this one (``text``: "Spend 120.00 GBP more by 2027-03-01 to reach
    Gold; keep Silver by spending 40.00 GBP by 2027-04-01")."""
    with caller.db.unit_of_work() as session:
        found = current_program(session)
        status = service.tier_status(session, member_id, now(), found[1] if found else None)
        return tier_out(status)


@router.get("/history", response_model=TierHistoryOut)
def history(
    member_id: int = MemberId,
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    cursor: str | None = Query(None, max_length=64),
    caller: Caller = Depends(require("read")),
) -> TierHistoryOut:
    """Every tier change, newest first. Pass ``next_cursor`` back as ``cursor`` for more."""
    before_id = decode_cursor(cursor)
    with caller.db.unit_of_work() as session:
        changes = service.tier_history(session, member_id, limit=limit + 1, before_id=before_id)
        more = len(changes) > limit
        changes = changes[:limit]
        return TierHistoryOut(
            items=[change_out(c) for c in changes],
            next_cursor=encode_cursor(changes[-1].id) if more and changes else None,
        )
