"""What ``patron member show`` prints about a member's referrals."""

from __future__ import annotations

from sqlalchemy.orm import Session

from patron.core.clock import now
from patron.program.service import current_program
from patron.referrals.codes import display
from patron.referrals.service import member_referrals, referral_text

SHOWN = 10


def member_referrals_text(session: Session, member_id: int) -> str | None:
    """``Referral code: K7QM-2XD9``, who referred the member, and the latest referrals
    made with the code; None when the program has no referrals section."""
    found = current_program(session)
    program = found[1] if found else None
    if program is None or program.referrals is None:
        return None
    mine = member_referrals(session, member_id, now(), limit=SHOWN)
    lines = [f"Referral code: {display(mine.code)}"]
    by = mine.referred_by
    if by is not None:
        who = f"member {by.referrer_id}" if by.referrer_id else f"code {by.code}"
        lines.append(f"Referred by {who}: {referral_text(by, program)}")
    if mine.made:
        lines.append(f"Referrals made (latest {SHOWN}):")
        lines += [
            f"  {r.referred_at:%Y-%m-%d} member {r.referee_id}: {referral_text(r, program)}"
            for r in mine.made
        ]
    else:
        lines.append("No referrals made yet.")
    return "\n".join(lines)
