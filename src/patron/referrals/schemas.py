"""Referral API responses."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from patron.referrals.codes import display
from patron.referrals.models import Referral


class ReferralOut(BaseModel):
    id: int
    status: str = Field(description="pending, qualified, rewarded or rejected")
    reason: str | None = Field(description="Why it was rejected, in words.")
    text: str = Field(description="The referral in a sentence a member can read.")
    referrer_id: int | None = Field(description="None when the code named nobody.")
    referee_id: int
    code: str
    referred_at: datetime
    qualified_at: datetime | None
    rewarded_at: datetime | None
    rejected_at: datetime | None
    signup_event_id: int
    qualifying_event_id: int | None


class MemberReferralsOut(BaseModel):
    member_id: int
    code: str = Field(description="The member's referral code, as printed: K7QM-2XD9.")
    referred_by: ReferralOut | None = Field(description="How the member joined, if referred.")
    referrals: list[ReferralOut] = Field(description="Referrals made with the code, newest first.")


class CodeOwnerOut(BaseModel):
    code: str
    member_id: int


def referral_out(ref: Referral, text: str) -> ReferralOut:
    return ReferralOut(
        id=ref.id,
        status=ref.status,
        reason=ref.reason,
        text=text,
        referrer_id=ref.referrer_id,
        referee_id=ref.referee_id,
        code=display(ref.code) if len(ref.code) == 8 else ref.code,
        referred_at=ref.referred_at,
        qualified_at=ref.qualified_at,
        rewarded_at=ref.rewarded_at,
        rejected_at=ref.rejected_at,
        signup_event_id=ref.signup_event_id,
        qualifying_event_id=ref.qualifying_event_id,
    )
