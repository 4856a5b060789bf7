"""What ``patron member show`` prints about a member's tier."""

from __future__ import annotations

from sqlalchemy.orm import Session

from patron.core.clock import now
from patron.program.service import current_program
from patron.tiers.service import tier_status


def member_tier_text(session: Session, member_id: int) -> str | None:
    """``Tier: Silver (since 2026-03-02, review 2027-03-02; x1.25; perks: ...)`` and the
    progress sentence; None when the program has no tiers."""
    found = current_program(session)
    program = found[1] if found else None
    if program is None or program.tiers is None:
        return None
    status = tier_status(session, member_id, now(), program)
    level = status.progress.level
    if level is None:
        head = "Tier: none yet"
    else:
        details = []
        if status.since is not None:
            details.append(f"since {status.since.astimezone(program.zone):%Y-%m-%d}")
        if status.review_at is not None:
            details.append(f"review {status.review_at.astimezone(program.zone):%Y-%m-%d}")
        if level.multiplier is not None:
            details.append(f"x{level.multiplier} points")
        if level.perks:
            details.append("perks: " + ", ".join(level.perks))
        head = f"Tier: {level.name}" + (f" ({'; '.join(details)})" if details else "")
    return f"{head}\n{status.progress.text}" if status.progress.text else head
