"""HTTP: a member's referral code and referrals; who owns a code (for a till)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path

from patron.api.deps import Caller, require
from patron.core.clock import now
from patron.core.pagination import MAX_ID
from patron.program.service import current_program
from patron.referrals import service
from patron.referrals.codes import canonical, display
from patron.referrals.schemas import CodeOwnerOut, MemberReferralsOut, referral_out

router = APIRouter(tags=["referrals"])

MemberId = Path(ge=1, le=MAX_ID, description="The member's id.")


@router.get("/v1/members/{member_id}/referrals", response_model=MemberReferralsOut)
def member_referrals(
    member_id: int = MemberId, caller: Caller = Depends(require("read"))
) -> MemberReferralsOut:
    """The member's referral code (made on first request, then fixed), the referrals
    made with it (newest first, at most 100) with status and reason, and who referred
    the member."""
    with caller.db.unit_of_work() as session:
        found = current_program(session)
        program = found[1] if found else None
        mine = service.member_referrals(session, member_id, now())
        return MemberReferralsOut(
            member_id=member_id,
            code=display(mine.code),
            referred_by=(
                referral_out(mine.referred_by, service.referral_text(mine.referred_by, program))
                if mine.referred_by is not None
                else None
            ),
            referrals=[referral_out(r, service.referral_text(r, program)) for r in mine.made],
        )


@router.get("/v1/referrals/{code}", response_model=CodeOwnerOut)
def code_owner(
    code: str = Path(min_length=1, max_length=32, description="A referral code as typed."),
    caller: Caller = Depends(require("pos")),
) -> CodeOwnerOut:
    """The member a referral code belongs to (a till checks a code before a signup)."""
    with caller.db.unit_of_work() as session:
        member_id = service.owner_of(session, code)
    return CodeOwnerOut(code=display(canonical(code) or code), member_id=member_id)
