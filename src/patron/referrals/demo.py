"""The demo shop's referrals: some new members sign up with a friend's code.

Deterministic (a hash of the signup's id decides): about one signup in seven
carries the code of one of the shop's first three customers, so the weekly limit
is sometimes reached; one in ten of those brings a mistyped code and one in ten
the member's own code (self-referral). Whether a referral is then rewarded,
rejected or left pending is up to the referee's first purchase, as generated.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from patron.members.models import Member
from patron.program.service import current_program
from patron.referrals.codes import display
from patron.referrals.service import give_codes

SHARE = 15  # percent of signups that come with a code
REFERRERS = 3


def _number(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:12], 16)


def refer_some_signups(session: Session, events: list[dict[str, Any]], at: datetime) -> None:
    """Add ``attributes.referral_code`` to a few of the step's signups (before ingestion)."""
    found = current_program(session)
    if found is None or found[1].referrals is None:
        return
    chosen = [
        (e, n)
        for e in events
        if e["type"] == "signup" and (n := _number(e["external_id"])) % 100 < SHARE
    ]
    if not chosen:
        return
    pool = list(
        session.scalars(
            select(Member.id).where(Member.purchase_count > 0).order_by(Member.id).limit(REFERRERS)
        )
    )
    if not pool:
        return
    codes = give_codes(session, pool, at)
    for event, n in chosen:
        kind = n // 100 % 10
        code = codes[pool[n // 1000 % len(pool)]]
        if kind == 0:  # mistyped: a wrong last (check) character
            code = code[:-1] + ("0" if code[-1] != "0" else "1")
        elif kind == 1:  # their own code
            own = session.scalar(
                select(Member.id).where(Member.external_id == event["member_external_id"])
            )
            if own is not None:
                code = give_codes(session, [own], at)[own]
        event["attributes"] = {**event.get("attributes", {}), "referral_code": display(code)}
