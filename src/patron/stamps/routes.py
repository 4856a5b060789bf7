"""HTTP: a member's stamp cards."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Query

from patron.api.deps import Caller, require
from patron.core.clock import now
from patron.core.pagination import MAX_ID
from patron.program.service import current_program
from patron.stamps.schemas import StampCardsOut, card_out
from patron.stamps.service import DEFAULT_ENDED, member_stamp_cards

router = APIRouter(prefix="/v1/members/{member_id}/stamp-cards", tags=["stamp cards"])


@router.get("", response_model=StampCardsOut)
def stamp_cards(
    member_id: int = Path(ge=1, le=MAX_ID, description="The member's id."),
    ended: int = Query(DEFAULT_ENDED, ge=0, le=200, description="Completed/expired cards shown."),
    caller: Caller = Depends(require("read")),
) -> StampCardsOut:
    """The member's open cards (stamps of goal, expiry), then their completed cards with
    the coupon each gave and expired ones, newest first; every card with the
    explanation of each stamp."""
    with caller.db.unit_of_work() as session:
        found = current_program(session)
        cards = member_stamp_cards(
            session, member_id, now(), found[1] if found else None, ended=ended
        )
        return StampCardsOut(member_id=member_id, cards=[card_out(c) for c in cards])
